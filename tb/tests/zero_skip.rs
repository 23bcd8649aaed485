//! Activation zero-skipping (`config::ZeroSkipSpec`) on output-stationary cores against golden:
//! random GEMMs with 0%, 50%, 90% and 100% of their activations at the zero point, scattered
//! one by one or in whole bricks (R rows at one reduction index, what the core can skip), with
//! several zero points, on single- and double-buffered int8 cores and a uint8 one, under a
//! regular and an irregular (stalling) DRAM. Every result is bit-exact, every descriptor's
//! counters equal the model's (`golden::zero_skip`: the data decide the cycles), and the compute
//! phase shrinks with the bricks skipped, as the same core without skipping shows. Blocks left
//! with fewer kept columns than the array has rows make the array hold the feeder back (a tile
//! drains for R cycles), so the feeder's stall path runs in the sparse cases.

use accelgen::config::{AcceleratorSpec, Dataflow, OperandSpec};
use accelgen::golden::zero_skip::ZeroMap;
use accelgen_tb::checks::{check_planned, dram, irregular, random, I8, U8};
use accelgen_tb::core::{core_spec_for, double_buffered, zero_skipping, CoreBench, Planned};
use accelgen_tb::Rng;
use ndarray::Array2;

/// How the zero activations of a test GEMM are placed.
#[derive(Debug, Clone, Copy)]
enum Zeros {
    /// Each activation independently.
    Scattered,
    /// Whole bricks: the R rows of a row block at one reduction index together.
    Bricks,
}

/// Activations of `act`'s type with about `fraction` of them at `zero_point`, placed as `zeros`
/// says; the rest are random values other than the zero point, the one farthest from it
/// included (the largest centred magnitude).
fn sparse(
    rng: &mut Rng,
    (m, k, act): (usize, usize, OperandSpec),
    rows: usize,
    zero_point: i64,
    fraction: f64,
    zeros: Zeros,
) -> Array2<i64> {
    let (low, high) = if act.signed { (-128, 127) } else { (0, 255) };
    let mut nonzero = || loop {
        let value = rng.range_inclusive(low, high);
        if value != zero_point {
            return value;
        }
    };
    let mut a = Array2::from_shape_fn((m, k), |_| nonzero());
    a[[0, 0]] = if zero_point - low > high - zero_point {
        low
    } else {
        high
    };
    let zero = |rng: &mut Rng| (rng.next_u64() % 1000) < (fraction * 1000.0) as u64;
    match zeros {
        Zeros::Scattered => {
            for value in a.iter_mut() {
                if zero(rng) {
                    *value = zero_point;
                }
            }
        }
        Zeros::Bricks => {
            for block in 0..m.div_ceil(rows) {
                for column in 0..k {
                    if zero(rng) {
                        for row in block * rows..((block + 1) * rows).min(m) {
                            a[[row, column]] = zero_point;
                        }
                    }
                }
            }
        }
    }
    a
}

/// A 4×4 output-stationary core small enough that the test GEMMs take several runs, reductions
/// split over runs (accumulating in the psum buffer) included.
fn os_core() -> AcceleratorSpec {
    core_spec_for(Dataflow::OutputStationary, 4, 4, 96, 64, 32)
}

#[test]
fn a_zero_skipping_core_is_bit_exact_at_every_sparsity_and_its_counters_equal_the_data_driven_model(
) {
    let mut unsigned = os_core();
    unsigned.pe.act = U8;
    unsigned.name = format!("{}_u8", unsigned.name);
    for (core, zero_points) in [
        (os_core(), [-128, 0, 5]),
        (double_buffered(&os_core()), [-128, 0, 5]),
        (unsigned, [128, 0, 255]),
    ] {
        let spec = zero_skipping(&core);
        let act = spec.pe.act;
        let mut bench = CoreBench::new(&spec).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        let mut seed = 0x25;
        for zero_point in zero_points {
            bench.set_act_zero_point(zero_point);
            for fraction in [0.0, 0.5, 0.9, 1.0] {
                for zeros in [Zeros::Scattered, Zeros::Bricks] {
                    seed += 1;
                    let mut rng = Rng::new(seed);
                    let (m, k, n) = (23, 70, 9);
                    let a = sparse(&mut rng, (m, k, act), 4, zero_point, fraction, zeros);
                    let b = random(&mut rng, k, n);
                    let what = format!(
                        "{}, zero point {zero_point}, {:.0}% zeros {zeros:?}",
                        spec.name,
                        fraction * 100.0
                    );
                    check_planned(&mut bench, &spec, (&a, &b), dram(20, 1), seed, &what);
                    if fraction == 0.5 {
                        let what = format!("{what}, irregular DRAM");
                        check_planned(&mut bench, &spec, (&a, &b), irregular(seed), seed, &what);
                    }
                }
            }
        }
    }
}

#[test]
fn skipping_bricks_takes_most_of_the_skipped_fraction_off_the_compute_and_dense_data_cost_nothing_extra(
) {
    let dense_spec = core_spec_for(Dataflow::OutputStationary, 4, 4, 400, 64, 32);
    let spec = zero_skipping(&dense_spec);
    let mut dense = CoreBench::new(&dense_spec).unwrap();
    let mut skipping = CoreBench::new(&spec).unwrap();
    skipping.set_act_zero_point(-128);
    let (m, k, n) = (32, 90, 4);
    for (index, fraction) in [0.0, 0.5, 0.9].into_iter().enumerate() {
        let seed = 0x77 + index as u64;
        let mut rng = Rng::new(seed);
        let a = sparse(&mut rng, (m, k, I8), 4, -128, fraction, Zeros::Bricks);
        let b = random(&mut rng, k, n);
        let what = format!("{:.0}% zero bricks", fraction * 100.0);
        let timing = dram(20, 1);
        let dense_run = check_planned(&mut dense, &dense_spec, (&a, &b), timing, seed, &what);
        let skipping_run = check_planned(&mut skipping, &spec, (&a, &b), timing, seed, &what);
        let compute = |run: &Planned| run.program.total("perf_compute_cycles");
        let (dense_compute, skipping_compute) = (compute(&dense_run), compute(&skipping_run));
        // Each row block streams its kept columns (its first always); each run also pays the
        // array's fill and drain and the post-process pipeline, which skipping cannot shorten,
        // so at least 70% of the skipped fraction must come off the compute.
        let skipped = ZeroMap::of(&a, -128).skipped_fraction(4);
        let ratio = skipping_compute as f64 / dense_compute as f64;
        assert!(
            ratio <= 1.0 - 0.7 * skipped,
            "{what}: compute {skipping_compute} vs dense {dense_compute} ({ratio:.3}), \
             {skipped:.3} of the bricks skipped"
        );
        if fraction == 0.0 {
            assert_eq!(skipping_compute, dense_compute, "{what}: no zeros, no cost");
        }
    }
}
