//! The raw YAML schema: serde structs that mirror a config file key for key.
//!
//! Nothing here checks ranges or relations between keys; that is `validate`'s job, so that every
//! rule and its message live in one place. These types only fix the shape: which keys exist
//! (`deny_unknown_fields` everywhere, so a misspelt key is an error, not a silently ignored one),
//! which are required, and the YAML type of each value.
//!
//! Numbers are read as wide signed integers (`i64`) rather than the spec's `u32`, so that `rows: 0`,
//! `rows: -3` and `rows: 100000` reach `validate` and get a message naming the key and its allowed
//! range, instead of a generic "expected u32" from serde. Every value that a rule may reject is
//! wrapped in [`Spanned`] so the error can point at it in the file.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::error::ConfigError;

/// A whole config file (schema v1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Accelerator name; also the Verilog top module name.
    pub name: Spanned<String>,
    pub clock: RawClock,
    pub pe_array: RawPeArray,
    pub pe: RawPe,
    /// Absent: no skipping (`config::spec::ZeroSkipSpec::default`).
    #[serde(default)]
    pub zero_skip: Option<RawZeroSkip>,
    /// Absent: no on-chip buffers (the top is the bare PE array).
    #[serde(default)]
    pub buffers: Option<RawBuffers>,
    /// Absent: the documented defaults (`EnergySpec::default`).
    #[serde(default)]
    pub energy: Option<RawEnergy>,
}

/// `zero_skip:` section: which zero operands the core skips. Every key is optional and off when
/// absent; `validate` says which cores can build each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZeroSkip {
    /// Absent: false. True skips the reduction steps whose activations are all the zero point.
    #[serde(default)]
    pub activations: Option<Spanned<bool>>,
    /// Absent: false. True gates each PE's accumulator on a zero operand and counts the gated
    /// MACs (Eyeriss-style zero-gating).
    #[serde(default)]
    pub gating: Option<Spanned<bool>>,
    /// Absent: false. True skips, per N-fold, the reduction steps whose weights are all zero
    /// (Cambricon-X-style weight skipping).
    #[serde(default)]
    pub weights: Option<Spanned<bool>>,
}

/// `energy:` section: the energy table of the report, in pJ. Every key is optional; an absent
/// key keeps its default (see `config::spec::EnergySpec` for the values and their sources).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnergy {
    #[serde(default)]
    pub multiply_8x8_pj: Option<Spanned<f64>>,
    #[serde(default)]
    pub add_32_pj: Option<Spanned<f64>>,
    #[serde(default)]
    pub register_file_pj_per_byte: Option<Spanned<f64>>,
    #[serde(default)]
    pub pe_to_pe_pj_per_byte: Option<Spanned<f64>>,
    #[serde(default)]
    pub global_buffer_pj_per_64_bits: Option<Spanned<f64>>,
    #[serde(default)]
    pub dram_pj_per_64_bits: Option<Spanned<f64>>,
}

/// `buffers:` section: the global buffer's regions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuffers {
    pub ifmap: RawBuffer,
    pub weight: RawBuffer,
    pub psum: RawBuffer,
    /// Absent: as many words as the psum region.
    #[serde(default)]
    pub ofmap: Option<RawBuffer>,
    /// `register_file` (default) or `sky130_sram`.
    #[serde(default)]
    pub memory: Option<Spanned<String>>,
    /// `hardware` (default on weight-stationary cores) or `host`.
    #[serde(default)]
    pub im2col: Option<Spanned<String>>,
    /// Absent: the defaults of `config::spec::DmaSpec`.
    #[serde(default)]
    pub dma: Option<RawDma>,
    /// Absent: the defaults of `config::spec::DramSpec`.
    #[serde(default)]
    pub dram: Option<RawDram>,
}

/// `buffers.dma:` the DMA engine's AXI4 master.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDma {
    #[serde(default)]
    pub data_bits: Option<Spanned<i64>>,
    #[serde(default)]
    pub burst_beats: Option<Spanned<i64>>,
    #[serde(default)]
    pub outstanding: Option<Spanned<i64>>,
}

/// `buffers.dram:` the off-chip memory's timing, for the cycle model and the testbench.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDram {
    #[serde(default)]
    pub latency_cycles: Option<Spanned<i64>>,
    #[serde(default)]
    pub cycles_per_beat: Option<Spanned<i64>>,
}

/// One buffer region, e.g. `{capacity: 64 kib, banks: 4}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuffer {
    /// A number and a unit: `64 kib` (bytes, rounded down to whole words) or `2048 words`.
    pub capacity: Spanned<String>,
    /// Absent: 1.
    #[serde(default)]
    pub banks: Option<Spanned<i64>>,
    /// Absent: false. True splits the region in halves: the DMA fills one while the array reads
    /// the other.
    #[serde(default)]
    pub double_buffered: Option<bool>,
}

/// `clock:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClock {
    /// Target clock frequency in MHz; integers are accepted.
    pub frequency_mhz: Spanned<f64>,
}

/// `pe_array:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPeArray {
    pub rows: Spanned<i64>,
    pub cols: Spanned<i64>,
    pub dataflow: Spanned<RawDataflow>,
}

/// The dataflow spellings the schema knows. Whether this version implements one is a validation
/// rule (`validate::IMPLEMENTED_DATAFLOWS`), not a schema question: a known-but-unimplemented
/// dataflow deserves a different message than a typo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawDataflow {
    WeightStationary,
    OutputStationary,
    InputStationary,
    RowStationary,
}

/// `pe:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPe {
    pub kind: Spanned<RawPeKind>,
    pub act: RawOperand,
    pub weight: RawOperand,
    /// Absent: derived from the operand widths and `max_reduction`.
    #[serde(default)]
    pub accumulator_bits: Option<Spanned<i64>>,
    /// Absent: 65536 (`validate::DEFAULT_MAX_REDUCTION`).
    #[serde(default)]
    pub max_reduction: Option<Spanned<i64>>,
    /// Only with `kind: bit_serial`; absent: `{mode: stripes}`.
    #[serde(default)]
    pub serial: Option<Spanned<RawSerial>>,
}

/// `pe.serial:` section of a bit-serial PE.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSerial {
    pub mode: Spanned<RawSerialMode>,
}

/// The bit-serial schemes the schema knows; `validate` says which are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawSerialMode {
    Stripes,
    Pragmatic,
    Loom,
}

/// The PE kinds the schema knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawPeKind {
    Parallel,
    BitSerial,
}

/// An operand format, `{bits: 8, signed: true}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOperand {
    pub bits: Spanned<i64>,
    pub signed: bool,
}

/// Parses `source` into a [`RawConfig`]. YAML syntax errors become [`ConfigError::Syntax`]; shape
/// errors (unknown or missing key, wrong type, unknown mode) become [`ConfigError::Schema`] naming
/// the key path, which serde-saphyr locates but does not name, so the deserializer is wrapped in a
/// path tracker.
pub fn parse(source: &str, file_name: &str) -> Result<RawConfig, ConfigError> {
    // Strict booleans: `signed: no` must not silently mean false (the YAML 1.1 "Norway problem").
    let options = serde_saphyr::options! { strict_booleans: true };
    let mut track = serde_path_to_error::Track::new();
    let result =
        serde_saphyr::with_deserializer_from_str_with_options(source, options, |deserializer| {
            RawConfig::deserialize(serde_path_to_error::Deserializer::new(
                deserializer,
                &mut track,
            ))
        });
    result.map_err(|error| {
        let parent_path = key_path_from_segments(&track.path());
        ConfigError::from_yaml(&error, parent_path, source, file_name)
    })
}

/// Dotted key path (`pe_array.rows`) from a serde path, leaving out the fields of serde-saphyr's
/// internal `Spanned` representation, which are not keys of the file.
fn key_path_from_segments(path: &serde_path_to_error::Path) -> Vec<String> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Map { key } if key == "value" || key.starts_with("__serde_saphyr") => None,
            Segment::Map { key } => Some(key.clone()),
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect()
}
