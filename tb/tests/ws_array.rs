//! RTL-vs-golden tests of the weight-stationary systolic array: tiled GEMMs driven through
//! Verilator by `WsArrayBench`, compared bit-exactly with `golden::gemm::gemm`, whole result and
//! tile by tile, with and without back-pressure; plus the back-to-back streaming cycle bound.

use std::sync::{Mutex, OnceLock};

use accelgen::config::{AcceleratorSpec, OperandSpec};
use accelgen::golden::gemm::gemm;
use accelgen_tb::ws_array::{int8_spec, mismatches, operand_range, tile_operands, ws_spec};
use accelgen_tb::{GemmRun, Rng, Traffic, WsArrayBench};
use ndarray::Array2;
use proptest::prelude::*;

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
fn with_bench<T>(spec: &AcceleratorSpec, run: impl FnOnce(&mut WsArrayBench) -> T) -> T {
    type Benches = Mutex<Vec<(String, &'static Mutex<WsArrayBench>)>>;
    static BENCHES: OnceLock<Benches> = OnceLock::new();
    let bench = {
        let mut benches = BENCHES.get_or_init(Default::default).lock().unwrap();
        match benches.iter().find(|(name, _)| *name == spec.name) {
            Some((_, bench)) => *bench,
            None => {
                let bench = WsArrayBench::new(spec)
                    .unwrap_or_else(|e| panic!("building {}: {e}", spec.name));
                let bench: &'static Mutex<WsArrayBench> = Box::leak(Box::new(Mutex::new(bench)));
                benches.push((spec.name.clone(), bench));
                bench
            }
        }
    };
    let mut guard = bench
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    run(&mut guard)
}

fn random_matrix(rng: &mut Rng, rows: usize, cols: usize, operand: OperandSpec) -> Array2<i64> {
    let (low, high) = operand_range(operand);
    Array2::from_shape_fn((rows, cols), |_| rng.range_inclusive(low, high))
}

/// Panics with the first mismatches (tile, row, column, expected, actual) if any tile or the
/// summed result differs from the golden model.
fn assert_matches_golden(
    spec: &AcceleratorSpec,
    a: &Array2<i64>,
    b: &Array2<i64>,
    run: &GemmRun,
    what: &str,
) {
    let (rows, cols) = (spec.pe_array.rows as usize, spec.pe_array.cols as usize);
    let acc_bits = spec.pe.acc_bits;
    let mut report = Vec::new();
    let mut total = 0;
    for tile in &run.tiles {
        let (tile_a, tile_b) = tile_operands(a, b, rows, cols, tile.k_fold, tile.n_fold);
        let expected = gemm(&tile_a, &tile_b, acc_bits);
        let (first, count) = mismatches(&expected, &tile.values, 8);
        total += count;
        for (row, column, e, got) in first {
            if report.len() < 8 {
                report.push(format!(
                    "  tile {} (k_fold {}, n_fold {}), row {row}, column {column}: expected {e}, actual {got}",
                    tile.index, tile.k_fold, tile.n_fold
                ));
            }
        }
    }
    let expected = gemm(a, b, acc_bits);
    let (first, count) = mismatches(&expected, &run.result, 8);
    for (row, column, e, got) in first {
        report.push(format!(
            "  result, row {row}, column {column}: expected {e}, actual {got}"
        ));
    }
    assert!(
        total == 0 && count == 0,
        "{what} on {}: {total} tile mismatch(es), {count} result mismatch(es); first:\n{}",
        spec.name,
        report.join("\n")
    );
}

/// Runs a random GEMM of shape M×K×N on `spec` with `traffic` and checks it against golden.
fn check_random_gemm(spec: &AcceleratorSpec, shape: (usize, usize, usize), traffic: &Traffic) {
    let (m, k, n) = shape;
    let mut rng = Rng::new(traffic.seed ^ 0x5eed);
    let a = random_matrix(&mut rng, m, k, spec.pe.act);
    let b = random_matrix(&mut rng, k, n, spec.pe.weight);
    let run = with_bench(spec, |bench| bench.run_gemm(&a, &b, traffic))
        .unwrap_or_else(|e| panic!("{m}x{k}x{n} on {}: {e}", spec.name));
    assert_matches_golden(spec, &a, &b, &run, &format!("random {m}x{k}x{n}"));
}

fn back_pressure(seed: u64) -> Traffic {
    Traffic::random(seed, 0.6, 0.7, 0.4)
}

#[test]
fn one_by_one_array_matches_golden_on_random_int8_gemm_with_and_without_back_pressure() {
    let spec = int8_spec(1, 1);
    check_random_gemm(&spec, (5, 3, 2), &Traffic::full_rate());
    check_random_gemm(&spec, (5, 3, 2), &back_pressure(11));
}

#[test]
fn two_by_three_array_matches_golden_on_non_multiple_shapes_with_and_without_back_pressure() {
    let spec = int8_spec(2, 3);
    check_random_gemm(&spec, (7, 5, 7), &Traffic::full_rate());
    check_random_gemm(&spec, (7, 5, 7), &back_pressure(12));
    check_random_gemm(&spec, (1, 1, 1), &back_pressure(13));
}

#[test]
fn four_by_four_array_matches_golden_on_non_multiple_shapes_with_and_without_back_pressure() {
    let spec = int8_spec(4, 4);
    check_random_gemm(&spec, (9, 10, 7), &Traffic::full_rate());
    check_random_gemm(&spec, (9, 10, 7), &back_pressure(14));
    // Heavy output back-pressure, eager producers.
    check_random_gemm(&spec, (6, 13, 9), &Traffic::random(15, 1.0, 1.0, 0.15));
    // Starved producers, eager consumer.
    check_random_gemm(&spec, (6, 13, 9), &Traffic::random(16, 0.2, 0.3, 1.0));
}

#[test]
fn eight_by_eight_array_matches_golden_on_random_int8_gemm_with_back_pressure() {
    let spec = int8_spec(8, 8);
    check_random_gemm(&spec, (19, 21, 13), &back_pressure(17));
}

#[test]
fn all_minus_128_times_minus_128_accumulates_the_largest_products_exactly() {
    let spec = int8_spec(4, 4);
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
    let spec = int8_spec(2, 3);
    for (name, value) in [
        ("all zeros", 0i64),
        ("all 127", 127),
        ("all -128 x 127", -128),
    ] {
        let a = Array2::from_elem((6, 5), value);
        let b = Array2::from_elem((5, 4), if value == -128 { 127 } else { value });
        let run = with_bench(&spec, |bench| bench.run_gemm(&a, &b, &back_pressure(22))).unwrap();
        assert_matches_golden(&spec, &a, &b, &run, name);
    }
}

#[test]
fn unsigned_activations_times_signed_weights_match_golden_including_255_times_minus_128() {
    let spec = ws_spec(3, 2, U8, I8, 32);
    check_random_gemm(&spec, (7, 8, 5), &Traffic::full_rate());
    check_random_gemm(&spec, (7, 8, 5), &back_pressure(31));
    let a = Array2::from_elem((4, 5), 255i64);
    let b = Array2::from_elem((5, 3), -128i64);
    let run = with_bench(&spec, |bench| bench.run_gemm(&a, &b, &back_pressure(32))).unwrap();
    assert_matches_golden(&spec, &a, &b, &run, "255 x -128");
    assert_eq!(run.result[[0, 0]], 5 * 255 * -128);
}

#[test]
fn four_bit_operands_with_a_ten_bit_accumulator_wrap_like_golden() {
    // 16 products of (-8)·(-8) = 1024 overflows a signed 10-bit accumulator (max 511).
    let spec = ws_spec(4, 3, I4, I4, 10);
    check_random_gemm(&spec, (8, 17, 7), &Traffic::full_rate());
    check_random_gemm(&spec, (8, 17, 7), &back_pressure(41));
    let a = Array2::from_elem((5, 16), -8i64);
    let b = Array2::from_elem((16, 4), -8i64);
    let run = with_bench(&spec, |bench| bench.run_gemm(&a, &b, &back_pressure(42))).unwrap();
    assert_matches_golden(&spec, &a, &b, &run, "4-bit all -8");
    // 16·64 = 1024 ≡ 0 (mod 2^10).
    assert_eq!(run.result[[0, 0]], 0);
}

#[test]
fn operands_outside_the_format_are_rejected_before_simulation() {
    let spec = ws_spec(4, 3, I4, I4, 10);
    let a = Array2::from_elem((2, 2), 8i64);
    let b = Array2::from_elem((2, 2), 0i64);
    let error = with_bench(&spec, |bench| bench.run_gemm(&a, &b, &Traffic::full_rate()))
        .expect_err("8 is not an i4");
    assert!(error.to_string().contains("A[0, 0] = 8"), "{error}");
}

/// A checked full-rate run of a random M×K×N GEMM: (cycles, edge of the first vector, tiles).
fn streaming_cycles(spec: &AcceleratorSpec, shape: (usize, usize, usize)) -> (u64, u64, usize) {
    let (m, k, n) = shape;
    let (rows, cols) = (spec.pe_array.rows as usize, spec.pe_array.cols as usize);
    let mut rng = Rng::new(99);
    let a = random_matrix(&mut rng, m, k, spec.pe.act);
    let b = random_matrix(&mut rng, k, n, spec.pe.weight);
    let run = with_bench(spec, |bench| bench.run_gemm(&a, &b, &Traffic::full_rate())).unwrap();
    assert_matches_golden(spec, &a, &b, &run, "streaming");
    let tiles = k.div_ceil(rows) * n.div_ceil(cols);
    (run.cycles, run.first_act_cycle, tiles)
}

#[test]
fn a_consumer_that_is_never_ready_is_reported_as_a_hang_naming_the_beat_counts() {
    let spec = int8_spec(2, 3);
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
    assert!(message.contains("outputs 0/12"), "{message}");
    assert!(message.contains("out_valid=true"), "{message}");
    // The bench recovers: the next run resets the array.
    check_random_gemm(&spec, (6, 4, 3), &Traffic::full_rate());
}

/// Cycles of a full-rate run, from reset release to the last output: tile 0's R weight beats,
/// then one vector per edge, then the R+C-1 edges of the pipeline drain.
fn back_to_back_cycles(rows: u64, cols: u64, tiles: u64, m: u64) -> u64 {
    rows + tiles * m + (rows + cols - 1)
}

#[test]
fn tiles_stream_back_to_back_without_back_pressure_when_m_is_at_least_2r_plus_c_minus_1() {
    // The idle bank may reload only after the last vector that used it has left (R+C-1 edges
    // after it entered), then takes R beats: the next-but-one tile is ready in time iff
    // M >= 2R+C-1.
    for (spec, shape) in [
        (int8_spec(2, 3), (12, 7, 8)),
        (int8_spec(4, 4), (16, 13, 9)),
        (int8_spec(4, 4), (11, 13, 9)),
        (int8_spec(8, 8), (23, 17, 17)),
        (int8_spec(8, 8), (64, 64, 64)),
    ] {
        let (rows, cols) = (u64::from(spec.pe_array.rows), u64::from(spec.pe_array.cols));
        let m = shape.0 as u64;
        assert!(m >= 2 * rows + cols - 1);
        let (cycles, first_act, tiles) = streaming_cycles(&spec, shape);
        let expected = back_to_back_cycles(rows, cols, tiles as u64, m);
        println!(
            "{}: MxKxN {:?}, {tiles} tiles, {cycles} cycles = tiles*M {} + {} \
             (R + R+C-1 = {}), first vector on edge {first_act}",
            spec.name,
            shape,
            tiles as u64 * m,
            cycles - tiles as u64 * m,
            2 * rows + cols - 1
        );
        assert_eq!(
            first_act,
            rows + 1,
            "first vector moves right after R weight beats"
        );
        assert_eq!(
            cycles, expected,
            "{}: {tiles} tiles of M={m} took {cycles} cycles, back-to-back is {expected}",
            spec.name
        );
    }
}

#[test]
fn tiles_shorter_than_2r_plus_c_minus_1_vectors_leave_bubbles_for_the_weight_reload() {
    // M = R+C (enough to fill the pipeline) is not enough to hide the reload of a 4x4 array.
    let spec = int8_spec(4, 4);
    let (rows, cols) = (4u64, 4u64);
    for m in [8u64, 10] {
        let (cycles, _, tiles) = streaming_cycles(&spec, (m as usize, 13, 9));
        let back_to_back = back_to_back_cycles(rows, cols, tiles as u64, m);
        println!(
            "{}: M={m} (< 2R+C-1 = 11), {tiles} tiles: {cycles} cycles vs {back_to_back} back-to-back \
             ({} bubble cycles)",
            spec.name,
            cycles - back_to_back
        );
        assert!(
            cycles > back_to_back,
            "M={m}: {cycles} cycles, expected bubbles beyond {back_to_back}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_small_shapes_and_traffic_match_golden_on_a_two_by_three_array(
        m in 1usize..8,
        k in 1usize..8,
        n in 1usize..8,
        seed in any::<u64>(),
        out_ready in 0.2f64..1.0,
        act_valid in 0.2f64..1.0,
        weight_valid in 0.2f64..1.0,
    ) {
        let spec = int8_spec(2, 3);
        check_random_gemm(&spec, (m, k, n), &Traffic::random(seed, weight_valid, act_valid, out_ready));
    }
}
