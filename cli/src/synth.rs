//! The table `accelgen synth` prints: one row per module of the synthesised hierarchy (its own
//! logic per instance and multiplied out), the flat netlist's totals, the area per MAC and the
//! timing (or why there is none).

use std::fmt::Write;

use accelgen::flow::SynthReport;

/// `12345.6` → `12,345.6`: areas run to six figures.
fn thousands(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let (integer, fraction) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), format!(".{f}")),
        None => (text.clone(), String::new()),
    };
    let (sign, digits) = match integer.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", integer.as_str()),
    };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}{fraction}")
}

/// The human-readable report.
pub fn table(report: &SynthReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} synthesised for {} at {} MHz ({} ns)\nliberty: {}\n",
        report.top, report.config, report.clock_mhz, report.period_ns, report.liberty
    );
    let width = report
        .blocks
        .iter()
        .map(|b| b.module.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{:<width$}  {:>5}  {:>7}  {:>6}  {:>12}  {:>12}  {:>14}  {:>6}",
        "module", "inst", "cells", "flops", "own µm²", "with sub µm²", "own × inst µm²", "share"
    );
    for block in &report.blocks {
        let share =
            100.0 * block.total_area_um2 / report.hierarchical_area_um2.max(f64::MIN_POSITIVE);
        let _ = writeln!(
            out,
            "{:<width$}  {:>5}  {:>7}  {:>6}  {:>12}  {:>12}  {:>14}  {:>5.1}%",
            block.module,
            block.instances,
            block.cells,
            block.flops,
            thousands(block.area_um2, 1),
            thousands(block.subtree_area_um2, 1),
            thousands(block.total_area_um2, 1),
            share
        );
    }
    let _ = writeln!(
        out,
        "{:<width$}  {:>5}  {:>7}  {:>6}  {:>12}  {:>12}  {:>14}\n",
        "(hierarchical total)",
        "",
        "",
        "",
        "",
        "",
        thousands(report.hierarchical_area_um2, 1)
    );
    let _ = writeln!(
        out,
        "flat netlist:  {} µm², {} cells, {} flip-flops",
        thousands(report.area_um2, 1),
        thousands(report.cells as f64, 0),
        thousands(report.flops as f64, 0)
    );
    let pe = report
        .pe_area_um2
        .map(|a| format!("; one PE ({}) {} µm²", report.pe_module, thousands(a, 1)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "per MAC:       {} µm² ({} MACs{pe})",
        thousands(report.area_per_mac_um2, 1),
        report.macs
    );
    match (&report.timing, &report.sta_skipped) {
        (Some(timing), _) => {
            let _ = writeln!(
                out,
                "timing:        worst slack {:.3} ns at {} ns; achievable clock {:.1} MHz ({})",
                timing.worst_slack_ns,
                report.period_ns,
                timing.achievable_mhz,
                if timing.worst_slack_ns >= 0.0 {
                    "met"
                } else {
                    "violated"
                }
            );
            if let Some(path) = &timing.worst_path {
                let _ = writeln!(
                    out,
                    "worst path:    {} -> {}",
                    path.startpoint, path.endpoint
                );
            }
        }
        (None, Some(reason)) => {
            let _ = writeln!(out, "timing:        skipped: {reason}");
        }
        (None, None) => {}
    }
    let sta = report
        .sta_seconds
        .map(|s| format!(", OpenSTA {s:.1} s"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "run time:      Yosys {:.1} s{sta}",
        report.yosys_seconds
    );
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(435531.4592, 1), "435,531.5");
        assert_eq!(thousands(999.0, 0), "999");
        assert_eq!(thousands(-1234.5, 1), "-1,234.5");
    }
}
