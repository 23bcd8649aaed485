//! SRAM wrapper on sky130 macros: owns the black-box declaration of OpenRAM's
//! `sky130_sram_1rw1r_64x256_8` (its pins, as its liberty lists them) and the wrapper module
//! `sram_w{W}_d{D}_sky130` that tiles a memory of D words of W bits onto those macros.
//!
//! Ports of the wrapper (one clock, `clk`; no reset: the memory's contents are not reset):
//!
//! ```text
//! wr_en, wr_addr[A], wr_data[W]    write: on a rising edge with wr_en, mem[wr_addr] <= wr_data
//! rd_en, rd_addr[A]                read request, sampled on a rising edge
//! rd_data[W]                       registered read: in cycle c+1, the word at rd_addr in cycle c
//! ```
//!
//! with A = clog2(D). Latency 1 cycle, one write and one read per cycle. `rd_data` is defined only
//! in the cycle after a read (the behavioural model holds it, OpenRAM's own model drives X: do not
//! rely on it holding). A write and a read of the same address in the same cycle return the OLD
//! word in the behavioural model (both ports sample on the same edge). The silicon does not
//! promise that: OpenRAM's model warns on this collision, so a consumer that needs it on silicon
//! must avoid it or forward the write data itself. Addresses at or above D are outside the
//! contract (writes there may land in the spare words of the last macro row).
//!
//! Tiling: ceil(W/64) macros wide × ceil(D/256) deep. Writes go to port 0 (`csb0` selects the
//! depth tile of `wr_addr`, `web0` is tied to write, `wmask0` enables only the bytes that hold
//! data bits), reads to port 1 of the depth tile of `rd_addr`; a registered bank select, loaded
//! with each read, picks that tile's `dout1`. Padding bits of the last column are written as zero
//! and their read data, like the unused `dout0`, is sunk with its reason.

use crate::hdl::{add_module, clog2, Design, Expr, HdlError, ModuleBuilder, ModuleId, Type};

/// The OpenRAM macro: 256 words × 64 bits, a read-write port 0 and a read port 1, byte write mask.
pub const MACRO_NAME: &str = "sky130_sram_1rw1r_64x256_8";
/// Bits of one macro word.
pub const MACRO_WORD_BITS: u32 = 64;
/// Words of one macro.
pub const MACRO_DEPTH: u64 = 256;
/// Address bits of one macro.
pub const MACRO_ADDRESS_BITS: u32 = 8;
/// Bits of the write mask: one per byte.
pub const MACRO_MASK_BITS: u32 = 8;
/// Cycles from a read request to its data.
pub const LATENCY: u32 = 1;

/// `sram_w100_d600_sky130`: word bits and depth.
pub fn module_name(word_bits: u32, depth: u64) -> String {
    format!("sram_w{word_bits}_d{depth}_sky130")
}

/// Macros side by side to hold `word_bits`.
pub fn macros_wide(word_bits: u32) -> u32 {
    word_bits.div_ceil(MACRO_WORD_BITS)
}

/// Macros stacked to hold `depth` words.
pub fn macros_deep(depth: u64) -> u64 {
    depth.div_ceil(MACRO_DEPTH)
}

/// Declares the black-box macro (its pins as the liberty lists them; active-low `csb*`, `web0`).
pub fn macro_module(design: &mut Design) -> Result<ModuleId, HdlError> {
    let mut m = ModuleBuilder::external(MACRO_NAME);
    m.doc("OpenRAM SRAM macro, 256 x 64 bits; port 0 read/write, port 1 read.");
    let data = Type::unsigned(MACRO_WORD_BITS);
    let address = Type::unsigned(MACRO_ADDRESS_BITS);
    m.input_doc("clk0", Type::bit(), "port 0 clock");
    m.input_doc("csb0", Type::bit(), "port 0 chip select, active low");
    m.input_doc("web0", Type::bit(), "port 0 write enable, active low");
    m.input_doc(
        "wmask0",
        Type::unsigned(MACRO_MASK_BITS),
        "port 0 write mask, one bit per byte",
    );
    m.input_doc("addr0", address, "port 0 address");
    m.input_doc("din0", data, "port 0 write data");
    m.output_port("dout0", data, Some("port 0 read data, registered"));
    m.input_doc("clk1", Type::bit(), "port 1 clock");
    m.input_doc("csb1", Type::bit(), "port 1 chip select, active low");
    m.input_doc("addr1", address, "port 1 address");
    m.output_port("dout1", data, Some("port 1 read data, registered"));
    design.add(m.finish()?)
}

/// Builds the wrapper of `depth` words of `word_bits` bits (see the module header).
pub fn build(word_bits: u32, depth: u64, design: &mut Design) -> Result<ModuleId, HdlError> {
    let sram = macro_module(design)?;
    let wide = macros_wide(word_bits);
    let deep = macros_deep(depth);
    let address_bits = clog2(depth);
    add_module(design, module_name(word_bits, depth), |m, design| {
        m.doc(format!(
            "SRAM of {depth} words x {word_bits} bits on {} {MACRO_NAME} macros ({wide} wide x {deep} deep).",
            u64::from(wide) * deep
        ))
        .doc("Registered read: rd_data in cycle c+1 is the word at rd_addr in cycle c (rd_en).")
        .doc("A write and a read of one address in one cycle read the old word (behavioural model).");
        m.parameter("WORD_BITS", word_bits.into())
            .parameter("DEPTH", depth as i64)
            .parameter("MACROS_WIDE", wide.into())
            .parameter("MACROS_DEEP", deep as i64);

        let address = Type::unsigned(address_bits);
        let wr_en = m.input_doc("wr_en", Type::bit(), "write wr_data at wr_addr");
        let wr_addr = m.input("wr_addr", address);
        let wr_data = m.input("wr_data", Type::unsigned(word_bits));
        let rd_en = m.input_doc("rd_en", Type::bit(), "read rd_addr; rd_data next cycle");
        let rd_addr = m.input("rd_addr", address);

        // Row inside a macro (zero-extended when the memory is shallower) and depth tile.
        let row_bits = address_bits.min(MACRO_ADDRESS_BITS);
        let row = |a: &Expr| a.slice(row_bits - 1, 0).extend(MACRO_ADDRESS_BITS);
        let tile_of = |a: &Expr| {
            (address_bits > MACRO_ADDRESS_BITS)
                .then(|| a.slice(address_bits - 1, MACRO_ADDRESS_BITS))
        };
        let wr_row = m.wire("wr_row", &row(&wr_addr));
        let rd_row = m.wire("rd_row", &row(&rd_addr));
        let wr_tile = tile_of(&wr_addr).map(|t| m.wire("wr_tile", &t));
        let rd_tile = tile_of(&rd_addr).map(|t| m.wire("rd_tile", &t));
        let selects = |tile: &Option<Expr>, enable: &Expr, t: u64| match tile {
            Some(tile) => enable.and(&tile.eq_const(t.into())),
            None => enable.clone(),
        };

        let clock = m.clock();
        let write_enable = Expr::bit(false); // web0: port 0 only ever writes
                                             // tiles[t] = the read data of depth tile t, columns concatenated (W bits).
        let mut tiles = Vec::new();
        let mut unused_dout0 = Vec::new();
        let mut padding = Vec::new();
        for t in 0..deep {
            let mut columns = Vec::new();
            for c in 0..wide {
                let low = c * MACRO_WORD_BITS;
                let used = (word_bits - low).min(MACRO_WORD_BITS);
                let data = wr_data.slice(low + used - 1, low);
                let din = if used < MACRO_WORD_BITS {
                    Expr::concat(&[Expr::zero(Type::unsigned(MACRO_WORD_BITS - used)), data])
                } else {
                    data
                };
                let used_bytes = used.div_ceil(8);
                let mask =
                    Expr::constant((1i128 << used_bytes) - 1, Type::unsigned(MACRO_MASK_BITS));
                let name = format!("u_macro_r{t}_c{c}");
                let u = m.instance(&name, design, sram);
                m.connect(u, "clk0", &clock);
                m.connect(u, "csb0", &selects(&wr_tile, &wr_en, t).not());
                m.connect(u, "web0", &write_enable);
                m.connect(u, "wmask0", &mask);
                m.connect(u, "addr0", &wr_row);
                m.connect(u, "din0", &din);
                m.connect(u, "clk1", &clock);
                m.connect(u, "csb1", &selects(&rd_tile, &rd_en, t).not());
                m.connect(u, "addr1", &rd_row);
                let dout0 = m.connect_output(u, "dout0");
                let dout1 = m.connect_output(u, "dout1");
                unused_dout0.push(dout0);
                if used < MACRO_WORD_BITS {
                    padding.push(dout1.slice(MACRO_WORD_BITS - 1, used));
                }
                columns.push(dout1.slice(used - 1, 0));
            }
            columns.reverse(); // concat is most significant first
            tiles.push(Expr::concat(&columns));
        }
        m.sink(
            &Expr::concat(&unused_dout0),
            "port 0 of every macro only writes; reads use port 1",
        );
        if !padding.is_empty() {
            m.sink(
                &Expr::concat(&padding),
                "padding bits of the last column's macros (written as zero)",
            );
        }

        let rd_data = match rd_tile {
            None => tiles[0].clone(),
            Some(rd_tile) => {
                // Which tile the data of the read in flight comes from.
                let bank = m.pipe_when("rd_bank", &rd_en, &rd_tile);
                let mut data = tiles[0].clone();
                for (t, tile) in tiles.iter().enumerate().skip(1) {
                    data = bank.eq_const(t as i128).select(tile, &data);
                }
                data
            }
        };
        m.output_doc("rd_data", &rd_data, "word read in the previous cycle");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapper_tiles_macros_wide_and_deep_and_declares_the_macro_once() {
        let mut design = Design::new();
        let small = build(16, 64, &mut design).unwrap();
        let big = build(100, 600, &mut design).unwrap();
        let macro_id = design.find(MACRO_NAME).unwrap();
        assert!(design.module(macro_id).external);
        assert_eq!(design.module(small).instances.len(), 1);
        assert_eq!(design.module(big).instances.len(), 2 * 3);
        for id in [small, big] {
            let module = design.module(id);
            assert!(module.has_clock && !module.has_reset);
            assert_eq!(
                module.port("rd_data").unwrap().1.ty.width,
                module.port("wr_data").unwrap().1.ty.width
            );
        }
        assert_eq!(design.module(big).port("rd_addr").unwrap().1.ty.width, 10);
        // Only the deep wrapper needs a bank select register.
        assert_eq!(design.module(small).flop_bits(), 0);
        assert_eq!(design.module(big).flop_bits(), 2);
    }
}
