//! Bit-Pragmatic cores (`config::SerialMode::Pragmatic`: zero-skipping output-stationary cores
//! whose PEs add one shifted weight per one-bit of each centred activation) against golden:
//! random GEMMs at 0%, 50%, 90% and 100% zero activations, and with controlled bit patterns —
//! every magnitude with exactly one one-bit, every magnitude with all of them, and one busy lane
//! per brick beside lanes of a single one-bit — on single- and double-buffered int8 cores and a
//! uint8 one, with several zero points, under a regular and an irregular (stalling) DRAM. Every
//! result is bit-exact and every descriptor's counters equal the model's
//! (`golden::zero_skip::pragmatic_array_cycles` over `ZeroMap::kept_terms`: the data decide the
//! cycles). And the compute phase grows by exactly one cycle per brick for each one-bit more in
//! every activation: Pragmatic's time follows the one-bits as the model says.

use accelgen::config::{AcceleratorSpec, Dataflow, OperandSpec};
use accelgen_tb::array::operand_range;
use accelgen_tb::checks::{check_planned, dram, irregular, random, I8, U8};
use accelgen_tb::core::{core_spec_for, double_buffered, pragmatic, CoreBench, Planned};
use accelgen_tb::Rng;
use ndarray::Array2;

/// The one-bits of the test activations that are not the zero point.
#[derive(Debug, Clone, Copy)]
enum Bits {
    /// Any stored value other than the zero point.
    Random,
    /// Centred magnitudes with exactly this many one-bits.
    Exactly(u32),
    /// In each brick one lane (row `k mod R` of the block) as far from the zero point as the
    /// format allows; the others with one one-bit.
    OneBusyLane,
}

/// A stored activation whose centred magnitude has exactly `ones` one-bits, of either sign
/// where the format allows; `None` if no such value exists for `zero_point`.
fn with_ones(rng: &mut Rng, act: OperandSpec, zero_point: i64, ones: u32) -> Option<i64> {
    let (low, high) = operand_range(act);
    let candidates: Vec<i64> = (low..=high)
        .filter(|&a| a != zero_point && (a - zero_point).unsigned_abs().count_ones() == ones)
        .collect();
    (!candidates.is_empty())
        .then(|| candidates[rng.range_inclusive(0, candidates.len() as i64 - 1) as usize])
}

/// M×K activations of `act`'s type: about `fraction` of them the zero point, the rest as `bits`
/// says.
fn activations(
    rng: &mut Rng,
    (m, k, act): (usize, usize, OperandSpec),
    rows: usize,
    zero_point: i64,
    fraction: f64,
    bits: Bits,
) -> Array2<i64> {
    let (low, high) = operand_range(act);
    let farthest = if zero_point - low > high - zero_point {
        low
    } else {
        high
    };
    Array2::from_shape_fn((m, k), |(row, column)| {
        if rng.chance(fraction) {
            return zero_point;
        }
        let value = match bits {
            Bits::Random => loop {
                let value = rng.range_inclusive(low, high);
                if value != zero_point {
                    break Some(value);
                }
            },
            Bits::Exactly(ones) => with_ones(rng, act, zero_point, ones),
            Bits::OneBusyLane if row % rows == column % rows => Some(farthest),
            Bits::OneBusyLane => with_ones(rng, act, zero_point, 1),
        };
        value.unwrap_or_else(|| panic!("no {act:?} value {bits:?} from zero point {zero_point}"))
    })
}

/// A 4×4 output-stationary core small enough that the test GEMMs take several runs, reductions
/// split over runs (accumulating in the psum buffer) included.
fn os_core() -> AcceleratorSpec {
    core_spec_for(Dataflow::OutputStationary, 4, 4, 96, 64, 32)
}

#[test]
fn a_pragmatic_core_is_bit_exact_at_every_sparsity_and_bit_pattern_and_its_counters_equal_the_model(
) {
    let mut unsigned = os_core();
    unsigned.pe.act = U8;
    unsigned.name = format!("{}_u8", unsigned.name);
    for (core, zero_points) in [
        (os_core(), [-128, 0, 5]),
        (double_buffered(&os_core()), [-128, 0, 5]),
        (unsigned, [128, 0, 255]),
    ] {
        let spec = pragmatic(&core);
        let act = spec.pe.act;
        let mut bench = CoreBench::new(&spec).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        let mut seed = 0x9a;
        for zero_point in zero_points {
            bench.set_act_zero_point(zero_point);
            let cases = [0.0, 0.5, 0.9, 1.0]
                .map(|fraction| (fraction, Bits::Random))
                .into_iter()
                .chain([Bits::Exactly(1), Bits::Exactly(7), Bits::OneBusyLane].map(|b| (0.5, b)));
            for (fraction, bits) in cases {
                seed += 1;
                let mut rng = Rng::new(seed);
                let (m, k, n) = (23, 70, 9);
                let a = activations(&mut rng, (m, k, act), 4, zero_point, fraction, bits);
                let b = random(&mut rng, k, n);
                let what = format!(
                    "{}, zero point {zero_point}, {:.0}% zeros, {bits:?}",
                    spec.name,
                    fraction * 100.0
                );
                check_planned(&mut bench, &spec, (&a, &b), dram(20, 1), seed, &what);
                if matches!(bits, Bits::OneBusyLane) {
                    let what = format!("{what}, irregular DRAM");
                    check_planned(&mut bench, &spec, (&a, &b), irregular(seed), seed, &what);
                }
            }
        }
    }
}

#[test]
fn pragmatic_compute_grows_by_one_cycle_per_brick_for_every_one_bit_of_every_activation() {
    let spec = pragmatic(&core_spec_for(
        Dataflow::OutputStationary,
        4,
        4,
        400,
        64,
        32,
    ));
    let mut bench = CoreBench::new(&spec).unwrap();
    bench.set_act_zero_point(-128);
    let (m, k, n) = (32, 40, 8);
    let compute = |run: &Planned| run.program.total("perf_compute_cycles");
    let mut cycles = Vec::new();
    for ones in 1..=8 {
        let seed = 0x51 + u64::from(ones);
        let mut rng = Rng::new(seed);
        let a = activations(&mut rng, (m, k, I8), 4, -128, 0.0, Bits::Exactly(ones));
        let b = random(&mut rng, k, n);
        let what = format!("{ones} one-bits per activation");
        let run = check_planned(&mut bench, &spec, (&a, &b), dram(20, 1), seed, &what);
        cycles.push(compute(&run));
    }
    // Every brick takes exactly `ones` cycles and every tile is longer than the drain, so each
    // one-bit more adds one cycle per brick: the 8 row blocks' 40 bricks for each of 2 N-folds.
    let bricks = (m / 4 * k * n / 4) as u64;
    let steps: Vec<u64> = cycles.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(
        steps.iter().all(|&step| step == bricks),
        "compute cycles at 1..=8 one-bits {cycles:?}: steps {steps:?}, expected {bricks} each"
    );
}
