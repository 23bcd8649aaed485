//! Rules of the `zero_skip:` section: which cores can skip zero operands. Activation skipping
//! needs the buffered core (its feeders do the skipping), the output-stationary dataflow,
//! parallel PEs and room in the accumulator for the centred (one bit wider) activations; an
//! absent section or key is off.

use super::{ConfigError, SourceFile, Violation};
use crate::config::schema::RawPe;
use crate::config::schema::RawZeroSkip;
use crate::config::spec::{Dataflow, PeSpec, ZeroSkipSpec};

/// The section checked against the core it would skip in; `None` (no section) skips nothing.
/// Rules in order: a `buffers:` section, parallel or Pragmatic PEs, the output-stationary
/// dataflow (a Stripes PE is already refused on any other dataflow than weight-stationary, so
/// checking the dataflow first would hide the PE rule), then an accumulator as wide as one
/// product of the centred activations. Pragmatic PEs need the section on
/// ([`validate_pragmatic_needs_skipping`]).
pub(super) fn validate_zero_skip(
    file: &SourceFile<'_>,
    raw: Option<&RawZeroSkip>,
    has_buffers: bool,
    dataflow: Dataflow,
    pe: &PeSpec,
) -> Result<ZeroSkipSpec, ConfigError> {
    let Some(activations) = raw.and_then(|raw| raw.activations.as_ref()) else {
        return Ok(ZeroSkipSpec::default());
    };
    if !activations.value {
        return Ok(ZeroSkipSpec::default());
    }
    let refuse = |rule: String, reason: &str, label: &str| {
        file.invalid(
            activations,
            file.written(activations, || "true".to_owned()),
            Violation {
                key_path: "zero_skip.activations",
                rule,
                reason: reason.to_owned(),
                label: label.to_owned(),
            },
        )
    };
    if !has_buffers {
        return Err(refuse(
            "needs a `buffers:` section".to_owned(),
            "skipping is done by the buffered core's feeders: the ifmap holds only the reduction \
             steps with a non-zero activation, each with the index of the next, and the weight \
             feeder fetches the matching weights; add a `buffers:` section or remove \
             `zero_skip.activations`",
            "needs buffers:",
        ));
    }
    if pe.kind.is_stripes() {
        return Err(refuse(
            "needs `pe.kind: parallel` or `pe.serial.mode: pragmatic`, not Stripes".to_owned(),
            "the skipping core feeds the array centred activations (`a − a_zp`, one bit wider) \
             for parallel multipliers or Bit-Pragmatic PEs; Stripes PEs are weight-stationary \
             and take stored activations bit by bit, so set `pe.kind: parallel` or remove \
             `zero_skip.activations`",
            "parallel or Pragmatic PEs only",
        ));
    }
    if dataflow != Dataflow::OutputStationary {
        return Err(refuse(
            format!(
                "needs `pe_array.dataflow: output_stationary`, not {}",
                dataflow.config_name()
            ),
            "activation skipping is built for the output-stationary core, where a skipped \
             reduction step changes no output's address: each PE keeps accumulating its own \
             output while the feeders jump to the next non-zero step",
            "output-stationary only",
        ));
    }
    let skipping = ZeroSkipSpec { activations: true };
    let product_bits = skipping.array_act(pe.act).bits + pe.weight.bits;
    if pe.acc_bits < product_bits {
        return Err(refuse(
            format!(
                "needs `pe.accumulator_bits` of at least {product_bits}, not {}",
                pe.acc_bits
            ),
            "the skipping core's array multiplies centred activations (`a − a_zp`, one bit \
             wider than the stored ones), so one product needs a bit more; widen \
             `pe.accumulator_bits` or omit it to derive it",
            "accumulator too narrow",
        ));
    }
    Ok(skipping)
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
