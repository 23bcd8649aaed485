//! What the core tests share: random operands and per-channel requantization like a real
//! layer's, the golden result a core must produce for them, and the DRAMs they run against
//! (deterministic, or slow and irregular) with the spec the cycle model needs for each.

use accelgen::config::{AcceleratorSpec, DramSpec, OperandSpec};
use accelgen::golden::gemm::{gemm, wrap_signed};
use accelgen::golden::requant::{quantize_multiplier, OutputClamp};
use accelgen::golden::Requantizer;
use ndarray::Array2;

use crate::array::operand_range;
use crate::core::PostProcessing;
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
