//! The cycle model of the DMA engine (`blocks::dma`) and of a whole run of the buffered core
//! (`blocks::gemm_core`): load, compute, store, against a deterministic DRAM.
//!
//! The DRAM is the testbench's (`accelgen_tb::dram`) in its deterministic mode, from
//! `config::DramSpec`: addresses are always accepted; a read burst's first beat comes `latency`
//! cycles after its address at the earliest, and any beat `cycles_per_beat` cycles after the
//! previous beat on the same channel at the earliest; a write beat is accepted `cycles_per_beat`
//! cycles after the previous one once its burst's address is in, and a burst's response comes
//! `latency` cycles after its last beat, one response per cycle at most, in order.
//!
//! Cycles are numbered from the one in which the core accepts `start` (cycle 0).

use super::cycles::{gemm_core_cycles, ArrayShape, GemmShape};
use super::profile::stream_bits;
use crate::config::{AcceleratorSpec, BuffersSpec, Dataflow, DmaSpec, DramSpec};

/// The DRAM and the engine's limits, as the model needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel {
    pub latency: u64,
    pub cycles_per_beat: u64,
    pub outstanding: usize,
}

impl Channel {
    pub fn new(dma: &DmaSpec, dram: &DramSpec) -> Channel {
        Channel {
            latency: u64::from(dram.latency_cycles),
            cycles_per_beat: u64::from(dram.cycles_per_beat),
            outstanding: dma.outstanding as usize,
        }
    }
}

/// The bursts that move `words` words of `word_bits` bits: each word takes whole beats, and a
/// region is cut into bursts of at most `burst_beats` beats.
pub fn region_bursts(dma: &DmaSpec, words: u64, word_bits: u32) -> Vec<u64> {
    let beats = words * u64::from(dma.beats_per_word(word_bits));
    let burst = u64::from(dma.burst_beats);
    let mut bursts = vec![burst; (beats / burst) as usize];
    if !beats.is_multiple_of(burst) {
        bursts.push(beats % burst);
    }
    bursts
}

/// The cycle of the last read beat of `bursts` (in order, across regions), when the first
/// address may go out in cycle `first`; `None` without bursts.
///
/// Burst j's address goes out one cycle after burst j−1's, and not before the cycle after the
/// last beat of burst j−outstanding (the engine's in-flight limit); its first beat arrives
/// `latency` cycles after its address and `cycles_per_beat` after the previous beat, whichever
/// is later, and each further beat `cycles_per_beat` after the previous one.
pub fn read_last_beat(channel: Channel, first: u64, bursts: &[u64]) -> Option<u64> {
    let mut address_at: Vec<u64> = Vec::with_capacity(bursts.len());
    let mut last_beat_at: Vec<u64> = Vec::with_capacity(bursts.len());
    for &beats in bursts {
        let at = address_cycle(channel, first, &address_at, &last_beat_at);
        address_at.push(at);
        let first_beat = at + channel.latency;
        last_beat_at.push(last_beat(channel, first_beat, last_beat_at.last(), beats));
    }
    last_beat_at.last().copied()
}

/// The cycle of the last write response of `bursts`, when the first address may go out in
/// cycle `first`; `None` without bursts.
///
/// Burst j's address goes out one cycle after burst j−1's, and not before the cycle after the
/// response of burst j−outstanding; its data beats follow from the cycle after its address, each
/// `cycles_per_beat` after the previous beat; its response comes `latency` cycles after its last
/// beat, and one cycle after the previous response at the earliest.
pub fn write_last_response(channel: Channel, first: u64, bursts: &[u64]) -> Option<u64> {
    let mut address_at: Vec<u64> = Vec::with_capacity(bursts.len());
    let mut response_at: Vec<u64> = Vec::with_capacity(bursts.len());
    let mut previous_beat: Option<u64> = None;
    for &beats in bursts {
        let at = address_cycle(channel, first, &address_at, &response_at);
        address_at.push(at);
        let beat = last_beat(channel, at + 1, previous_beat.as_ref(), beats);
        previous_beat = Some(beat);
        let earliest = response_at.last().map_or(0, |previous| previous + 1);
        response_at.push((beat + channel.latency).max(earliest));
    }
    response_at.last().copied()
}

/// When the next burst's address goes out: one cycle after the previous one's (or at `first`),
/// and not before the cycle after `freed` of the burst `outstanding` earlier (the event that
/// frees its slot: its last read beat, or its write response).
fn address_cycle(channel: Channel, first: u64, addresses: &[u64], freed: &[u64]) -> u64 {
    let j = addresses.len();
    let mut at = addresses.last().map_or(first, |t| t + 1);
    if j >= channel.outstanding {
        at = at.max(freed[j - channel.outstanding] + 1);
    }
    at
}

/// The cycle of a burst's last beat on a channel whose previous beat was at `previous`: its first
/// beat no earlier than `earliest` nor `cycles_per_beat` after the previous one, then one every
/// `cycles_per_beat`.
fn last_beat(channel: Channel, earliest: u64, previous: Option<&u64>, beats: u64) -> u64 {
    let first = previous.map_or(earliest, |p| earliest.max(p + channel.cycles_per_beat));
    first + (beats - 1) * channel.cycles_per_beat
}

/// One run of the core: what it loads, how long it computes, whether it stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunShape {
    /// Words the DMA loads into the ifmap, weight and param buffers (0: reuse what is there);
    /// on a zero-skipping core the compacted operand's are its kept words
    /// (`golden::zero_skip::SkippingRun`), which [`run_shape`] leaves to its caller.
    pub ifmap_words: u64,
    pub weight_words: u64,
    pub param_words: u64,
    /// Cycles of the compute phase (`cycles::gemm_core_cycles`, or on a zero-skipping core
    /// `cycles::core_compute_cycles` of `golden::zero_skip`'s count).
    pub compute: u64,
    /// Result words stored (0 when the run does not finish).
    pub ofmap_words: u64,
    /// Bits of a stored result word ([`Outputs`]).
    pub ofmap_word_bits: u32,
}

/// How the core stores each result lane in DRAM (its `pack_outputs` descriptor bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Outputs {
    /// Requantized int8 or uint8 results: a byte per lane.
    #[default]
    Bytes,
    /// Raw int32 accumulators (the post-process bypass): the buffer's 32-bit lanes.
    Words,
}

/// What the host sets for every run of a layer besides its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct RunSettings {
    /// How the results are stored (`pack_outputs`).
    pub outputs: Outputs,
    /// The least and greatest stored activation the array streams (padding included), from
    /// which a bit-serial array's precision follows; `None`: unknown (a layer without data).
    pub act_range: Option<(i64, i64)>,
}

impl RunSettings {
    /// Results stored as `outputs`, activations of unknown range.
    pub fn storing(outputs: Outputs) -> RunSettings {
        RunSettings {
            outputs,
            act_range: None,
        }
    }

    /// The bits per activation `spec`'s array streams for these runs ([`serial_bits`]).
    pub fn serial_bits(&self, spec: &AcceleratorSpec) -> Option<u32> {
        serial_bits(spec, self.act_range)
    }
}

/// The bits per activation `spec`'s array streams (its `act_precision`) for stored activations
/// spanning `act_range`: `None` for a parallel array; for a bit-serial one the fewest that hold
/// the range ([`stream_bits`]), the full width if the range is unknown.
pub fn serial_bits(spec: &AcceleratorSpec, act_range: Option<(i64, i64)>) -> Option<u32> {
    let act = spec.pe.act;
    spec.pe
        .kind
        .is_stripes()
        .then(|| act_range.map_or(act.bits, |(min, max)| stream_bits(min, max, act)))
}

/// Bits per result lane of [`Outputs::Bytes`] (`blocks::gemm_core::PACKED_BITS`).
pub const PACKED_LANE_BITS: u32 = 8;

/// Bits of one stored result word of `spec`'s core under `outputs`.
pub fn ofmap_word_bits(spec: &AcceleratorSpec, outputs: Outputs) -> Option<u32> {
    let buffers = spec.buffers.as_ref()?;
    Some(match outputs {
        Outputs::Bytes => spec.pe_array.cols * PACKED_LANE_BITS,
        Outputs::Words => buffers.ofmap.word_bits,
    })
}

/// Cycles of each phase of a run and the bytes it moves; `busy` is what PERF_BUSY_CYCLES reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct RunCycles {
    pub load: u64,
    pub compute: u64,
    pub store: u64,
    pub busy: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
}

/// The whole run, phase by phase (the rules are `blocks::dma`'s and `blocks::gemm_core`'s):
/// - load: the engine starts the cycle after the accept and sends its first address the cycle
///   after that; the phase ends two cycles after the last beat (the word's write, then the
///   done pulse), or in cycle 2 with nothing to load;
/// - compute: `compute` cycles;
/// - store: the engine starts in the phase's first cycle, sends its first address the cycle
///   after, and the phase ends the cycle after the last response.
pub fn run_cycles(buffers: &BuffersSpec, param_word_bits: u32, run: RunShape) -> RunCycles {
    let (dma, channel) = (&buffers.dma, Channel::new(&buffers.dma, &buffers.dram));
    let mut loads = region_bursts(dma, run.ifmap_words, buffers.ifmap.word_bits);
    loads.extend(region_bursts(
        dma,
        run.weight_words,
        buffers.weight.word_bits,
    ));
    loads.extend(region_bursts(dma, run.param_words, param_word_bits));
    let load = read_last_beat(channel, 2, &loads).map_or(2, |last| last + 2);
    let stores = region_bursts(dma, run.ofmap_words, run.ofmap_word_bits);
    let store = write_last_response(channel, 2, &stores).map_or(0, |last| last + 1);
    let beats = |bursts: &[u64]| bursts.iter().sum::<u64>() * dma.beat_bytes();
    RunCycles {
        load,
        compute: run.compute,
        store,
        busy: load + run.compute + store,
        read_bytes: beats(&loads),
        write_bytes: beats(&stores),
    }
}

/// One descriptor of a double-buffered core (`blocks::gemm_core`): its own loads (words of
/// ifmap, weight and param; only a program's first run has any), its compute phase (`None` for
/// a descriptor with nothing to compute, such as the closing drain), the next run's loads it
/// prefetches into the other halves, and the previous run's result words it drains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlappedRun {
    pub loads: [u64; 3],
    pub compute: Option<u64>,
    pub prefetch: [u64; 3],
    pub drain: u64,
    /// Bits of a drained result word ([`Outputs`]).
    pub drain_word_bits: u32,
}

/// A double-buffered run, phase by phase: the load phase as in [`run_cycles`] (skipped without
/// compute); then the overlap phase from the cycle after, in whose first cycle the engine starts
/// the prefetch (first address two cycles later, done two cycles after the last beat) and the
/// drain (first address two cycles later, done the cycle after the last response) while the
/// array computes for `compute` cycles; the run ends with the last of the three. `store` counts
/// the cycles the drain is pending.
pub fn overlapped_run_cycles(
    buffers: &BuffersSpec,
    param_word_bits: u32,
    run: OverlappedRun,
) -> RunCycles {
    let (dma, channel) = (&buffers.dma, Channel::new(&buffers.dma, &buffers.dram));
    let bursts = |[ifmap, weight, param]: [u64; 3]| {
        let mut bursts = region_bursts(dma, ifmap, buffers.ifmap.word_bits);
        bursts.extend(region_bursts(dma, weight, buffers.weight.word_bits));
        bursts.extend(region_bursts(dma, param, param_word_bits));
        bursts
    };
    let (loads, prefetch) = (bursts(run.loads), bursts(run.prefetch));
    let drains = region_bursts(dma, run.drain, run.drain_word_bits);
    // Cycle 0 accepts the descriptor; the overlap phase begins in cycle `kick`.
    let load = match run.compute {
        Some(_) => read_last_beat(channel, 2, &loads).map_or(2, |last| last + 2),
        None => 0,
    };
    let kick = load + 1;
    let computed = run.compute.map_or(kick, |cycles| kick + cycles - 1);
    let prefetched = read_last_beat(channel, kick + 2, &prefetch).map_or(kick, |last| last + 2);
    let drained = write_last_response(channel, kick + 2, &drains).map(|last| last + 1);
    let busy = computed.max(prefetched).max(drained.unwrap_or(kick));
    let beats = |bursts: &[u64]| bursts.iter().sum::<u64>() * dma.beat_bytes();
    let read = if run.compute.is_some() {
        beats(&loads)
    } else {
        0
    };
    RunCycles {
        load,
        compute: run.compute.unwrap_or(0),
        store: drained.map_or(0, |done| done - kick + 1),
        busy,
        read_bytes: read + beats(&prefetch),
        write_bytes: beats(&drains),
    }
}

/// Which operands a run loads (the others are still in the buffers from the previous run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loads {
    pub ifmap: bool,
    /// B and the parameters.
    pub weights: bool,
}

impl Loads {
    pub const ALL: Loads = Loads {
        ifmap: true,
        weights: true,
    };
}

/// One run of the buffered core on an M×K×N GEMM that fits its buffers, loading what `loads`
/// says, storing the results when it `finish`es; `param_word_bits` is the core's parameter word
/// (`blocks::gemm_core::param_word_bits`, passed in because the golden model never reads the
/// blocks). `None` without buffers.
pub fn core_run(
    spec: &AcceleratorSpec,
    gemm: GemmShape,
    finish: bool,
    loads: Loads,
    settings: RunSettings,
    param_word_bits: u32,
) -> Option<RunCycles> {
    let buffers = spec.buffers.as_ref()?;
    let run = run_shape(spec, gemm, finish, loads, settings)?;
    Some(run_cycles(buffers, param_word_bits, run))
}

/// What one run of the core on an M×K×N GEMM moves and computes (see [`core_run`]); `None`
/// without buffers.
pub fn run_shape(
    spec: &AcceleratorSpec,
    gemm: GemmShape,
    finish: bool,
    loads: Loads,
    settings: RunSettings,
) -> Option<RunShape> {
    let ofmap_word_bits = ofmap_word_bits(spec, settings.outputs)?;
    let array = ArrayShape {
        rows: u64::from(spec.pe_array.rows),
        cols: u64::from(spec.pe_array.cols),
    };
    let dataflow = spec.pe_array.dataflow;
    let n_folds = gemm.n.div_ceil(array.cols);
    // The buffer words of each operand in the core's layout for its dataflow.
    let (ifmap_words, weight_words) = match dataflow {
        Dataflow::OutputStationary => (gemm.m.div_ceil(array.rows) * gemm.k, n_folds * gemm.k),
        _ => {
            let k_folds = gemm.k.div_ceil(array.rows);
            (k_folds * gemm.m, n_folds * k_folds * array.rows)
        }
    };
    let loaded = |load: bool, words: u64| if load { words } else { 0 };
    let run = RunShape {
        ifmap_words: loaded(loads.ifmap, ifmap_words),
        weight_words: loaded(loads.weights, weight_words),
        param_words: loaded(loads.weights, n_folds),
        compute: gemm_core_cycles(
            dataflow,
            array,
            gemm,
            finish,
            settings.serial_bits(spec).map(u64::from),
        ),
        ofmap_words: if finish { n_folds * gemm.m } else { 0 },
        ofmap_word_bits,
    };
    Some(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANNEL: Channel = Channel {
        latency: 10,
        cycles_per_beat: 1,
        outstanding: 2,
    };

    #[test]
    fn one_read_burst_ends_latency_plus_beats_after_its_address() {
        assert_eq!(read_last_beat(CHANNEL, 2, &[4]), Some(2 + 10 + 3));
    }

    #[test]
    fn back_to_back_read_bursts_stream_without_gaps_within_the_in_flight_limit() {
        // Addresses at 2 and 3; beats 12..=15 and 16..=19.
        assert_eq!(read_last_beat(CHANNEL, 2, &[4, 4]), Some(19));
    }

    #[test]
    fn a_third_read_burst_waits_for_the_first_to_finish() {
        // Third address at 16 (after beat 15), its beats from 26.
        assert_eq!(read_last_beat(CHANNEL, 2, &[4, 4, 1]), Some(26));
    }

    #[test]
    fn a_slow_dram_spaces_the_beats() {
        let slow = Channel {
            cycles_per_beat: 3,
            ..CHANNEL
        };
        assert_eq!(read_last_beat(slow, 2, &[2, 2]), Some(12 + 3 * 3));
    }

    #[test]
    fn write_response_follows_the_last_beat_by_the_latency() {
        // Address at 2, beats 3..=6, response at 16.
        assert_eq!(write_last_response(CHANNEL, 2, &[4]), Some(16));
        assert_eq!(write_last_response(CHANNEL, 2, &[]), None);
    }

    #[test]
    fn regions_cut_into_bursts_of_whole_words() {
        let dma = DmaSpec {
            data_bits: 64,
            burst_beats: 4,
            outstanding: 2,
        };
        // 140-bit words take 3 beats: 5 words are 15 beats.
        assert_eq!(region_bursts(&dma, 5, 140), vec![4, 4, 4, 3]);
        assert!(region_bursts(&dma, 0, 16).is_empty());
    }
}
