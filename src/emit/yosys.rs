//! `flow/synth.ys` and `flow/abc.constr`: the Yosys synthesis script of the package (ORFS's steps:
//! read, hierarchy check, synth, no latches, dfflibmap/abc against a liberty, check, stat, netlist)
//! and the driving cell and load ABC sizes against. Also names every file the script reads and
//! writes, so that `crate::flow` runs exactly what the package ships. A design with SRAM macros
//! also reads each macro's liberty as a black box (see `super::macros`), and `stat` counts the
//! macros' area.

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

/// ABC's script for both mappings, one command a line. It is the script Yosys 0.23's `abc` runs
/// by itself for `-D` with `-liberty` and `-constr`, with one change: `&fraig -x`'s SAT sweeping
/// gives up on a pair of nodes after 100 conflicts instead of 1,000,000. With the default limit
/// it spent over 10 minutes on the 32×32-bit multipliers of the requantization unit (proving the
/// equivalence of internal nodes of an array multiplier is hard for SAT), and half of edge_ws's
/// synthesis time on its 8×8 ones; with 100 it takes seconds and merges nearly as many nodes.
/// `&dch` after it bounds its SAT calls the same way (1000 conflicts by default). `{D}` is
/// Yosys's: it becomes `-D <period>`, so the mapping (`&nf`) and the sizing (`upsize`,
/// `dnsize`) stay timing-driven.
pub const ABC_SCRIPT: &[&str] = &[
    "strash",
    "&get -n",
    "&fraig -x -C 100",
    "&put",
    "scorr",
    "dc2",
    "dretime",
    "retime -o {D}",
    "strash",
    "&get -n",
    "&dch -f",
    "&nf {D}",
    "&put",
    "buffer",
    "upsize {D}",
    "dnsize {D}",
    "stime -p",
];

/// [`ABC_SCRIPT`] as `abc -script` takes it inline: `+`, the commands separated by `;` and the
/// words of each by `,` (Yosys turns the commas back into spaces), so that the script needs no
/// file of its own and is read as one word by Yosys.
pub fn abc_script_arg() -> String {
    let commands: Vec<String> = ABC_SCRIPT.iter().map(|c| c.replace(' ', ",")).collect();
    format!("+{}", commands.join(";"))
}

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
    /// (liberty file name in the PDK, package-relative copy) of each SRAM macro used.
    macros: Vec<(String, String)>,
    abc_constr: &'static str,
    period_ps: u64,
    abc_script: String,
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
        macros: super::macros::used(design)
            .iter()
            .map(|m| (m.liberty.to_string(), m.liberty_path()))
            .collect(),
        abc_constr: ABC_CONSTR,
        period_ps: period_ps(spec),
        abc_script: abc_script_arg(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abc_script_is_one_word_with_the_delay_target_left_to_yosys() {
        let arg = abc_script_arg();
        assert!(arg.starts_with('+'));
        assert!(!arg.contains(char::is_whitespace), "{arg}");
        assert_eq!(arg.split(';').count(), ABC_SCRIPT.len());
        assert!(arg.contains("&fraig,-x,-C,100;"), "{arg}");
        assert!(arg.contains("&nf,{D};"), "{arg}");
        assert!(arg.ends_with(";stime,-p"), "{arg}");
    }
}
