//! Zero-gating (`config::ZeroSkipSpec::gating`) on output-stationary cores against golden: a
//! PE holds its accumulator when its centred activation or its weight is zero, and the core
//! counts the gated MACs. Random GEMMs with 0%, 50% and 90% zero activations and zero weights,
//! with several zero points, on a gating core, a double-buffered one, a uint8 one and one that
//! also skips zero bricks (gating the zeros left in the kept ones): every result is bit-exact
//! (gating must not change a sum), every run's gated MACs equal the model's
//! (`ZeroMap::gated_macs`, from A and B), and a gating core takes exactly the cycles of the
//! same core without gating.

use accelgen::config::{AcceleratorSpec, Dataflow};
use accelgen_tb::array::operand_range;
use accelgen_tb::checks::{check_planned, dram, irregular, U8};
use accelgen_tb::core::{
    core_spec_for, double_buffered, zero_gating, zero_skipping, CoreBench, Planned,
};
use accelgen_tb::Rng;
use ndarray::Array2;

/// A `rows` × `cols` matrix of `format`'s values, about `fraction` of them `zero`.
fn sparse(
    rng: &mut Rng,
    (rows, cols): (usize, usize),
    (low, high): (i64, i64),
    zero: i64,
    fraction: f64,
) -> Array2<i64> {
    Array2::from_shape_fn((rows, cols), |_| {
        if rng.chance(fraction) {
            zero
        } else {
            rng.range_inclusive(low, high)
        }
    })
}

/// A 4×4 output-stationary core small enough that the test GEMMs take several runs, reductions
/// split over runs included.
fn os_core() -> AcceleratorSpec {
    core_spec_for(Dataflow::OutputStationary, 4, 4, 96, 64, 32)
}

#[test]
fn a_gating_core_is_bit_exact_and_counts_the_gated_macs_the_model_predicts() {
    let mut unsigned = os_core();
    unsigned.pe.act = U8;
    unsigned.name = format!("{}_u8", unsigned.name);
    for (core, zero_points) in [
        (zero_gating(&os_core()), [-128, 0, 5]),
        (zero_gating(&double_buffered(&os_core())), [-128, 0, 5]),
        (zero_gating(&unsigned), [128, 0, 255]),
        (zero_gating(&zero_skipping(&os_core())), [-128, 0, 5]),
    ] {
        let act = core.pe.act;
        let mut bench = CoreBench::new(&core).unwrap_or_else(|e| panic!("{}: {e}", core.name));
        let mut seed = 0xd0;
        for zero_point in zero_points {
            bench.set_act_zero_point(zero_point);
            for fraction in [0.0, 0.5, 0.9] {
                seed += 1;
                let mut rng = Rng::new(seed);
                let (m, k, n) = (23, 70, 9);
                let a = sparse(&mut rng, (m, k), operand_range(act), zero_point, fraction);
                let b = sparse(&mut rng, (k, n), (-128, 127), 0, fraction);
                let what = format!(
                    "{}, zero point {zero_point}, {:.0}% zeros",
                    core.name,
                    fraction * 100.0
                );
                let planned = check_planned(&mut bench, &core, (&a, &b), dram(20, 1), seed, &what);
                let gated = planned.program.total("perf_gated_macs");
                let issued = planned.program.total("perf_act_beats") * 16;
                assert!(gated <= issued, "{what}: {gated} of {issued} MACs gated");
                if fraction >= 0.5 {
                    assert!(
                        gated * 2 > issued,
                        "{what}: half the operands are zero, yet only {gated} of {issued} gated"
                    );
                    let what = format!("{what}, irregular DRAM");
                    check_planned(&mut bench, &core, (&a, &b), irregular(seed), seed, &what);
                }
            }
        }
    }
}

#[test]
fn gating_costs_no_cycle() {
    let plain = os_core();
    let gating = zero_gating(&plain);
    let mut benches = [
        CoreBench::new(&plain).unwrap(),
        CoreBench::new(&gating).unwrap(),
    ];
    let mut rng = Rng::new(0x6a7e);
    let a = sparse(&mut rng, (30, 50), (-128, 127), 0, 0.5);
    let b = sparse(&mut rng, (50, 7), (-128, 127), 0, 0.5);
    let runs: Vec<Planned> = benches
        .iter_mut()
        .zip([&plain, &gating])
        .map(|(bench, spec)| check_planned(bench, spec, (&a, &b), dram(20, 1), 7, &spec.name))
        .collect();
    let busy = |run: &Planned| run.program.total("perf_busy_cycles");
    assert_eq!(
        busy(&runs[0]),
        busy(&runs[1]),
        "same cycles with and without gating"
    );
    assert_eq!(
        runs[0].program.total("perf_gated_macs"),
        0,
        "a plain core gates nothing"
    );
    assert!(runs[1].program.total("perf_gated_macs") > 0);
}
