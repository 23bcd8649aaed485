//! `accelgen run-layer`: layer bundles through the golden model and the RTL datapath, compared
//! with TFLite Micro's `expected.npy`, reported per layer as a table or JSON.
//!
//! The RTL scope depends on the config (`accelgen_tb::layer`): with `buffers:`, the buffered
//! core (buffers, controller, array, psum accumulation, post-process) with the host loading the
//! buffers; without, the datapath (array and post-process unit) with the host doing the rest.
//! Every report names its scope, so numbers of different scopes are never confused.

use std::path::{Path, PathBuf};

use accelgen::config::AcceleratorSpec;
use accelgen::golden::cycles::ArrayShape;
use accelgen::golden::dma::serial_bits;
use accelgen::golden::{self, compare, write_npy, Comparison, LayerBundle, Tensor};
use accelgen_tb::dram::{DramTiming, Jitter};
use accelgen_tb::layer::{self, CoreBench, DatapathBench, LayerRun, LayerRunError};
use accelgen_tb::Traffic;
use miette::{miette, Report};
use serde::Serialize;

/// The RTL a report runs layers on.
enum Bench {
    Datapath(DatapathBench),
    Core(CoreBench),
}

impl Bench {
    fn run(&mut self, bundle: &LayerBundle, dram: DramTiming) -> Result<LayerRun, LayerRunError> {
        match self {
            Bench::Datapath(bench) => bench.run(bundle, &Traffic::full_rate()),
            Bench::Core(bench) => bench.run(bundle, dram),
        }
    }
}

/// The DRAM the core runs against: the config's deterministic one, or with `random` a slow,
/// irregular one drawn from that seed.
pub fn dram_timing(spec: &AcceleratorSpec, random: Option<u64>) -> DramTiming {
    let dram = spec.buffers.as_ref().map(|b| b.dram).unwrap_or_default();
    DramTiming {
        latency: dram.latency_cycles,
        cycles_per_beat: dram.cycles_per_beat,
        jitter: random.map(|seed| Jitter {
            seed,
            max_extra_latency: 4 * dram.latency_cycles,
            ready_chance: 0.5,
        }),
    }
}

/// What the RTL side of a report on `spec` covers.
pub fn scope(spec: &AcceleratorSpec, golden_only: bool) -> &'static str {
    match (golden_only, &spec.buffers) {
        (true, _) => "golden",
        (false, Some(_)) => layer::CORE_SCOPE,
        (false, None) => layer::DATAPATH_SCOPE,
    }
}

/// One layer's line of the report.
#[derive(Debug, Serialize)]
pub struct LayerReport {
    pub layer: String,
    pub directory: PathBuf,
    pub op: &'static str,
    /// How the RTL got the activations: `window` (the core walked input tiles) or `im2col`
    /// (the host sent the lowered GEMMs); None when the RTL did not run.
    pub lowering: Option<&'static str>,
    pub outputs: usize,
    /// Bit-serial arrays: the bits streamed per activation, the fewest that hold the layer's
    /// stored activations (`golden::dma::serial_bits`); None for a parallel array.
    pub act_bits: Option<u32>,
    /// The layer's multiply-accumulates (taps in the padding not counted).
    pub macs: u64,
    /// Golden model vs `expected.npy` (None without an expected output).
    pub golden_mismatches: Option<usize>,
    /// RTL vs `expected.npy`, or vs the golden model when the bundle has none.
    pub rtl_mismatches: Option<usize>,
    /// RTL cycles at full rate, summed over the layer's GEMM runs (what they cover: the
    /// report's scope).
    pub rtl_cycles: Option<u64>,
    /// The cycle model's prediction of `rtl_cycles`.
    pub model_cycles: Option<u64>,
    /// Core scope: cycles from the host's first register write to its seeing the layer's last
    /// run end (it queues each descriptor while the previous one runs).
    pub wall_cycles: Option<u64>,
    /// Datapath scope: the separate post-process unit's cycles.
    pub post_process_cycles: Option<u64>,
    /// Core scope: bytes the DMA moved between DRAM and the buffers (its counters).
    pub dram_bytes: Option<u64>,
    /// Core scope: the model's prediction of `dram_bytes`.
    pub model_dram_bytes: Option<u64>,
    /// Core scope: every performance counter summed over the layer's runs.
    pub counters: Option<std::collections::BTreeMap<&'static str, u64>>,
    /// `macs / PEs`: every PE busy every cycle.
    pub ideal_cycles: u64,
    /// `macs / (PEs · rtl_cycles)`. Depthwise layers lower to one single-column GEMM per
    /// channel, so they use at most 1/COLS of the array.
    pub utilization: Option<f64>,
    /// Why the RTL did not run a layer the golden model ran (an unsupported feature, not a
    /// failure).
    pub rtl_skipped: Option<String>,
    /// Set when the bundle could not be loaded or run; the layer counts as failed.
    pub error: Option<String>,
    /// The DRAM was deterministic, so the model must equal the RTL exactly.
    pub model_exact: bool,
}

impl LayerReport {
    pub fn failed(&self) -> bool {
        self.error.is_some()
            || self.golden_mismatches.is_some_and(|m| m > 0)
            || self.rtl_mismatches.is_some_and(|m| m > 0)
            || (self.model_exact
                && (matches!((self.rtl_cycles, self.model_cycles), (Some(r), Some(m)) if r != m)
                    || matches!(
                        (self.dram_bytes, self.model_dram_bytes),
                        (Some(r), Some(m)) if r != m
                    )))
    }
}

/// Runs every bundle; writes each output as `<OUT>/<layer name with / as __>.npy` when `output`
/// is given. Errors of single bundles are reported in their line, not returned.
pub fn run(
    spec: &AcceleratorSpec,
    directories: &[PathBuf],
    golden_only: bool,
    output: Option<&Path>,
    dram: DramTiming,
) -> Result<Vec<LayerReport>, Report> {
    let mut bench = match (golden_only, &spec.buffers) {
        (true, _) => None,
        (false, Some(_)) => Some(Bench::Core(
            CoreBench::new(spec).map_err(|e| miette!("building the buffered core: {e}"))?,
        )),
        (false, None) => Some(Bench::Datapath(
            DatapathBench::new(spec).map_err(|e| miette!("building the RTL datapath: {e}"))?,
        )),
    };
    if let Some(output) = output {
        std::fs::create_dir_all(output)
            .map_err(|e| miette!("cannot create {}: {e}", output.display()))?;
    }
    let mut reports = Vec::new();
    for directory in directories {
        let mut report = LayerReport {
            layer: directory.display().to_string(),
            directory: directory.clone(),
            op: "?",
            lowering: None,
            outputs: 0,
            act_bits: None,
            macs: 0,
            golden_mismatches: None,
            rtl_mismatches: None,
            rtl_cycles: None,
            wall_cycles: None,
            model_cycles: None,
            post_process_cycles: None,
            dram_bytes: None,
            model_dram_bytes: None,
            counters: None,
            ideal_cycles: 0,
            utilization: None,
            rtl_skipped: None,
            error: None,
            model_exact: dram.jitter.is_none(),
        };
        if let Err(error) = run_one(&mut report, directory, bench.as_mut(), spec, output, dram) {
            report.error = Some(error);
        }
        reports.push(report);
    }
    Ok(reports)
}

fn run_one(
    report: &mut LayerReport,
    directory: &Path,
    bench: Option<&mut Bench>,
    spec: &AcceleratorSpec,
    output: Option<&Path>,
    dram: DramTiming,
) -> Result<(), String> {
    let array = ArrayShape {
        rows: spec.pe_array.rows.into(),
        cols: spec.pe_array.cols.into(),
    };
    let bundle = LayerBundle::load(directory).map_err(|e| e.to_string())?;
    report.layer = bundle.name.clone();
    report.op = bundle.params.op.name();
    let golden = golden::run_layer(&bundle).map_err(|e| format!("golden model: {e}"))?;
    report.outputs = golden.len();
    let mismatches = |expected: &Tensor, actual: &Tensor| -> Result<usize, String> {
        compare(expected, actual)
            .map(|c: Comparison| c.mismatches)
            .map_err(|e| e.to_string())
    };
    if let Some(expected) = &bundle.expected {
        report.golden_mismatches = Some(mismatches(expected, &golden)?);
    }
    let lowered = golden::lowering::lower(
        &bundle.params,
        &bundle.input,
        &bundle.weight,
        bundle.bias.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    report.macs = lowered.layer_macs;
    report.act_bits = serial_bits(spec, lowered.act_range());
    // Every PE busy every cycle: the layer's MACs over the array's.
    let pes = array.rows * array.cols;
    report.ideal_cycles = report.macs.div_ceil(pes);
    let written = match bench.map(|bench| bench.run(&bundle, dram)) {
        None => golden,
        Some(Err(LayerRunError::OnnxRequant)) => {
            report.rtl_skipped = Some(LayerRunError::OnnxRequant.to_string());
            golden
        }
        Some(Err(error)) => return Err(format!("RTL: {error}")),
        Some(Ok(run)) => {
            let reference = bundle.expected.as_ref().unwrap_or(&golden);
            report.rtl_mismatches = Some(mismatches(reference, &run.output)?);
            report.rtl_cycles = Some(run.rtl_cycles);
            report.wall_cycles = run.wall_cycles;
            report.lowering = Some(run.lowering.name());
            report.model_cycles = Some(run.model_cycles);
            report.post_process_cycles = run.post_process_cycles;
            report.dram_bytes = run.dram_bytes;
            report.model_dram_bytes = run.model_dram_bytes;
            if !run.counters.is_empty() {
                report.counters = Some(run.counters.iter().copied().collect());
            }
            report.utilization = Some(run.macs as f64 / (pes * run.rtl_cycles) as f64);
            run.output
        }
    };
    if let Some(output) = output {
        let path = output.join(format!("{}.npy", bundle.name.replace('/', "__")));
        write_npy(&path, &written).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The report as an aligned table, one line per layer, then a total line naming the scope.
pub fn table(reports: &[LayerReport], scope: &str) -> String {
    let dash = || "-".to_string();
    // A bit-serial array's precision per layer, as a column after `lower`.
    let serial = reports.iter().any(|r| r.act_bits.is_some());
    let bits = |value: String| {
        if serial {
            format!(" {value:>4}")
        } else {
            String::new()
        }
    };
    let mut lines = vec![format!(
        "{:<34} {:<17} {:<7}{} {:>8} {:>10} {:>7} {:>7} {:>9} {:>9} {:>9} {:>6} {:>10}",
        "layer",
        "op",
        "lower",
        bits("bits".to_string()),
        "outputs",
        "MACs",
        "golden",
        "rtl",
        "rtl_cyc",
        "model",
        "ideal",
        "util",
        "dram_B"
    )];
    for r in reports {
        if let Some(error) = &r.error {
            lines.push(format!("{:<34} error: {error}", r.layer));
            continue;
        }
        let count = |value: Option<usize>| value.map_or_else(dash, |v| v.to_string());
        lines.push(format!(
            "{:<34} {:<17} {:<7}{} {:>8} {:>10} {:>7} {:>7} {:>9} {:>9} {:>9} {:>6} {:>10}",
            r.layer,
            r.op,
            r.lowering.unwrap_or("-"),
            bits(r.act_bits.map_or_else(dash, |b| b.to_string())),
            r.outputs,
            r.macs,
            count(r.golden_mismatches),
            count(r.rtl_mismatches),
            r.rtl_cycles.map_or_else(dash, |v| v.to_string()),
            r.model_cycles.map_or_else(dash, |v| v.to_string()),
            r.ideal_cycles,
            r.utilization.map_or_else(dash, |u| format!("{:.3}", u)),
            r.dram_bytes.map_or_else(dash, |v| v.to_string()),
        ));
        if let Some(skipped) = &r.rtl_skipped {
            lines.push(format!("{:<34} rtl skipped: {skipped}", ""));
        }
    }
    let failed = reports.iter().filter(|r| r.failed()).count();
    let rtl: u64 = reports.iter().filter_map(|r| r.rtl_cycles).sum();
    let ideal: u64 = reports.iter().map(|r| r.ideal_cycles).sum();
    let dram: u64 = reports.iter().filter_map(|r| r.dram_bytes).sum();
    let wall: u64 = reports.iter().filter_map(|r| r.wall_cycles).sum();
    let wall = if wall > 0 {
        format!(" ({wall} on the wall clock, the host's programming included)")
    } else {
        String::new()
    };
    lines.push(format!(
        "{} layers, {failed} failed; {}",
        reports.len(),
        if scope == "golden" {
            "golden only".to_string()
        } else {
            format!("RTL {rtl} cycles{wall} vs ideal {ideal}, {dram} DRAM bytes; scope: {scope}")
        }
    ));
    lines.join("\n")
}
