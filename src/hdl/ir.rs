//! The hardware IR: a [`Design`] is a set of uniquely named [`Module`]s, each a list of typed
//! signals, continuous assignments, registers, memories and instances.
//!
//! Modules are only created through [`super::ModuleBuilder`] and only enter a design through
//! [`Design::add`], which runs the design-rule checks; code holding a `Design` may trust it.
//!
//! An *external* module ([`Module::external`], made with [`super::ModuleBuilder::external`]) is
//! known by its ports only: a technology macro (an SRAM) whose body comes from a library. It is
//! instantiated like any module, but the emitter writes no Verilog for it.

use std::collections::HashMap;

use super::check;
use super::error::HdlError;
use super::expr::{Expr, SignalId};
use super::types::Type;

/// Signal index of the implicit clock in every module.
pub const CLOCK_SIGNAL: usize = 0;
/// Signal index of the implicit reset in every module.
pub const RESET_SIGNAL: usize = 1;

/// Index of a module inside its design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(pub usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalKind {
    Input,
    Output,
    Wire,
    /// The output of a register (`<name>_q`).
    Register,
}

impl SignalKind {
    pub fn is_port(self) -> bool {
        matches!(self, SignalKind::Input | SignalKind::Output)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub name: String,
    pub ty: Type,
    pub kind: SignalKind,
    /// One line saying what the signal carries (emitted as a trailing comment on ports).
    pub doc: Option<String>,
}

/// A clocked register on the module's single clock (`clk`), with optional synchronous reset
/// (`rst`, active high) and clock enable.
#[derive(Debug, Clone, PartialEq)]
pub struct Register {
    pub signal: SignalId,
    pub reset: Option<u64>,
    pub enable: Option<Expr>,
    pub next: Expr,
}

/// A write port of a memory: on a clock edge with `enable`, `memory[address] <= data`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryWrite {
    pub enable: Expr,
    pub address: Expr,
    pub data: Expr,
}

/// An array of words with synchronous write ports and asynchronous reads; a registered read
/// (a register whose next value is a read) is what Yosys maps to block RAM or SRAM macros.
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    pub name: String,
    pub ty: Type,
    pub depth: u64,
    pub writes: Vec<MemoryWrite>,
}

/// One port connection of an instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// An input port fed by an expression of the parent.
    Input(Expr),
    /// An output port driving a wire of the parent.
    Output(SignalId),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub name: String,
    pub module: ModuleId,
    /// The child's port names in its port order, with what they connect to.
    pub connections: Vec<(String, Connection)>,
}

/// A value the module computes but deliberately does not use, with the reason (keeps lint clean
/// and the intent visible, instead of a blanket lint waiver).
#[derive(Debug, Clone, PartialEq)]
pub struct Sink {
    pub value: Expr,
    pub reason: String,
}

/// A named integer describing what the module was generated for (`ROWS`, `ACT_BITS`). The RTL is
/// specialised; parameters document it and appear in the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub value: i64,
}

/// An FSM's state encoding, emitted as `localparam`s so the RTL reads in state names.
#[derive(Debug, Clone, PartialEq)]
pub struct StateEncoding {
    pub register: SignalId,
    pub states: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    pub name: String,
    /// What the module is, its latency and throughput: emitted as the header comment.
    pub doc: Vec<String>,
    pub parameters: Vec<Parameter>,
    pub signals: Vec<Signal>,
    /// Continuous assignments to wires and outputs.
    pub assigns: Vec<(SignalId, Expr)>,
    pub registers: Vec<Register>,
    pub memories: Vec<Memory>,
    pub instances: Vec<Instance>,
    pub sinks: Vec<Sink>,
    pub state_encodings: Vec<StateEncoding>,
    /// A black box known by its ports only (a technology macro): no logic, no body emitted. It
    /// has no implicit `clk`/`rst` ports (declare its clock pins as inputs) and is assumed to
    /// have no combinational path from an input to an output (macros register their outputs).
    pub external: bool,
    /// `clk` is an input (the module or a child has state).
    pub has_clock: bool,
    /// `rst` is an input (a register with a reset value, here or in a child).
    pub has_reset: bool,
    /// Combinational paths from input ports to output ports (by signal id), computed by
    /// `check` so parents can find loops through this module.
    pub combinational_paths: Vec<(SignalId, SignalId)>,
}

impl Module {
    pub fn signal(&self, id: SignalId) -> &Signal {
        &self.signals[id.0]
    }

    /// Ports in declaration order: `clk` and `rst` first when the module needs them.
    pub fn ports(&self) -> impl Iterator<Item = (SignalId, &Signal)> {
        self.signals
            .iter()
            .enumerate()
            .filter(|(i, s)| s.kind.is_port() && self.is_present(SignalId(*i)))
            .map(|(i, s)| (SignalId(i), s))
    }

    /// False for the implicit clock (signal 0) or reset (signal 1) of a module that has no use
    /// for them; every other signal is present.
    pub fn is_present(&self, id: SignalId) -> bool {
        match id.0 {
            CLOCK_SIGNAL => self.has_clock,
            RESET_SIGNAL => self.has_reset,
            _ => true,
        }
    }

    pub fn port(&self, name: &str) -> Option<(SignalId, &Signal)> {
        self.ports().find(|(_, s)| s.name == name)
    }

    /// Number of flip-flop bits in this module alone (registers, not memories, not children).
    pub fn flop_bits(&self) -> u64 {
        self.registers
            .iter()
            .map(|r| u64::from(self.signal(r.signal).ty.width))
            .sum()
    }
}

/// A set of modules with unique names; a module's name encodes every parameter that changes its
/// RTL, so adding an identical module twice returns the first copy.
#[derive(Debug, Clone, Default)]
pub struct Design {
    modules: Vec<Module>,
    by_name: HashMap<String, ModuleId>,
    top: Option<ModuleId>,
}

impl Design {
    pub fn new() -> Design {
        Design::default()
    }

    /// Checks `module` and adds it. An identical module already present is reused; a different
    /// module with the same name is an error (its name fails to encode a parameter).
    pub fn add(&mut self, mut module: Module) -> Result<ModuleId, HdlError> {
        check::check_module(&mut module, self)?;
        if let Some(&existing) = self.by_name.get(&module.name) {
            if self.modules[existing.0] == module {
                return Ok(existing);
            }
            return Err(HdlError::NameCollision {
                module: module.name,
            });
        }
        let id = ModuleId(self.modules.len());
        self.by_name.insert(module.name.clone(), id);
        self.modules.push(module);
        Ok(id)
    }

    pub fn module(&self, id: ModuleId) -> &Module {
        &self.modules[id.0]
    }

    pub fn find(&self, name: &str) -> Option<ModuleId> {
        self.by_name.get(name).copied()
    }

    pub fn modules(&self) -> impl Iterator<Item = (ModuleId, &Module)> {
        self.modules
            .iter()
            .enumerate()
            .map(|(i, m)| (ModuleId(i), m))
    }

    pub fn set_top(&mut self, id: ModuleId) {
        self.top = Some(id);
    }

    pub fn top(&self) -> Option<ModuleId> {
        self.top
    }

    /// Modules reachable from the top (or all, without a top), children before parents: the
    /// order a filelist needs. Modules are added children-first, so insertion order is one.
    pub fn dependency_order(&self) -> Vec<ModuleId> {
        let Some(top) = self.top else {
            return (0..self.modules.len()).map(ModuleId).collect();
        };
        let mut reachable = vec![false; self.modules.len()];
        let mut stack = vec![top];
        while let Some(id) = stack.pop() {
            if !std::mem::replace(&mut reachable[id.0], true) {
                stack.extend(self.modules[id.0].instances.iter().map(|i| i.module));
            }
        }
        (0..self.modules.len())
            .filter(|&i| reachable[i])
            .map(ModuleId)
            .collect()
    }

    /// The external modules (technology macros) reachable from the top (or all, without a top),
    /// in dependency order.
    pub fn external_modules(&self) -> Vec<ModuleId> {
        self.dependency_order()
            .into_iter()
            .filter(|id| self.modules[id.0].external)
            .collect()
    }

    /// How many times each module is instantiated under the top (the top counts once).
    pub fn instance_counts(&self) -> HashMap<ModuleId, u64> {
        let mut counts = HashMap::new();
        if let Some(top) = self.top {
            self.count_instances(top, 1, &mut counts);
        }
        counts
    }

    fn count_instances(&self, id: ModuleId, times: u64, counts: &mut HashMap<ModuleId, u64>) {
        *counts.entry(id).or_insert(0) += times;
        for instance in &self.modules[id.0].instances {
            self.count_instances(instance.module, times, counts);
        }
    }
}
