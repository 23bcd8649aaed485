//! Bit-serial (Stripes) weight-stationary arrays against golden: every run-time precision p from 1
//! to 8 on signed and unsigned activations that need all p bits, bit-exact with and without
//! back-pressure, and at full rate in the cycles `golden::cycles::bit_serial_cycles` predicts:
//! p times the parallel array's, with one more step of latency.

use accelgen::config::{AcceleratorSpec, Dataflow, OperandSpec, PeKind, SerialMode};
use accelgen::golden::cycles::{bit_serial_cycles, ArrayShape, GemmShape};
use accelgen::golden::gemm::gemm;
use accelgen_tb::array::{array_spec, mismatches};
use accelgen_tb::checks::{I8, U8};
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
