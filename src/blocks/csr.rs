//! The host's view of the core: an AXI4-Lite slave over a table of 32-bit registers. The table
//! ([`Register`]s) is the single description of the register map: this block is built from it,
//! and the C header (`emit::c_header`) and the testbench's driver read the same table.
//!
//! Register kinds: a control register of pulse and level bits, a status register (busy, and a
//! sticky done that the host clears by writing 1), read-write fields that drive the core's
//! descriptor, and read-only values (configuration constants, performance counters).
//!
//! AXI4-Lite: one write and one read in flight. A write completes once both its address and data
//! have arrived (in either order); byte strobes are honoured; writes to read-only or unmapped
//! addresses change nothing and answer SLVERR, reads of unmapped addresses answer SLVERR and 0.
//! Latency: a read answers the cycle after its address; a write answers the cycle after its last
//! half arrives.

use crate::hdl::{add_module, Design, Expr, HdlError, ModuleId, Reg, Type};

/// Address bits of the register space (4 KiB).
pub const ADDRESS_BITS: u32 = 12;
/// AXI response codes.
const OKAY: i128 = 0;
const SLVERR: i128 = 2;

/// What a register does.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Bits the host writes: `pulses` are one-cycle outputs when written as 1 (read as 0);
    /// `levels` are stored and read back.
    Control {
        pulses: Vec<&'static str>,
        levels: Vec<&'static str>,
    },
    /// Bit 0: the `busy` input; bit 1: sticky `done`, set by the `done` input pulse and cleared by
    /// writing 1 to it; bit 2: the `pending` input. Drives `irq` = done & irq_enable (a level bit
    /// of the control register).
    Status,
    /// Stored, read back, and driven out on a port of `width` bits named after the register.
    ReadWrite { width: u32 },
    /// Read from an input port of `width` bits named after the register.
    ReadOnly { width: u32 },
}

/// One 32-bit register of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct Register {
    /// Port and macro name, snake_case (`m_vectors`); the C header upper-cases it.
    pub name: &'static str,
    /// Byte offset, a multiple of 4.
    pub offset: u32,
    pub kind: Kind,
    pub doc: &'static str,
}

/// `csr_axil_<n>regs_<hash>`: a register file is identified by its map, so the name carries the
/// register count and a short digest of the map.
pub fn module_name(registers: &[Register]) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for register in registers {
        register.name.hash(&mut hasher);
        register.offset.hash(&mut hasher);
        format!("{:?}", register.kind).hash(&mut hasher);
    }
    format!(
        "csr_axil_{}regs_{:08x}",
        registers.len(),
        hasher.finish() as u32
    )
}

/// Builds the slave for `registers` (offsets distinct, multiples of 4, below 4 KiB).
pub fn build(registers: &[Register], design: &mut Design) -> Result<ModuleId, HdlError> {
    let word = Type::unsigned(32);
    let address = Type::unsigned(ADDRESS_BITS);
    add_module(design, module_name(registers), |m, _| {
        m.doc("AXI4-Lite register file of the core: control, status, descriptor fields and")
            .doc("read-only counters; one write and one read in flight; SLVERR off the map.");

        let awaddr = m.input("s_axil_awaddr", address);
        let awvalid = m.input("s_axil_awvalid", Type::bit());
        let wdata = m.input("s_axil_wdata", word);
        let wstrb = m.input("s_axil_wstrb", Type::unsigned(4));
        let wvalid = m.input("s_axil_wvalid", Type::bit());
        let bready = m.input("s_axil_bready", Type::bit());
        let araddr = m.input("s_axil_araddr", address);
        let arvalid = m.input("s_axil_arvalid", Type::bit());
        let rready = m.input("s_axil_rready", Type::bit());

        // ---- write channel: hold address and data until both are here, then answer -------------
        let aw_held = m.reg_reset("aw_held", Type::bit(), 0);
        let w_held = m.reg_reset("w_held", Type::bit(), 0);
        let bvalid = m.reg_reset("bvalid", Type::bit(), 0);
        let awready = m.wire("awready", &aw_held.q().or(&bvalid.q()).not());
        let wready = m.wire("wready", &w_held.q().or(&bvalid.q()).not());
        let aw_fire = awvalid.and(&awready);
        let w_fire = wvalid.and(&wready);
        let aw_address = m.pipe_when("aw_address", &aw_fire, &awaddr);
        let w_data = m.pipe_when("w_data", &w_fire, &wdata);
        let w_strobe = m.pipe_when("w_strobe", &w_fire, &wstrb);
        let have_aw = aw_held.q().or(&aw_fire);
        let have_w = w_held.q().or(&w_fire);
        let write = m.wire("write", &have_aw.and(&have_w));
        let write_address = aw_held.q().select(&aw_address, &awaddr);
        let write_data = w_held.q().select(&w_data, &wdata);
        let write_strobe = w_held.q().select(&w_strobe, &wstrb);
        let b_done = bvalid.q().and(&bready);
        m.next(&aw_held, &write.not().and(&have_aw));
        m.next(&w_held, &write.not().and(&have_w));
        m.next(&bvalid, &write.or(&bvalid.q().and(&b_done.not())));
        // Byte strobes as a bit mask.
        let mask = Expr::concat(
            &(0..4)
                .rev()
                .map(|byte| {
                    let bit = write_strobe.bit_at(byte);
                    Expr::concat(&vec![bit; 8])
                })
                .collect::<Vec<_>>(),
        );
        let mask = m.wire("write_mask", &mask);
        let write_to = |offset: u32| {
            write.and(&write_address.eq(&Expr::constant(i128::from(offset), address)))
        };

        // ---- registers -----------------------------------------------------------------------
        let mut read_values: Vec<(u32, Expr)> = Vec::new();
        let mut writable: Vec<u32> = Vec::new();
        let mut irq_enable: Option<Expr> = None;
        let mut status: Option<(u32, &Register)> = None;
        for register in registers {
            let hit = write_to(register.offset);
            match &register.kind {
                Kind::Control { pulses, levels } => {
                    writable.push(register.offset);
                    let mut bits = Vec::new();
                    for (index, name) in pulses.iter().enumerate() {
                        let bit = write_data
                            .bit_at(index as u32)
                            .and(&mask.bit_at(index as u32));
                        let pulse = m.reg_reset(name, Type::bit(), 0);
                        m.next(&pulse, &hit.and(&bit));
                        m.output(name, &pulse.q());
                        bits.push(Expr::bit(false));
                    }
                    for (index, name) in levels.iter().enumerate() {
                        let position = (pulses.len() + index) as u32;
                        let level = m.reg_reset(name, Type::bit(), 0);
                        let new = write_data
                            .bit_at(position)
                            .and(&mask.bit_at(position))
                            .or(&level.q().and(&mask.bit_at(position).not()));
                        m.next_when(&level, &hit, &new);
                        if *name == "irq_enable" {
                            irq_enable = Some(level.q());
                        } else {
                            m.output(name, &level.q());
                        }
                        bits.push(level.q());
                    }
                    read_values.push((register.offset, pack_bits(&bits)));
                }
                Kind::Status => {
                    writable.push(register.offset);
                    status = Some((register.offset, register));
                }
                Kind::ReadWrite { width } => {
                    writable.push(register.offset);
                    let value = m.reg_reset(register.name, Type::unsigned(*width), 0);
                    let merged = merge(&value, &write_data, &mask, *width);
                    m.next_when(&value, &hit, &merged);
                    m.output(register.name, &value.q());
                    read_values.push((register.offset, value.q().resize(32)));
                }
                Kind::ReadOnly { width } => {
                    let value = m.input(register.name, Type::unsigned(*width));
                    read_values.push((register.offset, value.resize(32)));
                }
            }
        }
        if let Some((offset, _)) = status {
            let busy = m.input_doc("busy", Type::bit(), "the core is running");
            let pending = m.input_doc(
                "pending",
                Type::bit(),
                "a start waits for the running descriptor to end",
            );
            let done = m.input_doc("done", Type::bit(), "the core's one-cycle done pulse");
            let sticky = m.reg_reset("done_sticky", Type::bit(), 0);
            let clear = write_to(offset)
                .and(&write_data.bit_at(1))
                .and(&mask.bit_at(1));
            m.next(&sticky, &done.or(&sticky.q().and(&clear.not())));
            let enabled = irq_enable.clone().unwrap_or_else(|| Expr::bit(false));
            m.output_doc("irq", &sticky.q().and(&enabled), "done & irq_enable");
            read_values.push((offset, pack_bits(&[busy, sticky.q(), pending])));
        }
        if let Some(enabled) = &irq_enable {
            if status.is_none() {
                m.sink(enabled, "no status register to raise an interrupt from");
            }
        }

        let write_known = writable.iter().fold(Expr::bit(false), |any, offset| {
            any.or(&write_address.eq(&Expr::constant(i128::from(*offset), address)))
        });
        let bresp = m.pipe_when(
            "bresp",
            &write,
            &write_known.select(
                &Expr::constant(OKAY, Type::unsigned(2)),
                &Expr::constant(SLVERR, Type::unsigned(2)),
            ),
        );
        m.output("s_axil_awready", &awready);
        m.output("s_axil_wready", &wready);
        m.output("s_axil_bvalid", &bvalid.q());
        m.output("s_axil_bresp", &bresp);

        // ---- read channel ---------------------------------------------------------------------
        let rvalid = m.reg_reset("rvalid", Type::bit(), 0);
        let arready = m.wire("arready", &rvalid.q().not());
        let ar_fire = arvalid.and(&arready);
        let (value, known) = read_values.iter().fold(
            (Expr::zero(word), Expr::bit(false)),
            |(value, known), (offset, register)| {
                let hit = araddr.eq(&Expr::constant(i128::from(*offset), address));
                (hit.select(register, &value), known.or(&hit))
            },
        );
        let rdata = m.pipe_when("rdata", &ar_fire, &value);
        let rresp = m.pipe_when(
            "rresp",
            &ar_fire,
            &known.select(
                &Expr::constant(OKAY, Type::unsigned(2)),
                &Expr::constant(SLVERR, Type::unsigned(2)),
            ),
        );
        m.next(&rvalid, &ar_fire.or(&rvalid.q().and(&rready.not())));
        m.output("s_axil_arready", &arready);
        m.output("s_axil_rvalid", &rvalid.q());
        m.output("s_axil_rdata", &rdata);
        m.output("s_axil_rresp", &rresp);
    })
}

/// `old` with the bytes `mask` selects replaced by `data`'s, in `width` bits.
fn merge(old: &Reg, data: &Expr, mask: &Expr, width: u32) -> Expr {
    let kept = old.q().resize(32).and(&mask.not());
    let written = data.and(mask);
    kept.or(&written).resize(width)
}

/// Bits packed from bit 0 up, zero-extended to 32.
fn pack_bits(bits: &[Expr]) -> Expr {
    let mut most_significant_first: Vec<Expr> = bits.to_vec();
    most_significant_first.reverse();
    Expr::concat(&most_significant_first).resize(32)
}
