//! Driver for the post-processing unit (`blocks::post_process`) on its own: streams accumulator
//! beats with their per-lane bias, multiplier and shift through it under the given layer settings
//! and traffic, and collects the outputs.

use accelgen::blocks::post_process::{self, SHIFT_BITS, WORD_BITS};
use accelgen::hdl::Design;
use accelgen_sim::{Model, PortId};

use crate::array::Traffic;
use crate::build::build_model;
use crate::error::BenchError;
use crate::stream::{self, Beat, DataPort, Sink, Source};

/// Per-layer settings of the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub zero_point: i32,
    pub clamp_min: i32,
    pub clamp_max: i32,
    /// Output `acc + bias` unchanged (raw int32, ONNX ConvInteger semantics).
    pub bypass: bool,
}

impl Settings {
    /// How the core stores results under these settings: bytes when every result fits one (the
    /// clamp is within int8 or uint8), else the 32-bit lanes (raw accumulators in bypass).
    pub fn outputs(&self) -> accelgen::golden::dma::Outputs {
        let int8 = self.clamp_min >= -128 && self.clamp_max <= 127;
        let uint8 = self.clamp_min >= 0 && self.clamp_max <= 255;
        if !self.bypass && (int8 || uint8) {
            accelgen::golden::dma::Outputs::Bytes
        } else {
            accelgen::golden::dma::Outputs::Words
        }
    }
}

/// One input beat: per lane, the accumulator and its channel's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneBeat {
    pub acc: Vec<i64>,
    pub bias: Vec<i32>,
    pub multiplier: Vec<i32>,
    pub shift: Vec<i32>,
}

/// A built model of one post-process unit.
pub struct PostProcessBench {
    lanes: u32,
    acc_bits: u32,
    model: Model,
    clock: (PortId, PortId),
}

impl PostProcessBench {
    pub fn new(lanes: u32, acc_bits: u32) -> Result<PostProcessBench, BenchError> {
        let mut design = Design::new();
        let top = post_process::build(lanes, acc_bits, &mut design).map_err(BenchError::from)?;
        design.set_top(top);
        let model = build_model(&design, &post_process::module_name(lanes, acc_bits), "0")?;
        let clock = (model.port("clk")?, model.port("rst")?);
        Ok(PostProcessBench {
            lanes,
            acc_bits,
            model,
            clock,
        })
    }

    /// Streams `beats` (with `in_last` on every `beats_per_group`-th) and returns each output
    /// beat's lanes and the cycle count.
    pub fn run(
        &mut self,
        beats: &[LaneBeat],
        settings: Settings,
        beats_per_group: usize,
        traffic: &Traffic,
    ) -> Result<(Vec<Vec<i64>>, u64), BenchError> {
        if let Some((index, shift)) = beats.iter().enumerate().find_map(|(index, beat)| {
            beat.shift
                .iter()
                .find(|shift| !(-31..=31).contains(*shift))
                .map(|shift| (index, *shift))
        }) {
            return Err(BenchError::Protocol(format!(
                "beat {index} has shift {shift}; the post-process unit takes -31..=31"
            )));
        }
        for (name, value) in [
            ("zero_point", settings.zero_point),
            ("clamp_min", settings.clamp_min),
            ("clamp_max", settings.clamp_max),
        ] {
            let port = self.model.port(name)?;
            self.model.poke(port, u64::from(value as u32));
        }
        let bypass = self.model.port("bypass")?;
        self.model.poke(bypass, u64::from(settings.bypass));

        let port = |name: &str, lane_bits: u32| -> Result<DataPort, BenchError> {
            Ok(DataPort {
                port: self.model.port(name)?,
                lane_bits,
            })
        };
        let widen = |values: &[i32]| values.iter().map(|v| i64::from(*v)).collect::<Vec<_>>();
        let source = Source {
            name: "in",
            valid: self.model.port("in_valid")?,
            ready: self.model.port("in_ready")?,
            data: vec![
                port("in_data", self.acc_bits)?,
                port("in_bias", WORD_BITS)?,
                port("in_multiplier", WORD_BITS)?,
                port("in_shift", SHIFT_BITS)?,
            ],
            last: Some(self.model.port("in_last")?),
            beats: beats
                .iter()
                .enumerate()
                .map(|(index, beat)| Beat {
                    fields: vec![
                        beat.acc.clone(),
                        widen(&beat.bias),
                        widen(&beat.multiplier),
                        widen(&beat.shift),
                    ],
                    last: index % beats_per_group == beats_per_group - 1,
                })
                .collect(),
            valid_probability: traffic.act_valid,
        };
        let sink = Sink {
            valid: self.model.port("out_valid")?,
            ready: self.model.port("out_ready")?,
            data: self.model.port("out_data")?,
            last: self.model.port("out_last")?,
            lanes: self.lanes,
            lane_bits: WORD_BITS,
            beats: beats.len(),
            beats_per_tile: beats_per_group,
            ready_probability: traffic.out_ready,
            quiet_cycles: u64::from(post_process::LATENCY) + 4,
        };
        let run = stream::run(
            &mut self.model,
            self.clock,
            &[source],
            &sink,
            traffic.seed,
            traffic.stall_limit,
        )?;
        Ok((run.beats, run.cycles))
    }
}
