//! What the core tests share: random operands and per-channel requantization like a real
//! layer's, the golden result a core must produce for them (for a window-mode convolution too,
//! computed from its geometry), the DRAMs they run against (deterministic, or slow and
//! irregular) with the spec the cycle model needs for each, the check of a descriptor's counters
//! against the model, a planned GEMM checked against both (`check_planned`), and real layers
//! narrowed to fewer activation bits.

use accelgen::blocks::gemm_core::ConvLayer;
use accelgen::config::{AcceleratorSpec, DramSpec, OperandSpec};
use accelgen::golden::cycles::GemmShape;
use accelgen::golden::dma::RunCycles;
use accelgen::golden::gemm::{gemm, wrap_signed};
use accelgen::golden::requant::{quantize_multiplier, OutputClamp};
use accelgen::golden::{LayerBundle, Requantizer, Tensor};
use accelgen::report::schedule;
use ndarray::{s, Array2, Array3};

use crate::array::{mismatches, operand_range};
use crate::core::{CoreBench, Planned, PostProcessing};
use crate::dram::{DramTiming, Jitter};
use crate::post_process::Settings;
use crate::Rng;

/// Signed 8-bit operands.
pub const I8: OperandSpec = OperandSpec {
    bits: 8,
    signed: true,
};

/// Unsigned 8-bit operands.
pub const U8: OperandSpec = OperandSpec {
    bits: 8,
    signed: false,
};

/// `bundle` with its stored activations and input zero point shifted right (arithmetically) by
/// `width − bits`, so that they span a `bits`-bit range of a `width`-bit format with their sign
/// and spread kept, and without its expected output (the golden model of the narrowed layer is
/// the reference): a real layer that needs exactly `bits` bits per activation.
pub fn narrowed(bundle: &LayerBundle, width: u32, bits: u32) -> LayerBundle {
    assert!(
        (1..=width).contains(&bits),
        "{bits} bits of a {width}-bit format"
    );
    let shift = width - bits;
    let mut narrowed = bundle.clone();
    narrowed.input = Tensor::new(
        bundle.input.dtype(),
        bundle.input.values().mapv(|value| value >> shift),
    )
    .expect("a right shift keeps every value in its dtype");
    narrowed.params.input_zero_point = bundle.params.input_zero_point >> shift;
    narrowed.expected = None;
    narrowed
}

/// Checks one descriptor's counters against the model's account of it, phase by phase.
pub fn assert_counters_match_model(counters: &[(&str, u32)], model: RunCycles, what: &str) {
    let counter = |name: &str| {
        counters
            .iter()
            .find(|(counter, _)| *counter == name)
            .map(|(_, value)| u64::from(*value))
            .unwrap_or_else(|| panic!("no counter {name}"))
    };
    for (name, expected) in [
        ("perf_load_cycles", model.load),
        ("perf_compute_cycles", model.compute),
        ("perf_store_cycles", model.store),
        ("perf_busy_cycles", model.busy),
        ("perf_dram_read_bytes", model.read_bytes),
        ("perf_dram_write_bytes", model.write_bytes),
    ] {
        assert_eq!(counter(name), expected, "{what}: {name} vs golden::dma");
    }
}

/// A `rows` × `cols` matrix of random int8 values.
pub fn random(rng: &mut Rng, rows: usize, cols: usize) -> Array2<i64> {
    let (low, high) = operand_range(I8);
    Array2::from_shape_fn((rows, cols), |_| rng.range_inclusive(low, high))
}

/// Per-channel biases and multipliers like a real layer's, int8 output with a zero point.
pub fn requantization(rng: &mut Rng, columns: usize) -> PostProcessing {
    PostProcessing {
        bias: (0..columns)
            .map(|_| rng.range_inclusive(-5000, 5000) as i32)
            .collect(),
        multipliers: (0..columns)
            .map(|_| quantize_multiplier(rng.range_inclusive(1, 1 << 20) as f64 * 1e-9))
            .collect(),
        settings: Settings {
            zero_point: -7,
            clamp_min: -128,
            clamp_max: 127,
            bypass: false,
        },
    }
}

/// What the core must output: the golden GEMM, plus bias, through the golden requantizer.
pub fn golden(a: &Array2<i64>, b: &Array2<i64>, post: &PostProcessing) -> Array2<i64> {
    let settings = post.settings;
    let requantizer = Requantizer::from_multipliers(
        post.multipliers.clone(),
        OutputClamp {
            zero_point: settings.zero_point,
            min: settings.clamp_min,
            max: settings.clamp_max,
        },
    );
    let mut product = gemm(a, b, 32);
    for ((_, n), value) in product.indexed_iter_mut() {
        let sum = wrap_signed(*value + i64::from(post.bias[n]), 32) as i32;
        *value = i64::from(if settings.bypass {
            sum
        } else {
            requantizer.requantize(sum, n)
        });
    }
    product
}

/// A deterministic DRAM: the cycle model predicts a core on it exactly.
pub fn dram(latency: u32, cycles_per_beat: u32) -> DramTiming {
    DramTiming {
        latency,
        cycles_per_beat,
        jitter: None,
    }
}

/// A slow DRAM with random (seeded, so repeatable) extra latency and handshakes.
pub fn irregular(seed: u64) -> DramTiming {
    DramTiming {
        latency: 30,
        cycles_per_beat: 2,
        jitter: Some(Jitter {
            seed,
            max_extra_latency: 60,
            ready_chance: 0.4,
        }),
    }
}

/// `spec` with the DRAM timing of `timing`, which is what the cycle model reads.
pub fn with_dram(spec: &AcceleratorSpec, timing: DramTiming) -> AcceleratorSpec {
    let mut spec = spec.clone();
    spec.buffers.as_mut().expect("a core has buffers").dram = DramSpec {
        latency_cycles: timing.latency,
        cycles_per_beat: timing.cycles_per_beat,
    };
    spec
}

/// A convolution's random stored values and weights.
pub struct Convolution {
    pub layer: ConvLayer,
    /// H × W × C stored input values.
    pub input: Array3<i64>,
    /// The input zero point: what padding taps read.
    pub pad: i64,
    /// K × N weights in the window's fold order (zero for padding lanes and, depthwise, off the
    /// diagonal).
    pub b: Array2<i64>,
}

impl Convolution {
    /// Random `act` inputs and zero point and int8 weights for `layer` on an array of `rows`
    /// rows.
    pub fn random(layer: ConvLayer, rows: usize, act: OperandSpec, rng: &mut Rng) -> Convolution {
        let [height, width, channels] = layer.input;
        let (low, high) = operand_range(act);
        let input = Array3::from_shape_fn((height, width, channels), |_| {
            rng.range_inclusive(low, high)
        });
        let pad = rng.range_inclusive(low, high);
        let (weight_low, weight_high) = operand_range(I8);
        let blocks = layer.channel_blocks(rows);
        let b = Array2::from_shape_fn((layer.depth(rows), layer.channels), |(k, n)| {
            let (fold, lane) = (k / rows, k % rows);
            let channel = if layer.depthwise {
                (n / rows) * rows + lane
            } else {
                (fold % blocks) * rows + lane
            };
            let used = channel < channels && (!layer.depthwise || n % rows == lane);
            if used {
                rng.range_inclusive(weight_low, weight_high)
            } else {
                0
            }
        });
        Convolution {
            layer,
            input,
            pad,
            b,
        }
    }

    /// The im2col activations of N-fold `fold` (depthwise: it reads channel block `fold`; the
    /// others all read the same), straight from the geometry: pixel m, K index k.
    pub fn im2col(&self, rows: usize, fold: usize) -> Array2<i64> {
        let layer = &self.layer;
        let blocks = layer.channel_blocks(rows);
        let fold_blocks = if layer.depthwise { 1 } else { blocks };
        Array2::from_shape_fn((layer.pixels(), layer.depth(rows)), |(m, k)| {
            let (step, lane) = (k / rows, k % rows);
            let tap = step / fold_blocks;
            let block = if layer.depthwise {
                fold
            } else {
                step % fold_blocks
            };
            let (kh, kw) = (tap / layer.kernel[1], tap % layer.kernel[1]);
            let (oy, ox) = (m / layer.output[1], m % layer.output[1]);
            let y =
                (oy * layer.stride[0] + kh * layer.dilation[0]) as isize - layer.pad[0] as isize;
            let x =
                (ox * layer.stride[1] + kw * layer.dilation[1]) as isize - layer.pad[1] as isize;
            let c = block * rows + lane;
            let [height, width, channels] = layer.input;
            let inside = (0..height as isize).contains(&y) && (0..width as isize).contains(&x);
            if inside && c < channels {
                self.input[[y as usize, x as usize, c]]
            } else {
                self.pad
            }
        })
    }

    /// The golden result, pixels × channels: depthwise, each block of R channels from its own
    /// channel block's im2col rows; otherwise one GEMM.
    pub fn expected(&self, rows: usize, post: &PostProcessing) -> Array2<i64> {
        if !self.layer.depthwise {
            return golden(&self.im2col(rows, 0), &self.b, post);
        }
        let folds = self.layer.channels.div_ceil(rows);
        let mut result = Array2::zeros((self.layer.pixels(), self.layer.channels));
        for fold in 0..folds {
            let columns = fold * rows..((fold + 1) * rows).min(self.layer.channels);
            let b = self.b.slice(s![.., columns.clone()]).to_owned();
            let part = golden(&self.im2col(rows, fold), &b, &post.columns(columns.clone()));
            result.slice_mut(s![.., columns]).assign(&part);
        }
        result
    }
}

/// Runs `a`·`b` on `bench` (a core of `spec`) as run-layer would (cut by
/// `schedule::core_plan`, one program) and checks the results against golden, the gated MACs
/// against the model of the same operands and, under a regular DRAM, every descriptor's
/// counters against the model (a zero-skipping core's cycles depend on the activations).
pub fn check_planned(
    bench: &mut CoreBench,
    spec: &AcceleratorSpec,
    (a, b): (&Array2<i64>, &Array2<i64>),
    timing: DramTiming,
    seed: u64,
    what: &str,
) -> Planned {
    let mut rng = Rng::new(seed);
    let post = requantization(&mut rng, b.ncols());
    let planned = bench
        .run_planned(a, b, &post, timing, seed)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let (first, count) = mismatches(&golden(a, b, &post), &planned.result, 8);
    assert_eq!(
        count, 0,
        "{what}: {count} mismatches, first (row, column, expected, actual) {first:?}"
    );
    let shape = GemmShape {
        m: a.nrows() as u64,
        k: a.ncols() as u64,
        n: b.ncols() as u64,
    };
    let zeros = bench.zeros(a, b);
    // The MACs a zero-gating array gates depend on the data alone (0 on other cores).
    let chunks = schedule::core_chunks(spec, shape, bench.settings(&post), zeros.as_ref()).unwrap();
    let gated: u64 = chunks.iter().filter_map(|chunk| chunk.gated_macs).sum();
    assert_eq!(
        planned.program.total("perf_gated_macs"),
        gated,
        "{what}: gated MACs, counted against golden::zero_skip"
    );
    // A regular DRAM is deterministic: the model counts every cycle of it.
    if timing.jitter.is_none() {
        let model = schedule::core_program(
            &with_dram(spec, timing),
            shape,
            bench.settings(&post),
            zeros.as_ref(),
        )
        .unwrap();
        assert_eq!(planned.program.descriptors.len(), model.len(), "{what}");
        for (index, (counters, run)) in planned.program.descriptors.iter().zip(&model).enumerate() {
            assert_counters_match_model(counters, *run, &format!("{what}, descriptor {index}"));
        }
    }
    planned
}
