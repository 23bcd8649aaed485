//! Every rule a config must satisfy, with its message; turns a [`RawConfig`] into an
//! [`AcceleratorSpec`] and computes the derived values (clock period, accumulator width) once.
//!
//! Rules are checked in file order and the first broken one is reported, pointing at the offending
//! value. Each message names the key path, the value as written, the rule and the reason.

mod buffers;
mod energy;
mod zero_skip;

use crate::hdl::naming;
use std::ops::RangeInclusive;

use miette::NamedSource;
use serde_saphyr::Spanned;

use super::error::{location_to_span, ConfigError, InvalidValue};
use super::schema::{RawConfig, RawDataflow, RawOperand, RawPe, RawPeKind, RawSerialMode};
use super::spec::{
    AcceleratorSpec, ClockSpec, Dataflow, OperandSpec, PeArraySpec, PeKind, PeSpec, SerialMode,
};

/// Dataflows this version can build. A dataflow the schema knows but this list lacks is rejected
/// with "not implemented in this version"; extend the list as dataflows land.
pub const IMPLEMENTED_DATAFLOWS: &[Dataflow] = &[
    Dataflow::WeightStationary,
    Dataflow::OutputStationary,
    Dataflow::InputStationary,
];

/// PE kinds this version can build.
pub const IMPLEMENTED_PE_KINDS: &[PeKind] = &[
    PeKind::Parallel,
    PeKind::BitSerial(SerialMode::Stripes),
    PeKind::BitSerial(SerialMode::Pragmatic),
];

/// Highest clock frequency accepted, in MHz: beyond this no edge process closes timing, so the
/// value is almost certainly a unit mistake (Hz or kHz instead of MHz).
pub const MAX_FREQUENCY_MHZ: f64 = 2000.0;

/// Allowed PE array rows and columns; 256×256 (65536 PEs, the TPUv1 size) bounds the total too.
pub const ARRAY_AXIS_RANGE: RangeInclusive<i64> = 1..=256;

/// Allowed operand widths: 1-bit (binary) operands need XNOR-popcount PEs, not MACs; above 16
/// bits an edge accelerator is the wrong tool.
pub const OPERAND_BITS_RANGE: RangeInclusive<i64> = 2..=16;

/// Widest accumulator: the golden model accumulates in `i64`.
pub const MAX_ACCUMULATOR_BITS: i64 = 64;

/// `pe.max_reduction` when absent: 2^16 products, which gives int8×int8 the 32-bit accumulator
/// TFLite uses.
pub const DEFAULT_MAX_REDUCTION: i64 = 65536;

/// Allowed `pe.max_reduction`: up to 2^24 products per output (e.g. a 3×3 conv over 1.8M channels).
pub const MAX_REDUCTION_RANGE: RangeInclusive<i64> = 1..=16_777_216;

/// Checks every rule and builds the spec. `source` and `file_name` are only used to point errors at
/// the file; `config_hash` is stamped into the spec as is.
pub fn validate(
    raw: &RawConfig,
    source: &str,
    file_name: &str,
    config_hash: String,
) -> Result<AcceleratorSpec, ConfigError> {
    let file = SourceFile {
        text: source,
        name: file_name,
    };
    let name = validate_name(&file, &raw.name)?;
    let clock = validate_clock(&file, &raw.clock.frequency_mhz)?;
    let pe_array = PeArraySpec {
        rows: validate_array_axis(&file, "pe_array.rows", &raw.pe_array.rows)?,
        cols: validate_array_axis(&file, "pe_array.cols", &raw.pe_array.cols)?,
        dataflow: validate_dataflow(&file, &raw.pe_array.dataflow)?,
    };
    let pe = validate_pe(&file, &raw.pe, pe_array.dataflow)?;
    let zero_skip = zero_skip::validate_zero_skip(
        &file,
        raw.zero_skip.as_ref(),
        raw.buffers.is_some(),
        pe_array.dataflow,
        &pe,
    )?;
    zero_skip::validate_pragmatic_needs_skipping(&file, &raw.pe, &pe, zero_skip)?;
    let buffers = match &raw.buffers {
        Some(raw_buffers) => Some(buffers::validate_buffers(
            &file,
            raw_buffers,
            &pe_array,
            &pe,
            zero_skip,
        )?),
        None => None,
    };
    let energy = energy::validate_energy(&file, raw.energy.as_ref())?;
    Ok(AcceleratorSpec {
        name,
        clock,
        pe_array,
        pe,
        buffers,
        energy,
        zero_skip,
        config_hash,
    })
}

/// Accumulator width derived from the operands: act.bits + weight.bits + ceil(log2(max_reduction)),
/// enough for a sum of `max_reduction` full-range products without overflow.
pub fn derived_accumulator_bits(act_bits: u32, weight_bits: u32, max_reduction: u64) -> u32 {
    act_bits + weight_bits + ceil_log2(max_reduction)
}

/// ceil(log2(value)) for value >= 1 (0 for 1).
fn ceil_log2(value: u64) -> u32 {
    if value <= 1 {
        0
    } else {
        u64::BITS - (value - 1).leading_zeros()
    }
}

/// The config text, to quote values and point errors at them.
struct SourceFile<'a> {
    text: &'a str,
    name: &'a str,
}

/// One broken rule, before it is placed in the file.
struct Violation<'a> {
    key_path: &'a str,
    rule: String,
    reason: String,
    label: String,
}

impl SourceFile<'_> {
    /// The value as written in the file (so `0x10` is quoted as `0x10`, not 16), or `fallback` if
    /// the location is unknown.
    fn written<T>(&self, value: &Spanned<T>, fallback: impl FnOnce() -> String) -> String {
        let span = location_to_span(&value.referenced, self.text);
        let written = self
            .text
            .get(span.offset()..span.offset() + span.len())
            .map(str::trim)
            .unwrap_or_default();
        if written.is_empty() {
            fallback()
        } else {
            written.to_owned()
        }
    }

    fn invalid<T>(
        &self,
        value: &Spanned<T>,
        written: String,
        violation: Violation<'_>,
    ) -> ConfigError {
        ConfigError::Invalid(Box::new(InvalidValue {
            key_path: violation.key_path.to_owned(),
            value: written,
            rule: violation.rule,
            reason: violation.reason,
            source_code: NamedSource::new(self.name, self.text.to_owned()),
            span: location_to_span(&value.referenced, self.text),
            label: violation.label,
        }))
    }

    /// Checks an integer against an inclusive range; the error says "must be at least … and at
    /// most …" so it reads the same for every integer key.
    fn check_range(
        &self,
        key_path: &str,
        value: &Spanned<i64>,
        range: &RangeInclusive<i64>,
        reason: impl FnOnce() -> String,
    ) -> Result<(), ConfigError> {
        if range.contains(&value.value) {
            return Ok(());
        }
        let written = self.written(value, || value.value.to_string());
        Err(self.invalid(
            value,
            written,
            Violation {
                key_path,
                rule: format!(
                    "must be at least {} and at most {}",
                    range.start(),
                    range.end()
                ),
                reason: reason(),
                label: if value.value < *range.start() {
                    format!("below the minimum {}", range.start())
                } else {
                    format!("above the maximum {}", range.end())
                },
            },
        ))
    }
}

fn validate_name(file: &SourceFile<'_>, name: &Spanned<String>) -> Result<String, ConfigError> {
    let text = &name.value;
    let key_path = "name";
    let written = file.written(name, || format!("{text:?}"));
    let reason = "`name` becomes the Verilog top module's name, so it must be a plain identifier: \
                  letters, digits and `_`, not starting with a digit, e.g. `edge_tpu`";
    let violation = |rule: String, label: &str| Violation {
        key_path,
        rule,
        reason: reason.to_owned(),
        label: label.to_owned(),
    };
    if text.is_empty() {
        return Err(file.invalid(
            name,
            written,
            violation("must not be empty".to_owned(), "empty name"),
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|character| !(character.is_ascii_alphanumeric() || *character == '_'))
    {
        return Err(file.invalid(
            name,
            written,
            violation(
                format!("contains {bad:?}, which a Verilog identifier cannot contain"),
                "not a Verilog identifier",
            ),
        ));
    }
    if text.starts_with(|character: char| character.is_ascii_digit()) {
        return Err(file.invalid(
            name,
            written,
            violation(
                "starts with a digit, which a Verilog identifier cannot".to_owned(),
                "not a Verilog identifier",
            ),
        ));
    }
    if naming::VERILOG_2005_KEYWORDS.contains(&text.as_str()) {
        return Err(file.invalid(
            name,
            written,
            Violation {
                key_path,
                rule: "is a Verilog-2005 keyword".to_owned(),
                reason: format!(
                    "`name` becomes the Verilog top module's name, and a keyword cannot name a \
                     module; choose another name, e.g. `{text}_accel`"
                ),
                label: "Verilog keyword".to_owned(),
            },
        ));
    }
    if naming::SYSTEMVERILOG_ONLY_KEYWORDS.contains(&text.as_str()) {
        return Err(file.invalid(
            name,
            written,
            Violation {
                key_path,
                rule: "is a SystemVerilog keyword".to_owned(),
                reason: format!(
                    "`name` becomes the Verilog top module's name, and Verilator and most tools \
                     read .v files with SystemVerilog keywords; choose another name, e.g. \
                     `{text}_accel`"
                ),
                label: "SystemVerilog keyword".to_owned(),
            },
        ));
    }
    Ok(text.clone())
}

fn validate_clock(
    file: &SourceFile<'_>,
    frequency_mhz: &Spanned<f64>,
) -> Result<ClockSpec, ConfigError> {
    let value = frequency_mhz.value;
    if value.is_finite() && value > 0.0 && value <= MAX_FREQUENCY_MHZ {
        return Ok(ClockSpec {
            frequency_mhz: value,
            period_ns: 1000.0 / value,
        });
    }
    let written = file.written(frequency_mhz, || value.to_string());
    Err(file.invalid(
        frequency_mhz,
        written,
        Violation {
            key_path: "clock.frequency_mhz",
            rule: format!("must be greater than 0 and at most {MAX_FREQUENCY_MHZ}"),
            reason: "the clock frequency is in MHz, e.g. `frequency_mhz: 200` for a 5 ns period"
                .to_owned(),
            label: "not a clock frequency in MHz".to_owned(),
        },
    ))
}

fn validate_array_axis(
    file: &SourceFile<'_>,
    key_path: &str,
    value: &Spanned<i64>,
) -> Result<u32, ConfigError> {
    file.check_range(key_path, value, &ARRAY_AXIS_RANGE, || {
        format!(
            "the PE array is at most {max}×{max} PEs ({total} in all); larger arrays would not \
             fit an edge device",
            max = ARRAY_AXIS_RANGE.end(),
            total = ARRAY_AXIS_RANGE.end() * ARRAY_AXIS_RANGE.end(),
        )
    })?;
    Ok(u32::try_from(value.value).expect("range-checked above"))
}

fn validate_dataflow(
    file: &SourceFile<'_>,
    dataflow: &Spanned<RawDataflow>,
) -> Result<Dataflow, ConfigError> {
    let resolved = match dataflow.value {
        RawDataflow::WeightStationary => Dataflow::WeightStationary,
        RawDataflow::OutputStationary => Dataflow::OutputStationary,
        RawDataflow::InputStationary => Dataflow::InputStationary,
        RawDataflow::RowStationary => Dataflow::RowStationary,
    };
    if IMPLEMENTED_DATAFLOWS.contains(&resolved) {
        return Ok(resolved);
    }
    let implemented = IMPLEMENTED_DATAFLOWS
        .iter()
        .map(|dataflow| dataflow.config_name())
        .collect::<Vec<_>>()
        .join(", ");
    Err(file.invalid(
        dataflow,
        resolved.config_name().to_owned(),
        Violation {
            key_path: "pe_array.dataflow",
            rule: format!("is not implemented in this version; implemented: {implemented}"),
            reason: format!("use one of: {implemented}"),
            label: "not implemented yet".to_owned(),
        },
    ))
}

fn validate_pe(
    file: &SourceFile<'_>,
    raw: &RawPe,
    dataflow: Dataflow,
) -> Result<PeSpec, ConfigError> {
    let kind = match raw.kind.value {
        RawPeKind::Parallel => {
            if let Some(serial) = &raw.serial {
                return Err(file.invalid(
                    serial,
                    "{…}".to_owned(),
                    Violation {
                        key_path: "pe.serial",
                        rule: "applies only to `kind: bit_serial`".to_owned(),
                        reason: "a parallel PE takes every operand bit at once; remove \
                                 `serial:` or set `kind: bit_serial`"
                            .to_owned(),
                        label: "needs kind: bit_serial".to_owned(),
                    },
                ));
            }
            PeKind::Parallel
        }
        RawPeKind::BitSerial => {
            let mode = match raw.serial.as_ref().map(|serial| &serial.value.mode) {
                None => SerialMode::Stripes,
                Some(mode) => match mode.value {
                    RawSerialMode::Stripes => SerialMode::Stripes,
                    RawSerialMode::Pragmatic => SerialMode::Pragmatic,
                    RawSerialMode::Loom => {
                        return Err(file.invalid(
                            mode,
                            "loom".to_owned(),
                            Violation {
                                key_path: "pe.serial.mode",
                                rule: "is not implemented yet; implemented: stripes, pragmatic"
                                    .to_owned(),
                                reason: "Loom (both operands serial) is planned; use \
                                         `mode: stripes` or `mode: pragmatic`"
                                    .to_owned(),
                                label: "not implemented yet".to_owned(),
                            },
                        ));
                    }
                },
            };
            // Stripes is built into the weight-stationary array, Pragmatic into a broadcast
            // output-stationary one (a brick of R pixels shares its cycles only there).
            let (needed, reason, label) = match mode {
                SerialMode::Stripes => (
                    Dataflow::WeightStationary,
                    "Stripes PEs hold the weights and take the streamed activations one bit \
                     per cycle, so this version builds them into the weight-stationary array \
                     only",
                    "weight-stationary only",
                ),
                SerialMode::Pragmatic => (
                    Dataflow::OutputStationary,
                    "Bit-Pragmatic PEs take a brick of R activations (R output pixels, one \
                     reduction step) in lockstep for as many cycles as its busiest lane has \
                     one-bits; only an output-stationary array with broadcast operands keeps \
                     a brick together, so this version builds them there only",
                    "output-stationary only",
                ),
            };
            if dataflow != needed {
                return Err(file.invalid(
                    &raw.kind,
                    "bit_serial".to_owned(),
                    Violation {
                        key_path: "pe.kind",
                        rule: format!(
                            "needs `pe_array.dataflow: {}`, not {}",
                            needed.config_name(),
                            dataflow.config_name()
                        ),
                        reason: reason.to_owned(),
                        label: label.to_owned(),
                    },
                ));
            }
            PeKind::BitSerial(mode)
        }
    };
    debug_assert!(IMPLEMENTED_PE_KINDS.contains(&kind));
    let act = validate_operand(file, "pe.act.bits", &raw.act)?;
    let weight = validate_operand(file, "pe.weight.bits", &raw.weight)?;
    let acc_bits = validate_accumulator(file, raw, act, weight)?;
    Ok(PeSpec {
        kind,
        act,
        weight,
        acc_bits,
    })
}

fn validate_operand(
    file: &SourceFile<'_>,
    key_path: &str,
    raw: &RawOperand,
) -> Result<OperandSpec, ConfigError> {
    file.check_range(key_path, &raw.bits, &OPERAND_BITS_RANGE, || {
        format!(
            "operands are {}- to {}-bit integers (int8, int4 and int2 are the usual choices); \
             binary (1-bit) networks need XNOR-popcount PEs, which are not supported",
            OPERAND_BITS_RANGE.start(),
            OPERAND_BITS_RANGE.end()
        )
    })?;
    Ok(OperandSpec {
        bits: u32::try_from(raw.bits.value).expect("range-checked above"),
        signed: raw.signed,
    })
}

fn validate_accumulator(
    file: &SourceFile<'_>,
    raw: &RawPe,
    act: OperandSpec,
    weight: OperandSpec,
) -> Result<u32, ConfigError> {
    let max_reduction = match &raw.max_reduction {
        Some(max_reduction) => {
            file.check_range(
                "pe.max_reduction",
                max_reduction,
                &MAX_REDUCTION_RANGE,
                || {
                    "`max_reduction` is the most products summed into one output (e.g. \
                     kernel_h·kernel_w·in_channels); it sizes the accumulator"
                        .to_owned()
                },
            )?;
            max_reduction.value
        }
        None => DEFAULT_MAX_REDUCTION,
    };
    let max_reduction = u64::try_from(max_reduction).expect("range-checked above");
    let product_bits = act.bits + weight.bits;
    let derived = derived_accumulator_bits(act.bits, weight.bits, max_reduction);
    let Some(accumulator_bits) = &raw.accumulator_bits else {
        return Ok(derived);
    };
    let key_path = "pe.accumulator_bits";
    let written = file.written(accumulator_bits, || accumulator_bits.value.to_string());
    if accumulator_bits.value < i64::from(product_bits) {
        return Err(file.invalid(
            accumulator_bits,
            written,
            Violation {
                key_path,
                rule: format!(
                    "must be at least act.bits + weight.bits = {} + {} = {product_bits}",
                    act.bits, weight.bits
                ),
                reason: format!(
                    "one {}-bit × {}-bit product already needs {product_bits} bits; omit \
                     `accumulator_bits` to derive it ({derived} bits for max_reduction \
                     {max_reduction})",
                    act.bits, weight.bits
                ),
                label: format!("narrower than one product ({product_bits} bits)"),
            },
        ));
    }
    if accumulator_bits.value > MAX_ACCUMULATOR_BITS {
        return Err(file.invalid(
            accumulator_bits,
            written,
            Violation {
                key_path,
                rule: format!("must be at most {MAX_ACCUMULATOR_BITS}"),
                reason: format!(
                    "the golden model accumulates in 64-bit integers; omit `accumulator_bits` to \
                     derive it ({derived} bits for max_reduction {max_reduction})"
                ),
                label: format!("above the maximum {MAX_ACCUMULATOR_BITS}"),
            },
        ));
    }
    // Both keys given: the explicit width wins, but it must hold the reduction the config promises,
    // or sums would silently wrap.
    if let Some(max_reduction_value) = &raw.max_reduction {
        if accumulator_bits.value < i64::from(derived) {
            return Err(file.invalid(
                accumulator_bits,
                written,
                Violation {
                    key_path,
                    rule: format!(
                        "is too narrow for `pe.max_reduction` = {}: a sum of that many products \
                         needs act.bits + weight.bits + ceil(log2(max_reduction)) = {} + {} + {} \
                         = {derived} bits",
                        max_reduction_value.value,
                        act.bits,
                        weight.bits,
                        ceil_log2(max_reduction)
                    ),
                    reason: format!(
                        "widen `accumulator_bits` to at least {derived}, lower `max_reduction`, \
                         or omit one of the two keys"
                    ),
                    label: format!("needs at least {derived} bits"),
                },
            ));
        }
    }
    Ok(u32::try_from(accumulator_bits.value).expect("range-checked above"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, load_str};
    use std::path::Path;

    /// tiny_2x2 with the `pe:` section replaced by `pe_section`.
    fn config_with_pe(pe_section: &str) -> String {
        format!(
            "name: probe\nclock:\n  frequency_mhz: 250\npe_array:\n  rows: 4\n  cols: 3\n  \
             dataflow: weight_stationary\npe:\n  kind: parallel\n{pe_section}"
        )
    }

    fn load_pe(pe_section: &str) -> Result<PeSpec, ConfigError> {
        load_str(&config_with_pe(pe_section), "probe.yaml").map(|spec| spec.pe)
    }

    fn expect_acc_bits(pe_section: &str, expected: u32) {
        match load_pe(pe_section) {
            Ok(pe) => assert_eq!(pe.acc_bits, expected, "accumulator bits for\n{pe_section}"),
            Err(error) => panic!("config should load, got {error}\n{pe_section}"),
        }
    }

    #[test]
    fn default_accumulator_for_int8_is_32_bits() {
        expect_acc_bits(
            "  act: {bits: 8, signed: true}\n  weight: {bits: 8, signed: true}\n",
            32,
        );
    }

    #[test]
    fn default_accumulator_for_int4_is_24_bits() {
        expect_acc_bits(
            "  act: {bits: 4, signed: true}\n  weight: {bits: 4, signed: false}\n",
            24,
        );
    }

    #[test]
    fn max_reduction_1_gives_accumulator_of_act_plus_weight_bits() {
        expect_acc_bits(
            "  act: {bits: 8, signed: true}\n  weight: {bits: 6, signed: true}\n  max_reduction: 1\n",
            14,
        );
    }

    #[test]
    fn max_reduction_rounds_up_to_the_next_power_of_two() {
        // 65537 products need 17 guard bits, one more than 65536.
        expect_acc_bits(
            "  act: {bits: 8, signed: true}\n  weight: {bits: 8, signed: true}\n  max_reduction: 65537\n",
            33,
        );
        assert_eq!(derived_accumulator_bits(8, 8, 2), 17);
        assert_eq!(derived_accumulator_bits(8, 8, 3), 18);
        assert_eq!(derived_accumulator_bits(16, 16, 16_777_216), 56);
    }

    #[test]
    fn explicit_accumulator_wins_over_the_derived_width() {
        expect_acc_bits(
            "  act: {bits: 8, signed: true}\n  weight: {bits: 8, signed: true}\n  accumulator_bits: 20\n",
            20,
        );
        expect_acc_bits(
            "  act: {bits: 8, signed: true}\n  weight: {bits: 8, signed: true}\n  accumulator_bits: 40\n  max_reduction: 256\n",
            40,
        );
    }

    #[test]
    fn accumulator_narrower_than_the_promised_reduction_is_rejected() {
        let error = load_pe(
            "  act: {bits: 8, signed: true}\n  weight: {bits: 8, signed: true}\n  accumulator_bits: 23\n  max_reduction: 256\n",
        )
        .expect_err("23 bits cannot hold 256 int8 products (needs 24)");
        assert_eq!(error.key_path(), Some("pe.accumulator_bits"), "{error}");
        assert!(error.to_string().contains("= 24 bits"), "{error}");
    }

    #[test]
    fn shipped_edge_ws_config_loads_as_an_8x8_int8_weight_stationary_array() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/edge_ws.yaml");
        let spec = load(&path).unwrap_or_else(|error| panic!("{error:?}"));
        let int8 = OperandSpec {
            bits: 8,
            signed: true,
        };
        assert_eq!(spec.name, "edge_ws");
        assert!(spec.buffers.is_none(), "edge_ws is the bare array");
        assert_eq!(spec.clock.frequency_mhz, 200.0);
        assert_eq!(spec.clock.period_ns, 5.0);
        assert_eq!(
            spec.pe_array,
            PeArraySpec {
                rows: 8,
                cols: 8,
                dataflow: Dataflow::WeightStationary
            }
        );
        assert_eq!(
            spec.pe,
            PeSpec {
                kind: PeKind::Parallel,
                act: int8,
                weight: int8,
                acc_bits: 32
            }
        );
        let bytes = std::fs::read(&path).expect("config is readable");
        assert_eq!(spec.config_hash, crate::config::config_hash(&bytes));
    }

    #[test]
    fn shipped_edge_tpu_config_loads_as_a_16x16_int8_core_with_272_kib_of_sky130_sram_regions() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/edge_tpu.yaml");
        let spec = load(&path).unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(spec.name, "edge_tpu");
        assert_eq!(
            spec.pe_array,
            PeArraySpec {
                rows: 16,
                cols: 16,
                dataflow: Dataflow::WeightStationary
            }
        );
        assert_eq!(
            (spec.pe.act.bits, spec.pe.weight.bits, spec.pe.acc_bits),
            (8, 8, 32)
        );
        let buffers = spec.buffers.expect("edge_tpu is a buffered core");
        assert_eq!(buffers.memory, crate::config::MemoryKind::Sky130Sram);
        let kib: Vec<(&str, u64)> = buffers
            .regions()
            .iter()
            .map(|(region, buffer)| (*region, buffer.bytes() / 1024))
            .collect();
        assert_eq!(
            kib,
            [("ifmap", 64), ("weight", 64), ("psum", 16), ("ofmap", 128)]
        );
    }

    #[test]
    fn shipped_cnvlutin_like_config_loads_as_an_8x8_output_stationary_core_skipping_activations() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/cnvlutin_like.yaml");
        let spec = load(&path).unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(spec.name, "cnvlutin_like");
        assert_eq!(
            spec.pe_array,
            PeArraySpec {
                rows: 8,
                cols: 8,
                dataflow: Dataflow::OutputStationary
            }
        );
        assert_eq!(spec.pe.kind, PeKind::Parallel);
        assert!(spec.zero_skip.activations && spec.zero_skip.gating);
        assert_eq!(
            spec.summary(),
            "8x8 output_stationary array, i8 x i8 -> 32-bit accumulators, 200 MHz, \
             activation zero-skipping and zero-gating"
        );
        let buffers = spec.buffers.expect("skipping needs the buffered core");
        assert_eq!(buffers.memory, crate::config::MemoryKind::Sky130Sram);
        // 8 int8 activations + the next index and last flag; 2048 words, two halves.
        assert_eq!(
            (buffers.ifmap.word_bits, buffers.ifmap.depth),
            (8 * 8 + crate::config::ZeroSkipSpec::INDEX_BITS, 2048)
        );
        assert!(buffers.ifmap.double_buffered);
        assert_eq!((buffers.weight.word_bits, buffers.weight.depth), (64, 2048));
        // A 128-bit bus: one beat per compacted ifmap word.
        assert_eq!(buffers.dma.data_bits, 128);
    }

    #[test]
    fn shipped_cambricon_like_config_is_cnvlutin_like_skipping_weights_instead() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let spec = load(&dir.join("cambricon_like.yaml")).unwrap_or_else(|e| panic!("{e:?}"));
        let cnvlutin = load(&dir.join("cnvlutin_like.yaml")).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(spec.zero_skip.weights && spec.zero_skip.gating && !spec.zero_skip.activations);
        assert_eq!(
            spec.summary(),
            "8x8 output_stationary array, i8 x i8 -> 32-bit accumulators, 200 MHz, \
             weight zero-skipping and zero-gating"
        );
        // The same array, PEs, memories, bus and DRAM; the index moves to the weight word.
        assert_eq!((&spec.pe_array, spec.pe), (&cnvlutin.pe_array, cnvlutin.pe));
        let (ours, theirs) = (spec.buffers.unwrap(), cnvlutin.buffers.unwrap());
        let index = crate::config::ZeroSkipSpec::INDEX_BITS;
        assert_eq!(
            (ours.weight.word_bits, ours.weight.depth),
            (64 + index, 2048)
        );
        assert_eq!((ours.ifmap.word_bits, ours.ifmap.depth), (64, 2048));
        assert_eq!(theirs.ifmap.depth, 2048);
        assert_eq!((ours.psum, ours.ofmap), (theirs.psum, theirs.ofmap));
        assert_eq!(
            (ours.memory, ours.dma, ours.dram),
            (theirs.memory, theirs.dma, theirs.dram)
        );
    }

    #[test]
    fn shipped_tiny_2x2_config_loads_as_a_2x2_array() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tiny_2x2.yaml");
        let spec = load(&path).unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(spec.name, "tiny_2x2");
        assert_eq!((spec.pe_array.rows, spec.pe_array.cols), (2, 2));
        assert_eq!(spec.pe_array.pe_count(), 4);
        assert_eq!(spec.pe.acc_bits, 32);
    }

    #[test]
    fn config_hash_is_16_hex_digits_of_sha256() {
        // SHA-256("") = e3b0c44298fc1c14 9afbf4c8996fb924...
        assert_eq!(crate::config::config_hash(b""), "e3b0c44298fc1c14");
        let with_comment = format!(
            "# comment\n{}",
            config_with_pe("  act: {bits: 8, signed: true}\n  weight: {bits: 8, signed: true}\n")
        );
        let plain =
            config_with_pe("  act: {bits: 8, signed: true}\n  weight: {bits: 8, signed: true}\n");
        let hash_of = |text: &str| load_str(text, "probe.yaml").expect("loads").config_hash;
        assert_ne!(
            hash_of(&with_comment),
            hash_of(&plain),
            "the hash covers every byte"
        );
    }

    #[test]
    fn fractional_frequency_gives_its_exact_period() {
        let source =
            config_with_pe("  act: {bits: 8, signed: true}\n  weight: {bits: 8, signed: true}\n")
                .replace("frequency_mhz: 250", "frequency_mhz: 312.5");
        let spec = load_str(&source, "probe.yaml").unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(spec.clock.period_ns, 3.2);
    }

    #[test]
    fn every_dataflow_outside_the_implemented_list_is_rejected_naming_the_implemented_ones() {
        let base =
            config_with_pe("  act: {bits: 8, signed: true}\n  weight: {bits: 8, signed: true}\n");
        for dataflow in [
            Dataflow::WeightStationary,
            Dataflow::OutputStationary,
            Dataflow::InputStationary,
            Dataflow::RowStationary,
        ] {
            let source = base.replace("weight_stationary", dataflow.config_name());
            let result = load_str(&source, "probe.yaml");
            match (IMPLEMENTED_DATAFLOWS.contains(&dataflow), result) {
                (true, Ok(spec)) => assert_eq!(spec.pe_array.dataflow, dataflow),
                (false, Err(error)) => {
                    let message = error.to_string();
                    assert!(
                        message.contains("not implemented")
                            && message.contains("weight_stationary"),
                        "{}: {message}",
                        dataflow.config_name()
                    );
                }
                (implemented, result) => panic!(
                    "{}: implemented = {implemented}, but load gave {result:?}",
                    dataflow.config_name()
                ),
            }
        }
    }

    #[test]
    fn verilog_keywords_are_rejected_as_names_but_near_misses_are_not() {
        let base =
            config_with_pe("  act: {bits: 8, signed: true}\n  weight: {bits: 8, signed: true}\n");
        for keyword in ["module", "wire", "uwire", "logic", "interface"] {
            let source = base.replace("name: probe", &format!("name: {keyword}"));
            let error = load_str(&source, "probe.yaml").expect_err(keyword);
            assert_eq!(error.key_path(), Some("name"), "{keyword}: {error}");
        }
        for name in ["Module", "module_1", "_wire", "edge_tpu"] {
            let source = base.replace("name: probe", &format!("name: {name}"));
            if let Err(error) = load_str(&source, "probe.yaml") {
                panic!("{name} is a valid module name, got {error}");
            }
        }
    }

    #[test]
    fn error_names_the_file_name_given_to_load_str() {
        let error = load_str("name: [", "my_accel.yaml").expect_err("unclosed list");
        let rendered = format!("{:?}", miette::Report::new(error));
        assert!(rendered.contains("my_accel.yaml"), "{rendered}");
    }
}
