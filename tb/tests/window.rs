//! A randomized sweep of window-mode convolutions (the weight-stationary core doing im2col in
//! hardware, `gemm_core::window`) on small cores: every geometry's result is compared bit-exactly
//! with a reference computed straight from the geometry (not from `Window::address`), and on a
//! deterministic DRAM every descriptor's counters equal the cycle model's
//! (`report::schedule::program`). Edge cases are listed by name; the rest are random, from fixed
//! seeds. A failure names the core, the geometry, the cut and the first mismatches.

use accelgen::blocks::gemm_core::{self, ConvLayer, RunPlan};
use accelgen::config::{AcceleratorSpec, Dataflow, OperandSpec};
use accelgen::golden::dma::{Outputs, RunCycles, RunSettings};
use accelgen::report::schedule;
use accelgen_tb::array::{array_spec, mismatches, operand_range};
use accelgen_tb::checks::{
    dram, golden, irregular, requantization, with_dram, Convolution, I8, U8,
};
use accelgen_tb::core::{core_spec_for, double_buffered, CoreBench, PostProcessing};
use accelgen_tb::dram::DramTiming;
use accelgen_tb::Rng;
use ndarray::Array2;

/// The 4×4 weight-stationary core of `tests/core.rs`'s window test: 128 ifmap, 256 weight and
/// 32 psum words (halves of 64, 128 and 128 ofmap words when double-buffered).
fn core_4x4() -> AcceleratorSpec {
    core_spec_for(Dataflow::WeightStationary, 4, 4, 128, 256, 32)
}

/// A non-square 4×3 core: N-folds of 3 columns, K-folds of 4 channels.
fn core_4x3() -> AcceleratorSpec {
    core_spec_for(Dataflow::WeightStationary, 4, 3, 128, 192, 32)
}

/// A double-buffered 4×4 core whose halves are not powers of two (80 ifmap, 160 weight, 96
/// ofmap words): the half is an address offset, and the window's modular address steps wrap
/// at 128, not at the half.
fn core_4x4_uneven_halves() -> AcceleratorSpec {
    double_buffered(&core_spec_for(
        Dataflow::WeightStationary,
        4,
        4,
        160,
        320,
        24,
    ))
}

/// [`core_4x4`] with unsigned 8-bit activations (int8 weights).
fn core_4x4_uint8() -> AcceleratorSpec {
    let buffered = core_4x4();
    let mut spec = array_spec(Dataflow::WeightStationary, 4, 4, U8, I8, 32);
    spec.name = format!("{}_u8", buffered.name);
    spec.buffers = buffered.buffers;
    spec
}

/// Where one descriptor's counters differ from the model's account of it, if anywhere.
fn counters_differ(counters: &[(&str, u32)], model: RunCycles) -> Option<String> {
    let counter = |name: &str| {
        counters
            .iter()
            .find(|(counter, _)| *counter == name)
            .map(|(_, value)| u64::from(*value))
            .unwrap_or_else(|| panic!("no counter {name}"))
    };
    let differences: Vec<String> = [
        ("perf_load_cycles", model.load),
        ("perf_compute_cycles", model.compute),
        ("perf_store_cycles", model.store),
        ("perf_busy_cycles", model.busy),
        ("perf_dram_read_bytes", model.read_bytes),
        ("perf_dram_write_bytes", model.write_bytes),
    ]
    .into_iter()
    .filter(|&(name, expected)| counter(name) != expected)
    .map(|(name, expected)| format!("{name} {} vs model {expected}", counter(name)))
    .collect();
    (!differences.is_empty()).then(|| differences.join(", "))
}

/// A convolution layer from its input, output channels, kernel, stride, dilation, padding above
/// and to the left (`pad`) and below and to the right (`extra`, implicit in the output size).
#[allow(clippy::too_many_arguments)]
fn conv(
    input: [usize; 3],
    channels: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    pad: [usize; 2],
    extra: [usize; 2],
    depthwise: bool,
) -> ConvLayer {
    let output = [0, 1].map(|axis| {
        let reach = dilation[axis] * (kernel[axis] - 1) + 1;
        assert!(
            pad[axis] < reach && extra[axis] < reach,
            "padding beyond the kernel's reach"
        );
        let padded = input[axis] + pad[axis] + extra[axis];
        assert!(padded >= reach, "the kernel does not fit the padded input");
        (padded - reach) / stride[axis] + 1
    });
    assert!(!depthwise || channels == input[2], "channel multiplier 1");
    ConvLayer {
        input,
        output,
        channels,
        kernel,
        stride,
        dilation,
        pad,
        depthwise,
    }
}

/// The deliberate edge cases (R = 4 lanes); the depthwise ones only where `square`.
fn edge_cases(square: bool) -> Vec<(&'static str, ConvLayer)> {
    let one = [1, 1];
    let mut cases = vec![
        (
            "1x1 kernel, channels = R",
            conv([5, 6, 4], 5, one, one, one, [0, 0], [0, 0], false),
        ),
        (
            "1x3 kernel, padding left and right",
            conv([4, 7, 3], 6, [1, 3], one, one, [0, 1], [0, 1], false),
        ),
        (
            "3x1 kernel, stride 2 down, channels = R+1",
            conv([7, 4, 5], 4, [3, 1], [2, 1], one, [1, 0], [1, 0], false),
        ),
        (
            "3x3 kernel larger than stride 2",
            conv([7, 8, 3], 7, [3, 3], [2, 2], one, [1, 1], [0, 1], false),
        ),
        (
            "1x1 kernel, stride 3 larger than the kernel",
            conv([7, 8, 4], 3, one, [3, 3], one, [0, 0], [0, 0], false),
        ),
        (
            "3x3 dilation 2",
            conv([6, 7, 2], 5, [3, 3], one, [2, 2], [2, 2], [2, 1], false),
        ),
        (
            "2x2 dilation 3, asymmetric padding",
            conv([5, 6, 3], 4, [2, 2], one, [3, 3], [1, 2], [2, 0], false),
        ),
        (
            "3x3 padding only above and left",
            conv([5, 5, 5], 3, [3, 3], one, one, [2, 2], [0, 0], false),
        ),
        (
            "3x3 padding only below and right",
            conv([5, 5, 2], 3, [3, 3], one, one, [0, 0], [2, 2], false),
        ),
        (
            "output width 1",
            conv([5, 3, 2], 5, [3, 3], one, one, [1, 0], [1, 0], false),
        ),
        (
            "input width 1",
            conv([6, 1, 3], 4, [3, 3], one, one, [1, 1], [1, 1], false),
        ),
        (
            "input width 1, kernel width 1, stride 2",
            conv([6, 1, 6], 2, [2, 1], [2, 2], one, [1, 0], [0, 0], false),
        ),
        (
            "a single output row",
            conv([3, 7, 4], 6, [3, 3], one, one, [0, 1], [0, 1], false),
        ),
        (
            "a single output pixel",
            conv([2, 2, 3], 5, [3, 3], one, one, [1, 1], [0, 0], false),
        ),
        (
            "input height 1, padded above and below",
            conv([1, 5, 5], 3, [3, 3], one, one, [1, 1], [1, 1], false),
        ),
        (
            "dilated taps that skip a one-row input",
            conv([1, 4, 2], 3, [2, 2], one, [3, 1], [2, 0], [1, 0], false),
        ),
        (
            "channels < R, one channel",
            conv([5, 5, 1], 2, [3, 3], [2, 1], one, [1, 1], [1, 1], false),
        ),
        (
            "stride 3 by 2, kernel 2x3, 9 channels",
            conv([8, 7, 9], 5, [2, 3], [3, 2], one, [1, 1], [0, 0], false),
        ),
    ];
    if square {
        cases.extend([
            (
                "depthwise 3x3, channels = 2R",
                conv([6, 5, 8], 8, [3, 3], one, one, [1, 1], [1, 1], true),
            ),
            (
                "depthwise stride 2, channels = R+1",
                conv([7, 6, 5], 5, [3, 3], [2, 2], one, [1, 1], [1, 0], true),
            ),
            (
                "depthwise dilation 2, channels < R",
                conv([6, 6, 3], 3, [3, 3], one, [2, 2], [2, 2], [2, 2], true),
            ),
            (
                "depthwise 3 channel blocks",
                conv([4, 4, 11], 11, [3, 3], one, one, [1, 1], [1, 1], true),
            ),
        ]);
    }
    cases
}

/// A random small convolution: kernels up to 3×3, strides and dilations up to 3, padding up to
/// the kernel's reach − 1 on every side, up to 3 channel blocks; depthwise only when `square`.
fn random_layer(rng: &mut Rng, square: bool) -> ConvLayer {
    let mut pick = |low: usize, high: usize| rng.range_inclusive(low as i64, high as i64) as usize;
    loop {
        let kernel = [pick(1, 3), pick(1, 3)];
        let stride = [pick(1, 3), pick(1, 3)];
        let dilation = [0, 1].map(|axis| if kernel[axis] > 1 { pick(1, 3) } else { 1 });
        let reach = [0, 1].map(|axis| dilation[axis] * (kernel[axis] - 1) + 1);
        let pad = [pick(0, reach[0] - 1), pick(0, reach[1] - 1)];
        let extra = [pick(0, reach[0] - 1), pick(0, reach[1] - 1)];
        let input = [pick(1, 8), pick(1, 8), pick(1, 12)];
        let depthwise = square && pick(0, 3) == 0;
        let channels = if depthwise { input[2] } else { pick(1, 9) };
        if (0..2).all(|axis| input[axis] + pad[axis] + extra[axis] >= reach[axis]) {
            return conv(
                input, channels, kernel, stride, dilation, pad, extra, depthwise,
            );
        }
    }
}

/// What a sweep saw: geometries run, geometries without a plan, runs, and every failure.
#[derive(Default)]
struct Sweep {
    geometries: usize,
    unplanned: Vec<String>,
    programs: usize,
    runs: usize,
    depthwise: usize,
    raw: usize,
    failures: Vec<String>,
}

impl Sweep {
    /// Panics listing every failure; checks that most geometries had a plan.
    fn finish(self, spec: &AcceleratorSpec) {
        eprintln!(
            "{}: {} geometries ({} depthwise, {} raw), {} without a window plan, {} programs, \
             {} runs",
            spec.name,
            self.geometries,
            self.depthwise,
            self.raw,
            self.unplanned.len(),
            self.programs,
            self.runs
        );
        assert!(
            self.failures.is_empty(),
            "{} failures on {}:\n{}",
            self.failures.len(),
            spec.name,
            self.failures.join("\n")
        );
        assert!(
            self.unplanned.len() * 4 <= self.geometries,
            "{} of {} geometries had no window plan:\n{}",
            self.unplanned.len(),
            self.geometries,
            self.unplanned.join("\n")
        );
    }
}

/// Runs `conv` as the runs `plans` against `timing`, and records any mismatch with the
/// reference or (deterministic DRAM) any descriptor whose counters differ from the model's.
fn run_cut(
    bench: &mut CoreBench,
    spec: &AcceleratorSpec,
    (conv, post): (&Convolution, &PostProcessing),
    (cut, plans): (&str, &[RunPlan]),
    timing: DramTiming,
    sweep: &mut Sweep,
) {
    let rows = spec.pe_array.rows as usize;
    let what = format!(
        "{} {:?} cut {cut} ({} runs) pad {} {} on {timing:?}",
        spec.name,
        conv.layer,
        plans.len(),
        conv.pad,
        if post.settings.bypass {
            "raw"
        } else {
            "requantized"
        },
    );
    sweep.programs += 1;
    sweep.runs += plans.len();
    let planned = match bench.run_window(
        plans,
        &conv.input,
        conv.pad,
        (&conv.b, post),
        timing,
        sweep.programs as u64,
    ) {
        Ok(planned) => planned,
        Err(error) => {
            sweep.failures.push(format!("{what}: {error}"));
            return;
        }
    };
    let (first, count) = mismatches(&conv.expected(rows, post), &planned.result, 8);
    if count > 0 {
        sweep.failures.push(format!(
            "{what}: {count} mismatches (pixel, channel, expected, actual), first {first:?}"
        ));
        return;
    }
    if timing.jitter.is_some() {
        return;
    }
    let model = schedule::program(
        &with_dram(spec, timing),
        plans,
        RunSettings::storing(post.outputs()),
        None,
    );
    let descriptors = &planned.program.descriptors;
    if descriptors.len() != model.len() {
        sweep.failures.push(format!(
            "{what}: {} descriptors, the model has {}",
            descriptors.len(),
            model.len()
        ));
        return;
    }
    for (index, (counters, run)) in descriptors.iter().zip(&model).enumerate() {
        if let Some(difference) = counters_differ(counters, *run) {
            sweep
                .failures
                .push(format!("{what}: descriptor {index}: {difference}"));
        }
    }
}

/// Runs every edge case and `random` random geometries on `spec` (activations `act`): each as
/// `schedule::window_cut`'s runs and as a cut into runs of one or two output rows and one
/// N-fold, on deterministic DRAMs of random timing (and one irregular DRAM), raw or requantized.
fn sweep(spec: &AcceleratorSpec, act: OperandSpec, random: usize, seed: u64) -> Sweep {
    let (rows, cols) = (spec.pe_array.rows as usize, spec.pe_array.cols as usize);
    let square = rows == cols;
    let mut rng = Rng::new(seed);
    let mut layers: Vec<(String, ConvLayer)> = edge_cases(square)
        .into_iter()
        .map(|(name, layer)| (name.to_string(), layer))
        .collect();
    for index in 0..random {
        layers.push((format!("random {index}"), random_layer(&mut rng, square)));
    }
    let mut bench = CoreBench::new(spec).unwrap();
    let mut sweep = Sweep::default();
    for (index, (name, layer)) in layers.iter().enumerate() {
        sweep.geometries += 1;
        sweep.depthwise += usize::from(layer.depthwise);
        let Some(whole) = schedule::window_cut(spec, layer, RunSettings::storing(Outputs::Bytes))
        else {
            // The small cut must agree: no row with one N-fold fits.
            assert_eq!(
                gemm_core::plan_window_runs_of(spec, layer, (1, 1)),
                None,
                "{name} {layer:?}"
            );
            sweep.unplanned.push(format!("{name}: {layer:?}"));
            continue;
        };
        let conv = Convolution::random(*layer, rows, act, &mut rng);
        let raw = index % 3 == 1;
        sweep.raw += usize::from(raw);
        let post = if raw {
            PostProcessing::raw(layer.channels)
        } else {
            requantization(&mut rng, layer.channels)
        };
        let latency = rng.range_inclusive(1, 30) as u32;
        let beat = rng.range_inclusive(1, 3) as u32;
        let cut = format!("window_cut ({name})");
        run_cut(
            &mut bench,
            spec,
            (&conv, &post),
            (&cut, &whole),
            dram(latency, beat),
            &mut sweep,
        );
        // Small runs: one or two output rows, one N-fold (depthwise: every N-fold its own
        // first_block) — many runs, tiles at the top and bottom edges.
        let limits = (1 + index % 2, 1);
        let small = gemm_core::plan_window_runs_of(spec, layer, limits)
            .unwrap_or_else(|| panic!("{name}: no {limits:?} cut of {layer:?}"));
        assert!(
            small.len() >= layer.output[0].div_ceil(limits.0) * layer.channels.div_ceil(cols),
            "{name}: {} runs",
            small.len()
        );
        if small != whole {
            let cut = format!("{limits:?} ({name})");
            run_cut(
                &mut bench,
                spec,
                (&conv, &post),
                (&cut, &small),
                dram(20, 1),
                &mut sweep,
            );
        }
        // Depthwise in chunks of two N-folds: a run that starts past block 0 and steps its
        // channel block at every N-fold.
        if layer.depthwise && layer.channels > 2 * cols {
            let chunks = gemm_core::plan_window_runs_of(spec, layer, (2, 2))
                .unwrap_or_else(|| panic!("{name}: no (2, 2) cut of {layer:?}"));
            assert!(chunks
                .iter()
                .any(|plan| plan.window.as_ref().unwrap().first_block > 0));
            let cut = format!("(2, 2) ({name})");
            run_cut(
                &mut bench,
                spec,
                (&conv, &post),
                (&cut, &chunks),
                dram(7, 2),
                &mut sweep,
            );
        }
        if name == "3x3 kernel larger than stride 2" || name == "depthwise 3 channel blocks" {
            let cut = format!("{limits:?} ({name}), irregular DRAM");
            run_cut(
                &mut bench,
                spec,
                (&conv, &post),
                (&cut, &small),
                irregular(seed + index as u64),
                &mut sweep,
            );
        }
    }
    // A plain GEMM after the windows: the host clears WINDOW, so the core reads A's words again.
    let (low, high) = operand_range(act);
    let a = Array2::from_shape_fn((7, 9), |_| rng.range_inclusive(low, high));
    let b = Array2::from_shape_fn((9, 5), |_| rng.range_inclusive(-128, 127));
    let post = requantization(&mut rng, 5);
    let gemm_run = bench.run_planned(&a, &b, &post, dram(20, 1), seed);
    match gemm_run {
        Ok(planned) => {
            let (first, count) = mismatches(&golden(&a, &b, &post), &planned.result, 8);
            if count > 0 {
                sweep.failures.push(format!(
                    "a 7x9x5 GEMM after the windows: {count} mismatches, first {first:?}"
                ));
            }
        }
        Err(error) => sweep
            .failures
            .push(format!("a 7x9x5 GEMM after the windows: {error}")),
    }
    sweep
}

#[test]
fn window_mode_on_a_single_buffered_4x4_core_is_bit_exact_and_meets_the_cycle_model_on_edge_and_random_geometries(
) {
    let spec = core_4x4();
    sweep(&spec, I8, 20, 0x51).finish(&spec);
}

#[test]
fn window_mode_on_a_double_buffered_4x4_core_is_bit_exact_and_meets_the_cycle_model_on_edge_and_random_geometries(
) {
    let spec = double_buffered(&core_4x4());
    sweep(&spec, I8, 20, 0xdb).finish(&spec);
}

#[test]
fn window_mode_on_a_non_square_4x3_core_is_bit_exact_and_meets_the_cycle_model_and_refuses_depthwise(
) {
    let spec = core_4x3();
    let depthwise = conv([6, 5, 8], 8, [3, 3], [1, 1], [1, 1], [1, 1], [1, 1], true);
    assert_eq!(
        gemm_core::plan_window_runs(&spec, &depthwise, usize::MAX),
        None
    );
    assert_eq!(
        schedule::window_cut(&spec, &depthwise, RunSettings::storing(Outputs::Bytes)),
        None
    );
    sweep(&spec, I8, 20, 0x43).finish(&spec);
}

#[test]
fn window_mode_with_uint8_activations_pads_with_their_zero_point_bit_exactly() {
    let spec = core_4x4_uint8();
    let mut rng = Rng::new(0x08);
    // The TFLite zero point of uint8 activations, on a layer with padding on every side.
    let layer = conv([5, 6, 5], 6, [3, 3], [1, 1], [1, 1], [1, 1], [1, 1], false);
    let mut conv = Convolution::random(layer, 4, U8, &mut rng);
    conv.pad = 128;
    let mut bench = CoreBench::new(&spec).unwrap();
    let mut pinned = Sweep::default();
    let post = requantization(&mut rng, layer.channels);
    let plans = schedule::window_cut(&spec, &layer, RunSettings::storing(post.outputs())).unwrap();
    run_cut(
        &mut bench,
        &spec,
        (&conv, &post),
        ("window_cut, pad 128", &plans),
        dram(20, 1),
        &mut pinned,
    );
    drop(bench);
    pinned.finish(&spec);
    // And the sweep, with random zero points over the whole uint8 range.
    sweep(&spec, U8, 20, 0x88).finish(&spec);
}

#[test]
fn window_mode_on_a_double_buffered_core_with_uneven_halves_is_bit_exact_and_meets_the_cycle_model()
{
    let spec = core_4x4_uneven_halves();
    assert_eq!(spec.buffers.as_ref().unwrap().ifmap.run_depth(), 80);
    sweep(&spec, I8, 20, 0x0e).finish(&spec);
}

#[test]
fn a_layer_whose_tile_columns_pass_32767_is_left_to_the_im2col_gemms() {
    // A 2×2 core with 40000 ifmap words: a one-row, one-channel input 33000 pixels wide would
    // fit one tile, but the descriptor's positions are signed 16-bit, so window mode refuses
    // the layer rather than read column 32800 as padding.
    let spec = core_spec_for(Dataflow::WeightStationary, 2, 2, 40000, 64, 256);
    let layer = conv(
        [1, 33000, 1],
        1,
        [1, 1],
        [1, 200],
        [1, 1],
        [0, 0],
        [0, 0],
        false,
    );
    assert_eq!(layer.output, [1, 165]);
    assert!(!layer.fits_descriptor(2));
    assert_eq!(gemm_core::plan_window_runs(&spec, &layer, usize::MAX), None);
    assert_eq!(
        schedule::window_cut(&spec, &layer, RunSettings::storing(Outputs::Words)),
        None
    );
    // A narrower input of the same shape is walked.
    let narrow = conv(
        [1, 3000, 1],
        1,
        [1, 1],
        [1, 200],
        [1, 1],
        [0, 0],
        [0, 0],
        false,
    );
    assert!(gemm_core::plan_window_runs(&spec, &narrow, usize::MAX).is_some());
}
