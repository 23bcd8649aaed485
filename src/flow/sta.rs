//! Static timing analysis of the synthesised netlist with OpenSTA (`sta`, Debian's 2019 build or
//! newer): reads the liberty, the flat netlist and the package's SDC, and reports the worst setup
//! slack and the clock it allows. That OpenSTA exits 0 even when a command fails, so its log is
//! searched for errors.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;

use serde::Serialize;

use super::{tail, FlowError};
use crate::emit::{sdc, yosys as script};

/// The command and the Debian package that provides it.
pub const TOOL: &str = "sta";
pub const PACKAGE: &str = "opensta";

/// What OpenSTA measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    /// Worst setup slack over all constrained paths at the config's clock, ns (negative: violated).
    pub worst_slack_ns: f64,
    /// The clock the worst path allows: 1000 / (period − slack), MHz.
    pub achievable_mhz: f64,
    /// The worst path's start and end (flop or port names of the flat netlist), from
    /// `report_checks`: where to look first when the clock is missed.
    pub worst_path: Option<WorstPath>,
    /// OpenSTA's warnings (for example, liberty attributes it does not know).
    pub warnings: Vec<String>,
    /// Its whole log, for the curious.
    #[serde(skip)]
    pub log: String,
}

/// The two ends of the worst setup path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorstPath {
    pub startpoint: String,
    pub endpoint: String,
}

/// `report_checks`'s `Startpoint: x (…)` and `Endpoint: y (…)` lines.
pub fn parse_worst_path(log: &str) -> Option<WorstPath> {
    let field = |label: &str| {
        log.lines().find_map(|line| {
            let rest = line.trim().strip_prefix(label)?;
            Some(rest.split_whitespace().next()?.to_string())
        })
    };
    Some(WorstPath {
        startpoint: field("Startpoint:")?,
        endpoint: field("Endpoint:")?,
    })
}

/// The net on the `Q` pin of cell instance `instance` in a flat Yosys netlist: the register a
/// mapped flip-flop implements (`\post_process.stage3_q [17]`). `None` for ports and
/// instances without a `Q`.
pub fn register_name(netlist: &str, instance: &str) -> Option<String> {
    let start = netlist.find(&format!(" {instance} ("))?;
    let cell = &netlist[start..];
    let cell = &cell[..cell.find(");")?];
    let q = &cell[cell.find(".Q(")? + 3..];
    let net = q[..q.find(')')?].trim();
    Some(net.trim_start_matches('\\').replace(" [", "["))
}

/// The Tcl script OpenSTA runs, with package-relative paths; `macro_liberties` are the
/// package's copies of its SRAM macros' liberties (`emit::macros`), so their cells link and
/// their timing arcs count.
pub fn script(top: &str, macro_liberties: &[String]) -> String {
    let mut lines = vec![format!("read_liberty {}", script::LIBERTY)];
    lines.extend(
        macro_liberties
            .iter()
            .map(|path| format!("read_liberty {path}")),
    );
    lines.extend([
        format!("read_verilog {}", script::netlist(top)),
        format!("link_design {top}"),
        format!("read_sdc {}", sdc::PATH),
        "report_checks -path_delay max -digits 3".to_string(),
        "report_worst_slack -digits 3".to_string(),
    ]);
    lines.join("\n") + "\n"
}

/// Runs OpenSTA in `package` on the netlist Yosys wrote. `Ok(None)` when `sta` is not installed.
pub fn run(
    package: &Path,
    top: &str,
    period_ns: f64,
    macro_liberties: &[String],
) -> Result<Option<Timing>, FlowError> {
    let script_path = package.join("flow/sta.tcl");
    fs::write(&script_path, script(top, macro_liberties)).map_err(|e| FlowError::Io {
        path: script_path.clone(),
        source: e,
    })?;
    let output = match Command::new(TOOL)
        .args(["-no_splash", "-exit", "flow/sta.tcl"])
        .current_dir(package)
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(FlowError::missing_tool(TOOL, PACKAGE, e)),
    };
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("Error")).collect();
    if !output.status.success() || !errors.is_empty() {
        return Err(FlowError::ToolFailed {
            tool: TOOL,
            log_tail: tail(&log, 25),
        });
    }
    let worst_slack_ns = parse_worst_slack(&log).ok_or_else(|| FlowError::ToolFailed {
        tool: TOOL,
        log_tail: format!("no `worst slack` line in its log:\n{}", tail(&log, 25)),
    })?;
    Ok(Some(Timing {
        worst_slack_ns,
        achievable_mhz: achievable_mhz(period_ns, worst_slack_ns),
        worst_path: parse_worst_path(&log).map(|path| {
            // Mapped flops have generated names; the net on their Q pin keeps the register's.
            let netlist =
                fs::read_to_string(package.join(script::netlist(top))).unwrap_or_default();
            WorstPath {
                startpoint: register_name(&netlist, &path.startpoint).unwrap_or(path.startpoint),
                endpoint: register_name(&netlist, &path.endpoint).unwrap_or(path.endpoint),
            }
        }),
        warnings: log
            .lines()
            .filter(|l| l.starts_with("Warning"))
            .map(str::to_string)
            .collect(),
        log,
    }))
}

/// The value of `report_worst_slack`'s `worst slack -4.730` line.
pub fn parse_worst_slack(log: &str) -> Option<f64> {
    log.lines()
        .find_map(|line| line.trim().strip_prefix("worst slack"))
        .and_then(|value| value.trim().parse().ok())
}

/// The fastest clock at which the worst path still meets setup: 1000 / (period − slack) MHz.
pub fn achievable_mhz(period_ns: f64, worst_slack_ns: f64) -> f64 {
    1000.0 / (period_ns - worst_slack_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_slack_and_achievable_clock() {
        let log = "Warning: lib, line 31 default_operating_condition not found.\n\
                   tns -3555.24\nworst slack -4.730\n";
        assert_eq!(parse_worst_slack(log), Some(-4.73));
        assert_eq!(parse_worst_slack("tns 0\n"), None);
        assert!((achievable_mhz(5.0, -5.0) - 100.0).abs() < 1e-9);
        assert!((achievable_mhz(10.0, 2.0) - 125.0).abs() < 1e-9);
    }

    #[test]
    fn the_worst_path_is_named_by_its_start_and_end() {
        let log = "Startpoint: _4711_ (rising edge-triggered flip-flop clocked by clk)\n\
                   Endpoint: _5003_ (rising edge-triggered flip-flop clocked by clk)\n\
                   Path Group: clk\n";
        assert_eq!(
            parse_worst_path(log),
            Some(WorstPath {
                startpoint: "_4711_".into(),
                endpoint: "_5003_".into()
            })
        );
        assert_eq!(parse_worst_path("worst slack 1.0\n"), None);
    }

    #[test]
    fn a_mapped_flop_is_named_after_the_net_on_its_q_pin() {
        let netlist = "  sky130_fd_sc_hd__dfxtp_1 _4711_ (\n    .CLK(clk),\n    .D(_0001_),\n    \
                       .Q(\\post_process.stage3_q [17] )\n  );\n";
        assert_eq!(
            register_name(netlist, "_4711_").as_deref(),
            Some("post_process.stage3_q[17]")
        );
        assert_eq!(register_name(netlist, "_4712_"), None);
    }
}
