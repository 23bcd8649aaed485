//! A whole layer through the RTL, at two scopes. Either way the layer is first lowered to GEMMs on
//! stored values (`golden::lowering`, the im2col the core's controller will do).
//!
//! Depthwise channels are lowered in groups as wide as the array, one block-diagonal GEMM per
//! group, so a depthwise layer keeps every column busy (each with its own channel).
//!
//! - [`DatapathBench`]: every GEMM runs on the configured PE array and every accumulator goes
//!   through the post-processing unit, both in Verilator; the host adds K-fold partial sums and
//!   the row sums of layers with weight zero points.
//! - [`CoreBench`]: for configs with `buffers:`, every GEMM is cut into chunks that fit the
//!   buffers and runs on the buffered core, which accumulates K-folds and requantizes itself;
//!   its DMA loads the operands from a DRAM model and stores the results; the host only lays the
//!   lowered GEMMs out in DRAM. The core adds one bias per column, so weight zero points are
//!   folded into the weights (`w − w_zp`, `lowering::WeightZeroPoints::InWeights`); a layer
//!   whose folded weights do not fit the configured weight format is refused by name.

use accelgen::blocks::gemm_core::{self, ConvLayer};
use accelgen::config::{AcceleratorSpec, OperandSpec};
use accelgen::golden::cycles::GemmShape;
use accelgen::golden::dma::RunSettings;
use accelgen::golden::lowering::{self, LoweredLayer, WeightZeroPoints};
use accelgen::golden::requant::QuantizedMultiplier;
use accelgen::golden::{Dtype, LayerBundle, LayerError, RequantMode, Tensor};
use accelgen::report::{schedule, workload};
use ndarray::{Array2, Array3};

use crate::array::{ArrayBench, Traffic};
use crate::core::PostProcessing;
use crate::dram::DramTiming;
use crate::error::BenchError;
use crate::post_process::{LaneBeat, PostProcessBench, Settings};

/// Why a layer cannot run on the RTL.
#[derive(Debug, thiserror::Error)]
pub enum LayerRunError {
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(transparent)]
    Bench(#[from] BenchError),
    #[error("{field}: {dtype} values do not fit the array's {format} operands; use a config whose pe.{operand} is {dtype}")]
    OperandFormat {
        field: &'static str,
        dtype: &'static str,
        format: String,
        operand: &'static str,
    },
    #[error("requant: onnx (fp32 scaling) is computed by the golden model only; the RTL post-process implements tflite and none")]
    OnnxRequant,
    #[error("the RTL output does not fit {dtype}: {message}")]
    OutputRange {
        dtype: &'static str,
        message: String,
    },
    #[error("the core folds weight zero points into the weights, and w − w_zp = {value} does not fit the config's {bits}-bit {signedness} weights; give `pe.weight` {needed} signed bits, or run this layer with a config without buffers:")]
    FoldedWeightRange {
        value: i64,
        bits: u32,
        signedness: &'static str,
        needed: u32,
    },
    #[error("{what} does not fit the buffers: {detail}")]
    DoesNotFit { what: String, detail: String },
}

/// What one layer produced on the RTL.
#[derive(Debug, Clone)]
pub struct LayerRun {
    /// The RTL's output, in the layer's output shape and dtype.
    pub output: Tensor,
    /// The layer's multiply-accumulates (taps in the padding not counted).
    pub macs: u64,
    /// Multiply-accumulates of the lowered GEMMs the array ran (padding taps included).
    pub array_macs: u64,
    /// What the cycle counts cover: [`DATAPATH_SCOPE`] or [`CORE_SCOPE`].
    pub scope: &'static str,
    /// RTL cycles at full rate, summed over the layer's GEMMs (datapath: the PE array's; core:
    /// from each start to its last result).
    pub rtl_cycles: u64,
    /// The cycle model's prediction of `rtl_cycles`.
    pub model_cycles: u64,
    /// Core only: cycles from the host's first register write to its seeing the last run end,
    /// its programming included (it queues each descriptor while the previous one runs).
    pub wall_cycles: Option<u64>,
    /// Datapath only: the separate post-process unit's cycles.
    pub post_process_cycles: Option<u64>,
    /// Core only: bytes the DMA moved to and from DRAM (its counters), and the model's figure.
    pub dram_bytes: Option<u64>,
    pub model_dram_bytes: Option<u64>,
    /// GEMM runs on the RTL (core: after cutting GEMMs to fit the buffers).
    pub runs: usize,
    /// How the layer reached the array: [`Lowering::Window`] (the core walks input tiles) or
    /// [`Lowering::Im2col`] (the host sends the lowered GEMMs).
    pub lowering: Lowering,
    /// Core only: every performance counter summed over the runs, in register order.
    pub counters: Vec<(&'static str, u64)>,
}

/// How a layer's activations reach the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lowering {
    /// The host sends the im2col GEMMs (a fully connected layer is its own GEMM).
    Im2col,
    /// Window mode: the core reads the im2col rows out of input tiles itself.
    Window,
}

impl Lowering {
    pub fn name(self) -> &'static str {
        match self {
            Lowering::Im2col => "im2col",
            Lowering::Window => "window",
        }
    }
}

/// The scope of [`DatapathBench`]'s cycle counts.
pub const DATAPATH_SCOPE: &str =
    "datapath: PE array + post-process in Verilator; host tiling, psum accumulation, data movement";
/// The scope of [`CoreBench`]'s cycle counts.
pub const CORE_SCOPE: &str = "core: DMA from a DRAM model, buffers, controller (im2col in hardware for window-mode convolutions), PE array, psum accumulation and post-process in Verilator; host im2col for the other layers";

/// A lowered layer with what its post-processing needs.
struct Prepared {
    lowered: LoweredLayer,
    multipliers: Vec<QuantizedMultiplier>,
    settings: Settings,
    output_dtype: Dtype,
}

/// Lowers `bundle` and derives its per-channel multipliers and layer settings, checking that its
/// operands fit `spec`'s formats.
fn prepare(
    spec: &AcceleratorSpec,
    bundle: &LayerBundle,
    zero_points: WeightZeroPoints,
) -> Result<Prepared, LayerRunError> {
    check_format("input.dtype", bundle.input.dtype(), spec.pe.act, "act")?;
    check_format(
        "weight.dtype",
        bundle.weight.dtype(),
        spec.pe.weight,
        "weight",
    )?;
    let params = &bundle.params;
    // Depthwise channels are grouped as wide as the array's columns (block-diagonal GEMMs).
    let lowered = lowering::lower_with(
        params,
        &bundle.input,
        &bundle.weight,
        bundle.bias.as_deref(),
        spec.pe_array.cols as usize,
        zero_points,
    )?;
    if zero_points == WeightZeroPoints::InWeights {
        check_folded_weights(&lowered, spec.pe.weight)?;
    }
    let requantizer = params.requantizer(lowered.output_channels)?;
    let (multipliers, settings, output_dtype) = match requantizer.mode() {
        RequantMode::Onnx => return Err(LayerRunError::OnnxRequant),
        RequantMode::None => {
            let raw = PostProcessing::raw(lowered.output_channels);
            (raw.multipliers, raw.settings, Dtype::Int32)
        }
        RequantMode::Tflite => {
            let clamp = requantizer.clamp();
            let multipliers = requantizer
                .tflite_multipliers()
                .expect("tflite mode")
                .to_vec();
            let settings = Settings {
                zero_point: clamp.zero_point,
                clamp_min: clamp.min,
                clamp_max: clamp.max,
                bypass: false,
            };
            (multipliers, settings, bundle.output_dtype)
        }
    };
    Ok(Prepared {
        lowered,
        multipliers,
        settings,
        output_dtype,
    })
}

impl Prepared {
    /// The output tensor from flat channel-last values.
    fn output(&self, values: Vec<i32>) -> Result<Tensor, LayerRunError> {
        let dtype = self.output_dtype;
        Tensor::from_vec(dtype, &self.lowered.output_shape, values).map_err(|e| {
            LayerRunError::OutputRange {
                dtype: dtype.name(),
                message: e.to_string(),
            }
        })
    }
}

/// The PE array and post-process unit of one config, built once, reused for any layer.
pub struct DatapathBench {
    spec: AcceleratorSpec,
    array: ArrayBench,
    post_process: PostProcessBench,
}

impl DatapathBench {
    pub fn new(spec: &AcceleratorSpec) -> Result<DatapathBench, BenchError> {
        Ok(DatapathBench {
            spec: spec.clone(),
            array: ArrayBench::new(spec)?,
            post_process: PostProcessBench::new(spec.pe_array.cols, spec.pe.acc_bits)?,
        })
    }

    /// Runs `bundle`'s layer with `traffic` on both blocks.
    pub fn run(
        &mut self,
        bundle: &LayerBundle,
        traffic: &Traffic,
    ) -> Result<LayerRun, LayerRunError> {
        let prepared = prepare(&self.spec, bundle, WeightZeroPoints::InBias)?;
        let lowered = &prepared.lowered;
        let settings = RunSettings {
            outputs: prepared.settings.outputs(),
            act_range: lowered.act_range(),
        };
        if let Some(bits) = settings.serial_bits(&self.spec) {
            self.array.set_act_precision(bits)?;
        }
        let (mut array_cycles, mut model_cycles) = (0, 0);
        let mut products = Vec::with_capacity(lowered.gemms.len());
        for gemm in &lowered.gemms {
            let run = self.array.run_gemm(&gemm.a, &gemm.b, traffic)?;
            array_cycles += run.cycles;
            let shape = GemmShape {
                m: gemm.a.nrows() as u64,
                k: gemm.a.ncols() as u64,
                n: gemm.b.ncols() as u64,
            };
            model_cycles +=
                schedule::model_cycles(&self.spec, schedule::Scope::Datapath, shape, settings)
                    .expect("ArrayBench::new accepted the dataflow");
            products.push(run.result);
        }

        let beats = post_process_beats(
            lowered,
            &products,
            &prepared.multipliers,
            self.spec.pe_array.cols,
        );
        let (outputs, post_process_cycles) =
            self.post_process
                .run(&beats, prepared.settings, beats.len(), traffic)?;
        let values = assemble(lowered, &outputs, self.spec.pe_array.cols as usize);
        Ok(LayerRun {
            output: prepared.output(values)?,
            macs: lowered.layer_macs,
            array_macs: lowered.macs(),
            scope: DATAPATH_SCOPE,
            rtl_cycles: array_cycles,
            model_cycles,
            wall_cycles: None,
            post_process_cycles: Some(post_process_cycles),
            dram_bytes: None,
            model_dram_bytes: None,
            runs: lowered.gemms.len(),
            lowering: Lowering::Im2col,
            counters: Vec::new(),
        })
    }
}

/// The buffered core of one config (`buffers:`), built once, reused for any layer.
pub struct CoreBench {
    spec: AcceleratorSpec,
    core: crate::core::CoreBench,
}

impl CoreBench {
    pub fn new(spec: &AcceleratorSpec) -> Result<CoreBench, BenchError> {
        Ok(CoreBench {
            spec: spec.clone(),
            core: {
                // The host queues each descriptor while the previous one runs, as a driver
                // would; the counters are summed per program, which is all a layer needs.
                let mut core = crate::core::CoreBench::new(spec)?;
                core.set_pacing(crate::core::Pacing::Queued);
                core
            },
        })
    }

    /// Runs `bundle`'s layer on the core against a DRAM of `timing`, cutting every GEMM into
    /// the largest chunks the buffers hold.
    pub fn run(
        &mut self,
        bundle: &LayerBundle,
        timing: DramTiming,
    ) -> Result<LayerRun, LayerRunError> {
        let prepared = prepare(&self.spec, bundle, WeightZeroPoints::InWeights)?;
        // The layer's activation range sets a bit-serial core's precision, here and in the
        // report (`workload::from_bundle`).
        let settings = RunSettings {
            outputs: prepared.settings.outputs(),
            act_range: prepared.lowered.act_range(),
        };
        self.core.set_act_range(settings.act_range);
        // A real zero activation is stored as the input zero point: what a skipping core skips.
        self.core
            .set_act_zero_point(i64::from(bundle.params.input_zero_point));
        // A convolution the core can walk runs in window mode (the report decides the same way,
        // `schedule::layer_plans`).
        let window = workload::conv_layer(bundle)
            .filter(|layer| schedule::window_plan(&self.spec, layer, settings).is_some());
        if let Some(layer) = window {
            return self.run_window(bundle, &prepared, &layer, timing);
        }
        let lowered = &prepared.lowered;
        let buffers = self.spec.buffers.clone().expect("a core has buffers");
        let rows = self.spec.pe_array.rows as usize;
        let mut values = vec![0i32; lowered.pixels * lowered.output_channels];
        let (mut rtl_cycles, mut model_cycles, mut runs) = (0, 0, 0);
        let mut wall_cycles = 0;
        let (mut dram_bytes, mut model_dram_bytes) = (0, 0);
        let mut counters: Vec<(&'static str, u64)> = accelgen::blocks::regmap::COUNTERS
            .iter()
            .map(|(name, _)| (*name, 0))
            .collect();
        for gemm in &lowered.gemms {
            let (m_dim, k_dim) = gemm.a.dim();
            let n_dim = gemm.b.ncols();
            debug_assert!(
                (0..n_dim).all(|n| gemm.bias.column(n).iter().all(|b| *b == gemm.bias[[0, n]])),
                "weight zero points folded into B leave one bias per column"
            );
            if gemm_core::plan_runs(&self.spec, m_dim, k_dim, n_dim).is_none() {
                return Err(LayerRunError::DoesNotFit {
                    what: "one K-fold".to_string(),
                    detail: format!(
                        "it needs {rows} weight words; a run may use {} of the weight buffer",
                        buffers.weight.run_depth()
                    ),
                });
            }
            // The GEMM's runs as one program: on a double-buffered core they overlap.
            let post = PostProcessing {
                bias: (0..n_dim).map(|n| gemm.bias[[0, n]] as i32).collect(),
                multipliers: gemm
                    .channels
                    .iter()
                    .map(|&c| prepared.multipliers[c])
                    .collect(),
                settings: prepared.settings,
            };
            let planned = self
                .core
                .run_planned(&gemm.a, &gemm.b, &post, timing, runs as u64)?;
            let shape = GemmShape {
                m: m_dim as u64,
                k: k_dim as u64,
                n: n_dim as u64,
            };
            let zeros = self.core.zeros(&gemm.a, &gemm.b);
            let model = schedule::core_program(
                &self.spec,
                shape,
                self.core.settings(&post),
                zeros.as_ref(),
            )
            .expect("plan_runs accepted the GEMM, so the model has its program");
            for run in &model {
                model_cycles += run.busy;
                model_dram_bytes += run.read_bytes + run.write_bytes;
            }
            let program = &planned.program;
            rtl_cycles += program.total("perf_busy_cycles");
            wall_cycles += program.wall_cycles;
            dram_bytes +=
                program.total("perf_dram_read_bytes") + program.total("perf_dram_write_bytes");
            for (name, sum) in counters.iter_mut() {
                *sum += program.total(name);
            }
            runs += planned.runs;
            for ((m, n), value) in planned.result.indexed_iter() {
                values[m * lowered.output_channels + gemm.channels[n]] = *value as i32;
            }
        }
        Ok(LayerRun {
            output: prepared.output(values)?,
            macs: lowered.layer_macs,
            array_macs: lowered.macs(),
            scope: CORE_SCOPE,
            rtl_cycles,
            wall_cycles: Some(wall_cycles),
            model_cycles,
            post_process_cycles: None,
            dram_bytes: Some(dram_bytes),
            model_dram_bytes: Some(model_dram_bytes),
            runs,
            lowering: Lowering::Im2col,
            counters,
        })
    }
}

impl CoreBench {
    /// Runs a convolution in window mode: the core reads its im2col rows out of input tiles, so
    /// the host only lays out the input tensor and the weights (`gemm_core::window`).
    fn run_window(
        &mut self,
        bundle: &LayerBundle,
        prepared: &Prepared,
        layer: &ConvLayer,
        timing: DramTiming,
    ) -> Result<LayerRun, LayerRunError> {
        let rows = self.spec.pe_array.rows as usize;
        let lowered = &prepared.lowered;
        let (b, bias) = window_operands(layer, rows, lowered);
        let post = PostProcessing {
            bias,
            multipliers: prepared.multipliers.clone(),
            settings: prepared.settings,
        };
        let [height, width, channels] = layer.input;
        let input = Array3::from_shape_fn((height, width, channels), |(y, x, c)| {
            i64::from(bundle.input.as_slice()[(y * width + x) * channels + c])
        });
        let pad = i64::from(bundle.params.input_zero_point);
        let settings = self.core.settings(&post);
        let plans = schedule::window_plan(&self.spec, layer, settings)
            .expect("CoreBench::run chose window mode because the layer has a window plan");
        let planned = self
            .core
            .run_window(&plans, &input, pad, (&b, &post), timing, 0)?;
        let model = schedule::program(&self.spec, &plans, settings, None);
        let program = &planned.program;
        let counters = accelgen::blocks::regmap::COUNTERS
            .iter()
            .map(|(name, _)| (*name, program.total(name)))
            .collect();
        let values = planned.result.iter().map(|&value| value as i32).collect();
        Ok(LayerRun {
            output: prepared.output(values)?,
            macs: lowered.layer_macs,
            array_macs: (layer.pixels() * layer.depth(rows) * layer.channels) as u64,
            scope: CORE_SCOPE,
            rtl_cycles: program.total("perf_busy_cycles"),
            wall_cycles: Some(program.wall_cycles),
            model_cycles: model.iter().map(|run| run.busy).sum(),
            post_process_cycles: None,
            dram_bytes: Some(
                program.total("perf_dram_read_bytes") + program.total("perf_dram_write_bytes"),
            ),
            model_dram_bytes: Some(
                model
                    .iter()
                    .map(|run| run.read_bytes + run.write_bytes)
                    .sum(),
            ),
            runs: planned.runs,
            lowering: Lowering::Window,
            counters,
        })
    }
}

/// B in window mode's fold order (`gemm_core::window`: each tap's channels padded to whole
/// blocks of R, a diagonal block per tap when depthwise) and each channel's bias, from the layer
/// lowered with its weight zero points in the weights (one bias per column).
fn window_operands(
    layer: &ConvLayer,
    rows: usize,
    lowered: &LoweredLayer,
) -> (Array2<i64>, Vec<i32>) {
    let channels = lowered.output_channels;
    let taps = layer.kernel[0] * layer.kernel[1];
    let (input_channels, blocks) = (layer.input[2], layer.channel_blocks(rows));
    let mut b = Array2::zeros((layer.depth(rows), channels));
    let mut bias = vec![0; channels];
    for gemm in &lowered.gemms {
        for (j, &o) in gemm.channels.iter().enumerate() {
            bias[o] = gemm.bias[[0, j]] as i32;
            for tap in 0..taps {
                if layer.depthwise {
                    // The lowered group's block-diagonal B: channel j's taps are rows j·taps...
                    b[[tap * rows + o % rows, o]] = gemm.b[[j * taps + tap, j]];
                } else {
                    for c in 0..input_channels {
                        let k = (tap * blocks + c / rows) * rows + c % rows;
                        b[[k, o]] = gemm.b[[tap * input_channels + c, j]];
                    }
                }
            }
        }
    }
    (b, bias)
}

/// Every folded weight `w − w_zp` must fit the PE's weight format.
fn check_folded_weights(lowered: &LoweredLayer, format: OperandSpec) -> Result<(), LayerRunError> {
    let (low, high) = if format.signed {
        (
            -(1i64 << (format.bits - 1)),
            (1i64 << (format.bits - 1)) - 1,
        )
    } else {
        (0, (1i64 << format.bits) - 1)
    };
    let outside = lowered
        .gemms
        .iter()
        .flat_map(|gemm| gemm.b.iter())
        .find(|w| !(low..=high).contains(*w));
    match outside {
        None => Ok(()),
        Some(&value) => Err(LayerRunError::FoldedWeightRange {
            value,
            bits: format.bits,
            signedness: if format.signed { "signed" } else { "unsigned" },
            needed: i64::BITS - value.unsigned_abs().leading_zeros() + 1,
        }),
    }
}

fn check_format(
    field: &'static str,
    dtype: Dtype,
    format: OperandSpec,
    operand: &'static str,
) -> Result<(), LayerRunError> {
    let fits = match dtype {
        Dtype::Int8 => format.signed && format.bits >= 8,
        Dtype::Uint8 => !format.signed && format.bits >= 8 || format.signed && format.bits >= 9,
        Dtype::Int32 => false,
    };
    if fits {
        Ok(())
    } else {
        Err(LayerRunError::OperandFormat {
            field,
            dtype: dtype.name(),
            format: format.tag(),
            operand,
        })
    }
}

/// One post-process beat per (GEMM, output row, group of `lanes` columns), in that order.
fn post_process_beats(
    lowered: &LoweredLayer,
    products: &[Array2<i64>],
    multipliers: &[QuantizedMultiplier],
    lanes: u32,
) -> Vec<LaneBeat> {
    let lanes = lanes as usize;
    let mut beats = Vec::new();
    for (gemm, product) in lowered.gemms.iter().zip(products) {
        for m in 0..product.nrows() {
            for group in 0..gemm.channels.len().div_ceil(lanes) {
                let mut beat = LaneBeat {
                    acc: vec![0; lanes],
                    bias: vec![0; lanes],
                    multiplier: vec![0; lanes],
                    shift: vec![0; lanes],
                };
                for lane in 0..lanes {
                    let n = group * lanes + lane;
                    if n >= gemm.channels.len() {
                        break;
                    }
                    let channel = gemm.channels[n];
                    beat.acc[lane] = product[[m, n]];
                    beat.bias[lane] = gemm.bias[[m, n]] as i32;
                    beat.multiplier[lane] = multipliers[channel].multiplier;
                    beat.shift[lane] = multipliers[channel].shift;
                }
                beats.push(beat);
            }
        }
    }
    beats
}

/// Scatters the post-process outputs (in [`post_process_beats`] order) into the flat output.
fn assemble(lowered: &LoweredLayer, outputs: &[Vec<i64>], lanes: usize) -> Vec<i32> {
    let mut values = vec![0i32; lowered.pixels * lowered.output_channels];
    let mut beat = 0;
    for gemm in &lowered.gemms {
        for m in 0..gemm.a.nrows() {
            for chunk in gemm.channels.chunks(lanes) {
                for (lane, &channel) in chunk.iter().enumerate() {
                    values[m * lowered.output_channels + channel] = outputs[beat][lane] as i32;
                }
                beat += 1;
            }
        }
    }
    values
}
