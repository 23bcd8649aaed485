//! What both renderings of an ablation list, so Markdown and HTML show the same rows: the
//! measured configurations (base first), the toggles not measured with why, and the cells
//! (ratios as `0.871×`, area or why there is none) they share.

use super::{Ablation, Measured, Outcome};

/// A ratio as `0.871×`, or `—` when there is none.
pub fn times(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "—".to_owned(), |r| format!("{r:.3}×"))
}

/// The rows of the table: the base, then each measured variant.
pub(super) fn measured_rows(ablation: &Ablation) -> Vec<(&str, &str, &Measured)> {
    let mut rows = vec![("base", "—", &ablation.base)];
    for variant in &ablation.variants {
        if let Outcome::Measured(measured) = &variant.outcome {
            rows.push((&variant.toggle, &variant.description, measured));
        }
    }
    rows
}

/// The toggles that were not measured, with why.
pub(super) fn unmeasured(ablation: &Ablation) -> Vec<(&str, &'static str, &str)> {
    ablation
        .variants
        .iter()
        .filter_map(|variant| match &variant.outcome {
            Outcome::Measured(_) => None,
            Outcome::Rejected { reason } => {
                Some((variant.toggle.as_str(), "rejected", reason.as_str()))
            }
            Outcome::NotApplicable { reason } => {
                Some((variant.toggle.as_str(), "not applicable", reason.as_str()))
            }
        })
        .collect()
}

pub(super) fn area_cell(measured: &Measured) -> String {
    match (measured.area_um2, &measured.area_note) {
        (Some(area), _) => format!("{area:.0}"),
        (None, Some(_)) => "failed".into(),
        (None, None) => "—".into(),
    }
}
