//! How a GEMM maps onto the core's buffers: the words each operand takes for a dataflow
//! ([`Layout`]) and how a host cuts a GEMM too large for the buffers into runs ([`plan_runs`]).
//! The host (`accelgen_tb::core`) and the report's schedule both use this one plan, so the cycle
//! model and the RTL always run the same chunks.

use crate::config::{AcceleratorSpec, Dataflow};

use super::param_depth;

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
}

/// How a host cuts an M×K×N GEMM into runs of this core: the largest chunks the buffers hold,
/// reduction steps per run first (a reduction longer than that runs as several accumulating runs
/// over one N-fold), then rows, then N-folds; rows outermost, K-chunks innermost. A run reloads
/// an operand only when it differs from what the previous run left in the buffers. `None`
/// without a core, or when one step needs more weight words than the buffer has.
pub fn plan_runs(spec: &AcceleratorSpec, m: usize, k: usize, n: usize) -> Option<Vec<RunPlan>> {
    let buffers = spec.buffers.as_ref()?;
    let layout = Layout::of(spec)?;
    let depth = |region: &crate::config::BufferSpec| region.depth as usize;
    let k_steps = k.div_ceil(layout.step);
    let steps_per_run = k_steps
        .min(depth(&buffers.ifmap))
        .min(depth(&buffers.weight) / layout.weight_words_per_step);
    if steps_per_run == 0 {
        return None;
    }
    let k_chunks = k_steps.div_ceil(steps_per_run);
    let m_chunk = depth(&buffers.psum)
        .min(depth(&buffers.ifmap) / steps_per_run * layout.rows_per_word)
        .min(depth(&buffers.ofmap));
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
                });
            }
        }
    }
    Some(plans)
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
}
