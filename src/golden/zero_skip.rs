//! The zero-skipping model: which reduction steps of A an activation-skipping core keeps, which
//! steps of B a weight-skipping core keeps, and how many cycles its output-stationary array then
//! takes.
//!
//! A skipping core (`config::ZeroSkipSpec`, RTL in `blocks::gemm_core::output_stationary`)
//! streams, for every block of R rows of A, only the columns in which some row is not the
//! activation zero point: a dropped column is R activations equal to the zero point, which
//! the core centres to 0 before the array, so dropping it changes no sum. The host keeps every
//! block's first column (so no block is empty, and the feeder knows where a run starts), and
//! pads a last, short block with the zero point. Each block is then one tile of as many pairs
//! as it has kept columns, which is all the cycle model needs ([`skipping_array_cycles`]).
//!
//! A weight-skipping core (`config::ZeroSkipSpec::weights`) is the mirror image: for every
//! N-fold of C columns of B the host keeps only the reduction steps at which some of the fold's
//! C weights is not zero (always the first, so no fold is empty; lanes past N are zero
//! weights), and every row block of the fold replays them: tile (fold f, block b) has as many
//! pairs as fold f has kept steps ([`ZeroMap::kept_steps`], [`SkippingRun::of_weights`]). A
//! weight that is zero as the array gets it adds nothing whatever the activation is, so
//! dropping its step changes no sum. The ifmap stays dense.
//!
//! A Bit-Pragmatic core (`config::SerialMode::Pragmatic`) keeps the same columns; each kept
//! column (a brick of R centred activations) then takes as many cycles as its busiest lane has
//! one-bits in its magnitude, at least one ([`ZeroMap::kept_terms`],
//! [`pragmatic_array_cycles`]).

use std::ops::Range;

use ndarray::Array2;

use super::cycles::ArrayShape;

/// Where a GEMM's stored activations differ from the zero point, and by how many one-bits:
/// what a skipping core keeps and how long a Pragmatic core takes over it; with the weights'
/// zeros ([`ZeroMap::with_weights`]), what a weight-skipping core keeps and what a zero-gating
/// core gates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZeroMap {
    zero_point: i64,
    /// `ones[[m, k]]`: the one-bits of `|A[m][k] − zero_point|`; 0 exactly at a real zero.
    ones: Array2<u8>,
    /// `zero_weights[[k, n]]`: B[k][n] is zero; `None` until [`ZeroMap::with_weights`].
    zero_weights: Option<Array2<bool>>,
}

impl ZeroMap {
    /// The map of A (M × K stored activations) for activations whose real zero is `zero_point`.
    pub fn of(a: &Array2<i64>, zero_point: i64) -> ZeroMap {
        ZeroMap {
            zero_point,
            ones: a.mapv(|value| (value - zero_point).unsigned_abs().count_ones() as u8),
            zero_weights: None,
        }
    }

    /// The map with B's zeros (K × N, the weights as the array gets them) beside A's.
    pub fn with_weights(mut self, b: &Array2<i64>) -> ZeroMap {
        self.zero_weights = Some(b.mapv(|weight| weight == 0));
        self
    }

    /// The MACs a zero-gating output-stationary array gates over a run of rows `rows`,
    /// reduction steps `depth` and columns `columns` of the GEMM: for every block of R rows,
    /// every N-fold of C columns and every step the tile streams ([`Streamed`]), each pair
    /// gates `za·C + zw·R − za·zw` MACs, `za` of its R activations and `zw` of its C weights
    /// being zero — lanes past M (the zero point) and past N (zero weights) included. `None`
    /// without the weights.
    pub fn gated_macs(
        &self,
        (rows, depth, columns): (Range<usize>, Range<usize>, Range<usize>),
        array: ArrayShape,
        streamed: Streamed<'_>,
    ) -> Option<u64> {
        let zero_weights = self.zero_weights.as_ref()?;
        let (r, c) = (array.rows as usize, array.cols as usize);
        let every_step: Vec<usize> = (0..depth.len()).collect();
        let mut gated = 0;
        for (block_index, block) in blocks(rows, r).enumerate() {
            for (fold_index, lanes) in blocks(columns.clone(), c).enumerate() {
                let steps = match streamed {
                    Streamed::All => &every_step,
                    Streamed::PerBlock(kept) => &kept[block_index],
                    Streamed::PerFold(kept) => &kept[fold_index],
                };
                for &k in steps {
                    let k = depth.start + k;
                    let live_acts = block.clone().filter(|&m| self.ones[[m, k]] > 0).count();
                    let live_weights = lanes.clone().filter(|&n| !zero_weights[[k, n]]).count();
                    let (za, zw) = ((r - live_acts) as u64, (c - live_weights) as u64);
                    gated += za * c as u64 + zw * r as u64 - za * zw;
                }
            }
        }
        Some(gated)
    }

    /// The stored value of a real zero: what the host pads with and the core subtracts.
    pub fn zero_point(&self) -> i64 {
        self.zero_point
    }

    /// The columns a skipping core streams for the run over rows `rows` (blocks of `block`
    /// rows from `rows.start`) and reduction steps `depth`: for every block, the indices
    /// relative to `depth.start` of its columns with a row that is not the zero point, with
    /// column 0 always kept.
    pub fn kept_columns(
        &self,
        rows: Range<usize>,
        depth: Range<usize>,
        block: usize,
    ) -> Vec<Vec<usize>> {
        blocks(rows, block)
            .map(|lanes| {
                kept_of(depth.len(), |k| {
                    lanes.clone().any(|m| self.ones[[m, depth.start + k]] > 0)
                })
            })
            .collect()
    }

    /// The reduction steps a weight-skipping core streams for the run over reduction steps
    /// `depth` and columns `columns` of B (N-folds of `fold` columns from `columns.start`, the
    /// last one short): for every N-fold, the indices relative to `depth.start` of its steps
    /// with a weight that is not zero, with step 0 always kept. `None` without the weights
    /// ([`ZeroMap::with_weights`]).
    pub fn kept_steps(
        &self,
        depth: Range<usize>,
        columns: Range<usize>,
        fold: usize,
    ) -> Option<Vec<Vec<usize>>> {
        let zero_weights = self.zero_weights.as_ref()?;
        Some(
            blocks(columns, fold)
                .map(|lanes| {
                    kept_of(depth.len(), |k| {
                        lanes.clone().any(|n| !zero_weights[[depth.start + k, n]])
                    })
                })
                .collect(),
        )
    }

    /// The whole GEMM's fraction of reduction steps a weight-skipping core drops, over N-folds
    /// of `fold` columns: a bench's ideal speedup is `1 / (1 − fraction)`. `None` without the
    /// weights.
    pub fn skipped_weight_fraction(&self, fold: usize) -> Option<f64> {
        let (depth, columns) = self.zero_weights.as_ref()?.dim();
        let kept: usize = self
            .kept_steps(0..depth, 0..columns, fold)?
            .iter()
            .map(Vec::len)
            .sum();
        let total = columns.div_ceil(fold) * depth;
        Some(if total == 0 {
            0.0
        } else {
            1.0 - kept as f64 / total as f64
        })
    }

    /// For every block of [`ZeroMap::kept_columns`], the cycles a Bit-Pragmatic array takes
    /// over each kept column: the most one-bits of a lane in that brick, at least one (a
    /// padding lane is the zero point: none).
    pub fn kept_terms(
        &self,
        rows: Range<usize>,
        depth: Range<usize>,
        block: usize,
    ) -> Vec<Vec<u64>> {
        let kept = self.kept_columns(rows.clone(), depth.clone(), block);
        blocks(rows, block)
            .zip(kept)
            .map(|(lanes, columns)| {
                columns
                    .iter()
                    .map(|&k| {
                        let most = lanes.clone().map(|m| self.ones[[m, depth.start + k]]).max();
                        u64::from(most.unwrap_or(0).max(1))
                    })
                    .collect()
            })
            .collect()
    }

    /// The whole GEMM's fraction of columns a skipping core drops, over `block`-row blocks.
    pub fn skipped_fraction(&self, block: usize) -> f64 {
        let (rows, depth) = self.ones.dim();
        let kept: usize = self
            .kept_columns(0..rows, 0..depth, block)
            .iter()
            .map(Vec::len)
            .sum();
        let total = rows.div_ceil(block) * depth;
        if total == 0 {
            0.0
        } else {
            1.0 - kept as f64 / total as f64
        }
    }
}

/// The steps of `0..depth` a skipping core keeps for one block or N-fold: step 0 always (so
/// a tile is never empty and starts where the feeder expects), then every step `live` says has
/// a non-zero operand.
fn kept_of(depth: usize, live: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut kept = vec![0];
    kept.extend((1..depth).filter(|&k| live(k)));
    kept
}

/// `range` cut into consecutive blocks of `size` from its start, the last one short: the row
/// blocks (or N-folds) an output-stationary array of that many rows (or columns) takes.
fn blocks(range: Range<usize>, size: usize) -> impl Iterator<Item = Range<usize>> {
    let end = range.end;
    range
        .step_by(size)
        .map(move |first| first..(first + size).min(end))
}

/// Which reduction steps each tile of a run streams, for [`ZeroMap::gated_macs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streamed<'a> {
    /// Every step of the run: a core that does not skip.
    All,
    /// Per row block, its kept columns ([`ZeroMap::kept_columns`]): an activation-skipping
    /// core, whose every N-fold replays them.
    PerBlock(&'a [Vec<usize>]),
    /// Per N-fold, its kept steps ([`ZeroMap::kept_steps`]): a weight-skipping core, whose
    /// every row block replays them.
    PerFold(&'a [Vec<usize>]),
}

/// What a skipping core's run streams: its words of each operand and its array's cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SkippingRun {
    /// The ifmap words the run loads: the kept columns over its row blocks on an
    /// activation-skipping core, every step of every row block on a weight-skipping one.
    pub ifmap_words: u64,
    /// The weight words the run loads: every step of every N-fold on an activation-skipping
    /// core, the kept steps over its N-folds on a weight-skipping one.
    pub weight_words: u64,
    /// The pairs the array takes over the run (every tile's): one ifmap read and one weight
    /// read each.
    pub pairs: u64,
    /// The array's count for the run ([`skipping_array_cycles`] or
    /// [`pragmatic_array_cycles`]).
    pub array_cycles: u64,
    /// A Pragmatic array's term cycles over the run (every N-fold): the cycles its PEs
    /// add; 0 for a parallel array.
    pub terms: u64,
}

impl SkippingRun {
    /// The run of `kept` (a block's kept columns, [`ZeroMap::kept_columns`]) on a parallel
    /// output-stationary `array`, for each of `n_folds` N-folds of a run `depth` steps deep.
    pub fn of(array: ArrayShape, kept: &[Vec<usize>], n_folds: u64, depth: u64) -> SkippingRun {
        let beats: Vec<u64> = kept.iter().map(|columns| columns.len() as u64).collect();
        let tiles: Vec<u64> = (0..n_folds).flat_map(|_| beats.iter().copied()).collect();
        SkippingRun {
            ifmap_words: beats.iter().sum(),
            weight_words: n_folds * depth,
            pairs: tiles.iter().sum(),
            array_cycles: skipping_array_cycles(array, &tiles),
            terms: 0,
        }
    }

    /// The run of `terms` (each block's kept columns' cycles, [`ZeroMap::kept_terms`]) on a
    /// Bit-Pragmatic `array`, for each of `n_folds` N-folds of a run `depth` steps deep.
    pub fn pragmatic(
        array: ArrayShape,
        terms: &[Vec<u64>],
        n_folds: u64,
        depth: u64,
    ) -> SkippingRun {
        let sums: Vec<u64> = terms.iter().map(|block| block.iter().sum()).collect();
        let tiles: Vec<u64> = (0..n_folds).flat_map(|_| sums.iter().copied()).collect();
        let ifmap_words: u64 = terms.iter().map(|block| block.len() as u64).sum();
        SkippingRun {
            ifmap_words,
            weight_words: n_folds * depth,
            pairs: ifmap_words * n_folds,
            array_cycles: pragmatic_array_cycles(array, &tiles),
            terms: tiles.iter().sum(),
        }
    }

    /// The run of `kept_steps` (each N-fold's kept steps, [`ZeroMap::kept_steps`]) on a
    /// weight-skipping parallel output-stationary `array`, over `row_blocks` row blocks of a
    /// run `depth` steps deep: tiles fold-major, each of its fold's kept steps; the ifmap is
    /// dense.
    pub fn of_weights(
        array: ArrayShape,
        kept_steps: &[Vec<usize>],
        row_blocks: u64,
        depth: u64,
    ) -> SkippingRun {
        let tiles: Vec<u64> = kept_steps
            .iter()
            .flat_map(|steps| (0..row_blocks).map(|_| steps.len() as u64))
            .collect();
        SkippingRun {
            ifmap_words: row_blocks * depth,
            weight_words: kept_steps.iter().map(|steps| steps.len() as u64).sum(),
            pairs: tiles.iter().sum(),
            array_cycles: skipping_array_cycles(array, &tiles),
            terms: 0,
        }
    }
}

/// Cycles of the output-stationary array (`blocks::pe_array::output_stationary`) for tiles of
/// `tile_beats` pairs each, in order: pairs stream back to back, a tile's last pair enters no
/// sooner than R edges after the previous tile's (its drain takes R cycles), and the last
/// result row leaves (R+C−1) + (R−1) edges after the last pair. With equal tiles this is
/// `golden::cycles`' output-stationary count.
pub fn skipping_array_cycles(array: ArrayShape, tile_beats: &[u64]) -> u64 {
    let mut last_pair = 0;
    for (index, &beats) in tile_beats.iter().enumerate() {
        last_pair += if index == 0 {
            beats
        } else {
            beats.max(array.rows)
        };
    }
    last_pair + 2 * array.rows + array.cols - 2
}

/// Cycles of the Bit-Pragmatic array (`blocks::pe_array::pragmatic`) for tiles of `tile_terms`
/// term cycles each, in order: the first pair is taken at edge 1 and its terms follow; each
/// tile's terms follow the previous tile's capture, which its own capture may not follow by
/// fewer than R edges (the drain); the last of the R result rows leaves R edges after the last
/// capture: `1 + S_0 + Σ_{j≥1} max(S_j, R) + R`.
pub fn pragmatic_array_cycles(array: ArrayShape, tile_terms: &[u64]) -> u64 {
    let mut capture = 1;
    for (index, &terms) in tile_terms.iter().enumerate() {
        capture += if index == 0 {
            terms
        } else {
            terms.max(array.rows)
        };
    }
    capture + array.rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Dataflow;
    use crate::golden::cycles::{predicted_cycles, GemmShape};
    use ndarray::array;

    #[test]
    fn equal_tiles_give_the_dense_output_stationary_count() {
        let array = ArrayShape { rows: 4, cols: 3 };
        for (m, k, n) in [(8, 2, 6), (5, 9, 3), (4, 4, 4)] {
            let gemm = GemmShape { m, k, n };
            let tiles = vec![k; (m.div_ceil(4) * n.div_ceil(3)) as usize];
            assert_eq!(
                Some(skipping_array_cycles(array, &tiles)),
                predicted_cycles(Dataflow::OutputStationary, array, gemm),
                "{gemm:?}"
            );
        }
    }

    #[test]
    fn a_block_keeps_its_first_column_and_every_column_with_a_nonzero() {
        let a = array![[5, 5, 1, 5], [5, 5, 5, 5], [5, 2, 5, 5]];
        let map = ZeroMap::of(&a, 5);
        // Blocks of two rows: rows 0–1 keep 0 and 2; row 2 (a short block) keeps 0 and 1.
        assert_eq!(
            map.kept_columns(0..3, 0..4, 2),
            vec![vec![0, 2], vec![0, 1]]
        );
        // A run over columns 1..4 counts from its own first column.
        assert_eq!(map.kept_columns(0..2, 1..4, 2), vec![vec![0, 1]]);
        assert!((map.skipped_fraction(2) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_pragmatic_brick_takes_its_busiest_lanes_one_bits_and_at_least_one_cycle() {
        // Zero point 3: centred rows [4, 0, 3, 0] (one-bits 1, 0, 2, 0) and [-7, 0, 0, 0]
        // (|−7| = 7: three). Column 1 is dropped; column 3 is dropped; column 0 keeps 3.
        let a = array![[7, 3, 6, 3], [-4, 3, 3, 3]];
        let map = ZeroMap::of(&a, 3);
        assert_eq!(map.kept_columns(0..2, 0..4, 2), vec![vec![0, 2]]);
        assert_eq!(map.kept_terms(0..2, 0..4, 2), vec![vec![3, 2]]);
        // A kept first column of zeros still takes one cycle.
        assert_eq!(map.kept_terms(0..2, 1..4, 2), vec![vec![1, 2]]);
        let run = SkippingRun::pragmatic(ArrayShape { rows: 2, cols: 2 }, &[vec![3, 2]], 2, 4);
        assert_eq!(run.ifmap_words, 2);
        // Its weights are dense: 2 N-folds of 4 steps.
        assert_eq!((run.weight_words, run.pairs), (8, 4));
        assert_eq!(run.terms, 10);
        // Tiles of 5 terms each: captures at 1+5 and 6+5, the last row 2 cycles later.
        assert_eq!(run.array_cycles, 13);
    }

    #[test]
    fn a_gated_pair_counts_its_zero_rows_and_columns_once_each_padding_included() {
        // Zero point 1. A (3 × 2): column 0 centred [0, 2, 0], column 1 [1, 1, 1].
        let a = array![[1, 2], [3, 2], [1, 2]];
        // B (2 × 3): row 0 [0, 5, 0], row 1 [4, 4, 4].
        let b = array![[0, 5, 0], [4, 4, 4]];
        let map = ZeroMap::of(&a, 1).with_weights(&b);
        let array = ArrayShape { rows: 2, cols: 2 };
        // Blocks {0, 1} and {2, pad}; folds {0, 1} and {2, pad}; both columns streamed.
        // k = 0: za = 1 and 2 (a padded row is the zero point), zw = 1 and 2 (a padded
        // column is a zero weight): (1·2 + 1·2 − 1) + (1·2 + 2·2 − 2) + (2·2 + 1·2 − 2)
        // + (2·2 + 2·2 − 4) = 3 + 4 + 4 + 4. k = 1: za = 0 and 1, zw = 0 and 1: 0 + 2 + 2 + 3.
        let all = vec![vec![0, 1]; 2];
        let run = (0..3, 0..2, 0..3);
        assert_eq!(
            map.gated_macs(run.clone(), array, Streamed::PerBlock(&all)),
            Some(15 + 7)
        );
        assert_eq!(
            map.gated_macs(run.clone(), array, Streamed::All),
            Some(15 + 7)
        );
        // Only the streamed columns count.
        let first = vec![vec![0]; 2];
        assert_eq!(
            map.gated_macs(run.clone(), array, Streamed::PerBlock(&first)),
            Some(15)
        );
        assert_eq!(
            ZeroMap::of(&a, 1).gated_macs(run, array, Streamed::All),
            None
        );
    }

    #[test]
    fn a_short_pragmatic_tile_waits_for_the_previous_drain() {
        let array = ArrayShape { rows: 4, cols: 2 };
        // Tiles of 6, 1 and 5 term cycles: captures at 7, 7+4, 11+5; the last row 4 later.
        assert_eq!(pragmatic_array_cycles(array, &[6, 1, 5]), 16 + 4);
    }

    #[test]
    fn a_short_tile_still_waits_for_the_previous_drain() {
        let array = ArrayShape { rows: 4, cols: 2 };
        // Tiles of 6, 1 and 5 pairs: last pairs at 6, 6+4, 10+5.
        assert_eq!(skipping_array_cycles(array, &[6, 1, 5]), 15 + 8 + 2 - 2);
    }

    #[test]
    fn a_gating_weight_skipping_core_gates_the_steps_each_n_fold_streams() {
        // The example above, streaming per N-fold: fold 0 (columns 0 and 1) step 0 only, fold 1
        // (column 2 and a padded one) steps 0 and 1; every row block replays its fold's steps. k = 0: (block, fold) pairs
        // gate 3 + 4 (fold 0) and 4 + 4 (fold 1); k = 1 on fold 1 only: 2 (block 0) + 3.
        let a = array![[1, 2], [3, 2], [1, 2]];
        let b = array![[0, 5, 0], [4, 4, 4]];
        let map = ZeroMap::of(&a, 1).with_weights(&b);
        let array = ArrayShape { rows: 2, cols: 2 };
        let per_fold = vec![vec![0], vec![0, 1]];
        assert_eq!(
            map.gated_macs((0..3, 0..2, 0..3), array, Streamed::PerFold(&per_fold)),
            Some(15 + 2 + 3)
        );
    }

    #[test]
    fn an_n_fold_keeps_its_first_step_and_every_step_with_a_nonzero_weight() {
        // B (5 × 5), N-folds of 2 columns: {0, 1}, {2, 3} and a short {4}.
        let b = array![
            [0, 0, 0, 0, 0],
            [0, 3, 0, 0, 0],
            [0, 0, 0, 0, 7],
            [0, 0, 0, -1, 0],
            [2, 0, 0, 0, 0],
        ];
        let a = Array2::<i64>::zeros((1, 5));
        let map = ZeroMap::of(&a, 0).with_weights(&b);
        assert_eq!(
            map.kept_steps(0..5, 0..5, 2),
            Some(vec![vec![0, 1, 4], vec![0, 3], vec![0, 2]])
        );
        // A run over steps 2..5 and columns 1..5 counts from its own first step and column:
        // folds {1, 2} (nothing past step 0) and {3, 4} (steps 2 → 0, 3 → 1).
        assert_eq!(
            map.kept_steps(2..5, 1..5, 2),
            Some(vec![vec![0], vec![0, 1]])
        );
        // 3 + 2 + 2 of 3 folds · 5 steps kept.
        let fraction = map.skipped_weight_fraction(2).unwrap();
        assert!((fraction - (1.0 - 7.0 / 15.0)).abs() < 1e-12);
        // Without the weights there is nothing to keep by.
        assert_eq!(ZeroMap::of(&a, 0).kept_steps(0..5, 0..5, 2), None);
        assert_eq!(ZeroMap::of(&a, 0).skipped_weight_fraction(2), None);
    }

    #[test]
    fn a_weight_skipping_run_replays_each_folds_steps_for_every_row_block() {
        let array = ArrayShape { rows: 4, cols: 2 };
        // Two N-folds keeping 6 and 1 of 9 steps, three row blocks: tiles 6, 6, 6, 1, 1, 1.
        let kept = [vec![0, 1, 2, 4, 6, 8], vec![0]];
        let run = SkippingRun::of_weights(array, &kept, 3, 9);
        assert_eq!(run.ifmap_words, 3 * 9, "the ifmap is dense");
        assert_eq!(run.weight_words, 7);
        assert_eq!(run.pairs, 3 * 7);
        assert_eq!(
            run.array_cycles,
            skipping_array_cycles(array, &[6, 6, 6, 1, 1, 1])
        );
        // Last pairs at 6, 6+6, 12+6, then three short tiles waiting 4 each: 30; the last row
        // leaves 2·4 + 2 − 2 edges later.
        assert_eq!(run.array_cycles, 30 + 8);
        assert_eq!(run.terms, 0);
        // Every step kept is the dense count.
        let dense = SkippingRun::of_weights(array, &[(0..9).collect(), (0..9).collect()], 3, 9);
        let of_columns = SkippingRun::of(array, &vec![(0..9).collect(); 3], 2, 9);
        assert_eq!(dense, of_columns);
    }
}
