//! The report as one self-contained HTML page, viewable offline: no scripts, no external style
//! sheets, fonts or images. Plots are inline SVG drawn here: energy per level as stacked bars per
//! layer, and cycles next to the ideal and SCALE-Sim counts per layer; the block diagram of the
//! design (`report::diagram`) when one is given.

use std::fmt::Write;

use super::table::{bytes, energy};
use super::{CycleSource, Report, Row};

/// Fill colours of the energy levels, in `Energy::levels` order.
const LEVEL_COLOURS: [&str; 5] = ["#4e79a7", "#59a14f", "#edc948", "#f28e2b", "#e15759"];
/// Colours of the cycle bars: cycles, ideal, SCALE-Sim.
const CYCLE_COLOURS: [&str; 3] = ["#4e79a7", "#59a14f", "#bab0ac"];

/// Width of one character of a 12 px sans-serif label, generously: labels must not be clipped.
const CHAR_WIDTH: f64 = 7.0;
const PLOT_WIDTH: f64 = 560.0;
const VALUE_WIDTH: f64 = 110.0;

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page; `diagram` is an SVG block diagram to include, if any.
pub fn page(report: &Report, diagram: Option<&str>) -> String {
    let mut out = String::new();
    let title = format!("accelgen report: {}", report.config);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <style>\nbody {{ font-family: sans-serif; margin: 2em; color: #222; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 3px 7px; }}\ntd.n {{ text-align: right; }}\n\
         tr.total td {{ font-weight: bold; background: #f3f3f3; }}\n\
         svg text {{ font-family: sans-serif; font-size: 12px; }}\n</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        out,
        "<p>{}×{} {} array, {}, {} MHz. Scope: {}.</p>",
        report.rows,
        report.cols,
        escape(report.dataflow),
        escape(&report.pe),
        report.clock_mhz,
        escape(report.scope_note)
    );
    if let Some(diagram) = diagram {
        let _ = writeln!(out, "<h2>Block diagram</h2>\n{diagram}");
    }
    let _ = writeln!(out, "<h2>Energy per level</h2>");
    out.push_str(&energy_plot(&report.layers));
    let _ = writeln!(out, "<h2>Cycles vs ideal</h2>");
    out.push_str(&cycles_plot(&report.layers));
    out.push_str(&tables(report));
    let _ = writeln!(out, "</body>\n</html>");
    out
}

fn tables(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<h2>Per layer</h2>\n<table>\n<tr><th>layer</th><th>op</th><th>MACs</th><th>cycles</th>\
         <th>source</th><th>model</th><th>ideal</th><th>SCALE-Sim</th><th>utilization</th>\
         <th>RF</th><th>PE-to-PE</th><th>GLB</th><th>DRAM</th><th>energy</th></tr>"
    );
    for row in report.layers.iter().chain([&report.total]) {
        let class = if std::ptr::eq(row, &report.total) {
            " class=\"total\""
        } else {
            ""
        };
        let source = match row.cycles_source {
            Some(CycleSource::Rtl) => "RTL",
            Some(CycleSource::Model) => "model",
            None => "mixed",
        };
        let t = &row.traffic_bits;
        let _ = writeln!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td>{source}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{:.3}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&row.name),
            escape(&row.op),
            row.macs,
            row.cycles,
            row.model_cycles,
            row.ideal_cycles,
            row.scalesim_cycles,
            row.utilization,
            bytes(t.register_file_bits),
            bytes(t.pe_to_pe_bits),
            bytes(t.global_buffer_bits()),
            bytes(t.dram_bits()),
            escape(&energy(row.total_energy_pj)),
        );
    }
    let _ = writeln!(out, "</table>");
    match &report.area {
        None => {
            let _ = writeln!(
                out,
                "<p>Area: not measured (run <code>accelgen report --area</code> to synthesise).</p>"
            );
        }
        Some(area) => {
            let _ = writeln!(
                out,
                "<h2>Area</h2>\n<p>{:.0} µm² ({} cells, {} flip-flops), {:.0} µm² per MAC.</p>\n\
                 <table>\n<tr><th>module</th><th>instances</th><th>µm² each</th><th>µm² total</th></tr>",
                area.area_um2, area.cells, area.flops, area.area_per_mac_um2
            );
            for block in &area.blocks {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.0}</td><td class=\"n\">{:.0}</td></tr>",
                    escape(&block.module),
                    block.instances,
                    block.area_um2,
                    block.total_area_um2
                );
            }
            let _ = writeln!(out, "</table>");
        }
    }
    out
}

/// Room for the longest layer name left of the bars.
fn label_width(rows: &[Row]) -> f64 {
    let longest = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    (longest as f64 * CHAR_WIDTH + 12.0).max(60.0)
}

/// A legend line of coloured squares and names at `y`, starting at `x`.
fn legend(out: &mut String, x: f64, y: f64, entries: &[(&str, &str)]) {
    let mut x = x;
    for (name, colour) in entries {
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            y - 10.0,
            x + 16.0,
            y,
            escape(name)
        );
        x += 24.0 + 8.0 * name.len() as f64;
    }
}

/// One horizontal bar per layer, split into the energy of each level.
pub fn energy_plot(rows: &[Row]) -> String {
    let label = label_width(rows);
    let bar = 16.0;
    let step = 22.0;
    let top = 30.0;
    let height = top + step * rows.len() as f64 + 10.0;
    let width = label + PLOT_WIDTH + VALUE_WIDTH;
    let max = rows
        .iter()
        .map(|r| r.total_energy_pj)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg class=\"energy\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"energy per level, per layer\">"
    );
    let names: Vec<(&str, &str)> = rows
        .first()
        .map(|r| r.energy_pj.levels())
        .unwrap_or_default()
        .iter()
        .zip(LEVEL_COLOURS)
        .map(|((name, _), colour)| (*name, colour))
        .collect();
    legend(&mut out, label, 16.0, &names);
    for (index, row) in rows.iter().enumerate() {
        let y = top + step * index as f64;
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label - 6.0,
            y + bar - 4.0,
            escape(&row.name)
        );
        let mut x = label;
        for ((name, pj), colour) in row.energy_pj.levels().iter().zip(LEVEL_COLOURS) {
            let w = PLOT_WIDTH * pj / max;
            let _ = writeln!(
                out,
                "<rect x=\"{x:.2}\" y=\"{y}\" width=\"{w:.2}\" height=\"{bar}\" fill=\"{colour}\">\
                 <title>{}: {} {}</title></rect>",
                escape(&row.name),
                escape(name),
                escape(&energy(*pj))
            );
            x += w;
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.2}\" y=\"{}\">{}</text>",
            x + 4.0,
            y + bar - 4.0,
            escape(&energy(row.total_energy_pj))
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Per layer, three bars: the reported cycles, the ideal count and SCALE-Sim's.
pub fn cycles_plot(rows: &[Row]) -> String {
    let label = label_width(rows);
    let bar = 7.0;
    let step = 3.0 * bar + 8.0;
    let top = 30.0;
    let height = top + step * rows.len() as f64 + 10.0;
    let width = label + PLOT_WIDTH + VALUE_WIDTH;
    let max = rows
        .iter()
        .map(|r| r.cycles.max(r.ideal_cycles).max(r.scalesim_cycles))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg class=\"cycles\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"cycles, ideal and SCALE-Sim per layer\">"
    );
    let names = ["cycles", "ideal", "SCALE-Sim"];
    let entries: Vec<(&str, &str)> = names.iter().copied().zip(CYCLE_COLOURS).collect();
    legend(&mut out, label, 16.0, &entries);
    for (index, row) in rows.iter().enumerate() {
        let y = top + step * index as f64;
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label - 6.0,
            y + 2.0 * bar,
            escape(&row.name)
        );
        let values = [row.cycles, row.ideal_cycles, row.scalesim_cycles];
        for (lane, ((name, value), colour)) in
            names.iter().zip(values).zip(CYCLE_COLOURS).enumerate()
        {
            let y = y + bar * lane as f64;
            let w = PLOT_WIDTH * value as f64 / max;
            let _ = writeln!(
                out,
                "<rect x=\"{label}\" y=\"{y}\" width=\"{w:.2}\" height=\"{bar}\" fill=\"{colour}\">\
                 <title>{}: {name} {value}</title></rect>",
                escape(&row.name)
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.2}\" y=\"{}\">{:.0}% utilization</text>",
            label + PLOT_WIDTH * row.cycles.max(row.scalesim_cycles) as f64 / max + 4.0,
            y + 2.0 * bar,
            100.0 * row.utilization
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
