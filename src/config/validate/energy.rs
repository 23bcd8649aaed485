//! Rules of the `energy:` section: every cost is a finite, non-negative number of pJ; absent
//! keys keep the defaults of [`EnergySpec`].

use serde_saphyr::Spanned;

use super::{ConfigError, SourceFile, Violation};
use crate::config::schema::RawEnergy;
use crate::config::spec::EnergySpec;

/// The section over the defaults; `None` (no section) gives the defaults.
pub(super) fn validate_energy(
    file: &SourceFile<'_>,
    raw: Option<&RawEnergy>,
) -> Result<EnergySpec, ConfigError> {
    let defaults = EnergySpec::default();
    let Some(raw) = raw else {
        return Ok(defaults);
    };
    let cost = |key_path: &'static str, value: &Option<Spanned<f64>>, default: f64| {
        value
            .as_ref()
            .map_or(Ok(default), |value| check_cost(file, key_path, value))
    };
    Ok(EnergySpec {
        multiply_8x8_pj: cost(
            "energy.multiply_8x8_pj",
            &raw.multiply_8x8_pj,
            defaults.multiply_8x8_pj,
        )?,
        add_32_pj: cost("energy.add_32_pj", &raw.add_32_pj, defaults.add_32_pj)?,
        register_file_pj_per_byte: cost(
            "energy.register_file_pj_per_byte",
            &raw.register_file_pj_per_byte,
            defaults.register_file_pj_per_byte,
        )?,
        pe_to_pe_pj_per_byte: cost(
            "energy.pe_to_pe_pj_per_byte",
            &raw.pe_to_pe_pj_per_byte,
            defaults.pe_to_pe_pj_per_byte,
        )?,
        global_buffer_pj_per_64_bits: match &raw.global_buffer_pj_per_64_bits {
            Some(value) => Some(check_cost(
                file,
                "energy.global_buffer_pj_per_64_bits",
                value,
            )?),
            None => defaults.global_buffer_pj_per_64_bits,
        },
        dram_pj_per_64_bits: cost(
            "energy.dram_pj_per_64_bits",
            &raw.dram_pj_per_64_bits,
            defaults.dram_pj_per_64_bits,
        )?,
    })
}

/// A cost is energy: finite and not negative (0 is allowed, to leave a level out of the total).
fn check_cost(
    file: &SourceFile<'_>,
    key_path: &'static str,
    value: &Spanned<f64>,
) -> Result<f64, ConfigError> {
    if value.value.is_finite() && value.value >= 0.0 {
        return Ok(value.value);
    }
    let written = file.written(value, || value.value.to_string());
    Err(file.invalid(
        value,
        written,
        Violation {
            key_path,
            rule: "must be a finite number of pJ, at least 0".to_owned(),
            reason: "energy costs are picojoules per event; write 0 to leave a level out of \
                     the total, or omit the key to keep its default (Horowitz's 45 nm figures, \
                     listed by `accelgen report`)"
                .to_owned(),
            label: if value.value.is_finite() {
                "negative energy".to_owned()
            } else {
                "not a finite number".to_owned()
            },
        },
    ))
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, EnergySpec};

    const BASE: &str = "name: t\nclock: {frequency_mhz: 100}\n\
                        pe_array: {rows: 2, cols: 2, dataflow: weight_stationary}\n\
                        pe: {kind: parallel, act: {bits: 8, signed: true}, weight: {bits: 8, signed: true}}\n";

    #[test]
    fn an_absent_section_gives_the_defaults() {
        let spec = load_str(BASE, "t.yaml").unwrap();
        assert_eq!(spec.energy, EnergySpec::default());
    }

    #[test]
    fn given_keys_override_and_absent_keys_keep_their_defaults() {
        let text = format!(
            "{BASE}energy:\n  dram_pj_per_64_bits: 2600\n  global_buffer_pj_per_64_bits: 0\n"
        );
        let energy = load_str(&text, "t.yaml").unwrap().energy;
        assert_eq!(energy.dram_pj_per_64_bits, 2600.0);
        assert_eq!(energy.global_buffer_pj_per_64_bits, Some(0.0));
        assert_eq!(
            energy.multiply_8x8_pj,
            EnergySpec::default().multiply_8x8_pj
        );
    }

    #[test]
    fn negative_and_non_finite_costs_are_rejected_naming_the_key() {
        for (value, label) in [("-1", "negative"), (".nan", "finite"), (".inf", "finite")] {
            let text = format!("{BASE}energy:\n  add_32_pj: {value}\n");
            let error = load_str(&text, "t.yaml").expect_err(value);
            assert_eq!(error.key_path(), Some("energy.add_32_pj"), "{value}");
            let rendered = format!("{:?}", miette::Report::new(error));
            assert!(rendered.contains(label), "{value}: {rendered}");
        }
    }
}
