//! How the generated hardware runs one GEMM, and the cycles the cycle model gives for it.
//!
//! Two scopes, the same two `accelgen run-layer` measures (`accelgen_tb::layer`):
//! - **datapath** (no `buffers:`, or a dataflow the buffered core does not build): the whole GEMM
//!   streams through the PE array in one run, [`predicted_cycles`];
//! - **core** (`buffers:` with a weight- or output-stationary array): the GEMM is cut into the largest
//!   chunks the buffers hold, each a run of the core: DMA loads, compute and stores against the
//!   configured DRAM ([`core_run`], `golden::dma`). The cut is
//!   `blocks::gemm_core::plan_runs`, the one `accelgen_tb::layer::CoreBench` runs, so the model
//!   cycles here equal the ones run-layer reports; a cli test checks that on the RTL.

use crate::blocks::gemm_core::{self, RunPlan};
use crate::config::{AcceleratorSpec, Dataflow};
use crate::golden::cycles::{predicted_cycles, ArrayShape, GemmShape};
use crate::golden::dma::{self, Loads, Outputs, RunCycles};

/// What a report's cycle counts cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The PE array alone; the host feeds it from memory (no global buffer).
    Datapath,
    /// The buffered core: the buffers feed the array, a DMA fills them from DRAM.
    Core,
}

impl Scope {
    pub fn of(spec: &AcceleratorSpec) -> Scope {
        match (&spec.buffers, spec.pe_array.dataflow) {
            (Some(_), Dataflow::WeightStationary | Dataflow::OutputStationary) => Scope::Core,
            _ => Scope::Datapath,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scope::Datapath => "datapath",
            Scope::Core => "core",
        }
    }
}

/// One run of the core: a chunk of the GEMM and whether it finishes its outputs (the last
/// K-chunk) or leaves partial sums in the psum buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub shape: GemmShape,
    pub finish: bool,
    /// What the run loads from DRAM (the rest is still in the buffers).
    pub loads: Loads,
    /// How its results are stored.
    pub outputs: Outputs,
}

/// The array of `spec` as the cycle model takes it.
pub fn array_shape(spec: &AcceleratorSpec) -> ArrayShape {
    ArrayShape {
        rows: spec.pe_array.rows.into(),
        cols: spec.pe_array.cols.into(),
    }
}

/// Most pieces [`core_plan`] cuts a GEMM's rows into for a double-buffered core.
const MAX_ROW_PIECES: usize = 8;

/// How a host runs `gemm` on the core: `gemm_core::plan_runs`'s largest runs on a
/// single-buffered core. A double-buffered core overlaps a run only with its neighbours, so a
/// GEMM that fits in one run gains nothing; its rows are cut into the number of pieces (1 to
/// 8, each a whole number of array rows) for which the cycle model predicts the fewest cycles:
/// more pieces overlap more of the loads and stores, but each run pays the array's fill and
/// drain and the DRAM's latency again. `None` when one K-fold does not fit the weight buffer
/// (CoreBench refuses such a layer too).
pub fn core_plan(
    spec: &AcceleratorSpec,
    gemm: GemmShape,
    outputs: Outputs,
) -> Option<Vec<RunPlan>> {
    let buffers = spec.buffers.as_ref()?;
    let shape = (gemm.m as usize, gemm.k as usize, gemm.n as usize);
    let whole = gemm_core::plan_runs(spec, shape.0, shape.1, shape.2)?;
    if !buffers.ifmap.double_buffered {
        return Some(whole);
    }
    let rows = spec.pe_array.rows as usize;
    let cycles =
        |plans: &[RunPlan]| -> u64 { program(spec, plans, outputs).iter().map(|r| r.busy).sum() };
    let mut best = (cycles(&whole), whole);
    let mut tried = Vec::new();
    for pieces in 2..=MAX_ROW_PIECES {
        let max_rows = shape.0.div_ceil(pieces).div_ceil(rows) * rows;
        if tried.contains(&max_rows) {
            continue;
        }
        tried.push(max_rows);
        let plans = gemm_core::plan_runs_of_rows(spec, shape, max_rows)?;
        let predicted = cycles(&plans);
        if predicted < best.0 {
            best = (predicted, plans);
        }
    }
    Some(best.1)
}

/// The core's runs for `gemm`, in the order CoreBench runs them ([`core_plan`]).
pub fn core_chunks(
    spec: &AcceleratorSpec,
    gemm: GemmShape,
    outputs: Outputs,
) -> Option<Vec<Chunk>> {
    Some(
        core_plan(spec, gemm, outputs)?
            .iter()
            .map(|plan| Chunk::of(plan, outputs))
            .collect(),
    )
}

impl Chunk {
    /// What the model needs of one planned run.
    pub fn of(plan: &RunPlan, outputs: Outputs) -> Chunk {
        Chunk {
            shape: GemmShape {
                m: plan.rows.len() as u64,
                k: plan.depth.len() as u64,
                n: plan.columns.len() as u64,
            },
            finish: plan.finish,
            loads: Loads {
                ifmap: plan.load_ifmap,
                weights: plan.load_weights,
            },
            outputs,
        }
    }
}

/// The model of one core run: DMA loads, compute, stores (`golden::dma`).
pub fn core_run(spec: &AcceleratorSpec, chunk: Chunk) -> RunCycles {
    let param_bits = gemm_core::param_word_bits(spec.pe_array.cols);
    dma::core_run(
        spec,
        chunk.shape,
        chunk.finish,
        chunk.loads,
        chunk.outputs,
        param_bits,
    )
    .expect("a core has buffers")
}

/// The model of every descriptor a host gives the core for `gemm`, in order: one per planned run
/// on a single-buffered core; on a double-buffered one the pipelined program
/// (`gemm_core::pipeline`), whose runs overlap the next run's loads and the previous run's
/// store with their compute, and a closing drain. `None` when one K-fold does not fit.
pub fn core_program(
    spec: &AcceleratorSpec,
    gemm: GemmShape,
    outputs: Outputs,
) -> Option<Vec<RunCycles>> {
    Some(program(spec, &core_plan(spec, gemm, outputs)?, outputs))
}

/// The model of every descriptor that runs `plans` (see [`core_program`]).
fn program(spec: &AcceleratorSpec, plans: &[RunPlan], outputs: Outputs) -> Vec<RunCycles> {
    let buffers = spec.buffers.as_ref().expect("a core has buffers");
    let chunks: Vec<Chunk> = plans.iter().map(|plan| Chunk::of(plan, outputs)).collect();
    if !buffers.ifmap.double_buffered {
        return chunks.iter().map(|chunk| core_run(spec, *chunk)).collect();
    }
    let param_bits = gemm_core::param_word_bits(spec.pe_array.cols);
    let shapes: Vec<dma::RunShape> = chunks
        .iter()
        .map(|c| {
            dma::run_shape(spec, c.shape, c.finish, c.loads, outputs).expect("a core has buffers")
        })
        .collect();
    let loads = |run: &dma::RunShape| [run.ifmap_words, run.weight_words, run.param_words];
    gemm_core::pipeline(&plans.iter().map(RunPlan::flags).collect::<Vec<_>>())
        .iter()
        .map(|stage| {
            let run = dma::OverlappedRun {
                loads: match stage.run {
                    Some(i) if stage.loads_own => loads(&shapes[i]),
                    _ => [0; 3],
                },
                compute: stage.run.map(|i| shapes[i].compute),
                prefetch: stage.prefetch.map_or([0; 3], |i| loads(&shapes[i])),
                drain: stage.drain.map_or(0, |i| shapes[i].ofmap_words),
                drain_word_bits: dma::ofmap_word_bits(spec, outputs).expect("a core"),
            };
            dma::overlapped_run_cycles(buffers, param_bits, run)
        })
        .collect()
}

/// The cycle model's count for `gemm` on `spec`'s hardware at `scope`; `None` if the core cannot
/// hold one K-fold.
pub fn model_cycles(
    spec: &AcceleratorSpec,
    scope: Scope,
    gemm: GemmShape,
    outputs: Outputs,
) -> Option<u64> {
    let array = array_shape(spec);
    match (scope, &spec.buffers) {
        (Scope::Core, Some(_)) => Some(
            core_program(spec, gemm, outputs)?
                .iter()
                .map(|run| run.busy)
                .sum(),
        ),
        _ => predicted_cycles(spec.pe_array.dataflow, array, gemm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    /// tiny_core's geometry: 2×2, ifmap 128 words, weight 64 words, psum 32 words.
    fn tiny_core() -> AcceleratorSpec {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/tiny_core.yaml"
        ))
        .unwrap();
        load_str(&text, "tiny_core.yaml").unwrap()
    }

    #[test]
    fn the_model_stores_packed_results_in_lanes_as_wide_as_the_cores() {
        assert_eq!(dma::PACKED_LANE_BITS, gemm_core::PACKED_BITS);
    }

    #[test]
    fn the_model_waits_for_as_many_post_process_stages_as_the_unit_has() {
        assert_eq!(
            crate::golden::cycles::POST_PROCESS_LATENCY,
            u64::from(crate::blocks::post_process::LATENCY)
        );
    }

    #[test]
    fn a_gemm_that_fits_is_one_chunk_per_row_block_and_n_block() {
        let spec = tiny_core();
        // K = 8: 4 K-folds, one run holds them all; rows: min(32, 128/4) = 32 per chunk;
        // N-chunk: weight 64 words / (4 folds · 2 rows) = 8 folds, param depth 32, but the
        // ofmap's 128 words hold 4 N-folds of 32 rows: 4 folds of 2 columns = 8 columns.
        let chunks = core_chunks(&spec, GemmShape { m: 40, k: 8, n: 20 }, Outputs::Bytes).unwrap();
        let shapes: Vec<(u64, u64, u64, bool)> = chunks
            .iter()
            .map(|c| (c.shape.m, c.shape.k, c.shape.n, c.finish))
            .collect();
        assert_eq!(
            shapes,
            vec![
                (32, 8, 8, true),
                (32, 8, 8, true),
                (32, 8, 4, true),
                (8, 8, 8, true),
                (8, 8, 8, true),
                (8, 8, 4, true)
            ]
        );
    }

    #[test]
    fn a_long_reduction_is_split_into_accumulating_runs() {
        let spec = tiny_core();
        // K = 100: 50 folds; a run holds min(50, 128, 64/2) = 32 folds, so two K-chunks of 64
        // and 36; rows min(32, 128/32 = 4) = 4; one N-fold of 2 columns per run.
        let chunks = core_chunks(&spec, GemmShape { m: 4, k: 100, n: 2 }, Outputs::Bytes).unwrap();
        let shapes: Vec<(u64, u64, u64, bool)> = chunks
            .iter()
            .map(|c| (c.shape.m, c.shape.k, c.shape.n, c.finish))
            .collect();
        assert_eq!(shapes, vec![(4, 64, 2, false), (4, 36, 2, true)]);
        let runs: u64 = chunks
            .iter()
            .map(|&chunk| core_run(&spec, chunk).busy)
            .sum();
        assert_eq!(
            model_cycles(
                &spec,
                Scope::Core,
                GemmShape { m: 4, k: 100, n: 2 },
                Outputs::Bytes
            ),
            Some(runs)
        );
        // Each run is at least its array's count plus loading its operands.
        let array = ArrayShape { rows: 2, cols: 2 };
        let compute = crate::golden::cycles::gemm_core_cycles(
            Dataflow::WeightStationary,
            array,
            chunks[0].shape,
            false,
        );
        assert!(core_run(&spec, chunks[0]).busy > compute + 64 / 2 * 4);
    }

    #[test]
    fn without_buffers_the_whole_gemm_is_one_array_run() {
        let mut spec = tiny_core();
        spec.buffers = None;
        assert_eq!(Scope::of(&spec), Scope::Datapath);
        let gemm = GemmShape { m: 9, k: 5, n: 3 };
        assert_eq!(
            model_cycles(&spec, Scope::Datapath, gemm, Outputs::Bytes),
            predicted_cycles(
                Dataflow::WeightStationary,
                ArrayShape { rows: 2, cols: 2 },
                gemm
            )
        );
    }
}
