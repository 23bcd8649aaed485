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
    /// OpenSTA's warnings (for example, liberty attributes it does not know).
    pub warnings: Vec<String>,
    /// Its whole log, for the curious.
    #[serde(skip)]
    pub log: String,
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
}
