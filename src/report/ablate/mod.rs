//! `accelgen ablate`: the construction kit's question, "what does this optimization buy me?",
//! answered one optimization at a time. This module owns the [`Ablation`] value and the
//! orchestration: measuring the base and every toggle's variant with [`Report::build`] (and
//! `flow::synth` for area), and what became of each toggle ([`Outcome`]). The pieces:
//!
//! - `toggle`: the toggles ([`Toggle`]), their spellings and how each edits a base config;
//! - `yaml_tree`: the order-preserving YAML tree the edits are made on and printed from;
//! - `layer_cache`: the workload's layers, lowered once per column count;
//! - `measure`: a report's totals ([`Measured`]) and the ratios against the base ([`Ratios`]);
//! - `rows`, `markdown`, `html`: the Markdown and offline HTML renderings.
//!
//! A variant is made by editing the base config's YAML tree (not the validated spec) and
//! printing it back as YAML, so every variant passes through `config::load_str` and is held to
//! exactly the rules of a hand-written config: a variant the validator (or the cycle model)
//! refuses is reported with the reason, not dropped. The printed YAML is also what `--area`
//! synthesises.
//!
//! Numbers are the cycle model's and the tiling's (`report::schedule`, `report::traffic`), with
//! the variant's own energy table (`report::energy`); ratios are variant / base, so below 1 is
//! better. A toggle that means nothing for the base (zero skipping without buffers, say) is listed
//! with the reason rather than silently left out.

mod html;
mod layer_cache;
mod markdown;
mod measure;
mod rows;
mod toggle;
mod yaml_tree;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use self::html::{html, ratio_plot};
use self::layer_cache::LayerCache;
pub use self::markdown::markdown;
use self::measure::{measure, ratios};
pub use self::measure::{Measured, Ratios};
pub use self::rows::times;
use self::toggle::Skip;
pub use self::toggle::{default_toggles, Toggle, TOGGLE_SYNTAX};
use self::yaml_tree::Node;
use super::workload::WorkloadError;
use super::{Report, ReportError};
use crate::config::{self, AcceleratorSpec, ConfigError};
use crate::flow::{self, FlowError, SynthOptions};

/// The layers to run every variant on.
#[derive(Debug, Clone)]
pub enum Workload {
    /// Layer bundle directories (lowered per variant, since depthwise grouping follows the columns).
    Bundles(Vec<PathBuf>),
    /// A SCALE-Sim topology CSV.
    Topology(PathBuf),
}

/// Why the ablation as a whole could not run (a variant's own failure is an [`Outcome`]).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AblateError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),
    #[error("{}: {message}", path.display())]
    Tree { path: PathBuf, message: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workload(#[from] WorkloadError),
    #[error("the base config: {0}")]
    Report(#[from] ReportError),
    #[error("synthesising the base config: {0}")]
    Area(#[source] FlowError),
    #[error("cannot write a variant's config for synthesis: {0}")]
    Io(#[from] std::io::Error),
    #[error("the variant YAML of the base does not load back to the base (accelgen bug)")]
    RoundTrip,
}

/// What happened to one toggle.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Measured(Box<Measured>),
    /// The config validator or the cycle model refused the variant.
    Rejected {
        reason: String,
    },
    /// The toggle means nothing for this base (e.g. resizing buffers it does not have).
    NotApplicable {
        reason: String,
    },
}

/// One toggle's variant.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// The toggle as written: `dataflow=os`.
    pub toggle: String,
    pub description: String,
    /// The config edits, `pe_array.dataflow: weight_stationary → output_stationary`.
    pub changes: Vec<String>,
    /// The variant's config as validated (and synthesised), when one was made.
    pub config_yaml: Option<String>,
    pub outcome: Outcome,
}

/// The whole ablation.
#[derive(Debug, Clone, Serialize)]
pub struct Ablation {
    pub config: String,
    pub config_path: String,
    /// `8x8 weight_stationary array, i8 x i8 -> 32-bit accumulators, 200 MHz`.
    pub summary: String,
    pub layers: usize,
    pub macs: u64,
    pub base: Measured,
    pub variants: Vec<Variant>,
}

/// Ablates `config`: measures the base and each toggle's variant on `workload`. With `area`,
/// every configuration is synthesised (about a minute each for an 8×8 array); `progress` gets a
/// line before each long step.
pub fn ablate(
    config: &Path,
    workload: &Workload,
    toggles: &[Toggle],
    area: Option<&SynthOptions>,
    progress: &mut dyn FnMut(&str),
) -> Result<Ablation, AblateError> {
    let source = std::fs::read_to_string(config).map_err(|source| ConfigError::Io {
        path: config.to_owned(),
        source,
    })?;
    let file_name = config.display().to_string();
    let base = config::load_str(&source, &file_name)?;
    let tree: Node = serde_saphyr::from_str(&source).map_err(|e| AblateError::Tree {
        path: config.to_owned(),
        message: e.to_string(),
    })?;
    // The variants are printed from the tree: the base printed unchanged must be the base.
    let printed =
        config::load_str(&tree.to_yaml(), &file_name).map_err(|_| AblateError::RoundTrip)?;
    let printed = AcceleratorSpec {
        config_hash: base.config_hash.clone(),
        ..printed
    };
    if printed != base {
        return Err(AblateError::RoundTrip);
    }

    let mut layers = LayerCache::new(workload);
    let base_layers = layers.get(&base)?;
    let base_area = match area {
        Some(options) => {
            progress(&format!("ablate: synthesising the base {}", base.name));
            Some(flow::synth(config, options, progress).map_err(AblateError::Area)?)
        }
        None => None,
    };
    let base_report = Report::build(&base, &base_layers, None)?;
    let mut base_measured = measure(&base_report, "base");
    base_measured.area_um2 = base_area.map(|a| a.area_um2);
    base_measured.ratios = ratios(&base_measured, &base_measured);

    let scratch = tempfile::tempdir()?;
    let mut variants = Vec::new();
    for toggle in toggles {
        let name = toggle.to_string();
        let mut edited = tree.clone();
        let (changes, config_yaml, outcome) = match toggle.apply(&base, &mut edited) {
            Err(Skip::NotApplicable(reason)) => {
                (Vec::new(), None, Outcome::NotApplicable { reason })
            }
            Ok(changes) => {
                let yaml = format!(
                    "# {}: `{name}` applied to {} by accelgen ablate\n{}",
                    base.name,
                    file_name,
                    edited.to_yaml()
                );
                let outcome = measure_variant(
                    &yaml,
                    &format!("{file_name} [{name}]"),
                    &mut layers,
                    &base_measured,
                    area.map(|options| (options, scratch.path())),
                    &name,
                    progress,
                )?;
                (changes, Some(yaml), outcome)
            }
        };
        let variant = Variant {
            description: toggle.description(),
            toggle: name,
            changes,
            config_yaml,
            outcome,
        };
        variants.push(variant);
    }
    Ok(Ablation {
        config: base.name.clone(),
        config_path: file_name,
        summary: base.summary(),
        layers: base_layers.len(),
        macs: base_report.total.macs,
        base: base_measured,
        variants,
    })
}

/// Validates, reports and (with `area`) synthesises one variant's YAML.
fn measure_variant(
    yaml: &str,
    file_name: &str,
    layers: &mut LayerCache<'_>,
    base: &Measured,
    area: Option<(&SynthOptions, &Path)>,
    name: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<Outcome, AblateError> {
    let spec = match config::load_str(yaml, file_name) {
        Ok(spec) => spec,
        Err(error) => {
            return Ok(Outcome::Rejected {
                reason: diagnostic_text(&error),
            })
        }
    };
    let report = match Report::build(&spec, &layers.get(&spec)?, None) {
        Ok(report) => report,
        Err(error) => {
            return Ok(Outcome::Rejected {
                reason: format!("the cycle model cannot run it: {error}"),
            })
        }
    };
    let mut measured = measure(&report, name);
    if let Some((options, scratch)) = area {
        let path = scratch.join(format!("{}.yaml", sanitize(name)));
        std::fs::write(&path, yaml)?;
        progress(&format!("ablate: synthesising {name}"));
        match flow::synth(&path, options, progress) {
            Ok(synth) => measured.area_um2 = Some(synth.area_um2),
            Err(error) => measured.area_note = Some(format!("not synthesised: {error}")),
        }
    }
    measured.ratios = ratios(&measured, base);
    Ok(Outcome::Measured(Box::new(measured)))
}

/// A config error as one line: the message and its help.
fn diagnostic_text(error: &ConfigError) -> String {
    use miette::Diagnostic;
    match error.help() {
        Some(help) => format!("{error} ({help})"),
        None => error.to_string(),
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
