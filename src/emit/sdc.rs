//! `flow/constraint.sdc`: the timing constraints of the generated top (its clock from the config,
//! input and output delays), in plain SDC that both OpenROAD and Debian's 2019 OpenSTA accept.

use askama::Template;

use super::verilog::Banner;
use crate::config::AcceleratorSpec;
use crate::hdl::{Design, SignalKind, CLOCK};

/// Where the constraints live in the package.
pub const PATH: &str = "flow/constraint.sdc";

/// External input and output delay as a fraction of the clock period: the logic outside the block
/// gets a fifth of the cycle on each side, the first and last register stages inside the rest.
pub const IO_DELAY_FRACTION: f64 = 0.2;

#[derive(Template)]
#[template(path = "flow/constraint.sdc")]
struct SdcTemplate {
    banner: Vec<String>,
    top: String,
    frequency_mhz: String,
    period_ns: String,
    io_percent: u32,
    io_delay_ns: String,
    has_clock_port: bool,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

/// A time in nanoseconds to the picosecond, as SDC and the reports print it.
pub fn nanoseconds(value: f64) -> String {
    format!("{value:.3}")
}

/// Renders `flow/constraint.sdc` for the top of `design`.
pub fn render(spec: &AcceleratorSpec, design: &Design, banner: &Banner) -> String {
    let top = design.module(design.top().expect("the top block sets the design's top"));
    let mut has_clock_port = false;
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for (_, port) in top.ports() {
        if port.name == CLOCK {
            has_clock_port = true;
        } else if port.kind == SignalKind::Input {
            inputs.push(port.name.clone());
        } else {
            outputs.push(port.name.clone());
        }
    }
    let template = SdcTemplate {
        banner: banner.lines(),
        top: top.name.clone(),
        frequency_mhz: spec.clock.frequency_mhz.to_string(),
        period_ns: nanoseconds(spec.clock.period_ns),
        io_percent: (IO_DELAY_FRACTION * 100.0).round() as u32,
        io_delay_ns: nanoseconds(spec.clock.period_ns * IO_DELAY_FRACTION),
        has_clock_port,
        inputs,
        outputs,
    };
    super::rendered(template.render())
}
