//! One measured GEMM on a configured array: random operands from a seed, the RTL run at full
//! rate, the golden result and every cycle count the issue tracker asks about (RTL, model,
//! ideal, SCALE-Sim), plus how long the Verilator build and the simulation took. Behind
//! `accelgen bench gemm`.

use std::time::Instant;

use accelgen::config::AcceleratorSpec;
use accelgen::golden::cycles::{
    ideal_cycles, predicted_cycles, scalesim_cycles, ArrayShape, GemmShape,
};
use accelgen::golden::gemm::gemm;
use ndarray::Array2;

use crate::array::{mismatches, operand_range, ArrayBench, Traffic};
use crate::error::BenchError;
use crate::rng::Rng;

/// Largest M·K + K·N accepted: 2^26 elements (512 MiB of i64 operands), far beyond any
/// simulation that finishes in minutes.
pub const MAX_OPERAND_ELEMENTS: u64 = 1 << 26;

/// Everything one benchmark run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct GemmBench {
    pub shape: GemmShape,
    pub array: ArrayShape,
    pub rtl_cycles: u64,
    pub model_cycles: u64,
    pub scalesim_cycles: u64,
    pub ideal_cycles: u64,
    /// MACs / (R·C·rtl_cycles): the fraction of PE-cycles doing useful work.
    pub utilization: f64,
    /// Output elements that differ from the golden model.
    pub mismatches: usize,
    /// The first few mismatches as (row, column, expected, actual).
    pub first_mismatches: Vec<(usize, usize, i64, i64)>,
    /// Whether the Verilator model came from the cache, and the build (or load) wall time.
    pub build_cache_hit: bool,
    pub build_seconds: f64,
    /// Wall time of the RTL run alone (driving, stepping, collecting): the median over the
    /// repeats.
    pub simulation_seconds: f64,
    pub repeats: usize,
}

impl GemmBench {
    pub fn cycles_per_second(&self) -> f64 {
        self.rtl_cycles as f64 / self.simulation_seconds
    }

    pub fn macs_per_second(&self) -> f64 {
        self.shape.macs() as f64 / self.simulation_seconds
    }
}

/// Builds (or loads) the model of `spec`, runs a random M×K×N GEMM drawn from `seed` at full
/// rate `repeats` times (at least once) and compares it with golden. Every repeat must give the
/// same result and cycle count; the first is reported, with the median simulation time.
pub fn run(
    spec: &AcceleratorSpec,
    shape: GemmShape,
    seed: u64,
    repeats: usize,
) -> Result<GemmBench, BenchError> {
    let dataflow = spec.pe_array.dataflow;
    let array = ArrayShape {
        rows: spec.pe_array.rows.into(),
        cols: spec.pe_array.cols.into(),
    };
    let (Some(model_cycles), Some(scalesim_cycles)) = (
        predicted_cycles(dataflow, array, shape),
        scalesim_cycles(dataflow, array, shape),
    ) else {
        return Err(BenchError::UnsupportedDataflow(dataflow));
    };
    // The operands live in memory as i64 matrices; refuse sizes no simulation would finish.
    let elements = shape.m.saturating_mul(shape.k) + shape.k.saturating_mul(shape.n);
    if elements > MAX_OPERAND_ELEMENTS {
        return Err(BenchError::Protocol(format!(
            "{}x{}x{} has {elements} operand elements; the bench takes at most {MAX_OPERAND_ELEMENTS}",
            shape.m, shape.k, shape.n
        )));
    }
    let mut rng = Rng::new(seed);
    let mut random = |rows: u64, cols: u64, operand| {
        let (low, high) = operand_range(operand);
        Array2::from_shape_fn((rows as usize, cols as usize), |_| {
            rng.range_inclusive(low, high)
        })
    };
    let a = random(shape.m, shape.k, spec.pe.act);
    let b = random(shape.k, shape.n, spec.pe.weight);

    let mut bench = ArrayBench::new(spec)?;
    let build = bench.model().build_info().clone();
    let mut times = Vec::new();
    let mut runs = Vec::new();
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        runs.push(bench.run_gemm(&a, &b, &Traffic::full_rate())?);
        times.push(started.elapsed().as_secs_f64());
    }
    let run = &runs[0];
    if let Some(other) = runs.iter().find(|other| *other != run) {
        return Err(BenchError::Protocol(format!(
            "repeats of one full-rate GEMM differ: {} cycles, then {}",
            run.cycles, other.cycles
        )));
    }
    times.sort_by(f64::total_cmp);
    let simulation_seconds = times[times.len() / 2];

    let expected = gemm(&a, &b, spec.pe.acc_bits);
    let (first_mismatches, mismatches) = mismatches(&expected, &run.result, 8);
    Ok(GemmBench {
        shape,
        array,
        rtl_cycles: run.cycles,
        model_cycles,
        scalesim_cycles,
        ideal_cycles: ideal_cycles(array, shape),
        utilization: shape.macs() as f64 / (array.rows * array.cols * run.cycles) as f64,
        mismatches,
        first_mismatches,
        build_cache_hit: build.cache_hit,
        build_seconds: build.seconds,
        simulation_seconds,
        repeats: runs.len(),
    })
}
