//! Memory traffic per level of the hierarchy, counted analytically from the tiling the hardware
//! uses (`golden::cycles::tiling`), in bits.
//!
//! Notation: GEMM M×K×N on an R×C array; a, w, p the activation, weight and accumulator widths;
//! `⌈x/y⌉` folds. The stationary dataflows run T tiles of P streamed beats each:
//! WS holds weights, T = ⌈K/R⌉·⌈N/C⌉, P = M; IS holds activations, T = ⌈K/R⌉·⌈M/C⌉, P = N.
//! Output-stationary runs T = ⌈M/R⌉·⌈N/C⌉ tiles of K pairs. Every PE of the array works in every
//! beat (padding lanes of partial tiles compute on zeros: the RTL has no zero gating), so the
//! array issues T·P·R·C MACs (OS: T·K·R·C), at least M·K·N.
//!
//! Inside the array (per issued MAC, plus the loading or draining of each tile):
//! - WS/IS: one read of the held operand's register (RF); the streamed operand moves one PE to
//!   the right and the partial sum one PE down (PE-to-PE). Each tile loads R·C held values into
//!   the idle bank (RF writes) through the column shift chain: beat i travels R−i rows, so
//!   C·R(R+1)/2 hops per tile (PE-to-PE).
//! - OS: the accumulator is read and written (2 RF accesses of p bits); the activation and the
//!   weight each move one PE on (PE-to-PE). Each tile's R·C results are written to the result
//!   registers (RF) and shift down the columns to leave: C·R(R+1)/2 hops of p bits.
//!
//! Between the array and memory: WS/IS read R·C held values per tile and P vectors of R streamed
//! values per tile; OS reads K activation vectors (R lanes) and K weight vectors (C lanes) per
//! tile. A reduction longer than R is accumulated over ⌈K/R⌉ folds: every fold but the last spills
//! its partial sums, (⌈K/R⌉−1)·⌈N/C⌉·M words of C·p bits (IS: M and N swapped), written once and
//! read back once. Final outputs are requantized to a-bit values (the next layer's activations).
//!
//! Where that traffic lands depends on the scope (`schedule::Scope`):
//! - datapath (no global buffer): the array is fed from DRAM, so DRAM reads = held + streamed +
//!   spill reads, DRAM writes = spill writes + M·N·a;
//! - core: the array reads its operands from the ifmap and weight regions (whole words, padding
//!   lanes included) and spills to the psum region; the DMA fills the regions from DRAM for each
//!   core run that does not find them there already (`schedule::core_chunks`), and stores the
//!   result rows the post-process unit wrote into the ofmap region. DRAM traffic is what the DMA
//!   moves, in whole bus beats (`golden::dma`, the same bytes the core's counters report); buffer
//!   writes are the words the fills occupy. A run that does not finish its reduction leaves its
//!   partial sums in the psum region for the next (counted as one more spill).
//!
//! A window-mode run (`blocks::gemm_core::window`) is its M×K×N GEMM for the array and the
//! buffer reads, but its DMA fills the ifmap region with the input tile (`Window::words` words,
//! each in whole beats) instead of A. Its ifmap reads stay K-folds·M·N-folds words: the feeder
//! offers the array a beat per step and pixel, and a tap in the padding, which reads no word
//! (the feeder sends the zero point), is counted as a read all the same, so the figure does not
//! depend on where the padding falls ([`layer_traffic`]).
//!
//! A zero-skipping core's run (`Chunk::skipping`) streams only its kept pairs: an
//! activation-skipping core each row block's kept columns once per N-fold, a weight-skipping
//! core each N-fold's kept steps once per row block (`SkippingRun::pairs`). Every pair reads a
//! whole word of each operand's region (the compacted operand's word carries its index bits),
//! and the DMA fills the compacted region with the kept words only (`Chunk::run_shape`).

use std::iter::Sum;
use std::ops::{Add, AddAssign};

use serde::Serialize;

use super::schedule::{core_chunks, layer_plans, Chunk, Scope};
use super::workload::LayerShape;
use crate::blocks::gemm_core::{self, Layout};
use crate::config::{AcceleratorSpec, Dataflow, PeSpec};
use crate::golden::cycles::{tiling, ArrayShape, GemmShape};
use crate::golden::dma::{self, Outputs, RunSettings};

/// Bits moved at each level (and MACs issued) for one GEMM or a sum of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    /// MACs the array issues, padding lanes included.
    pub macs_issued: u64,
    /// Of those, the MACs a zero-gating array gates on a zero operand (`PERF_GATED_MACS`); 0
    /// on other arrays.
    pub macs_gated: u64,
    /// Bit-serial arrays: the bit steps of those MACs (Stripes: one per activation bit
    /// streamed, `RunSettings::serial_bits`; Pragmatic: every PE's add on each of the run's
    /// term cycles, `SkippingRun::terms`); 0 for a parallel array.
    pub mac_bit_steps: u64,
    /// Reads and writes of registers inside PEs.
    pub register_file_bits: u64,
    /// Moves between neighbouring PEs.
    pub pe_to_pe_bits: u64,
    /// Global-buffer reads and writes, per region (zero without buffers).
    pub ifmap_buffer_bits: u64,
    pub weight_buffer_bits: u64,
    pub psum_buffer_bits: u64,
    /// Result rows written by the post-process unit and read by the DMA's store.
    pub ofmap_buffer_bits: u64,
    pub dram_read_bits: u64,
    pub dram_write_bits: u64,
}

impl Traffic {
    /// Every global-buffer region.
    pub fn global_buffer_bits(&self) -> u64 {
        self.ifmap_buffer_bits
            + self.weight_buffer_bits
            + self.psum_buffer_bits
            + self.ofmap_buffer_bits
    }

    pub fn dram_bits(&self) -> u64 {
        self.dram_read_bits + self.dram_write_bits
    }
}

impl Add for Traffic {
    type Output = Traffic;
    fn add(self, other: Traffic) -> Traffic {
        Traffic {
            macs_issued: self.macs_issued + other.macs_issued,
            macs_gated: self.macs_gated + other.macs_gated,
            mac_bit_steps: self.mac_bit_steps + other.mac_bit_steps,
            register_file_bits: self.register_file_bits + other.register_file_bits,
            pe_to_pe_bits: self.pe_to_pe_bits + other.pe_to_pe_bits,
            ifmap_buffer_bits: self.ifmap_buffer_bits + other.ifmap_buffer_bits,
            weight_buffer_bits: self.weight_buffer_bits + other.weight_buffer_bits,
            psum_buffer_bits: self.psum_buffer_bits + other.psum_buffer_bits,
            ofmap_buffer_bits: self.ofmap_buffer_bits + other.ofmap_buffer_bits,
            dram_read_bits: self.dram_read_bits + other.dram_read_bits,
            dram_write_bits: self.dram_write_bits + other.dram_write_bits,
        }
    }
}

impl AddAssign for Traffic {
    fn add_assign(&mut self, other: Traffic) {
        *self = *self + other;
    }
}

impl Sum for Traffic {
    fn sum<I: Iterator<Item = Traffic>>(iter: I) -> Traffic {
        iter.fold(Traffic::default(), Add::add)
    }
}

/// The array's side of one GEMM run: what happens inside it and what it reads and spills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ArraySide {
    macs_issued: u64,
    register_file_bits: u64,
    pe_to_pe_bits: u64,
    /// Held-operand values loaded into the PEs (WS: weights, IS: activations).
    held_bits: u64,
    /// Activation bits read from memory (WS: streamed, IS: held, OS: streamed).
    act_read_bits: u64,
    /// Weight bits read from memory.
    weight_read_bits: u64,
    /// Partial sums spilled between K-folds: written once and read once each.
    spill_bits: u64,
}

fn array_side(dataflow: Dataflow, array: ArrayShape, pe: &PeSpec, gemm: GemmShape) -> ArraySide {
    let (r, c) = (array.rows, array.cols);
    let (a, w, p) = (
        u64::from(pe.act.bits),
        u64::from(pe.weight.bits),
        u64::from(pe.acc_bits),
    );
    let tiles = tiling(dataflow, array, gemm).expect("validated dataflows are modelled");
    let (t, beats) = (tiles.tiles, tiles.beats);
    let slots = t * beats * r * c;
    let chain_hops = t * c * r * (r + 1) / 2;
    let k_folds = gemm.k.div_ceil(r);
    match dataflow {
        Dataflow::OutputStationary => {
            output_stationary_side(array, t, t * beats, a, (r * a, c * w), pe)
        }
        _ => {
            let input_stationary = dataflow == Dataflow::InputStationary;
            let (held, streamed) = if input_stationary { (a, w) } else { (w, a) };
            let held_bits = t * r * c * held;
            let streamed_bits = t * beats * r * streamed;
            // Output folds: the columns of C (WS) or of Cᵀ (IS) the array covers per pass.
            let out_folds = if input_stationary {
                gemm.m.div_ceil(c)
            } else {
                gemm.n.div_ceil(c)
            };
            let (act_read_bits, weight_read_bits) = if input_stationary {
                (held_bits, streamed_bits)
            } else {
                (streamed_bits, held_bits)
            };
            ArraySide {
                macs_issued: slots,
                register_file_bits: slots * held + t * r * c * held,
                pe_to_pe_bits: slots * (streamed + p) + chain_hops * held,
                held_bits,
                act_read_bits,
                weight_read_bits,
                spill_bits: (k_folds - 1) * out_folds * beats * c * p,
            }
        }
    }
}

/// The output-stationary array's side of `tiles` tiles streaming `pairs` pairs in all: every
/// pair is R·C MACs, an `act_bits`-bit activation per row crossing the array and a weight per
/// column, one ifmap read of `read_bits.0` and one weight read of `read_bits.1`; each tile's
/// sums shift down its columns once.
fn output_stationary_side(
    array: ArrayShape,
    tiles: u64,
    pairs: u64,
    act_bits: u64,
    (act_read_bits, weight_read_bits): (u64, u64),
    pe: &PeSpec,
) -> ArraySide {
    let (r, c) = (array.rows, array.cols);
    let (w, p) = (u64::from(pe.weight.bits), u64::from(pe.acc_bits));
    let slots = pairs * r * c;
    ArraySide {
        macs_issued: slots,
        register_file_bits: slots * 2 * p + tiles * r * c * p,
        pe_to_pe_bits: slots * (act_bits + w) + tiles * c * r * (r + 1) / 2 * p,
        held_bits: 0,
        act_read_bits: pairs * act_read_bits,
        weight_read_bits: pairs * weight_read_bits,
        spill_bits: 0,
    }
}

/// The array side of a zero-skipping core's run: the pairs it streams (`SkippingRun::pairs`:
/// an activation-skipping core's kept columns once per N-fold, a weight-skipping core's kept
/// steps once per row block) instead of every reduction step, with the activations crossing
/// the array as the core gives them (centred, one bit wider, when it centres), and each read a
/// whole word of its region: the compacted operand's words carry their index, the other
/// operand's are dense.
fn skipping_side(
    spec: &AcceleratorSpec,
    array: ArrayShape,
    gemm: GemmShape,
    skipping: crate::golden::zero_skip::SkippingRun,
) -> ArraySide {
    let tiles = gemm.m.div_ceil(array.rows) * gemm.n.div_ceil(array.cols);
    let buffers = spec.buffers.as_ref().expect("a skipping core has buffers");
    output_stationary_side(
        array,
        tiles,
        skipping.pairs,
        u64::from(spec.zero_skip.array_act(spec.pe.act).bits),
        (
            u64::from(buffers.ifmap.word_bits),
            u64::from(buffers.weight.word_bits),
        ),
        &spec.pe,
    )
}

/// The traffic of `gemm` on `spec`'s hardware at `scope`; `None` if the core cannot hold one
/// K-fold of it.
pub fn gemm_traffic(
    spec: &AcceleratorSpec,
    scope: Scope,
    gemm: GemmShape,
    settings: RunSettings,
) -> Option<Traffic> {
    let array = super::schedule::array_shape(spec);
    let dataflow = spec.pe_array.dataflow;
    // A bare array's outputs go to DRAM at the activation width (the next layer's input); the
    // core's packed store always writes bytes, which the core branch counts from its bursts.
    let output_bits = match settings.outputs {
        Outputs::Bytes => u64::from(spec.pe.act.bits),
        Outputs::Words => u64::from(spec.pe.acc_bits),
    };
    let outputs = gemm.m * gemm.n * output_bits;
    match (scope, &spec.buffers) {
        (Scope::Core, Some(_)) => core_traffic(spec, &core_chunks(spec, gemm, settings, None)?),
        _ => {
            let side = array_side(dataflow, array, &spec.pe, gemm);
            Some(Traffic {
                macs_issued: side.macs_issued,
                mac_bit_steps: bit_steps(spec, settings, side.macs_issued),
                register_file_bits: side.register_file_bits,
                pe_to_pe_bits: side.pe_to_pe_bits,
                dram_read_bits: side.act_read_bits + side.weight_read_bits + side.spill_bits,
                dram_write_bits: side.spill_bits + outputs,
                ..Traffic::default()
            })
        }
    }
}

/// The traffic of `shape`'s layer on `spec`'s hardware at `scope`: at core scope the runs
/// `schedule::layer_plans` gives it (window mode when the layer has it), else the sum of its
/// GEMMs' ([`gemm_traffic`]). `None` if the core cannot hold one K-fold of a GEMM.
pub fn layer_traffic(spec: &AcceleratorSpec, scope: Scope, shape: &LayerShape) -> Option<Traffic> {
    match (scope, &spec.buffers) {
        (Scope::Core, Some(_)) => {
            let mut traffic = Traffic::default();
            for program in layer_plans(spec, shape)? {
                traffic += core_traffic(spec, &program.chunks(spec, shape.settings))?;
            }
            Some(traffic)
        }
        _ => shape
            .gemms
            .iter()
            .map(|&gemm| gemm_traffic(spec, scope, gemm, shape.settings))
            .sum(),
    }
}

/// The bit steps of `macs` MACs on `spec`'s array: one per activation bit a bit-serial array
/// streams, none on a parallel array.
fn bit_steps(spec: &AcceleratorSpec, settings: RunSettings, macs: u64) -> u64 {
    settings
        .serial_bits(spec)
        .map_or(0, |bits| macs * u64::from(bits))
}

/// The traffic of the core runs `chunks`; `None` without a core.
fn core_traffic(spec: &AcceleratorSpec, chunks: &[Chunk]) -> Option<Traffic> {
    let buffers = spec.buffers.as_ref()?;
    let array = super::schedule::array_shape(spec);
    let (dataflow, c) = (spec.pe_array.dataflow, array.cols);
    let layout = Layout::of(spec)?;
    let mut traffic = Traffic::default();
    for &chunk in chunks {
        let shape = chunk.shape;
        let side = match chunk.skipping {
            Some(skipping) => skipping_side(spec, array, shape, skipping),
            None => array_side(dataflow, array, &spec.pe, shape),
        };
        let handoff = if chunk.finish {
            0
        } else {
            shape.m * shape.n.div_ceil(c) * c * u64::from(spec.pe.acc_bits)
        };
        // The words each region holds in the core's layout for the dataflow; the run's loads
        // (its tile in window mode, the compacted operand's kept words when skipping) are the
        // ones the DMA model moves.
        let words = layout.words(shape.m as usize, shape.k as usize, shape.n as usize);
        let moved = chunk.run_shape(spec);
        let bits =
            |words: u64, region: &crate::config::BufferSpec| words * u64::from(region.word_bits);
        let ifmap_fill = bits(moved.ifmap_words, &buffers.ifmap);
        let weight_fill = bits(moved.weight_words, &buffers.weight);
        // Every result row is written once and read once by the store.
        let results = if chunk.finish {
            2 * bits(words.ofmap as u64, &buffers.ofmap)
        } else {
            0
        };
        // DRAM: what the DMA moves, whole beats (`golden::dma`).
        let run = dma::run_cycles(buffers, gemm_core::param_word_bits(c as u32), moved);
        traffic += Traffic {
            macs_issued: side.macs_issued,
            macs_gated: chunk.gated_macs.unwrap_or(0),
            // A Pragmatic array's PEs all add on every term cycle of the run.
            mac_bit_steps: bit_steps(spec, chunk.settings, side.macs_issued)
                + chunk.skipping.map_or(0, |run| run.terms * array.rows * c),
            register_file_bits: side.register_file_bits,
            pe_to_pe_bits: side.pe_to_pe_bits,
            ifmap_buffer_bits: side.act_read_bits + ifmap_fill,
            weight_buffer_bits: side.weight_read_bits + weight_fill,
            psum_buffer_bits: 2 * (side.spill_bits + handoff),
            ofmap_buffer_bits: results,
            dram_read_bits: 8 * run.read_bytes,
            dram_write_bits: 8 * run.write_bytes,
        };
    }
    Some(traffic)
}

/// The traffic a core run measured with its performance counters (`blocks::regmap::COUNTERS`,
/// summed over a layer's runs): global-buffer and DRAM levels from the counters, the levels
/// inside the array (MACs, register files, PE-to-PE), which have no counters, from `model`.
/// Buffer reads are the array's beats (one word each), fills the DMA's writes, results are
/// written and read once; parameter words are not counted, as in the model; gated MACs are
/// `PERF_GATED_MACS`. With a
/// deterministic DRAM it equals [`gemm_traffic`]'s core figure (tb/tests/layers.rs checks it).
pub fn from_counters(
    spec: &AcceleratorSpec,
    counter: &dyn Fn(&str) -> u64,
    model: &Traffic,
) -> Traffic {
    let buffers = spec.buffers.as_ref().expect("only a core has counters");
    let words = |names: &[&str], region: &crate::config::BufferSpec| {
        names.iter().map(|name| counter(name)).sum::<u64>() * u64::from(region.word_bits)
    };
    Traffic {
        ifmap_buffer_bits: words(&["perf_act_beats", "perf_ifmap_writes"], &buffers.ifmap),
        weight_buffer_bits: words(
            &["perf_weight_beats", "perf_weight_writes"],
            &buffers.weight,
        ),
        psum_buffer_bits: words(&["perf_psum_reads", "perf_psum_writes"], &buffers.psum),
        ofmap_buffer_bits: 2 * words(&["perf_results"], &buffers.ofmap),
        dram_read_bits: 8 * counter("perf_dram_read_bytes"),
        dram_write_bits: 8 * counter("perf_dram_write_bytes"),
        macs_gated: counter("perf_gated_macs"),
        ..*model
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{OperandSpec, PeArraySpec};

    fn spec(dataflow: Dataflow, rows: u32, cols: u32) -> AcceleratorSpec {
        let i8 = OperandSpec {
            bits: 8,
            signed: true,
        };
        let array = PeArraySpec {
            rows,
            cols,
            dataflow,
        };
        AcceleratorSpec::for_array("t", array, i8, i8, 32)
    }

    #[test]
    fn ws_datapath_counts_by_hand() {
        // 2×2 WS, M=3, K=4, N=2: T = 2 K-folds · 1 N-fold = 2 tiles of 3 vectors.
        let gemm = GemmShape { m: 3, k: 4, n: 2 };
        let t = gemm_traffic(
            &spec(Dataflow::WeightStationary, 2, 2),
            Scope::Datapath,
            gemm,
            RunSettings::storing(Outputs::Bytes),
        )
        .unwrap();
        // 2 tiles · 3 beats · 4 PEs = 24 MAC slots = M·K·N (no padding).
        assert_eq!(t.macs_issued, 24);
        // RF: 24 held reads + 2 tiles · 4 loads, 8 bits each.
        assert_eq!(t.register_file_bits, (24 + 8) * 8);
        // PE-to-PE: 24 · (8 act + 32 psum) + chain 2 tiles · 2 cols · 3 hops · 8 bits.
        assert_eq!(t.pe_to_pe_bits, 24 * 40 + 2 * 2 * 3 * 8);
        // DRAM reads: weights 2·4·8 + acts 2·3·2·8 + one spill fold 1·1·3·2·32.
        assert_eq!(t.dram_read_bits, 64 + 96 + 192);
        // DRAM writes: the spill + 3·2 int8 outputs.
        assert_eq!(t.dram_write_bits, 192 + 48);
        assert_eq!(t.global_buffer_bits(), 0);
    }

    #[test]
    fn partial_tiles_issue_padded_macs() {
        // 2×2 WS, K = 3, N = 1: 2 K-folds, 1 N-fold; the array works on 2×2 tiles anyway.
        let gemm = GemmShape { m: 5, k: 3, n: 1 };
        let t = gemm_traffic(
            &spec(Dataflow::WeightStationary, 2, 2),
            Scope::Datapath,
            gemm,
            RunSettings::storing(Outputs::Bytes),
        )
        .unwrap();
        assert_eq!(t.macs_issued, 2 * 5 * 4);
        assert!(t.macs_issued > gemm.macs());
    }

    #[test]
    fn os_counts_by_hand() {
        // 2×2 OS, M=4, K=3, N=2: T = 2·1 tiles of 3 pairs.
        let gemm = GemmShape { m: 4, k: 3, n: 2 };
        let t = gemm_traffic(
            &spec(Dataflow::OutputStationary, 2, 2),
            Scope::Datapath,
            gemm,
            RunSettings::storing(Outputs::Bytes),
        )
        .unwrap();
        assert_eq!(t.macs_issued, 24);
        // RF: 24 accumulator read+write of 32 bits + 2 tiles · 4 result registers.
        assert_eq!(t.register_file_bits, 24 * 64 + 8 * 32);
        // PE-to-PE: 24 · (8 + 8) + drain 2 tiles · 2 cols · 3 hops · 32 bits.
        assert_eq!(t.pe_to_pe_bits, 24 * 16 + 2 * 2 * 3 * 32);
        // Reads: 2 tiles · 3 pairs · (2 act lanes + 2 weight lanes) · 8; no spill.
        assert_eq!(t.dram_read_bits, 2 * 3 * 4 * 8);
        assert_eq!(t.dram_write_bits, 4 * 2 * 8);
    }

    #[test]
    fn is_is_ws_with_the_operands_swapped() {
        let gemm = GemmShape { m: 6, k: 5, n: 9 };
        let transposed = GemmShape { m: 9, k: 5, n: 6 };
        let is = gemm_traffic(
            &spec(Dataflow::InputStationary, 3, 2),
            Scope::Datapath,
            gemm,
            RunSettings::storing(Outputs::Bytes),
        )
        .unwrap();
        let ws = gemm_traffic(
            &spec(Dataflow::WeightStationary, 3, 2),
            Scope::Datapath,
            transposed,
            RunSettings::storing(Outputs::Bytes),
        )
        .unwrap();
        // Same operand widths, so every count agrees.
        assert_eq!(is, ws);
    }

    #[test]
    fn the_core_reads_operands_from_the_buffers_and_dram_once_when_they_fit() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/tiny_core.yaml"
        ))
        .unwrap();
        let spec = crate::config::load_str(&text, "tiny_core.yaml").unwrap();
        // One run: M=3, K=4, N=2 fits (2 folds, 3 rows, 1 N-fold).
        let gemm = GemmShape { m: 3, k: 4, n: 2 };
        let t = gemm_traffic(
            &spec,
            Scope::Core,
            gemm,
            RunSettings::storing(Outputs::Bytes),
        )
        .unwrap();
        // DRAM, in 64-bit beats of whole words: A's 2 folds · 3 rows of 16 bits (6 beats), B's
        // 2 folds · 2 rows of 16 bits (4 beats), one 140-bit param word (3 beats) in; 3 result
        // rows of 2 int32 lanes (3 beats) out.
        assert_eq!(t.dram_read_bits, (6 + 4 + 3) * 64);
        assert_eq!(t.dram_write_bits, 3 * 64);
        // ofmap: 3 result rows of 64 bits, written and read by the store.
        assert_eq!(t.ofmap_buffer_bits, 2 * 3 * 64);
        // ifmap: array reads 2 tiles · 3 words of 16 bits, fill 2 folds · 3 rows of 16 bits.
        assert_eq!(t.ifmap_buffer_bits, 96 + 96);
        // weight: array loads 2 tiles · 2 words of 16 bits, fill 2 folds · 2 rows · 1 N-fold.
        assert_eq!(t.weight_buffer_bits, 64 + 64);
        // psum: one spilled fold of 3 words of 64 bits, written and read.
        assert_eq!(t.psum_buffer_bits, 2 * 3 * 64);
    }

    #[test]
    fn a_window_run_fills_the_ifmap_with_its_tile_and_reads_it_per_beat() {
        use crate::blocks::gemm_core::ConvLayer;
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/tiny_core.yaml"
        ))
        .unwrap();
        let spec = crate::config::load_str(&text, "tiny_core.yaml").unwrap();
        // 6×5×2 'same' 3×3 into 2 channels: one run of M = 30, K = 18 (9 folds), N = 2.
        let conv = ConvLayer {
            input: [6, 5, 2],
            output: [6, 5],
            channels: 2,
            kernel: [3, 3],
            stride: [1, 1],
            dilation: [1, 1],
            pad: [1, 1],
            depthwise: false,
        };
        let gemm = GemmShape { m: 30, k: 18, n: 2 };
        let shape = LayerShape {
            name: "conv".into(),
            op: "conv2d".into(),
            gemms: vec![gemm],
            macs: gemm.macs(),
            settings: RunSettings::storing(Outputs::Bytes),
            conv: Some(conv),
            zeros: Vec::new(),
        };
        let t = layer_traffic(&spec, Scope::Core, &shape).unwrap();
        // DRAM, 64-bit beats of whole words: the tile's 30 words, B's 9 folds · 2 rows, one
        // 140-bit param word (3 beats) in; 30 packed result rows out.
        assert_eq!(t.dram_read_bits, (30 + 18 + 3) * 64);
        assert_eq!(t.dram_write_bits, 30 * 64);
        // ifmap: the array reads 9 folds · 30 beats of 16 bits (padding taps too); the fill is
        // the tile.
        assert_eq!(t.ifmap_buffer_bits, 9 * 30 * 16 + 30 * 16);
        // The im2col GEMM runs as 3 runs of at most 14 rows (126 A words of 128), which issue
        // the same MACs and results and load A's 270 words.
        let im2col = gemm_traffic(
            &spec,
            Scope::Core,
            gemm,
            RunSettings::storing(Outputs::Bytes),
        )
        .unwrap();
        let same = |t: &Traffic| (t.macs_issued, t.ofmap_buffer_bits, t.dram_write_bits);
        assert_eq!(same(&t), same(&im2col));
        assert_eq!(im2col.dram_read_bits - t.dram_read_bits, (270 - 30) * 64);
        // Without the geometry the layer is its GEMM.
        let plain = LayerShape {
            conv: None,
            ..shape
        };
        assert_eq!(layer_traffic(&spec, Scope::Core, &plain), Some(im2col));
    }

    #[test]
    fn a_weight_skipping_run_reads_its_kept_pairs_and_loads_its_kept_weight_words() {
        use crate::blocks::gemm_core::plan_runs;
        use crate::golden::zero_skip::ZeroMap;
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/cnvlutin_like.yaml"
        ))
        .unwrap();
        let dense = crate::config::load_str(&text, "cnvlutin_like.yaml")
            .unwrap()
            .with_activation_skipping(false, "dense");
        let spec = dense.with_weight_skipping(true, "weight_skipping");
        // 16×10×16 on 8×8: N-fold 0 has weights at steps 3 and 7 only (3 kept steps with step
        // 0), N-fold 1 at all 10; two row blocks, so 2·(3 + 10) pairs against 2·2·10.
        let a = ndarray::Array2::<i64>::ones((16, 10));
        let b = ndarray::Array2::from_shape_fn((10, 16), |(k, n)| {
            i64::from(n >= 8 || k == 3 || k == 7)
        });
        let zeros = ZeroMap::of(&a, 0).with_weights(&b);
        let plans = plan_runs(&spec, 16, 10, 16).unwrap();
        let settings = RunSettings::storing(Outputs::Bytes);
        let traffic = |spec: &AcceleratorSpec| {
            let chunks: Vec<Chunk> = plans
                .iter()
                .map(|plan| Chunk::of(spec, plan, settings, Some(&zeros)))
                .collect();
            core_traffic(spec, &chunks).unwrap()
        };
        let (skipping, dense) = (traffic(&spec), traffic(&dense));
        let (pairs, dense_pairs) = (2 * 13, 40);
        assert_eq!(skipping.macs_issued, pairs * 64);
        assert_eq!(dense.macs_issued, dense_pairs * 64);
        // Weight words of 8 int8 weights, the next step and the last-of-fold flag (81 bits):
        // one read per pair, and the fill is the 13 kept words.
        assert_eq!(spec.buffers.as_ref().unwrap().weight.word_bits, 81);
        assert_eq!(skipping.weight_buffer_bits, (pairs + 13) * 81);
        assert_eq!(dense.weight_buffer_bits, (dense_pairs + 20) * 64);
        // The ifmap stays dense (64-bit words, 2 blocks · 10 steps), read once per pair.
        assert_eq!(skipping.ifmap_buffer_bits, (pairs + 20) * 64);
        // DRAM: each weight word is one 128-bit beat either way, so the 7 dropped words are 7
        // beats fewer; everything else moves the same.
        assert_eq!(dense.dram_read_bits - skipping.dram_read_bits, 7 * 128);
        assert_eq!(dense.dram_write_bits, skipping.dram_write_bits);
    }
}
