//! The validated accelerator description: what every downstream stage reads.
//!
//! An [`AcceleratorSpec`] is only ever produced by `config::validate`, so code that holds one may
//! trust it: every size is in range, every derived value (widths, periods) is computed once here and
//! carries its formula in its doc comment.

/// A validated accelerator.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceleratorSpec {
    /// Name of the accelerator; also the Verilog top module's name (a valid, non-keyword identifier).
    pub name: String,
    pub clock: ClockSpec,
    pub pe_array: PeArraySpec,
    pub pe: PeSpec,
    /// The global buffer's regions; `None` when the config has no `buffers:` section.
    pub buffers: Option<BuffersSpec>,
    /// The energy table of the report: the `energy:` section over the documented defaults.
    pub energy: EnergySpec,
    /// Which ineffectual operands the core skips (`zero_skip:`; all off by default).
    pub zero_skip: ZeroSkipSpec,
    /// First 16 hex digits of the SHA-256 of the config file's bytes; stamped into every banner.
    pub config_hash: String,
}

impl AcceleratorSpec {
    /// One line for people: `8x8 weight_stationary array, i8 x i8 -> 32-bit accumulators,
    /// 200 MHz`, with `of bit-serial (Stripes) PEs` after `array` when they are and `,
    /// activation zero-skipping` (or weight) at the end when the core skips.
    pub fn summary(&self) -> String {
        let kind = match self.pe.kind {
            PeKind::Parallel => "",
            PeKind::BitSerial(SerialMode::Stripes) => " of bit-serial (Stripes) PEs",
            PeKind::BitSerial(SerialMode::Pragmatic) => " of Bit-Pragmatic PEs",
        };
        let skipping = match (self.zero_skip.activations, self.zero_skip.weights) {
            (true, _) => Some("activation zero-skipping"),
            (false, true) => Some("weight zero-skipping"),
            (false, false) => None,
        };
        let skipping = match (skipping, self.zero_skip.gating) {
            (Some(skipping), true) => format!(", {skipping} and zero-gating"),
            (Some(skipping), false) => format!(", {skipping}"),
            (None, true) => ", zero-gating".to_owned(),
            (None, false) => String::new(),
        };
        format!(
            "{}x{} {} array{kind}, {} x {} -> {}-bit accumulators, {} MHz{skipping}",
            self.pe_array.rows,
            self.pe_array.cols,
            self.pe_array.dataflow.config_name(),
            self.pe.act.tag(),
            self.pe.weight.tag(),
            self.pe.acc_bits,
            self.clock.frequency_mhz
        )
    }

    /// A spec for one PE array built directly rather than from YAML, for block tests and
    /// testbenches: 100 MHz, parallel PEs, a placeholder config hash. Nothing is validated, so
    /// the caller keeps every size in the ranges `config::validate` enforces.
    pub fn for_array(
        name: impl Into<String>,
        array: PeArraySpec,
        act: OperandSpec,
        weight: OperandSpec,
        acc_bits: u32,
    ) -> AcceleratorSpec {
        AcceleratorSpec {
            name: name.into(),
            clock: ClockSpec {
                frequency_mhz: 100.0,
                period_ns: 10.0,
            },
            pe_array: array,
            pe: PeSpec {
                kind: PeKind::Parallel,
                act,
                weight,
                acc_bits,
            },
            buffers: None,
            energy: EnergySpec::default(),
            zero_skip: ZeroSkipSpec::default(),
            config_hash: "0000000000000000".into(),
        }
    }
}

/// The clock the design is constrained for.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockSpec {
    pub frequency_mhz: f64,
    /// period_ns = 1000 / frequency_mhz.
    pub period_ns: f64,
}

/// `zero_skip:` — the zero operands the core spends no cycles on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZeroSkipSpec {
    /// Activation skipping (Cnvlutin-style, on an output-stationary core): the ifmap holds only
    /// the reduction steps at which some activation of a row block is not the zero point, each
    /// word with the index of the next one, so the weight feeder fetches the matching row of B
    /// and a row block takes as many steps as it has such columns. The brick is the array's R
    /// rows at one reduction index. The activations reach the array centred (`a − a_zp`, one
    /// bit wider), so a skipped column contributes exactly nothing.
    pub activations: bool,
    /// Zero-gating (Eyeriss-style, on an output-stationary core): a PE whose centred
    /// activation or weight is zero this cycle keeps its accumulator as it is instead of
    /// adding a zero product, and the core counts those gated MACs (`PERF_GATED_MACS`). It
    /// saves switching energy, not cycles; with `activations` it gates the zeros that the
    /// kept bricks still hold.
    pub gating: bool,
    /// Weight skipping (Cambricon-X-style, on an output-stationary core): the weight buffer
    /// holds, for every N-fold of C columns of B, only the reduction steps at which some of
    /// its C weights is not zero, each word with the index of the next one, so the activation
    /// feeder fetches the matching column of A and a tile takes as many steps as its N-fold
    /// has such rows. The brick is the array's C columns at one reduction index. A weight
    /// that is zero as the array gets it adds exactly nothing, whatever the zero points; the
    /// core walks one compacted operand, so this excludes `activations`.
    pub weights: bool,
}

impl ZeroSkipSpec {
    /// Bits of a skipping core's ifmap word beyond its R activations: the row block's
    /// last-word flag (the bit right above the activations), then the next word's reduction
    /// index ([`ZeroSkipSpec::NEXT_INDEX_BITS`]).
    pub const INDEX_BITS: u32 = 1 + Self::NEXT_INDEX_BITS;

    /// Width of the next word's reduction index: the descriptor's K count
    /// (`blocks::gemm_core::FOLD_BITS`), so any K a run can have fits.
    pub const NEXT_INDEX_BITS: u32 = 16;

    /// Whether the core centres its activations before the array (`a − a_zp`): skipping and
    /// gating both need a real zero to be a zero.
    pub fn centres(&self) -> bool {
        self.activations || self.gating
    }

    /// The activation operand the array gets: centred ([`ZeroSkipSpec::centres`]) one bit
    /// wider than the stored one and signed (`a − a_zp` spans both signs whatever `a`'s
    /// signedness), else the stored one.
    pub fn array_act(&self, stored: OperandSpec) -> OperandSpec {
        if self.centres() {
            OperandSpec {
                bits: stored.bits + 1,
                signed: true,
            }
        } else {
            stored
        }
    }
}

impl AcceleratorSpec {
    /// This spec with activation skipping on or off, under `name`: the ifmap word gains or
    /// loses the index a compacted word carries ([`ZeroSkipSpec::INDEX_BITS`]), and every
    /// region keeps its words. For twins of one core that differ only in skipping.
    pub fn with_activation_skipping(&self, on: bool, name: impl Into<String>) -> AcceleratorSpec {
        self.with_skipping(
            on,
            name.into(),
            |skip| &mut skip.activations,
            |buffers| &mut buffers.ifmap.word_bits,
        )
    }

    /// This spec with weight skipping on or off, under `name`: the weight word gains or loses
    /// the index a compacted word carries ([`ZeroSkipSpec::INDEX_BITS`]), and every region
    /// keeps its words. For twins of one core that differ only in skipping.
    pub fn with_weight_skipping(&self, on: bool, name: impl Into<String>) -> AcceleratorSpec {
        self.with_skipping(
            on,
            name.into(),
            |skip| &mut skip.weights,
            |buffers| &mut buffers.weight.word_bits,
        )
    }

    /// The twin with the skipping `flag` selects set to `on`, the compacted region's word
    /// (`word`) widened or narrowed by the index accordingly.
    fn with_skipping(
        &self,
        on: bool,
        name: String,
        flag: fn(&mut ZeroSkipSpec) -> &mut bool,
        word: fn(&mut BuffersSpec) -> &mut u32,
    ) -> AcceleratorSpec {
        let mut spec = self.clone();
        spec.name = name;
        if *flag(&mut spec.zero_skip) != on {
            *flag(&mut spec.zero_skip) = on;
            if let Some(buffers) = spec.buffers.as_mut() {
                let bits = word(buffers);
                *bits = if on {
                    *bits + ZeroSkipSpec::INDEX_BITS
                } else {
                    *bits - ZeroSkipSpec::INDEX_BITS
                };
            }
        }
        spec
    }
}

/// Shape and dataflow of the PE array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeArraySpec {
    pub rows: u32,
    pub cols: u32,
    pub dataflow: Dataflow,
}

impl PeArraySpec {
    /// Number of processing elements, rows·cols.
    pub fn pe_count(&self) -> u32 {
        self.rows * self.cols
    }
}

/// Which operand stays in the PE while the others stream past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataflow {
    /// TPU style: weights are preloaded, activations stream left→right, psums flow down.
    WeightStationary,
    /// ShiDianNao style: each PE owns one output and accumulates it in place.
    OutputStationary,
    /// Inputs are preloaded, weights stream, psums flow down.
    InputStationary,
    /// Eyeriss style: a filter row and an ifmap row meet in each PE.
    RowStationary,
}

impl Dataflow {
    /// The config spelling, e.g. `weight_stationary`.
    pub fn config_name(self) -> &'static str {
        match self {
            Dataflow::WeightStationary => "weight_stationary",
            Dataflow::OutputStationary => "output_stationary",
            Dataflow::InputStationary => "input_stationary",
            Dataflow::RowStationary => "row_stationary",
        }
    }

    /// Two-letter tag used in module names (`ws`, `os`, `is`, `rs`).
    pub fn tag(self) -> &'static str {
        match self {
            Dataflow::WeightStationary => "ws",
            Dataflow::OutputStationary => "os",
            Dataflow::InputStationary => "is",
            Dataflow::RowStationary => "rs",
        }
    }
}

/// An integer operand format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperandSpec {
    /// Width in bits, 2..=16.
    pub bits: u32,
    pub signed: bool,
}

impl OperandSpec {
    /// Short tag for module names: `i8` (signed) or `u8` (unsigned).
    pub fn tag(self) -> String {
        format!("{}{}", if self.signed { "i" } else { "u" }, self.bits)
    }
}

/// How one processing element computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeKind {
    /// One full-width MAC per cycle.
    Parallel,
    /// Activations a bit at a time against parallel weights, walked as [`SerialMode`] says.
    BitSerial(SerialMode),
}

impl PeKind {
    /// Short tag for module names: empty for parallel PEs, `_bs` for Stripes, `_pg` for
    /// Bit-Pragmatic.
    pub fn tag(self) -> &'static str {
        match self {
            PeKind::Parallel => "",
            PeKind::BitSerial(SerialMode::Stripes) => "_bs",
            PeKind::BitSerial(SerialMode::Pragmatic) => "_pg",
        }
    }

    /// Whether the activations take a cycle per bit (every bit, or every one-bit).
    pub fn is_bit_serial(self) -> bool {
        matches!(self, PeKind::BitSerial(_))
    }

    /// Stripes: every bit of a `p`-bit activation, `p` a run-time setting of each descriptor
    /// (`ACT_PRECISION`). The array is weight-stationary.
    pub fn is_stripes(self) -> bool {
        self == PeKind::BitSerial(SerialMode::Stripes)
    }

    /// Bit-Pragmatic: only the one-bits of each centred activation, as many cycles per brick
    /// as its busiest lane has. The array is output-stationary with broadcast operands.
    pub fn is_pragmatic(self) -> bool {
        self == PeKind::BitSerial(SerialMode::Pragmatic)
    }

    /// The `pe.kind` value that selects it: `parallel` or `bit_serial`.
    pub fn config_name(self) -> &'static str {
        match self {
            PeKind::Parallel => "parallel",
            PeKind::BitSerial(_) => "bit_serial",
        }
    }
}

/// How a bit-serial PE walks its activation bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SerialMode {
    /// Stripes (Judd et al., MICRO 2016): every bit of a `p`-bit activation, MSB first.
    Stripes,
    /// Bit-Pragmatic (Albericio et al., MICRO 2017): only the one-bits ("oneffsets") of each
    /// activation's magnitude, one per cycle as a shift of the weight, a brick of R
    /// activations in lockstep (`blocks::pe_array::pragmatic`).
    Pragmatic,
}

/// One processing element: operand formats and accumulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeSpec {
    pub kind: PeKind,
    /// Activation (ifmap) operand.
    pub act: OperandSpec,
    /// Weight (filter) operand.
    pub weight: OperandSpec,
    /// Accumulator width in bits; always signed (psums of zero-point-corrected operands are signed).
    /// Unless the config fixes it: act.bits + weight.bits + ceil(log2(max_reduction)), with
    /// max_reduction defaulting to 65536, so int8×int8 gets the int32 TFLite accumulates in.
    pub acc_bits: u32,
}

/// The memory system of a core: the global buffer's regions, each sized in words of what the
/// array consumes or produces per beat, and the DMA that moves them to and from DRAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuffersSpec {
    pub ifmap: BufferSpec,
    pub weight: BufferSpec,
    pub psum: BufferSpec,
    /// Finished result rows (C signed 32-bit lanes) waiting for the DMA to store them.
    pub ofmap: BufferSpec,
    /// What every region is built from.
    pub memory: MemoryKind,
    /// Who turns a convolution into GEMM rows.
    pub im2col: Im2col,
    pub dma: DmaSpec,
    pub dram: DramSpec,
}

/// What the buffer regions are built from (`buffers.memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemoryKind {
    /// Flip-flop register files (small buffers; any synthesis flow).
    #[default]
    RegisterFile,
    /// OpenRAM's sky130 SRAM macros, 256 words × 64 bits each (`blocks::sram`).
    Sky130Sram,
}

/// Who turns a convolution's input into the GEMM's rows (`buffers.im2col`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Im2col {
    /// The core's window mode walks input tiles in the ifmap buffer
    /// (`blocks::gemm_core::window`): weight-stationary cores only.
    #[default]
    Hardware,
    /// The host sends the lowered GEMMs; the core has no window mode.
    Host,
}

impl Im2col {
    pub const NAMES: [&'static str; 2] = ["hardware", "host"];

    pub fn config_name(self) -> &'static str {
        match self {
            Im2col::Hardware => "hardware",
            Im2col::Host => "host",
        }
    }
}

impl MemoryKind {
    pub const NAMES: [&'static str; 2] = ["register_file", "sky130_sram"];

    pub fn config_name(self) -> &'static str {
        match self {
            MemoryKind::RegisterFile => "register_file",
            MemoryKind::Sky130Sram => "sky130_sram",
        }
    }
}

impl BuffersSpec {
    /// The regions with their names, in config order.
    pub fn regions(&self) -> [(&'static str, &BufferSpec); 4] {
        [
            ("ifmap", &self.ifmap),
            ("weight", &self.weight),
            ("psum", &self.psum),
            ("ofmap", &self.ofmap),
        ]
    }
}

/// The DMA engine's AXI4 master (`dma:` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaSpec {
    /// AXI4 data width, a power of two from 32 to 1024. Default 64.
    pub data_bits: u32,
    /// Beats of the longest burst, a power of two from 1 to 256 with `burst_beats ·
    /// data_bits / 8` ≤ 4096, so an aligned burst never crosses a 4 KiB boundary. Default 16.
    pub burst_beats: u32,
    /// Read bursts in flight at once, 1 to 16. Default 4.
    pub outstanding: u32,
}

impl DmaSpec {
    /// Bytes per beat.
    pub fn beat_bytes(&self) -> u64 {
        u64::from(self.data_bits / 8)
    }

    /// Bytes of the longest burst; region bases are aligned to it.
    pub fn burst_bytes(&self) -> u64 {
        self.beat_bytes() * u64::from(self.burst_beats)
    }

    /// Beats that carry one buffer word of `word_bits` (a word starts on a beat boundary).
    pub fn beats_per_word(&self, word_bits: u32) -> u32 {
        word_bits.div_ceil(self.data_bits)
    }
}

impl Default for DmaSpec {
    fn default() -> DmaSpec {
        DmaSpec {
            data_bits: 64,
            burst_beats: 16,
            outstanding: 4,
        }
    }
}

/// The off-chip memory the cycle model and the testbench's DRAM assume (`dram:` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DramSpec {
    /// Cycles from a read address being accepted to its first data beat, and from a write
    /// burst's last beat to its response. Default 20.
    pub latency_cycles: u32,
    /// Cycles per data beat on each channel (1: one beat per cycle). Default 1.
    pub cycles_per_beat: u32,
}

impl Default for DramSpec {
    fn default() -> DramSpec {
        DramSpec {
            latency_cycles: 20,
            cycles_per_beat: 1,
        }
    }
}

/// One buffer region, derived from its capacity and the array's word widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSpec {
    /// Bits per word: one array beat (ifmap: the activation lanes, and on a zero-skipping core
    /// the last flag and next index of [`ZeroSkipSpec::INDEX_BITS`]; weight: the weight lanes;
    /// psum: C accumulators).
    pub word_bits: u32,
    /// Words in the region (all banks, both halves).
    pub depth: u64,
    pub banks: u32,
    /// Words per bank.
    pub bank_depth: u64,
    /// Address bits within a bank.
    pub bank_address_bits: u32,
    /// Address bits across the region: bank select and bank address.
    pub address_bits: u32,
    /// Split in two halves: the DMA fills one while the array reads the other.
    pub double_buffered: bool,
}

impl BufferSpec {
    /// Capacity in bytes (whole words).
    pub fn bytes(&self) -> u64 {
        self.depth * u64::from(self.word_bits) / 8
    }

    /// Words one run of the core may use: the whole region, or one half of a double-buffered
    /// one (the DMA fills the other half meanwhile).
    pub fn run_depth(&self) -> u64 {
        if self.double_buffered {
            self.depth / 2
        } else {
            self.depth
        }
    }
}

/// Energy per event, in pJ, for the report's energy estimate (`report::energy` applies it).
///
/// The defaults are 45 nm figures: Horowitz, "Computing's energy problem (and what we can do
/// about it)", ISSCC 2014 (8-bit multiply 0.2 pJ, 32-bit add 0.1 pJ, SRAM 8 KB / 32 KB / 1 MB
/// 10 / 20 / 100 pJ per 64-bit read, DRAM 1.3–2.6 nJ per 64 bits), and for the two levels
/// Horowitz does not give, Sze et al., "Efficient Processing of Deep Neural Networks" (2020),
/// ch. 5, whose normalized costs per access are register file 1×, PE-to-PE 2×, global buffer 6×,
/// DRAM 200× one MAC. One int8 MAC (8-bit multiply + 32-bit add) is 0.3 pJ, so a byte from a
/// register file is 0.3 pJ and a byte between PEs 0.6 pJ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergySpec {
    /// One 8×8-bit multiply; an a×w-bit multiplier costs (a·w/64) of it (array multipliers grow
    /// with the product of the widths). Default 0.2 (Horowitz).
    pub multiply_8x8_pj: f64,
    /// One 32-bit add; a b-bit accumulator costs b/32 of it (ripple adders grow linearly).
    /// Default 0.1 (Horowitz).
    pub add_32_pj: f64,
    /// Reading or writing a byte of a register inside a PE (held operand, accumulator).
    /// Default 0.3 (Sze: 1× the int8 MAC).
    pub register_file_pj_per_byte: f64,
    /// Moving a byte from one PE to its neighbour (streamed operands, partial sums).
    /// Default 0.6 (Sze: 2× the int8 MAC).
    pub pe_to_pe_pj_per_byte: f64,
    /// One 64-bit global-buffer access; `None` (the default) derives it from each region's size
    /// along Horowitz's SRAM curve (`report::energy::sram_pj_per_64_bits`).
    pub global_buffer_pj_per_64_bits: Option<f64>,
    /// One 64-bit DRAM access. Default 1300 (Horowitz's low end, an LPDDR-class edge memory).
    pub dram_pj_per_64_bits: f64,
}

impl Default for EnergySpec {
    fn default() -> EnergySpec {
        EnergySpec {
            multiply_8x8_pj: 0.2,
            add_32_pj: 0.1,
            register_file_pj_per_byte: 0.3,
            pe_to_pe_pj_per_byte: 0.6,
            global_buffer_pj_per_64_bits: None,
            dram_pj_per_64_bits: 1300.0,
        }
    }
}
