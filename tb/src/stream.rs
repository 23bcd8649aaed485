//! A cycle-by-cycle driver for valid/ready streams on a verilated model: any number of input
//! streams (sources) with prepared beats and one output stream (sink), each handshake driven by a
//! seeded coin. A source raises valid with its probability when it has a beat and then holds it
//! until accepted (AXI-Stream's rule: valid never waits for ready); the sink's ready is drawn
//! afresh every cycle. Data buses carry random bits while valid is low, so a design that samples
//! them then is caught. A watchdog turns a hang into [`BenchError::Hang`].

use accelgen_sim::{Model, PortId};

use crate::bits::{garbage, pack, unpack};
use crate::error::BenchError;
use crate::rng::Rng;

/// One beat of a source: the lanes of each of its data ports and, if the stream has one, its
/// `last` flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Beat {
    /// One entry per data port of the source, in the order of [`Source::data`].
    pub fields: Vec<Vec<i64>>,
    pub last: bool,
}

impl Beat {
    /// A beat of a source with a single data port.
    pub fn lanes(lanes: Vec<i64>, last: bool) -> Beat {
        Beat {
            fields: vec![lanes],
            last,
        }
    }
}

/// A data port of a source: the port and the width of each of its lanes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataPort {
    pub port: PortId,
    pub lane_bits: u32,
}

/// An input stream: `<name>_valid`, `<name>_ready`, one or more data ports (`<name>_data`, …)
/// and an optional `<name>_last`.
pub struct Source {
    pub name: &'static str,
    pub valid: PortId,
    pub ready: PortId,
    pub data: Vec<DataPort>,
    pub last: Option<PortId>,
    pub beats: Vec<Beat>,
    /// Chance per cycle that an idle source offers its next beat.
    pub valid_probability: f64,
}

/// The output stream `out_*`: `beats` beats of `lanes` signed lanes, `out_last` on every
/// `beats_per_tile`-th.
pub struct Sink {
    pub valid: PortId,
    pub ready: PortId,
    pub data: PortId,
    pub last: PortId,
    pub lanes: u32,
    pub lane_bits: u32,
    pub beats: usize,
    pub beats_per_tile: usize,
    /// Chance per cycle that the sink is ready.
    pub ready_probability: f64,
    /// Cycles after the last expected beat during which `out_valid` must stay low (longer than
    /// the design's latency), so a spurious trailing beat is caught.
    pub quiet_cycles: u64,
}

/// What a run collected.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRun {
    /// Every output beat's lanes, in order.
    pub beats: Vec<Vec<i64>>,
    /// Rising edges from reset release up to and including the one that took the last output.
    pub cycles: u64,
}

/// Resets the model (two edges with `rst` high and every valid and ready low), then runs the
/// streams until the sink has taken all its beats.
pub fn run(
    model: &mut Model,
    (clk, rst): (PortId, PortId),
    sources: &[Source],
    sink: &Sink,
    seed: u64,
    stall_limit: u64,
) -> Result<StreamRun, BenchError> {
    let mut rng = Rng::new(seed);
    let words = |model: &Model, port: PortId| vec![0u32; model.width(port).div_ceil(32) as usize];
    let mut source_words: Vec<Vec<Vec<u32>>> = sources
        .iter()
        .map(|s| s.data.iter().map(|d| words(model, d.port)).collect())
        .collect();
    let mut out_words = words(model, sink.data);

    for source in sources {
        model.poke(source.valid, 0);
        if let Some(last) = source.last {
            model.poke(last, 0);
        }
    }
    model.poke(sink.ready, 0);
    model.poke(rst, 1);
    model.step_n(clk, 2);
    model.poke(rst, 0);

    let mut sent = vec![0usize; sources.len()];
    let mut held = vec![false; sources.len()];
    let mut beats: Vec<Vec<i64>> = Vec::with_capacity(sink.beats);
    let (mut cycles, mut idle) = (0u64, 0u64);
    while beats.len() < sink.beats {
        for (index, source) in sources.iter().enumerate() {
            if !held[index] && sent[index] < source.beats.len() {
                held[index] = rng.chance(source.valid_probability);
            }
            let beat = held[index].then(|| &source.beats[sent[index]]);
            for (field, data) in source.data.iter().enumerate() {
                let words = &mut source_words[index][field];
                match beat {
                    Some(beat) => pack(beat.fields[field].iter().copied(), data.lane_bits, words),
                    None => garbage(&mut rng, model.width(data.port), words),
                }
                model.poke_wide(data.port, words);
            }
            let last = match beat {
                Some(beat) => beat.last,
                None => rng.chance(0.5),
            };
            model.poke(source.valid, u64::from(held[index]));
            if let Some(port) = source.last {
                model.poke(port, u64::from(last));
            }
        }
        let out_ready = rng.chance(sink.ready_probability);
        model.poke(sink.ready, u64::from(out_ready));
        model.eval();

        let readies: Vec<bool> = sources.iter().map(|s| model.peek(s.ready) == 1).collect();
        let out_valid = model.peek(sink.valid) == 1;
        let out_fire = out_valid && out_ready;
        if out_fire {
            let beat = beats.len();
            let (tile, index) = (beat / sink.beats_per_tile, beat % sink.beats_per_tile);
            let expected = index == sink.beats_per_tile - 1;
            let actual = model.peek(sink.last) == 1;
            if actual != expected {
                return Err(BenchError::OutLast {
                    beat,
                    tile,
                    index,
                    per_tile: sink.beats_per_tile,
                    expected,
                    actual,
                });
            }
            model.peek_wide_into(sink.data, &mut out_words);
            beats.push(
                (0..sink.lanes)
                    .map(|lane| unpack(&out_words, lane, sink.lane_bits, true))
                    .collect(),
            );
        }
        model.step(clk);
        cycles += 1;

        let mut moved = out_fire;
        for index in 0..sources.len() {
            if held[index] && readies[index] {
                held[index] = false;
                sent[index] += 1;
                moved = true;
            }
        }
        idle = if moved { 0 } else { idle + 1 };
        if idle > stall_limit {
            let mut state: Vec<String> = sources
                .iter()
                .enumerate()
                .map(|(index, source)| {
                    format!(
                        "{} beats {}/{} ({}_valid={} {}_ready={})",
                        source.name,
                        sent[index],
                        source.beats.len(),
                        source.name,
                        held[index],
                        source.name,
                        readies[index]
                    )
                })
                .collect();
            state.push(format!(
                "outputs {}/{} (out_valid={out_valid} out_ready={out_ready})",
                beats.len(),
                sink.beats
            ));
            return Err(BenchError::Hang {
                cycles,
                idle,
                state: state.join(", "),
            });
        }
    }
    for (index, source) in sources.iter().enumerate() {
        if sent[index] != source.beats.len() {
            return Err(BenchError::Protocol(format!(
                "all {} output beats arrived but {} accepted only {} of its {} beats",
                sink.beats,
                source.name,
                sent[index],
                source.beats.len()
            )));
        }
    }
    // Nothing more may come out, even with the consumer ready and nothing going in.
    for source in sources {
        model.poke(source.valid, 0);
    }
    model.poke(sink.ready, 1);
    for extra in 1..=sink.quiet_cycles {
        model.eval();
        if model.peek(sink.valid) == 1 {
            return Err(BenchError::Protocol(format!(
                "out_valid rose {extra} cycle(s) after the last of the {} expected beats",
                sink.beats
            )));
        }
        model.step(clk);
    }
    Ok(StreamRun { beats, cycles })
}
