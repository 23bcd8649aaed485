//! `sw/<name>.h`: the C header a driver includes: the configuration constants (array shape,
//! dataflow, operand formats, accumulator width, clock) as `ACCELGEN_<NAME>_*` macros and, for a
//! design with the buffered core, its register map (`blocks::regmap`, the table the CSR block is
//! built from) and buffer geometry.

use askama::Template;

use super::verilog::Banner;
use crate::blocks::csr::Kind;
use crate::blocks::{gemm_core, regmap};
use crate::config::{AcceleratorSpec, Dataflow};
use crate::hdl::Design;

/// `sw/<name>.h`.
pub fn path(spec: &AcceleratorSpec) -> String {
    format!("sw/{}.h", spec.name)
}

/// `ACCELGEN_<NAME>`: the prefix of every macro of the header.
pub fn prefix(spec: &AcceleratorSpec) -> String {
    format!("ACCELGEN_{}", spec.name.to_ascii_uppercase())
}

/// The dataflow's code in `ACCELGEN_<NAME>_DATAFLOW` (the header's comment lists them).
pub fn dataflow_code(dataflow: Dataflow) -> u32 {
    match dataflow {
        Dataflow::WeightStationary => 0,
        Dataflow::OutputStationary => 1,
        Dataflow::InputStationary => 2,
        Dataflow::RowStationary => 3,
    }
}

#[derive(Template)]
#[template(path = "c/header.h")]
struct HeaderTemplate {
    banner: Vec<String>,
    top: String,
    prefix: String,
    guard: String,
    config_hash: String,
    frequency_mhz: String,
    clock_hz: u64,
    period_ps: u64,
    rows: u32,
    cols: u32,
    pe_count: u32,
    dataflow_code: u32,
    dataflow_name: &'static str,
    act_bits: u32,
    act_signed: u8,
    weight_bits: u32,
    weight_signed: u8,
    acc_bits: u32,
    /// 1 for bit-serial PEs (Stripes: the ACT_PRECISION register sets the bits; Pragmatic:
    /// the one-bits decide), 0 for parallel ones.
    bit_serial: u8,
    /// (macro suffix, byte offset, description) of every register; empty without a core.
    registers: Vec<(String, String, &'static str)>,
    /// (macro suffix, value, description) of the buffer geometry and bit fields.
    core_constants: Vec<(String, String, String)>,
}

/// Renders `sw/<name>.h`.
pub fn render(spec: &AcceleratorSpec, design: &Design, banner: &Banner) -> String {
    let top = design.module(design.top().expect("the top block sets the design's top"));
    let prefix = prefix(spec);
    let template = HeaderTemplate {
        banner: banner.lines(),
        top: top.name.clone(),
        guard: format!("{prefix}_H"),
        prefix,
        config_hash: spec.config_hash.clone(),
        frequency_mhz: spec.clock.frequency_mhz.to_string(),
        clock_hz: (spec.clock.frequency_mhz * 1e6).round() as u64,
        period_ps: super::yosys::period_ps(spec),
        rows: spec.pe_array.rows,
        cols: spec.pe_array.cols,
        pe_count: spec.pe_array.pe_count(),
        dataflow_code: dataflow_code(spec.pe_array.dataflow),
        dataflow_name: spec.pe_array.dataflow.config_name(),
        act_bits: spec.pe.act.bits,
        act_signed: u8::from(spec.pe.act.signed),
        weight_bits: spec.pe.weight.bits,
        weight_signed: u8::from(spec.pe.weight.signed),
        acc_bits: spec.pe.acc_bits,
        bit_serial: u8::from(spec.pe.kind.is_bit_serial()),
        registers: registers(spec),
        core_constants: core_constants(spec),
    };
    super::rendered(template.render())
}

fn registers(spec: &AcceleratorSpec) -> Vec<(String, String, &'static str)> {
    if spec.buffers.is_none() {
        return Vec::new();
    }
    regmap::core_registers(spec)
        .into_iter()
        .map(|register| {
            (
                register.name.to_ascii_uppercase(),
                format!("{:#05x}", register.offset),
                register.doc,
            )
        })
        .collect()
}

fn core_constants(spec: &AcceleratorSpec) -> Vec<(String, String, String)> {
    let Some(buffers) = &spec.buffers else {
        return Vec::new();
    };
    let registers = regmap::core_registers(spec);
    let mut constants = Vec::new();
    for register in &registers {
        if let Kind::Control { pulses, levels } = &register.kind {
            for (bit, name) in pulses.iter().chain(levels.iter()).enumerate() {
                let kind = if bit < pulses.len() { "pulse" } else { "level" };
                constants.push((
                    format!("{}_{}", register.name, name).to_ascii_uppercase(),
                    format!("(1U << {bit})"),
                    format!("{} bit {name} ({kind})", register.name.to_ascii_uppercase()),
                ));
            }
        }
    }
    for (name, mask) in [
        ("BUSY", regmap::STATUS_BUSY),
        ("DONE", regmap::STATUS_DONE),
        ("PENDING", regmap::STATUS_PENDING),
    ] {
        constants.push((
            format!("STATUS_{name}"),
            format!("(1U << {})", mask.trailing_zeros()),
            format!("STATUS bit {name}"),
        ));
    }
    for (region, buffer) in buffers.regions() {
        let name = region.to_ascii_uppercase();
        constants.push((
            format!("{name}_DEPTH"),
            format!("{}U", buffer.depth),
            format!("{region} buffer words"),
        ));
        constants.push((
            format!("{name}_WORD_BITS"),
            format!("{}U", buffer.word_bits),
            format!("bits per {region} word"),
        ));
    }
    constants.push((
        "PARAM_DEPTH".into(),
        format!("{}U", gemm_core::param_depth(spec, &buffers.weight)),
        "param buffer words (one per N-fold)".into(),
    ));
    constants
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    #[test]
    fn a_core_config_lists_its_registers_and_buffers_and_an_array_config_has_none() {
        let core = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/tiny_core.yaml"
        ))
        .unwrap();
        let spec = load_str(&core, "tiny_core.yaml").unwrap();
        let registers = super::registers(&spec);
        assert!(registers
            .iter()
            .any(|(name, offset, _)| name == "CTRL" && offset == "0x000"));
        assert!(registers
            .iter()
            .any(|(name, _, _)| name == "PERF_BUSY_CYCLES"));
        let constants = super::core_constants(&spec);
        assert!(constants
            .iter()
            .any(|(name, value, _)| name == "IFMAP_DEPTH" && value == "128U"));
        let mut array_only = spec.clone();
        array_only.buffers = None;
        assert!(super::registers(&array_only).is_empty());
    }
}
