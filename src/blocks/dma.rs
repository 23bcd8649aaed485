//! The DMA engine: an AXI4 master (`m_axi_*`) that loads buffer regions from DRAM and stores the
//! result region back, one region list per direction, with INCR bursts and several reads in
//! flight.
//!
//! DRAM layout: a region is its buffer's words in address order, each word starting on a beat
//! boundary and taking `ceil(word_bits / data_bits)` beats, lowest bits in the first beat (the
//! unused top bits of a word's last beat are ignored on loads and zero on stores). A region's
//! base address is rounded down to the longest burst's size, so no burst crosses a 4 KiB
//! boundary; the host allocates regions on such boundaries.
//!
//! Loads (`load_start`, then `load_done`): one cycle after the start the engine latches which
//! regions have words and begins. Read addresses go out region after region in bursts of up to
//! `burst_beats` beats (the last burst of a region may be shorter) while fewer than
//! `outstanding` bursts are in flight; `rready` is always high, every beat lands in a word
//! register, and a completed word is written to its buffer in the following cycle.
//! `load_done` is high for the one cycle after the last word's write.
//!
//! Stores (`store_start`, then `store_done`): one cycle after the start, write addresses go out
//! in the same bursts while fewer than `outstanding` are unanswered; the data of a burst follows
//! its address (`wvalid` only for bursts whose address has been sent), read from the result
//! buffer with a registered read (`ofmap_rd_addr_next` names the word `ofmap_rd_data` holds next
//! cycle); `bready` is always high, and `store_done` is high in the cycle after the
//! last response. With a [`Packing`], a store started with `<store>_packed` sends each word's
//! lanes narrowed to their low bits, as a region of words of that narrower width.
//!
//! `golden::dma` models these rules cycle for cycle against `config::DramSpec`'s DRAM.

use crate::config::{BufferSpec, DmaSpec};
use crate::hdl::{
    add_module, bits_for, clog2, Design, Expr, HdlError, ModuleBuilder, ModuleId, Type,
};

/// AXI address width.
pub const ADDRESS_BITS: u32 = 32;

/// Width of an AXI4 signal.
#[derive(Debug, Clone, Copy)]
pub enum AxiWidth {
    Bit,
    Address,
    Length,
    Size,
    Burst,
    Response,
    Data,
    Strobe,
}

/// One `m_axi_*` signal: its name after the prefix, its direction and width.
#[derive(Debug, Clone, Copy)]
pub struct AxiPort {
    pub name: &'static str,
    pub from_master: bool,
    pub width: AxiWidth,
}

impl AxiPort {
    pub fn bits(&self, dma: &DmaSpec) -> u32 {
        match self.width {
            AxiWidth::Bit => 1,
            AxiWidth::Address => ADDRESS_BITS,
            AxiWidth::Length => 8,
            AxiWidth::Size => 3,
            AxiWidth::Burst | AxiWidth::Response => 2,
            AxiWidth::Data => dma.data_bits,
            AxiWidth::Strobe => dma.data_bits / 8,
        }
    }
}

const fn port(name: &'static str, from_master: bool, width: AxiWidth) -> AxiPort {
    AxiPort {
        name,
        from_master,
        width,
    }
}

/// The master's signals (no IDs: one ID, in order).
pub const AXI_PORTS: &[AxiPort] = &[
    port("araddr", true, AxiWidth::Address),
    port("arlen", true, AxiWidth::Length),
    port("arsize", true, AxiWidth::Size),
    port("arburst", true, AxiWidth::Burst),
    port("arvalid", true, AxiWidth::Bit),
    port("arready", false, AxiWidth::Bit),
    port("rdata", false, AxiWidth::Data),
    port("rresp", false, AxiWidth::Response),
    port("rlast", false, AxiWidth::Bit),
    port("rvalid", false, AxiWidth::Bit),
    port("rready", true, AxiWidth::Bit),
    port("awaddr", true, AxiWidth::Address),
    port("awlen", true, AxiWidth::Length),
    port("awsize", true, AxiWidth::Size),
    port("awburst", true, AxiWidth::Burst),
    port("awvalid", true, AxiWidth::Bit),
    port("awready", false, AxiWidth::Bit),
    port("wdata", true, AxiWidth::Data),
    port("wstrb", true, AxiWidth::Strobe),
    port("wlast", true, AxiWidth::Bit),
    port("wvalid", true, AxiWidth::Bit),
    port("wready", false, AxiWidth::Bit),
    port("bresp", false, AxiWidth::Response),
    port("bvalid", false, AxiWidth::Bit),
    port("bready", true, AxiWidth::Bit),
];

/// A region the engine moves: the buffer it belongs to and its geometry.
#[derive(Debug, Clone, Copy)]
pub struct Region<'a> {
    pub name: &'a str,
    pub buffer: &'a BufferSpec,
}

/// How the store may narrow a word: its `lanes` equal lanes, each stored as its low `bits` bits
/// when `<store>_packed` is set (the core's int8 results, computed in 32-bit lanes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packing {
    pub lanes: u32,
    pub bits: u32,
}

/// `dma_d64_b16_o4_ifmap16_weight16_param140_ofmap64`.
pub fn module_name(
    dma: &DmaSpec,
    loads: &[Region<'_>],
    store: &Region<'_>,
    packing: Option<Packing>,
) -> String {
    let mut name = format!(
        "dma_d{}_b{}_o{}",
        dma.data_bits, dma.burst_beats, dma.outstanding
    );
    for region in loads.iter().chain([store]) {
        name.push_str(&format!("_{}{}", region.name, region.buffer.word_bits));
    }
    if let Some(packing) = packing {
        name.push_str(&format!("p{}", packing.bits));
    }
    name
}

/// Builds the engine for `loads` (in load order, at most 3) and the `store` region.
pub fn build(
    dma: &DmaSpec,
    loads: &[Region<'_>],
    store: &Region<'_>,
    packing: Option<Packing>,
    design: &mut Design,
) -> Result<ModuleId, HdlError> {
    if loads.is_empty() || loads.len() > 3 {
        return Err(HdlError::Unsupported(format!(
            "the DMA loads 1 to 3 regions, not {}",
            loads.len()
        )));
    }
    if let Some(packing) = packing {
        if packing.lanes * packing.bits > store.buffer.word_bits {
            return Err(HdlError::Unsupported(format!(
                "{} lanes of {} bits do not fit the {}-bit {} word",
                packing.lanes, packing.bits, store.buffer.word_bits, store.name
            )));
        }
    }
    let name = module_name(dma, loads, store, packing);
    add_module(design, name, |m, _| {
        m.doc(format!(
            "DMA engine: {}-bit AXI4 master, bursts of up to {} beats, {} bursts in flight;",
            dma.data_bits, dma.burst_beats, dma.outstanding
        ))
        .doc(format!(
            "loads {} from DRAM and stores {}.",
            loads
                .iter()
                .map(|region| region.name)
                .collect::<Vec<_>>()
                .join(", "),
            store.name
        ));
        m.parameter("DATA_BITS", dma.data_bits.into())
            .parameter("BURST_BEATS", dma.burst_beats.into())
            .parameter("OUTSTANDING", dma.outstanding.into());
        let axi = axi_ports(m, dma);
        build_loads(m, dma, loads, &axi);
        build_store(m, dma, store, packing, &axi);
    })
}

/// The master's inputs from the AXI4 slave.
struct AxiInputs {
    arready: Expr,
    rdata: Expr,
    rlast: Expr,
    rvalid: Expr,
    awready: Expr,
    wready: Expr,
    bvalid: Expr,
}

fn axi_ports(m: &mut ModuleBuilder, dma: &DmaSpec) -> AxiInputs {
    let input = |m: &mut ModuleBuilder, name: &str, width: u32| {
        m.input(&format!("m_axi_{name}"), Type::unsigned(width))
    };
    let inputs = AxiInputs {
        arready: input(m, "arready", 1),
        rdata: input(m, "rdata", dma.data_bits),
        rlast: input(m, "rlast", 1),
        rvalid: input(m, "rvalid", 1),
        awready: input(m, "awready", 1),
        wready: input(m, "wready", 1),
        bvalid: input(m, "bvalid", 1),
    };
    for (name, width, why) in [
        ("rresp", 2, "DRAM errors are not reported yet"),
        ("bresp", 2, "DRAM errors are not reported yet"),
    ] {
        let response = input(m, name, width);
        m.sink(&response, why);
    }
    inputs
}

/// Latches `address` rounded down to a multiple of `bytes` (a power of two) when `enable`; the
/// register keeps only the bits above the alignment.
fn latch_aligned(
    m: &mut ModuleBuilder,
    name: &str,
    enable: &Expr,
    address: &Expr,
    bytes: u64,
) -> Expr {
    let low = bytes.trailing_zeros();
    if low == 0 {
        return m.pipe_when(name, enable, address);
    }
    m.sink(
        &address.slice(low - 1, 0),
        "regions start on a burst boundary, so no burst crosses 4 KiB",
    );
    let high = m.pipe_when(name, enable, &address.slice(ADDRESS_BITS - 1, low));
    Expr::concat(&[high, Expr::zero(Type::unsigned(low))])
}

/// `min(beats, burst) − 1` as an AXI burst length.
fn burst_length(beats: &Expr, dma: &DmaSpec) -> Expr {
    // Wide enough for the burst length itself (256 needs 9 bits).
    let beats = beats.extend(beats.width().max(9));
    let full = constant(u64::from(dma.burst_beats), beats.ty());
    let short = beats.wrapping_decrement().resize(8);
    beats.ge(&full).select(
        &constant(u64::from(dma.burst_beats - 1), Type::unsigned(8)),
        &short,
    )
}

fn constant(value: u64, ty: Type) -> Expr {
    Expr::constant(i128::from(value), ty)
}

/// The next value of a count of things in flight: one more on `up`, one fewer on `down`, the
/// same on both or neither.
fn up_down(count: &Expr, up: &Expr, down: &Expr) -> Expr {
    up.select(
        &down.select(count, &count.wrapping_increment()),
        &down.select(&count.wrapping_decrement(), count),
    )
}

/// The beats a burst of AXI length `len` carries (`len` + 1), in `width` bits.
fn burst_beats(len: &Expr, width: u32) -> Expr {
    len.extend(9).wrapping_increment().resize(width)
}

fn build_loads(m: &mut ModuleBuilder, dma: &DmaSpec, loads: &[Region<'_>], axi: &AxiInputs) {
    let max_depth = loads.iter().map(|r| r.buffer.depth).max().unwrap_or(2);
    let words_type = Type::unsigned(bits_for(max_depth));
    let beats_per_word: Vec<u32> = loads
        .iter()
        .map(|region| dma.beats_per_word(region.buffer.word_bits))
        .collect();
    let max_beats = *beats_per_word.iter().max().expect("at least one region");
    let beats_type = Type::unsigned(words_type.width + bits_for(u64::from(max_beats)));
    let address_type = Type::unsigned(ADDRESS_BITS);
    let region_type = Type::unsigned(2);
    let done_region = constant(3, region_type);

    let start = m.input_doc(
        "load_start",
        Type::bit(),
        "load the regions below (when idle)",
    );
    let mut bases = Vec::new();
    let mut words = Vec::new();
    for region in loads {
        let base = m.input_doc(
            &format!("{}_base", region.name),
            address_type,
            "DRAM byte address of the region",
        );
        let count = m.input_doc(
            &format!("{}_words", region.name),
            words_type,
            "words to load (0: skip the region)",
        );
        bases.push(latch_aligned(
            m,
            &format!("{}_base", region.name),
            &start,
            &base,
            dma.burst_bytes(),
        ));
        words.push(m.pipe_when(&format!("{}_words", region.name), &start, &count));
    }
    let init = m.reg_reset("load_init", Type::bit(), 0);
    m.next(&init, &start);

    // Region selection: the first region after `after` with words, or 3 when none is left.
    let non_empty: Vec<Expr> = words
        .iter()
        .map(|w| w.ne(&Expr::zero(words_type)))
        .collect();
    let after = |index: usize| -> Expr {
        let mut next = done_region.clone();
        for later in (index..loads.len()).rev() {
            next = non_empty[later].select(&constant(later as u64, region_type), &next);
        }
        next
    };
    let pick = |region: &Expr, values: &[Expr]| -> Expr {
        let mut picked = values[values.len() - 1].clone();
        for (index, value) in values.iter().enumerate().rev().skip(1) {
            picked = region
                .eq(&constant(index as u64, region_type))
                .select(value, &picked);
        }
        picked
    };
    let next_region = |m: &mut ModuleBuilder, name: &str, region: &Expr| -> Expr {
        let choices: Vec<Expr> = (0..loads.len()).map(|index| after(index + 1)).collect();
        m.wire(name, &pick(region, &choices))
    };
    let first = m.wire("load_first_region", &after(0));
    let region_beats: Vec<Expr> = words
        .iter()
        .zip(&beats_per_word)
        .map(|(count, &beats)| {
            count
                .widening_mul(&constant(
                    u64::from(beats),
                    Type::unsigned(bits_for(u64::from(beats))),
                ))
                .resize(beats_type.width)
        })
        .collect();

    // ---- read addresses ----------------------------------------------------------------------
    let ar_region = m.reg_reset("ar_region", region_type, 3);
    let ar_beats = m.reg("ar_beats", beats_type);
    let ar_addr = m.reg("ar_addr", address_type);
    let in_flight_type = Type::unsigned(bits_for(u64::from(dma.outstanding)));
    let in_flight = m.reg_reset("reads_in_flight", in_flight_type, 0);
    let arvalid = m.wire(
        "arvalid",
        &ar_region.q().ne(&done_region).and(
            &in_flight
                .q()
                .lt(&constant(u64::from(dma.outstanding), in_flight_type)),
        ),
    );
    let arlen = m.wire("arlen", &burst_length(&ar_beats.q(), dma));
    m.output("m_axi_araddr", &ar_addr.q());
    m.output("m_axi_arlen", &arlen);
    m.output(
        "m_axi_arsize",
        &constant(u64::from(bits_for(dma.beat_bytes() - 1)), Type::unsigned(3)),
    );
    m.output("m_axi_arburst", &constant(1, Type::unsigned(2)));
    m.output("m_axi_arvalid", &arvalid);
    let ar_fire = m.wire("ar_fire", &arvalid.and(&axi.arready));
    let sent = burst_beats(&arlen, beats_type.width);
    let region_finished = ar_beats.q().eq(&sent);
    let ar_next = next_region(m, "ar_next_region", &ar_region.q());
    let ar_moves_on = m.wire("ar_moves_on", &ar_fire.and(&region_finished));
    let go_region = init.q().select(&first, &ar_next);
    let entering = init.q().or(&ar_moves_on);
    m.next(&ar_region, &entering.select(&go_region, &ar_region.q()));
    m.next(
        &ar_beats,
        &entering.select(
            &pick(&go_region, &region_beats),
            &ar_fire.select(
                &(&ar_beats.q() - &sent)
                    .truncate(beats_type.width)
                    .as_unsigned(),
                &ar_beats.q(),
            ),
        ),
    );
    m.next(
        &ar_addr,
        &entering.select(
            &pick(&go_region, &bases),
            &ar_fire.select(
                &(&ar_addr.q() + &constant(dma.burst_bytes(), address_type)).truncate(ADDRESS_BITS),
                &ar_addr.q(),
            ),
        ),
    );

    // ---- read data: beats into a word register, each full word into its buffer ---------------
    m.output("m_axi_rready", &Expr::bit(true));
    let r_fire = axi.rvalid.clone();
    let burst_done = m.wire("read_burst_done", &r_fire.and(&axi.rlast));
    m.next(&in_flight, &up_down(&in_flight.q(), &ar_fire, &burst_done));

    let r_region = m.reg_reset("r_region", region_type, 3);
    let r_words = m.reg("r_words", words_type);
    let beat_type = Type::unsigned(bits_for(u64::from(max_beats - 1)).max(1));
    let r_beat = m.reg("r_beat", beat_type);
    let buffer_address_type = Type::unsigned(clog2(max_depth));
    let r_addr = m.reg("r_addr", buffer_address_type);
    let last_beats: Vec<Expr> = beats_per_word
        .iter()
        .map(|&beats| constant(u64::from(beats - 1), beat_type))
        .collect();
    let word_complete = m.wire(
        "word_complete",
        &r_fire.and(&r_beat.q().eq(&pick(&r_region.q(), &last_beats))),
    );
    let last_word = r_words.q().eq(&constant(1, words_type));
    let r_next = next_region(m, "r_next_region", &r_region.q());
    let r_moves_on = word_complete.and(&last_word);
    let r_go = init.q().select(&first, &r_next);
    let r_entering = init.q().or(&r_moves_on);
    m.next(&r_region, &r_entering.select(&r_go, &r_region.q()));
    m.next(
        &r_words,
        &r_entering.select(
            &pick(&r_go, &words),
            &word_complete.select(&r_words.q().wrapping_decrement(), &r_words.q()),
        ),
    );
    m.next(
        &r_beat,
        &init.q().or(&word_complete).select(
            &Expr::zero(beat_type),
            &r_fire.select(&r_beat.q().wrapping_increment(), &r_beat.q()),
        ),
    );
    m.next(
        &r_addr,
        &r_entering.select(
            &Expr::zero(buffer_address_type),
            &word_complete.select(&r_addr.q().wrapping_increment(), &r_addr.q()),
        ),
    );
    // Beat j fills bits j·D.. of the word register, up to the widest word.
    let widest = loads.iter().map(|r| r.buffer.word_bits).max().unwrap_or(1);
    if widest < dma.data_bits {
        m.sink(
            &axi.rdata.slice(dma.data_bits - 1, widest),
            "every word is narrower than a beat; the rest of the beat is padding",
        );
    }
    let slices: Vec<Expr> = (0..max_beats)
        .map(|beat| {
            let here = r_fire.and(&r_beat.q().eq(&constant(u64::from(beat), beat_type)));
            let bits = dma.data_bits.min(widest - beat * dma.data_bits);
            m.pipe_when(
                &format!("word_beat{beat}"),
                &here,
                &axi.rdata.slice(bits - 1, 0),
            )
        })
        .collect();
    let word = Expr::concat(&slices.iter().rev().cloned().collect::<Vec<_>>());
    let write_pending = m.reg_reset("write_pending", Type::bit(), 0);
    m.next(&write_pending, &word_complete);
    let write_region = m.pipe_when("write_region", &word_complete, &r_region.q());
    let write_addr = m.pipe_when("write_addr", &word_complete, &r_addr.q());
    for (index, region) in loads.iter().enumerate() {
        let valid = write_pending
            .q()
            .and(&write_region.eq(&constant(index as u64, region_type)));
        let address_bits = clog2(region.buffer.depth);
        m.output(&format!("{}_wr_valid", region.name), &valid);
        m.output(
            &format!("{}_wr_addr", region.name),
            &write_addr.resize(address_bits),
        );
        m.output(
            &format!("{}_wr_data", region.name),
            &word.slice(region.buffer.word_bits - 1, 0),
        );
    }
    let loading = m.reg_reset("loading", Type::bit(), 0);
    let done = m.wire(
        "load_finished",
        &loading
            .q()
            .and(&init.q().not())
            .and(&r_region.q().eq(&done_region))
            .and(&write_pending.q().not()),
    );
    m.next(
        &loading,
        &start.select(
            &Expr::bit(true),
            &done.select(&Expr::bit(false), &loading.q()),
        ),
    );
    m.output_doc(
        "load_done",
        &done,
        "one-cycle pulse: every word is in its buffer",
    );
    m.output_doc(
        "read_beat",
        &r_fire,
        "a read data beat arrived (for the counters)",
    );
}

fn build_store(
    m: &mut ModuleBuilder,
    dma: &DmaSpec,
    store: &Region<'_>,
    packing: Option<Packing>,
    axi: &AxiInputs,
) {
    let depth = store.buffer.depth;
    let words_type = Type::unsigned(bits_for(depth));
    let beats = dma.beats_per_word(store.buffer.word_bits);
    let beats_type = Type::unsigned(words_type.width + bits_for(u64::from(beats)));
    let address_type = Type::unsigned(ADDRESS_BITS);
    let start = m.input_doc(
        "store_start",
        Type::bit(),
        "store the region below (when idle)",
    );
    let base = m.input_doc(
        &format!("{}_base", store.name),
        address_type,
        "DRAM byte address of the stored region",
    );
    let count = m.input_doc(
        &format!("{}_words", store.name),
        words_type,
        "words to store",
    );
    let base = latch_aligned(
        m,
        &format!("{}_base", store.name),
        &start,
        &base,
        dma.burst_bytes(),
    );
    let count = m.pipe_when(&format!("{}_words", store.name), &start, &count);
    // A packed store sends each word's lanes narrowed, in fewer beats per word.
    let packed = packing.map(|packing| {
        let input = m.input_doc(
            &format!("{}_packed", store.name),
            Type::bit(),
            &format!(
                "1: store each of the {} lanes as its low {} bits",
                packing.lanes, packing.bits
            ),
        );
        let latched = m.pipe_when(&format!("{}_packed", store.name), &start, &input);
        (
            packing,
            latched,
            dma.beats_per_word(packing.lanes * packing.bits),
        )
    });
    let init = m.reg_reset("store_init", Type::bit(), 0);
    m.next(&init, &start);
    let times = |beats: u32| {
        count
            .widening_mul(&constant(
                u64::from(beats),
                Type::unsigned(bits_for(u64::from(beats))),
            ))
            .resize(beats_type.width)
    };
    let mut all_beats = times(beats);
    if let Some((_, latched, packed_beats)) = &packed {
        all_beats = latched.select(&times(*packed_beats), &all_beats);
    }
    let total_beats = m.wire("store_beats", &all_beats);
    let burst_shift = dma.burst_beats.trailing_zeros();
    // ceil(beats / burst), with room for the shift when a burst is longer than any region.
    let wide = beats_type.width.max(burst_shift) + 1;
    let rounded_up = (&total_beats.extend(wide)
        + &constant(u64::from(dma.burst_beats - 1), Type::unsigned(wide)))
        .truncate(wide);
    let total_bursts = rounded_up
        .slice(wide - 1, burst_shift)
        .resize(beats_type.width);

    // ---- write addresses ---------------------------------------------------------------------
    let aw_beats = m.reg_reset("aw_beats", beats_type, 0);
    let aw_addr = m.reg("aw_addr", address_type);
    let unanswered_type = Type::unsigned(bits_for(u64::from(dma.outstanding)));
    let unanswered = m.reg_reset("writes_unanswered", unanswered_type, 0);
    let awvalid = m.wire(
        "awvalid",
        &aw_beats.q().ne(&Expr::zero(beats_type)).and(
            &unanswered
                .q()
                .lt(&constant(u64::from(dma.outstanding), unanswered_type)),
        ),
    );
    let awlen = m.wire("awlen", &burst_length(&aw_beats.q(), dma));
    m.output("m_axi_awaddr", &aw_addr.q());
    m.output("m_axi_awlen", &awlen);
    m.output(
        "m_axi_awsize",
        &constant(u64::from(bits_for(dma.beat_bytes() - 1)), Type::unsigned(3)),
    );
    m.output("m_axi_awburst", &constant(1, Type::unsigned(2)));
    m.output("m_axi_awvalid", &awvalid);
    let aw_fire = m.wire("aw_fire", &awvalid.and(&axi.awready));
    let sent = burst_beats(&awlen, beats_type.width);
    m.next(
        &aw_beats,
        &init.q().select(
            &total_beats,
            &aw_fire.select(
                &(&aw_beats.q() - &sent)
                    .truncate(beats_type.width)
                    .as_unsigned(),
                &aw_beats.q(),
            ),
        ),
    );
    m.next(
        &aw_addr,
        &init.q().select(
            &base,
            &aw_fire.select(
                &(&aw_addr.q() + &constant(dma.burst_bytes(), address_type)).truncate(ADDRESS_BITS),
                &aw_addr.q(),
            ),
        ),
    );

    // ---- write data: the words of bursts whose address has gone out ---------------------------
    let w_left = m.reg_reset("w_beats_left", beats_type, 0);
    let w_word = m.reg("w_word", Type::unsigned(clog2(depth)));
    let beat_type = Type::unsigned(bits_for(u64::from(beats - 1)).max(1));
    let w_beat = m.reg("w_beat", beat_type);
    let burst_beat_type = Type::unsigned(bits_for(u64::from(dma.burst_beats - 1)).max(1));
    let w_burst_beat = m.reg("w_burst_beat", burst_beat_type);
    let announced = m.reg_reset("bursts_announced", unanswered_type, 0);
    let wvalid = m.wire("wvalid", &announced.q().ne(&Expr::zero(unanswered_type)));
    let wlast = m.wire(
        "wlast",
        &w_burst_beat
            .q()
            .eq(&constant(u64::from(dma.burst_beats - 1), burst_beat_type))
            .or(&w_left.q().eq(&constant(1, beats_type))),
    );
    let data_in = m.input_doc(
        &format!("{}_rd_data", store.name),
        Type::unsigned(store.buffer.word_bits),
        "the word *_rd_addr_next named last cycle",
    );
    let padded_bits = beats * dma.data_bits;
    let padded = if padded_bits > store.buffer.word_bits {
        Expr::concat(&[
            Expr::zero(Type::unsigned(padded_bits - store.buffer.word_bits)),
            data_in.clone(),
        ])
    } else {
        data_in.clone()
    };
    let beat_of = |padded: &Expr, beats: u32| {
        let mut wdata = padded.slice(dma.data_bits - 1, 0);
        for beat in 1..beats {
            let low = beat * dma.data_bits;
            wdata = w_beat
                .q()
                .eq(&constant(u64::from(beat), beat_type))
                .select(&padded.slice(low + dma.data_bits - 1, low), &wdata);
        }
        wdata
    };
    let mut wdata = beat_of(&padded, beats);
    let mut last_beat = constant(u64::from(beats - 1), beat_type);
    if let Some((packing, latched, packed_beats)) = &packed {
        let lane_bits = store.buffer.word_bits / packing.lanes;
        let mut lanes: Vec<Expr> = (0..packing.lanes)
            .rev()
            .map(|lane| {
                let low = lane * lane_bits;
                data_in.slice(low + packing.bits - 1, low)
            })
            .collect();
        let used = packing.lanes * packing.bits;
        if packed_beats * dma.data_bits > used {
            lanes.insert(
                0,
                Expr::zero(Type::unsigned(packed_beats * dma.data_bits - used)),
            );
        }
        let narrow = m.wire(&format!("{}_narrowed", store.name), &Expr::concat(&lanes));
        wdata = latched.select(&beat_of(&narrow, *packed_beats), &wdata);
        last_beat = latched.select(
            &constant(u64::from(packed_beats - 1), beat_type),
            &last_beat,
        );
    }
    m.output("m_axi_wdata", &wdata);
    m.output(
        "m_axi_wstrb",
        &Expr::concat(&vec![Expr::bit(true); dma.beat_bytes() as usize]),
    );
    m.output("m_axi_wlast", &wlast);
    m.output("m_axi_wvalid", &wvalid);
    let w_fire = m.wire("w_fire", &wvalid.and(&axi.wready));
    let burst_sent = w_fire.and(&wlast);
    let word_sent = w_fire.and(&w_beat.q().eq(&last_beat));
    m.next(
        &w_left,
        &init.q().select(
            &total_beats,
            &w_fire.select(&w_left.q().wrapping_decrement(), &w_left.q()),
        ),
    );
    let w_word_next = init.q().select(
        &Expr::zero(w_word.q().ty()),
        &word_sent.select(&w_word.q().wrapping_increment(), &w_word.q()),
    );
    m.next(&w_word, &w_word_next);
    m.output_doc(
        &format!("{}_rd_addr_next", store.name),
        &w_word_next,
        "the word *_rd_data must hold next cycle (a registered read)",
    );
    m.next(
        &w_beat,
        &init.q().or(&word_sent).select(
            &Expr::zero(beat_type),
            &w_fire.select(&w_beat.q().wrapping_increment(), &w_beat.q()),
        ),
    );
    m.next(
        &w_burst_beat,
        &init.q().or(&burst_sent).select(
            &Expr::zero(burst_beat_type),
            &w_fire.select(&w_burst_beat.q().wrapping_increment(), &w_burst_beat.q()),
        ),
    );
    m.next(&announced, &up_down(&announced.q(), &aw_fire, &burst_sent));

    // ---- responses -----------------------------------------------------------------------------
    m.output("m_axi_bready", &Expr::bit(true));
    let b_fire = axi.bvalid.clone();
    m.next(&unanswered, &up_down(&unanswered.q(), &aw_fire, &b_fire));
    let b_left = m.reg_reset("bursts_left", beats_type, 0);
    let storing = m.reg_reset("storing", Type::bit(), 0);
    m.next(
        &b_left,
        &init.q().select(
            &total_bursts,
            &b_fire.select(&b_left.q().wrapping_decrement(), &b_left.q()),
        ),
    );
    let done = m.wire(
        "store_finished",
        &storing
            .q()
            .and(&init.q().not())
            .and(&b_left.q().eq(&Expr::zero(beats_type))),
    );
    m.next(
        &storing,
        &start.select(
            &Expr::bit(true),
            &done.select(&Expr::bit(false), &storing.q()),
        ),
    );
    m.output_doc(
        "store_done",
        &done,
        "one-cycle pulse: every burst is answered",
    );
    m.output_doc(
        "write_beat",
        &w_fire,
        "a write data beat left (for the counters)",
    );
}
