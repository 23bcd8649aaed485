//! [`ModuleBuilder`]: the construction API blocks use to describe hardware.
//!
//! A builder hands out [`Expr`] handles for the signals it declares; blocks combine them with the
//! operators of [`super::expr`] and drive wires, outputs, registers and memories with the results.
//! Type errors are collected, not thrown, and reported together (with the module and the signal
//! being driven) by [`super::Design::add`].

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};

use super::expr::{Expr, ExprKind, MemoryId, Owner, SignalId};
use super::ir::{
    Connection, Design, Instance, Memory, MemoryWrite, Module, ModuleId, Parameter, Register,
    Signal, SignalKind, Sink, StateEncoding,
};
use super::naming::identifier_problem;
use super::types::{clog2, Type};

/// Name of the implicit clock input (signal 0 of every module).
pub const CLOCK: &str = "clk";
/// Name of the implicit synchronous, active-high reset input (signal 1 of every module).
pub const RESET: &str = "rst";

/// Tags each builder so that a signal used in the wrong module is caught.
static NEXT_OWNER: AtomicU32 = AtomicU32::new(1);

/// A register declared with [`ModuleBuilder::reg`]; drive it with [`ModuleBuilder::next`].
#[derive(Debug, Clone)]
pub struct Reg {
    id: SignalId,
    q: Expr,
}

impl Reg {
    /// The register's current value.
    pub fn q(&self) -> Expr {
        self.q.clone()
    }
}

/// A wire or output declared before it is driven (for feedback or fan-in built in loops).
#[derive(Debug, Clone)]
pub struct Wire {
    id: SignalId,
    value: Expr,
}

impl Wire {
    pub fn value(&self) -> Expr {
        self.value.clone()
    }
}

/// A memory declared with [`ModuleBuilder::memory`].
#[derive(Debug, Clone)]
pub struct Mem {
    id: MemoryId,
    owner: u32,
    name: String,
    ty: Type,
    depth: u64,
}

impl Mem {
    /// Asynchronous read of the word at `address` (unsigned, at least clog2(depth) bits wide).
    pub fn read(&self, address: &Expr) -> Expr {
        let needed = clog2(self.depth);
        if address.ty().signed || address.width() != needed {
            return Expr::invalid(
                self.ty,
                format!(
                    "address of memory `{}` ({} words) must be u{needed}, got {}",
                    self.name,
                    self.depth,
                    address.describe()
                ),
            );
        }
        Expr::new(
            self.ty,
            ExprKind::MemoryRead {
                owner: Owner(self.owner),
                memory: self.id,
                name: self.name.as_str().into(),
                address: address.clone(),
            },
        )
    }

    pub fn address_width(&self) -> u32 {
        clog2(self.depth)
    }

    /// The type of one word.
    pub fn word_type(&self) -> Type {
        self.ty
    }
}

/// An instance being connected; see [`ModuleBuilder::instance`].
#[derive(Debug, Clone, Copy)]
pub struct InstanceHandle(usize);

/// Builds one module. Declare ports and state, describe logic with expressions, then
/// [`ModuleBuilder::finish`] and add the result to a [`Design`].
pub struct ModuleBuilder {
    owner: u32,
    module: Module,
    names: HashSet<String>,
    /// The port type of every instance port, for checking connections (instance index, port).
    instance_ports: Vec<Vec<(String, Type, SignalKind)>>,
    /// Per instance: does the child need the clock / the reset.
    instance_clocking: Vec<(bool, bool)>,
    errors: Vec<String>,
}

impl ModuleBuilder {
    pub fn new(name: impl Into<String>) -> ModuleBuilder {
        let name = name.into();
        let mut errors = Vec::new();
        if let Some(problem) = identifier_problem(&name) {
            errors.push(format!("module name: {problem}"));
        }
        let mut names = HashSet::new();
        names.insert(CLOCK.to_string());
        names.insert(RESET.to_string());
        // The implicit clock and reset are signals 0 and 1; they become ports only when the
        // module (or a child) has state that needs them (see `Module::ports`).
        let implicit = |name: &str, doc: &str| Signal {
            name: name.to_string(),
            ty: Type::bit(),
            kind: SignalKind::Input,
            doc: Some(doc.to_string()),
        };
        ModuleBuilder {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
            module: Module {
                name,
                doc: Vec::new(),
                parameters: Vec::new(),
                signals: vec![
                    implicit(CLOCK, "clock; all state changes on its rising edge"),
                    implicit(RESET, "synchronous reset, active high"),
                ],
                assigns: Vec::new(),
                registers: Vec::new(),
                memories: Vec::new(),
                instances: Vec::new(),
                sinks: Vec::new(),
                state_encodings: Vec::new(),
                external: false,
                has_clock: false,
                has_reset: false,
                combinational_paths: Vec::new(),
            },
            names,
            instance_ports: Vec::new(),
            instance_clocking: Vec::new(),
            errors,
        }
    }

    /// Starts an external (black-box) module: a technology macro known by its ports only,
    /// whose body comes from a library. Declare its ports with [`ModuleBuilder::input_doc`] and
    /// [`ModuleBuilder::output_port`] (outputs stay undriven: the macro drives them), its clock
    /// pins as ordinary inputs; it may hold no logic, state or instances. The emitter writes no
    /// Verilog for it.
    pub fn external(name: impl Into<String>) -> ModuleBuilder {
        let mut builder = ModuleBuilder::new(name);
        builder.module.external = true;
        builder
    }

    pub fn name(&self) -> &str {
        &self.module.name
    }

    /// The module's clock `clk` as a value, to connect to a child's clock pin that is not named
    /// `clk` (an external macro's `clk0`); reading it makes `clk` a port of this module.
    pub fn clock(&self) -> Expr {
        Expr::new(
            Type::bit(),
            ExprKind::Signal {
                owner: Owner(self.owner),
                id: SignalId(super::ir::CLOCK_SIGNAL),
                name: CLOCK.into(),
            },
        )
    }

    /// Adds a line to the module's header comment.
    pub fn doc(&mut self, line: impl Into<String>) -> &mut Self {
        self.module.doc.push(line.into());
        self
    }

    /// Records a parameter the module was generated for (UPPER_SNAKE by convention).
    pub fn parameter(&mut self, name: &str, value: i64) -> &mut Self {
        if !name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            self.errors
                .push(format!("parameter `{name}` must be UPPER_SNAKE"));
        }
        self.claim_name(name);
        self.module.parameters.push(Parameter {
            name: name.to_string(),
            value,
        });
        self
    }

    fn claim_name(&mut self, name: &str) {
        if let Some(problem) = identifier_problem(name) {
            self.errors.push(format!("signal name: {problem}"));
        }
        if !self.names.insert(name.to_string()) {
            self.errors.push(format!(
                "`{name}` is declared twice (or clashes with clk/rst)"
            ));
        }
    }

    fn declare(&mut self, name: &str, ty: Type, kind: SignalKind, doc: Option<&str>) -> Expr {
        self.claim_name(name);
        if ty.width == 0 {
            self.errors.push(format!(
                "`{name}` has width 0; every signal needs at least one bit"
            ));
        }
        let id = SignalId(self.module.signals.len());
        self.module.signals.push(Signal {
            name: name.to_string(),
            ty,
            kind,
            doc: doc.map(str::to_string),
        });
        Expr::new(
            ty,
            ExprKind::Signal {
                owner: Owner(self.owner),
                id,
                name: name.into(),
            },
        )
    }

    fn signal_id(expr: &Expr) -> SignalId {
        match expr.kind() {
            ExprKind::Signal { id, .. } => *id,
            _ => unreachable!("declare returns a signal expression"),
        }
    }

    /// Checks a value about to drive `target`: its construction errors, its type and the module
    /// its signals belong to. Returns false (after recording why) when it cannot be used.
    fn check_driver(&mut self, target: &str, expected: Type, value: &Expr) -> bool {
        if let Some(error) = value.first_error() {
            self.errors.push(format!("driving `{target}`: {error}"));
            return false;
        }
        if value.ty() != expected {
            self.errors.push(format!(
                "`{target}` is {expected} but is driven by {}",
                value.describe()
            ));
            return false;
        }
        let mut foreign = None;
        let owner = self.owner;
        value.for_each_read(&mut |value_owner, _, _, _| {
            if value_owner != owner {
                foreign = Some(value_owner);
            }
        });
        if foreign.is_some() {
            self.errors.push(format!(
                "driving `{target}`: the value reads a signal of another module"
            ));
            return false;
        }
        true
    }

    // ---- ports and wires ------------------------------------------------------------------

    /// Declares an input port.
    pub fn input(&mut self, name: &str, ty: Type) -> Expr {
        self.declare(name, ty, SignalKind::Input, None)
    }

    /// Declares an input port with a one-line description.
    pub fn input_doc(&mut self, name: &str, ty: Type, doc: &str) -> Expr {
        self.declare(name, ty, SignalKind::Input, Some(doc))
    }

    /// Declares an output port driven by `value` (its type is the value's).
    pub fn output(&mut self, name: &str, value: &Expr) {
        let port = self.output_port(name, value.ty(), None);
        self.assign(&port, value);
    }

    /// Declares an output port driven by `value`, with a one-line description.
    pub fn output_doc(&mut self, name: &str, value: &Expr, doc: &str) {
        let port = self.output_port(name, value.ty(), Some(doc));
        self.assign(&port, value);
    }

    /// Declares an output port to be driven later with [`ModuleBuilder::assign`].
    pub fn output_port(&mut self, name: &str, ty: Type, doc: Option<&str>) -> Wire {
        let value = self.declare(name, ty, SignalKind::Output, doc);
        Wire {
            id: Self::signal_id(&value),
            value,
        }
    }

    /// Declares a wire driven by `value` and returns it: names an intermediate result.
    pub fn wire(&mut self, name: &str, value: &Expr) -> Expr {
        let wire = self.wire_decl(name, value.ty());
        self.assign(&wire, value);
        wire.value
    }

    /// Declares a wire to be driven later with [`ModuleBuilder::assign`].
    pub fn wire_decl(&mut self, name: &str, ty: Type) -> Wire {
        let value = self.declare(name, ty, SignalKind::Wire, None);
        Wire {
            id: Self::signal_id(&value),
            value,
        }
    }

    /// Drives a wire or output continuously.
    pub fn assign(&mut self, target: &Wire, value: &Expr) {
        let signal = &self.module.signals[target.id.0];
        let (name, ty) = (signal.name.clone(), signal.ty);
        if self.check_driver(&name, ty, value) {
            self.module.assigns.push((target.id, value.clone()));
        }
    }

    // ---- registers --------------------------------------------------------------------------

    /// Declares a register without reset (datapath state); the signal is named `<name>_q`.
    pub fn reg(&mut self, name: &str, ty: Type) -> Reg {
        self.register(name, ty, None)
    }

    /// Declares a register that `rst` sets to `reset` (control state).
    pub fn reg_reset(&mut self, name: &str, ty: Type, reset: i128) -> Reg {
        let constant = Expr::constant(reset, ty);
        let bits = match constant.kind() {
            ExprKind::Const(bits) => Some(*bits),
            _ => {
                self.errors.push(format!(
                    "reset value of `{name}_q`: {}",
                    constant.first_error().unwrap_or_default()
                ));
                None
            }
        };
        self.register(name, ty, Some(bits.unwrap_or(0)))
    }

    fn register(&mut self, name: &str, ty: Type, reset: Option<u64>) -> Reg {
        let q = self.declare(&format!("{name}_q"), ty, SignalKind::Register, None);
        let id = Self::signal_id(&q);
        self.module.registers.push(Register {
            signal: id,
            reset,
            enable: None,
            // Placeholder until `next` is called; `finish` reports registers never driven.
            next: Expr::invalid(ty, "never driven".into()),
        });
        Reg { id, q }
    }

    fn set_next(&mut self, reg: &Reg, enable: Option<&Expr>, value: &Expr) {
        let name = self.module.signals[reg.id.0].name.clone();
        let ty = self.module.signals[reg.id.0].ty;
        let mut ok = self.check_driver(&name, ty, value);
        if let Some(enable) = enable {
            ok &= self.check_driver(&format!("{name} (enable)"), Type::bit(), enable);
        }
        let register = self
            .module
            .registers
            .iter_mut()
            .find(|r| r.signal == reg.id)
            .expect("a Reg handle always refers to a register of its builder");
        if !matches!(register.next.kind(), ExprKind::Invalid(_)) {
            self.errors.push(format!(
                "`{name}` is driven twice: a register has one next value"
            ));
            return;
        }
        if ok {
            register.next = value.clone();
            register.enable = enable.cloned();
        }
    }

    /// `reg <= value` on every clock edge.
    pub fn next(&mut self, reg: &Reg, value: &Expr) {
        self.set_next(reg, None, value);
    }

    /// `if (enable) reg <= value` on every clock edge.
    pub fn next_when(&mut self, reg: &Reg, enable: &Expr, value: &Expr) {
        self.set_next(reg, Some(enable), value);
    }

    /// A pipeline register without reset: `<name>_q <= value` every cycle; returns its output.
    pub fn pipe(&mut self, name: &str, value: &Expr) -> Expr {
        let reg = self.reg(name, value.ty());
        self.next(&reg, value);
        reg.q()
    }

    /// A pipeline register without reset that holds when `enable` is low.
    pub fn pipe_when(&mut self, name: &str, enable: &Expr, value: &Expr) -> Expr {
        let reg = self.reg(name, value.ty());
        self.next_when(&reg, enable, value);
        reg.q()
    }

    /// `stages` pipeline registers in a row (`<name>_d1_q`, `<name>_d2_q`, …), all enabled by
    /// `enable`; returns `value` delayed by `stages` cycles (or `value` itself for 0).
    pub fn delay(&mut self, name: &str, enable: &Expr, value: &Expr, stages: u32) -> Expr {
        let mut delayed = value.clone();
        for stage in 1..=stages {
            delayed = self.pipe_when(&format!("{name}_d{stage}"), enable, &delayed);
        }
        delayed
    }

    // ---- memories ---------------------------------------------------------------------------

    /// Declares a memory of `depth` words of type `ty`.
    pub fn memory(&mut self, name: &str, ty: Type, depth: u64) -> Mem {
        self.claim_name(name);
        if depth < 2 {
            self.errors.push(format!(
                "memory `{name}` has depth {depth}; use a register for fewer than 2 words"
            ));
        }
        let id = MemoryId(self.module.memories.len());
        self.module.memories.push(Memory {
            name: name.to_string(),
            ty,
            depth,
            writes: Vec::new(),
        });
        Mem {
            id,
            owner: self.owner,
            name: name.to_string(),
            ty,
            depth,
        }
    }

    /// Adds a write port: on a clock edge with `enable`, `memory[address] <= data`.
    pub fn write(&mut self, memory: &Mem, enable: &Expr, address: &Expr, data: &Expr) {
        let name = memory.name.clone();
        let ok = self.check_driver(&format!("{name} (write enable)"), Type::bit(), enable)
            & self.check_driver(
                &format!("{name} (write address)"),
                Type::unsigned(memory.address_width()),
                address,
            )
            & self.check_driver(&format!("{name} (write data)"), memory.ty, data);
        if ok {
            self.module.memories[memory.id.0].writes.push(MemoryWrite {
                enable: enable.clone(),
                address: address.clone(),
                data: data.clone(),
            });
        }
    }

    // ---- instances --------------------------------------------------------------------------

    /// Instantiates `module` of `design` as `name`; connect every port with
    /// [`ModuleBuilder::connect`] / [`ModuleBuilder::connect_output`]. `clk` and `rst` are
    /// connected implicitly.
    pub fn instance(&mut self, name: &str, design: &Design, module: ModuleId) -> InstanceHandle {
        self.claim_name(name);
        let child = design.module(module);
        let ports = child
            .ports()
            .filter(|(_, s)| s.name != CLOCK && s.name != RESET)
            .map(|(_, s)| (s.name.clone(), s.ty, s.kind))
            .collect();
        self.instance_ports.push(ports);
        self.instance_clocking
            .push((child.has_clock, child.has_reset));
        self.module.instances.push(Instance {
            name: name.to_string(),
            module,
            connections: Vec::new(),
        });
        InstanceHandle(self.module.instances.len() - 1)
    }

    fn instance_port(
        &mut self,
        instance: InstanceHandle,
        port: &str,
        kind: SignalKind,
    ) -> Option<Type> {
        let instance_name = self.module.instances[instance.0].name.clone();
        let found = self.instance_ports[instance.0]
            .iter()
            .find(|(name, _, _)| name == port)
            .cloned();
        match found {
            None => {
                let known: Vec<_> = self.instance_ports[instance.0]
                    .iter()
                    .map(|(n, _, _)| n.as_str())
                    .collect();
                self.errors.push(format!(
                    "instance `{instance_name}` has no port `{port}` (ports: {})",
                    known.join(", ")
                ));
                None
            }
            Some((_, _, actual)) if actual != kind => {
                self.errors.push(format!(
                    "`{instance_name}.{port}` is an {}, not an {}",
                    if actual == SignalKind::Input {
                        "input"
                    } else {
                        "output"
                    },
                    if kind == SignalKind::Input {
                        "input"
                    } else {
                        "output"
                    },
                ));
                None
            }
            Some((_, ty, _)) => {
                let already = self.module.instances[instance.0]
                    .connections
                    .iter()
                    .any(|(name, _)| name == port);
                if already {
                    self.errors
                        .push(format!("`{instance_name}.{port}` is connected twice"));
                    return None;
                }
                Some(ty)
            }
        }
    }

    /// Connects an input port of an instance to `value` (types must match exactly).
    pub fn connect(&mut self, instance: InstanceHandle, port: &str, value: &Expr) {
        if let Some(ty) = self.instance_port(instance, port, SignalKind::Input) {
            let target = format!("{}.{port}", self.module.instances[instance.0].name);
            if self.check_driver(&target, ty, value) {
                self.module.instances[instance.0]
                    .connections
                    .push((port.to_string(), Connection::Input(value.clone())));
            }
        }
    }

    /// Connects an output port of an instance to a new wire `<instance>_<port>` and returns it.
    pub fn connect_output(&mut self, instance: InstanceHandle, port: &str) -> Expr {
        let name = format!("{}_{port}", self.module.instances[instance.0].name);
        let ty = self
            .instance_port(instance, port, SignalKind::Output)
            .unwrap_or(Type::bit());
        let wire = self.declare(&name, ty, SignalKind::Wire, None);
        self.module.instances[instance.0]
            .connections
            .push((port.to_string(), Connection::Output(Self::signal_id(&wire))));
        wire
    }

    // ---- intent ----------------------------------------------------------------------------

    /// Marks a value as deliberately unused, with the reason (for example the activations leaving
    /// the last column of an array).
    pub fn sink(&mut self, value: &Expr, reason: &str) {
        if let Some(error) = value.first_error() {
            self.errors.push(format!("sink ({reason}): {error}"));
            return;
        }
        self.module.sinks.push(Sink {
            value: value.clone(),
            reason: reason.to_string(),
        });
    }

    /// Records the state names of an FSM register so the RTL shows them (see `hdl::fsm`).
    pub(crate) fn state_encoding(&mut self, reg: &Reg, states: Vec<(String, u64)>) {
        for (state, _) in &states {
            self.claim_name(state);
        }
        self.module.state_encodings.push(StateEncoding {
            register: reg.id,
            states,
        });
    }

    /// Ends construction. Construction errors, registers never driven and instance ports left
    /// unconnected are reported here; the remaining design rules run in [`Design::add`].
    pub fn finish(mut self) -> Result<Module, super::HdlError> {
        for register in &self.module.registers {
            if matches!(register.next.kind(), ExprKind::Invalid(_)) {
                let name = &self.module.signals[register.signal.0].name;
                if !self.errors.iter().any(|e| e.contains(&format!("`{name}`"))) {
                    self.errors.push(format!(
                        "register `{name}` has no next value (never driven)"
                    ));
                }
            }
        }
        for (index, instance) in self.module.instances.iter().enumerate() {
            for (port, _, _) in &self.instance_ports[index] {
                if !instance.connections.iter().any(|(name, _)| name == port) {
                    self.errors.push(format!(
                        "port `{port}` of instance `{}` is not connected",
                        instance.name
                    ));
                }
            }
        }
        if self.module.external {
            let module = &self.module;
            let logic = [
                (!module.assigns.is_empty(), "assignments"),
                (!module.registers.is_empty(), "registers"),
                (!module.memories.is_empty(), "memories"),
                (!module.instances.is_empty(), "instances"),
                (!module.sinks.is_empty(), "sinks"),
                (!module.state_encodings.is_empty(), "state encodings"),
            ];
            for (present, what) in logic {
                if present {
                    self.errors.push(format!(
                        "external module holds {what}; it is known by its ports only"
                    ));
                }
            }
        }
        if !self.errors.is_empty() {
            return Err(super::HdlError::DesignRules {
                module: self.module.name,
                problems: self.errors,
            });
        }
        let clock_read =
            super::check::reads_signal(&self.module, SignalId(super::ir::CLOCK_SIGNAL));
        let child_clock = self.instance_clocking.iter().any(|(clock, _)| *clock);
        let child_reset = self.instance_clocking.iter().any(|(_, reset)| *reset);
        let module = &mut self.module;
        module.has_clock = !module.registers.is_empty()
            || module.memories.iter().any(|m| !m.writes.is_empty())
            || child_clock
            || clock_read;
        module.has_reset = module.registers.iter().any(|r| r.reset.is_some()) || child_reset;
        Ok(self.module)
    }
}

/// Builds and adds a module in one step: `build` describes it, the result is checked and added.
pub fn add_module(
    design: &mut Design,
    name: impl Into<String>,
    build: impl FnOnce(&mut ModuleBuilder, &mut Design),
) -> Result<ModuleId, super::HdlError> {
    let mut builder = ModuleBuilder::new(name);
    build(&mut builder, design);
    design.add(builder.finish()?)
}
