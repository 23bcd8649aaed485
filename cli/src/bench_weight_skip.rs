//! `accelgen bench weight-skip`: what weight zero-skipping buys on real layers pruned to a
//! chosen sparsity. The shared networks hold about 1% zero weights, so each bundle's weights are
//! first pruned by magnitude (`golden::prune`: in bricks of the array's C output channels at one
//! reduction step, what the core skips, as Cambricon-S prunes; or element by element), at each
//! `--prune` fraction. Each pruned layer then runs through the RTL of the skipping core and of
//! the same core without skipping (its twin: `zero_skip.weights` off and the index bits off the
//! weight word), both checked bit-exactly against the golden model of the pruned layer and
//! against the cycle model; next to their compute-phase and whole-run speedups stands the
//! profiler's ideal for the brick the core skips (`Work::weight_zero_skip_speedup`), and the
//! fraction of that ideal the RTL reaches.

use accelgen::config::AcceleratorSpec;
use accelgen::generate;
use accelgen::golden::profile::profile;
use accelgen::golden::prune::{prune, Pruning};
use accelgen::golden::{self, LayerBundle};
use accelgen_tb::layer::CoreBench;
use miette::{miette, Report};

use crate::bench_zero_skip::{median, Measured};
use crate::cli::{PruneGranularity, WeightSkipArgs};
use crate::run_layer;

/// One pruned layer on both cores.
struct Row {
    layer: String,
    fraction: f64,
    /// The profiler's fraction of zero weight bricks after pruning and its ideal speedup
    /// `1 / (1 − zero)`.
    zero_bricks: f64,
    ideal: f64,
    dense: Measured,
    skipping: Measured,
}

impl Row {
    fn exact(&self) -> bool {
        self.dense.exact() && self.skipping.exact()
    }
}

/// `spec` without weight skipping: the same array, buffers and DMA, weight words without the
/// index, under its own name.
fn dense_twin(spec: &AcceleratorSpec) -> AcceleratorSpec {
    spec.with_weight_skipping(false, format!("{}_dense", spec.name))
}

pub fn run_bench_weight_skip(args: WeightSkipArgs) -> Result<(), Report> {
    let (spec, _, _) = generate::build(&args.config).map_err(crate::report)?;
    if !spec.zero_skip.weights {
        return Err(miette!(
            help = "for example: accelgen bench weight-skip --config configs/cambricon_like.yaml \
                    --prune 0.75 BUNDLE",
            "{} does not skip zero weights (`zero_skip.weights` is off)",
            args.config.display()
        ));
    }
    let dense_spec = dense_twin(&spec);
    let mut skipping = CoreBench::new(&spec).map_err(|e| miette!("building the core: {e}"))?;
    let mut dense =
        CoreBench::new(&dense_spec).map_err(|e| miette!("building the dense twin: {e}"))?;
    let dram = run_layer::dram_timing(&spec, None);
    let brick = spec.pe_array.cols as usize;
    let pruning = match args.pruning {
        PruneGranularity::Bricks => Pruning::Bricks(brick),
        PruneGranularity::Elements => Pruning::Elements,
    };
    let mut rows = Vec::new();
    for directory in &args.bundles {
        let bundle =
            LayerBundle::load(directory).map_err(|e| miette!("{}: {e}", directory.display()))?;
        for &fraction in &args.prune {
            let pruned = LayerBundle {
                weight: prune(&bundle.params, &bundle.weight, fraction, pruning)
                    .map_err(|e| miette!("{}: pruning: {e}", bundle.name))?,
                // TFLite Micro never saw the pruned weights: the golden model is the reference.
                expected: None,
                ..bundle.clone()
            };
            let profiled = profile(&pruned.params, &pruned.input, &pruned.weight, &[brick])
                .map_err(|e| miette!("{}: profile: {e}", bundle.name))?;
            let expected = golden::run_layer(&pruned)
                .map_err(|e| miette!("{}: golden model: {e}", bundle.name))?;
            let run = |bench: &mut CoreBench, what: &str| {
                let run = bench
                    .run(&pruned, dram)
                    .map_err(|e| miette!("{} on the {what} core: {e}", bundle.name))?;
                Measured::of(&pruned, &expected, &run)
            };
            rows.push(Row {
                layer: bundle.name.clone(),
                fraction,
                zero_bricks: profiled
                    .work
                    .weight_zero_brick_fraction(brick)
                    .unwrap_or(0.0),
                ideal: profiled
                    .work
                    .weight_zero_skip_speedup(brick)
                    .flatten()
                    .unwrap_or(f64::INFINITY),
                dense: run(&mut dense, "dense")?,
                skipping: run(&mut skipping, "skipping")?,
            });
        }
    }
    println!("{}", table(&rows, brick, args.pruning));
    let failed = rows.iter().filter(|r| !r.exact()).count();
    if failed > 0 {
        return Err(miette!(
            "{failed} layer(s) differ from the golden model or from the cycle model"
        ));
    }
    Ok(())
}

/// One line per pruned layer: the pruning, the profiler's zero bricks and ideal, each core's
/// compute and busy cycles, the speedups and the compute speedup's fraction of the ideal; then
/// the medians per pruning fraction.
fn table(rows: &[Row], brick: usize, pruning: PruneGranularity) -> String {
    let mut lines = vec![format!(
        "{:<30} {:>5} {:>6} {:>6} {:>8} {:>8} {:>7} {:>6} {:>8} {:>8} {:>7} {:>7} {:>4}",
        "layer",
        "prune",
        "zero",
        "ideal",
        "comp",
        "comp_zw",
        "comp ×",
        "of id",
        "busy",
        "busy_zw",
        "busy ×",
        "dram ×",
        "ok"
    )];
    for row in rows {
        let compute = row.dense.compute_cycles as f64 / row.skipping.compute_cycles as f64;
        let whole = row.dense.rtl_cycles as f64 / row.skipping.rtl_cycles as f64;
        lines.push(format!(
            "{:<30} {:>5.2} {:>6.3} {:>6.3} {:>8} {:>8} {:>7.3} {:>6.3} {:>8} {:>8} {:>7.3} {:>7.3} {:>4}",
            row.layer,
            row.fraction,
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
            if row.exact() { "yes" } else { "NO" },
        ));
    }
    let mut seen = Vec::new();
    for row in rows {
        if seen.contains(&row.fraction.to_bits()) {
            continue;
        }
        seen.push(row.fraction.to_bits());
        let of = |f: &dyn Fn(&Row) -> f64| -> Vec<f64> {
            rows.iter()
                .filter(|r| r.fraction == row.fraction)
                .map(f)
                .collect()
        };
        let mut compute =
            of(&|r| r.dense.compute_cycles as f64 / r.skipping.compute_cycles as f64 / r.ideal);
        let mut speedup = of(&|r| r.dense.compute_cycles as f64 / r.skipping.compute_cycles as f64);
        let mut busy = of(&|r| r.dense.rtl_cycles as f64 / r.skipping.rtl_cycles as f64);
        lines.push(format!(
            "pruned {:.2}: median compute × {:.3} ({:.3} of the ideal), busy × {:.3}",
            row.fraction,
            median(&mut speedup),
            median(&mut compute),
            median(&mut busy)
        ));
    }
    let pruned = match pruning {
        PruneGranularity::Bricks => format!("in bricks of {brick} output channels"),
        PruneGranularity::Elements => "element by element".to_owned(),
    };
    lines.push(format!(
        "prune: the fraction of weights pruned by magnitude ({pruned}); zero: the profiler's \
         fraction of zero weight bricks ({brick} output channels at one reduction index) after \
         pruning; ideal: 1 / (1 − zero); comp, busy: RTL compute-phase and busy cycles without \
         (comp, busy) and with weight skipping (_zw); ×: their speedup; of id: compute speedup / \
         ideal; dram ×: DRAM bytes with / without; ok: both cores bit-exact against the golden \
         model of the pruned layer and equal to the cycle model"
    ));
    lines.join("\n")
}
