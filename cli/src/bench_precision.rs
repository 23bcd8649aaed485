//! `accelgen bench precision`: how a bit-serial core's cycles follow the activation precision on
//! a real layer. Each bundle's stored activations (and input zero point) are narrowed to `p` bits
//! by an arithmetic shift right by `width − p`, which keeps their sign and spread and makes the
//! layer need exactly `p` bits; the layer then runs through the RTL core at every `p` asked for,
//! checked bit-exactly against the golden model of the narrowed layer, with the cycle model's
//! count next to the RTL's and each count's ratio to the full-width run.

use accelgen::generate;
use accelgen::golden::dma::serial_bits;
use accelgen::golden::{self, compare, LayerBundle};
use accelgen_tb::checks::narrowed;
use accelgen_tb::layer::CoreBench;
use miette::{miette, Report};

use crate::cli::PrecisionArgs;
use crate::run_layer;

/// One layer at one precision.
struct Row {
    layer: String,
    /// The precision asked for, and the one the core streamed (fewer when the narrowed layer's
    /// values span less).
    bits: u32,
    streamed: u32,
    mismatches: usize,
    rtl_cycles: u64,
    model_cycles: u64,
    compute_cycles: u64,
}

pub fn run_bench_precision(args: PrecisionArgs) -> Result<(), Report> {
    let (spec, _, _) = generate::build(&args.config).map_err(crate::report)?;
    if !spec.pe.kind.is_bit_serial() {
        return Err(miette!(
            help =
                "for example: accelgen bench precision --config configs/stripes_like.yaml BUNDLE",
            "`pe.kind` of {} is not bit_serial: its cycles do not depend on the activation \
             precision",
            args.config.display()
        ));
    }
    if spec.buffers.is_none() {
        return Err(miette!(
            "{} has no buffers: section; this bench runs layers on the buffered core",
            args.config.display()
        ));
    }
    let width = spec.pe.act.bits;
    let precisions: Vec<u32> = match &args.bits {
        Some(bits) => bits.clone(),
        None => (2..=width).collect(),
    };
    if let Some(bad) = precisions.iter().find(|&&p| p == 0 || p > width) {
        return Err(miette!(
            "--bits {bad} is outside 1..={width}, the array's activation width"
        ));
    }
    let mut bench = CoreBench::new(&spec).map_err(|e| miette!("building the core: {e}"))?;
    let dram = run_layer::dram_timing(&spec, None);
    let mut rows = Vec::new();
    for directory in &args.bundles {
        let bundle =
            LayerBundle::load(directory).map_err(|e| miette!("{}: {e}", directory.display()))?;
        for &bits in precisions.iter().chain([width].iter()) {
            let narrowed = narrowed(&bundle, width, bits);
            // The bits the core streams: the fewest that hold the narrowed layer's activations.
            let lowered = golden::lowering::lower(
                &narrowed.params,
                &narrowed.input,
                &narrowed.weight,
                narrowed.bias.as_deref(),
            )
            .map_err(|e| miette!("{}: {e}", bundle.name))?;
            let streamed = serial_bits(&spec, lowered.act_range()).expect("a bit-serial core");
            let golden = golden::run_layer(&narrowed)
                .map_err(|e| miette!("{}: golden model: {e}", bundle.name))?;
            let run = bench
                .run(&narrowed, dram)
                .map_err(|e| miette!("{} at {bits} bits: RTL: {e}", bundle.name))?;
            let mismatches = compare(&golden, &run.output)
                .map_err(|e| miette!("{}: {e}", bundle.name))?
                .mismatches;
            let compute = run
                .counters
                .iter()
                .find(|(name, _)| *name == "perf_compute_cycles")
                .map_or(0, |(_, value)| *value);
            rows.push(Row {
                layer: bundle.name.clone(),
                bits,
                streamed,
                mismatches,
                rtl_cycles: run.rtl_cycles,
                model_cycles: run.model_cycles,
                compute_cycles: compute,
            });
        }
        // The full-width run closes each layer's rows as the reference; drop its duplicate.
        if precisions.contains(&width) {
            rows.pop();
        }
    }
    println!("{}", table(&rows, width));
    let failed = rows
        .iter()
        .filter(|r| r.mismatches > 0 || r.rtl_cycles != r.model_cycles)
        .count();
    if failed > 0 {
        return Err(miette!(
            "{failed} run(s) differ from the golden model or from the cycle model"
        ));
    }
    Ok(())
}

/// One line per layer and precision: RTL and model cycles, and the RTL's busy and compute
/// cycles as a fraction of the full-width run's next to `p / width`.
fn table(rows: &[Row], width: u32) -> String {
    let mut lines = vec![format!(
        "{:<34} {:>4} {:>8} {:>6} {:>9} {:>9} {:>9} {:>8} {:>8} {:>6}",
        "layer",
        "bits",
        "streamed",
        "rtl",
        "rtl_cyc",
        "model",
        "compute",
        format!("busy/{width}"),
        format!("comp/{width}"),
        format!("p/{width}")
    )];
    for row in rows {
        let full = rows
            .iter()
            .find(|r| r.layer == row.layer && r.bits == width)
            .expect("every layer runs at full width");
        lines.push(format!(
            "{:<34} {:>4} {:>8} {:>6} {:>9} {:>9} {:>9} {:>8.3} {:>8.3} {:>6.3}",
            row.layer,
            row.bits,
            row.streamed,
            row.mismatches,
            row.rtl_cycles,
            row.model_cycles,
            row.compute_cycles,
            row.rtl_cycles as f64 / full.rtl_cycles as f64,
            row.compute_cycles as f64 / full.compute_cycles as f64,
            f64::from(row.bits) / f64::from(width),
        ));
    }
    lines.push(format!(
        "bits: the precision the layer was narrowed to; streamed: the bits the core streamed; rtl: \
         mismatches against the golden model of the narrowed layer; busy/{width}, comp/{width}: \
         RTL busy and compute cycles over the {width}-bit run's"
    ));
    lines.join("\n")
}
