//! RTL-vs-golden tests of the systolic arrays of every dataflow: GEMMs driven through Verilator by
//! `ArrayBench`, compared bit-exactly with `golden::gemm::gemm`, with and without random
//! back-pressure; and the cycle count of every full-rate run compared with `golden::cycles`.
//!
//! `dataflow_tests!` instantiates the same claims for each dataflow (`ws::…`, `os::…`, `is::…`).

use std::sync::{Mutex, OnceLock};

use accelgen::config::{AcceleratorSpec, Dataflow, OperandSpec};
use accelgen::golden::cycles::{predicted_cycles, ArrayShape, GemmShape};
use accelgen::golden::gemm::gemm;
use accelgen_tb::array::{array_spec, int8_spec, mismatches, operand_range};
use accelgen_tb::{ArrayBench, GemmRun, Rng, Traffic};
use ndarray::Array2;

const I8: OperandSpec = OperandSpec {
    bits: 8,
    signed: true,
};
const U8: OperandSpec = OperandSpec {
    bits: 8,
    signed: false,
};
const I4: OperandSpec = OperandSpec {
    bits: 4,
    signed: true,
};

/// One bench per spec per test binary: the model is built (or loaded) once and shared.
fn with_bench<T>(spec: &AcceleratorSpec, run: impl FnOnce(&mut ArrayBench) -> T) -> T {
    type Benches = Mutex<Vec<(String, &'static Mutex<ArrayBench>)>>;
    static BENCHES: OnceLock<Benches> = OnceLock::new();
    let slot = {
        let mut benches = BENCHES.get_or_init(Default::default).lock().unwrap();
        match benches.iter().find(|(name, _)| *name == spec.name) {
            Some((_, slot)) => *slot,
            None => {
                let bench =
                    ArrayBench::new(spec).unwrap_or_else(|e| panic!("building {}: {e}", spec.name));
                let slot: &'static Mutex<ArrayBench> = Box::leak(Box::new(Mutex::new(bench)));
                benches.push((spec.name.clone(), slot));
                slot
            }
        }
    };
    let mut guard = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    run(&mut guard)
}

fn random_matrix(rng: &mut Rng, rows: usize, cols: usize, operand: OperandSpec) -> Array2<i64> {
    let (low, high) = operand_range(operand);
    Array2::from_shape_fn((rows, cols), |_| rng.range_inclusive(low, high))
}

/// Panics with the first mismatches (row, column, expected, actual) if the result differs from
/// the golden model.
fn assert_matches_golden(
    spec: &AcceleratorSpec,
    a: &Array2<i64>,
    b: &Array2<i64>,
    run: &GemmRun,
    what: &str,
) {
    let expected = gemm(a, b, spec.pe.acc_bits);
    let (first, count) = mismatches(&expected, &run.result, 8);
    let report: Vec<String> = first
        .iter()
        .map(|(row, column, e, got)| format!("  C[{row}, {column}]: expected {e}, actual {got}"))
        .collect();
    assert!(
        count == 0,
        "{what} on {}: {count} mismatch(es); first:\n{}",
        spec.name,
        report.join("\n")
    );
}

/// The cycle model's count for this spec and shape.
fn model_cycles(spec: &AcceleratorSpec, (m, k, n): (usize, usize, usize)) -> u64 {
    let array = ArrayShape {
        rows: spec.pe_array.rows.into(),
        cols: spec.pe_array.cols.into(),
    };
    let gemm = GemmShape {
        m: m as u64,
        k: k as u64,
        n: n as u64,
    };
    predicted_cycles(spec.pe_array.dataflow, array, gemm).expect("modelled dataflow")
}

/// Runs a random GEMM of shape M×K×N on `spec` with `traffic`, checks it against golden and, at
/// full rate, checks the cycle count against the model. Returns the run.
fn check_random_gemm(
    spec: &AcceleratorSpec,
    shape: (usize, usize, usize),
    traffic: &Traffic,
) -> GemmRun {
    let (m, k, n) = shape;
    let mut rng = Rng::new(traffic.seed ^ 0x5eed);
    let a = random_matrix(&mut rng, m, k, spec.pe.act);
    let b = random_matrix(&mut rng, k, n, spec.pe.weight);
    let run = with_bench(spec, |bench| bench.run_gemm(&a, &b, traffic))
        .unwrap_or_else(|e| panic!("{m}x{k}x{n} on {}: {e}", spec.name));
    assert_matches_golden(spec, &a, &b, &run, &format!("random {m}x{k}x{n}"));
    if *traffic == Traffic::full_rate() {
        let model = model_cycles(spec, shape);
        assert_eq!(
            run.cycles, model,
            "{m}x{k}x{n} on {}: RTL took {} cycles, the model predicts {model}",
            spec.name, run.cycles
        );
    }
    run
}

fn back_pressure(seed: u64) -> Traffic {
    Traffic::random(seed, 0.6, 0.7, 0.4)
}

macro_rules! dataflow_tests {
    ($module:ident, $dataflow:expr) => {
        mod $module {
            use super::*;

            const DATAFLOW: Dataflow = $dataflow;

            fn int8(rows: u32, cols: u32) -> AcceleratorSpec {
                int8_spec(DATAFLOW, rows, cols)
            }

            #[test]
            fn one_by_one_array_matches_golden_and_the_cycle_model() {
                let spec = int8(1, 1);
                check_random_gemm(&spec, (5, 3, 2), &Traffic::full_rate());
                check_random_gemm(&spec, (1, 1, 1), &Traffic::full_rate());
                check_random_gemm(&spec, (5, 3, 2), &back_pressure(11));
            }

            #[test]
            fn two_by_three_array_matches_golden_and_the_cycle_model_on_non_multiple_shapes() {
                let spec = int8(2, 3);
                for shape in [(7, 5, 7), (1, 1, 1), (2, 3, 4), (13, 1, 2), (3, 11, 1)] {
                    check_random_gemm(&spec, shape, &Traffic::full_rate());
                }
                check_random_gemm(&spec, (7, 5, 7), &back_pressure(12));
                check_random_gemm(&spec, (1, 1, 1), &back_pressure(13));
            }

            #[test]
            fn four_by_four_array_matches_golden_and_the_cycle_model_under_any_traffic() {
                let spec = int8(4, 4);
                for shape in [(9, 10, 7), (8, 13, 9), (16, 13, 9), (3, 2, 17), (5, 1, 5)] {
                    check_random_gemm(&spec, shape, &Traffic::full_rate());
                }
                check_random_gemm(&spec, (9, 10, 7), &back_pressure(14));
                // Heavy output back-pressure, eager producers.
                check_random_gemm(&spec, (6, 13, 9), &Traffic::random(15, 1.0, 1.0, 0.15));
                // Starved producers, eager consumer.
                check_random_gemm(&spec, (6, 13, 9), &Traffic::random(16, 0.2, 0.3, 1.0));
            }

            #[test]
            fn eight_by_eight_array_matches_golden_and_the_cycle_model() {
                let spec = int8(8, 8);
                check_random_gemm(&spec, (19, 21, 13), &Traffic::full_rate());
                check_random_gemm(&spec, (19, 21, 13), &back_pressure(17));
            }

            #[test]
            fn sixteen_by_sixteen_array_matches_golden_and_the_cycle_model() {
                let spec = int8(16, 16);
                check_random_gemm(&spec, (37, 35, 33), &Traffic::full_rate());
                check_random_gemm(&spec, (20, 17, 18), &back_pressure(18));
            }

            #[test]
            fn the_cycle_model_equals_the_rtl_on_a_sweep_of_short_and_long_tiles() {
                // Every dimension from 1 to past the points where tiles stop hiding the
                // reload (WS/IS: 2R+C-1 streamed beats) or the drain (OS: K = R).
                let spec = int8(3, 2);
                for size in 1..=9 {
                    for shape in [(size, 4, 3), (3, size, 5), (4, 5, size), (size, size, size)] {
                        check_random_gemm(&spec, shape, &Traffic::full_rate());
                    }
                }
            }

            #[test]
            fn all_minus_128_times_minus_128_accumulates_the_largest_products_exactly() {
                let spec = int8(4, 4);
                let a = Array2::from_elem((9, 11), -128i64);
                let b = Array2::from_elem((11, 6), -128i64);
                for traffic in [Traffic::full_rate(), back_pressure(21)] {
                    let run = with_bench(&spec, |bench| bench.run_gemm(&a, &b, &traffic)).unwrap();
                    assert_matches_golden(&spec, &a, &b, &run, "all -128");
                    assert_eq!(run.result[[0, 0]], 11 * 16384);
                }
            }

            #[test]
            fn all_zeros_and_all_max_operands_match_golden() {
                let spec = int8(2, 3);
                for (name, act, weight) in [
                    ("all zeros", 0i64, 0i64),
                    ("all 127", 127, 127),
                    ("all -128 x 127", -128, 127),
                ] {
                    let a = Array2::from_elem((6, 5), act);
                    let b = Array2::from_elem((5, 4), weight);
                    let run = with_bench(&spec, |bench| bench.run_gemm(&a, &b, &back_pressure(22)))
                        .unwrap();
                    assert_matches_golden(&spec, &a, &b, &run, name);
                }
            }

            #[test]
            fn unsigned_activations_times_signed_weights_match_golden_including_255_times_minus_128(
            ) {
                let spec = array_spec(DATAFLOW, 3, 2, U8, I8, 32);
                check_random_gemm(&spec, (7, 8, 5), &Traffic::full_rate());
                check_random_gemm(&spec, (7, 8, 5), &back_pressure(31));
                let a = Array2::from_elem((4, 5), 255i64);
                let b = Array2::from_elem((5, 3), -128i64);
                let run =
                    with_bench(&spec, |bench| bench.run_gemm(&a, &b, &back_pressure(32))).unwrap();
                assert_matches_golden(&spec, &a, &b, &run, "255 x -128");
                assert_eq!(run.result[[0, 0]], 5 * 255 * -128);
            }

            #[test]
            fn four_bit_operands_with_a_ten_bit_accumulator_wrap_like_golden() {
                // 16 products of (-8)·(-8) = 1024 overflow a signed 10-bit accumulator.
                let spec = array_spec(DATAFLOW, 4, 3, I4, I4, 10);
                check_random_gemm(&spec, (8, 17, 7), &Traffic::full_rate());
                check_random_gemm(&spec, (8, 17, 7), &back_pressure(41));
                let a = Array2::from_elem((5, 16), -8i64);
                let b = Array2::from_elem((16, 4), -8i64);
                let run =
                    with_bench(&spec, |bench| bench.run_gemm(&a, &b, &back_pressure(42))).unwrap();
                assert_matches_golden(&spec, &a, &b, &run, "4-bit all -8");
                // 16·64 = 1024 ≡ 0 (mod 2^10).
                assert_eq!(run.result[[0, 0]], 0);
            }

            #[test]
            fn a_consumer_that_is_never_ready_is_reported_as_a_hang_naming_the_beat_counts() {
                let spec = int8(2, 3);
                let mut traffic = Traffic::random(5, 1.0, 1.0, 0.0);
                traffic.stall_limit = 50;
                let a = Array2::from_elem((6, 4), 1i64);
                let b = Array2::from_elem((4, 3), 1i64);
                let error = with_bench(&spec, |bench| bench.run_gemm(&a, &b, &traffic))
                    .expect_err("no output can ever be accepted");
                let message = error.to_string();
                assert!(
                    message.starts_with("hang: no beat moved for 51 cycles"),
                    "{message}"
                );
                assert!(message.contains("outputs 0/"), "{message}");
                assert!(message.contains("out_valid=true"), "{message}");
                // The bench recovers: the next run resets the array.
                check_random_gemm(&spec, (6, 4, 3), &Traffic::full_rate());
            }

            proptest::proptest! {
                #![proptest_config(proptest::prelude::ProptestConfig {
                    cases: 12,
                    failure_persistence: None,
                    ..proptest::prelude::ProptestConfig::default()
                })]

                #[test]
                fn random_shapes_array_sizes_and_traffic_match_golden(
                    array in proptest::sample::select(vec![(1u32, 1u32), (2, 3), (3, 2), (4, 4)]),
                    m in 1usize..12,
                    k in 1usize..12,
                    n in 1usize..12,
                    seed in proptest::prelude::any::<u64>(),
                    out_ready in 0.2f64..=1.0,
                    act_valid in 0.2f64..=1.0,
                    weight_valid in 0.2f64..=1.0,
                ) {
                    let spec = int8(array.0, array.1);
                    let traffic = Traffic::random(seed, weight_valid, act_valid, out_ready);
                    check_random_gemm(&spec, (m, k, n), &traffic);
                    check_random_gemm(&spec, (m, k, n), &Traffic::full_rate());
                }
            }
        }
    };
}

dataflow_tests!(ws, Dataflow::WeightStationary);
dataflow_tests!(os, Dataflow::OutputStationary);
dataflow_tests!(is, Dataflow::InputStationary);

#[test]
fn operands_outside_the_format_are_rejected_before_simulation() {
    let spec = array_spec(Dataflow::WeightStationary, 4, 3, I4, I4, 10);
    let a = Array2::from_elem((2, 2), 8i64);
    let b = Array2::from_elem((2, 2), 0i64);
    let error = with_bench(&spec, |bench| bench.run_gemm(&a, &b, &Traffic::full_rate()))
        .expect_err("8 is not an i4");
    assert!(error.to_string().contains("A[0, 0] = 8"), "{error}");
}

/// RTL cycles of a checked full-rate 64×64×64 GEMM on an 8×8 array.
fn cycles_64_cubed(dataflow: Dataflow) -> u64 {
    let spec = int8_spec(dataflow, 8, 8);
    check_random_gemm(&spec, (64, 64, 64), &Traffic::full_rate()).cycles
}

#[test]
fn ws_64_cubed_on_8x8_hides_the_weight_reload_within_5_percent_of_ideal_and_80_percent_of_scalesim()
{
    let cycles = cycles_64_cubed(Dataflow::WeightStationary);
    // R weight beats, 64 tiles of 64 vectors back to back, R+C-1 cycles of drain.
    assert_eq!(cycles, 8 + 64 * 64 + 15);
    assert!(cycles as f64 <= 1.05 * 4096.0);
    assert!(
        cycles as f64 <= 0.80 * 5503.0,
        "SCALE-Sim WS: 8·8·(16+8+64−2)−1 = 5503"
    );
}

#[test]
fn os_64_cubed_on_8x8_hides_the_drain_within_5_percent_of_ideal_and_85_percent_of_scalesim() {
    let cycles = cycles_64_cubed(Dataflow::OutputStationary);
    // 64 tiles of K = 64 pairs back to back, then R+C-1 + R-1 cycles of drain.
    assert_eq!(cycles, 64 * 64 + 16 + 8 - 2);
    assert!(cycles as f64 <= 1.05 * 4096.0);
    assert!(
        cycles as f64 <= 0.85 * 4991.0,
        "SCALE-Sim OS: 8·8·(64+14)−1 = 4991"
    );
}

#[test]
fn is_on_8x8_takes_the_cycles_of_ws_with_m_and_n_swapped() {
    // IS streams N weight vectors per tile where WS streams M activation vectors.
    let run = |dataflow, shape| {
        check_random_gemm(&int8_spec(dataflow, 8, 8), shape, &Traffic::full_rate()).cycles
    };
    assert_eq!(
        run(Dataflow::InputStationary, (48, 64, 80)),
        run(Dataflow::WeightStationary, (80, 64, 48))
    );
}
