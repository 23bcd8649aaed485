//! `flow/config.mk`: the design config for OpenROAD-flow-scripts (platform, design name, RTL, SDC,
//! core utilisation, and the SRAM macros' `ADDITIONAL_LIBS`/`ADDITIONAL_LEFS` when the design has
//! any), with every path relative to the config file itself.

use askama::Template;

use super::verilog::Banner;
use crate::config::AcceleratorSpec;
use crate::hdl::Design;

/// Where the ORFS config lives in the package.
pub const PATH: &str = "flow/config.mk";

/// The ORFS platform the package targets: SkyWater 130 nm, high-density cells.
pub const PLATFORM: &str = "sky130hd";

/// Percentage of the core area given to standard cells; the template says why.
pub const CORE_UTILIZATION: u32 = 40;

#[derive(Template)]
#[template(path = "flow/config.mk")]
struct OrfsTemplate {
    banner: Vec<String>,
    platform: &'static str,
    name: String,
    top: String,
    verilog_files: Vec<String>,
    core_utilization: u32,
    /// (liberty file name, LEF path as ORFS names it) of each SRAM macro used.
    macros: Vec<(String, String)>,
}

/// Renders `flow/config.mk`; `verilog_files` are package-relative, in filelist order.
pub fn render(
    spec: &AcceleratorSpec,
    design: &Design,
    verilog_files: &[String],
    banner: &Banner,
) -> String {
    let top = design.module(design.top().expect("the top block sets the design's top"));
    let template = OrfsTemplate {
        banner: banner.lines(),
        platform: PLATFORM,
        name: spec.name.clone(),
        top: top.name.clone(),
        verilog_files: verilog_files.to_vec(),
        core_utilization: CORE_UTILIZATION,
        macros: super::macros::used(design)
            .iter()
            .map(|m| (m.liberty.to_string(), m.orfs_lef.to_string()))
            .collect(),
    };
    super::rendered(template.render())
}
