//! The report as Markdown: a header naming the config and scope, a cycles table, a traffic and
//! energy table (one line per layer and the total), the energy table used, and the area.

use std::fmt::Write;

use super::{CycleSource, Report, Row};

/// Bits as a human-sized byte count: `512 B`, `3.25 KiB`, `1.50 MiB`, `2.00 GiB`.
pub fn bytes(bits: u64) -> String {
    let bytes = bits as f64 / 8.0;
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", units[0])
    } else {
        format!("{value:.2} {}", units[unit])
    }
}

/// pJ in the largest unit that keeps the number at least 1: `350 pJ`, `2.51 nJ`, `1.20 µJ`, `3.4 mJ`.
pub fn energy(pj: f64) -> String {
    let units = [
        ("pJ", 1.0),
        ("nJ", 1e3),
        ("µJ", 1e6),
        ("mJ", 1e9),
        ("J", 1e12),
    ];
    let (unit, scale) = units
        .iter()
        .rev()
        .find(|(_, scale)| pj >= *scale)
        .copied()
        .unwrap_or(units[0]);
    format!("{:.3} {unit}", pj / scale)
}

/// Markdown cells can hold anything but `|` and newlines.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn source(row: &Row) -> &'static str {
    match row.cycles_source {
        Some(CycleSource::Rtl) => "RTL",
        Some(CycleSource::Model) => "model",
        None => "mixed",
    }
}

/// The whole report as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let lines = &mut out;
    let _ = writeln!(lines, "# accelgen report: {}", cell(&report.config));
    let _ = writeln!(lines);
    let _ = writeln!(
        lines,
        "{}×{} {} array, {}, {} MHz. Scope: {}.",
        report.rows, report.cols, report.dataflow, report.pe, report.clock_mhz, report.scope_note
    );
    let _ = writeln!(lines);
    let _ = writeln!(lines, "## Cycles");
    let _ = writeln!(lines);
    let _ = writeln!(
        lines,
        "| layer | op | GEMMs | MACs | cycles | source | model | ideal | SCALE-Sim | utilization | latency µs |"
    );
    let _ = writeln!(lines, "|---|---|--:|--:|--:|---|--:|--:|--:|--:|--:|");
    for row in report.layers.iter().chain([&report.total]) {
        let bold = |text: String| {
            if std::ptr::eq(row, &report.total) {
                format!("**{text}**")
            } else {
                text
            }
        };
        let _ = writeln!(
            lines,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.1} |",
            bold(cell(&row.name)),
            cell(&row.op),
            row.gemms,
            row.macs,
            bold(row.cycles.to_string()),
            source(row),
            row.model_cycles,
            row.ideal_cycles,
            row.scalesim_cycles,
            row.utilization,
            row.latency_us,
        );
    }
    let _ = writeln!(lines);
    let _ = writeln!(lines, "## Memory traffic and energy per level");
    let _ = writeln!(lines);
    let _ = writeln!(
        lines,
        "| layer | RF | PE-to-PE | GLB | DRAM | E MAC | E RF | E PE-to-PE | E GLB | E DRAM | E total |"
    );
    let _ = writeln!(lines, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    // Without a global buffer the level does not exist: a dash, not a zero.
    let glb = |text: String| {
        if report.global_buffer {
            text
        } else {
            "–".to_owned()
        }
    };
    for row in report.layers.iter().chain([&report.total]) {
        let t = &row.traffic_bits;
        let e = &row.energy_pj;
        let _ = writeln!(
            lines,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&row.name),
            bytes(t.register_file_bits),
            bytes(t.pe_to_pe_bits),
            glb(bytes(t.global_buffer_bits())),
            bytes(t.dram_bits()),
            energy(e.mac_pj),
            energy(e.register_file_pj),
            energy(e.pe_to_pe_pj),
            glb(energy(e.global_buffer_pj)),
            energy(e.dram_pj),
            energy(row.total_energy_pj),
        );
    }
    let _ = writeln!(lines);
    let table = &report.energy_table;
    let glb_costs = if report.global_buffer {
        format!(
            "GLB ifmap/weight/psum {:.3}/{:.3}/{:.3} pJ per 64 bits",
            table.ifmap_buffer_pj_per_bit * 64.0,
            table.weight_buffer_pj_per_bit * 64.0,
            table.psum_buffer_pj_per_bit * 64.0,
        )
    } else {
        "no global buffer".to_owned()
    };
    let traffic_source = match report.total.traffic_source {
        Some(CycleSource::Rtl) => {
            "Global-buffer and DRAM traffic come from the core's performance counters after \
             the simulation; MACs, RF and PE-to-PE traffic from the tiling \
             (accelgen::report::traffic)."
        }
        Some(CycleSource::Model) => {
            "Traffic counts come from the tiling (accelgen::report::traffic); simulate the \
             layers on a core (`--simulate`) to take them from its performance counters."
        }
        None => {
            "Global-buffer and DRAM traffic come from the core's performance counters for the \
             simulated layers and from the tiling for the others."
        }
    };
    let _ = writeln!(
        lines,
        "Energy per event: MAC {:.4} pJ; RF {:.4} pJ/B; PE-to-PE {:.4} pJ/B; {glb_costs}; DRAM \
         {:.1} pJ per 64 bits (defaults: Horowitz, ISSCC 2014, 45 nm; Sze et al. 2020 for RF and \
         PE-to-PE; override them in the config's `energy:`). {traffic_source}",
        table.mac_pj,
        table.register_file_pj_per_bit * 8.0,
        table.pe_to_pe_pj_per_bit * 8.0,
        table.dram_pj_per_bit * 64.0,
    );
    let _ = writeln!(lines);
    let _ = writeln!(lines, "## Area");
    let _ = writeln!(lines);
    match &report.area {
        None => {
            let _ = writeln!(
                lines,
                "Area: not measured (give `--area` to synthesise with Yosys and sky130hd; about a \
                 minute for an 8×8 array)."
            );
        }
        Some(area) => {
            let _ = writeln!(
                lines,
                "{:.0} µm² ({} cells, {} flip-flops), {:.0} µm² per MAC, {}.",
                area.area_um2,
                area.cells,
                area.flops,
                area.area_per_mac_um2,
                // The file name is enough; the full path only says where the PDK lives here.
                cell(
                    std::path::Path::new(&area.liberty)
                        .file_name()
                        .map_or(area.liberty.as_str(), |name| name
                            .to_str()
                            .unwrap_or_default())
                )
            );
            let _ = writeln!(lines);
            let _ = writeln!(lines, "| module | instances | µm² each | µm² total |");
            let _ = writeln!(lines, "|---|--:|--:|--:|");
            for block in &area.blocks {
                let _ = writeln!(
                    lines,
                    "| {} | {} | {:.0} | {:.0} |",
                    cell(&block.module),
                    block.instances,
                    block.area_um2,
                    block.total_area_um2
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_energies_pick_readable_units() {
        assert_eq!(bytes(8 * 512), "512 B");
        assert_eq!(bytes(8 * 1536), "1.50 KiB");
        assert_eq!(bytes(8 << 30), "1.00 GiB");
        assert_eq!(energy(350.0), "350.000 pJ");
        assert_eq!(energy(2510.0), "2.510 nJ");
        assert_eq!(energy(3.4e9), "3.400 mJ");
        assert_eq!(energy(0.0), "0.000 pJ");
    }

    #[test]
    fn pipes_in_names_do_not_break_the_table() {
        assert_eq!(cell("a|b"), "a\\|b");
    }
}
