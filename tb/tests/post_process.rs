//! RTL-vs-golden tests of the post-processing unit: every output lane equals
//! `golden::requant::Requantizer::requantize` (TFLite mode) or the raw `acc + bias` (bypass), on
//! random and adversarial accumulators, biases, multipliers and shifts, with back-pressure.

use std::sync::{Mutex, OnceLock};

use accelgen::golden::gemm::wrap_signed;
use accelgen::golden::requant::OutputClamp;
use accelgen::golden::requant::{quantize_multiplier, QuantizedMultiplier};
use accelgen::golden::Requantizer;
use accelgen_tb::post_process::{LaneBeat, PostProcessBench, Settings};
use accelgen_tb::{Rng, Traffic};

/// One bench per (lanes, accumulator width) per test binary.
fn with_bench<T>(lanes: u32, acc_bits: u32, run: impl FnOnce(&mut PostProcessBench) -> T) -> T {
    type Benches = Mutex<Vec<((u32, u32), &'static Mutex<PostProcessBench>)>>;
    static BENCHES: OnceLock<Benches> = OnceLock::new();
    let slot = {
        let mut benches = BENCHES.get_or_init(Default::default).lock().unwrap();
        match benches.iter().find(|(key, _)| *key == (lanes, acc_bits)) {
            Some((_, slot)) => *slot,
            None => {
                let bench = PostProcessBench::new(lanes, acc_bits)
                    .unwrap_or_else(|e| panic!("building the post-process unit: {e}"));
                let slot: &'static Mutex<PostProcessBench> = Box::leak(Box::new(Mutex::new(bench)));
                benches.push(((lanes, acc_bits), slot));
                slot
            }
        }
    };
    let mut guard = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    run(&mut guard)
}

const INT8: Settings = Settings {
    zero_point: -5,
    clamp_min: -128,
    clamp_max: 127,
    bypass: false,
};

/// The golden value of every lane of every beat: channel `beat · lanes + lane` of one
/// requantizer holding each lane's own multiplier.
fn golden(beats: &[LaneBeat], settings: Settings, acc_bits: u32) -> Vec<Vec<i64>> {
    let multipliers = beats
        .iter()
        .flat_map(|beat| {
            beat.multiplier
                .iter()
                .zip(&beat.shift)
                .map(|(&multiplier, &shift)| QuantizedMultiplier { multiplier, shift })
        })
        .collect();
    let clamp = OutputClamp {
        zero_point: settings.zero_point,
        min: settings.clamp_min,
        max: settings.clamp_max,
    };
    let requantizer = Requantizer::from_multipliers(multipliers, clamp);
    let mut channel = 0;
    beats
        .iter()
        .map(|beat| {
            beat.acc
                .iter()
                .zip(&beat.bias)
                .map(|(&acc, &bias)| {
                    // The accumulator as int32 (sign-extended or wrapped), plus the bias, wrapping.
                    let sum = (wrap_signed(acc, acc_bits.min(32)) as i32).wrapping_add(bias);
                    let value = if settings.bypass {
                        sum
                    } else {
                        requantizer.requantize(sum, channel)
                    };
                    channel += 1;
                    i64::from(value)
                })
                .collect()
        })
        .collect()
}

/// Runs `beats` through the unit and panics with the first mismatches if any lane differs.
fn check(lanes: u32, acc_bits: u32, beats: &[LaneBeat], settings: Settings, traffic: &Traffic) {
    let (actual, cycles) = with_bench(lanes, acc_bits, |bench| {
        bench.run(beats, settings, 4, traffic)
    })
    .unwrap_or_else(|e| panic!("post-process run: {e}"));
    let expected = golden(beats, settings, acc_bits);
    let mut report = Vec::new();
    let mut count = 0;
    for (index, (e, a)) in expected.iter().zip(&actual).enumerate() {
        for lane in 0..lanes as usize {
            if e[lane] != a[lane] {
                count += 1;
                if report.len() < 8 {
                    report.push(format!(
                        "  beat {index} lane {lane}: acc {} bias {} multiplier {} shift {}: expected {}, actual {}",
                        beats[index].acc[lane],
                        beats[index].bias[lane],
                        beats[index].multiplier[lane],
                        beats[index].shift[lane],
                        e[lane],
                        a[lane]
                    ));
                }
            }
        }
    }
    assert!(
        count == 0,
        "{count} mismatch(es) in {} beats ({cycles} cycles); first:\n{}",
        beats.len(),
        report.join("\n")
    );
}

/// Realistic lanes: accumulators across the int32 range, biases of real layers, multipliers of
/// scales from 2^-20 to 8 (negative and positive shifts).
fn random_beats(rng: &mut Rng, lanes: u32, acc_bits: u32, count: usize) -> Vec<LaneBeat> {
    let acc_limit = 1i64 << (acc_bits.min(32) - 1);
    (0..count)
        .map(|_| {
            let mut beat = LaneBeat {
                acc: Vec::new(),
                bias: Vec::new(),
                multiplier: Vec::new(),
                shift: Vec::new(),
            };
            for _ in 0..lanes {
                let magnitude = rng.range_inclusive(0, acc_bits.min(31) as i64 - 1);
                let acc = rng.range_inclusive(-(1i64 << magnitude), 1i64 << magnitude);
                beat.acc.push(acc.clamp(-acc_limit, acc_limit - 1));
                beat.bias.push(rng.range_inclusive(-40_000, 40_000) as i32);
                let exponent = rng.range_inclusive(-20, 3) as i32;
                let mantissa = 0.5 + rng.range_inclusive(0, 1 << 20) as f64 / f64::from(1 << 21);
                let quantized = quantize_multiplier(mantissa * 2f64.powi(exponent));
                beat.multiplier.push(quantized.multiplier);
                beat.shift.push(quantized.shift);
            }
            beat
        })
        .collect()
}

/// One lane per case, padded with zeros to the unit's lane count.
fn edge_beats(lanes: u32, cases: &[(i64, i32, i32, i32)]) -> Vec<LaneBeat> {
    cases
        .chunks(lanes as usize)
        .map(|chunk| {
            let mut beat = LaneBeat {
                acc: vec![0; lanes as usize],
                bias: vec![0; lanes as usize],
                multiplier: vec![1 << 30; lanes as usize],
                shift: vec![0; lanes as usize],
            };
            for (lane, &(acc, bias, multiplier, shift)) in chunk.iter().enumerate() {
                beat.acc[lane] = acc;
                beat.bias[lane] = bias;
                beat.multiplier[lane] = multiplier;
                beat.shift[lane] = shift;
            }
            beat
        })
        .collect()
}

const MIN: i32 = i32::MIN;
const MAX: i32 = i32::MAX;

/// (acc, bias, multiplier, shift) cases at the corners of the arithmetic.
const EDGE_CASES: &[(i64, i32, i32, i32)] = &[
    // INT32_MIN · INT32_MIN is the one SRDHM saturation.
    (MIN as i64, 0, MIN, 0),
    (MIN as i64, 0, MIN, -1),
    (MIN as i64, 0, MAX, 0),
    (MAX as i64, 0, MAX, 0),
    (MAX as i64, 0, MIN, 0),
    // Bias wraps the int32 sum.
    (MAX as i64, 1, 1 << 30, 0),
    (MIN as i64, -1, 1 << 30, 0),
    // SRDHM ties: x · 2^30 / 2^31 = x / 2 for odd x (0.5 → 1, −0.5 → 0, −1.5 → −1).
    (1, 0, 1 << 30, 0),
    (-1, 0, 1 << 30, 0),
    (-3, 0, 1 << 30, 0),
    // Rounding-shift ties away from zero, and the largest right shift.
    (3 << 1, 0, MAX, -2),
    (-(3 << 1), 0, MAX, -2),
    (MAX as i64, 0, MAX, -31),
    (MIN as i64, 0, MAX, -31),
    (MIN as i64, 0, MIN, -31),
    (12345, 0, 1 << 30, -31),
    // Left shifts wrap in 32 bits before the multiply.
    (1 << 20, 0, 1 << 30, 12),
    (-(1 << 20), 3, 1 << 30, 12),
    (3, 0, 1 << 30, 31),
    (-1, 0, 1 << 30, 31),
    // Saturation at the clamp, both ends.
    (1 << 28, 0, MAX, 0),
    (-(1 << 28), 0, MAX, 0),
    (0, 0, 0, 0),
];

fn back_pressure(seed: u64) -> Traffic {
    Traffic::random(seed, 1.0, 0.6, 0.5)
}

#[test]
fn random_lanes_match_golden_tflite_requantization_under_back_pressure() {
    let mut rng = Rng::new(1);
    let beats = random_beats(&mut rng, 8, 32, 300);
    check(8, 32, &beats, INT8, &Traffic::full_rate());
    check(8, 32, &beats, INT8, &back_pressure(2));
}

#[test]
fn int32_min_ties_wrapping_bias_and_extreme_shifts_match_golden() {
    let beats = edge_beats(8, EDGE_CASES);
    let wide_open = Settings {
        zero_point: 0,
        clamp_min: MIN,
        clamp_max: MAX,
        bypass: false,
    };
    check(8, 32, &beats, wide_open, &Traffic::full_rate());
    check(8, 32, &beats, INT8, &back_pressure(3));
}

#[test]
fn zero_points_and_clamps_of_uint8_relu6_and_extreme_zero_points_match_golden() {
    let mut rng = Rng::new(4);
    let beats = random_beats(&mut rng, 8, 32, 120);
    for settings in [
        // uint8 with zero point 128.
        Settings {
            zero_point: 128,
            clamp_min: 0,
            clamp_max: 255,
            bypass: false,
        },
        // A fused ReLU6 narrower than int8.
        Settings {
            zero_point: -128,
            clamp_min: -128,
            clamp_max: -128 + 47,
            bypass: false,
        },
        // Zero point at the edge of int32, so adding it must not wrap before the clamp.
        Settings {
            zero_point: MAX,
            clamp_min: MIN,
            clamp_max: MAX,
            bypass: false,
        },
        Settings {
            zero_point: MIN,
            clamp_min: MIN,
            clamp_max: MAX,
            bypass: false,
        },
        // An inverted clamp: TFLite's min(max(y, lo), hi) gives hi everywhere.
        Settings {
            zero_point: 0,
            clamp_min: 100,
            clamp_max: -100,
            bypass: false,
        },
    ] {
        check(8, 32, &beats, settings, &back_pressure(5));
    }
}

#[test]
fn bypass_outputs_the_raw_wrapping_int32_sum_of_accumulator_and_bias() {
    let mut rng = Rng::new(6);
    let mut beats = random_beats(&mut rng, 8, 32, 60);
    beats.extend(edge_beats(8, EDGE_CASES));
    let raw = Settings {
        bypass: true,
        ..INT8
    };
    check(8, 32, &beats, raw, &back_pressure(7));
}

#[test]
fn narrow_accumulators_sign_extend_and_wide_ones_wrap_to_int32() {
    let mut rng = Rng::new(8);
    let narrow = random_beats(&mut rng, 3, 20, 80);
    check(3, 20, &narrow, INT8, &back_pressure(9));
    let mut wide = random_beats(&mut rng, 3, 40, 40);
    // Values beyond int32 in a 40-bit accumulator keep only their low 32 bits, as int32 sums do.
    wide[0].acc = vec![(1i64 << 35) + 7, -(1i64 << 36) - 3, (1i64 << 39) - 1];
    check(3, 40, &wide, INT8, &back_pressure(10));
}

#[test]
fn a_beat_per_cycle_after_the_pipeline_latency_at_full_rate() {
    let mut rng = Rng::new(11);
    let beats = random_beats(&mut rng, 8, 32, 100);
    let (outputs, cycles) = with_bench(8, 32, |bench| {
        bench.run(&beats, INT8, 4, &Traffic::full_rate())
    })
    .unwrap();
    assert_eq!(outputs.len(), 100);
    // 100 beats in on edges 1..=100; the last leaves LATENCY (5) edges later.
    assert_eq!(
        cycles,
        100 + u64::from(accelgen::blocks::post_process::LATENCY)
    );
}
