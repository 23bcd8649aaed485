//! An AXI4 memory-mapped DRAM *slave* for the testbenches: the memory behind a core's AXI4
//! master (`m_axi_*`). It owns the sparse byte store (4 KiB pages; unwritten bytes read 0), the
//! host's preload and read-back (`write_bytes`, `read_bytes`), the slave side of the five
//! channels with a configurable timing, checks of the master's side of the protocol, and the
//! counts of what moved ([`DramStats`]).
//!
//! The logic is pure Rust: [`AxiDram::outputs`] gives the slave's outputs in the current cycle
//! ([`SlaveOut`]) and [`AxiDram::clock`] takes the master's outputs in that cycle ([`MasterOut`]),
//! does the handshakes and checks and advances one cycle. [`AxiDram::drive`] and
//! [`AxiDram::observe`] are thin wrappers that poke and peek a verilated model's ports:
//! per cycle call `drive` before `model.eval()` and `observe` after it, before `model.step(clk)`.
//!
//! Single ID, in order; no ID signals. Only INCR bursts of full-width beats
//! (`axsize = log2(data_bits / 8)`), aligned to the beat, not crossing 4 KiB. Responses are
//! always OKAY (`rresp = bresp = 0`).
//!
//! # Timing (deterministic mode, `jitter: None`)
//!
//! A *cycle* is one `clock`/`observe` call, numbered from 0. The outputs are a function of the
//! state only (Moore): whatever is accepted in cycle t affects the outputs from cycle t + 1 on.
//! The DRAM presents everything at the earliest cycle the rules allow:
//!
//! - `arready` and `awready` are always 1.
//! - Reads are served in AR order on the one R channel. The first beat of a burst whose AR
//!   handshake happened in cycle t is presented (`rvalid = 1`) in cycle
//!   `max(t + latency, p + cycles_per_beat)`, every later beat in cycle `p + cycles_per_beat`,
//!   where p is the cycle of the previous R handshake (of any burst; no bound before the first).
//!   A presented beat holds `rvalid = 1` and its data until `rready`. `rlast` marks each burst's
//!   final beat. The data is taken from memory when the beat is presented.
//! - Writes: `wready = 1` in cycle c iff some AW accepted in a cycle < c still expects W beats
//!   and `c ≥ q + cycles_per_beat`, where q is the cycle of the previous W handshake (no bound
//!   before the first). So with `awvalid` and `wvalid` both up from cycle t, the first W beat
//!   moves in t + 1. W beats belong to the oldest AW still expecting data; `wstrb` selects the
//!   bytes written.
//! - The B response of a burst whose last W handshake happened in cycle w is presented
//!   (`bvalid = 1`) from cycle `w + latency` on, in order, and held until `bready`.
//! - `latency ≥ 1` and `cycles_per_beat ≥ 1`; `AxiDram::new` panics otherwise.
//!
//! # Jitter (`jitter: Some`)
//!
//! Seeded from [`Jitter::seed`] with [`Rng`]. Each burst draws an extra latency in
//! `0..=max_extra_latency` at its address handshake, added to its first-beat time (reads) or to
//! its B time (writes). `arready`, `awready`, `wready` and presenting an R beat that the rules
//! above allow are each 1 only with probability `ready_chance` per cycle, decided in the state
//! update for the next cycle (the outputs stay Moore). The bounds above still hold as minimums.
//!
//! # Protocol checks
//!
//! [`AxiDram::clock`] fails (and [`AxiDram::observe`] returns [`BenchError::Protocol`] with
//! "AXI4 DRAM: …") naming the channel, the cycle and the values when the master drops
//! `arvalid`, `awvalid` or `wvalid` before its handshake; changes the AR/AW payload
//! (`axaddr`, `axlen`, `axsize`, `axburst`) or the W payload (`wdata`, `wstrb`, `wlast`) while
//! valid and not ready; raises `arvalid`/`awvalid` with a burst other than INCR, a size other
//! than the data width, an address not aligned to the beat or a burst crossing a 4 KiB boundary;
//! or has a W beat accepted whose `wlast` is not exactly on its burst's last beat. `wvalid` with
//! no AW outstanding is legal and simply not accepted. `rready` and `bready` are not checked.

use std::collections::{BTreeMap, VecDeque};

use accelgen_sim::{Model, PortId};

use crate::error::BenchError;
use crate::rng::Rng;

/// Bytes per page of the sparse store, and the boundary no burst may cross.
const PAGE: u64 = 4096;
const PAGE_BYTES: usize = PAGE as usize;

/// The INCR burst type.
const INCR: u8 = 1;

/// Timing of the DRAM. Deterministic when `jitter` is None.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DramTiming {
    /// Cycles from an AR handshake to its first beat, and from a burst's last W beat to its B.
    pub latency: u32,
    /// Minimum cycles from one handshake on R (or on W) to the next beat on that channel.
    pub cycles_per_beat: u32,
    pub jitter: Option<Jitter>,
}

/// Random slack on top of [`DramTiming`]'s minimums.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jitter {
    pub seed: u64,
    /// Each burst's extra latency is drawn from `0..=max_extra_latency`.
    pub max_extra_latency: u32,
    /// Chance per cycle of `arready`, `awready`, `wready` and of presenting an available R beat;
    /// in `(0, 1]`.
    pub ready_chance: f64,
}

/// What moved through the DRAM. Bursts count at their address handshake, beats at their data
/// handshake; bytes are beats × `data_bits / 8` (all beats are full width; write strobes do not
/// change the count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DramStats {
    pub read_bursts: u64,
    pub read_beats: u64,
    pub write_bursts: u64,
    pub write_beats: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
}

/// The slave's outputs in one cycle (what [`AxiDram::drive`] pokes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveOut {
    pub arready: bool,
    /// `data_bits / 32` words, least significant first.
    pub rdata: Vec<u32>,
    pub rresp: u8,
    pub rlast: bool,
    pub rvalid: bool,
    pub awready: bool,
    pub wready: bool,
    pub bresp: u8,
    pub bvalid: bool,
}

/// The master's outputs in one cycle (what [`AxiDram::observe`] samples).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MasterOut {
    pub araddr: u64,
    pub arlen: u8,
    pub arsize: u8,
    pub arburst: u8,
    pub arvalid: bool,
    pub rready: bool,
    pub awaddr: u64,
    pub awlen: u8,
    pub awsize: u8,
    pub awburst: u8,
    pub awvalid: bool,
    /// `data_bits / 32` words, least significant first.
    pub wdata: Vec<u32>,
    /// Bit i enables byte i of `wdata`.
    pub wstrb: u128,
    pub wlast: bool,
    pub wvalid: bool,
    pub bready: bool,
}

impl MasterOut {
    /// Every valid and ready low, every payload zero, `wdata` sized for `data_bits`.
    pub fn quiet(data_bits: u32) -> MasterOut {
        MasterOut {
            wdata: vec![0; (data_bits / 32) as usize],
            ..MasterOut::default()
        }
    }
}

/// The resolved `<prefix>*` ports of one AXI4 master on a model.
#[derive(Debug, Clone)]
pub struct DramPorts {
    araddr: PortId,
    arlen: PortId,
    arsize: PortId,
    arburst: PortId,
    arvalid: PortId,
    arready: PortId,
    rdata: PortId,
    rresp: PortId,
    rlast: PortId,
    rvalid: PortId,
    rready: PortId,
    awaddr: PortId,
    awlen: PortId,
    awsize: PortId,
    awburst: PortId,
    awvalid: PortId,
    awready: PortId,
    wdata: PortId,
    wstrb: PortId,
    wlast: PortId,
    wvalid: PortId,
    wready: PortId,
    bresp: PortId,
    bvalid: PortId,
    bready: PortId,
    /// Width of `rdata` and `wdata`.
    data_bits: u32,
    /// Words of `wstrb` (`ceil(width / 32)`).
    strobe_words: usize,
}

impl DramPorts {
    /// The data width of the bound master.
    pub fn data_bits(&self) -> u32 {
        self.data_bits
    }
}

/// An AR or AW request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Request {
    address: u64,
    len: u8,
    size: u8,
    burst: u8,
}

impl Request {
    fn read(master: &MasterOut) -> Request {
        Request {
            address: master.araddr,
            len: master.arlen,
            size: master.arsize,
            burst: master.arburst,
        }
    }

    fn write(master: &MasterOut) -> Request {
        Request {
            address: master.awaddr,
            len: master.awlen,
            size: master.awsize,
            burst: master.awburst,
        }
    }

    fn beats(self) -> u32 {
        u32::from(self.len) + 1
    }

    /// "araddr 0x… arlen … arsize … arburst …" with `p` = "ar" or "aw".
    fn describe(self, p: &str) -> String {
        format!(
            "{p}addr {:#x} {p}len {} {p}size {} {p}burst {}",
            self.address, self.len, self.size, self.burst
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct ReadBurst {
    address: u64,
    beats: u32,
    done: u32,
    /// The earliest cycle of the first beat (AR cycle + latency + extra).
    first_at: u64,
}

#[derive(Debug, Clone, Copy)]
struct WriteBurst {
    address: u64,
    beats: u32,
    done: u32,
    /// The burst's extra latency (jitter), added to its B time.
    extra: u64,
}

type Pages = BTreeMap<u64, Box<[u8; PAGE_BYTES]>>;

/// An AXI4 DRAM slave; see the module documentation for its timing and checks.
pub struct AxiDram {
    data_bits: u32,
    /// Bytes per beat.
    beat_bytes: u64,
    /// `log2(beat_bytes)`, the only legal `axsize`.
    size: u8,
    timing: DramTiming,
    rng: Option<Rng>,
    pages: Pages,
    /// The current cycle (the number of `clock` calls so far).
    cycle: u64,
    /// The outputs in the current cycle.
    out: SlaveOut,
    /// Accepted read bursts with beats still to send, in AR order.
    reads: VecDeque<ReadBurst>,
    /// Cycle of the last R handshake.
    last_r: Option<u64>,
    /// Accepted write bursts still expecting W beats, in AW order.
    writes: VecDeque<WriteBurst>,
    /// Cycle of the last W handshake.
    last_w: Option<u64>,
    /// Earliest B cycle of every burst whose data is complete, in order.
    responses: VecDeque<u64>,
    /// The AR / AW request that was valid and not accepted in the previous cycle.
    held_ar: Option<Request>,
    held_aw: Option<Request>,
    /// The W beat that was valid and not accepted in the previous cycle.
    held_w: bool,
    held_wdata: Vec<u32>,
    held_wstrb: u128,
    held_wlast: bool,
    stats: DramStats,
    /// Reused buffer for `observe`'s samples.
    scratch: MasterOut,
}

impl AxiDram {
    /// An empty DRAM behind a master with `data_bits`-wide data.
    ///
    /// # Panics
    /// If `data_bits` is not a power of two in 32..=1024, `latency` or `cycles_per_beat` is 0,
    /// or a jitter's `ready_chance` is outside `(0, 1]`.
    pub fn new(data_bits: u32, timing: DramTiming) -> AxiDram {
        assert!(
            data_bits.is_power_of_two() && (32..=1024).contains(&data_bits),
            "AXI4 DRAM: data width {data_bits} bits is not a power of two in 32..=1024"
        );
        assert!(
            timing.latency >= 1,
            "AXI4 DRAM: latency {} must be at least 1 cycle",
            timing.latency
        );
        assert!(
            timing.cycles_per_beat >= 1,
            "AXI4 DRAM: cycles_per_beat {} must be at least 1",
            timing.cycles_per_beat
        );
        if let Some(jitter) = timing.jitter {
            assert!(
                jitter.ready_chance > 0.0 && jitter.ready_chance <= 1.0,
                "AXI4 DRAM: jitter ready_chance {} is outside (0, 1]; at 0 nothing would ever move",
                jitter.ready_chance
            );
        }
        let words = (data_bits / 32) as usize;
        let beat_bytes = u64::from(data_bits / 8);
        let mut dram = AxiDram {
            data_bits,
            beat_bytes,
            size: beat_bytes.trailing_zeros() as u8,
            timing,
            rng: timing.jitter.map(|jitter| Rng::new(jitter.seed)),
            pages: BTreeMap::new(),
            cycle: 0,
            out: SlaveOut {
                arready: false,
                rdata: vec![0; words],
                rresp: 0,
                rlast: false,
                rvalid: false,
                awready: false,
                wready: false,
                bresp: 0,
                bvalid: false,
            },
            reads: VecDeque::new(),
            last_r: None,
            writes: VecDeque::new(),
            last_w: None,
            responses: VecDeque::new(),
            held_ar: None,
            held_aw: None,
            held_w: false,
            held_wdata: vec![0; words],
            held_wstrb: 0,
            held_wlast: false,
            stats: DramStats::default(),
            scratch: MasterOut::quiet(data_bits),
        };
        dram.prepare();
        dram
    }

    /// The data width in bits.
    pub fn data_bits(&self) -> u32 {
        self.data_bits
    }

    /// The timing it was built with.
    pub fn timing(&self) -> DramTiming {
        self.timing
    }

    /// The current cycle: the number of `clock`/`observe` calls so far.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Host preload: stores `bytes` from `address` on (no timing, no checks).
    ///
    /// # Panics
    /// If the range runs past the end of the 64-bit address space.
    pub fn write_bytes(&mut self, address: u64, bytes: &[u8]) {
        check_range(address, bytes.len());
        let mut done = 0;
        while done < bytes.len() {
            let at = address + done as u64;
            let offset = (at % PAGE) as usize;
            let count = (PAGE_BYTES - offset).min(bytes.len() - done);
            let page = self
                .pages
                .entry(at / PAGE)
                .or_insert_with(|| Box::new([0; PAGE_BYTES]));
            page[offset..offset + count].copy_from_slice(&bytes[done..done + count]);
            done += count;
        }
    }

    /// Host read-back: `length` bytes from `address` on; bytes never written read 0.
    ///
    /// # Panics
    /// If the range runs past the end of the 64-bit address space.
    pub fn read_bytes(&self, address: u64, length: usize) -> Vec<u8> {
        check_range(address, length);
        let mut bytes = vec![0; length];
        let mut done = 0;
        while done < length {
            let at = address + done as u64;
            let offset = (at % PAGE) as usize;
            let count = (PAGE_BYTES - offset).min(length - done);
            if let Some(page) = self.pages.get(&(at / PAGE)) {
                bytes[done..done + count].copy_from_slice(&page[offset..offset + count]);
            }
            done += count;
        }
        bytes
    }

    /// Resolves `model`'s `<prefix>araddr` … `<prefix>bready` ports (e.g. prefix `"m_axi_"`) and
    /// checks their widths: `rdata`/`wdata` alike and a power of two in 32..=1024, `wstrb` one
    /// bit per byte, `axlen` 8, `axsize` 3, `axburst` 2, `xresp` 2, addresses at most 64 bits.
    pub fn bind(model: &Model, prefix: &str) -> Result<DramPorts, BenchError> {
        let port = |name: &str| model.port(&format!("{prefix}{name}"));
        let mut ports = DramPorts {
            araddr: port("araddr")?,
            arlen: port("arlen")?,
            arsize: port("arsize")?,
            arburst: port("arburst")?,
            arvalid: port("arvalid")?,
            arready: port("arready")?,
            rdata: port("rdata")?,
            rresp: port("rresp")?,
            rlast: port("rlast")?,
            rvalid: port("rvalid")?,
            rready: port("rready")?,
            awaddr: port("awaddr")?,
            awlen: port("awlen")?,
            awsize: port("awsize")?,
            awburst: port("awburst")?,
            awvalid: port("awvalid")?,
            awready: port("awready")?,
            wdata: port("wdata")?,
            wstrb: port("wstrb")?,
            wlast: port("wlast")?,
            wvalid: port("wvalid")?,
            wready: port("wready")?,
            bresp: port("bresp")?,
            bvalid: port("bvalid")?,
            bready: port("bready")?,
            data_bits: 0,
            strobe_words: 0,
        };
        let data_bits = model.width(ports.rdata);
        let mut wrong = Vec::new();
        if !(data_bits.is_power_of_two() && (32..=1024).contains(&data_bits)) {
            wrong.push(format!(
                "{prefix}rdata is {data_bits} bits, not a power of two in 32..=1024"
            ));
        }
        let expect = [
            ("wdata", ports.wdata, data_bits),
            ("wstrb", ports.wstrb, data_bits / 8),
            ("arlen", ports.arlen, 8),
            ("awlen", ports.awlen, 8),
            ("arsize", ports.arsize, 3),
            ("awsize", ports.awsize, 3),
            ("arburst", ports.arburst, 2),
            ("awburst", ports.awburst, 2),
            ("rresp", ports.rresp, 2),
            ("bresp", ports.bresp, 2),
        ];
        for (name, id, width) in expect {
            if model.width(id) != width {
                wrong.push(format!(
                    "{prefix}{name} is {} bits, expected {width}",
                    model.width(id)
                ));
            }
        }
        for (name, id) in [("araddr", ports.araddr), ("awaddr", ports.awaddr)] {
            if model.width(id) > 64 {
                wrong.push(format!(
                    "{prefix}{name} is {} bits, at most 64 supported",
                    model.width(id)
                ));
            }
        }
        if !wrong.is_empty() {
            return Err(BenchError::Protocol(format!(
                "AXI4 DRAM: the ports of top `{}` do not fit: {}",
                model.top(),
                wrong.join("; ")
            )));
        }
        ports.data_bits = data_bits;
        ports.strobe_words = data_bits.div_ceil(8 * 32) as usize;
        Ok(ports)
    }

    /// Pokes the slave's outputs for the current cycle; call before `model.eval()`.
    ///
    /// # Panics
    /// If `ports` were bound to a master of another data width.
    pub fn drive(&mut self, ports: &DramPorts, model: &mut Model) {
        assert_eq!(
            ports.data_bits, self.data_bits,
            "AXI4 DRAM: the ports carry {}-bit data, the DRAM was built for {} bits",
            ports.data_bits, self.data_bits
        );
        let out = &self.out;
        model.poke(ports.arready, u64::from(out.arready));
        model.poke_wide(ports.rdata, &out.rdata);
        model.poke(ports.rresp, u64::from(out.rresp));
        model.poke(ports.rlast, u64::from(out.rlast));
        model.poke(ports.rvalid, u64::from(out.rvalid));
        model.poke(ports.awready, u64::from(out.awready));
        model.poke(ports.wready, u64::from(out.wready));
        model.poke(ports.bresp, u64::from(out.bresp));
        model.poke(ports.bvalid, u64::from(out.bvalid));
    }

    /// Samples the master's outputs after `model.eval()`, does this cycle's handshakes and checks
    /// and advances one cycle; call before `model.step(clk)`.
    pub fn observe(&mut self, ports: &DramPorts, model: &Model) -> Result<(), BenchError> {
        if ports.data_bits != self.data_bits {
            return Err(BenchError::Protocol(format!(
                "AXI4 DRAM: the ports carry {}-bit data, the DRAM was built for {} bits",
                ports.data_bits, self.data_bits
            )));
        }
        let mut m = std::mem::take(&mut self.scratch);
        m.araddr = model.peek(ports.araddr);
        m.arlen = model.peek(ports.arlen) as u8;
        m.arsize = model.peek(ports.arsize) as u8;
        m.arburst = model.peek(ports.arburst) as u8;
        m.arvalid = model.peek(ports.arvalid) == 1;
        m.rready = model.peek(ports.rready) == 1;
        m.awaddr = model.peek(ports.awaddr);
        m.awlen = model.peek(ports.awlen) as u8;
        m.awsize = model.peek(ports.awsize) as u8;
        m.awburst = model.peek(ports.awburst) as u8;
        m.awvalid = model.peek(ports.awvalid) == 1;
        m.wdata.resize((self.data_bits / 32) as usize, 0);
        model.peek_wide_into(ports.wdata, &mut m.wdata);
        let mut strobe = [0u32; 4];
        model.peek_wide_into(ports.wstrb, &mut strobe[..ports.strobe_words]);
        m.wstrb = strobe
            .iter()
            .rev()
            .fold(0u128, |acc, &word| (acc << 32) | u128::from(word));
        m.wlast = model.peek(ports.wlast) == 1;
        m.wvalid = model.peek(ports.wvalid) == 1;
        m.bready = model.peek(ports.bready) == 1;
        let result = self.clock(&m);
        self.scratch = m;
        result.map_err(|message| BenchError::Protocol(format!("AXI4 DRAM: {message}")))
    }

    /// The slave's outputs in the current cycle (a function of the state only).
    pub fn outputs(&self) -> SlaveOut {
        self.out.clone()
    }

    /// Takes the master's outputs in the current cycle, checks them, does the handshakes with
    /// [`AxiDram::outputs`] and advances one cycle. On a protocol violation the message names
    /// the channel, the cycle and the values, and the state is left as it was.
    pub fn clock(&mut self, master: &MasterOut) -> Result<(), String> {
        let c = self.cycle;
        let words = (self.data_bits / 32) as usize;
        if master.wdata.len() != words {
            return Err(format!(
                "W channel, cycle {c}: wdata has {} words, the {}-bit data width needs {words}",
                master.wdata.len(),
                self.data_bits
            ));
        }
        let ar = Request::read(master);
        let aw = Request::write(master);

        // A valid stays up with a stable payload until its handshake.
        for (channel, p, held, valid, now) in [
            ("AR", "ar", self.held_ar, master.arvalid, ar),
            ("AW", "aw", self.held_aw, master.awvalid, aw),
        ] {
            let Some(held) = held else { continue };
            if !valid {
                return Err(format!(
                    "{channel} channel, cycle {c}: {p}valid dropped before the handshake \
                     (pending {})",
                    held.describe(p)
                ));
            }
            if now != held {
                return Err(format!(
                    "{channel} channel, cycle {c}: payload changed while {p}valid was high and \
                     {p}ready low: {} became {}",
                    held.describe(p),
                    now.describe(p)
                ));
            }
        }
        if self.held_w {
            if !master.wvalid {
                return Err(format!(
                    "W channel, cycle {c}: wvalid dropped before the handshake (pending wdata \
                     {} wstrb {:#x} wlast {})",
                    hex(&self.held_wdata),
                    self.held_wstrb,
                    u8::from(self.held_wlast)
                ));
            }
            if master.wdata != self.held_wdata
                || master.wstrb != self.held_wstrb
                || master.wlast != self.held_wlast
            {
                return Err(format!(
                    "W channel, cycle {c}: payload changed while wvalid was high and wready low: \
                     wdata {} wstrb {:#x} wlast {} became wdata {} wstrb {:#x} wlast {}",
                    hex(&self.held_wdata),
                    self.held_wstrb,
                    u8::from(self.held_wlast),
                    hex(&master.wdata),
                    master.wstrb,
                    u8::from(master.wlast)
                ));
            }
        }

        // Requests the DRAM serves.
        if master.arvalid {
            self.check_request("AR", "ar", ar)?;
        }
        if master.awvalid {
            self.check_request("AW", "aw", aw)?;
        }

        let ar_fire = master.arvalid && self.out.arready;
        let r_fire = self.out.rvalid && master.rready;
        let aw_fire = master.awvalid && self.out.awready;
        let w_fire = master.wvalid && self.out.wready;
        let b_fire = self.out.bvalid && master.bready;

        if w_fire {
            let burst = *self
                .writes
                .front()
                .expect("wready is only up while an AW expects data");
            let expected = burst.done + 1 == burst.beats;
            if master.wlast != expected {
                return Err(format!(
                    "W channel, cycle {c}: wlast {} on beat {} of {} of the burst at awaddr \
                     {:#x} (awlen {}); expected wlast {}",
                    u8::from(master.wlast),
                    burst.done + 1,
                    burst.beats,
                    burst.address,
                    burst.beats - 1,
                    u8::from(expected)
                ));
            }
        }

        // No violation: the cycle's transfers happen.
        if w_fire {
            let latency = u64::from(self.timing.latency);
            let burst = self.writes.front_mut().expect("checked above");
            let address = burst.address + u64::from(burst.done) * self.beat_bytes;
            store_beat(
                &mut self.pages,
                address,
                &master.wdata,
                master.wstrb,
                self.beat_bytes as usize,
            );
            burst.done += 1;
            if burst.done == burst.beats {
                let extra = burst.extra;
                self.writes.pop_front();
                self.responses.push_back(c + latency + extra);
            }
            self.last_w = Some(c);
            self.stats.write_beats += 1;
        }
        if aw_fire {
            let extra = self.extra_latency();
            self.writes.push_back(WriteBurst {
                address: aw.address,
                beats: aw.beats(),
                done: 0,
                extra,
            });
            self.stats.write_bursts += 1;
        }
        if b_fire {
            self.responses.pop_front();
            self.out.bvalid = false;
        }
        if r_fire {
            let burst = self
                .reads
                .front_mut()
                .expect("rvalid is only up while a read burst has beats to send");
            burst.done += 1;
            if burst.done == burst.beats {
                self.reads.pop_front();
            }
            self.last_r = Some(c);
            self.out.rvalid = false;
            self.out.rlast = false;
            self.stats.read_beats += 1;
        }
        if ar_fire {
            let first_at = c + u64::from(self.timing.latency) + self.extra_latency();
            self.reads.push_back(ReadBurst {
                address: ar.address,
                beats: ar.beats(),
                done: 0,
                first_at,
            });
            self.stats.read_bursts += 1;
        }

        self.held_ar = (master.arvalid && !ar_fire).then_some(ar);
        self.held_aw = (master.awvalid && !aw_fire).then_some(aw);
        self.held_w = master.wvalid && !w_fire;
        if self.held_w {
            self.held_wdata.copy_from_slice(&master.wdata);
            self.held_wstrb = master.wstrb;
            self.held_wlast = master.wlast;
        }

        self.cycle += 1;
        self.prepare();
        Ok(())
    }

    /// What moved so far.
    pub fn stats(&self) -> DramStats {
        let bytes = self.beat_bytes;
        DramStats {
            read_bytes: self.stats.read_beats * bytes,
            write_bytes: self.stats.write_beats * bytes,
            ..self.stats
        }
    }

    /// No burst in flight: no read beats to send, no write data expected, no B response pending.
    pub fn idle(&self) -> bool {
        self.reads.is_empty() && self.writes.is_empty() && self.responses.is_empty()
    }

    /// Decides the outputs of the (new) current cycle from the state.
    fn prepare(&mut self) {
        let now = self.cycle;
        let spacing = u64::from(self.timing.cycles_per_beat);
        self.out.arready = self.roll();
        self.out.awready = self.roll();
        if !self.out.rvalid {
            let spaced = self.last_r.is_none_or(|p| p + spacing <= now);
            if let Some(burst) = self.reads.front().copied() {
                if burst.first_at <= now && spaced && self.roll() {
                    let address = burst.address + u64::from(burst.done) * self.beat_bytes;
                    load_beat(&self.pages, address, &mut self.out.rdata);
                    self.out.rvalid = true;
                    self.out.rlast = burst.done + 1 == burst.beats;
                }
            }
        }
        let spaced = self.last_w.is_none_or(|q| q + spacing <= now);
        self.out.wready = !self.writes.is_empty() && spaced && self.roll();
        self.out.bvalid = self.responses.front().is_some_and(|&at| at <= now);
    }

    /// A ready (or a presentation) in jitter mode happens with `ready_chance`; always otherwise.
    fn roll(&mut self) -> bool {
        match (&mut self.rng, self.timing.jitter) {
            (Some(rng), Some(jitter)) => rng.chance(jitter.ready_chance),
            _ => true,
        }
    }

    /// A burst's extra latency: 0 without jitter.
    fn extra_latency(&mut self) -> u64 {
        match (&mut self.rng, self.timing.jitter) {
            (Some(rng), Some(jitter)) => {
                rng.range_inclusive(0, i64::from(jitter.max_extra_latency)) as u64
            }
            _ => 0,
        }
    }

    /// The burst, size and placement rules of a request with its valid up.
    fn check_request(&self, channel: &str, p: &str, request: Request) -> Result<(), String> {
        let c = self.cycle;
        let bytes = self.beat_bytes;
        let what = request.describe(p);
        if request.burst != INCR {
            return Err(format!(
                "{channel} channel, cycle {c}: {p}burst {} is not INCR ({INCR}) ({what})",
                request.burst
            ));
        }
        if request.size != self.size {
            return Err(format!(
                "{channel} channel, cycle {c}: {p}size {} is not {}, the {bytes}-byte data \
                 width ({what})",
                request.size, self.size
            ));
        }
        if !request.address.is_multiple_of(bytes) {
            return Err(format!(
                "{channel} channel, cycle {c}: {p}addr {:#x} is not aligned to the {bytes}-byte \
                 beat ({what})",
                request.address
            ));
        }
        let last = request
            .address
            .checked_add(u64::from(request.beats()) * bytes - 1)
            .ok_or_else(|| {
                format!("{channel} channel, cycle {c}: burst runs past 2^64 ({what})")
            })?;
        if request.address / PAGE != last / PAGE {
            return Err(format!(
                "{channel} channel, cycle {c}: burst of {} beats × {bytes} bytes covers \
                 {:#x}..={last:#x} and crosses the 4 KiB boundary at {:#x} ({what})",
                request.beats(),
                request.address,
                (request.address / PAGE + 1) * PAGE
            ));
        }
        Ok(())
    }
}

/// Panics if `address + length` overflows.
fn check_range(address: u64, length: usize) {
    assert!(
        address.checked_add(length as u64).is_some(),
        "AXI4 DRAM: {length} bytes from {address:#x} run past the end of the address space"
    );
}

/// Reads one beat (aligned, so within one page) into `words`.
fn load_beat(pages: &Pages, address: u64, words: &mut [u32]) {
    let offset = (address % PAGE) as usize;
    match pages.get(&(address / PAGE)) {
        Some(page) => {
            for (index, word) in words.iter_mut().enumerate() {
                let at = offset + 4 * index;
                *word = u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]]);
            }
        }
        None => words.fill(0),
    }
}

/// Writes the bytes of one beat that `strobe` selects.
fn store_beat(pages: &mut Pages, address: u64, words: &[u32], strobe: u128, bytes: usize) {
    if strobe == 0 {
        return;
    }
    let offset = (address % PAGE) as usize;
    let page = pages
        .entry(address / PAGE)
        .or_insert_with(|| Box::new([0; PAGE_BYTES]));
    for byte in 0..bytes {
        if (strobe >> byte) & 1 == 1 {
            page[offset + byte] = (words[byte / 4] >> (8 * (byte % 4))) as u8;
        }
    }
}

/// Wide data as one hex number, most significant word first.
fn hex(words: &[u32]) -> String {
    let mut text = String::from("0x");
    for word in words.iter().rev() {
        text.push_str(&format!("{word:08x}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::{AxiDram, DramStats, DramTiming, Jitter, MasterOut, SlaveOut};
    use crate::rng::Rng;

    fn fixed(latency: u32, cycles_per_beat: u32) -> DramTiming {
        DramTiming {
            latency,
            cycles_per_beat,
            jitter: None,
        }
    }

    fn jittery(seed: u64, latency: u32, cycles_per_beat: u32) -> DramTiming {
        DramTiming {
            latency,
            cycles_per_beat,
            jitter: Some(Jitter {
                seed,
                max_extra_latency: 7,
                ready_chance: 0.4,
            }),
        }
    }

    fn size_of(data_bits: u32) -> u8 {
        (data_bits / 8).trailing_zeros() as u8
    }

    /// A beat whose byte i is `seed + i` (wrapping).
    fn pattern(data_bits: u32, seed: u8) -> Vec<u32> {
        let bytes: Vec<u8> = (0..data_bits / 8)
            .map(|i| seed.wrapping_add(i as u8))
            .collect();
        words_of(&bytes)
    }

    fn words_of(bytes: &[u8]) -> Vec<u32> {
        bytes
            .chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    fn bytes_of(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Handshakes seen, by cycle.
    #[derive(Debug, Default)]
    struct Log {
        ar: Vec<u64>,
        aw: Vec<u64>,
        /// (cycle, data, rlast)
        r: Vec<(u64, Vec<u32>, bool)>,
        w: Vec<u64>,
        b: Vec<u64>,
        /// The slave's outputs in every cycle.
        outs: Vec<SlaveOut>,
    }

    /// A scripted AXI4 master: requests go out in order, not before their cycle, each valid held
    /// until its handshake; readies and raising valids with chance `eagerness`.
    struct TestMaster {
        data_bits: u32,
        rng: Rng,
        eagerness: f64,
        /// (not before cycle, address, len)
        ar: VecDeque<(u64, u64, u8)>,
        aw: VecDeque<(u64, u64, u8)>,
        /// (not before cycle, data, strobe, last)
        w: VecDeque<(u64, Vec<u32>, u128, bool)>,
        /// rready per cycle when set (overrides eagerness).
        rready: Option<fn(u64) -> bool>,
        bready: Option<fn(u64) -> bool>,
        ar_up: bool,
        aw_up: bool,
        w_up: bool,
        log: Log,
    }

    impl TestMaster {
        fn new(data_bits: u32) -> TestMaster {
            TestMaster {
                data_bits,
                rng: Rng::new(99),
                eagerness: 1.0,
                ar: VecDeque::new(),
                aw: VecDeque::new(),
                w: VecDeque::new(),
                rready: None,
                bready: None,
                ar_up: false,
                aw_up: false,
                w_up: false,
                log: Log::default(),
            }
        }

        fn read(&mut self, from: u64, address: u64, beats: u32) {
            self.ar.push_back((from, address, (beats - 1) as u8));
        }

        /// An AW and its beats (all bytes enabled unless `strobes` says otherwise).
        fn write(&mut self, from: u64, address: u64, beats: &[Vec<u32>], strobes: Option<&[u128]>) {
            self.aw.push_back((from, address, (beats.len() - 1) as u8));
            for (index, data) in beats.iter().enumerate() {
                let strobe = strobes.map_or(u128::MAX >> (128 - self.data_bits / 8), |s| s[index]);
                self.w
                    .push_back((from, data.clone(), strobe, index + 1 == beats.len()));
            }
        }

        fn step(&mut self, dram: &mut AxiDram) -> Result<(), String> {
            let c = dram.cycle();
            let out = dram.outputs();
            let e = self.eagerness;
            let mut m = MasterOut::quiet(self.data_bits);
            let size = size_of(self.data_bits);
            if let Some(&(from, address, len)) = self.ar.front() {
                if c >= from {
                    self.ar_up |= self.rng.chance(e);
                    if self.ar_up {
                        (m.arvalid, m.araddr, m.arlen, m.arsize, m.arburst) =
                            (true, address, len, size, 1);
                    }
                }
            }
            if let Some(&(from, address, len)) = self.aw.front() {
                if c >= from {
                    self.aw_up |= self.rng.chance(e);
                    if self.aw_up {
                        (m.awvalid, m.awaddr, m.awlen, m.awsize, m.awburst) =
                            (true, address, len, size, 1);
                    }
                }
            }
            if let Some((from, data, strobe, last)) = self.w.front() {
                if c >= *from {
                    self.w_up |= self.rng.chance(e);
                    if self.w_up {
                        m.wvalid = true;
                        m.wdata.clone_from(data);
                        m.wstrb = *strobe;
                        m.wlast = *last;
                    }
                }
            }
            m.rready = self.rready.map_or_else(|| self.rng.chance(e), |f| f(c));
            m.bready = self.bready.map_or_else(|| self.rng.chance(e), |f| f(c));
            dram.clock(&m)?;
            if m.arvalid && out.arready {
                self.ar.pop_front();
                self.ar_up = false;
                self.log.ar.push(c);
            }
            if m.awvalid && out.awready {
                self.aw.pop_front();
                self.aw_up = false;
                self.log.aw.push(c);
            }
            if m.wvalid && out.wready {
                self.w.pop_front();
                self.w_up = false;
                self.log.w.push(c);
            }
            if out.rvalid && m.rready {
                self.log.r.push((c, out.rdata.clone(), out.rlast));
            }
            if out.bvalid && m.bready {
                self.log.b.push(c);
            }
            self.log.outs.push(out);
            Ok(())
        }

        fn run(&mut self, dram: &mut AxiDram, cycles: u64) {
            for _ in 0..cycles {
                self.step(dram).unwrap();
            }
        }
    }

    fn r_cycles(log: &Log) -> Vec<u64> {
        log.r.iter().map(|(c, _, _)| *c).collect()
    }

    fn r_lasts(log: &Log) -> Vec<bool> {
        log.r.iter().map(|(_, _, last)| *last).collect()
    }

    #[test]
    fn read_first_beat_comes_exactly_latency_after_ar_and_beats_are_cycles_per_beat_apart() {
        for (latency, per_beat, expected) in [
            (5, 3, vec![7, 10, 13, 16]),
            (5, 1, vec![7, 8, 9, 10]),
            (1, 1, vec![3, 4, 5, 6]),
            (1, 2, vec![3, 5, 7, 9]),
        ] {
            let mut dram = AxiDram::new(64, fixed(latency, per_beat));
            for beat in 0..4u8 {
                let bytes = bytes_of(&pattern(64, 10 * beat));
                dram.write_bytes(0x1000 + 8 * u64::from(beat), &bytes);
            }
            let mut master = TestMaster::new(64);
            master.read(2, 0x1000, 4);
            master.run(&mut dram, 30);
            assert_eq!(master.log.ar, [2]);
            assert_eq!(
                r_cycles(&master.log),
                expected,
                "latency {latency}, {per_beat}/beat"
            );
            assert_eq!(r_lasts(&master.log), [false, false, false, true]);
            for (beat, (_, data, _)) in master.log.r.iter().enumerate() {
                assert_eq!(*data, pattern(64, 10 * beat as u8));
            }
            // rvalid is low in every cycle without a beat (rready is always high here).
            let valid: Vec<u64> = (0..30)
                .filter(|&c| master.log.outs[c as usize].rvalid)
                .collect();
            assert_eq!(valid, expected);
            assert!(dram.idle());
        }
    }

    #[test]
    fn back_to_back_read_bursts_share_the_r_channel_in_ar_order() {
        let mut dram = AxiDram::new(32, fixed(4, 2));
        let mut master = TestMaster::new(32);
        master.read(0, 0x0, 3);
        master.read(0, 0x100, 3);
        master.read(30, 0x200, 1);
        master.run(&mut dram, 45);
        assert_eq!(master.log.ar, [0, 1, 30]);
        // First burst at 0 + 4, then every 2; the second (ready from 1 + 4) waits for the
        // channel: 8 + 2; the third is limited by its own latency: 30 + 4.
        assert_eq!(r_cycles(&master.log), [4, 6, 8, 10, 12, 14, 34]);
        assert_eq!(
            r_lasts(&master.log),
            [false, false, true, false, false, true, true]
        );
        // With one cycle per beat the second burst follows the first without a gap.
        let mut dram = AxiDram::new(32, fixed(3, 1));
        let mut master = TestMaster::new(32);
        master.read(0, 0x0, 2);
        master.read(0, 0x100, 2);
        master.run(&mut dram, 12);
        assert_eq!(r_cycles(&master.log), [3, 4, 5, 6]);
    }

    #[test]
    fn a_presented_beat_holds_until_rready_and_the_next_waits_cycles_per_beat_after_it() {
        let mut dram = AxiDram::new(64, fixed(2, 3));
        dram.write_bytes(0x40, &bytes_of(&pattern(64, 1)));
        dram.write_bytes(0x48, &bytes_of(&pattern(64, 100)));
        let mut master = TestMaster::new(64);
        master.rready = Some(|c| c >= 9);
        master.read(0, 0x40, 2);
        master.run(&mut dram, 20);
        // Presented from 2 on, taken at 9; the next beat at 9 + 3.
        assert_eq!(r_cycles(&master.log), [9, 12]);
        for c in 2..=9 {
            let out = &master.log.outs[c];
            assert!(out.rvalid && !out.rlast, "cycle {c}");
            assert_eq!(out.rdata, pattern(64, 1), "cycle {c}");
        }
        assert!(!master.log.outs[10].rvalid && !master.log.outs[11].rvalid);
        assert_eq!(master.log.r[1].1, pattern(64, 100));
        assert!(master.log.outs.iter().all(|o| o.arready && o.rresp == 0));
    }

    #[test]
    fn wready_rises_the_cycle_after_aw_and_b_comes_exactly_latency_after_the_last_w() {
        let mut dram = AxiDram::new(64, fixed(6, 2));
        let mut master = TestMaster::new(64);
        let beats: Vec<Vec<u32>> = (0..3).map(|i| pattern(64, 20 * i)).collect();
        // wvalid is up from cycle 0 and the AW only from 3: W waits for the AW.
        master.write(0, 0x2000, &beats, None);
        master.aw[0].0 = 3;
        master.run(&mut dram, 30);
        assert_eq!(master.log.aw, [3]);
        assert_eq!(master.log.w, [4, 6, 8]);
        let ready: Vec<u64> = (0..30)
            .filter(|&c| master.log.outs[c as usize].wready)
            .collect();
        assert_eq!(ready, [4, 6, 8], "wready only when a beat may move");
        assert_eq!(master.log.b, [14]);
        let bvalid: Vec<u64> = (0..30)
            .filter(|&c| master.log.outs[c as usize].bvalid)
            .collect();
        assert_eq!(bvalid, [14]);
        assert!(master.log.outs.iter().all(|o| o.awready && o.bresp == 0));
        assert!(dram.idle());
        // AW and W together with one cycle per beat: W streams from the next cycle on.
        let mut dram = AxiDram::new(64, fixed(1, 1));
        let mut master = TestMaster::new(64);
        master.write(5, 0x2000, &beats, None);
        master.run(&mut dram, 15);
        assert_eq!(master.log.aw, [5]);
        assert_eq!(master.log.w, [6, 7, 8]);
        assert_eq!(master.log.b, [9]);
    }

    #[test]
    fn w_beats_go_to_the_oldest_aw_and_b_responses_come_in_order_held_until_bready() {
        let mut dram = AxiDram::new(32, fixed(3, 1));
        let mut master = TestMaster::new(32);
        master.bready = Some(|c| c >= 12);
        let first: Vec<Vec<u32>> = vec![vec![0x1111_1111], vec![0x2222_2222]];
        let second: Vec<Vec<u32>> = vec![vec![0x3333_3333], vec![0x4444_4444], vec![0x5555]];
        master.write(0, 0x100, &first, None);
        master.write(0, 0x800, &second, None);
        master.run(&mut dram, 20);
        assert_eq!(master.log.aw, [0, 1]);
        assert_eq!(master.log.w, [1, 2, 3, 4, 5]);
        // B of the first from 2 + 3 = 5, of the second from 5 + 3 = 8; both held until 12.
        let bvalid: Vec<u64> = (0..20)
            .filter(|&c| master.log.outs[c as usize].bvalid)
            .collect();
        assert_eq!(bvalid, [5, 6, 7, 8, 9, 10, 11, 12, 13]);
        assert_eq!(master.log.b, [12, 13]);
        assert_eq!(
            dram.read_bytes(0x100, 8),
            [0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22]
        );
        assert_eq!(dram.read_bytes(0x808, 4), [0x55, 0x55, 0, 0]);
        assert!(dram.idle());
        assert_eq!(
            dram.stats(),
            DramStats {
                read_bursts: 0,
                read_beats: 0,
                write_bursts: 2,
                write_beats: 5,
                read_bytes: 0,
                write_bytes: 20,
            }
        );
    }

    #[test]
    fn written_beats_apply_byte_strobes_and_read_back_over_axi_and_host() {
        for data_bits in [32, 64, 128, 1024] {
            let bytes = (data_bits / 8) as usize;
            let mut dram = AxiDram::new(data_bits, fixed(2, 1));
            // Preload 0xee everywhere the burst touches.
            dram.write_bytes(0x3000, &vec![0xee; 2 * bytes]);
            let beats = vec![pattern(data_bits, 1), pattern(data_bits, 128)];
            // Beat 0: the even bytes; beat 1: the low half.
            let even = (0..bytes).step_by(2).fold(0u128, |s, i| s | 1 << i);
            let low = u128::MAX >> (128 - bytes / 2);
            let mut master = TestMaster::new(data_bits);
            master.write(0, 0x3000, &beats, Some(&[even, low]));
            master.read(20, 0x3000, 2);
            master.run(&mut dram, 40);
            let mut expected = vec![0xee; 2 * bytes];
            for i in 0..bytes {
                if i % 2 == 0 {
                    expected[i] = 1u8.wrapping_add(i as u8);
                }
                if i < bytes / 2 {
                    expected[bytes + i] = 128u8.wrapping_add(i as u8);
                }
            }
            assert_eq!(
                dram.read_bytes(0x3000, 2 * bytes),
                expected,
                "{data_bits} bits"
            );
            let read: Vec<u8> = master
                .log
                .r
                .iter()
                .flat_map(|(_, d, _)| bytes_of(d))
                .collect();
            assert_eq!(read, expected, "{data_bits} bits over R");
            let stats = dram.stats();
            assert_eq!(
                (stats.read_beats, stats.read_bytes, stats.write_bytes),
                (2, 2 * bytes as u64, 2 * bytes as u64)
            );
        }
    }

    #[test]
    fn host_bytes_round_trip_across_pages_and_unwritten_bytes_read_zero() {
        let mut dram = AxiDram::new(32, fixed(1, 1));
        assert_eq!(dram.read_bytes(0xdead_0000, 5), [0; 5]);
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        dram.write_bytes(0x1_0ffe, &data);
        assert_eq!(dram.read_bytes(0x1_0ffe, data.len()), data);
        assert_eq!(dram.read_bytes(0x1_0ffc, 4), [0, 0, data[0], data[1]]);
        assert_eq!(dram.read_bytes(0x1_0ffe + 10_000, 3), [0; 3]);
        assert!(dram.idle());
        assert_eq!(dram.stats(), DramStats::default());
    }

    /// Runs `cycles` of `master` outputs (one per cycle) and returns the first error.
    fn feed(dram: &mut AxiDram, cycles: &[MasterOut]) -> Result<(), String> {
        cycles.iter().try_for_each(|m| dram.clock(m))
    }

    fn ar(address: u64, len: u8) -> MasterOut {
        MasterOut {
            arvalid: true,
            araddr: address,
            arlen: len,
            arsize: 2,
            arburst: 1,
            ..MasterOut::quiet(32)
        }
    }

    fn aw(address: u64, len: u8) -> MasterOut {
        MasterOut {
            awvalid: true,
            awaddr: address,
            awlen: len,
            awsize: 2,
            awburst: 1,
            ..MasterOut::quiet(32)
        }
    }

    fn w(data: u32, last: bool) -> MasterOut {
        MasterOut {
            wvalid: true,
            wdata: vec![data],
            wstrb: 0xf,
            wlast: last,
            ..MasterOut::quiet(32)
        }
    }

    fn expect_error(result: Result<(), String>, parts: &[&str]) {
        let message = result.expect_err("a protocol violation");
        for part in parts {
            assert!(message.contains(part), "`{message}` lacks `{part}`");
        }
    }

    /// A jittery DRAM advanced (with quiet inputs) to a cycle whose `pick` output is low.
    fn not_ready(pick: fn(&SlaveOut) -> bool) -> AxiDram {
        let mut dram = AxiDram::new(32, jittery(5, 2, 1));
        while pick(&dram.outputs()) {
            dram.clock(&MasterOut::quiet(32)).unwrap();
        }
        dram
    }

    #[test]
    fn dropping_arvalid_before_the_handshake_is_an_error() {
        let mut dram = not_ready(|o| o.arready);
        let c = dram.cycle();
        let result = feed(&mut dram, &[ar(0x40, 3), MasterOut::quiet(32)]);
        expect_error(
            result,
            &[
                "AR channel",
                &format!("cycle {}", c + 1),
                "arvalid dropped",
                "araddr 0x40",
            ],
        );
    }

    #[test]
    fn dropping_awvalid_before_the_handshake_is_an_error() {
        let mut dram = not_ready(|o| o.awready);
        let c = dram.cycle();
        let result = feed(&mut dram, &[aw(0x80, 1), MasterOut::quiet(32)]);
        expect_error(
            result,
            &[
                "AW channel",
                &format!("cycle {}", c + 1),
                "awvalid dropped",
                "awaddr 0x80",
            ],
        );
    }

    #[test]
    fn dropping_wvalid_before_the_handshake_is_an_error() {
        // No AW: wready stays low, which is legal, but wvalid must stay up.
        let mut dram = AxiDram::new(32, fixed(1, 1));
        let result = feed(
            &mut dram,
            &[w(0xabcd, true), w(0xabcd, true), MasterOut::quiet(32)],
        );
        expect_error(
            result,
            &["W channel", "cycle 2", "wvalid dropped", "0x0000abcd"],
        );
    }

    #[test]
    fn changing_the_ar_or_aw_payload_while_not_ready_is_an_error() {
        let mut dram = not_ready(|o| o.arready);
        let result = feed(&mut dram, &[ar(0x40, 3), ar(0x40, 4)]);
        expect_error(
            result,
            &["AR channel", "payload changed", "arlen 3", "arlen 4"],
        );
        let mut dram = not_ready(|o| o.awready);
        let result = feed(&mut dram, &[aw(0x40, 3), aw(0x44, 3)]);
        expect_error(
            result,
            &[
                "AW channel",
                "payload changed",
                "awaddr 0x40",
                "awaddr 0x44",
            ],
        );
    }

    #[test]
    fn changing_the_w_payload_while_not_ready_is_an_error() {
        let mut dram = AxiDram::new(32, fixed(1, 1));
        let result = feed(&mut dram, &[w(1, false), w(2, false)]);
        expect_error(
            result,
            &[
                "W channel",
                "cycle 1",
                "payload changed",
                "0x00000001",
                "0x00000002",
            ],
        );
        let mut dram = AxiDram::new(32, fixed(1, 1));
        let result = feed(&mut dram, &[w(1, false), w(1, true)]);
        expect_error(result, &["W channel", "wlast 0", "wlast 1"]);
        let mut dram = AxiDram::new(32, fixed(1, 1));
        let strobed = MasterOut {
            wstrb: 0x3,
            ..w(1, false)
        };
        let result = feed(&mut dram, &[w(1, false), strobed]);
        expect_error(result, &["W channel", "wstrb 0xf", "wstrb 0x3"]);
    }

    #[test]
    fn a_burst_other_than_incr_is_an_error() {
        for (m, parts) in [
            (
                MasterOut {
                    arburst: 0,
                    ..ar(0, 0)
                },
                ["AR channel", "arburst 0 is not INCR"],
            ),
            (
                MasterOut {
                    awburst: 2,
                    ..aw(0, 0)
                },
                ["AW channel", "awburst 2 is not INCR"],
            ),
        ] {
            let mut dram = AxiDram::new(32, fixed(1, 1));
            expect_error(dram.clock(&m), &parts);
        }
    }

    #[test]
    fn a_size_other_than_the_data_width_is_an_error() {
        for (m, parts) in [
            (
                MasterOut {
                    arsize: 1,
                    ..ar(0, 0)
                },
                ["AR channel", "cycle 0", "arsize 1 is not 2"],
            ),
            (
                MasterOut {
                    awsize: 3,
                    ..aw(0, 0)
                },
                ["AW channel", "cycle 0", "awsize 3 is not 2"],
            ),
        ] {
            let mut dram = AxiDram::new(32, fixed(1, 1));
            expect_error(dram.clock(&m), &parts);
        }
    }

    #[test]
    fn an_address_not_aligned_to_the_beat_is_an_error() {
        let mut dram = AxiDram::new(32, fixed(1, 1));
        expect_error(
            dram.clock(&ar(0x42, 0)),
            &["AR channel", "araddr 0x42 is not aligned"],
        );
        let mut dram = AxiDram::new(32, fixed(1, 1));
        expect_error(
            dram.clock(&aw(0x101, 0)),
            &["AW channel", "awaddr 0x101 is not aligned"],
        );
    }

    #[test]
    fn a_burst_crossing_a_4kib_boundary_is_an_error_and_one_ending_on_it_is_not() {
        let mut dram = AxiDram::new(32, fixed(1, 1));
        // 4 beats × 4 bytes from 0xff4 end at 0x1003.
        expect_error(
            dram.clock(&ar(0xff4, 3)),
            &[
                "AR channel",
                "cycle 0",
                "crosses the 4 KiB boundary at 0x1000",
                "0xff4..=0x1003",
            ],
        );
        let mut dram = AxiDram::new(32, fixed(1, 1));
        expect_error(
            dram.clock(&aw(0x1_fc04, 255)),
            &["AW channel", "at 0x20000"],
        );
        let mut dram = AxiDram::new(32, fixed(1, 1));
        dram.clock(&ar(0xff0, 3)).unwrap();
        dram.clock(&aw(0x1_fc00, 255)).unwrap();
    }

    #[test]
    fn wlast_off_the_last_beat_is_an_error() {
        // Early: wlast on beat 1 of 2.
        let mut dram = AxiDram::new(32, fixed(1, 1));
        let result = feed(&mut dram, &[aw(0x0, 1), w(7, true)]);
        expect_error(
            result,
            &[
                "W channel",
                "cycle 1",
                "wlast 1 on beat 1 of 2",
                "expected wlast 0",
            ],
        );
        // Missing: no wlast on beat 2 of 2.
        let mut dram = AxiDram::new(32, fixed(1, 1));
        let result = feed(&mut dram, &[aw(0x0, 1), w(7, false), w(8, false)]);
        expect_error(
            result,
            &[
                "W channel",
                "cycle 2",
                "wlast 0 on beat 2 of 2",
                "expected wlast 1",
            ],
        );
    }

    #[test]
    fn wvalid_without_an_aw_is_legal_and_waits() {
        let mut dram = AxiDram::new(32, fixed(1, 1));
        for _ in 0..5 {
            assert!(!dram.outputs().wready);
            dram.clock(&w(9, true)).unwrap();
        }
        // The AW comes with the W still waiting; the W moves in the next cycle.
        dram.clock(&MasterOut {
            wvalid: true,
            wdata: vec![9],
            wstrb: 0xf,
            wlast: true,
            ..aw(0x10, 0)
        })
        .unwrap();
        assert!(dram.outputs().wready);
        dram.clock(&w(9, true)).unwrap();
        assert_eq!(dram.read_bytes(0x10, 4), [9, 0, 0, 0]);
        assert!(!dram.idle(), "the B response is still pending");
        assert!(dram.outputs().bvalid);
        dram.clock(&MasterOut {
            bready: true,
            ..MasterOut::quiet(32)
        })
        .unwrap();
        assert!(dram.idle());
    }

    #[test]
    fn a_violation_leaves_the_state_unchanged() {
        let mut dram = AxiDram::new(32, fixed(1, 1));
        dram.clock(&aw(0x0, 0)).unwrap();
        assert!(dram.clock(&w(1, false)).is_err());
        assert_eq!(dram.cycle(), 1);
        dram.clock(&w(1, true)).unwrap();
        assert_eq!(dram.read_bytes(0, 4), [1, 0, 0, 0]);
    }

    /// Random bursts of random data with random master readies; returns the log and the DRAM.
    fn random_traffic(timing: DramTiming, data_bits: u32) -> (Log, AxiDram, Vec<u8>) {
        let bytes = u64::from(data_bits / 8);
        let mut rng = Rng::new(17);
        let mut dram = AxiDram::new(data_bits, timing);
        let mut reference = vec![0u8; 0x4000];
        for (i, byte) in reference.iter_mut().enumerate().take(0x2000) {
            *byte = (i * 13 + 5) as u8;
        }
        dram.write_bytes(0, &reference[..0x2000]);
        let mut master = TestMaster::new(data_bits);
        master.rng = Rng::new(23);
        master.eagerness = 0.7;
        // Writes to 0x2000.., reads of the preloaded 0..0x2000.
        let mut reads = Vec::new();
        for index in 0..12u64 {
            let beats = rng.range_inclusive(1, 8) as u64;
            let address = 0x2000 + index * 0x100;
            let data: Vec<Vec<u32>> = (0..beats)
                .map(|_| (0..data_bits / 32).map(|_| rng.next_u32()).collect())
                .collect();
            let strobes: Vec<u128> = (0..beats)
                .map(|_| {
                    (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())) >> (128 - bytes)
                })
                .collect();
            for (beat, (words, strobe)) in data.iter().zip(&strobes).enumerate() {
                let at = (address + beat as u64 * bytes) as usize;
                for (byte, value) in bytes_of(words).into_iter().enumerate() {
                    if strobe >> byte & 1 == 1 {
                        reference[at + byte] = value;
                    }
                }
            }
            master.write(0, address, &data, Some(&strobes));
            let read_at = index * 0x200 + bytes * rng.range_inclusive(0, 4) as u64;
            let read_beats = rng.range_inclusive(1, 16) as u32;
            master.read(0, read_at, read_beats);
            reads.push((read_at, read_beats));
        }
        for _ in 0..3000 {
            master.step(&mut dram).unwrap();
        }
        assert!(dram.idle(), "all traffic done");
        assert_eq!(master.log.b.len(), 12);
        let expected: Vec<u8> = reads
            .iter()
            .flat_map(|&(at, beats)| {
                reference[at as usize..(at + u64::from(beats) * bytes) as usize].to_vec()
            })
            .collect();
        let got: Vec<u8> = master
            .log
            .r
            .iter()
            .flat_map(|(_, d, _)| bytes_of(d))
            .collect();
        assert_eq!(got, expected, "read data");
        (master.log, dram, reference)
    }

    #[test]
    fn jitter_mode_moves_correct_data_reproducibly_and_never_faster_than_the_minimums() {
        for data_bits in [32, 256] {
            let (log, dram, reference) = random_traffic(jittery(3, 5, 2), data_bits);
            assert_eq!(
                dram.read_bytes(0, 0x4000),
                reference,
                "memory after the writes"
            );
            // The minimums still hold: beats at least cycles_per_beat apart on each channel.
            assert!(r_cycles(&log).windows(2).all(|p| p[1] >= p[0] + 2));
            assert!(log.w.windows(2).all(|p| p[1] >= p[0] + 2));
            // Some readies were low: jitter is on.
            assert!(log.outs.iter().any(|o| !o.arready) && log.outs.iter().any(|o| !o.wready));
            // The same seed gives the same cycles; another seed does not.
            let (again, _, _) = random_traffic(jittery(3, 5, 2), data_bits);
            assert_eq!(r_cycles(&again), r_cycles(&log));
            assert_eq!(again.b, log.b);
            let (other, _, _) = random_traffic(jittery(4, 5, 2), data_bits);
            assert_ne!(r_cycles(&other), r_cycles(&log));
        }
        // Deterministic timing with the same master gives the same data.
        let (_, dram, reference) = random_traffic(fixed(5, 2), 64);
        assert_eq!(dram.read_bytes(0, 0x4000), reference);
    }

    #[test]
    fn jitter_first_beats_and_responses_come_no_earlier_than_latency() {
        let mut dram = AxiDram::new(32, jittery(11, 6, 1));
        let mut master = TestMaster::new(32);
        for index in 0..20 {
            master.read(0, index * 64, 1);
            master.write(0, index * 64, &[vec![index as u32]], None);
        }
        master.run(&mut dram, 2000);
        assert_eq!((master.log.ar.len(), master.log.b.len()), (20, 20));
        // Single-beat bursts in order: beat i belongs to AR i, B i to the W i.
        for (ar, (r, _, last)) in master.log.ar.iter().zip(&master.log.r) {
            assert!(*r >= ar + 6, "AR at {ar}, beat at {r}");
            assert!(last);
        }
        for (w, b) in master.log.w.iter().zip(&master.log.b) {
            assert!(*b >= w + 6, "last W at {w}, B at {b}");
        }
        // The extra latency shows: some first beat or response comes later than the minimum.
        let late_r = master
            .log
            .ar
            .iter()
            .zip(&master.log.r)
            .any(|(a, r)| r.0 > a + 6);
        let late_b = master
            .log
            .w
            .iter()
            .zip(&master.log.b)
            .any(|(w, b)| *b > w + 6);
        assert!(late_r && late_b);
    }

    #[test]
    fn stats_count_bursts_beats_and_full_width_bytes() {
        let mut dram = AxiDram::new(128, fixed(2, 1));
        let mut master = TestMaster::new(128);
        master.read(0, 0x0, 4);
        master.read(0, 0x400, 2);
        master.write(0, 0x800, &vec![pattern(128, 0); 3], Some(&[1, 1, 1]));
        master.run(&mut dram, 30);
        assert!(dram.idle());
        assert_eq!(
            dram.stats(),
            DramStats {
                read_bursts: 2,
                read_beats: 6,
                write_bursts: 1,
                write_beats: 3,
                read_bytes: 96,
                write_bytes: 48,
            }
        );
    }

    #[test]
    fn idle_is_false_while_a_burst_is_in_flight() {
        let mut dram = AxiDram::new(32, fixed(3, 1));
        assert!(dram.idle());
        dram.clock(&ar(0, 1)).unwrap();
        for _ in 0..4 {
            assert!(!dram.idle());
            dram.clock(&MasterOut {
                rready: true,
                ..MasterOut::quiet(32)
            })
            .unwrap();
        }
        assert!(dram.idle());
        dram.clock(&aw(0, 0)).unwrap();
        assert!(!dram.idle(), "waiting for W data");
    }

    #[test]
    #[should_panic(expected = "latency 0")]
    fn zero_latency_is_rejected() {
        AxiDram::new(32, fixed(0, 1));
    }

    #[test]
    #[should_panic(expected = "cycles_per_beat 0")]
    fn zero_cycles_per_beat_is_rejected() {
        AxiDram::new(32, fixed(1, 0));
    }

    #[test]
    #[should_panic(expected = "data width 48")]
    fn a_data_width_that_is_not_a_power_of_two_is_rejected() {
        AxiDram::new(48, fixed(1, 1));
    }

    #[test]
    #[should_panic(expected = "ready_chance 0")]
    fn a_ready_chance_of_zero_is_rejected() {
        AxiDram::new(
            32,
            DramTiming {
                jitter: Some(Jitter {
                    seed: 1,
                    max_extra_latency: 0,
                    ready_chance: 0.0,
                }),
                ..fixed(1, 1)
            },
        );
    }
}
