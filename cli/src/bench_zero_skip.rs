//! `accelgen bench zero-skip`: what activation zero-skipping buys on real layers. Each bundle
//! runs through the RTL of the skipping core and of the same core without skipping (its twin:
//! the config with `zero_skip.activations` off and the index bits off the ifmap word), both
//! checked bit-exactly against the golden model and against the cycle model; next to their
//! compute-phase and whole-run speedups stands the profiler's ideal for the brick the core
//! skips (R output pixels at one reduction index: `golden::profile`'s pixel bricks), and the
//! fraction of that ideal the RTL reaches.
//!
//! A Bit-Pragmatic config (`pe.serial.mode: pragmatic`, zero skipping with one-bit-serial PEs)
//! runs on a third core: its skipping twin is then the config with parallel PEs. A second
//! table sets the Pragmatic core's compute against the parallel skipping core's (a kept brick
//! takes its busiest lane's one-bits instead of one cycle: the profiler's mean of those is
//! the slowdown the model predicts) and against an 8-bit serial baseline, 8 × the dense core's
//! compute, as the Pragmatic paper normalises (a serial PE is about an eighth of a parallel one),
//! next to the profiler's ideal for that baseline.

use accelgen::config::{AcceleratorSpec, PeKind};
use accelgen::generate;
use accelgen::golden::profile::profile;
use accelgen::golden::{self, compare, LayerBundle};
use accelgen_tb::layer::{CoreBench, LayerRun};
use miette::{miette, Report};

use crate::cli::ZeroSkipArgs;
use crate::run_layer;

/// One layer on both cores.
struct Row {
    layer: String,
    /// The profiler's fraction of zero bricks and ideal speedup `1 / (1 − fraction)`.
    zero_bricks: f64,
    ideal: f64,
    dense: Measured,
    skipping: Measured,
    /// The Pragmatic core's run and the profiler's figures for it (a Pragmatic config only).
    pragmatic: Option<Pragmatic>,
}

/// A layer on the Pragmatic core.
struct Pragmatic {
    /// The profiler's mean of a kept brick's most one-bits, and its speedup of Pragmatic over
    /// skipped bricks against 8-bit serial steps.
    steps_per_brick: f64,
    ideal: f64,
    run: Measured,
}

/// One core's run of a layer.
pub(crate) struct Measured {
    pub(crate) mismatches: usize,
    pub(crate) rtl_cycles: u64,
    pub(crate) model_cycles: u64,
    pub(crate) compute_cycles: u64,
    pub(crate) dram_bytes: u64,
}

impl Measured {
    pub(crate) fn of(
        bundle: &LayerBundle,
        expected: &golden::Tensor,
        run: &LayerRun,
    ) -> Result<Self, Report> {
        let counter = |name: &str| {
            run.counters
                .iter()
                .find(|(counter, _)| *counter == name)
                .map(|(_, value)| *value)
                .ok_or_else(|| miette!("the core has no counter {name}"))
        };
        Ok(Measured {
            mismatches: compare(expected, &run.output)
                .map_err(|e| miette!("{}: {e}", bundle.name))?
                .mismatches,
            rtl_cycles: run.rtl_cycles,
            model_cycles: run.model_cycles,
            compute_cycles: counter("perf_compute_cycles")?,
            dram_bytes: run.dram_bytes.unwrap_or(0),
        })
    }

    pub(crate) fn exact(&self) -> bool {
        self.mismatches == 0 && self.rtl_cycles == self.model_cycles
    }
}

/// `spec` without activation skipping: the same array, buffers and DMA, ifmap words without
/// the index, under its own name.
fn dense_twin(spec: &AcceleratorSpec) -> AcceleratorSpec {
    spec.with_activation_skipping(false, format!("{}_dense", spec.name))
}

/// `spec` (a Pragmatic core) with parallel PEs, under its own name.
fn parallel_twin(spec: &AcceleratorSpec) -> AcceleratorSpec {
    let mut twin = spec.clone();
    twin.name = format!("{}_parallel", spec.name);
    twin.pe.kind = PeKind::Parallel;
    twin
}

pub fn run_bench_zero_skip(args: ZeroSkipArgs) -> Result<(), Report> {
    let (spec, _, _) = generate::build(&args.config).map_err(crate::report)?;
    if !spec.zero_skip.activations {
        return Err(miette!(
            help = "for example: accelgen bench zero-skip --config configs/cnvlutin_like.yaml \
                    BUNDLE",
            "{} does not skip zero activations (`zero_skip.activations` is off)",
            args.config.display()
        ));
    }
    // A Pragmatic config runs beside its parallel skipping twin; both beside the dense one.
    let pragmatic_spec = spec.pe.kind.is_pragmatic().then(|| spec.clone());
    let skipping_spec = match &pragmatic_spec {
        Some(spec) => parallel_twin(spec),
        None => spec.clone(),
    };
    let dense_spec = dense_twin(&skipping_spec);
    let mut skipping =
        CoreBench::new(&skipping_spec).map_err(|e| miette!("building the core: {e}"))?;
    let mut dense =
        CoreBench::new(&dense_spec).map_err(|e| miette!("building the dense twin: {e}"))?;
    let mut pragmatic = match &pragmatic_spec {
        Some(spec) => {
            Some(CoreBench::new(spec).map_err(|e| miette!("building the Pragmatic core: {e}"))?)
        }
        None => None,
    };
    let dram = run_layer::dram_timing(&spec, None);
    let brick = spec.pe_array.rows as usize;
    let mut rows = Vec::new();
    for directory in &args.bundles {
        let bundle =
            LayerBundle::load(directory).map_err(|e| miette!("{}: {e}", directory.display()))?;
        let profiled = profile(&bundle.params, &bundle.input, &bundle.weight, &[brick])
            .map_err(|e| miette!("{}: profile: {e}", bundle.name))?;
        let expected = golden::run_layer(&bundle)
            .map_err(|e| miette!("{}: golden model: {e}", bundle.name))?;
        let run = |bench: &mut CoreBench, what: &str| {
            let run = bench
                .run(&bundle, dram)
                .map_err(|e| miette!("{} on the {what} core: {e}", bundle.name))?;
            Measured::of(&bundle, &expected, &run)
        };
        let pragmatic = match pragmatic.as_mut() {
            Some(bench) => Some(Pragmatic {
                steps_per_brick: profiled
                    .work
                    .pixel_pragmatic_steps_per_brick(brick)
                    .unwrap_or(0.0),
                ideal: profiled
                    .work
                    .pixel_pragmatic_speedup(brick)
                    .flatten()
                    .unwrap_or(f64::INFINITY),
                run: run(bench, "Pragmatic")?,
            }),
            None => None,
        };
        rows.push(Row {
            layer: bundle.name.clone(),
            zero_bricks: profiled
                .work
                .pixel_zero_brick_fraction(brick)
                .unwrap_or(0.0),
            ideal: profiled
                .work
                .pixel_zero_skip_speedup(brick)
                .flatten()
                .unwrap_or(f64::INFINITY),
            dense: run(&mut dense, "dense")?,
            skipping: run(&mut skipping, "skipping")?,
            pragmatic,
        });
    }
    println!("{}", table(&rows, brick));
    if pragmatic_spec.is_some() {
        println!("\n{}", pragmatic_table(&rows, brick));
    }
    let failed = rows.iter().filter(|r| !r.exact()).count();
    if failed > 0 {
        return Err(miette!(
            "{failed} layer(s) differ from the golden model or from the cycle model"
        ));
    }
    Ok(())
}

/// One line per layer: the profiler's zero bricks and ideal, each core's compute and busy
/// cycles, the speedups and the compute speedup's fraction of the ideal; then the medians.
fn table(rows: &[Row], brick: usize) -> String {
    let mut lines = vec![format!(
        "{:<30} {:>6} {:>6} {:>8} {:>8} {:>7} {:>6} {:>8} {:>8} {:>7} {:>7} {:>4}",
        "layer",
        "zero",
        "ideal",
        "comp",
        "comp_zs",
        "comp ×",
        "of id",
        "busy",
        "busy_zs",
        "busy ×",
        "dram ×",
        "ok"
    )];
    let mut fractions = Vec::new();
    let mut busy = Vec::new();
    for row in rows {
        let compute = row.dense.compute_cycles as f64 / row.skipping.compute_cycles as f64;
        let whole = row.dense.rtl_cycles as f64 / row.skipping.rtl_cycles as f64;
        fractions.push(compute / row.ideal);
        busy.push(whole / row.ideal);
        lines.push(format!(
            "{:<30} {:>6.3} {:>6.3} {:>8} {:>8} {:>7.3} {:>6.3} {:>8} {:>8} {:>7.3} {:>7.3} {:>4}",
            row.layer,
            row.zero_bricks,
            row.ideal,
            row.dense.compute_cycles,
            row.skipping.compute_cycles,
            compute,
            compute / row.ideal,
            row.dense.rtl_cycles,
            row.skipping.rtl_cycles,
            whole,
            row.skipping.dram_bytes as f64 / row.dense.dram_bytes.max(1) as f64,
            if row.dense.exact() && row.skipping.exact() {
                "yes"
            } else {
                "NO"
            },
        ));
    }
    lines.push(format!(
        "median fraction of the ideal: compute {:.3}, whole run {:.3}",
        median(&mut fractions),
        median(&mut busy)
    ));
    lines.push(format!(
        "zero: the profiler's fraction of zero bricks ({brick} output pixels at one reduction \
         index); ideal: 1 / (1 − zero); comp, busy: RTL compute-phase and busy cycles without \
         (comp, busy) and with skipping (_zs); ×: their speedup; of id: compute speedup / ideal; \
         dram ×: DRAM bytes with / without; ok: both cores bit-exact against the golden model \
         and equal to the cycle model"
    ));
    lines.join("\n")
}

impl Row {
    /// Every core bit-exact and equal to the cycle model.
    fn exact(&self) -> bool {
        self.dense.exact()
            && self.skipping.exact()
            && self.pragmatic.as_ref().is_none_or(|p| p.run.exact())
    }
}

/// One line per layer for the Pragmatic core: the profiler's mean of a kept brick's most
/// one-bits, its compute against the parallel skipping core's and the ratio of that slowdown to
/// the one-bits; its speedup over an 8-bit serial baseline (8 × the dense core's compute) next to
/// the profiler's ideal, and the fraction reached; then the medians.
fn pragmatic_table(rows: &[Row], brick: usize) -> String {
    let mut lines = vec![format!(
        "{:<30} {:>7} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6} {:>4}",
        "layer", "ones", "comp_zs", "comp_pg", "pg/zs", "of ones", "ideal", "pg ×", "of id", "ok"
    )];
    let (mut tracking, mut reached) = (Vec::new(), Vec::new());
    for row in rows {
        let Some(pragmatic) = &row.pragmatic else {
            continue;
        };
        let slowdown = pragmatic.run.compute_cycles as f64 / row.skipping.compute_cycles as f64;
        let speedup = 8.0 * row.dense.compute_cycles as f64 / pragmatic.run.compute_cycles as f64;
        tracking.push(slowdown / pragmatic.steps_per_brick);
        reached.push(speedup / pragmatic.ideal);
        lines.push(format!(
            "{:<30} {:>7.3} {:>8} {:>8} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>6.3} {:>4}",
            row.layer,
            pragmatic.steps_per_brick,
            row.skipping.compute_cycles,
            pragmatic.run.compute_cycles,
            slowdown,
            slowdown / pragmatic.steps_per_brick,
            pragmatic.ideal,
            speedup,
            speedup / pragmatic.ideal,
            if pragmatic.run.exact() { "yes" } else { "NO" },
        ));
    }
    lines.push(format!(
        "median: pg/zs over ones {:.3}, fraction of the ideal {:.3}",
        median(&mut tracking),
        median(&mut reached)
    ));
    lines.push(format!(
        "ones: the profiler's mean of the most one-bits (|a − a_zp|) in a brick of {brick} output \
         pixels that is not all zero; comp_zs, comp_pg: RTL compute cycles of the parallel and \
         the Pragmatic skipping cores; pg/zs: their ratio, of ones: that ratio over ones (1: \
         the cycles follow the one-bits); ideal: the profiler's Pragmatic-over-skipping speedup \
         against 8 serial steps per brick; pg ×: 8 × the dense core's compute over comp_pg; of \
         id: pg × / ideal (above 1 where the baseline's 8 × also multiplies the dense core's fill \
         and drain, which the Pragmatic core pays once); ok: bit-exact and equal to the cycle \
         model"
    ));
    lines.join("\n")
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
