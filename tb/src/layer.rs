//! A whole layer through the verified datapath: the layer is lowered to GEMMs on stored values
//! (`golden::lowering`), every GEMM runs on the configured PE array in Verilator, and every
//! accumulator goes through the post-processing unit in Verilator with its channel's bias,
//! multiplier and shift. What this bench does in software is exactly what the inference core's
//! controller, DMA and psum buffer will do in hardware: the im2col addressing, the K-fold psum
//! accumulation of weight- and input-stationary arrays, and the row sums of layers with weight
//! zero points.

use accelgen::config::{AcceleratorSpec, OperandSpec};
use accelgen::golden::cycles::{predicted_cycles, ArrayShape, GemmShape};
use accelgen::golden::lowering::{self, LoweredLayer};
use accelgen::golden::requant::QuantizedMultiplier;
use accelgen::golden::{Dtype, LayerBundle, LayerError, RequantMode, Tensor};
use ndarray::Array2;

use crate::array::{ArrayBench, Traffic};
use crate::error::BenchError;
use crate::post_process::{LaneBeat, PostProcessBench, Settings};

/// Why a layer cannot run on the datapath.
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
}

/// What one layer produced on the datapath.
#[derive(Debug, Clone)]
pub struct LayerRun {
    /// The RTL's output, in the layer's output shape and dtype.
    pub output: Tensor,
    /// The layer's multiply-accumulates (taps in the padding not counted).
    pub macs: u64,
    /// Multiply-accumulates of the lowered GEMMs the array ran (padding taps included).
    pub array_macs: u64,
    /// PE-array cycles, summed over the layer's GEMMs (each run from reset at full rate).
    pub array_cycles: u64,
    /// The cycle model's prediction of `array_cycles`.
    pub model_cycles: u64,
    /// Post-process cycles (one beat per output row and lane group, plus the pipeline).
    pub post_process_cycles: u64,
    pub gemms: usize,
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
        check_format("input.dtype", bundle.input.dtype(), self.spec.pe.act, "act")?;
        check_format(
            "weight.dtype",
            bundle.weight.dtype(),
            self.spec.pe.weight,
            "weight",
        )?;
        let params = &bundle.params;
        let lowered = lowering::lower(
            params,
            &bundle.input,
            &bundle.weight,
            bundle.bias.as_deref(),
        )?;
        let requantizer = params.requantizer(lowered.output_channels)?;
        let (multipliers, settings) = match requantizer.mode() {
            RequantMode::Onnx => return Err(LayerRunError::OnnxRequant),
            RequantMode::None => (
                vec![
                    QuantizedMultiplier {
                        multiplier: 0,
                        shift: 0
                    };
                    lowered.output_channels
                ],
                Settings {
                    zero_point: 0,
                    clamp_min: i32::MIN,
                    clamp_max: i32::MAX,
                    bypass: true,
                },
            ),
            RequantMode::Tflite => {
                let clamp = requantizer.clamp();
                (
                    requantizer
                        .tflite_multipliers()
                        .expect("tflite mode")
                        .to_vec(),
                    Settings {
                        zero_point: clamp.zero_point,
                        clamp_min: clamp.min,
                        clamp_max: clamp.max,
                        bypass: false,
                    },
                )
            }
        };

        let array = ArrayShape {
            rows: self.spec.pe_array.rows.into(),
            cols: self.spec.pe_array.cols.into(),
        };
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
            model_cycles += predicted_cycles(self.spec.pe_array.dataflow, array, shape)
                .expect("ArrayBench::new accepted the dataflow");
            products.push(run.result);
        }

        let beats = post_process_beats(&lowered, &products, &multipliers, self.spec.pe_array.cols);
        let (outputs, post_process_cycles) =
            self.post_process
                .run(&beats, settings, beats.len(), traffic)?;
        let values = assemble(&lowered, &outputs, self.spec.pe_array.cols as usize);
        let output_dtype = if requantizer.mode() == RequantMode::None {
            Dtype::Int32
        } else {
            bundle.output_dtype
        };
        let output =
            Tensor::from_vec(output_dtype, &lowered.output_shape, values).map_err(|e| {
                LayerRunError::OutputRange {
                    dtype: output_dtype.name(),
                    message: e.to_string(),
                }
            })?;
        Ok(LayerRun {
            output,
            macs: lowered.layer_macs,
            array_macs: lowered.macs(),
            array_cycles,
            model_cycles,
            post_process_cycles,
            gemms: lowered.gemms.len(),
        })
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
