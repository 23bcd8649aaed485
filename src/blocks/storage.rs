//! The storage of one buffer region inside the core: register files (IR memories) or SRAM
//! macros (`blocks::sram`), in one bank or several, behind one interface so the core is written
//! once for all of them.
//!
//! Both have one synchronous write port and one registered read port: the core presents, in
//! cycle c, the address it will want in cycle c+1 (the next value of its address register), and
//! reads the word in cycle c+1. That is what an SRAM macro does, and for a register file it is
//! the pattern Yosys maps to a memory with a synchronous read, so the two behave alike cycle for
//! cycle. A read and a write of one address in the same cycle read the old word (the caller
//! forwards where it needs the new one).
//!
//! Banks (`buffers.<region>.banks: B`) make the region B physical memories of `depth / B` words,
//! addressed high-order: word `a` lives in bank `a / bank_depth` at offset `a % bank_depth`,
//! where `a` is the physical address (a double-buffered region's half is applied first). With a
//! power-of-two bank depth the bank is the address's top bits and the offset its low bits;
//! otherwise the bank comes from comparisons with the constants `i * bank_depth` and the offset
//! from subtracting the bank's base, so no divider is built. A write enables only the addressed
//! bank. A read reads only the addressed bank, and the bank index, registered with the read,
//! picks that bank's data in the next cycle: the same one-cycle registered read as one memory,
//! so banking changes no cycle count of the core.
//!
//! Register files: bank i is the memory `<name>_bank<i>` (a register when it holds one word, as
//! the DSL's memories hold at least two). SRAM: bank i is the wrapper instance `<name>_bank<i>_sram`
//! of `depth / B` words with macros of its own, as `banks` promises ports of its own per bank.
//! Except when the bank depth is a whole number of macro rows (a multiple of
//! [`sram::MACRO_DEPTH`] words): then one wrapper of the whole depth already is the B banks (its
//! depth tiles fall on bank boundaries, each tile has its own chip selects, and its registered
//! tile select is the bank index), with the same macros and without a second level of selects,
//! so that is what is built, as the single `<name>_sram`.

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
    /// Banks of `depth / banks` words each (`buffers.<region>.banks`).
    pub banks: u32,
    memory: Planned,
}

#[derive(Debug, Clone, Copy)]
enum Planned {
    RegisterFile,
    /// The wrapper module: one per bank, or one for the whole region (see the module doc).
    Sram {
        wrapper: ModuleId,
        per_bank: bool,
    },
}

/// Builds the SRAM wrappers a region of `word_bits` × `depth` in `banks` banks needs under
/// `kind`, if any.
pub fn plan(
    kind: MemoryKind,
    word_bits: u32,
    depth: u64,
    banks: u32,
    design: &mut Design,
) -> Result<Plan, HdlError> {
    if banks == 0 || !depth.is_multiple_of(u64::from(banks)) {
        return Err(HdlError::Unsupported(format!(
            "{banks} banks do not split a region of {depth} words evenly"
        )));
    }
    let bank_depth = depth / u64::from(banks);
    let memory = match kind {
        MemoryKind::RegisterFile => Planned::RegisterFile,
        MemoryKind::Sky130Sram => {
            let per_bank = banks > 1 && !bank_depth.is_multiple_of(sram::MACRO_DEPTH);
            let wrapper_depth = if per_bank { bank_depth } else { depth };
            Planned::Sram {
                wrapper: sram::build(word_bits, wrapper_depth, design)?,
                per_bank,
            }
        }
    };
    Ok(Plan {
        word_bits,
        depth,
        banks,
        memory,
    })
}

impl Plan {
    /// The physical memories the region is declared as: one per bank, or one.
    fn memories(&self) -> u32 {
        match self.memory {
            Planned::RegisterFile | Planned::Sram { per_bank: true, .. } => self.banks,
            Planned::Sram {
                per_bank: false, ..
            } => 1,
        }
    }
}

/// A region inside the module being built.
#[derive(Clone)]
pub struct Storage {
    name: String,
    address_bits: u32,
    word_bits: u32,
    /// Words per physical memory (the whole depth when there is one).
    bank_depth: u64,
    /// The physical memories, bank 0 first.
    banks: Vec<Bank>,
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

/// One physical memory of a region.
#[derive(Clone)]
enum Bank {
    Memory(Mem),
    /// A one-word register-file bank: the DSL's memories hold at least two words.
    Word(Reg),
    Sram(InstanceHandle),
}

/// A declared read port: the word read last cycle, and what still needs its address.
pub struct ReadPort {
    pub data: Expr,
    /// Each bank's read register (`None` for a wrapper, which registers its own read).
    registers: Vec<Option<Reg>>,
    /// With several banks: the bank the word in flight was read from.
    bank: Option<Reg>,
}

impl Storage {
    /// Declares region `name`: `<name>_buffer` or the `<name>_sram` instance, or with banks
    /// `<name>_bank<i>` or the `<name>_bank<i>_sram` instances.
    pub fn declare(m: &mut ModuleBuilder, design: &Design, name: &str, plan: &Plan) -> Storage {
        let memories = plan.memories();
        let bank_depth = plan.depth / u64::from(memories);
        let ty = Type::unsigned(plan.word_bits);
        let banks = (0..memories)
            .map(|i| {
                let bank = if memories == 1 {
                    name.to_owned()
                } else {
                    format!("{name}_bank{i}")
                };
                match plan.memory {
                    Planned::RegisterFile => {
                        let memory = if memories == 1 {
                            format!("{name}_buffer")
                        } else {
                            bank
                        };
                        if bank_depth == 1 {
                            Bank::Word(m.reg(&memory, ty))
                        } else {
                            Bank::Memory(m.memory(&memory, ty, bank_depth))
                        }
                    }
                    Planned::Sram { wrapper, .. } => {
                        let instance = m.instance(&format!("{bank}_sram"), design, wrapper);
                        if memories == 1 {
                            // Reads every cycle: the data of the address presented last cycle is
                            // always fresh, whatever the core's address register did. (Banks
                            // read only when addressed: `read_address` enables them.)
                            m.connect(instance, "rd_en", &Expr::bit(true));
                        }
                        Bank::Sram(instance)
                    }
                }
            })
            .collect();
        Storage {
            name: name.to_owned(),
            address_bits: clog2(plan.depth),
            word_bits: plan.word_bits,
            bank_depth,
            banks,
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

    /// The bank and the offset within it of physical address `address` (`port`: `wr` or `rd`
    /// names the wires): top and low bits for a power-of-two bank depth, else comparisons with
    /// each bank's first address and a subtraction of the bank's base.
    fn split(&self, m: &mut ModuleBuilder, port: &str, address: &Expr) -> (Expr, Expr) {
        let name = &self.name;
        let address = m.wire(&format!("{name}_{port}_address"), address);
        let banks = self.banks.len() as u64;
        let bank_type = Type::unsigned(clog2(banks));
        let (bank, offset) = if self.bank_depth.is_power_of_two() {
            let low = self.bank_depth.trailing_zeros();
            let bank = address.slice(self.address_bits - 1, low);
            debug_assert_eq!(bank.ty(), bank_type, "depth = banks * bank_depth");
            // A one-word bank has no offset; its address port (if any) is one constant bit.
            let offset = match low {
                0 => Expr::zero(Type::unsigned(1)),
                _ => address.slice(low - 1, 0),
            };
            (bank, offset)
        } else {
            let ty = Type::unsigned(self.address_bits);
            let mut bank = Expr::zero(bank_type);
            let mut base = Expr::zero(ty);
            // The last bank whose first address is at or below `address`: the outermost test is
            // the highest bank.
            for index in 1..banks {
                let first = Expr::constant(i128::from(index * self.bank_depth), ty);
                let above = address.ge(&first);
                bank = above.select(&Expr::constant(i128::from(index), bank_type), &bank);
                base = above.select(&first, &base);
            }
            let offset = address.sub(&base).slice(clog2(self.bank_depth) - 1, 0);
            (bank, offset)
        };
        let bank = m.wire(&format!("{name}_{port}_bank"), &bank);
        let offset = if self.bank_depth > 1 {
            m.wire(&format!("{name}_{port}_offset"), &offset)
        } else {
            offset
        };
        (bank, offset)
    }

    /// The write port: `data` into word `address` at the clock edge when `enable`.
    pub fn write(&self, m: &mut ModuleBuilder, enable: &Expr, address: &Expr, data: &Expr) {
        let address = self.locate(address, |h| &h.write);
        if let [bank] = self.banks.as_slice() {
            bank.write(m, enable, &address, data);
            return;
        }
        let (bank, offset) = self.split(m, "wr", &address);
        for (index, memory) in self.banks.iter().enumerate() {
            let selected = enable.and(&bank.eq_const(index as i128));
            memory.write(m, &selected, &offset, data);
        }
    }

    /// Declares the read port; its data can be used before its address is known.
    pub fn read_port(&self, m: &mut ModuleBuilder) -> ReadPort {
        let name = &self.name;
        let reads: Vec<(Expr, Option<Reg>)> = match self.banks.as_slice() {
            [bank] => vec![bank.read_data(m, &format!("{name}_rd"), self.word_bits)],
            banks => banks
                .iter()
                .enumerate()
                .map(|(index, bank)| {
                    bank.read_data(m, &format!("{name}_bank{index}_rd"), self.word_bits)
                })
                .collect(),
        };
        let (words, registers): (Vec<Expr>, Vec<Option<Reg>>) = reads.into_iter().unzip();
        if let [word] = words.as_slice() {
            return ReadPort {
                data: word.clone(),
                registers,
                bank: None,
            };
        }
        let bank = m.reg(
            &format!("{name}_rd_data_bank"),
            Type::unsigned(clog2(words.len() as u64)),
        );
        let mut data = words[0].clone();
        for (index, word) in words.iter().enumerate().skip(1) {
            data = bank.q().eq_const(index as i128).select(word, &data);
        }
        ReadPort {
            data,
            registers,
            bank: Some(bank),
        }
    }

    /// Drives the read port with the address whose word `port.data` must hold next cycle.
    pub fn read_address(&self, m: &mut ModuleBuilder, port: ReadPort, next_address: &Expr) {
        let address = self.locate(next_address, |h| &h.read);
        assert_eq!(
            port.registers.len(),
            self.banks.len(),
            "a read port belongs to the storage that declared it"
        );
        let Some(data_bank) = port.bank else {
            self.banks[0].read(m, None, port.registers[0].as_ref(), &address);
            return;
        };
        let (bank, offset) = self.split(m, "rd", &address);
        m.next(&data_bank, &bank);
        for (index, (memory, register)) in self.banks.iter().zip(&port.registers).enumerate() {
            let selected = bank.eq_const(index as i128);
            memory.read(m, Some(&selected), register.as_ref(), &offset);
        }
    }
}

impl Bank {
    /// `data` into word `address` at the clock edge when `enable`.
    fn write(&self, m: &mut ModuleBuilder, enable: &Expr, address: &Expr, data: &Expr) {
        match self {
            Bank::Memory(memory) => m.write(memory, enable, address, data),
            Bank::Word(word) => m.next_when(word, enable, data),
            Bank::Sram(instance) => {
                m.connect(*instance, "wr_en", enable);
                m.connect(*instance, "wr_addr", address);
                m.connect(*instance, "wr_data", data);
            }
        }
    }

    /// The bank's registered read data, and the register `register` holding it for a register
    /// file (a wrapper registers its own read).
    fn read_data(
        &self,
        m: &mut ModuleBuilder,
        register: &str,
        word_bits: u32,
    ) -> (Expr, Option<Reg>) {
        match self {
            Bank::Memory(_) | Bank::Word(_) => {
                let register = m.reg(register, Type::unsigned(word_bits));
                (register.q(), Some(register))
            }
            Bank::Sram(instance) => (m.connect_output(*instance, "rd_data"), None),
        }
    }

    /// Reads word `address` into the read data of the next cycle; with `enable`, only then.
    fn read(
        &self,
        m: &mut ModuleBuilder,
        enable: Option<&Expr>,
        register: Option<&Reg>,
        address: &Expr,
    ) {
        let word = match self {
            Bank::Memory(memory) => memory.read(address),
            Bank::Word(word) => word.q(),
            Bank::Sram(instance) => {
                m.connect(*instance, "rd_addr", address);
                if let Some(enable) = enable {
                    m.connect(*instance, "rd_en", enable);
                }
                return;
            }
        };
        let register = register.expect("a register-file bank has a read register");
        match enable {
            None => m.next(register, &word),
            Some(enable) => m.next_when(register, enable, &word),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdl::add_module;

    /// A module around region `name` of `plan`: a write port and a read port on its pins.
    fn module_with(design: &mut Design, plan: &Plan) -> ModuleId {
        add_module(design, "storage_test", |m, design| {
            let address = Type::unsigned(clog2(plan.depth));
            let enable = m.input("wr_en", Type::bit());
            let wr_addr = m.input("wr_addr", address);
            let data = m.input("wr_data", Type::unsigned(plan.word_bits));
            let rd_addr = m.input("rd_addr", address);
            let storage = Storage::declare(m, design, "x", plan);
            storage.write(m, &enable, &wr_addr, &data);
            let port = storage.read_port(m);
            m.output("rd_data", &port.data);
            storage.read_address(m, port, &rd_addr);
        })
        .unwrap()
    }

    #[test]
    fn a_banked_register_file_is_one_memory_per_bank_and_one_word_banks_are_registers() {
        let mut design = Design::new();
        let three = plan(MemoryKind::RegisterFile, 16, 12, 3, &mut design).unwrap();
        let id = module_with(&mut design, &three);
        let memories: Vec<_> = design
            .module(id)
            .memories
            .iter()
            .map(|m| (m.name.as_str(), m.depth))
            .collect();
        assert_eq!(memories, [("x_bank0", 4), ("x_bank1", 4), ("x_bank2", 4)]);

        let mut design = Design::new();
        let words = plan(MemoryKind::RegisterFile, 16, 4, 4, &mut design).unwrap();
        let id = module_with(&mut design, &words);
        assert!(design.module(id).memories.is_empty());
        // Four words, four read registers and the 2-bit bank of the read in flight.
        assert_eq!(design.module(id).flop_bits(), 4 * 16 + 4 * 16 + 2);
    }

    #[test]
    fn sram_banks_get_a_wrapper_each_unless_they_are_whole_macro_rows() {
        let mut design = Design::new();
        // 3 banks of 200 words: each its own wrapper of one macro.
        let region = plan(MemoryKind::Sky130Sram, 16, 600, 3, &mut design).unwrap();
        let id = module_with(&mut design, &region);
        assert_eq!(design.module(id).instances.len(), 3);
        assert!(design.find(&sram::module_name(16, 200)).is_some());

        // 2 banks of 512 words: the wrapper's depth tiles already are the banks.
        let mut design = Design::new();
        let region = plan(MemoryKind::Sky130Sram, 16, 1024, 2, &mut design).unwrap();
        let id = module_with(&mut design, &region);
        assert_eq!(design.module(id).instances.len(), 1);
        assert!(design.find(&sram::module_name(16, 1024)).is_some());
    }

    #[test]
    fn banks_that_do_not_divide_the_depth_are_refused() {
        let mut design = Design::new();
        assert!(plan(MemoryKind::RegisterFile, 16, 10, 3, &mut design).is_err());
        assert!(plan(MemoryKind::RegisterFile, 16, 10, 0, &mut design).is_err());
    }
}
