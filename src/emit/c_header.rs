//! `sw/<name>.h`: the C header a driver includes: the configuration constants (array shape,
//! dataflow, operand formats, accumulator width, clock) as `ACCELGEN_<NAME>_*` macros, and the
//! place where the CSR map will be generated once the design has a register block.

use askama::Template;

use super::verilog::Banner;
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
    };
    super::rendered(template.render())
}
