//! `flow/synth.ys` and `flow/abc.constr`: the Yosys synthesis script of the package (ORFS's steps:
//! read, hierarchy check, synth, no latches, dfflibmap/abc against a liberty, check, stat, netlist)
//! and the driving cell and load ABC sizes against. Also names every file the script reads and
//! writes, so that `crate::flow` runs exactly what the package ships.

use askama::Template;

use super::verilog::Banner;
use crate::config::AcceleratorSpec;
use crate::hdl::Design;

/// The script, run from the package root as `yosys -s flow/synth.ys`.
pub const SCRIPT: &str = "flow/synth.ys";
/// ABC's environment: the cell that drives every input and the load on every output.
pub const ABC_CONSTR: &str = "flow/abc.constr";
/// The uncompressed liberty the script reads (not shipped: it belongs to the PDK).
pub const LIBERTY: &str = "flow/liberty.lib";
/// ORFS's sky130hd `ABC_DRIVER_CELL`.
pub const ABC_DRIVING_CELL: &str = "sky130_fd_sc_hd__buf_1";
/// ORFS's sky130hd `ABC_LOAD_IN_FF`, in the library's capacitance unit as ABC reads it.
pub const ABC_LOAD: &str = "5";

/// `flow/<top>_netlist.v`: the flat gate-level netlist the script writes.
pub fn netlist(top: &str) -> String {
    format!("flow/{top}_netlist.v")
}

/// `flow/<top>_blocks.json`: `stat -json` of the hierarchical mapping (cells per module).
pub fn blocks_json(top: &str) -> String {
    format!("flow/{top}_blocks.json")
}

/// `flow/<top>_stat.json`: `stat -json` of the flat netlist.
pub fn stat_json(top: &str) -> String {
    format!("flow/{top}_stat.json")
}

/// The clock period in whole picoseconds, as ABC's `-D` takes it.
pub fn period_ps(spec: &AcceleratorSpec) -> u64 {
    (spec.clock.period_ns * 1000.0).round() as u64
}

#[derive(Template)]
#[template(path = "flow/synth.ys")]
struct SynthTemplate {
    banner: Vec<String>,
    top: String,
    verilog_files: Vec<String>,
    liberty: &'static str,
    abc_constr: &'static str,
    period_ps: u64,
    blocks_json: String,
    stat_json: String,
    netlist: String,
}

#[derive(Template)]
#[template(path = "flow/abc.constr", escape = "none")]
struct AbcConstrTemplate {
    driving_cell: &'static str,
    load: &'static str,
}

/// Renders `flow/synth.ys`; `verilog_files` are package-relative, in filelist order.
pub fn render_script(
    spec: &AcceleratorSpec,
    design: &Design,
    verilog_files: &[String],
    banner: &Banner,
) -> String {
    let top = &design
        .module(design.top().expect("the top block sets the design's top"))
        .name;
    let template = SynthTemplate {
        banner: banner.lines(),
        top: top.clone(),
        verilog_files: verilog_files.to_vec(),
        liberty: LIBERTY,
        abc_constr: ABC_CONSTR,
        period_ps: period_ps(spec),
        blocks_json: blocks_json(top),
        stat_json: stat_json(top),
        netlist: netlist(top),
    };
    super::rendered(template.render())
}

/// Renders `flow/abc.constr` (ABC reads only commands, so it carries no banner).
pub fn render_abc_constr() -> String {
    super::rendered(
        AbcConstrTemplate {
            driving_cell: ABC_DRIVING_CELL,
            load: ABC_LOAD,
        }
        .render(),
    )
}
