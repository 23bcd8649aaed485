//! An ablation as one offline HTML page: the ratio plot drawn here (each variant against the
//! base), the report's own energy and cycles plots with one bar per configuration, and the
//! tables.

use std::fmt::Write;

use super::rows::{area_cell, measured_rows, times, unmeasured};
use super::{Ablation, Measured, Ratios};
use crate::report::html::{cycles_plot, energy_plot, escape};
use crate::report::table::{bytes, energy};
use crate::report::Row;

/// Colours of the ratio bars: cycles, traffic, DRAM, energy, area.
const RATIO_COLOURS: [&str; 5] = ["#4e79a7", "#59a14f", "#edc948", "#f28e2b", "#e15759"];

/// One ratio of a variant, for the plot.
type Quantity = fn(&Ratios) -> Option<f64>;

/// Grouped horizontal bars, one group per variant, one bar per quantity, all as ratios to the base
/// with a dashed line at 1.
pub fn ratio_plot(ablation: &Ablation) -> String {
    let rows: Vec<(&str, &Measured)> = measured_rows(ablation)
        .into_iter()
        .skip(1)
        .map(|(name, _, m)| (name, m))
        .collect();
    let with_area = rows.iter().any(|(_, m)| m.ratios.area.is_some());
    let quantities: Vec<(&str, Quantity)> = [
        ("cycles", (|r: &Ratios| r.cycles) as Quantity),
        ("traffic", |r: &Ratios| r.traffic),
        ("DRAM", |r: &Ratios| r.dram),
        ("energy", |r: &Ratios| r.energy),
        ("area", |r: &Ratios| r.area),
    ]
    .into_iter()
    .filter(|(name, _)| with_area || *name != "area")
    .collect();
    let label = rows
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(4) as f64
        * 7.0
        + 16.0;
    let plot = 520.0;
    let bar = 8.0;
    let group = bar * quantities.len() as f64 + 12.0;
    let top = 34.0;
    let height = top + group * rows.len().max(1) as f64 + 24.0;
    let width = label + plot + 80.0;
    let max = rows
        .iter()
        .flat_map(|(_, m)| quantities.iter().filter_map(|(_, q)| q(&m.ratios)))
        .fold(1.0, f64::max)
        * 1.05;
    let x = |ratio: f64| label + plot * ratio / max;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg class=\"ablation\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} \
         {height}\" role=\"img\" aria-label=\"each variant's cycles, traffic, energy and area \
         relative to the base\">"
    );
    let mut legend_x = label;
    for ((name, _), colour) in quantities.iter().zip(RATIO_COLOURS) {
        let _ = writeln!(
            out,
            "<rect x=\"{legend_x}\" y=\"6\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"16\">{} ×</text>",
            legend_x + 16.0,
            escape(name)
        );
        legend_x += 36.0 + 8.0 * name.len() as f64;
    }
    // The base line first, so the bars' value labels print over it.
    let base_x = x(1.0);
    let _ = writeln!(
        out,
        "<line x1=\"{base_x:.2}\" y1=\"{}\" x2=\"{base_x:.2}\" y2=\"{}\" stroke=\"#222\" \
         stroke-dasharray=\"4 3\"/><text x=\"{base_x:.2}\" y=\"{}\" text-anchor=\"middle\">base = 1</text>",
        top - 6.0,
        height - 18.0,
        height - 4.0
    );
    for (index, (name, m)) in rows.iter().enumerate() {
        let y = top + group * index as f64;
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label - 6.0,
            y + bar * quantities.len() as f64 / 2.0 + 4.0,
            escape(name)
        );
        for (lane, ((quantity, get), colour)) in quantities.iter().zip(RATIO_COLOURS).enumerate() {
            let y = y + bar * lane as f64;
            match get(&m.ratios) {
                Some(value) => {
                    let _ = writeln!(
                        out,
                        "<rect x=\"{label}\" y=\"{y}\" width=\"{:.2}\" height=\"{bar}\" \
                         fill=\"{colour}\"><title>{}: {quantity} {}</title></rect>\
                         <text x=\"{:.2}\" y=\"{}\" font-size=\"9\">{value:.3}×</text>",
                        x(value) - label,
                        escape(name),
                        escape(&times(Some(value))),
                        x(value) + 3.0,
                        y + bar - 1.0,
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "<text x=\"{}\" y=\"{}\" font-size=\"9\">{quantity}: —</text>",
                        label + 3.0,
                        y + bar - 1.0
                    );
                }
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The ablation as one offline HTML page: the ratio plot, energy per level and cycles per
/// variant (the report's own plots, one bar per variant), and the tables.
pub fn html(ablation: &Ablation) -> String {
    let title = format!("accelgen ablate: {}", ablation.config);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <style>\nbody {{ font-family: sans-serif; margin: 2em; color: #222; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 3px 7px; }}\ntd.n {{ text-align: right; }}\n\
         tr.base td {{ font-weight: bold; background: #f3f3f3; }}\n\
         svg text {{ font-family: sans-serif; font-size: 12px; }}\n</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        out,
        "<p>Base <code>{}</code>: {}. Workload: {} layer(s), {} MACs. Cycles are the cycle \
         model's, traffic the tiling's, energy the config's energy table; ratios (×) are variant \
         / base, below 1 is better.</p>",
        escape(&ablation.config_path),
        escape(&ablation.summary),
        ablation.layers,
        ablation.macs
    );
    let _ = writeln!(out, "<h2>Each optimization relative to the base</h2>");
    out.push_str(&ratio_plot(ablation));
    let totals: Vec<Row> = measured_rows(ablation)
        .into_iter()
        .map(|(_, _, m)| m.total.clone())
        .collect();
    let _ = writeln!(out, "<h2>Energy per level</h2>");
    out.push_str(&energy_plot(&totals));
    let _ = writeln!(out, "<h2>Cycles vs ideal</h2>");
    out.push_str(&cycles_plot(&totals));
    let _ = writeln!(
        out,
        "<h2>Variants</h2>\n<table>\n<tr><th>variant</th><th>what</th><th>scope</th><th>cycles</th>\
         <th>× cycles</th><th>RF</th><th>PE-to-PE</th><th>GLB</th><th>DRAM</th><th>× traffic</th>\
         <th>× DRAM</th><th>energy</th><th>× energy</th><th>area µm²</th><th>× area</th></tr>"
    );
    for (index, (name, what, m)) in measured_rows(ablation).into_iter().enumerate() {
        let t = &m.traffic_bits;
        let class = if index == 0 { " class=\"base\"" } else { "" };
        let _ = writeln!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(name),
            escape(what),
            m.scope,
            m.cycles,
            escape(&times(m.ratios.cycles)),
            bytes(t.register_file_bits),
            bytes(t.pe_to_pe_bits),
            bytes(t.global_buffer_bits()),
            bytes(t.dram_bits()),
            escape(&times(m.ratios.traffic)),
            escape(&times(m.ratios.dram)),
            escape(&energy(m.total_energy_pj)),
            escape(&times(m.ratios.energy)),
            escape(&area_cell(m)),
            escape(&times(m.ratios.area)),
        );
    }
    let _ = writeln!(out, "</table>");
    let skipped = unmeasured(ablation);
    if !skipped.is_empty() {
        let _ = writeln!(out, "<h2>Not measured</h2>\n<ul>");
        for (toggle, status, reason) in skipped {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {status}: {}</li>",
                escape(toggle),
                escape(reason)
            );
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(out, "</body>\n</html>");
    out
}
