//! Bit-serial (Stripes) weight-stationary arrays and cores against golden: every run-time
//! precision p from 1 to 8 on signed and unsigned activations that need all p bits, bit-exact
//! with and without back-pressure, and at full rate in the cycles
//! `golden::cycles::bit_serial_cycles` predicts: p times the parallel array's, with one more
//! step of latency. On a core (single- and double-buffered) the host sets the precision per
//! program (`ACT_PRECISION`) and every descriptor's counters equal the model's.

use accelgen::config::{AcceleratorSpec, Dataflow, OperandSpec, PeKind, SerialMode};
use accelgen::golden::cycles::{bit_serial_cycles, ArrayShape, GemmShape};
use accelgen::golden::gemm::gemm;
use accelgen::report::schedule;
use accelgen_tb::array::{array_spec, mismatches};
use accelgen_tb::checks::{
    assert_counters_match_model, dram, golden, random, requantization, with_dram, I8, U8,
};
use accelgen_tb::core::{bit_serial, core_spec, double_buffered, CoreBench};
use accelgen_tb::{ArrayBench, Rng, Traffic};
use ndarray::Array2;

/// A bit-serial WS array of `rows` × `cols` with `act` activations and int8 weights.
fn serial_spec(rows: u32, cols: u32, act: OperandSpec) -> AcceleratorSpec {
    let mut spec = array_spec(Dataflow::WeightStationary, rows, cols, act, I8, 32);
    spec.pe.kind = PeKind::BitSerial(SerialMode::Stripes);
    spec.name = spec.name.replacen("tb_ws", "tb_ws_bs", 1);
    spec
}

/// Activations that need all `bits` bits of `act`'s signedness: the extremes of the range are
/// always present, the rest random within it.
fn activations(rng: &mut Rng, (m, k): (usize, usize), act: OperandSpec, bits: u32) -> Array2<i64> {
    let (low, high) = if act.signed {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    } else {
        (0, (1i64 << bits) - 1)
    };
    let mut a = Array2::from_shape_fn((m, k), |_| rng.range_inclusive(low, high));
    a[[0, 0]] = low;
    a[[m - 1, k - 1]] = high;
    a
}

/// The first mismatches of `result` against `A·B`, or an empty string.
fn first_mismatches(a: &Array2<i64>, b: &Array2<i64>, result: &Array2<i64>) -> String {
    let (first, count) = mismatches(&gemm(a, b, 32), result, 6);
    if count == 0 {
        return String::new();
    }
    let lines: Vec<String> = first
        .iter()
        .map(|(row, column, e, got)| format!("  C[{row}, {column}]: expected {e}, actual {got}"))
        .collect();
    format!("{count} mismatch(es); first:\n{}", lines.join("\n"))
}

fn model_cycles(spec: &AcceleratorSpec, (m, k, n): (usize, usize, usize), bits: u32) -> u64 {
    let array = ArrayShape {
        rows: spec.pe_array.rows.into(),
        cols: spec.pe_array.cols.into(),
    };
    let gemm = GemmShape {
        m: m as u64,
        k: k as u64,
        n: n as u64,
    };
    bit_serial_cycles(array, gemm, bits.into()).expect("a non-empty shape")
}

fn sweep_precisions(act: OperandSpec, seed: u64) {
    let spec = serial_spec(4, 3, act);
    let mut bench =
        ArrayBench::new(&spec).unwrap_or_else(|e| panic!("building {}: {e}", spec.name));
    let mut rng = Rng::new(seed);
    // K and N over several folds, M long and short against the array's 2R+C−1.
    for (shape, traffic) in [
        ((13, 9, 7), Traffic::full_rate()),
        ((3, 5, 4), Traffic::full_rate()),
        ((13, 9, 7), Traffic::random(seed, 0.6, 0.7, 0.4)),
    ] {
        let (m, k, n) = shape;
        for bits in 1..=act.bits {
            let a = activations(&mut rng, (m, k), act, bits);
            let b = Array2::from_shape_fn((k, n), |_| rng.range_inclusive(-128, 127));
            bench.set_act_precision(bits).unwrap();
            let run = bench
                .run_gemm(&a, &b, &traffic)
                .unwrap_or_else(|e| panic!("{m}x{k}x{n} at {bits} bits: {e}"));
            let report = first_mismatches(&a, &b, &run.result);
            assert!(
                report.is_empty(),
                "{} at {bits} bits, {m}x{k}x{n}: {report}",
                spec.name
            );
            if traffic == Traffic::full_rate() {
                let model = model_cycles(&spec, shape, bits);
                assert_eq!(
                    run.cycles, model,
                    "{} at {bits} bits, {m}x{k}x{n}: RTL {} cycles, model {model}",
                    spec.name, run.cycles
                );
            }
        }
    }
}

#[test]
fn a_bit_serial_array_multiplies_signed_activations_of_every_precision_bit_exactly_in_p_times_the_parallel_cycles(
) {
    sweep_precisions(I8, 0xb175);
}

#[test]
fn a_bit_serial_array_multiplies_unsigned_activations_of_every_precision_bit_exactly_in_p_times_the_parallel_cycles(
) {
    sweep_precisions(U8, 0x5e71a1);
}

#[test]
fn a_bit_serial_array_reads_only_the_precision_it_is_given() {
    // Activations that need 6 bits, run at 5: the sign bit is misread, so results must differ.
    // This is the test that fails if the array ignores `act_precision` and always takes 8 bits.
    // (Its own array shape: two live models of one design in a process share state.)
    let spec = serial_spec(3, 2, I8);
    let mut bench = ArrayBench::new(&spec).unwrap();
    let mut rng = Rng::new(7);
    let a = activations(&mut rng, (9, 8), I8, 6);
    let b = Array2::from_shape_fn((8, 5), |_| rng.range_inclusive(-128, 127));
    bench.set_act_precision(5).unwrap();
    let run = bench.run_gemm(&a, &b, &Traffic::full_rate()).unwrap();
    assert!(
        !first_mismatches(&a, &b, &run.result).is_empty(),
        "6-bit activations read at 5 bits gave the exact product"
    );
    // Precision 0 reads as the full 8 bits.
    bench.set_act_precision(0).unwrap();
    let run = bench.run_gemm(&a, &b, &Traffic::full_rate()).unwrap();
    let report = first_mismatches(&a, &b, &run.result);
    assert!(report.is_empty(), "precision 0 (read as 8): {report}");
    assert_eq!(run.cycles, model_cycles(&spec, (9, 8, 5), 8));
}

/// Runs random GEMMs whose activations need `bits` bits on a bit-serial core, as run-layer
/// would (cut by `schedule::core_plan`, one program): results against golden, every
/// descriptor's counters against the model. Returns the compute cycles of the program.
fn check_core_gemm(bench: &mut CoreBench, spec: &AcceleratorSpec, bits: u32, seed: u64) -> u64 {
    let (m, k, n) = (21, 11, 9);
    let mut rng = Rng::new(seed);
    let a = activations(&mut rng, (m, k), I8, bits);
    let b = random(&mut rng, k, n);
    let post = requantization(&mut rng, n);
    let range = (*a.iter().min().unwrap(), *a.iter().max().unwrap());
    bench.set_act_range(Some(range));
    let timing = dram(20, 1);
    let planned = bench
        .run_planned(&a, &b, &post, timing, seed)
        .unwrap_or_else(|e| panic!("{} at {bits} bits: {e}", spec.name));
    let (first, count) = mismatches(&golden(&a, &b, &post), &planned.result, 8);
    assert_eq!(
        count, 0,
        "{} at {bits} bits: {count} mismatches, first (row, column, expected, actual) {first:?}",
        spec.name
    );
    let settings = bench.settings(&post);
    assert_eq!(settings.serial_bits(spec), Some(bits));
    let shape = GemmShape {
        m: m as u64,
        k: k as u64,
        n: n as u64,
    };
    let model = schedule::core_program(&with_dram(spec, timing), shape, settings, None).unwrap();
    assert_eq!(planned.program.descriptors.len(), model.len());
    for (index, (counters, run)) in planned.program.descriptors.iter().zip(&model).enumerate() {
        let what = format!("{} at {bits} bits, descriptor {index}", spec.name);
        assert_counters_match_model(counters, *run, &what);
    }
    planned.program.total("perf_compute_cycles")
}

#[test]
fn a_bit_serial_core_runs_gemms_of_every_precision_bit_exactly_with_the_models_counters_and_p_over_8_of_the_compute(
) {
    for core in [
        core_spec(4, 4, 64, 32, 32),
        double_buffered(&core_spec(4, 4, 64, 32, 32)),
    ] {
        let spec = bit_serial(&core);
        let mut bench = CoreBench::new(&spec).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        let compute: Vec<(u32, u64)> = [2, 3, 5, 8]
            .into_iter()
            .map(|bits| {
                (
                    bits,
                    check_core_gemm(&mut bench, &spec, bits, 0x5e + u64::from(bits)),
                )
            })
            .collect();
        // A stale activation range is refused, not streamed with its top bits cut off.
        let mut rng = Rng::new(1);
        let (a, b) = (random(&mut rng, 5, 6), random(&mut rng, 6, 3));
        bench.set_act_range(Some((-2, 1)));
        let error = bench
            .run_planned(&a, &b, &requantization(&mut rng, 3), dram(20, 1), 1)
            .unwrap_err();
        assert!(
            error.to_string().contains("set_act_range"),
            "{}: {error}",
            spec.name
        );
        // Compute scales as p: each array step is p cycles, the rest is a fixed overhead.
        let (_, full) = compute[compute.len() - 1];
        for &(bits, cycles) in &compute {
            let ratio = cycles as f64 / full as f64;
            let ideal = f64::from(bits) / 8.0;
            assert!(
                (ratio - ideal).abs() < 0.05 + 40.0 / full as f64,
                "{}: {bits}-bit compute is {ratio:.3} of 8-bit, expected about {ideal:.3}",
                spec.name
            );
        }
    }
}
