//! An ablation as Markdown: the table of measured configurations, every variant's edits, and the
//! toggles not measured.

use std::fmt::Write;

use super::rows::{area_cell, measured_rows, times, unmeasured};
use super::{Ablation, Outcome};
use crate::report::table::{bytes, energy};

/// The ablation as Markdown: one table row per variant, then the toggles not measured.
pub fn markdown(ablation: &Ablation) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let mut out = String::new();
    let _ = writeln!(out, "# accelgen ablate: {}", cell(&ablation.config));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Base `{}`: {}. Workload: {} layer(s), {} MACs. Cycles are the cycle model's, traffic \
         the tiling's, energy the config's energy table; ratios (×) are variant / base, below 1 \
         is better. Traffic × sums all four levels.",
        ablation.config_path, ablation.summary, ablation.layers, ablation.macs
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| variant | scope | cycles | × cycles | RF | PE-to-PE | GLB | DRAM | × traffic | × DRAM | energy | × energy | area µm² | × area |"
    );
    let _ = writeln!(
        out,
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    );
    for (name, _, m) in measured_rows(ablation) {
        let t = &m.traffic_bits;
        let glb = if t.global_buffer_bits() == 0 && m.scope == "datapath" {
            "–".to_owned()
        } else {
            bytes(t.global_buffer_bits())
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(name),
            m.scope,
            m.cycles,
            times(m.ratios.cycles),
            bytes(t.register_file_bits),
            bytes(t.pe_to_pe_bits),
            glb,
            bytes(t.dram_bits()),
            times(m.ratios.traffic),
            times(m.ratios.dram),
            energy(m.total_energy_pj),
            times(m.ratios.energy),
            area_cell(m),
            times(m.ratios.area),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "## Variants");
    let _ = writeln!(out);
    for variant in &ablation.variants {
        let what = if variant.changes.is_empty() {
            String::new()
        } else {
            format!(" ({})", variant.changes.join("; "))
        };
        let _ = writeln!(out, "- `{}`: {}{what}", variant.toggle, variant.description);
        if let Outcome::Measured(m) = &variant.outcome {
            if let Some(note) = &m.area_note {
                let _ = writeln!(out, "  - area {note}");
            }
        }
    }
    let skipped = unmeasured(ablation);
    if !skipped.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "## Not measured");
        let _ = writeln!(out);
        for (toggle, status, reason) in skipped {
            let _ = writeln!(out, "- `{toggle}`: {status}: {}", cell(reason));
        }
    }
    out
}
