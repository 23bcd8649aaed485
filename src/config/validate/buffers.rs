//! Rules of the `buffers:` section: capacities with units, bank counts and double buffering,
//! and the geometry derived from them (words, depths, address widths) for each region.

use std::ops::RangeInclusive;

use serde_saphyr::Spanned;

use super::{ceil_log2, ConfigError, SourceFile, Violation};
use crate::config::schema::{RawBuffer, RawBuffers, RawDma, RawDram};
use crate::config::spec::{
    BufferSpec, BuffersSpec, Dataflow, DmaSpec, DramSpec, Im2col, MemoryKind, PeArraySpec, PeSpec,
    ZeroSkipSpec,
};

/// Allowed banks per region.
pub const BANKS_RANGE: RangeInclusive<i64> = 1..=64;

/// Largest region: 64 MiB, far beyond any edge SRAM, so a bigger number is a unit mistake.
pub const MAX_REGION_BYTES: u64 = 64 << 20;

/// Validates every region against the array it feeds (and, for the ifmap's word, the skipping
/// `zero_skip` asks for; already validated against this core).
pub(super) fn validate_buffers(
    file: &SourceFile<'_>,
    raw: &RawBuffers,
    array: &PeArraySpec,
    pe: &PeSpec,
    zero_skip: ZeroSkipSpec,
) -> Result<BuffersSpec, ConfigError> {
    // The lanes of a beat: stationary-operand arrays load the held operand across the columns
    // and stream the other down the rows; input-stationary swaps which operand is which.
    let (act_lanes, weight_lanes) = match array.dataflow {
        Dataflow::InputStationary => (array.cols, array.rows),
        _ => (array.rows, array.cols),
    };
    let psum = validate_region(file, "psum", &raw.psum, array.cols * pe.acc_bits)?;
    // Result rows are C signed 32-bit lanes (the post-process unit's output, raw int32 included).
    let ofmap_bits = array.cols * 32;
    let ofmap = match &raw.ofmap {
        Some(ofmap) => validate_region(file, "ofmap", ofmap, ofmap_bits)?,
        None => BufferSpec {
            word_bits: ofmap_bits,
            ..psum
        },
    };
    // A skipping core's ifmap word carries, beside its activations, the reduction index of the
    // next stored word and the row block's last-word flag: the ifmap holds only the steps with a
    // non-zero activation, so the index is how the weight feeder finds the matching weights.
    // The activations stay stored at their own width; the array gets them centred.
    let skip_bits = if zero_skip.activations {
        ZeroSkipSpec::INDEX_BITS
    } else {
        0
    };
    // A weight-skipping core's weight word likewise: the N-fold's last-word flag and the next
    // stored word's reduction step, by which the activation feeder finds the matching column.
    let weight_skip_bits = if zero_skip.weights {
        ZeroSkipSpec::INDEX_BITS
    } else {
        0
    };
    Ok(BuffersSpec {
        ifmap: validate_region(
            file,
            "ifmap",
            &raw.ifmap,
            act_lanes * pe.act.bits + skip_bits,
        )?,
        weight: validate_region(
            file,
            "weight",
            &raw.weight,
            weight_lanes * pe.weight.bits + weight_skip_bits,
        )?,
        psum,
        ofmap,
        memory: validate_memory(file, raw.memory.as_ref())?,
        im2col: validate_im2col(file, raw.im2col.as_ref(), array.dataflow)?,
        dma: validate_dma(file, raw.dma.as_ref())?,
        dram: validate_dram(file, raw.dram.as_ref())?,
    })
}

/// `buffers.memory`: one of [`MemoryKind::NAMES`].
fn validate_memory(
    file: &SourceFile<'_>,
    raw: Option<&Spanned<String>>,
) -> Result<MemoryKind, ConfigError> {
    let Some(value) = raw else {
        return Ok(MemoryKind::default());
    };
    match value.value.as_str() {
        "register_file" => Ok(MemoryKind::RegisterFile),
        "sky130_sram" => Ok(MemoryKind::Sky130Sram),
        other => Err(file.invalid(
            value,
            other.to_owned(),
            Violation {
                key_path: "buffers.memory",
                rule: format!("is not one of {}", MemoryKind::NAMES.join(", ")),
                reason: "register_file builds the regions from flip-flops; sky130_sram from \
                         OpenRAM's 256x64 sky130 macros"
                    .to_owned(),
                label: "unknown memory".to_owned(),
            },
        )),
    }
}

/// `buffers.im2col`: one of [`Im2col::NAMES`]; `hardware` (the default) only on a
/// weight-stationary core, whose feeder walks input tiles, so other dataflows default to `host`.
fn validate_im2col(
    file: &SourceFile<'_>,
    raw: Option<&Spanned<String>>,
    dataflow: Dataflow,
) -> Result<Im2col, ConfigError> {
    let walks = dataflow == Dataflow::WeightStationary;
    let Some(value) = raw else {
        return Ok(if walks {
            Im2col::Hardware
        } else {
            Im2col::Host
        });
    };
    let violation = |rule: String, label: &str| {
        Violation {
        key_path: "buffers.im2col",
        rule,
        reason: "hardware: the weight-stationary feeder reads each convolution's im2col rows out                  of input tiles; host: the host sends the lowered GEMMs"
            .to_owned(),
        label: label.to_owned(),
    }
    };
    match value.value.as_str() {
        "hardware" if walks => Ok(Im2col::Hardware),
        "hardware" => Err(file.invalid(
            value,
            "hardware".to_owned(),
            violation(
                format!(
                    "needs a weight_stationary array, not {}",
                    dataflow.config_name()
                ),
                "no window mode on this dataflow",
            ),
        )),
        "host" => Ok(Im2col::Host),
        other => Err(file.invalid(
            value,
            other.to_owned(),
            violation(
                format!("is not one of {}", Im2col::NAMES.join(", ")),
                "unknown im2col",
            ),
        )),
    }
}

/// `buffers.dma`: powers of two in range, and a longest burst within 4 KiB.
fn validate_dma(file: &SourceFile<'_>, raw: Option<&RawDma>) -> Result<DmaSpec, ConfigError> {
    let defaults = DmaSpec::default();
    let Some(raw) = raw else {
        return Ok(defaults);
    };
    let data_bits = power_of_two(
        file,
        "buffers.dma.data_bits",
        raw.data_bits.as_ref(),
        32..=1024,
        defaults.data_bits,
        "the AXI4 data bus is 32 to 1024 bits wide, a power of two",
    )?;
    let max_beats = (4096 * 8 / i64::from(data_bits)).min(256);
    let burst_beats = power_of_two(
        file,
        "buffers.dma.burst_beats",
        raw.burst_beats.as_ref(),
        1..=max_beats,
        defaults.burst_beats,
        "AXI4 bursts are at most 256 beats and must not cross a 4 KiB boundary, so a burst of \
         this data width is at most 4096 bytes",
    )?;
    let outstanding = match &raw.outstanding {
        None => defaults.outstanding,
        Some(value) => {
            file.check_range("buffers.dma.outstanding", value, &(1..=16), || {
                "read bursts in flight: each needs a slot in the DMA's tracking counters".into()
            })?;
            u32::try_from(value.value).expect("range-checked")
        }
    };
    Ok(DmaSpec {
        data_bits,
        burst_beats,
        outstanding,
    })
}

/// `buffers.dram`: a latency of at least one cycle and a beat rate.
fn validate_dram(file: &SourceFile<'_>, raw: Option<&RawDram>) -> Result<DramSpec, ConfigError> {
    let defaults = DramSpec::default();
    let Some(raw) = raw else {
        return Ok(defaults);
    };
    let field = |key_path: &'static str,
                 value: &Option<Spanned<i64>>,
                 range: RangeInclusive<i64>,
                 default: u32,
                 reason: &'static str| match value {
        None => Ok(default),
        Some(value) => file
            .check_range(key_path, value, &range, || reason.to_owned())
            .map(|()| u32::try_from(value.value).expect("range-checked")),
    };
    Ok(DramSpec {
        latency_cycles: field(
            "buffers.dram.latency_cycles",
            &raw.latency_cycles,
            1..=10_000,
            defaults.latency_cycles,
            "cycles from a request to its first data; a response takes at least one cycle",
        )?,
        cycles_per_beat: field(
            "buffers.dram.cycles_per_beat",
            &raw.cycles_per_beat,
            1..=1024,
            defaults.cycles_per_beat,
            "cycles per data beat: 1 is the full bus rate",
        )?,
    })
}

/// An optional power of two in `range` (`default` when absent).
fn power_of_two(
    file: &SourceFile<'_>,
    key_path: &'static str,
    value: Option<&Spanned<i64>>,
    range: RangeInclusive<i64>,
    default: u32,
    reason: &'static str,
) -> Result<u32, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    let allowed = range.clone();
    file.check_range(key_path, value, &range, || reason.to_owned())?;
    if value.value.count_ones() != 1 {
        return Err(file.invalid(
            value,
            file.written(value, || value.value.to_string()),
            Violation {
                key_path,
                rule: format!(
                    "is not a power of two in {}..={}",
                    allowed.start(),
                    allowed.end()
                ),
                reason: reason.to_owned(),
                label: "not a power of two".to_owned(),
            },
        ));
    }
    Ok(u32::try_from(value.value).expect("range-checked"))
}

/// The key paths of one region's keys (static, as the error type wants).
fn key_paths(region: &str) -> (&'static str, &'static str) {
    match region {
        "ifmap" => ("buffers.ifmap.capacity", "buffers.ifmap.banks"),
        "weight" => ("buffers.weight.capacity", "buffers.weight.banks"),
        "ofmap" => ("buffers.ofmap.capacity", "buffers.ofmap.banks"),
        _ => ("buffers.psum.capacity", "buffers.psum.banks"),
    }
}

fn validate_region(
    file: &SourceFile<'_>,
    region: &str,
    raw: &RawBuffer,
    word_bits: u32,
) -> Result<BufferSpec, ConfigError> {
    let (capacity_path, banks_path) = key_paths(region);
    let depth = parse_capacity(file, capacity_path, &raw.capacity, word_bits)?;
    let banks = match &raw.banks {
        None => 1,
        Some(banks) => {
            file.check_range(banks_path, banks, &BANKS_RANGE, || {
                "each bank is one SRAM macro with its own port; more than 64 per region would \
                 not route"
                    .to_owned()
            })?;
            u64::try_from(banks.value).expect("range-checked above")
        }
    };
    let double_buffered = raw.double_buffered.unwrap_or(false);
    let parts = if double_buffered { 2 * banks } else { banks };
    if depth % parts != 0 {
        let (value, path) = match &raw.banks {
            Some(banks) => (banks, banks_path),
            None => {
                return Err(capacity_violation(
                    file,
                    capacity_path,
                    &raw.capacity,
                    format!(
                        "gives {depth} words of {word_bits} bits, which do not split into two halves"
                    ),
                    "the region is double-buffered (double_buffered: true), so it needs an even \
                     number of words"
                        .to_owned(),
                ));
            }
        };
        let halves = if double_buffered {
            " in each of the two halves"
        } else {
            ""
        };
        return Err(file.invalid(
            value,
            file.written(value, || value.value.to_string()),
            Violation {
                key_path: path,
                rule: format!("does not divide the region's {depth} words evenly{halves}"),
                reason: format!(
                    "every bank holds the same number of words; choose a bank count that divides \
                     {} words, or change the capacity",
                    depth / if double_buffered { 2 } else { 1 }
                ),
                label: "uneven banks".to_owned(),
            },
        ));
    }
    let bank_depth = depth / banks;
    Ok(BufferSpec {
        word_bits,
        depth,
        banks: u32::try_from(banks).expect("at most 64"),
        bank_depth,
        bank_address_bits: ceil_log2(bank_depth).max(1),
        address_bits: ceil_log2(depth).max(1),
        double_buffered,
    })
}

/// `64 kib` → words of `word_bits` (rounded down); `2048 words` → 2048.
fn parse_capacity(
    file: &SourceFile<'_>,
    key_path: &'static str,
    capacity: &Spanned<String>,
    word_bits: u32,
) -> Result<u64, ConfigError> {
    let text = capacity.value.trim();
    let mut parts = text.split_whitespace();
    let (number, unit) = (parts.next().unwrap_or(""), parts.next());
    let units = "kib (1024 bytes, rounded down to whole words) or words";
    let Ok(amount) = number.parse::<u64>() else {
        return Err(capacity_violation(
            file,
            key_path,
            capacity,
            "is not a whole number followed by a unit".to_owned(),
            format!(
                "write it as a number and a unit, e.g. `64 kib` or `4096 words`; units: {units}"
            ),
        ));
    };
    let words = match (unit, parts.next()) {
        (Some("kib"), None) => amount.saturating_mul(8192) / u64::from(word_bits),
        (Some("words"), None) => amount,
        (None, _) => {
            return Err(capacity_violation(
                file,
                key_path,
                capacity,
                "has no unit".to_owned(),
                format!("write `{amount} words` or `{amount} kib`; units: {units}"),
            ));
        }
        (Some(other), _) => {
            let suggestion = match other.to_ascii_lowercase().as_str() {
                "kib" | "kb" | "k" | "kbyte" | "kbytes" => " (did you mean kib?)",
                "word" | "w" => " (did you mean words?)",
                _ => "",
            };
            return Err(capacity_violation(
                file,
                key_path,
                capacity,
                format!("has an unknown unit `{other}`{suggestion}"),
                format!("units: {units}"),
            ));
        }
    };
    let bytes = words.saturating_mul(u64::from(word_bits)) / 8;
    if words == 0 || bytes > MAX_REGION_BYTES {
        return Err(capacity_violation(
            file,
            key_path,
            capacity,
            format!(
                "gives {words} words of {word_bits} bits; a region holds at least one word and at \
                 most {} MiB",
                MAX_REGION_BYTES >> 20
            ),
            "words are one array beat wide, so a capacity in kib smaller than one word rounds \
             down to nothing; edge SRAMs are far below 64 MiB"
                .to_owned(),
        ));
    }
    Ok(words)
}

fn capacity_violation(
    file: &SourceFile<'_>,
    key_path: &'static str,
    capacity: &Spanned<String>,
    rule: String,
    reason: String,
) -> ConfigError {
    file.invalid(
        capacity,
        file.written(capacity, || capacity.value.clone()),
        Violation {
            key_path,
            rule,
            reason,
            label: "not a buffer capacity".to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, Dataflow};

    fn config(dataflow: &str, rows: u32, cols: u32, buffers: &str) -> String {
        format!(
            "name: t\nclock: {{frequency_mhz: 100}}\npe_array: {{rows: {rows}, cols: {cols}, dataflow: {dataflow}}}\n\
             pe: {{kind: parallel, act: {{bits: 8, signed: true}}, weight: {{bits: 8, signed: true}}}}\n\
             buffers:\n{buffers}"
        )
    }

    #[test]
    fn capacities_in_kib_and_words_give_depths_banks_and_address_widths() {
        let text = config(
            "weight_stationary",
            8,
            8,
            "  ifmap: {capacity: 64 kib, banks: 4, double_buffered: true}\n  weight: {capacity: 16 kib}\n  psum: {capacity: 512 words}\n",
        );
        let buffers = load_str(&text, "t.yaml").unwrap().buffers.unwrap();
        // 64 KiB of 8 int8 lanes (64-bit words) in 4 banks.
        assert_eq!(buffers.ifmap.word_bits, 64);
        assert_eq!(buffers.ifmap.depth, 8192);
        assert_eq!(buffers.ifmap.bank_depth, 2048);
        assert_eq!(buffers.ifmap.bank_address_bits, 11);
        assert_eq!(buffers.ifmap.address_bits, 13);
        assert!(buffers.ifmap.double_buffered);
        assert_eq!(buffers.ifmap.bytes(), 64 * 1024);
        // 8 int32 accumulators per psum word.
        assert_eq!(buffers.psum.word_bits, 256);
        assert_eq!(buffers.psum.depth, 512);
        assert!(!buffers.psum.double_buffered);
    }

    #[test]
    fn kib_rounds_down_to_whole_words_and_input_stationary_swaps_the_lanes() {
        let text = config(
            "input_stationary",
            4,
            6,
            "  ifmap: {capacity: 1 kib}\n  weight: {capacity: 1 kib}\n  psum: {capacity: 64 words}\n",
        );
        let spec = load_str(&text, "t.yaml").unwrap();
        assert_eq!(spec.pe_array.dataflow, Dataflow::InputStationary);
        let buffers = spec.buffers.unwrap();
        // IS holds activations across the 6 columns: 48-bit words; 8192 / 48 = 170.67 → 170.
        assert_eq!(buffers.ifmap.word_bits, 48);
        assert_eq!(buffers.ifmap.depth, 170);
        // Weights stream down the 4 rows: 32-bit words.
        assert_eq!(buffers.weight.word_bits, 32);
        assert_eq!(buffers.weight.depth, 256);
    }

    #[test]
    fn a_skipping_core_adds_the_next_index_and_last_flag_to_the_ifmap_word_only() {
        let text = config(
            "output_stationary",
            8,
            8,
            "  ifmap: {capacity: 2048 words}\n  weight: {capacity: 16 kib}\n  psum: {capacity: 64 words}\n",
        )
        .replace("buffers:", "zero_skip: {activations: true}\nbuffers:");
        let buffers = load_str(&text, "t.yaml").unwrap().buffers.unwrap();
        // 8 int8 activations and ZeroSkipSpec::INDEX_BITS = 16 + 1: 81 bits.
        assert_eq!(buffers.ifmap.word_bits, 8 * 8 + 17);
        assert_eq!(buffers.ifmap.depth, 2048);
        assert_eq!(buffers.weight.word_bits, 64);
        assert_eq!(buffers.psum.word_bits, 256);
    }

    #[test]
    fn a_config_without_buffers_has_none() {
        let text = config("output_stationary", 2, 2, "").replace("buffers:\n", "");
        assert!(load_str(&text, "t.yaml").unwrap().buffers.is_none());
    }
}
