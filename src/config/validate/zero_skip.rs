//! Rules of the `zero_skip:` section: which cores can skip or gate zero operands. Activation
//! skipping, weight skipping and zero-gating each need the buffered core (its feeders skip,
//! centre and count), the output-stationary dataflow, parallel PEs (activation skipping: or
//! Bit-Pragmatic ones) and, where the core centres its activations, room in the accumulator for
//! the centred (one bit wider) activations. The core walks one compacted operand and fetches
//! the other by index, so activation and weight skipping exclude each other. An absent section
//! or key is off.

use super::{ConfigError, SourceFile, Violation};
use crate::config::schema::{RawPe, RawZeroSkip};
use crate::config::spec::{Dataflow, PeKind, PeSpec, ZeroSkipSpec};
use serde_saphyr::Spanned;

/// The section checked against the core it would skip in; `None` (no section) skips nothing.
/// Each key that is on ([`check_key`]) is checked on its own, activations first.
pub(super) fn validate_zero_skip(
    file: &SourceFile<'_>,
    raw: Option<&RawZeroSkip>,
    has_buffers: bool,
    dataflow: Dataflow,
    pe: &PeSpec,
) -> Result<ZeroSkipSpec, ConfigError> {
    fn on(key: Option<&Spanned<bool>>) -> Option<&Spanned<bool>> {
        key.filter(|key| key.value)
    }
    let activations = on(raw.and_then(|raw| raw.activations.as_ref()));
    let gating = on(raw.and_then(|raw| raw.gating.as_ref()));
    let weights = on(raw.and_then(|raw| raw.weights.as_ref()));
    let core = Core {
        has_buffers,
        dataflow,
        pe,
    };
    if let Some(key) = activations {
        check_key(file, key, &SKIPPING, &core)?;
    }
    if let Some(key) = weights {
        if activations.is_some() {
            return Err(refuse_both(file, key));
        }
        check_key(file, key, &WEIGHTS, &core)?;
    }
    if let Some(key) = gating {
        check_key(file, key, &GATING, &core)?;
    }
    Ok(ZeroSkipSpec {
        activations: activations.is_some(),
        gating: gating.is_some(),
        weights: weights.is_some(),
    })
}

/// Both operands compacted: refused at `zero_skip.weights`.
fn refuse_both(file: &SourceFile<'_>, key: &Spanned<bool>) -> ConfigError {
    file.invalid(
        key,
        file.written(key, || "true".to_owned()),
        Violation {
            key_path: WEIGHTS.path,
            rule: "cannot be combined with `zero_skip.activations`".to_owned(),
            reason: "the skipping core walks one compacted operand and fetches the other by the \
                     index each word carries; skipping both would need an intersection unit \
                     that matches two index streams (SCNN/SparTen-style), which this core does \
                     not have; keep one of `zero_skip.activations` and `zero_skip.weights`"
                .to_owned(),
            label: "one compacted operand only".to_owned(),
        },
    )
}

/// What the rules look at.
struct Core<'a> {
    has_buffers: bool,
    dataflow: Dataflow,
    pe: &'a PeSpec,
}

/// One key's wording: its path, what it does in the core (why it needs buffers), whether
/// Pragmatic PEs go with it and whether it makes the core centre its activations (so the
/// accumulator must hold a product one bit wider).
struct Key {
    path: &'static str,
    buffers_reason: &'static str,
    dataflow_reason: &'static str,
    pragmatic: bool,
    centres: bool,
}

const SKIPPING: Key = Key {
    path: "zero_skip.activations",
    buffers_reason: "skipping is done by the buffered core's feeders: the ifmap holds only the \
                     reduction steps with a non-zero activation, each with the index of the \
                     next, and the weight feeder fetches the matching weights",
    dataflow_reason: "activation skipping is built for the output-stationary core, where a \
                      skipped reduction step changes no output's address: each PE keeps \
                      accumulating its own output while the feeders jump to the next non-zero \
                      step",
    pragmatic: true,
    centres: true,
};

const WEIGHTS: Key = Key {
    path: "zero_skip.weights",
    buffers_reason: "skipping is done by the buffered core's feeders: the weight buffer holds \
                     only the reduction steps at which some weight of an N-fold is not zero, \
                     each with the index of the next, and the activation feeder fetches the \
                     matching activations",
    dataflow_reason: "weight skipping is built for the output-stationary core, where a skipped \
                      reduction step changes no output's address: each PE keeps accumulating \
                      its own output while the feeders jump to the next step with a non-zero \
                      weight",
    pragmatic: false,
    centres: false,
};

const GATING: Key = Key {
    path: "zero_skip.gating",
    buffers_reason: "the buffered core centres the activations (`a − a_zp`, from the \
                     descriptor's zero point) so that a real zero is a zero, and counts the \
                     gated MACs",
    dataflow_reason: "zero-gating is built into the output-stationary PE, whose accumulator \
                      holds when its activation or weight is zero; the core counts the gated \
                      MACs from the operands it feeds",
    pragmatic: false,
    centres: true,
};

/// Rules in order: a `buffers:` section, parallel PEs (or Pragmatic ones, for skipping), the
/// output-stationary dataflow (a Stripes PE is already refused on any other dataflow than
/// weight-stationary, so checking the dataflow first would hide the PE rule), then an
/// accumulator as wide as one product of the centred activations.
fn check_key(
    file: &SourceFile<'_>,
    key: &Spanned<bool>,
    rules: &Key,
    core: &Core<'_>,
) -> Result<(), ConfigError> {
    let refuse = |rule: String, reason: String, label: &str| {
        file.invalid(
            key,
            file.written(key, || "true".to_owned()),
            Violation {
                key_path: rules.path,
                rule,
                reason,
                label: label.to_owned(),
            },
        )
    };
    let path = rules.path;
    if !core.has_buffers {
        return Err(refuse(
            "needs a `buffers:` section".to_owned(),
            format!(
                "{}; add a `buffers:` section or remove `{path}`",
                rules.buffers_reason
            ),
            "needs buffers:",
        ));
    }
    let pe_fits =
        core.pe.kind == PeKind::Parallel || (rules.pragmatic && core.pe.kind.is_pragmatic());
    if !pe_fits {
        let (rule, reason, label) = if rules.pragmatic {
            (
                "needs `pe.kind: parallel` or `pe.serial.mode: pragmatic`, not Stripes".to_owned(),
                format!(
                    "the skipping core feeds the array centred activations (`a − a_zp`, one bit \
                     wider) for parallel multipliers or Bit-Pragmatic PEs; Stripes PEs are \
                     weight-stationary and take stored activations bit by bit, so set \
                     `pe.kind: parallel` or remove `{path}`"
                ),
                "parallel or Pragmatic PEs only",
            )
        } else if rules.centres {
            (
                format!(
                    "needs `pe.kind: parallel`, not {}",
                    core.pe.kind.config_name()
                ),
                format!(
                    "zero-gating is built into the parallel output-stationary PE, whose \
                     accumulator holds on a zero product; set `pe.kind: parallel` or remove \
                     `{path}`"
                ),
                "parallel PEs only",
            )
        } else {
            (
                format!(
                    "needs `pe.kind: parallel`, not {}",
                    core.pe.kind.config_name()
                ),
                format!(
                    "weight skipping is built for the parallel output-stationary array; \
                     Stripes PEs are weight-stationary, and Bit-Pragmatic ones walk the \
                     activation-skipping core's bricks; set `pe.kind: parallel` or remove \
                     `{path}`"
                ),
                "parallel PEs only",
            )
        };
        return Err(refuse(rule, reason, label));
    }
    if core.dataflow != Dataflow::OutputStationary {
        return Err(refuse(
            format!(
                "needs `pe_array.dataflow: output_stationary`, not {}",
                core.dataflow.config_name()
            ),
            rules.dataflow_reason.to_owned(),
            "output-stationary only",
        ));
    }
    let centring = ZeroSkipSpec {
        activations: true,
        ..ZeroSkipSpec::default()
    };
    let product_bits = centring.array_act(core.pe.act).bits + core.pe.weight.bits;
    if rules.centres && core.pe.acc_bits < product_bits {
        return Err(refuse(
            format!(
                "needs `pe.accumulator_bits` of at least {product_bits}, not {}",
                core.pe.acc_bits
            ),
            "the array multiplies centred activations (`a − a_zp`, one bit wider than the \
             stored ones), so one product needs a bit more; widen `pe.accumulator_bits` or \
             omit it to derive it"
                .to_owned(),
            "accumulator too narrow",
        ));
    }
    Ok(())
}

/// Bit-Pragmatic PEs walk the one-bits of each activation's real value, `a − a_zp`, which the
/// zero-skip unit computes (a stored int8 zero, −128, has a one-bit where its real value has
/// none): they need `zero_skip.activations`, and the refusal points at `pe.serial.mode`.
pub(super) fn validate_pragmatic_needs_skipping(
    file: &SourceFile<'_>,
    raw: &RawPe,
    pe: &PeSpec,
    zero_skip: ZeroSkipSpec,
) -> Result<(), ConfigError> {
    let Some(serial) = raw.serial.as_ref() else {
        return Ok(());
    };
    if !pe.kind.is_pragmatic() || zero_skip.activations {
        return Ok(());
    }
    Err(file.invalid(
        &serial.value.mode,
        "pragmatic".to_owned(),
        Violation {
            key_path: "pe.serial.mode",
            rule: "needs `zero_skip: {activations: true}`".to_owned(),
            reason: "Bit-Pragmatic takes the one-bits of each activation's real value \
                     (`a − a_zp`), which the zero-skip unit computes, and a brick with no \
                     one-bit at all is one it would drop anyway; add `zero_skip: \
                     {activations: true}` or use `mode: stripes`"
                .to_owned(),
            label: "needs zero_skip.activations".to_owned(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, ZeroSkipSpec};

    /// An 8×8 int8 output-stationary core with `buffers:` and the given `zero_skip:` text.
    fn core(zero_skip: &str) -> String {
        format!(
            "name: t\nclock: {{frequency_mhz: 100}}\npe_array: {{rows: 8, cols: 8, dataflow: output_stationary}}\n\
             pe: {{kind: parallel, act: {{bits: 8, signed: true}}, weight: {{bits: 8, signed: true}}}}\n\
             {zero_skip}buffers:\n  ifmap: {{capacity: 2048 words}}\n  weight: {{capacity: 16 kib}}\n  psum: {{capacity: 64 words}}\n"
        )
    }

    #[test]
    fn absent_or_false_skips_nothing_and_true_skips_activations() {
        for off in ["", "zero_skip: {}\n", "zero_skip: {activations: false}\n"] {
            let spec = load_str(&core(off), "t.yaml").unwrap_or_else(|e| panic!("{off}: {e}"));
            assert_eq!(spec.zero_skip, ZeroSkipSpec::default(), "{off}");
            assert!(!spec.summary().contains("skipping"), "{off}");
        }
        let spec = load_str(&core("zero_skip: {activations: true}\n"), "t.yaml").unwrap();
        assert!(spec.zero_skip.activations);
        assert!(
            spec.summary().ends_with(", activation zero-skipping"),
            "{}",
            spec.summary()
        );
    }

    #[test]
    fn gating_alone_or_with_skipping_centres_the_activations() {
        let spec = load_str(&core("zero_skip: {gating: true}\n"), "t.yaml").unwrap();
        assert_eq!(
            spec.zero_skip,
            ZeroSkipSpec {
                gating: true,
                ..ZeroSkipSpec::default()
            }
        );
        assert!(spec.zero_skip.centres());
        assert_eq!(spec.zero_skip.array_act(spec.pe.act).bits, 9);
        assert!(
            spec.summary().ends_with(", zero-gating"),
            "{}",
            spec.summary()
        );
        // The ifmap word holds no index without skipping.
        assert_eq!(spec.buffers.unwrap().ifmap.word_bits, 64);
        let both = "zero_skip: {activations: true, gating: true}\n";
        let spec = load_str(&core(both), "t.yaml").unwrap();
        assert!(spec.zero_skip.activations && spec.zero_skip.gating);
        let error = load_str(
            &core("zero_skip: {gating: true}\n").replace("output_stationary", "weight_stationary"),
            "t.yaml",
        )
        .unwrap_err();
        assert_eq!(error.key_path(), Some("zero_skip.gating"));
    }

    #[test]
    fn weight_skipping_widens_the_weight_word_and_keeps_stored_activations() {
        let spec = load_str(&core("zero_skip: {weights: true}\n"), "t.yaml").unwrap();
        assert!(spec.zero_skip.weights && !spec.zero_skip.centres());
        assert_eq!(spec.zero_skip.array_act(spec.pe.act), spec.pe.act);
        let buffers = spec.buffers.as_ref().unwrap();
        // 8 int8 weights, then the fold's last flag and the next step: 64 + 17 bits.
        assert_eq!(buffers.weight.word_bits, 64 + ZeroSkipSpec::INDEX_BITS);
        assert_eq!(buffers.ifmap.word_bits, 64);
        assert!(
            spec.summary().ends_with(", weight zero-skipping"),
            "{}",
            spec.summary()
        );
        // Without centring, 8 × 8-bit products fit a 16-bit accumulator.
        let narrow = core("zero_skip: {weights: true}\n").replace(
            "weight: {bits: 8, signed: true}}",
            "weight: {bits: 8, signed: true}, accumulator_bits: 16}",
        );
        assert!(load_str(&narrow, "t.yaml").is_ok());
        let gating = load_str(
            &core("zero_skip: {weights: true, gating: true}\n"),
            "t.yaml",
        );
        let gating = gating.unwrap();
        assert!(gating.zero_skip.centres());
        assert!(gating
            .summary()
            .ends_with(", weight zero-skipping and zero-gating"));
        // The twin without skipping is the plain core.
        let plain = spec.with_weight_skipping(false, "plain");
        assert_eq!(plain.buffers.unwrap().weight.word_bits, 64);
        assert!(!plain.zero_skip.weights);
    }

    #[test]
    fn skipping_both_operands_is_refused_at_the_weights_key() {
        let both = "zero_skip: {activations: true, weights: true}\n";
        let error = load_str(&core(both), "t.yaml").unwrap_err();
        assert_eq!(error.key_path(), Some("zero_skip.weights"), "{error}");
        assert!(error.to_string().contains("cannot be combined"), "{error}");
        let bit_serial = core("zero_skip: {weights: true}\n")
            .replace("output_stationary", "weight_stationary")
            .replace("parallel", "bit_serial");
        let error = load_str(&bit_serial, "t.yaml").unwrap_err();
        assert_eq!(error.key_path(), Some("zero_skip.weights"), "{error}");
        assert!(error.to_string().contains("pe.kind: parallel"), "{error}");
    }

    #[test]
    fn refusals_name_the_key_and_point_at_its_value() {
        let on = "zero_skip:\n  activations: true\n";
        let cases = [
            (
                core(on).replace("output_stationary", "weight_stationary"),
                "output_stationary",
            ),
            (
                core(on)
                    .replace("output_stationary", "weight_stationary")
                    .replace("parallel", "bit_serial"),
                "pe.kind: parallel",
            ),
            (
                core(on).split("buffers:").next().unwrap().to_owned(),
                "buffers:",
            ),
            // 8-bit × 8-bit products fit 16 bits, the centred 9-bit × 8-bit ones do not.
            (
                core(on).replace(
                    "weight: {bits: 8, signed: true}}",
                    "weight: {bits: 8, signed: true}, accumulator_bits: 16}",
                ),
                "accumulator_bits` of at least 17",
            ),
        ];
        for (text, expected) in cases {
            let error = load_str(&text, "t.yaml").expect_err(expected);
            assert_eq!(error.key_path(), Some("zero_skip.activations"), "{error}");
            assert_eq!(error.line_column(), Some((6, 16)), "{error}");
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
}
