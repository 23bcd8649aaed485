//! `accelgen ablate`: the construction kit's question, "what does this optimization buy me?",
//! answered one optimization at a time. This module owns the toggles ([`Toggle`]), how each one
//! edits a base config into a variant, measuring the base and every variant with
//! [`Report::build`] (and `flow::synth` for area), the ratios against the base, and the
//! Markdown and offline HTML renderings of the result.
//!
//! A variant is made by editing the base config's YAML tree (not the validated spec) and
//! printing it back as YAML, so every variant passes through `config::load_str` and is held to
//! exactly the rules of a hand-written config: a variant the validator (or the cycle model)
//! refuses is reported with the reason, not dropped. The printed YAML is also what `--area`
//! synthesises.
//!
//! Numbers are the cycle model's and the tiling's (`report::schedule`, `report::traffic`), with
//! the variant's own energy table (`report::energy`); ratios are variant / base, so below 1 is
//! better. Toggles whose hardware is not built yet (zero skipping, bit-serial PEs: issue 5) are
//! listed as not available rather than silently left out.

use std::collections::HashMap;
use std::fmt::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;

use super::energy::Energy;
use super::html::{cycles_plot, energy_plot, escape};
use super::table::{bytes, energy};
use super::traffic::Traffic;
use super::workload::{self, LayerShape, WorkloadError};
use super::{LayerInput, Report, ReportError, Row};
use crate::config::validate::IMPLEMENTED_DATAFLOWS;
use crate::config::{self, AcceleratorSpec, ConfigError, Dataflow};
use crate::flow::{self, FlowError, SynthOptions};

/// One optimization to switch relative to the base. Adding an optimization is one variant here,
/// one arm in [`Toggle::apply`] and one in [`Toggle::from_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toggle {
    /// Another dataflow for the same array (`dataflow=ws|os|is|rs`).
    Dataflow(Dataflow),
    /// Every global-buffer region at half its words (`half_buffers`).
    HalfBuffers,
    /// Every global-buffer region at twice its words (`double_buffers`).
    DoubleBuffers,
    /// Activations and weights both `N` bits (`precision=N`); the accumulator stays as in the base.
    Precision(u32),
    /// Skipping MACs on zero operands (`zero_skip`): not built yet.
    ZeroSkip,
    /// Bit-serial PEs (`bit_serial`): not built yet.
    BitSerial,
}

/// The spellings [`Toggle::from_str`] accepts, for messages and `--help`.
pub const TOGGLE_SYNTAX: &str =
    "dataflow=ws|os|is|rs, half_buffers, double_buffers, precision=N, zero_skip, bit_serial";

/// What issue 5 will add; the reason a not-yet-built toggle gives.
const NEEDS_ISSUE_5: &str = "needs issue 5's units";

impl fmt::Display for Toggle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Toggle::Dataflow(dataflow) => write!(f, "dataflow={}", dataflow.tag()),
            Toggle::HalfBuffers => f.write_str("half_buffers"),
            Toggle::DoubleBuffers => f.write_str("double_buffers"),
            Toggle::Precision(bits) => write!(f, "precision={bits}"),
            Toggle::ZeroSkip => f.write_str("zero_skip"),
            Toggle::BitSerial => f.write_str("bit_serial"),
        }
    }
}

impl FromStr for Toggle {
    type Err = String;

    fn from_str(text: &str) -> Result<Toggle, String> {
        let text = text.trim();
        let unknown = || format!("unknown toggle `{text}`; available: {TOGGLE_SYNTAX}");
        match text.split_once('=') {
            None => match text {
                "half_buffers" => Ok(Toggle::HalfBuffers),
                "double_buffers" => Ok(Toggle::DoubleBuffers),
                "zero_skip" => Ok(Toggle::ZeroSkip),
                "bit_serial" => Ok(Toggle::BitSerial),
                "dataflow" | "precision" => Err(format!(
                    "toggle `{text}` needs a value, e.g. `dataflow=os` or `precision=4`; \
                     available: {TOGGLE_SYNTAX}"
                )),
                _ => Err(unknown()),
            },
            Some(("dataflow", value)) => [
                Dataflow::WeightStationary,
                Dataflow::OutputStationary,
                Dataflow::InputStationary,
                Dataflow::RowStationary,
            ]
            .into_iter()
            .find(|d| d.tag() == value || d.config_name() == value)
            .map(Toggle::Dataflow)
            .ok_or_else(|| format!("unknown dataflow `{value}` in `{text}`; use ws, os, is or rs")),
            Some(("precision", value)) => {
                value.parse::<u32>().map(Toggle::Precision).map_err(|_| {
                    format!("`{text}`: the precision is a whole number of bits, e.g. precision=4")
                })
            }
            Some(_) => Err(unknown()),
        }
    }
}

/// Why a toggle was not measured.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Skip {
    NotApplicable(String),
    NotAvailable(String),
}

impl Toggle {
    /// What the variant is, for people.
    pub fn description(&self) -> String {
        match self {
            Toggle::Dataflow(dataflow) => format!("{} dataflow", dataflow.config_name()),
            Toggle::HalfBuffers => "every global-buffer region halved".into(),
            Toggle::DoubleBuffers => "every global-buffer region doubled".into(),
            Toggle::Precision(bits) => format!(
                "{bits}-bit activations and weights (accumulator as in the base; the layers' \
                 shapes at the new widths, values not requantized)"
            ),
            Toggle::ZeroSkip => "skip MACs on zero activations and weights".into(),
            Toggle::BitSerial => "bit-serial PEs instead of parallel multipliers".into(),
        }
    }

    /// Edits the base's YAML tree into the variant; returns the edits as `key: old → new`.
    fn apply(&self, base: &AcceleratorSpec, tree: &mut Node) -> Result<Vec<String>, Skip> {
        let mut changes = Vec::new();
        match *self {
            Toggle::Dataflow(dataflow) => {
                if dataflow == base.pe_array.dataflow {
                    return Err(Skip::NotApplicable(format!(
                        "the base already is {}",
                        dataflow.config_name()
                    )));
                }
                tree.set(
                    &["pe_array", "dataflow"],
                    Node::Str(dataflow.config_name().into()),
                    &mut changes,
                );
            }
            Toggle::Precision(bits) => {
                if base.pe.act.bits == bits && base.pe.weight.bits == bits {
                    return Err(Skip::NotApplicable(format!(
                        "the base already has {bits}-bit activations and weights"
                    )));
                }
                for operand in ["act", "weight"] {
                    tree.set(
                        &["pe", operand, "bits"],
                        Node::Int(i64::from(bits)),
                        &mut changes,
                    );
                }
            }
            Toggle::HalfBuffers | Toggle::DoubleBuffers => {
                let Some(buffers) = &base.buffers else {
                    return Err(Skip::NotApplicable(
                        "the base config has no `buffers:` (a bare PE array fed from DRAM), so \
                         there is no global buffer to resize"
                            .into(),
                    ));
                };
                let resize = |depth: u64| {
                    if *self == Toggle::HalfBuffers {
                        depth / 2
                    } else {
                        depth * 2
                    }
                };
                let regions: Vec<String> = match tree.get(&["buffers"]) {
                    Some(Node::Map(entries)) => entries
                        .iter()
                        .filter(|(_, value)| value.get(&["capacity"]).is_some())
                        .map(|(key, _)| key.clone())
                        .collect(),
                    _ => Vec::new(),
                };
                for region in regions {
                    let Some((_, spec)) = buffers.regions().into_iter().find(|(n, _)| *n == region)
                    else {
                        return Err(Skip::NotApplicable(format!(
                            "buffer region `{region}` is not one this version sizes"
                        )));
                    };
                    tree.set(
                        &["buffers", &region, "capacity"],
                        Node::Str(format!("{} words", resize(spec.depth))),
                        &mut changes,
                    );
                }
            }
            Toggle::ZeroSkip | Toggle::BitSerial => {
                return Err(Skip::NotAvailable(NEEDS_ISSUE_5.into()))
            }
        }
        Ok(changes)
    }
}

/// Every toggle that applies to `base`: each other implemented dataflow, halving and doubling the
/// buffers when there are any, 4-bit operands (8-bit when the base is already 4-bit), and the
/// toggles not built yet, so the output says they are missing.
pub fn default_toggles(base: &AcceleratorSpec) -> Vec<Toggle> {
    let mut toggles: Vec<Toggle> = IMPLEMENTED_DATAFLOWS
        .iter()
        .filter(|d| **d != base.pe_array.dataflow)
        .map(|d| Toggle::Dataflow(*d))
        .collect();
    if base.buffers.is_some() {
        toggles.extend([Toggle::HalfBuffers, Toggle::DoubleBuffers]);
    }
    let narrow = if base.pe.act.bits == 4 && base.pe.weight.bits == 4 {
        8
    } else {
        4
    };
    toggles.extend([
        Toggle::Precision(narrow),
        Toggle::ZeroSkip,
        Toggle::BitSerial,
    ]);
    toggles
}

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

/// Variant / base, per quantity; `None` where the base is zero (a level the base does not have).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratios {
    pub cycles: Option<f64>,
    pub register_file: Option<f64>,
    pub pe_to_pe: Option<f64>,
    pub global_buffer: Option<f64>,
    pub dram: Option<f64>,
    /// All four levels' bits summed.
    pub traffic: Option<f64>,
    pub energy: Option<f64>,
    pub area: Option<f64>,
}

/// A measured configuration: the totals of its report over the workload.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// `datapath` or `core` (a dataflow toggle may change what the numbers cover).
    pub scope: &'static str,
    pub dataflow: &'static str,
    /// `i8 x i8 -> acc32`.
    pub pe: String,
    pub cycles: u64,
    pub utilization: f64,
    pub traffic_bits: Traffic,
    /// RF + PE-to-PE + GLB + DRAM bits.
    pub total_traffic_bits: u64,
    pub energy_pj: Energy,
    pub total_energy_pj: f64,
    /// Flat sky130hd area with `--area`.
    pub area_um2: Option<f64>,
    /// Why there is no area with `--area` (the variant did not synthesise).
    pub area_note: Option<String>,
    pub ratios: Ratios,
    /// The report's total row, named after the variant (for the plots).
    #[serde(skip)]
    pub total: Row,
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
    /// The optimization is not built yet.
    NotAvailable {
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
            Err(Skip::NotAvailable(reason)) => (Vec::new(), None, Outcome::NotAvailable { reason }),
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

/// The workload's layers, read once per column count (bundles group depthwise channels by it).
struct LayerCache<'a> {
    workload: &'a Workload,
    by_cols: HashMap<u32, Vec<LayerShape>>,
}

impl<'a> LayerCache<'a> {
    fn new(workload: &'a Workload) -> LayerCache<'a> {
        LayerCache {
            workload,
            by_cols: HashMap::new(),
        }
    }

    fn get(&mut self, spec: &AcceleratorSpec) -> Result<Vec<LayerInput>, WorkloadError> {
        let cols = spec.pe_array.cols;
        if !self.by_cols.contains_key(&cols) {
            let shapes = match self.workload {
                Workload::Topology(csv) => workload::from_topology_csv(csv)?,
                Workload::Bundles(dirs) => dirs
                    .iter()
                    .map(|dir| workload::from_bundle(dir, cols as usize))
                    .collect::<Result<Vec<_>, _>>()?,
            };
            self.by_cols.insert(cols, shapes);
        }
        Ok(self.by_cols[&cols]
            .iter()
            .map(|shape| LayerInput {
                shape: shape.clone(),
                rtl_cycles: None,
            })
            .collect())
    }
}

fn total_traffic(traffic: &Traffic) -> u64 {
    traffic.register_file_bits
        + traffic.pe_to_pe_bits
        + traffic.global_buffer_bits()
        + traffic.dram_bits()
}

fn measure(report: &Report, name: &str) -> Measured {
    let total = &report.total;
    Measured {
        scope: report.scope,
        dataflow: report.dataflow,
        pe: report.pe.clone(),
        cycles: total.cycles,
        utilization: total.utilization,
        traffic_bits: total.traffic_bits,
        total_traffic_bits: total_traffic(&total.traffic_bits),
        energy_pj: total.energy_pj,
        total_energy_pj: total.total_energy_pj,
        area_um2: None,
        area_note: None,
        ratios: Ratios {
            cycles: None,
            register_file: None,
            pe_to_pe: None,
            global_buffer: None,
            dram: None,
            traffic: None,
            energy: None,
            area: None,
        },
        total: Row {
            name: name.to_owned(),
            ..total.clone()
        },
    }
}

fn ratio(variant: f64, base: f64) -> Option<f64> {
    (base > 0.0).then(|| variant / base)
}

fn ratios(variant: &Measured, base: &Measured) -> Ratios {
    let bits = |m: &Measured, level: fn(&Traffic) -> u64| level(&m.traffic_bits) as f64;
    let level = |f: fn(&Traffic) -> u64| ratio(bits(variant, f), bits(base, f));
    Ratios {
        cycles: ratio(variant.cycles as f64, base.cycles as f64),
        register_file: level(|t| t.register_file_bits),
        pe_to_pe: level(|t| t.pe_to_pe_bits),
        global_buffer: level(Traffic::global_buffer_bits),
        dram: level(Traffic::dram_bits),
        traffic: ratio(
            variant.total_traffic_bits as f64,
            base.total_traffic_bits as f64,
        ),
        energy: ratio(variant.total_energy_pj, base.total_energy_pj),
        area: variant
            .area_um2
            .zip(base.area_um2)
            .and_then(|(v, b)| ratio(v, b)),
    }
}

/// A ratio as `0.871×`, or `—` when there is none.
pub fn times(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "—".to_owned(), |r| format!("{r:.3}×"))
}

/// The rows of the table: the base, then each measured variant.
fn measured_rows(ablation: &Ablation) -> Vec<(&str, &str, &Measured)> {
    let mut rows = vec![("base", "—", &ablation.base)];
    for variant in &ablation.variants {
        if let Outcome::Measured(measured) = &variant.outcome {
            rows.push((&variant.toggle, &variant.description, measured));
        }
    }
    rows
}

/// The toggles that were not measured, with why.
fn unmeasured(ablation: &Ablation) -> Vec<(&str, &'static str, &str)> {
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
            Outcome::NotAvailable { reason } => Some((
                variant.toggle.as_str(),
                "not available yet",
                reason.as_str(),
            )),
        })
        .collect()
}

fn area_cell(measured: &Measured) -> String {
    match (measured.area_um2, &measured.area_note) {
        (Some(area), _) => format!("{area:.0}"),
        (None, Some(_)) => "failed".into(),
        (None, None) => "—".into(),
    }
}

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

/// A YAML document as a tree that keeps key order, so a variant can be edited and printed back.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    fn get(&self, path: &[&str]) -> Option<&Node> {
        match path.split_first() {
            None => Some(self),
            Some((key, rest)) => match self {
                Node::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| k == key)
                    .and_then(|(_, v)| v.get(rest)),
                _ => None,
            },
        }
    }

    /// Sets the value at `path`, creating maps on the way, and records `path: old → new`.
    fn set(&mut self, path: &[&str], value: Node, changes: &mut Vec<String>) {
        let mut node = self;
        for key in path {
            if !matches!(node, Node::Map(_)) {
                *node = Node::Map(Vec::new());
            }
            let Node::Map(entries) = node else {
                unreachable!("made a map above")
            };
            let index = match entries.iter().position(|(k, _)| k == key) {
                Some(index) => index,
                None => {
                    entries.push(((*key).to_owned(), Node::Null));
                    entries.len() - 1
                }
            };
            node = &mut entries[index].1;
        }
        changes.push(format!(
            "{}: {} → {}",
            path.join("."),
            node.scalar(),
            value.scalar()
        ));
        *node = value;
    }

    fn scalar(&self) -> String {
        match self {
            Node::Null => "null".into(),
            Node::Bool(b) => b.to_string(),
            Node::Int(i) => i.to_string(),
            Node::Float(f) if f.is_nan() => ".nan".into(),
            Node::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.into(),
            Node::Float(f) => format!("{f:?}"),
            Node::Str(s) => quote(s),
            Node::Seq(items) if items.is_empty() => "[]".into(),
            Node::Map(entries) if entries.is_empty() => "{}".into(),
            Node::Seq(_) | Node::Map(_) => "…".into(),
        }
    }

    /// Block-style YAML; strings are plain when they cannot be read as anything else, else
    /// double-quoted.
    fn to_yaml(&self) -> String {
        let mut out = String::new();
        match self {
            Node::Map(entries) if !entries.is_empty() => write_map(entries, 0, &mut out),
            other => {
                let _ = writeln!(out, "{}", other.scalar());
            }
        }
        out
    }
}

fn is_block(node: &Node) -> bool {
    matches!(node, Node::Map(e) if !e.is_empty()) || matches!(node, Node::Seq(s) if !s.is_empty())
}

fn write_block(node: &Node, indent: usize, out: &mut String) {
    match node {
        Node::Map(entries) => write_map(entries, indent, out),
        Node::Seq(items) => {
            for item in items {
                if is_block(item) {
                    let _ = writeln!(out, "{:indent$}-", "");
                    write_block(item, indent + 2, out);
                } else {
                    let _ = writeln!(out, "{:indent$}- {}", "", item.scalar());
                }
            }
        }
        _ => unreachable!("only blocks"),
    }
}

fn write_map(entries: &[(String, Node)], indent: usize, out: &mut String) {
    for (key, value) in entries {
        if is_block(value) {
            let _ = writeln!(out, "{:indent$}{}:", "", quote(key));
            write_block(value, indent + 2, out);
        } else {
            let _ = writeln!(out, "{:indent$}{}: {}", "", quote(key), value.scalar());
        }
    }
}

/// `s` plain if it is an identifier YAML cannot read as a boolean or null, else double-quoted
/// (JSON's escapes are YAML's).
fn quote(s: &str) -> String {
    let identifier = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let reserved = ["true", "false", "null", "yes", "no", "on", "off", "y", "n"]
        .contains(&s.to_ascii_lowercase().as_str());
    if identifier && !reserved {
        s.to_owned()
    } else {
        serde_json::to_string(s).expect("strings serialize")
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(Node::Int)
            .map_err(|_| E::custom(format!("{v} is too large")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Node, Node>()? {
            let key = match key {
                Node::Str(s) => s,
                Node::Int(i) => i.to_string(),
                Node::Bool(b) => b.to_string(),
                other => {
                    return Err(de::Error::custom(format!(
                        "unsupported mapping key {}",
                        other.scalar()
                    )))
                }
            };
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY_CORE: &str = include_str!("../../configs/experimental/tiny_core.yaml");
    const EDGE_TPU: &str = include_str!("../../configs/edge_tpu.yaml");

    fn tree(text: &str) -> Node {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn toggles_parse_and_print_back_and_bad_names_list_the_choices() {
        for text in [
            "dataflow=os",
            "dataflow=ws",
            "dataflow=is",
            "dataflow=rs",
            "half_buffers",
            "double_buffers",
            "precision=4",
            "zero_skip",
            "bit_serial",
        ] {
            assert_eq!(text.parse::<Toggle>().unwrap().to_string(), text);
        }
        assert_eq!(
            "dataflow=output_stationary".parse::<Toggle>(),
            Ok(Toggle::Dataflow(Dataflow::OutputStationary))
        );
        let error = "zero_skipping".parse::<Toggle>().unwrap_err();
        assert!(error.contains("unknown toggle `zero_skipping`"), "{error}");
        assert!(error.contains(TOGGLE_SYNTAX), "{error}");
        assert!("dataflow=xs"
            .parse::<Toggle>()
            .unwrap_err()
            .contains("ws, os, is or rs"));
        assert!("precision=four".parse::<Toggle>().is_err());
        assert!("precision"
            .parse::<Toggle>()
            .unwrap_err()
            .contains("needs a value"));
    }

    #[test]
    fn printed_trees_load_back_to_the_same_spec() {
        for text in [TINY_CORE, EDGE_TPU] {
            let spec = config::load_str(text, "base.yaml").unwrap();
            let printed = tree(text).to_yaml();
            let again = config::load_str(&printed, "printed.yaml").unwrap();
            assert_eq!(
                AcceleratorSpec {
                    config_hash: spec.config_hash.clone(),
                    ..again
                },
                spec,
                "{printed}"
            );
        }
    }

    #[test]
    fn awkward_strings_are_quoted() {
        assert_eq!(quote("edge_tpu"), "edge_tpu");
        assert_eq!(quote("64 kib"), "\"64 kib\"");
        assert_eq!(quote("no"), "\"no\"");
        assert_eq!(quote("8"), "\"8\"");
        assert_eq!(quote("a: b"), "\"a: b\"");
    }

    #[test]
    fn variants_edit_the_keys_their_toggle_names() {
        let base = config::load_str(TINY_CORE, "tiny_core.yaml").unwrap();
        let mut edited = tree(TINY_CORE);
        let changes = Toggle::HalfBuffers.apply(&base, &mut edited).unwrap();
        assert_eq!(
            changes,
            [
                "buffers.ifmap.capacity: \"128 words\" → \"64 words\"",
                "buffers.weight.capacity: \"64 words\" → \"32 words\"",
                "buffers.psum.capacity: \"32 words\" → \"16 words\"",
                "buffers.ofmap.capacity: \"256 words\" → \"128 words\"",
            ]
        );
        let half = config::load_str(&edited.to_yaml(), "half.yaml").unwrap();
        let buffers = half.buffers.unwrap();
        assert_eq!(
            (
                buffers.ifmap.depth,
                buffers.weight.depth,
                buffers.psum.depth
            ),
            (64, 32, 16)
        );

        let mut edited = tree(TINY_CORE);
        let changes = Toggle::Dataflow(Dataflow::OutputStationary)
            .apply(&base, &mut edited)
            .unwrap();
        assert_eq!(
            changes,
            ["pe_array.dataflow: weight_stationary → output_stationary"]
        );
        assert_eq!(
            Toggle::Dataflow(Dataflow::WeightStationary).apply(&base, &mut tree(TINY_CORE)),
            Err(Skip::NotApplicable(
                "the base already is weight_stationary".into()
            ))
        );

        let edge = config::load_str(EDGE_TPU, "edge_tpu.yaml").unwrap();
        assert!(matches!(
            Toggle::HalfBuffers.apply(&edge, &mut tree(EDGE_TPU)),
            Err(Skip::NotApplicable(_))
        ));
        assert_eq!(
            Toggle::ZeroSkip.apply(&edge, &mut tree(EDGE_TPU)),
            Err(Skip::NotAvailable(NEEDS_ISSUE_5.into()))
        );
        let mut edited = tree(EDGE_TPU);
        Toggle::Precision(4).apply(&edge, &mut edited).unwrap();
        let narrow = config::load_str(&edited.to_yaml(), "p4.yaml").unwrap();
        assert_eq!((narrow.pe.act.bits, narrow.pe.weight.bits), (4, 4));
        assert_eq!(narrow.pe.acc_bits, edge.pe.acc_bits);
    }

    #[test]
    fn defaults_cover_the_other_dataflows_buffers_precision_and_the_missing_units() {
        let edge = config::load_str(EDGE_TPU, "edge_tpu.yaml").unwrap();
        let names: Vec<String> = default_toggles(&edge)
            .iter()
            .map(Toggle::to_string)
            .collect();
        assert_eq!(
            names,
            [
                "dataflow=os",
                "dataflow=is",
                "precision=4",
                "zero_skip",
                "bit_serial"
            ]
        );
        let core = config::load_str(TINY_CORE, "tiny_core.yaml").unwrap();
        assert!(default_toggles(&core).contains(&Toggle::HalfBuffers));
    }
}
