//! How a GEMM maps onto the core's buffers: the words each operand takes for a dataflow
//! ([`Layout`]) and how a host cuts a GEMM too large for the buffers into runs ([`plan_runs`]),
//! or a convolution into window-mode runs ([`plan_window_runs`]). The host (`accelgen_tb::core`) and the report's schedule both use this one plan, so the cycle
//! model and the RTL always run the same chunks.

use crate::config::{AcceleratorSpec, Dataflow};

use super::param_depth;
use super::window::{ConvLayer, Window};

/// The buffer footprint of a dataflow's word order (see the layouts atop `gemm_core`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Reduction elements per step: a K-fold of R on WS, one pair on OS.
    pub step: usize,
    /// Rows of A that share one ifmap word per step: 1 on WS (a word is a row's K-fold), R on
    /// OS (a word is one column of an R-row block).
    pub rows_per_word: usize,
    /// Weight words per step and N-fold: R on WS (the tile's weight rows), 1 on OS.
    pub weight_words_per_step: usize,
    /// Array columns: outputs per ofmap word.
    pub cols: usize,
}

/// Buffer words of one run of M×K×N, and the descriptor's step count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    /// The descriptor's `k_folds`: ceil(K/R) on WS, K on OS.
    pub steps: usize,
    pub n_folds: usize,
    pub ifmap: usize,
    pub weight: usize,
    pub param: usize,
    /// Rows of the psum buffer the run uses.
    pub psum: usize,
    pub ofmap: usize,
}

impl Layout {
    /// The layout of `spec`'s core; `None` for dataflows the core is not built for.
    pub fn of(spec: &AcceleratorSpec) -> Option<Layout> {
        let (rows, cols) = (spec.pe_array.rows as usize, spec.pe_array.cols as usize);
        let (step, rows_per_word, weight_words_per_step) = match spec.pe_array.dataflow {
            Dataflow::WeightStationary => (rows, 1, rows),
            Dataflow::OutputStationary => (1, rows, 1),
            Dataflow::InputStationary | Dataflow::RowStationary => return None,
        };
        Some(Layout {
            step,
            rows_per_word,
            weight_words_per_step,
            cols,
        })
    }

    /// What an M×K×N run occupies.
    pub fn words(&self, m: usize, k: usize, n: usize) -> Words {
        let steps = k.div_ceil(self.step);
        let n_folds = n.div_ceil(self.cols);
        Words {
            steps,
            n_folds,
            ifmap: steps * m.div_ceil(self.rows_per_word),
            weight: n_folds * steps * self.weight_words_per_step,
            param: n_folds,
            psum: m,
            ofmap: n_folds * m,
        }
    }
}

/// One run of the core in a GEMM cut to fit its buffers: the rows of A, the columns of B and the
/// reduction slice it covers, and where it sits in a reduction split over several runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    pub rows: std::ops::Range<usize>,
    pub columns: std::ops::Range<usize>,
    pub depth: std::ops::Range<usize>,
    /// Add to the psum buffer (every K-chunk but the first).
    pub accumulate: bool,
    /// Post-process and send the results (the last K-chunk).
    pub finish: bool,
    /// Load A's words; false when the previous run left the same rows and depth in the ifmap
    /// buffer.
    pub load_ifmap: bool,
    /// Load B's words and the parameters; false when the previous run left the same columns
    /// and depth in the weight and param buffers.
    pub load_weights: bool,
    /// Window mode: the input tile the run loads instead of A's rows, and how the feeder walks
    /// it; `None` for a GEMM run.
    pub window: Option<Window>,
}

impl RunPlan {
    /// What a program needs to know of the run ([`pipeline`]).
    pub fn flags(&self) -> RunFlags {
        RunFlags {
            load_ifmap: self.load_ifmap,
            load_weights: self.load_weights,
            finish: self.finish,
        }
    }
}

/// What [`pipeline`] needs of a run: which operands it loads and whether it finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunFlags {
    pub load_ifmap: bool,
    pub load_weights: bool,
    pub finish: bool,
}

/// How a host cuts an M×K×N GEMM into runs of this core: the largest chunks the buffers hold,
/// reduction steps per run first (a reduction longer than that runs as several accumulating runs
/// over one N-fold), then rows, then N-folds; rows outermost, K-chunks innermost. A run reloads
/// an operand only when it differs from what the previous run left in the buffers. `None`
/// without a core, or when one step needs more weight words than the buffer has.
pub fn plan_runs(spec: &AcceleratorSpec, m: usize, k: usize, n: usize) -> Option<Vec<RunPlan>> {
    plan_runs_of_rows(spec, (m, k, n), usize::MAX)
}

/// [`plan_runs`] with at most `max_rows` rows of A per run: more, shorter runs, which a
/// double-buffered core overlaps (`report::schedule::core_plan` picks the count by the cycle
/// model).
pub fn plan_runs_of_rows(
    spec: &AcceleratorSpec,
    (m, k, n): (usize, usize, usize),
    max_rows: usize,
) -> Option<Vec<RunPlan>> {
    let buffers = spec.buffers.as_ref()?;
    let layout = Layout::of(spec)?;
    let depth = |region: &crate::config::BufferSpec| region.run_depth() as usize;
    let k_steps = k.div_ceil(layout.step);
    let steps_per_run = k_steps
        .min(depth(&buffers.ifmap))
        .min(depth(&buffers.weight) / layout.weight_words_per_step);
    if steps_per_run == 0 {
        return None;
    }
    let k_chunks = k_steps.div_ceil(steps_per_run);
    let mut m_chunk = depth(&buffers.psum)
        .min(depth(&buffers.ifmap) / steps_per_run * layout.rows_per_word)
        .min(depth(&buffers.ofmap));
    m_chunk = m_chunk.min(max_rows.max(1));
    // The results of every N-fold of a run wait in the ofmap buffer for the store.
    let ofmap_folds = depth(&buffers.ofmap) / m_chunk;
    let n_chunk = if k_chunks == 1 {
        (depth(&buffers.weight) / (k_steps * layout.weight_words_per_step))
            .min(param_depth(spec, &buffers.weight) as usize)
            .min(ofmap_folds)
            * layout.cols
    } else {
        layout.cols
    };
    let k_chunk = steps_per_run * layout.step;
    let mut plans: Vec<RunPlan> = Vec::new();
    for m0 in (0..m).step_by(m_chunk) {
        for n0 in (0..n).step_by(n_chunk) {
            for chunk in 0..k_chunks {
                let k0 = chunk * k_chunk;
                let rows = m0..(m0 + m_chunk).min(m);
                let columns = n0..(n0 + n_chunk).min(n);
                let depth = k0..(k0 + k_chunk).min(k);
                let previous = plans.last();
                plans.push(RunPlan {
                    load_ifmap: previous.is_none_or(|p| (&p.rows, &p.depth) != (&rows, &depth)),
                    load_weights: previous
                        .is_none_or(|p| (&p.columns, &p.depth) != (&columns, &depth)),
                    rows,
                    columns,
                    depth,
                    accumulate: chunk > 0,
                    finish: chunk + 1 == k_chunks,
                    window: None,
                });
            }
        }
    }
    Some(plans)
}

/// How a host runs convolution `layer` in window mode (`window`): each run covers whole output
/// rows, at most `max_out_rows` of them, and whole N-folds of output channels, over the whole
/// reduction (window mode never splits K). The runs take the most output rows every row range
/// fits with one N-fold, then the most N-folds that fit with that many rows; output rows
/// outermost. A run reloads the tile when its rows change and the weights when its channels
/// change (the tile holds every channel block, so the channel chunks of a row range share it).
/// `None` without a weight-stationary core, for a depthwise layer on an array that is not square
/// (its N-folds read channel blocks as wide as its K-folds), or when one output row with one
/// N-fold does not fit: the host then runs the im2col GEMM ([`plan_runs`]).
pub fn plan_window_runs(
    spec: &AcceleratorSpec,
    layer: &ConvLayer,
    max_out_rows: usize,
) -> Option<Vec<RunPlan>> {
    plan_window_runs_of(spec, layer, (max_out_rows, usize::MAX))
}

/// [`plan_window_runs`] with at most `max_folds` N-folds per run too: smaller first weight
/// loads, which a double-buffered core cannot overlap (`report::schedule::window_cut` picks both
/// limits by the cycle model).
pub fn plan_window_runs_of(
    spec: &AcceleratorSpec,
    layer: &ConvLayer,
    (max_out_rows, max_folds): (usize, usize),
) -> Option<Vec<RunPlan>> {
    let buffers = spec.buffers.as_ref()?;
    let (array_rows, cols) = (spec.pe_array.rows as usize, spec.pe_array.cols as usize);
    let square = array_rows == cols;
    let fits = layer.fits_descriptor(array_rows);
    if !super::has_window_mode(spec) || (layer.depthwise && !square) || !fits {
        return None;
    }
    let fit = WindowFit::of(spec, buffers, layer);
    let [out_height, out_width] = layer.output;
    let chunk_rows = (1..=max_out_rows.clamp(1, out_height.max(1)))
        .rev()
        .find(|&count| fit.rows_fit(layer, count))?;
    let m = chunk_rows * out_width;
    let chunk_folds = (1..=layer.channels.div_ceil(cols).min(max_folds.max(1)))
        .rev()
        .find(|&folds| fit.folds_fit(folds, m))?;
    let mut plans: Vec<RunPlan> = Vec::new();
    for oy0 in (0..out_height).step_by(chunk_rows) {
        let out_rows = oy0..(oy0 + chunk_rows).min(out_height);
        for n0 in (0..layer.channels).step_by(chunk_folds * cols) {
            let columns = n0..(n0 + chunk_folds * cols).min(layer.channels);
            let rows = out_rows.start * out_width..out_rows.end * out_width;
            let previous = plans.last();
            plans.push(RunPlan {
                load_ifmap: previous.is_none_or(|p| p.rows != rows),
                load_weights: previous.is_none_or(|p| p.columns != columns),
                window: Some(layer.window(array_rows, out_rows.clone(), n0 / cols)),
                rows,
                columns,
                depth: 0..layer.depth(array_rows),
                accumulate: false,
                finish: true,
            });
        }
    }
    Some(plans)
}

/// The words one window-mode run may use of each buffer (a half when double-buffered), and the
/// layer's K-folds.
struct WindowFit {
    rows: usize,
    k_folds: usize,
    ifmap: usize,
    weight: usize,
    param: usize,
    psum: usize,
    ofmap: usize,
}

impl WindowFit {
    fn of(spec: &AcceleratorSpec, buffers: &crate::config::BuffersSpec, layer: &ConvLayer) -> Self {
        let depth = |region: &crate::config::BufferSpec| region.run_depth() as usize;
        let rows = spec.pe_array.rows as usize;
        WindowFit {
            rows,
            k_folds: layer.k_folds(rows),
            ifmap: depth(&buffers.ifmap),
            weight: depth(&buffers.weight),
            param: param_depth(spec, &buffers.weight) as usize,
            psum: depth(&buffers.psum),
            ofmap: depth(&buffers.ofmap),
        }
    }

    /// Every run of `count` output rows (the last may be shorter) fits with one N-fold: its
    /// tile in the ifmap buffer, its rows in the psum and ofmap buffers. Tiles differ in size
    /// where the padding clips them, so each row range is checked.
    fn rows_fit(&self, layer: &ConvLayer, count: usize) -> bool {
        let out_height = layer.output[0];
        self.folds_fit(1, count * layer.output[1])
            && (0..out_height).step_by(count).all(|oy0| {
                let out_rows = oy0..(oy0 + count).min(out_height);
                layer.window(self.rows, out_rows, 0).words() <= self.ifmap
            })
    }

    /// `folds` N-folds of an `m`-pixel run fit the weight, param, psum and ofmap buffers.
    fn folds_fit(&self, folds: usize, m: usize) -> bool {
        folds * self.k_folds * self.rows <= self.weight
            && folds <= self.param
            && m <= self.psum
            && folds * m <= self.ofmap
    }
}

/// One descriptor of a host's program for a double-buffered core: the run it computes, whose
/// operands it prefetches and whose results it drains, and the halves it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// The planned run it computes; `None` for the closing descriptor that only drains.
    pub run: Option<usize>,
    /// It loads its run's operands itself (the program's first run; the rest are prefetched).
    pub loads_own: bool,
    /// The run whose operands it prefetches into the other halves (the next one, when that one
    /// loads anything).
    pub prefetch: Option<usize>,
    /// The run whose results it drains from the other ofmap half (the previous one, when that
    /// one finished).
    pub drain: Option<usize>,
    pub ifmap_half: bool,
    pub weight_half: bool,
    pub ofmap_half: bool,
}

/// The program that runs `plans` on a double-buffered core: run i computes while the DMA
/// prefetches run i+1's operands into the halves run i does not read and drains run i−1's
/// results from the ofmap half run i does not write; a last descriptor drains the last run. An
/// operand's half flips whenever a run loads it (a reused operand is read where it is), the
/// ofmap half after every run that finishes.
pub fn pipeline(plans: &[RunFlags]) -> Vec<Stage> {
    let mut stages = Vec::with_capacity(plans.len() + 1);
    let (mut ifmap_half, mut weight_half, mut ofmap_half) = (false, false, false);
    for (i, plan) in plans.iter().enumerate() {
        if i > 0 {
            ifmap_half ^= plan.load_ifmap;
            weight_half ^= plan.load_weights;
        }
        let next = plans.get(i + 1);
        stages.push(Stage {
            run: Some(i),
            loads_own: i == 0,
            prefetch: next
                .filter(|next| next.load_ifmap || next.load_weights)
                .map(|_| i + 1),
            drain: i.checked_sub(1).filter(|&previous| plans[previous].finish),
            ifmap_half,
            weight_half,
            ofmap_half,
        });
        ofmap_half ^= plan.finish;
    }
    if let Some(last) = plans.len().checked_sub(1) {
        stages.push(Stage {
            run: None,
            loads_own: false,
            prefetch: None,
            drain: plans[last].finish.then_some(last),
            ifmap_half,
            weight_half,
            ofmap_half,
        });
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn tiny_core(dataflow: &str) -> AcceleratorSpec {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/tiny_core.yaml"
        ))
        .unwrap()
        .replace("weight_stationary", dataflow);
        load_str(&text, "tiny_core.yaml").unwrap()
    }

    #[test]
    fn every_run_of_a_plan_fits_the_buffers_and_the_runs_cover_the_gemm_once() {
        for dataflow in ["weight_stationary", "output_stationary"] {
            let spec = tiny_core(dataflow);
            let buffers = spec.buffers.as_ref().unwrap();
            let layout = Layout::of(&spec).unwrap();
            for (m, k, n) in [(40, 8, 20), (4, 100, 2), (3, 1, 1), (70, 300, 9)] {
                let plans = plan_runs(&spec, m, k, n).unwrap();
                let mut covered = vec![0usize; m * k * n];
                for plan in &plans {
                    let words = layout.words(plan.rows.len(), plan.depth.len(), plan.columns.len());
                    assert!(
                        words.ifmap as u64 <= buffers.ifmap.depth,
                        "{dataflow} {plan:?}"
                    );
                    assert!(
                        words.weight as u64 <= buffers.weight.depth,
                        "{dataflow} {plan:?}"
                    );
                    assert!(
                        words.psum as u64 <= buffers.psum.depth,
                        "{dataflow} {plan:?}"
                    );
                    assert!(
                        words.ofmap as u64 <= buffers.ofmap.depth,
                        "{dataflow} {plan:?}"
                    );
                    assert!(
                        words.param as u64 <= param_depth(&spec, &buffers.weight),
                        "{dataflow} {plan:?}"
                    );
                    assert!(plan.finish || words.n_folds == 1, "{dataflow} {plan:?}");
                    for i in plan.rows.clone() {
                        for kk in plan.depth.clone() {
                            for j in plan.columns.clone() {
                                covered[(i * k + kk) * n + j] += 1;
                            }
                        }
                    }
                }
                assert!(covered.iter().all(|&c| c == 1), "{dataflow} {m}x{k}x{n}");
            }
        }
    }

    #[test]
    fn output_stationary_words_count_pairs_and_row_blocks() {
        let layout = Layout::of(&tiny_core("output_stationary")).unwrap();
        // 2×2 array: 5 rows are 3 row blocks of 7 pairs; 3 columns are 2 N-folds.
        let words = layout.words(5, 7, 3);
        assert_eq!((words.steps, words.ifmap, words.weight), (7, 21, 14));
        assert_eq!((words.param, words.ofmap), (2, 10));
    }

    #[test]
    fn a_pipeline_prefetches_the_next_run_drains_the_previous_and_flips_halves_on_loads() {
        let run = |load_ifmap, load_weights, finish| RunFlags {
            load_ifmap,
            load_weights,
            finish,
        };
        // Two K-chunks over the same columns, then a run reusing the weights.
        let plans = [
            run(true, true, false),
            run(true, true, true),
            run(true, false, true),
        ];
        let stages = pipeline(&plans);
        let summary: Vec<_> = stages
            .iter()
            .map(|s| (s.run, s.loads_own, s.prefetch, s.drain))
            .collect();
        assert_eq!(
            summary,
            vec![
                (Some(0), true, Some(1), None),
                (Some(1), false, Some(2), None),
                (Some(2), false, None, Some(1)),
                (None, false, None, Some(2)),
            ]
        );
        let halves: Vec<_> = stages
            .iter()
            .map(|s| (s.ifmap_half, s.weight_half, s.ofmap_half))
            .collect();
        assert_eq!(
            halves,
            vec![
                (false, false, false),
                (true, true, false),
                (false, true, true),
                (false, true, false),
            ]
        );
    }

    /// A `size`×`size`-kernel convolution of `input` (H, W, C) with stride 1 and 'same' padding.
    fn same_conv(input: [usize; 3], size: usize, channels: usize) -> ConvLayer {
        ConvLayer {
            input,
            output: [input[0], input[1]],
            channels,
            kernel: [size, size],
            stride: [1, 1],
            dilation: [1, 1],
            pad: [size / 2, size / 2],
            depthwise: false,
        }
    }

    /// Checks that every run of `plans` fits the buffers, that the runs cover each output
    /// (pixel, channel) of `layer` once, and that each window reads, for every K-fold, N-fold
    /// and pixel, the tile word holding the input pixel and channel block the tap lands on.
    fn assert_window_plan(spec: &AcceleratorSpec, layer: &ConvLayer, plans: &[RunPlan]) {
        let buffers = spec.buffers.as_ref().unwrap();
        let (rows, cols) = (spec.pe_array.rows as usize, spec.pe_array.cols as usize);
        let k_folds = layer.k_folds(rows);
        let mut covered = vec![0usize; layer.pixels() * layer.channels];
        for plan in plans {
            let window = plan.window.as_ref().unwrap();
            let (m, n_folds) = (plan.rows.len(), plan.columns.len().div_ceil(cols));
            assert_eq!(window.pixels(), m, "{plan:?}");
            assert_eq!(plan.depth, 0..k_folds * rows);
            assert!((plan.finish, plan.accumulate) == (true, false));
            assert!(
                window.words() as u64 <= buffers.ifmap.run_depth(),
                "{plan:?}"
            );
            assert!((n_folds * k_folds * rows) as u64 <= buffers.weight.run_depth());
            assert!(n_folds as u64 <= param_depth(spec, &buffers.weight));
            assert!(m as u64 <= buffers.psum.run_depth());
            assert!((n_folds * m) as u64 <= buffers.ofmap.run_depth());
            for pixel in plan.rows.clone() {
                for channel in plan.columns.clone() {
                    covered[pixel * layer.channels + channel] += 1;
                }
            }
            let steps = (0..k_folds).flat_map(|k| (0..n_folds).map(move |n| (k, n)));
            for (k, n) in steps {
                for pixel in 0..m {
                    let read = window.address(k, n, pixel);
                    assert_eq!(read, expected_word(layer, rows, plan, (k, n, pixel)));
                    assert!(read.is_none_or(|word| word < window.words()), "{plan:?}");
                }
            }
        }
        assert!(covered.iter().all(|&c| c == 1), "{layer:?}");
    }

    /// The tile word K-fold `k` and N-fold `n` of run `plan` read for its pixel `pixel`, worked
    /// out from the layer's geometry; `None` in the padding.
    fn expected_word(
        layer: &ConvLayer,
        rows: usize,
        plan: &RunPlan,
        (k, n, pixel): (usize, usize, usize),
    ) -> Option<usize> {
        let window = plan.window.as_ref().unwrap();
        let blocks = layer.channel_blocks(rows);
        let (tap, block) = if layer.depthwise {
            (k, plan.columns.start / rows + n)
        } else {
            (k / blocks, k % blocks)
        };
        let [out_width, kernel_width] = [layer.output[1], layer.kernel[1]];
        let pixel = plan.rows.start + pixel;
        let (oy, ox) = (pixel / out_width, pixel % out_width);
        let (kh, kw) = (tap / kernel_width, tap % kernel_width);
        let y = (oy * layer.stride[0] + kh * layer.dilation[0]).checked_sub(layer.pad[0])?;
        let x = (ox * layer.stride[1] + kw * layer.dilation[1]).checked_sub(layer.pad[1])?;
        if y >= layer.input[0] || x >= layer.input[1] {
            return None;
        }
        assert!(
            window.input_rows.contains(&y),
            "the tile holds input row {y}"
        );
        Some(((y - window.input_rows.start) * layer.input[1] + x) * blocks + block)
    }

    #[test]
    fn window_runs_fit_cover_every_output_once_and_read_inside_their_tiles() {
        let spec = tiny_core("weight_stationary");
        let strided = ConvLayer {
            output: [4, 3],
            stride: [2, 2],
            dilation: [1, 2],
            ..same_conv([9, 7, 3], 3, 5)
        };
        for layer in [
            same_conv([9, 8, 3], 3, 5),
            same_conv([6, 5, 1], 1, 3),
            same_conv([7, 4, 2], 5, 2),
            strided,
        ] {
            let plans = plan_window_runs(&spec, &layer, usize::MAX).unwrap();
            assert_window_plan(&spec, &layer, &plans);
            let limited = plan_window_runs(&spec, &layer, 1).unwrap();
            assert!(limited
                .iter()
                .all(|p| p.window.as_ref().unwrap().out_rows == 1));
            assert_window_plan(&spec, &layer, &limited);
        }
    }

    #[test]
    fn window_runs_take_the_most_rows_then_channels_and_reload_only_what_changes() {
        let spec = tiny_core("weight_stationary");
        // 9×8×3 'same' 3×3: 2 channel blocks, 18 K-folds of 36 weight words, so one N-fold a
        // run (64 words); psum 32 words hold 4 output rows of 8; 3 N-folds of 5 channels.
        let layer = same_conv([9, 8, 3], 3, 5);
        let plans = plan_window_runs(&spec, &layer, usize::MAX).unwrap();
        let runs: Vec<_> = plans
            .iter()
            .map(|p| {
                (
                    p.rows.clone(),
                    p.columns.clone(),
                    p.load_ifmap,
                    p.load_weights,
                )
            })
            .collect();
        let mut expected = Vec::new();
        for rows in [0..32, 32..64, 64..72] {
            for (i, columns) in [0..2, 2..4, 4..5].into_iter().enumerate() {
                expected.push((rows.clone(), columns, i == 0, true));
            }
        }
        assert_eq!(runs, expected);
        // Output rows 4..8 read input rows 3..9: 6 rows of 8 pixels of 2 blocks.
        assert_eq!(plans[3].window.as_ref().unwrap().input_rows, 3..9);
        assert_eq!(plans[3].window.as_ref().unwrap().words(), 96);
    }

    #[test]
    fn a_single_channel_chunk_loads_the_weights_once() {
        let spec = tiny_core("weight_stationary");
        // 1×1 over 1 channel: 1 K-fold, the 2 N-folds fit together; 4 rows of 8 per run.
        let layer = same_conv([9, 8, 1], 1, 4);
        let plans = plan_window_runs(&spec, &layer, usize::MAX).unwrap();
        let loads: Vec<_> = plans
            .iter()
            .map(|p| (p.load_ifmap, p.load_weights))
            .collect();
        assert_eq!(loads, vec![(true, true), (true, false), (true, false)]);
    }

    #[test]
    fn depthwise_windows_start_at_their_chunks_channel_block() {
        let spec = tiny_core("weight_stationary");
        // 8 channels are 4 blocks; 9 K-folds take 18 weight words per N-fold, so 3 N-folds a
        // run (54 of 64 words): channels 0..6 from block 0, then 6..8 from block 3.
        let layer = ConvLayer {
            depthwise: true,
            ..same_conv([5, 6, 8], 3, 8)
        };
        let plans = plan_window_runs(&spec, &layer, usize::MAX).unwrap();
        let chunks: Vec<_> = plans
            .iter()
            .map(|p| (p.columns.clone(), p.window.as_ref().unwrap().first_block))
            .collect();
        assert_eq!(chunks, vec![(0..6, 0), (6..8, 3)]);
        assert_window_plan(&spec, &layer, &plans);
        let mut wide = spec.clone();
        wide.pe_array.cols = 4;
        assert_eq!(plan_window_runs(&wide, &layer, usize::MAX), None);
    }

    #[test]
    fn no_window_plan_when_one_row_or_one_n_fold_does_not_fit() {
        let spec = tiny_core("weight_stationary");
        // 40 output pixels a row: more than the psum buffer's 32 words.
        assert_eq!(
            plan_window_runs(&spec, &same_conv([3, 40, 2], 3, 2), 4),
            None
        );
        // 16 channels: 8 blocks, 72 K-folds, 144 weight words for one N-fold (64 in the buffer).
        assert_eq!(
            plan_window_runs(&spec, &same_conv([3, 4, 16], 3, 2), 4),
            None
        );
        // The output-stationary core has no window mode.
        let os = tiny_core("output_stationary");
        assert_eq!(plan_window_runs(&os, &same_conv([3, 4, 2], 3, 2), 4), None);
    }
}
