//! Weight zero-skipping (`config::ZeroSkipSpec::weights`) on output-stationary cores against
//! golden: random GEMMs with 0%, 50%, 90% and 100% of their weights zero, scattered one by one
//! or pruned in whole bricks (an N-fold's C columns at one reduction index, what the core can
//! skip), on single- and double-buffered cores, one that also gates (so its activations are
//! centred, with several zero points) and one with uint8 weights, under a regular and an
//! irregular (stalling) DRAM. Every result is bit-exact, every descriptor's counters equal the
//! model's (`golden::zero_skip::ZeroMap::kept_steps`: the weights decide the cycles), and the
//! compute phase shrinks with the bricks skipped, as the same core without skipping shows.
//! Folds left with fewer kept steps than the array has rows make the array hold the feeder back
//! (a tile drains for R cycles), so the feeder's stall path runs in the sparse cases.

use accelgen::config::{AcceleratorSpec, Dataflow, OperandSpec};
use accelgen::golden::zero_skip::ZeroMap;
use accelgen_tb::checks::{check_planned, dram, irregular, random, I8, U8};
use accelgen_tb::core::{
    core_spec_for, double_buffered, weight_skipping, zero_gating, CoreBench, Planned,
};
use accelgen_tb::Rng;
use ndarray::Array2;

/// How the zero weights of a test GEMM are placed.
#[derive(Debug, Clone, Copy)]
enum Zeros {
    /// Each weight independently.
    Scattered,
    /// Whole bricks: the C columns of an N-fold at one reduction index together.
    Bricks,
}

/// Weights of `weight`'s type with about `fraction` of them zero, placed as `zeros` says over
/// N-folds of `cols` columns; the rest are random non-zero values, the format's extremes
/// included.
fn sparse(
    rng: &mut Rng,
    (k, n, weight): (usize, usize, OperandSpec),
    cols: usize,
    fraction: f64,
    zeros: Zeros,
) -> Array2<i64> {
    let (low, high) = if weight.signed { (-128, 127) } else { (0, 255) };
    let mut nonzero = || loop {
        let value = rng.range_inclusive(low, high);
        if value != 0 {
            return value;
        }
    };
    let mut b = Array2::from_shape_fn((k, n), |_| nonzero());
    b[[0, 0]] = if weight.signed { low } else { 1 };
    b[[k - 1, n - 1]] = high;
    let zero = |rng: &mut Rng| (rng.next_u64() % 1000) < (fraction * 1000.0) as u64;
    match zeros {
        Zeros::Scattered => {
            for value in b.iter_mut() {
                if zero(rng) {
                    *value = 0;
                }
            }
        }
        Zeros::Bricks => {
            for fold in 0..n.div_ceil(cols) {
                for step in 0..k {
                    if zero(rng) {
                        for column in fold * cols..((fold + 1) * cols).min(n) {
                            b[[step, column]] = 0;
                        }
                    }
                }
            }
        }
    }
    b
}

/// Activations of `act`'s type, uniformly random.
fn activations(rng: &mut Rng, (m, k): (usize, usize), act: OperandSpec) -> Array2<i64> {
    let (low, high) = if act.signed { (-128, 127) } else { (0, 255) };
    Array2::from_shape_fn((m, k), |_| rng.range_inclusive(low, high))
}

/// A 4×4 output-stationary core small enough that the test GEMMs take several runs, reductions
/// split over runs (accumulating in the psum buffer) included, and large enough that a run
/// holds several row blocks, each replaying its N-fold's compacted weights.
fn os_core() -> AcceleratorSpec {
    core_spec_for(Dataflow::OutputStationary, 4, 4, 256, 160, 32)
}

#[test]
fn a_weight_skipping_core_is_bit_exact_at_every_sparsity_and_its_counters_equal_the_data_driven_model(
) {
    let mut unsigned = os_core();
    unsigned.pe.weight = U8;
    unsigned.name = format!("{}_wu8", unsigned.name);
    let cores = [
        (weight_skipping(&os_core()), vec![0]),
        (weight_skipping(&double_buffered(&os_core())), vec![0]),
        (zero_gating(&weight_skipping(&os_core())), vec![-128, 0, 5]),
        (weight_skipping(&unsigned), vec![0]),
    ];
    for (spec, zero_points) in cores {
        let mut bench = CoreBench::new(&spec).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        let mut seed = 0x3d;
        for zero_point in zero_points {
            bench.set_act_zero_point(zero_point);
            for fraction in [0.0, 0.5, 0.9, 1.0] {
                for (zeros, (m, k, n)) in [
                    (Zeros::Scattered, (11, 70, 19)),
                    (Zeros::Bricks, (11, 70, 19)),
                    (Zeros::Bricks, (9, 150, 6)),
                ] {
                    seed += 1;
                    let mut rng = Rng::new(seed);
                    let a = activations(&mut rng, (m, k), spec.pe.act);
                    let b = sparse(&mut rng, (k, n, spec.pe.weight), 4, fraction, zeros);
                    let what = format!(
                        "{}, zero point {zero_point}, {:.0}% zero weights {zeros:?}",
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
fn skipping_weight_bricks_takes_most_of_the_skipped_fraction_off_the_compute_and_dense_weights_cost_nothing_extra(
) {
    let dense_spec = core_spec_for(Dataflow::OutputStationary, 4, 4, 256, 400, 32);
    let spec = weight_skipping(&dense_spec);
    let mut dense = CoreBench::new(&dense_spec).unwrap();
    let mut skipping = CoreBench::new(&spec).unwrap();
    let (m, k, n) = (8, 90, 16);
    for (index, fraction) in [0.0, 0.5, 0.9].into_iter().enumerate() {
        let seed = 0x91 + index as u64;
        let mut rng = Rng::new(seed);
        let a = random(&mut rng, m, k);
        let b = sparse(&mut rng, (k, n, I8), 4, fraction, Zeros::Bricks);
        let what = format!("{:.0}% zero weight bricks", fraction * 100.0);
        let timing = dram(20, 1);
        let dense_run = check_planned(&mut dense, &dense_spec, (&a, &b), timing, seed, &what);
        let skipping_run = check_planned(&mut skipping, &spec, (&a, &b), timing, seed, &what);
        let compute = |run: &Planned| run.program.total("perf_compute_cycles");
        let (dense_compute, skipping_compute) = (compute(&dense_run), compute(&skipping_run));
        // Each N-fold streams its kept steps (its first always) once per row block; each run
        // also pays the array's fill and drain and the post-process pipeline, which skipping
        // cannot shorten, so at least 70% of the skipped fraction must come off the compute.
        let skipped = ZeroMap::of(&a, 0)
            .with_weights(&b)
            .skipped_weight_fraction(4)
            .expect("the map has the weights");
        let ratio = skipping_compute as f64 / dense_compute as f64;
        assert!(
            ratio <= 1.0 - 0.7 * skipped,
            "{what}: compute {skipping_compute} vs dense {dense_compute} ({ratio:.3}), \
             {skipped:.3} of the bricks skipped"
        );
        // The weight loads shrink with the kept steps too (81-bit words against 64-bit ones
        // on this core's bus, so the bytes compare, not the words).
        let writes = |run: &Planned| run.program.total("perf_weight_writes");
        assert!(writes(&skipping_run) <= writes(&dense_run), "{what}");
        if fraction == 0.0 {
            assert_eq!(skipping_compute, dense_compute, "{what}: no zeros, no cost");
        }
    }
}
