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
//!
//! A convolution the weight-stationary core can run in window mode (`gemm_core::window`: the
//! feeder walks an input tile instead of the im2col matrix) runs that way, as one program of
//! [`window_plan`]'s runs; everything else as one program per GEMM ([`core_plan`]).
//! [`layer_plans`] makes that choice for the report, and the testbench makes it with the same
//! [`window_plan`].

use super::workload::LayerShape;
use crate::blocks::gemm_core::{self, ConvLayer, RunPlan};
use crate::config::{AcceleratorSpec, Dataflow};
use crate::golden::cycles::{array_cycles, core_compute_cycles, ArrayShape, GemmShape};
use crate::golden::dma::{self, Loads, RunCycles, RunSettings};
use crate::golden::zero_skip::{SkippingRun, Streamed, ZeroMap};

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
    /// How its results are stored, and the precision of its activations.
    pub settings: RunSettings,
    /// Window mode: the words of the input tile the run loads instead of A's K-folds·M
    /// (`gemm_core::Window::words`); `None` for a GEMM run.
    pub ifmap_words: Option<u64>,
    /// A zero-skipping core's run: its compacted ifmap (activation skipping) or weights
    /// (weight skipping) and array count (`golden::zero_skip`); without the operand's zeros no
    /// step is taken to be skippable. `None` on other cores.
    pub skipping: Option<SkippingRun>,
    /// A zero-gating core's run: the MACs its array gates (`ZeroMap::gated_macs`); `None`
    /// on other cores and without the operands.
    pub gated_macs: Option<u64>,
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
    settings: RunSettings,
    zeros: Option<&ZeroMap>,
) -> Option<Vec<RunPlan>> {
    let shape = (gemm.m as usize, gemm.k as usize, gemm.n as usize);
    let whole = gemm_core::plan_runs(spec, shape.0, shape.1, shape.2)?;
    let rows = spec.pe_array.rows as usize;
    let limits = (2..=MAX_ROW_PIECES).map(|pieces| shape.0.div_ceil(pieces).div_ceil(rows) * rows);
    quickest(spec, settings, zeros, whole, limits, |max_rows| {
        gemm_core::plan_runs_of_rows(spec, shape, max_rows)
    })
}

/// How a host runs convolution `layer`: in window mode, [`window_cut`]'s runs, when the cycle
/// model predicts they take fewer cycles than the im2col GEMMs' programs ([`im2col_gemms`],
/// [`core_plan`]); `None` when the core has no window mode for the layer or window mode is not
/// quicker (a layer with few input channels pads every tap to a whole channel block of R lanes,
/// a strided 1×1 layer loads input rows it skips), and the layer then runs as its GEMMs. This is
/// the one rule: the report ([`layer_plans`]) and the testbench both call it.
pub fn window_plan(
    spec: &AcceleratorSpec,
    layer: &ConvLayer,
    settings: RunSettings,
) -> Option<Vec<RunPlan>> {
    let plans = window_cut(spec, layer, settings)?;
    let window = busy(&program(spec, &plans, settings, None));
    let gemms: Option<u64> = im2col_gemms(layer, spec.pe_array.cols as usize)
        .into_iter()
        .map(|gemm| Some(busy(&core_program(spec, gemm, settings, None)?)))
        .sum();
    match gemms {
        Some(gemms) if gemms <= window => None,
        _ => Some(plans),
    }
}

/// How a host runs convolution `layer` in window mode, quicker or not than its GEMMs:
/// `gemm_core::plan_window_runs`'s largest runs on a single-buffered core; on a double-buffered
/// one the runs of however many output rows and N-folds the cycle model predicts the fewest
/// cycles for, as [`core_plan`] does with its row pieces. `None` when the core has no window mode
/// (not weight-stationary, or a depthwise layer on a non-square array) or one output row with
/// one N-fold does not fit its buffers.
pub fn window_cut(
    spec: &AcceleratorSpec,
    layer: &ConvLayer,
    settings: RunSettings,
) -> Option<Vec<RunPlan>> {
    let whole = gemm_core::plan::plan_window_runs(spec, layer, usize::MAX)?;
    let out_height = layer.output[0];
    let folds = layer.channels.div_ceil(spec.pe_array.cols as usize);
    // Every row count and N-fold count a run may take: a layer has a few dozen output rows and
    // a handful of N-folds, and the model prices a plan in microseconds.
    let limits = (1..=out_height)
        .rev()
        .flat_map(|rows| (1..=folds).rev().map(move |folds| (rows, folds)));
    quickest(spec, settings, None, whole, limits, |limits| {
        gemm_core::plan_window_runs_of(spec, layer, limits)
    })
}

/// The GEMMs a host runs convolution `layer` as without window mode
/// (`golden::lowering::lower_grouped`): its im2col GEMM, or for a depthwise layer one
/// block-diagonal GEMM per `group` channels (run-layer groups them by the array's columns).
pub fn im2col_gemms(layer: &ConvLayer, group: usize) -> Vec<GemmShape> {
    let taps = layer.kernel[0] * layer.kernel[1];
    let gemm = |k: usize, n: usize| GemmShape {
        m: layer.pixels() as u64,
        k: k as u64,
        n: n as u64,
    };
    if !layer.depthwise {
        return vec![gemm(taps * layer.input[2], layer.channels)];
    }
    let group = group.max(1);
    (0..layer.channels)
        .step_by(group)
        .map(|first| {
            let members = group.min(layer.channels - first);
            gemm(taps * members, members)
        })
        .collect()
}

/// The cycles of a program: the sum of its descriptors' busy cycles.
fn busy(program: &[RunCycles]) -> u64 {
    program.iter().map(|run| run.busy).sum()
}

/// `whole` on a single-buffered core; on a double-buffered one, whichever of `whole` and
/// `cut(limit)` for each distinct limit of `limits` the cycle model runs in the fewest cycles,
/// then with the fewest DRAM bytes (the first on a tie); a limit `cut` refuses is skipped.
fn quickest<Limit: PartialEq + Copy>(
    spec: &AcceleratorSpec,
    settings: RunSettings,
    zeros: Option<&ZeroMap>,
    whole: Vec<RunPlan>,
    limits: impl Iterator<Item = Limit>,
    cut: impl Fn(Limit) -> Option<Vec<RunPlan>>,
) -> Option<Vec<RunPlan>> {
    let buffers = spec.buffers.as_ref()?;
    if !buffers.ifmap.double_buffered {
        return Some(whole);
    }
    // Fewest cycles first; between plans as quick, the one that moves fewer DRAM bytes.
    let cost = |plans: &[RunPlan]| {
        let runs = program(spec, plans, settings, zeros);
        let bytes: u64 = runs.iter().map(|r| r.read_bytes + r.write_bytes).sum();
        (busy(&runs), bytes)
    };
    let mut best = (cost(&whole), whole);
    let mut tried = Vec::new();
    for limit in limits {
        if tried.contains(&limit) {
            continue;
        }
        tried.push(limit);
        let Some(plans) = cut(limit) else { continue };
        let predicted = cost(&plans);
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
    settings: RunSettings,
    zeros: Option<&ZeroMap>,
) -> Option<Vec<Chunk>> {
    Some(
        core_plan(spec, gemm, settings, zeros)?
            .iter()
            .map(|plan| Chunk::of(spec, plan, settings, zeros))
            .collect(),
    )
}

impl Chunk {
    /// What the model needs of one planned run; `zeros` maps the GEMM's activations and
    /// weights (a zero-skipping or -gating core's run depends on them).
    pub fn of(
        spec: &AcceleratorSpec,
        plan: &RunPlan,
        settings: RunSettings,
        zeros: Option<&ZeroMap>,
    ) -> Chunk {
        let (rows, cols) = (spec.pe_array.rows as usize, spec.pe_array.cols as usize);
        let row_blocks = plan.rows.len().div_ceil(rows);
        let n_folds = plan.columns.len().div_ceil(cols);
        let depth = plan.depth.len() as u64;
        // A weight-skipping core streams each N-fold's kept steps; without the weights, every
        // step (the dense count, in the skipping core's word widths).
        let kept_steps = (spec.zero_skip.weights && plan.window.is_none()).then(|| {
            zeros
                .and_then(|zeros| zeros.kept_steps(plan.depth.clone(), plan.columns.clone(), cols))
                .unwrap_or_else(|| vec![(0..plan.depth.len()).collect(); n_folds])
        });
        // An activation-skipping core's run streams each block's kept columns; without the
        // activations, every column (the dense count, in the skipping core's word widths).
        // A Pragmatic core's brick takes its busiest lane's one-bits; without the activations,
        // as many as a magnitude can have.
        let kept_columns =
            (spec.zero_skip.activations && plan.window.is_none()).then(|| match zeros {
                Some(zeros) => zeros.kept_columns(plan.rows.clone(), plan.depth.clone(), rows),
                None => vec![(0..plan.depth.len()).collect(); row_blocks],
            });
        let array = array_shape(spec);
        let skipping = match (&kept_steps, &kept_columns) {
            (Some(kept), _) => Some(SkippingRun::of_weights(
                array,
                kept,
                row_blocks as u64,
                depth,
            )),
            (None, Some(_)) if spec.pe.kind.is_pragmatic() => {
                let terms = match zeros {
                    Some(zeros) => zeros.kept_terms(plan.rows.clone(), plan.depth.clone(), rows),
                    None => vec![vec![u64::from(spec.pe.act.bits); depth as usize]; row_blocks],
                };
                Some(SkippingRun::pragmatic(array, &terms, n_folds as u64, depth))
            }
            (None, Some(kept)) => Some(SkippingRun::of(array, kept, n_folds as u64, depth)),
            (None, None) => None,
        };
        // A gating core gates on the zeros of the pairs it streams: every step of each tile, or
        // the kept ones of its row block (activation skipping) or of its N-fold (weight
        // skipping).
        let gated_macs = zeros.filter(|_| spec.zero_skip.gating).and_then(|zeros| {
            let streamed = match (&kept_columns, &kept_steps) {
                (Some(kept), _) => Streamed::PerBlock(kept),
                (None, Some(kept)) => Streamed::PerFold(kept),
                (None, None) => Streamed::All,
            };
            let run = (plan.rows.clone(), plan.depth.clone(), plan.columns.clone());
            zeros.gated_macs(run, array, streamed)
        });
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
            settings,
            ifmap_words: plan.window.as_ref().map(|window| window.words() as u64),
            skipping,
            gated_macs,
        }
    }

    /// What the run moves and computes (`golden::dma::run_shape`): the GEMM's, except that a
    /// window-mode run loads its tile's words into the ifmap buffer (the compute is the same:
    /// the feeder offers a beat every cycle whether it reads the tile or the padding), and a
    /// skipping core's run loads its compacted words and takes its array's count.
    pub fn run_shape(&self, spec: &AcceleratorSpec) -> dma::RunShape {
        let mut run = dma::run_shape(spec, self.shape, self.finish, self.loads, self.settings)
            .expect("a core has buffers");
        if let (true, Some(words)) = (self.loads.ifmap, self.ifmap_words) {
            run.ifmap_words = words;
        }
        if let Some(skipping) = self.skipping {
            let loaded = |load: bool, words: u64| if load { words } else { 0 };
            run.ifmap_words = loaded(self.loads.ifmap, skipping.ifmap_words);
            run.weight_words = loaded(self.loads.weights, skipping.weight_words);
            run.compute = core_compute_cycles(skipping.array_cycles, self.finish);
        }
        run
    }
}

/// The model of one core run: DMA loads, compute, stores (`golden::dma`).
pub fn core_run(spec: &AcceleratorSpec, chunk: Chunk) -> RunCycles {
    let buffers = spec.buffers.as_ref().expect("a core has buffers");
    let param_bits = gemm_core::param_word_bits(spec.pe_array.cols);
    dma::run_cycles(buffers, param_bits, chunk.run_shape(spec))
}

/// The model of every descriptor a host gives the core for `gemm`, in order: one per planned run
/// on a single-buffered core; on a double-buffered one the pipelined program
/// (`gemm_core::pipeline`), whose runs overlap the next run's loads and the previous run's
/// store with their compute, and a closing drain. `None` when one K-fold does not fit.
pub fn core_program(
    spec: &AcceleratorSpec,
    gemm: GemmShape,
    settings: RunSettings,
    zeros: Option<&ZeroMap>,
) -> Option<Vec<RunCycles>> {
    let plans = core_plan(spec, gemm, settings, zeros)?;
    Some(program(spec, &plans, settings, zeros))
}

/// The model of every descriptor a host gives the core to run convolution `layer` in window mode
/// ([`window_plan`]), as [`core_program`] for a GEMM; `None` when it has no window mode.
pub fn window_program(
    spec: &AcceleratorSpec,
    layer: &ConvLayer,
    settings: RunSettings,
) -> Option<Vec<RunCycles>> {
    Some(program(
        spec,
        &window_plan(spec, layer, settings)?,
        settings,
        None,
    ))
}

/// How the core runs `shape`'s layer: the plan of each program the host sends it. One
/// window-mode program when the layer is a convolution with a [`window_plan`], else one per
/// GEMM ([`core_plan`]); `None` when a GEMM's K-fold does not fit the weight buffer.
pub fn layer_plans<'a>(spec: &AcceleratorSpec, shape: &'a LayerShape) -> Option<Vec<Program<'a>>> {
    let window = shape
        .conv
        .as_ref()
        .and_then(|conv| window_plan(spec, conv, shape.settings));
    match window {
        Some(plans) => Some(vec![Program { plans, zeros: None }]),
        None => shape
            .gemms
            .iter()
            .enumerate()
            .map(|(index, &gemm)| {
                let zeros = shape.zeros.get(index);
                let plans = core_plan(spec, gemm, shape.settings, zeros)?;
                Some(Program { plans, zeros })
            })
            .collect(),
    }
}

/// The runs of one program, and the map of its GEMM's activations when known.
#[derive(Debug, Clone)]
pub struct Program<'a> {
    pub plans: Vec<RunPlan>,
    pub zeros: Option<&'a ZeroMap>,
}

impl Program<'_> {
    /// What the model needs of each run ([`Chunk::of`]).
    pub fn chunks(&self, spec: &AcceleratorSpec, settings: RunSettings) -> Vec<Chunk> {
        self.plans
            .iter()
            .map(|plan| Chunk::of(spec, plan, settings, self.zeros))
            .collect()
    }
}

/// The model of every descriptor the core runs for `shape`'s layer ([`layer_plans`]), in order.
pub fn layer_program(spec: &AcceleratorSpec, shape: &LayerShape) -> Option<Vec<RunCycles>> {
    let plans = layer_plans(spec, shape)?;
    Some(
        plans
            .iter()
            .flat_map(|p| program(spec, &p.plans, shape.settings, p.zeros))
            .collect(),
    )
}

/// The cycle model's count for `shape`'s layer at `scope`: its core program ([`layer_program`]),
/// or its GEMMs' array runs at datapath scope; `None` if the core cannot hold one K-fold.
pub fn layer_model_cycles(spec: &AcceleratorSpec, scope: Scope, shape: &LayerShape) -> Option<u64> {
    match (scope, &spec.buffers) {
        (Scope::Core, Some(_)) => Some(layer_program(spec, shape)?.iter().map(|r| r.busy).sum()),
        _ => shape
            .gemms
            .iter()
            .map(|&gemm| model_cycles(spec, scope, gemm, shape.settings))
            .sum(),
    }
}

/// The model of every descriptor that runs `plans` (see [`core_program`]).
pub fn program(
    spec: &AcceleratorSpec,
    plans: &[RunPlan],
    settings: RunSettings,
    zeros: Option<&ZeroMap>,
) -> Vec<RunCycles> {
    let buffers = spec.buffers.as_ref().expect("a core has buffers");
    let chunks: Vec<Chunk> = plans
        .iter()
        .map(|plan| Chunk::of(spec, plan, settings, zeros))
        .collect();
    if !buffers.ifmap.double_buffered {
        return chunks.iter().map(|chunk| core_run(spec, *chunk)).collect();
    }
    let param_bits = gemm_core::param_word_bits(spec.pe_array.cols);
    let shapes: Vec<dma::RunShape> = chunks.iter().map(|c| c.run_shape(spec)).collect();
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
                drain_word_bits: dma::ofmap_word_bits(spec, settings.outputs).expect("a core"),
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
    settings: RunSettings,
) -> Option<u64> {
    let array = array_shape(spec);
    match (scope, &spec.buffers) {
        (Scope::Core, Some(_)) => Some(
            core_program(spec, gemm, settings, None)?
                .iter()
                .map(|run| run.busy)
                .sum(),
        ),
        _ => array_cycles(
            spec.pe_array.dataflow,
            array,
            gemm,
            settings.serial_bits(spec).map(u64::from),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::golden::cycles::predicted_cycles;
    use crate::golden::dma::Outputs;

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
        let chunks = core_chunks(
            &spec,
            GemmShape { m: 40, k: 8, n: 20 },
            RunSettings::storing(Outputs::Bytes),
            None,
        )
        .unwrap();
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
        let chunks = core_chunks(
            &spec,
            GemmShape { m: 4, k: 100, n: 2 },
            RunSettings::storing(Outputs::Bytes),
            None,
        )
        .unwrap();
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
                RunSettings::storing(Outputs::Bytes)
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
            None,
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
            model_cycles(
                &spec,
                Scope::Datapath,
                gemm,
                RunSettings::storing(Outputs::Bytes)
            ),
            predicted_cycles(
                Dataflow::WeightStationary,
                ArrayShape { rows: 2, cols: 2 },
                gemm
            )
        );
    }

    /// tiny_core with its ifmap, weight and ofmap regions double-buffered.
    fn double_buffered_tiny_core() -> AcceleratorSpec {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/tiny_core.yaml"
        ))
        .unwrap();
        let mut text = text.clone();
        for region in [
            "ifmap: {capacity: 128 words",
            "weight: {capacity: 64 words",
            "ofmap: {capacity: 128 words",
        ] {
            text = text.replace(region, &format!("{region}, double_buffered: true"));
        }
        load_str(&text, "tiny_core_double.yaml").unwrap()
    }

    /// A 3×3 'same' convolution of a `height`×`width`×`channels` input into `filters` channels.
    fn conv3x3(height: usize, width: usize, channels: usize, filters: usize) -> ConvLayer {
        ConvLayer {
            input: [height, width, channels],
            output: [height, width],
            channels: filters,
            kernel: [3, 3],
            stride: [1, 1],
            dilation: [1, 1],
            pad: [1, 1],
            depthwise: false,
        }
    }

    /// The im2col GEMM of `layer` (channels padded to whole blocks of `rows`, as window mode
    /// pads them, so the two compute the same K).
    fn im2col(layer: &ConvLayer, rows: usize) -> GemmShape {
        GemmShape {
            m: layer.pixels() as u64,
            k: layer.depth(rows) as u64,
            n: layer.channels as u64,
        }
    }

    fn shape_of(layer: Option<ConvLayer>, gemm: GemmShape) -> LayerShape {
        LayerShape {
            name: "conv".into(),
            op: "conv2d".into(),
            gemms: vec![gemm],
            macs: gemm.macs(),
            settings: RunSettings::storing(Outputs::Bytes),
            conv: layer,
            zeros: Vec::new(),
        }
    }

    fn bytes(program: &[RunCycles]) -> (u64, u64) {
        let read = program.iter().map(|r| r.read_bytes).sum();
        (read, program.iter().map(|r| r.write_bytes).sum())
    }

    #[test]
    fn a_window_program_loads_each_input_pixel_once_instead_of_once_per_tap() {
        for spec in [tiny_core(), double_buffered_tiny_core()] {
            let layer = conv3x3(6, 5, 2, 2);
            let window =
                window_program(&spec, &layer, RunSettings::storing(Outputs::Bytes)).unwrap();
            let gemm = core_program(
                &spec,
                im2col(&layer, 2),
                RunSettings::storing(Outputs::Bytes),
                None,
            )
            .unwrap();
            let ((window_read, window_written), (gemm_read, gemm_written)) =
                (bytes(&window), bytes(&gemm));
            assert!(3 * window_read < gemm_read, "{window_read} vs {gemm_read}");
            assert_eq!(window_written, gemm_written);
            assert!(busy(&window) < busy(&gemm));
        }
    }

    #[test]
    fn a_single_buffered_window_run_is_its_gemm_run_with_the_tile_for_a() {
        let spec = tiny_core();
        // 6×5×2 'same' 3×3 into 2 channels: one run of M = 30, K = 18, N = 2; the tile is the
        // input's 30 words where the im2col A has 9 folds · 30 rows.
        let layer = conv3x3(6, 5, 2, 2);
        let plans = window_plan(&spec, &layer, RunSettings::storing(Outputs::Bytes)).unwrap();
        assert_eq!(plans.len(), 1);
        let chunk = Chunk::of(&spec, &plans[0], RunSettings::storing(Outputs::Bytes), None);
        assert_eq!(
            (chunk.shape, chunk.ifmap_words),
            (im2col(&layer, 2), Some(30))
        );
        let gemm = Chunk {
            ifmap_words: None,
            ..chunk
        };
        let (window, gemm) = (core_run(&spec, chunk), core_run(&spec, gemm));
        assert_eq!(window.compute, gemm.compute);
        // 64-bit beats of one 16-bit word each: 30 tile words against 270 of A.
        assert_eq!(gemm.read_bytes - window.read_bytes, (270 - 30) * 8);
        assert_eq!(
            window_program(&spec, &layer, RunSettings::storing(Outputs::Bytes)),
            Some(vec![window])
        );
    }

    #[test]
    fn a_double_buffered_window_plan_is_the_quickest_cut_of_its_rows() {
        let spec = double_buffered_tiny_core();
        // Halves: ifmap 64, weight 32, ofmap 64 words; 9 K-folds of 1 block (18 weight words).
        let layer = conv3x3(8, 4, 2, 2);
        let plans = window_cut(&spec, &layer, RunSettings::storing(Outputs::Bytes)).unwrap();
        let buffers = spec.buffers.as_ref().unwrap();
        for plan in &plans {
            assert!(plan.window.as_ref().unwrap().words() as u64 <= buffers.ifmap.run_depth());
        }
        let program = program_of(&spec, &plans);
        assert_eq!(
            program.len(),
            plans.len() + 1,
            "the runs and a closing drain"
        );
        // Every row count (one N-fold is all the weight half holds).
        for max_out_rows in 1..=8 {
            let cut = gemm_core::plan::plan_window_runs(&spec, &layer, max_out_rows).unwrap();
            assert!(
                busy(&program) <= busy(&program_of(&spec, &cut)),
                "{max_out_rows}"
            );
        }
        assert_eq!(
            window_plan(&spec, &layer, RunSettings::storing(Outputs::Bytes)),
            Some(plans)
        );
    }

    #[test]
    fn window_mode_is_chosen_only_when_it_is_quicker_than_the_im2col_gemms() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/edge_tpu.yaml"
        ))
        .unwrap();
        let spec = load_str(&text, "edge_tpu.yaml").unwrap();
        // One input channel on 16 rows: each of the 40 taps is a K-fold of one live lane,
        // where the im2col GEMM packs the 40 products into 3 K-folds.
        let thin = ConvLayer {
            input: [49, 10, 1],
            output: [25, 5],
            channels: 64,
            kernel: [10, 4],
            stride: [2, 2],
            dilation: [1, 1],
            pad: [4, 1],
            depthwise: false,
        };
        assert!(window_cut(&spec, &thin, RunSettings::storing(Outputs::Bytes)).is_some());
        assert_eq!(
            window_plan(&spec, &thin, RunSettings::storing(Outputs::Bytes)),
            None
        );
        // 16 channels fill the K-folds, and the tile is a ninth of the im2col A.
        let full = conv3x3(32, 32, 16, 16);
        let window = window_program(&spec, &full, RunSettings::storing(Outputs::Bytes)).unwrap();
        let gemm = core_program(
            &spec,
            im2col_gemms(&full, 16)[0],
            RunSettings::storing(Outputs::Bytes),
            None,
        )
        .unwrap();
        assert!(busy(&window) < busy(&gemm));
    }

    #[test]
    fn im2col_gemms_are_the_gemms_bundles_lower_to() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/tflm");
        for model in ["kws_dscnn", "resnet8"] {
            for entry in std::fs::read_dir(root.join(model)).unwrap() {
                let directory = entry.unwrap().path();
                for group in [2, 16] {
                    let shape = super::super::workload::from_bundle(&directory, group).unwrap();
                    if let Some(conv) = shape.conv {
                        assert_eq!(im2col_gemms(&conv, group), shape.gemms, "{}", shape.name);
                    }
                }
            }
        }
    }

    fn program_of(spec: &AcceleratorSpec, plans: &[RunPlan]) -> Vec<RunCycles> {
        program(spec, plans, RunSettings::storing(Outputs::Bytes), None)
    }

    #[test]
    fn a_layer_runs_in_window_mode_when_it_can_and_as_its_gemms_otherwise() {
        let spec = tiny_core();
        let layer = conv3x3(6, 5, 2, 2);
        let gemm = im2col(&layer, 2);
        let window = shape_of(Some(layer), gemm);
        let plans = layer_plans(&spec, &window).unwrap();
        assert!(plans.len() == 1 && plans[0].plans.iter().all(|p| p.window.is_some()));
        let cycles = layer_model_cycles(&spec, Scope::Core, &window);
        assert_eq!(
            cycles,
            Some(busy(
                &window_program(&spec, &layer, RunSettings::storing(Outputs::Bytes)).unwrap()
            ))
        );
        // Without the geometry, or with rows wider than the psum buffer, the im2col GEMM runs.
        let wide = conv3x3(2, 40, 2, 2);
        for shape in [shape_of(None, gemm), shape_of(Some(wide), im2col(&wide, 2))] {
            let plans = layer_plans(&spec, &shape).unwrap();
            assert!(plans
                .iter()
                .flat_map(|p| &p.plans)
                .all(|p| p.window.is_none()));
            assert_eq!(
                layer_model_cycles(&spec, Scope::Core, &shape),
                model_cycles(
                    &spec,
                    Scope::Core,
                    shape.gemms[0],
                    RunSettings::storing(Outputs::Bytes)
                )
            );
        }
        // The datapath has no window mode.
        let mut bare = spec.clone();
        bare.buffers = None;
        assert_eq!(
            layer_model_cycles(&bare, Scope::Datapath, &window),
            model_cycles(
                &bare,
                Scope::Datapath,
                gemm,
                RunSettings::storing(Outputs::Bytes)
            )
        );
    }

    /// cnvlutin_like (8×8 output-stationary, gating) turned into a weight-skipping core, and
    /// its dense twin.
    fn weight_skipping_and_dense_cores() -> (AcceleratorSpec, AcceleratorSpec) {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/cnvlutin_like.yaml"
        ))
        .unwrap();
        let spec = load_str(&text, "cnvlutin_like.yaml")
            .unwrap()
            .with_activation_skipping(false, "dense");
        let skipping = spec.with_weight_skipping(true, "weight_skipping");
        (skipping, spec)
    }

    /// A 16×10×16 GEMM whose first N-fold (columns 0..8) has weights only at steps 3 and 7
    /// and whose second has them at every step; no activation is zero.
    fn zero_bricked_gemm() -> ZeroMap {
        let a = ndarray::Array2::<i64>::ones((16, 10));
        let b = ndarray::Array2::from_shape_fn((10, 16), |(k, n)| {
            i64::from(n >= 8 || k == 3 || k == 7)
        });
        ZeroMap::of(&a, 0).with_weights(&b)
    }

    #[test]
    fn a_weight_skipping_run_streams_each_n_folds_kept_steps_for_every_row_block() {
        let (spec, dense) = weight_skipping_and_dense_cores();
        assert!(spec.zero_skip.weights && spec.zero_skip.gating && !spec.zero_skip.activations);
        let zeros = zero_bricked_gemm();
        let settings = RunSettings::storing(Outputs::Bytes);
        let plans = gemm_core::plan_runs(&spec, 16, 10, 16).unwrap();
        assert_eq!(plans.len(), 1, "the GEMM fits one run");
        let chunk = Chunk::of(&spec, &plans[0], settings, Some(&zeros));
        // Fold 0 keeps steps 0 (always), 3 and 7; fold 1 all 10. Tiles fold-major over the
        // two row blocks: 3, 3, 10, 10. Last pairs at 3, 3+8 (the drain), 21, 31; the last row
        // leaves 2·8 + 8 − 2 edges later. Dense: 4 tiles of 10, 40 + 22.
        assert_eq!(
            chunk.skipping,
            Some(SkippingRun {
                ifmap_words: 2 * 10,
                weight_words: 3 + 10,
                pairs: 2 * (3 + 10),
                array_cycles: 31 + 22,
                terms: 0,
            })
        );
        let run = chunk.run_shape(&spec);
        assert_eq!((run.ifmap_words, run.weight_words), (20, 13));
        assert_eq!(run.compute, core_compute_cycles(53, true));
        let dense_chunk = Chunk::of(&dense, &plans[0], settings, Some(&zeros));
        assert_eq!(dense_chunk.skipping, None);
        let dense_run = dense_chunk.run_shape(&dense);
        assert_eq!(dense_run.compute, core_compute_cycles(40 + 22, true));
        assert_eq!(dense_run.compute - run.compute, 62 - 53);
        assert_eq!(dense_run.weight_words, 20);
        // The 7 dropped steps of fold 0 are pairs of 8 zero weights over both row blocks: the
        // dense gating core gates all 64 MACs of each; the skipping core never streams them.
        let gated = |chunk: &Chunk| chunk.gated_macs.unwrap();
        assert_eq!(gated(&dense_chunk) - gated(&chunk), 7 * 2 * 64);
        // Without the weights' zeros, every step: the dense count in the skipping core's words.
        let blind = Chunk::of(&spec, &plans[0], settings, None);
        let blind_run = blind.run_shape(&spec);
        assert_eq!(blind_run.weight_words, 20);
        assert_eq!(blind_run.compute, dense_run.compute);
        assert_eq!(blind.gated_macs, None);
        let activations_only = ZeroMap::of(&ndarray::Array2::<i64>::ones((16, 10)), 0);
        let unweighted = Chunk::of(&spec, &plans[0], settings, Some(&activations_only));
        assert_eq!(unweighted.skipping, blind.skipping);
    }

    #[test]
    fn a_weight_skipping_program_takes_fewer_cycles_and_loads_fewer_weights() {
        let (spec, dense) = weight_skipping_and_dense_cores();
        let zeros = zero_bricked_gemm();
        let gemm = GemmShape {
            m: 16,
            k: 10,
            n: 16,
        };
        let settings = RunSettings::storing(Outputs::Bytes);
        let program = |spec: &AcceleratorSpec| core_program(spec, gemm, settings, Some(&zeros));
        let (skipping, dense) = (program(&spec).unwrap(), program(&dense).unwrap());
        assert!(busy(&skipping) < busy(&dense));
        let read = |runs: &[RunCycles]| runs.iter().map(|r| r.read_bytes).sum::<u64>();
        assert!(read(&skipping) < read(&dense));
    }
}
