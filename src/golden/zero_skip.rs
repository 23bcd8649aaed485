//! The zero-skipping model: which reduction steps of A an activation-skipping core keeps, and
//! how many cycles its output-stationary array then takes.
//!
//! A skipping core (`config::ZeroSkipSpec`, RTL in `blocks::gemm_core::output_stationary`)
//! streams, for every block of R rows of A, only the columns in which some row is not the
//! activation zero point: a dropped column is R activations equal to the zero point, which
//! the core centres to 0 before the array, so dropping it changes no sum. The host keeps every
//! block's first column (so no block is empty, and the feeder knows where a run starts), and
//! pads a last, short block with the zero point. Each block is then one tile of as many pairs
//! as it has kept columns, which is all the cycle model needs ([`skipping_array_cycles`]).

use std::ops::Range;

use ndarray::Array2;

use super::cycles::ArrayShape;

/// Where a GEMM's stored activations differ from the zero point: what a skipping core keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZeroMap {
    zero_point: i64,
    /// `nonzero[[m, k]]`: A[m][k] is not the zero point.
    nonzero: Array2<bool>,
}

impl ZeroMap {
    /// The map of A (M × K stored activations) for activations whose real zero is `zero_point`.
    pub fn of(a: &Array2<i64>, zero_point: i64) -> ZeroMap {
        ZeroMap {
            zero_point,
            nonzero: a.mapv(|value| value != zero_point),
        }
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
        rows.clone()
            .step_by(block)
            .map(|first| {
                let last = (first + block).min(rows.end);
                let mut kept = vec![0];
                kept.extend(
                    (1..depth.len())
                        .filter(|&k| (first..last).any(|m| self.nonzero[[m, depth.start + k]])),
                );
                kept
            })
            .collect()
    }

    /// The whole GEMM's fraction of columns a skipping core drops, over `block`-row blocks.
    pub fn skipped_fraction(&self, block: usize) -> f64 {
        let (rows, depth) = self.nonzero.dim();
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

/// What a skipping core's run streams: its compacted ifmap words and its array's cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SkippingRun {
    /// Kept columns over the run's row blocks: the ifmap words it loads.
    pub ifmap_words: u64,
    /// The array's count for the run ([`skipping_array_cycles`]).
    pub array_cycles: u64,
}

impl SkippingRun {
    /// The run of `kept` (a block's kept columns, [`ZeroMap::kept_columns`]) on `array`, for
    /// each of `n_folds` N-folds.
    pub fn of(array: ArrayShape, kept: &[Vec<usize>], n_folds: u64) -> SkippingRun {
        let beats: Vec<u64> = kept.iter().map(|columns| columns.len() as u64).collect();
        let tiles: Vec<u64> = (0..n_folds).flat_map(|_| beats.iter().copied()).collect();
        SkippingRun {
            ifmap_words: beats.iter().sum(),
            array_cycles: skipping_array_cycles(array, &tiles),
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
    fn a_short_tile_still_waits_for_the_previous_drain() {
        let array = ArrayShape { rows: 4, cols: 2 };
        // Tiles of 6, 1 and 5 pairs: last pairs at 6, 6+4, 10+5.
        assert_eq!(skipping_array_cycles(array, &[6, 1, 5]), 15 + 8 + 2 - 2);
    }
}
