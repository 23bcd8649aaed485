//! The cycle model: how many clock cycles the generated PE arrays take for a GEMM of M×K×N on
//! an R×C array, at full rate (every valid and ready high whenever the array allows), from the
//! first cycle after reset to the cycle that delivers the last result beat.
//!
//! It is written from the arrays' handshake rules (documented atop `blocks::pe_array::*`), one
//! closed form or one O(1) step per tile, never a cycle-by-cycle simulation, and it must equal the
//! RTL exactly: tb/tests/arrays.rs compares it with Verilator on every shape it runs.
//! Also here: the ideal count and SCALE-Sim v2's analytical count, for comparison.

use crate::config::Dataflow;

/// A GEMM `C[M×N] = A[M×K] · B[K×N]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmShape {
    pub m: u64,
    pub k: u64,
    pub n: u64,
}

impl GemmShape {
    pub fn macs(&self) -> u64 {
        self.m * self.k * self.n
    }
}

/// An array of `rows` × `cols` PEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayShape {
    pub rows: u64,
    pub cols: u64,
}

/// How a dataflow cuts a GEMM into tiles: `tiles` tiles of `beats` streamed beats each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tiling {
    pub tiles: u64,
    /// Beats each tile streams: M activation vectors (WS), N weight vectors (IS), K pairs (OS).
    pub beats: u64,
}

/// The tiling the generated array uses; `None` for dataflows this version does not build.
pub fn tiling(dataflow: Dataflow, array: ArrayShape, gemm: GemmShape) -> Option<Tiling> {
    let folds = |size: u64, across: u64| size.div_ceil(across);
    let (tiles, beats) = match dataflow {
        // Tiles of B (K×N) stay; the M rows of A stream through each.
        Dataflow::WeightStationary => (
            folds(gemm.k, array.rows) * folds(gemm.n, array.cols),
            gemm.m,
        ),
        // Tiles of Aᵀ (K×M) stay; the N columns of B stream through each.
        Dataflow::InputStationary => (
            folds(gemm.k, array.rows) * folds(gemm.m, array.cols),
            gemm.n,
        ),
        // Tiles of C (M×N) stay; K pairs stream through each.
        Dataflow::OutputStationary => (
            folds(gemm.m, array.rows) * folds(gemm.n, array.cols),
            gemm.k,
        ),
        Dataflow::RowStationary => return None,
    };
    Some(Tiling { tiles, beats })
}

/// Cycles the generated array takes at full rate; `None` for dataflows it does not build and for
/// empty shapes (a zero dimension or array axis).
pub fn predicted_cycles(dataflow: Dataflow, array: ArrayShape, gemm: GemmShape) -> Option<u64> {
    if [gemm.m, gemm.k, gemm.n, array.rows, array.cols].contains(&0) {
        return None;
    }
    let tiling = tiling(dataflow, array, gemm)?;
    Some(match dataflow {
        Dataflow::OutputStationary => output_stationary(array, tiling),
        _ => stationary(array, tiling, array.rows + array.cols - 1),
    })
}

/// Cycles of a bit-serial weight-stationary array (`pe.kind: bit_serial`) running `p`-bit
/// activations: it is the parallel array stepping, loading and handing out results only in the
/// last of every `p` bit phases, which start at reset (or a phase restart), so its `e`-th step
/// is cycle `p·e`; and each row registers its activation once more before its PEs read it bit by
/// bit, so a beat crosses the array in R+C steps instead of R+C−1. `None` for an empty shape.
pub fn bit_serial_cycles(array: ArrayShape, gemm: GemmShape, precision: u64) -> Option<u64> {
    if [gemm.m, gemm.k, gemm.n, array.rows, array.cols].contains(&0) {
        return None;
    }
    let tiling = tiling(Dataflow::WeightStationary, array, gemm)?;
    let depth = array.rows + array.cols;
    Some(precision * stationary(array, tiling, depth))
}

/// Pipeline stages of the post-process unit (`blocks::post_process::LATENCY`; the core's tests
/// check that this model and the RTL agree).
pub const POST_PROCESS_LATENCY: u64 = 5;

/// Cycles the buffered GEMM core (`blocks::gemm_core`, weight- or output-stationary) computes a
/// GEMM at full rate — its compute phase: its buffers feed the array every cycle, so it is the
/// array's count (a bit-serial array's at `serial_bits`, [`bit_serial_cycles`]: its bit phases
/// restart with the compute phase), the post-process pipeline when the run `finish`es (sends
/// results out), and the cycle in which the end is noticed.
pub fn gemm_core_cycles(
    dataflow: Dataflow,
    array: ArrayShape,
    gemm: GemmShape,
    finish: bool,
    serial_bits: Option<u64>,
) -> u64 {
    let array_cycles = array_cycles(dataflow, array, gemm, serial_bits);
    core_compute_cycles(
        array_cycles.expect("the core's dataflows are modelled"),
        finish,
    )
}

/// The core's compute phase around an array count of `array_cycles`: the post-process pipeline
/// when the run `finish`es, and the cycle in which the end is noticed.
pub fn core_compute_cycles(array_cycles: u64, finish: bool) -> u64 {
    let post_process = if finish { POST_PROCESS_LATENCY } else { 0 };
    array_cycles + post_process + 1
}

/// The array's count: [`bit_serial_cycles`] at `serial_bits` bits per activation, or
/// [`predicted_cycles`] for a parallel array (`serial_bits` `None`).
pub fn array_cycles(
    dataflow: Dataflow,
    array: ArrayShape,
    gemm: GemmShape,
    serial_bits: Option<u64>,
) -> Option<u64> {
    match serial_bits {
        Some(bits) => bit_serial_cycles(array, gemm, bits),
        None => predicted_cycles(dataflow, array, gemm),
    }
}

/// Weight- and input-stationary (`blocks::pe_array::stationary`). Edges are numbered from 1,
/// the first after reset. Per tile t: the R loading beats occupy edges F..=W (one per edge), and
/// the P streamed beats S..S+P−1. Rules of the RTL:
/// - loading is sequential, and tile t (t ≥ 2) loads into the bank tile t−2 used, which is free
///   the edge after that tile's last beat retires, D = R+C−1 edges after it entered;
/// - a tile streams once its bank is loaded, right after the previous tile's last beat;
/// - the last result leaves D edges after the last beat entered.
fn stationary(array: ArrayShape, tiling: Tiling, depth: u64) -> u64 {
    let (rows, beats) = (array.rows, tiling.beats);
    // (last loading edge, first stream edge) of tiles t−1 and t−2.
    let mut previous: Option<(u64, u64)> = None;
    let mut before_previous: Option<(u64, u64)> = None;
    let mut stream_start = 0;
    for _ in 0..tiling.tiles {
        let first_load = match (previous, before_previous) {
            (None, _) => 1,
            (Some((loaded, _)), None) => loaded + 1,
            (Some((loaded, _)), Some((_, start))) => (loaded + 1).max(start + beats + depth),
        };
        let loaded = first_load + rows - 1;
        stream_start = match previous {
            None => loaded + 1,
            Some((_, start)) => (loaded + 1).max(start + beats),
        };
        before_previous = previous;
        previous = Some((loaded, stream_start));
    }
    stream_start + beats - 1 + depth
}

/// Output-stationary (`blocks::pe_array::output_stationary`): pairs stream from edge 1; a tile's
/// last pair may enter no sooner than R edges after the previous tile's (the drain needs R
/// cycles per tile), and the last of its R result rows leaves (R+C−1) + (R−1) edges after it.
fn output_stationary(array: ArrayShape, tiling: Tiling) -> u64 {
    let last_pair = tiling.beats + (tiling.tiles - 1) * tiling.beats.max(array.rows);
    last_pair + 2 * array.rows + array.cols - 2
}

/// `ceil(M·K·N / (R·C))`: every PE busy every cycle, no fill or drain.
pub fn ideal_cycles(array: ArrayShape, gemm: GemmShape) -> u64 {
    gemm.macs().div_ceil(array.rows * array.cols)
}

/// SCALE-Sim v2's analytical compute-cycle count (commit 22f88b1) for the same array, which
/// fills and drains every fold; `None` for row-stationary, which it does not model.
pub fn scalesim_cycles(dataflow: Dataflow, array: ArrayShape, gemm: GemmShape) -> Option<u64> {
    let (r, c) = (array.rows, array.cols);
    let folds = |size: u64, across: u64| size.div_ceil(across);
    Some(match dataflow {
        Dataflow::OutputStationary => {
            folds(gemm.m, r) * folds(gemm.n, c) * (gemm.k + r + c - 2) - 1
        }
        Dataflow::WeightStationary => {
            folds(gemm.k, r) * folds(gemm.n, c) * (2 * r + c + gemm.m - 2) - 1
        }
        Dataflow::InputStationary => {
            folds(gemm.k, r) * folds(gemm.m, c) * (2 * r + c + gemm.n - 2) - 1
        }
        Dataflow::RowStationary => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn shape(m: u64, k: u64, n: u64) -> GemmShape {
        GemmShape { m, k, n }
    }

    fn square(size: u64) -> ArrayShape {
        ArrayShape {
            rows: size,
            cols: size,
        }
    }

    #[test]
    fn ws_with_long_tiles_streams_back_to_back_after_one_load_and_one_drain() {
        // R + tiles·M + (R+C−1) once M ≥ 2R+C−1 (the bound measured in the RTL).
        let array = ArrayShape { rows: 4, cols: 3 };
        for m in [10, 11, 40] {
            let gemm = shape(m, 9, 7);
            let tiles = 3 * 3;
            assert_eq!(
                predicted_cycles(Dataflow::WeightStationary, array, gemm),
                Some(4 + tiles * m + 6),
                "M = {m}"
            );
        }
    }

    #[test]
    fn ws_with_short_tiles_waits_for_the_bank_two_tiles_back() {
        // 4×4, M = 8 < 2R+C−1 = 11: tile t+2's load waits for tile t's drain.
        // Tile t+2 loads (R edges) once tile t's last vector retires (M−1+D edges after tile t
        // started), so its first vector enters at S[t+2] = S[t] + M + D + R = S[t] + 19 > 2M:
        // S = 5, 13, 24, 32, …; the 12th tile starts at edge 13 + 5·19 = 108, and its last
        // result leaves M−1+D edges later.
        let array = square(4);
        let cycles = predicted_cycles(Dataflow::WeightStationary, array, shape(8, 12, 16)).unwrap();
        assert_eq!(cycles, 108 + 7 + 7);
        assert!(cycles > 4 + 12 * 8 + 7, "more than back to back");
    }

    #[test]
    fn is_is_ws_with_m_and_n_swapped() {
        let array = ArrayShape { rows: 5, cols: 3 };
        for (m, k, n) in [(1, 1, 1), (7, 13, 2), (64, 64, 64), (3, 20, 30)] {
            assert_eq!(
                predicted_cycles(Dataflow::InputStationary, array, shape(m, k, n)),
                predicted_cycles(Dataflow::WeightStationary, array, shape(n, k, m)),
            );
        }
    }

    #[test]
    fn os_64_cubed_on_8x8_is_within_1_percent_of_ideal_and_below_scalesim() {
        let (array, gemm) = (square(8), shape(64, 64, 64));
        let cycles = predicted_cycles(Dataflow::OutputStationary, array, gemm).unwrap();
        assert_eq!(cycles, 64 * 64 + 16 + 8 - 2);
        assert_eq!(ideal_cycles(array, gemm), 4096);
        assert_eq!(
            scalesim_cycles(Dataflow::OutputStationary, array, gemm),
            Some(64 * (64 + 14) - 1)
        );
    }

    #[test]
    fn os_tiles_shorter_than_the_array_height_take_r_cycles_each() {
        let array = square(4);
        // K = 1: each of the 4 tiles is held to 4 cycles.
        let cycles = predicted_cycles(Dataflow::OutputStationary, array, shape(8, 1, 8));
        assert_eq!(cycles, Some(1 + 3 * 4 + 8 + 4 - 2));
    }

    #[test]
    fn scalesim_formulas_match_the_published_ones() {
        let array = ArrayShape { rows: 8, cols: 4 };
        let gemm = shape(30, 20, 10);
        assert_eq!(
            scalesim_cycles(Dataflow::WeightStationary, array, gemm),
            Some(3 * 3 * (16 + 4 + 30 - 2) - 1)
        );
        assert_eq!(
            scalesim_cycles(Dataflow::InputStationary, array, gemm),
            Some(3 * 8 * (16 + 4 + 10 - 2) - 1)
        );
        assert_eq!(
            scalesim_cycles(Dataflow::OutputStationary, array, gemm),
            Some(4 * 3 * (20 + 8 + 4 - 2) - 1)
        );
        assert_eq!(ideal_cycles(array, gemm), 6000 / 32 + 1);
    }

    #[test]
    fn empty_shapes_have_no_prediction() {
        let array = square(2);
        for gemm in [shape(0, 1, 1), shape(1, 0, 1), shape(1, 1, 0)] {
            assert_eq!(
                predicted_cycles(Dataflow::OutputStationary, array, gemm),
                None
            );
        }
    }

    #[test]
    fn row_stationary_is_not_modelled() {
        let gemm = shape(2, 2, 2);
        assert_eq!(
            predicted_cycles(Dataflow::RowStationary, square(2), gemm),
            None
        );
        assert_eq!(
            scalesim_cycles(Dataflow::RowStationary, square(2), gemm),
            None
        );
    }
}
