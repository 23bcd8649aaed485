//! The storage of one buffer region inside the core: a register file (an IR memory) or SRAM
//! macros (`blocks::sram`), behind one interface so the core is written once for both.
//!
//! Both have one synchronous write port and one registered read port: the core presents, in
//! cycle c, the address it will want in cycle c+1 (the next value of its address register), and
//! reads the word in cycle c+1. That is what an SRAM macro does, and for a register file it is
//! the pattern Yosys maps to a memory with a synchronous read, so the two behave alike cycle for
//! cycle. A read and a write of one address in the same cycle read the old word (the caller
//! forwards where it needs the new one).

use super::sram;
use crate::config::MemoryKind;
use crate::hdl::{
    clog2, Design, Expr, HdlError, InstanceHandle, Mem, ModuleBuilder, ModuleId, Reg, Type,
};

/// What a region is built from, prepared before the core's module is (macro wrappers are
/// modules of their own).
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub word_bits: u32,
    pub depth: u64,
    wrapper: Option<ModuleId>,
}

/// Builds the SRAM wrapper a region of `word_bits` × `depth` needs under `kind`, if any.
pub fn plan(
    kind: MemoryKind,
    word_bits: u32,
    depth: u64,
    design: &mut Design,
) -> Result<Plan, HdlError> {
    let wrapper = match kind {
        MemoryKind::RegisterFile => None,
        MemoryKind::Sky130Sram => Some(sram::build(word_bits, depth, design)?),
    };
    Ok(Plan {
        word_bits,
        depth,
        wrapper,
    })
}

/// A region inside the module being built.
#[derive(Clone)]
pub struct Storage {
    name: String,
    address_bits: u32,
    word_bits: u32,
    kind: Built,
    /// A double-buffered region's view of one half ([`Storage::halves`]).
    halves: Option<Halves>,
}

/// Which half reads and writes address, and the words in a half.
#[derive(Clone)]
struct Halves {
    depth: u64,
    read: Expr,
    write: Expr,
}

#[derive(Clone)]
enum Built {
    RegisterFile(Mem),
    Sram(InstanceHandle),
}

/// A declared read port: the word read last cycle, and what still needs its address.
pub struct ReadPort {
    pub data: Expr,
    register: Option<Reg>,
}

impl Storage {
    /// Declares region `name` (`<name>_buffer` or the `<name>_sram` instance).
    pub fn declare(m: &mut ModuleBuilder, design: &Design, name: &str, plan: &Plan) -> Storage {
        let kind = match plan.wrapper {
            None => Built::RegisterFile(m.memory(
                &format!("{name}_buffer"),
                Type::unsigned(plan.word_bits),
                plan.depth,
            )),
            Some(wrapper) => {
                let instance = m.instance(&format!("{name}_sram"), design, wrapper);
                // Reads every cycle: the data of the address presented last cycle is always
                // fresh, whatever the core's address register did.
                m.connect(instance, "rd_en", &Expr::bit(true));
                Built::Sram(instance)
            }
        };
        Storage {
            name: name.to_owned(),
            address_bits: clog2(plan.depth),
            word_bits: plan.word_bits,
            kind,
            halves: None,
        }
    }

    /// The region as two halves of `depth / 2` words: callers address words within a half, and
    /// reads go to half `read`, writes to half `write` (1-bit expressions). This is how a
    /// double-buffered region lets the DMA fill one half while the array reads the other.
    pub fn halves(&self, depth: u64, read: &Expr, write: &Expr) -> Storage {
        assert!(self.halves.is_none(), "a half is not split again");
        Storage {
            halves: Some(Halves {
                depth: depth / 2,
                read: read.clone(),
                write: write.clone(),
            }),
            ..self.clone()
        }
    }

    /// The region's address of word `address` of the half `half` selects (the word itself
    /// without halves): the half is the top address bit when a half is a power of two words,
    /// else an offset of a half's words.
    fn locate(&self, address: &Expr, half: impl Fn(&Halves) -> &Expr) -> Expr {
        let Some(halves) = &self.halves else {
            return address.resize(self.address_bits);
        };
        let half = half(halves);
        if halves.depth.is_power_of_two() {
            let low = halves.depth.trailing_zeros();
            let within = address.resize(low);
            let top = if low == 0 {
                half.clone()
            } else {
                Expr::concat(&[half.clone(), within])
            };
            top.resize(self.address_bits)
        } else {
            let ty = Type::unsigned(self.address_bits);
            let offset = half.select(
                &Expr::constant(i128::from(halves.depth), ty),
                &Expr::zero(ty),
            );
            address
                .resize(self.address_bits)
                .add(&offset)
                .resize(self.address_bits)
        }
    }

    /// The write port: `data` into word `address` at the clock edge when `enable`.
    pub fn write(&self, m: &mut ModuleBuilder, enable: &Expr, address: &Expr, data: &Expr) {
        let address = self.locate(address, |h| &h.write);
        match &self.kind {
            Built::RegisterFile(memory) => m.write(memory, enable, &address, data),
            Built::Sram(instance) => {
                m.connect(*instance, "wr_en", enable);
                m.connect(*instance, "wr_addr", &address);
                m.connect(*instance, "wr_data", data);
            }
        }
    }

    /// Declares the read port; its data can be used before its address is known.
    pub fn read_port(&self, m: &mut ModuleBuilder) -> ReadPort {
        match &self.kind {
            Built::RegisterFile(_) => {
                let register = m.reg(&format!("{}_rd", self.name), Type::unsigned(self.word_bits));
                ReadPort {
                    data: register.q(),
                    register: Some(register),
                }
            }
            Built::Sram(instance) => ReadPort {
                data: m.connect_output(*instance, "rd_data"),
                register: None,
            },
        }
    }

    /// Drives the read port with the address whose word `port.data` must hold next cycle.
    pub fn read_address(&self, m: &mut ModuleBuilder, port: ReadPort, next_address: &Expr) {
        let address = self.locate(next_address, |h| &h.read);
        match (&self.kind, port.register) {
            (Built::RegisterFile(memory), Some(register)) => {
                m.next(&register, &memory.read(&address));
            }
            (Built::Sram(instance), None) => m.connect(*instance, "rd_addr", &address),
            _ => unreachable!("a read port belongs to the storage that declared it"),
        }
    }
}
