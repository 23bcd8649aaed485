//! Quantized layers of the golden model: conv2d, depthwise conv2d and fully connected, from integer
//! tensors to accumulators to requantized outputs.
//!
//! Accumulator of output channel `c` (int32, two's-complement wrapping as an int32 register does):
//!
//! ```text
//! acc[c] = bias[c] + Σ (x − x_zp) · (w − w_zp[c])      over the receptive field
//! ```
//!
//! Padded positions read as `x_zp`, so they contribute exactly 0 and are skipped. Layouts: input
//! NHWC (any batch N ≥ 1), conv2d weights OHWI, depthwise weights 1HWC with output channel `c`
//! reading input channel `c / multiplier` (TFLite's `c = m + ic · multiplier`), fully connected input
//! `[M, K]` and weights `[N, K]`. The accumulators then go through [`Requantizer`] (see
//! [`crate::golden::requant`]).
//!
//! Errors name the layer-bundle field they concern (`input.shape`, `padding`, `weight.scale`, …) so
//! a bundle can report them against its `layer.yaml` unchanged.

use crate::golden::requant::{OutputClamp, RequantMode, Requantizer};
use crate::golden::tensor::{Dtype, Tensor};

/// Zero padding (reading as the input zero point) around the input's H and W axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Padding {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

/// The sliding-window geometry of a convolution; `[h, w]` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub padding: Padding,
}

/// Which layer, with the geometry only convolutions have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerOp {
    Conv2d(ConvGeometry),
    DepthwiseConv2d(ConvGeometry),
    FullyConnected,
}

impl LayerOp {
    /// The bundle spelling of the op.
    pub fn name(&self) -> &'static str {
        match self {
            LayerOp::Conv2d(_) => "conv2d",
            LayerOp::DepthwiseConv2d(_) => "depthwise_conv2d",
            LayerOp::FullyConnected => "fully_connected",
        }
    }

    /// The weight layout the op reads.
    pub fn weight_layout(&self) -> &'static str {
        match self {
            LayerOp::Conv2d(_) => "OHWI",
            LayerOp::DepthwiseConv2d(_) => "1HWC",
            LayerOp::FullyConnected => "OI",
        }
    }
}

/// A quantization parameter given once for the tensor or once per output channel.
#[derive(Debug, Clone, PartialEq)]
pub enum PerChannel<T> {
    PerTensor(T),
    PerChannel(Vec<T>),
}

impl<T: Copy> PerChannel<T> {
    /// One value per output channel. A one-entry list counts as per tensor (TFLite stores per-tensor
    /// scales as a one-element array). `None` when a list has any other length than `channels`.
    pub fn expand(&self, channels: usize) -> Option<Vec<T>> {
        match self {
            PerChannel::PerTensor(value) => Some(vec![*value; channels]),
            PerChannel::PerChannel(values) if values.len() == 1 => Some(vec![values[0]; channels]),
            PerChannel::PerChannel(values) if values.len() == channels => Some(values.clone()),
            PerChannel::PerChannel(_) => None,
        }
    }

    /// Every value, in order (one for per-tensor).
    pub fn values(&self) -> &[T] {
        match self {
            PerChannel::PerTensor(value) => std::slice::from_ref(value),
            PerChannel::PerChannel(values) => values,
        }
    }
}

/// The activation clamp applied after requantization (a fused ReLU is `min = max(dtype min, y_zp)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivationRange {
    pub min: i32,
    pub max: i32,
}

/// Everything requantization needs beyond the accumulators.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputQuantization {
    pub input_scale: f64,
    pub weight_scale: PerChannel<f64>,
    pub output_scale: f64,
    pub output_zero_point: i32,
    /// int8 or uint8.
    pub output_dtype: Dtype,
    pub activation: ActivationRange,
}

/// One quantized layer, without its tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerParams {
    pub op: LayerOp,
    pub input_zero_point: i32,
    pub weight_zero_point: PerChannel<i32>,
    pub requant: RequantMode,
    /// Present exactly when `requant` is not [`RequantMode::None`] (raw accumulators need none).
    pub output: Option<OutputQuantization>,
}

/// The derived shape of a checked layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerShape {
    /// NHWC for convolutions, `[M, N]` for fully connected.
    pub output_shape: Vec<usize>,
    pub output_channels: usize,
    /// int32 for raw accumulators, else the requantized dtype.
    pub output_dtype: Dtype,
}

/// A layer whose parameters and tensors do not fit together; each names the bundle field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayerError {
    #[error("`{field}` = {shape:?} must have rank {expected_rank} ({layout}) for {op}")]
    Rank {
        field: &'static str,
        shape: Vec<usize>,
        expected_rank: usize,
        layout: &'static str,
        op: &'static str,
    },
    #[error("`{field}` = {shape:?} has a zero-sized dimension")]
    EmptyDimension {
        field: &'static str,
        shape: Vec<usize>,
    },
    #[error("`{field}` is {dtype}; expected int8 or uint8")]
    OperandDtype { field: &'static str, dtype: Dtype },
    #[error("`weight.shape` = {weight_shape:?} reads {weight_channels} input channels but `input.shape` = {input_shape:?} has {input_channels}")]
    InputChannels {
        weight_shape: Vec<usize>,
        input_shape: Vec<usize>,
        weight_channels: usize,
        input_channels: usize,
    },
    #[error(
        "`weight.shape` = {weight_shape:?} must be [1, KH, KW, C_out] (1HWC) for depthwise_conv2d"
    )]
    DepthwiseWeightLeadingAxis { weight_shape: Vec<usize> },
    #[error("`weight.shape` = {weight_shape:?} has {output_channels} output channels, not a multiple of the {input_channels} input channels of `input.shape`")]
    ChannelMultiplier {
        weight_shape: Vec<usize>,
        output_channels: usize,
        input_channels: usize,
    },
    #[error("`{field}` = {value:?} must be at least 1 on both axes")]
    ZeroStep {
        field: &'static str,
        value: [usize; 2],
    },
    #[error("`padding` {side} = {padding} must be smaller than the dilated kernel {axis} {kernel_extent}; a larger border makes outputs that read only padding")]
    PaddingLargerThanKernel {
        side: &'static str,
        padding: usize,
        axis: &'static str,
        kernel_extent: usize,
    },
    #[error("the dilated kernel {axis} {kernel_extent} exceeds the padded input {axis} {padded_extent}, so there is no output")]
    NoOutput {
        axis: &'static str,
        kernel_extent: usize,
        padded_extent: usize,
    },
    #[error(
        "`bias.shape` = [{length}] must have one entry per output channel ({output_channels})"
    )]
    BiasLength {
        length: usize,
        output_channels: usize,
    },
    #[error("`{field}` has {length} entries; expected 1 (per tensor) or {output_channels} (one per output channel)")]
    PerChannelLength {
        field: &'static str,
        length: usize,
        output_channels: usize,
    },
    #[error("`{field}` = {value} does not fit {dtype} ({min}..={max})", min = .dtype.min(), max = .dtype.max())]
    ValueRange {
        field: &'static str,
        value: i32,
        dtype: Dtype,
    },
    #[error("`{field}` = {value} must be a positive finite number")]
    Scale { field: String, value: f64 },
    #[error("`activation` min {min} is greater than max {max}")]
    ActivationOrder { min: i32, max: i32 },
    #[error("`output.dtype` = {dtype} cannot hold requantized outputs; expected int8 or uint8")]
    OutputDtype { dtype: Dtype },
    #[error("`requant: {}` needs the output quantization (`output.scale`, `output.zero_point`, `activation`)", .mode.name())]
    MissingOutputQuantization { mode: RequantMode },
    #[error(
        "`requant: none` outputs raw int32 accumulators, so there must be no output quantization"
    )]
    UnexpectedOutputQuantization,
}

/// Sizes of a convolution, resolved once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvDims {
    pub(crate) batch: usize,
    pub(crate) input_height: usize,
    pub(crate) input_width: usize,
    pub(crate) input_channels: usize,
    pub(crate) kernel_height: usize,
    pub(crate) kernel_width: usize,
    pub(crate) output_height: usize,
    pub(crate) output_width: usize,
    pub(crate) output_channels: usize,
}

/// Sizes of a fully connected layer: `[rows, depth] · [columns, depth]ᵀ`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FullyConnectedDims {
    pub(crate) rows: usize,
    pub(crate) depth: usize,
    pub(crate) columns: usize,
}

fn check_rank(
    op: &LayerOp,
    field: &'static str,
    shape: &[usize],
    expected_rank: usize,
    layout: &'static str,
) -> Result<(), LayerError> {
    if shape.len() != expected_rank {
        return Err(LayerError::Rank {
            field,
            shape: shape.to_vec(),
            expected_rank,
            layout,
            op: op.name(),
        });
    }
    if shape.contains(&0) {
        return Err(LayerError::EmptyDimension {
            field,
            shape: shape.to_vec(),
        });
    }
    Ok(())
}

/// Output extent of one spatial axis: `(in + pad_before + pad_after − eff_k) / stride + 1` with
/// `eff_k = dilation · (k − 1) + 1`.
fn output_extent(
    axis: &'static str,
    sides: [&'static str; 2],
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: [usize; 2],
) -> Result<usize, LayerError> {
    let kernel_extent = dilation * (kernel - 1) + 1;
    for (side, pad) in sides.into_iter().zip(padding) {
        if pad >= kernel_extent {
            return Err(LayerError::PaddingLargerThanKernel {
                side,
                padding: pad,
                axis,
                kernel_extent,
            });
        }
    }
    let padded_extent = input + padding[0] + padding[1];
    if padded_extent < kernel_extent {
        return Err(LayerError::NoOutput {
            axis,
            kernel_extent,
            padded_extent,
        });
    }
    Ok((padded_extent - kernel_extent) / stride + 1)
}

pub(crate) fn conv_dims(
    op: &LayerOp,
    geometry: &ConvGeometry,
    input_shape: &[usize],
    weight_shape: &[usize],
) -> Result<ConvDims, LayerError> {
    check_rank(op, "input.shape", input_shape, 4, "NHWC")?;
    check_rank(op, "weight.shape", weight_shape, 4, op.weight_layout())?;
    for (field, value) in [("stride", geometry.stride), ("dilation", geometry.dilation)] {
        if value.contains(&0) {
            return Err(LayerError::ZeroStep { field, value });
        }
    }
    let [batch, input_height, input_width, input_channels] = [
        input_shape[0],
        input_shape[1],
        input_shape[2],
        input_shape[3],
    ];
    let (kernel_height, kernel_width, output_channels) = match op {
        LayerOp::DepthwiseConv2d(_) => {
            if weight_shape[0] != 1 {
                return Err(LayerError::DepthwiseWeightLeadingAxis {
                    weight_shape: weight_shape.to_vec(),
                });
            }
            let output_channels = weight_shape[3];
            if !output_channels.is_multiple_of(input_channels) {
                return Err(LayerError::ChannelMultiplier {
                    weight_shape: weight_shape.to_vec(),
                    output_channels,
                    input_channels,
                });
            }
            (weight_shape[1], weight_shape[2], output_channels)
        }
        _ => {
            if weight_shape[3] != input_channels {
                return Err(LayerError::InputChannels {
                    weight_shape: weight_shape.to_vec(),
                    input_shape: input_shape.to_vec(),
                    weight_channels: weight_shape[3],
                    input_channels,
                });
            }
            (weight_shape[1], weight_shape[2], weight_shape[0])
        }
    };
    let padding = geometry.padding;
    let output_height = output_extent(
        "height",
        ["top", "bottom"],
        input_height,
        kernel_height,
        geometry.stride[0],
        geometry.dilation[0],
        [padding.top, padding.bottom],
    )?;
    let output_width = output_extent(
        "width",
        ["left", "right"],
        input_width,
        kernel_width,
        geometry.stride[1],
        geometry.dilation[1],
        [padding.left, padding.right],
    )?;
    Ok(ConvDims {
        batch,
        input_height,
        input_width,
        input_channels,
        kernel_height,
        kernel_width,
        output_height,
        output_width,
        output_channels,
    })
}

pub(crate) fn fully_connected_dims(
    op: &LayerOp,
    input_shape: &[usize],
    weight_shape: &[usize],
) -> Result<FullyConnectedDims, LayerError> {
    check_rank(op, "input.shape", input_shape, 2, "[M, K]")?;
    check_rank(op, "weight.shape", weight_shape, 2, "OI")?;
    if weight_shape[1] != input_shape[1] {
        return Err(LayerError::InputChannels {
            weight_shape: weight_shape.to_vec(),
            input_shape: input_shape.to_vec(),
            weight_channels: weight_shape[1],
            input_channels: input_shape[1],
        });
    }
    Ok(FullyConnectedDims {
        rows: input_shape[0],
        depth: input_shape[1],
        columns: weight_shape[0],
    })
}

fn check_fits(field: &'static str, value: i32, dtype: Dtype) -> Result<(), LayerError> {
    if dtype.contains(value) {
        Ok(())
    } else {
        Err(LayerError::ValueRange {
            field,
            value,
            dtype,
        })
    }
}

fn check_operand_dtype(field: &'static str, dtype: Dtype) -> Result<(), LayerError> {
    match dtype {
        Dtype::Int8 | Dtype::Uint8 => Ok(()),
        Dtype::Int32 => Err(LayerError::OperandDtype { field, dtype }),
    }
}

fn check_scale(field: String, value: f64) -> Result<(), LayerError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(LayerError::Scale { field, value })
    }
}

pub(crate) fn expand_per_channel<T: Copy>(
    field: &'static str,
    values: &PerChannel<T>,
    output_channels: usize,
) -> Result<Vec<T>, LayerError> {
    values
        .expand(output_channels)
        .ok_or(LayerError::PerChannelLength {
            field,
            length: values.values().len(),
            output_channels,
        })
}

impl LayerParams {
    /// Checks these parameters against the tensors' shapes and dtypes and derives the output shape.
    pub fn check(
        &self,
        input_shape: &[usize],
        input_dtype: Dtype,
        weight_shape: &[usize],
        weight_dtype: Dtype,
        bias_length: Option<usize>,
    ) -> Result<LayerShape, LayerError> {
        check_operand_dtype("input.dtype", input_dtype)?;
        check_operand_dtype("weight.dtype", weight_dtype)?;
        check_fits("input.zero_point", self.input_zero_point, input_dtype)?;
        for &zero_point in self.weight_zero_point.values() {
            check_fits("weight.zero_point", zero_point, weight_dtype)?;
        }
        let (output_shape, output_channels) = match &self.op {
            LayerOp::Conv2d(geometry) | LayerOp::DepthwiseConv2d(geometry) => {
                let dims = conv_dims(&self.op, geometry, input_shape, weight_shape)?;
                (
                    vec![
                        dims.batch,
                        dims.output_height,
                        dims.output_width,
                        dims.output_channels,
                    ],
                    dims.output_channels,
                )
            }
            LayerOp::FullyConnected => {
                let dims = fully_connected_dims(&self.op, input_shape, weight_shape)?;
                (vec![dims.rows, dims.columns], dims.columns)
            }
        };
        if let Some(length) = bias_length {
            if length != output_channels {
                return Err(LayerError::BiasLength {
                    length,
                    output_channels,
                });
            }
        }
        expand_per_channel(
            "weight.zero_point",
            &self.weight_zero_point,
            output_channels,
        )?;
        let output_dtype = match (self.requant, &self.output) {
            (RequantMode::None, None) => Dtype::Int32,
            (RequantMode::None, Some(_)) => return Err(LayerError::UnexpectedOutputQuantization),
            (mode, None) => return Err(LayerError::MissingOutputQuantization { mode }),
            (_, Some(output)) => {
                check_scale("input.scale".to_string(), output.input_scale)?;
                check_scale("output.scale".to_string(), output.output_scale)?;
                for (channel, &scale) in output.weight_scale.values().iter().enumerate() {
                    check_scale(format!("weight.scale[{channel}]"), scale)?;
                }
                expand_per_channel("weight.scale", &output.weight_scale, output_channels)?;
                if output.output_dtype == Dtype::Int32 {
                    return Err(LayerError::OutputDtype {
                        dtype: output.output_dtype,
                    });
                }
                check_fits(
                    "output.zero_point",
                    output.output_zero_point,
                    output.output_dtype,
                )?;
                check_fits("activation.min", output.activation.min, output.output_dtype)?;
                check_fits("activation.max", output.activation.max, output.output_dtype)?;
                if output.activation.min > output.activation.max {
                    return Err(LayerError::ActivationOrder {
                        min: output.activation.min,
                        max: output.activation.max,
                    });
                }
                output.output_dtype
            }
        };
        Ok(LayerShape {
            output_shape,
            output_channels,
            output_dtype,
        })
    }

    /// The per-channel requantizer of this layer (identity for raw accumulators).
    pub fn requantizer(&self, output_channels: usize) -> Result<Requantizer, LayerError> {
        match (self.requant, &self.output) {
            (RequantMode::None, None) => Ok(Requantizer::identity()),
            (RequantMode::None, Some(_)) => Err(LayerError::UnexpectedOutputQuantization),
            (mode, None) => Err(LayerError::MissingOutputQuantization { mode }),
            (mode, Some(output)) => {
                let weight_scales =
                    expand_per_channel("weight.scale", &output.weight_scale, output_channels)?;
                let clamp = OutputClamp::new(
                    output.output_zero_point,
                    output.activation.min,
                    output.activation.max,
                    output.output_dtype,
                );
                Ok(Requantizer::new(
                    mode,
                    output.input_scale,
                    &weight_scales,
                    output.output_scale,
                    clamp,
                ))
            }
        }
    }
}

/// Checks the layer against its tensors ([`LayerParams::check`]) and expands the weight zero
/// points to one per output channel.
pub(crate) fn checked_shape(
    params: &LayerParams,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&[i32]>,
) -> Result<(LayerShape, Vec<i32>), LayerError> {
    let shape = params.check(
        input.shape(),
        input.dtype(),
        weight.shape(),
        weight.dtype(),
        bias.map(<[i32]>::len),
    )?;
    let weight_zero_points = expand_per_channel(
        "weight.zero_point",
        &params.weight_zero_point,
        shape.output_channels,
    )?;
    Ok((shape, weight_zero_points))
}

/// The int32 accumulators `bias + Σ (x − x_zp)·(w − w_zp[c])` of the layer, in the output's shape.
pub fn accumulators(
    params: &LayerParams,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&[i32]>,
) -> Result<Tensor, LayerError> {
    let (shape, weight_zero_points) = checked_shape(params, input, weight, bias)?;
    // Subtract the zero points once per element rather than once per MAC.
    let centered_input: Vec<i32> = input
        .as_slice()
        .iter()
        .map(|&x| x - params.input_zero_point)
        .collect();
    let weight_values = weight.as_slice();
    // The output channel is the last axis of every weight layout except OHWI, where it is the first.
    let centered_weight: Vec<i32> = match params.op {
        LayerOp::Conv2d(_) | LayerOp::FullyConnected => {
            let per_channel = weight_values.len() / shape.output_channels;
            weight_values
                .iter()
                .enumerate()
                .map(|(index, &w)| w - weight_zero_points[index / per_channel])
                .collect()
        }
        LayerOp::DepthwiseConv2d(_) => weight_values
            .iter()
            .enumerate()
            .map(|(index, &w)| w - weight_zero_points[index % shape.output_channels])
            .collect(),
    };
    let mut output = vec![0i32; shape.output_shape.iter().product()];
    match &params.op {
        LayerOp::Conv2d(geometry) => {
            let dims = conv_dims(&params.op, geometry, input.shape(), weight.shape())?;
            conv2d_accumulators(
                &dims,
                geometry,
                &centered_input,
                &centered_weight,
                bias,
                &mut output,
            );
        }
        LayerOp::DepthwiseConv2d(geometry) => {
            let dims = conv_dims(&params.op, geometry, input.shape(), weight.shape())?;
            depthwise_accumulators(
                &dims,
                geometry,
                &centered_input,
                &centered_weight,
                bias,
                &mut output,
            );
        }
        LayerOp::FullyConnected => {
            let dims = fully_connected_dims(&params.op, input.shape(), weight.shape())?;
            fully_connected_accumulators(
                &dims,
                &centered_input,
                &centered_weight,
                bias,
                &mut output,
            );
        }
    }
    Ok(Tensor::from_vec(Dtype::Int32, &shape.output_shape, output)
        .expect("the output buffer was sized from the output shape"))
}

/// Runs the layer: accumulators, then requantization per the layer's mode (raw int32 for `none`).
pub fn run(
    params: &LayerParams,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&[i32]>,
) -> Result<Tensor, LayerError> {
    let accumulator_tensor = accumulators(params, input, weight, bias)?;
    let output_channels = *accumulator_tensor
        .shape()
        .last()
        .expect("layer outputs have rank 2 or 4");
    let requantizer = params.requantizer(output_channels)?;
    if requantizer.mode() == RequantMode::None {
        return Ok(accumulator_tensor);
    }
    let output_dtype = params
        .output
        .as_ref()
        .map(|output| output.output_dtype)
        .expect("requantizer() only succeeds with an output quantization");
    // The channel is the last axis of every output (NHWC and [M, N]).
    let values: Vec<i32> = accumulator_tensor
        .as_slice()
        .iter()
        .enumerate()
        .map(|(index, &accumulator)| requantizer.requantize(accumulator, index % output_channels))
        .collect();
    Ok(
        Tensor::from_vec(output_dtype, accumulator_tensor.shape(), values)
            .expect("the requantizer clamps every value into the output dtype"),
    )
}

/// Input row and column read by kernel tap `tap` of output position `position`, if inside the
/// input (outside means padding, which reads as the zero point and contributes nothing).
#[inline]
fn input_coordinate(
    position: usize,
    tap: usize,
    stride: usize,
    dilation: usize,
    pad_before: usize,
    extent: usize,
) -> Option<usize> {
    (position * stride + tap * dilation)
        .checked_sub(pad_before)
        .filter(|&coordinate| coordinate < extent)
}

/// Walks the receptive field of every output pixel: calls `visit(output_pixel, input_pixel, tap)`
/// for each kernel tap that lands inside the input, with pixels as flat NHW indices and `tap` as
/// `kernel_row · kernel_width + kernel_column`. Taps in the padding are skipped: they read the
/// input zero point, which contributes nothing once the input is centred on it.
pub(crate) fn for_each_tap(
    dims: &ConvDims,
    geometry: &ConvGeometry,
    mut visit: impl FnMut(usize, usize, usize),
) {
    for n in 0..dims.batch {
        for output_row in 0..dims.output_height {
            for output_column in 0..dims.output_width {
                let output_pixel =
                    (n * dims.output_height + output_row) * dims.output_width + output_column;
                for kernel_row in 0..dims.kernel_height {
                    let Some(input_row) = input_coordinate(
                        output_row,
                        kernel_row,
                        geometry.stride[0],
                        geometry.dilation[0],
                        geometry.padding.top,
                        dims.input_height,
                    ) else {
                        continue;
                    };
                    for kernel_column in 0..dims.kernel_width {
                        let Some(input_column) = input_coordinate(
                            output_column,
                            kernel_column,
                            geometry.stride[1],
                            geometry.dilation[1],
                            geometry.padding.left,
                            dims.input_width,
                        ) else {
                            continue;
                        };
                        let input_pixel =
                            (n * dims.input_height + input_row) * dims.input_width + input_column;
                        visit(
                            output_pixel,
                            input_pixel,
                            kernel_row * dims.kernel_width + kernel_column,
                        );
                    }
                }
            }
        }
    }
}

/// Starts every output channel of every pixel at its bias (or zero).
fn fill_bias(output: &mut [i32], channels: usize, bias: Option<&[i32]>) {
    if let Some(bias) = bias {
        for pixel in output.chunks_exact_mut(channels) {
            pixel.copy_from_slice(bias);
        }
    }
}

fn conv2d_accumulators(
    dims: &ConvDims,
    geometry: &ConvGeometry,
    input: &[i32],
    weight: &[i32],
    bias: Option<&[i32]>,
    output: &mut [i32],
) {
    let channels = dims.input_channels;
    let taps = dims.kernel_height * dims.kernel_width;
    fill_bias(output, dims.output_channels, bias);
    for_each_tap(dims, geometry, |output_pixel, input_pixel, tap| {
        let input_base = input_pixel * channels;
        let input_values = &input[input_base..input_base + channels];
        for output_channel in 0..dims.output_channels {
            let weight_base = (output_channel * taps + tap) * channels;
            let weight_values = &weight[weight_base..weight_base + channels];
            let accumulator = &mut output[output_pixel * dims.output_channels + output_channel];
            for (&x, &w) in input_values.iter().zip(weight_values) {
                *accumulator = accumulator.wrapping_add(x * w);
            }
        }
    });
}

fn depthwise_accumulators(
    dims: &ConvDims,
    geometry: &ConvGeometry,
    input: &[i32],
    weight: &[i32],
    bias: Option<&[i32]>,
    output: &mut [i32],
) {
    let multiplier = dims.output_channels / dims.input_channels;
    fill_bias(output, dims.output_channels, bias);
    for_each_tap(dims, geometry, |output_pixel, input_pixel, tap| {
        for output_channel in 0..dims.output_channels {
            let x = input[input_pixel * dims.input_channels + output_channel / multiplier];
            let w = weight[tap * dims.output_channels + output_channel];
            let accumulator = &mut output[output_pixel * dims.output_channels + output_channel];
            *accumulator = accumulator.wrapping_add(x * w);
        }
    });
}

fn fully_connected_accumulators(
    dims: &FullyConnectedDims,
    input: &[i32],
    weight: &[i32],
    bias: Option<&[i32]>,
    output: &mut [i32],
) {
    for row in 0..dims.rows {
        let input_row = &input[row * dims.depth..(row + 1) * dims.depth];
        for column in 0..dims.columns {
            let weight_row = &weight[column * dims.depth..(column + 1) * dims.depth];
            let mut accumulator = bias.map_or(0, |bias| bias[column]);
            for (&x, &w) in input_row.iter().zip(weight_row) {
                accumulator = accumulator.wrapping_add(x * w);
            }
            output[row * dims.columns + column] = accumulator;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden::gemm::gemm;
    use crate::golden::tensor::compare;
    use ndarray::{Array2, Array4};
    use proptest::prelude::*;

    /// Deterministic pseudo-random values (xorshift64*) in `dtype`'s range.
    fn random_values(seed: u64, count: usize, dtype: Dtype) -> Vec<i32> {
        let mut state = seed | 1;
        (0..count)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                let bits = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as i32;
                match dtype {
                    Dtype::Int8 => bits - 128,
                    Dtype::Uint8 => bits,
                    Dtype::Int32 => bits * 1000 - 128_000,
                }
            })
            .collect()
    }

    fn random_tensor(seed: u64, dtype: Dtype, shape: &[usize]) -> Tensor {
        let count = shape.iter().product();
        Tensor::from_vec(dtype, shape, random_values(seed, count, dtype)).unwrap()
    }

    fn raw_params(
        op: LayerOp,
        input_zero_point: i32,
        weight_zero_point: PerChannel<i32>,
    ) -> LayerParams {
        LayerParams {
            op,
            input_zero_point,
            weight_zero_point,
            requant: RequantMode::None,
            output: None,
        }
    }

    /// Conv2d written the textbook way: materialize the padded input (filled with the zero point),
    /// then index it with ndarray at `o·s + k·d`. Independent of the flat-slice kernel under test.
    fn reference_conv2d(
        input: &Tensor,
        input_zero_point: i32,
        weight: &Tensor,
        weight_zero_points: &[i32],
        bias: Option<&[i32]>,
        geometry: &ConvGeometry,
    ) -> Tensor {
        let input = input
            .values()
            .view()
            .into_dimensionality::<ndarray::Ix4>()
            .unwrap();
        let weight = weight
            .values()
            .view()
            .into_dimensionality::<ndarray::Ix4>()
            .unwrap();
        let (batch, height, width, channels) = input.dim();
        let (output_channels, kernel_height, kernel_width, _) = weight.dim();
        let Padding {
            top,
            bottom,
            left,
            right,
        } = geometry.padding;
        let mut padded = Array4::from_elem(
            (batch, height + top + bottom, width + left + right, channels),
            input_zero_point,
        );
        padded
            .slice_mut(ndarray::s![.., top..top + height, left..left + width, ..])
            .assign(&input);
        let [stride_h, stride_w] = geometry.stride;
        let [dilation_h, dilation_w] = geometry.dilation;
        let output_height =
            (padded.dim().1 - (dilation_h * (kernel_height - 1) + 1)) / stride_h + 1;
        let output_width = (padded.dim().2 - (dilation_w * (kernel_width - 1) + 1)) / stride_w + 1;
        let mut output =
            Array4::<i32>::zeros((batch, output_height, output_width, output_channels));
        for ((n, row, column, channel), value) in output.indexed_iter_mut() {
            let mut sum = bias.map_or(0, |bias| bias[channel]);
            for kernel_row in 0..kernel_height {
                for kernel_column in 0..kernel_width {
                    for input_channel in 0..channels {
                        let x = padded[[
                            n,
                            row * stride_h + kernel_row * dilation_h,
                            column * stride_w + kernel_column * dilation_w,
                            input_channel,
                        ]];
                        let w = weight[[channel, kernel_row, kernel_column, input_channel]];
                        sum += (x - input_zero_point) * (w - weight_zero_points[channel]);
                    }
                }
            }
            *value = sum;
        }
        Tensor::new(Dtype::Int32, output.into_dyn()).unwrap()
    }

    fn assert_same(expected: &Tensor, actual: &Tensor, context: &str) {
        let comparison = compare(expected, actual).unwrap();
        assert!(comparison.is_exact(), "{context}: {comparison}");
    }

    #[test]
    fn conv2d_with_padding_matches_hand_computed_sums() {
        // 3×3 input 1..9, zero point 1, a 3×3 kernel of ones (weight zero point 0), padding 1:
        // each output is the sum of (x − 1) over the in-bounds 3×3 neighbourhood.
        let input = Tensor::from_vec(Dtype::Int8, &[1, 3, 3, 1], (1..=9).collect()).unwrap();
        let weight = Tensor::from_vec(Dtype::Int8, &[1, 3, 3, 1], vec![1; 9]).unwrap();
        let geometry = ConvGeometry {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding {
                top: 1,
                bottom: 1,
                left: 1,
                right: 1,
            },
        };
        let params = raw_params(LayerOp::Conv2d(geometry), 1, PerChannel::PerTensor(0));
        let output = run(&params, &input, &weight, Some(&[100])).unwrap();
        // x − 1 = [[0,1,2],[3,4,5],[6,7,8]]
        let expected = vec![8, 15, 12, 21, 36, 27, 20, 33, 24]
            .into_iter()
            .map(|sum| sum + 100)
            .collect::<Vec<_>>();
        assert_eq!(output.shape(), &[1, 3, 3, 1]);
        assert_eq!(output.as_slice(), expected.as_slice());
    }

    #[test]
    fn per_channel_weight_zero_points_apply_to_their_own_channel_only() {
        let input = Tensor::from_vec(Dtype::Int8, &[1, 1, 1, 2], vec![3, 5]).unwrap();
        let weight = Tensor::from_vec(Dtype::Int8, &[2, 1, 1, 2], vec![1, 1, 1, 1]).unwrap();
        let geometry = ConvGeometry {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding::default(),
        };
        let params = raw_params(
            LayerOp::Conv2d(geometry),
            0,
            PerChannel::PerChannel(vec![0, 2]),
        );
        let output = run(&params, &input, &weight, None).unwrap();
        // Channel 0: 3·1 + 5·1 = 8; channel 1: 3·(1 − 2) + 5·(1 − 2) = −8.
        assert_eq!(output.as_slice(), &[8, -8]);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn conv2d_matches_the_padded_textbook_convolution(
            seed in any::<u64>(),
            batch in 1usize..=2, height in 1usize..=6, width in 1usize..=6,
            channels in 1usize..=3, output_channels in 1usize..=3,
            kernel_height in 1usize..=3, kernel_width in 1usize..=3,
            stride in [1usize..=2, 1usize..=2], dilation in [1usize..=2, 1usize..=2],
            padding_fractions in [0usize..=4, 0usize..=4, 0usize..=4, 0usize..=4],
            unsigned_input in any::<bool>(),
        ) {
            let extent_h = dilation[0] * (kernel_height - 1) + 1;
            let extent_w = dilation[1] * (kernel_width - 1) + 1;
            let padding = Padding {
                top: padding_fractions[0] % extent_h,
                bottom: padding_fractions[1] % extent_h,
                left: padding_fractions[2] % extent_w,
                right: padding_fractions[3] % extent_w,
            };
            prop_assume!(height + padding.top + padding.bottom >= extent_h);
            prop_assume!(width + padding.left + padding.right >= extent_w);
            let (input_dtype, input_zero_point) =
                if unsigned_input { (Dtype::Uint8, 128) } else { (Dtype::Int8, -5) };
            let input = random_tensor(seed, input_dtype, &[batch, height, width, channels]);
            let weight = random_tensor(
                seed ^ 0xabcdef,
                Dtype::Int8,
                &[output_channels, kernel_height, kernel_width, channels],
            );
            let weight_zero_points = random_values(seed ^ 0x1234, output_channels, Dtype::Int8);
            let bias = random_values(seed ^ 0x777, output_channels, Dtype::Int32);
            let geometry = ConvGeometry { stride, dilation, padding };
            let params = raw_params(
                LayerOp::Conv2d(geometry),
                input_zero_point,
                PerChannel::PerChannel(weight_zero_points.clone()),
            );
            let actual = run(&params, &input, &weight, Some(&bias)).unwrap();
            let expected = reference_conv2d(
                &input, input_zero_point, &weight, &weight_zero_points, Some(&bias), &geometry,
            );
            assert_same(&expected, &actual, &format!("{geometry:?}"));
        }

        #[test]
        fn depthwise_equals_conv2d_with_a_block_diagonal_kernel(
            seed in any::<u64>(),
            height in 1usize..=6, width in 1usize..=6,
            channels in 1usize..=3, multiplier in 1usize..=3,
            kernel in 1usize..=3, stride in 1usize..=2, dilation in 1usize..=2,
            pad in 0usize..=4,
        ) {
            let extent = dilation * (kernel - 1) + 1;
            let pad = pad % extent;
            prop_assume!(height + 2 * pad >= extent && width + 2 * pad >= extent);
            let output_channels = channels * multiplier;
            let input = random_tensor(seed, Dtype::Int8, &[2, height, width, channels]);
            let weight = random_tensor(seed ^ 0x55, Dtype::Int8, &[1, kernel, kernel, output_channels]);
            let weight_zero_points = random_values(seed ^ 0x66, output_channels, Dtype::Int8);
            let geometry = ConvGeometry {
                stride: [stride, stride],
                dilation: [dilation, dilation],
                padding: Padding { top: pad, bottom: pad, left: pad, right: pad },
            };
            // Dense OHWI kernel: the depthwise tap where ic = oc / multiplier, else the weight zero
            // point (which contributes nothing).
            let depthwise = weight.values().view().into_dimensionality::<ndarray::Ix4>().unwrap();
            let dense = Array4::from_shape_fn(
                (output_channels, kernel, kernel, channels),
                |(oc, kh, kw, ic)| {
                    if ic == oc / multiplier { depthwise[[0, kh, kw, oc]] } else { weight_zero_points[oc] }
                },
            );
            let dense = Tensor::new(Dtype::Int8, dense.into_dyn()).unwrap();
            let zero_points = PerChannel::PerChannel(weight_zero_points);
            let depthwise_output = run(
                &raw_params(LayerOp::DepthwiseConv2d(geometry), 7, zero_points.clone()),
                &input, &weight, None,
            ).unwrap();
            let dense_output = run(
                &raw_params(LayerOp::Conv2d(geometry), 7, zero_points),
                &input, &dense, None,
            ).unwrap();
            assert_same(&dense_output, &depthwise_output, &format!("multiplier {multiplier}, {geometry:?}"));
        }

        #[test]
        fn fully_connected_equals_gemm_of_centered_operands_plus_bias(
            seed in any::<u64>(), rows in 1usize..=4, depth in 1usize..=20, columns in 1usize..=6,
        ) {
            let input = random_tensor(seed, Dtype::Uint8, &[rows, depth]);
            let weight = random_tensor(seed ^ 0x99, Dtype::Int8, &[columns, depth]);
            let bias = random_values(seed ^ 0x42, columns, Dtype::Int32);
            let params = raw_params(LayerOp::FullyConnected, 120, PerChannel::PerTensor(-3));
            let actual = run(&params, &input, &weight, Some(&bias)).unwrap();
            let a = Array2::from_shape_fn((rows, depth), |(m, k)| {
                i64::from(input.as_slice()[m * depth + k] - 120)
            });
            let b = Array2::from_shape_fn((depth, columns), |(k, n)| {
                i64::from(weight.as_slice()[n * depth + k] + 3)
            });
            let product = gemm(&a, &b, 32);
            let expected: Vec<i32> = product
                .indexed_iter()
                .map(|((_, column), &value)| value as i32 + bias[column])
                .collect();
            let expected = Tensor::from_vec(Dtype::Int32, &[rows, columns], expected).unwrap();
            assert_same(&expected, &actual, "fully connected");
        }
    }

    #[test]
    fn batch_of_two_equals_two_batches_of_one() {
        let geometry = ConvGeometry {
            stride: [2, 1],
            dilation: [1, 2],
            padding: Padding {
                top: 1,
                bottom: 0,
                left: 2,
                right: 1,
            },
        };
        let params = raw_params(LayerOp::Conv2d(geometry), 3, PerChannel::PerTensor(1));
        let input = random_tensor(11, Dtype::Int8, &[2, 5, 5, 2]);
        let weight = random_tensor(12, Dtype::Int8, &[3, 2, 2, 2]);
        let both = run(&params, &input, &weight, None).unwrap();
        let half = input.len() / 2;
        for n in 0..2 {
            let single = Tensor::from_vec(
                Dtype::Int8,
                &[1, 5, 5, 2],
                input.as_slice()[n * half..(n + 1) * half].to_vec(),
            )
            .unwrap();
            let output = run(&params, &single, &weight, None).unwrap();
            let per_batch = both.len() / 2;
            assert_eq!(
                &both.as_slice()[n * per_batch..(n + 1) * per_batch],
                output.as_slice(),
                "batch {n}"
            );
        }
    }

    #[test]
    fn requantized_run_applies_the_requantizer_per_output_channel() {
        let input = Tensor::from_vec(Dtype::Int8, &[1, 2], vec![10, -20]).unwrap();
        let weight = Tensor::from_vec(Dtype::Int8, &[2, 2], vec![1, 0, 0, 1]).unwrap();
        let params = LayerParams {
            op: LayerOp::FullyConnected,
            input_zero_point: 0,
            weight_zero_point: PerChannel::PerTensor(0),
            requant: RequantMode::Tflite,
            output: Some(OutputQuantization {
                input_scale: 1.0,
                weight_scale: PerChannel::PerChannel(vec![0.5, 2.0]),
                output_scale: 1.0,
                output_zero_point: 3,
                output_dtype: Dtype::Int8,
                activation: ActivationRange { min: -30, max: 127 },
            }),
        };
        let output = run(&params, &input, &weight, None).unwrap();
        // Channel 0: 10 · 0.5 + 3 = 8; channel 1: −20 · 2 + 3 = −37, clamped to −30.
        assert_eq!(output.dtype(), Dtype::Int8);
        assert_eq!(output.as_slice(), &[8, -30]);
    }

    fn conv_params(padding: Padding) -> LayerParams {
        raw_params(
            LayerOp::Conv2d(ConvGeometry {
                stride: [1, 1],
                dilation: [1, 1],
                padding,
            }),
            0,
            PerChannel::PerTensor(0),
        )
    }

    #[test]
    fn check_refuses_padding_as_large_as_the_kernel() {
        let params = conv_params(Padding {
            top: 0,
            bottom: 3,
            left: 0,
            right: 0,
        });
        let error = params
            .check(&[1, 4, 4, 1], Dtype::Int8, &[1, 3, 3, 1], Dtype::Int8, None)
            .unwrap_err();
        assert_eq!(
            error,
            LayerError::PaddingLargerThanKernel {
                side: "bottom",
                padding: 3,
                axis: "height",
                kernel_extent: 3
            }
        );
        assert!(
            error.to_string().contains("`padding` bottom = 3"),
            "{error}"
        );
    }

    #[test]
    fn check_refuses_mismatched_channels_bias_and_per_channel_lengths() {
        let params = conv_params(Padding::default());
        let channels = params
            .check(&[1, 4, 4, 2], Dtype::Int8, &[5, 3, 3, 1], Dtype::Int8, None)
            .unwrap_err();
        assert!(
            matches!(
                channels,
                LayerError::InputChannels {
                    weight_channels: 1,
                    input_channels: 2,
                    ..
                }
            ),
            "{channels:?}"
        );
        let bias = params
            .check(
                &[1, 4, 4, 1],
                Dtype::Int8,
                &[5, 3, 3, 1],
                Dtype::Int8,
                Some(4),
            )
            .unwrap_err();
        assert_eq!(
            bias,
            LayerError::BiasLength {
                length: 4,
                output_channels: 5
            }
        );
        let mut per_channel = params.clone();
        per_channel.weight_zero_point = PerChannel::PerChannel(vec![0, 0]);
        let zero_points = per_channel
            .check(&[1, 4, 4, 1], Dtype::Int8, &[5, 3, 3, 1], Dtype::Int8, None)
            .unwrap_err();
        assert_eq!(
            zero_points,
            LayerError::PerChannelLength {
                field: "weight.zero_point",
                length: 2,
                output_channels: 5
            }
        );
    }

    #[test]
    fn check_refuses_requantizing_modes_without_output_quantization_and_zero_strides() {
        let mut params = conv_params(Padding::default());
        params.requant = RequantMode::Onnx;
        let missing = params
            .check(&[1, 4, 4, 1], Dtype::Int8, &[1, 3, 3, 1], Dtype::Int8, None)
            .unwrap_err();
        assert_eq!(
            missing,
            LayerError::MissingOutputQuantization {
                mode: RequantMode::Onnx
            }
        );
        let zero_stride = raw_params(
            LayerOp::DepthwiseConv2d(ConvGeometry {
                stride: [1, 0],
                dilation: [1, 1],
                padding: Padding::default(),
            }),
            0,
            PerChannel::PerTensor(0),
        )
        .check(&[1, 4, 4, 1], Dtype::Int8, &[1, 3, 3, 1], Dtype::Int8, None)
        .unwrap_err();
        assert_eq!(
            zero_stride,
            LayerError::ZeroStep {
                field: "stride",
                value: [1, 0]
            }
        );
    }

    #[test]
    fn one_entry_per_channel_list_counts_as_per_tensor() {
        assert_eq!(
            PerChannel::PerChannel(vec![0.5]).expand(3),
            Some(vec![0.5; 3])
        );
        assert_eq!(PerChannel::PerTensor(2).expand(2), Some(vec![2, 2]));
        assert_eq!(PerChannel::PerChannel(vec![1, 2]).expand(3), None);
    }
}
