//! Lowering a layer to GEMMs on raw operand values: what a GEMM engine (the PE arrays) computes
//! for conv2d, depthwise conv2d and fully connected layers, and the per-element bias that makes
//! the result equal the layer's accumulators exactly.
//!
//! The array multiplies the stored int8/uint8 values as they are, so the zero points are folded
//! into the bias. With `K` products per output, padding read as the input zero point `x_zp`:
//!
//! ```text
//! acc[m, n] = bias[n] + Σ_k (x[m,k] − x_zp)·(w[k,n] − w_zp[n])
//!           = (bias[n] − x_zp·Σ_k w[k,n] + K·x_zp·w_zp[n] − w_zp[n]·Σ_k x[m,k]) + Σ_k x[m,k]·w[k,n]
//! ```
//!
//! The bracket is [`LoweredGemm::bias`]: per column when every weight zero point is 0 (TFLite's
//! symmetric int8 weights), per element otherwise (the row sums `Σ_k x[m,k]`). All of it is int32
//! arithmetic that wraps, like the accumulators themselves.
//!
//! Conv2d becomes one GEMM (im2col: row m = output pixel, column k = (tap, input channel) in the
//! OHWI order, so B is the weight tensor read as [O, HWI]ᵀ); fully connected is already one; a
//! depthwise layer becomes one GEMM per group of channels, each channel its own block of K rows
//! and its own column of a block-diagonal B (a group of one is a single-column GEMM).

use ndarray::Array2;

use super::gemm::wrap_signed;
use super::layer::{
    checked_shape, conv_dims, for_each_tap, fully_connected_dims, LayerError, LayerOp, LayerParams,
};
use super::tensor::Tensor;

/// One GEMM of a lowered layer: `accumulator[m, channels[n]] = bias[m, n] + Σ_k a[m,k]·b[k,n]`,
/// wrapping in int32.
#[derive(Debug, Clone, PartialEq)]
pub struct LoweredGemm {
    /// M × K stored input values (padding holds the input zero point).
    pub a: Array2<i64>,
    /// K × N stored weight values.
    pub b: Array2<i64>,
    /// The output channel each column of B produces.
    pub channels: Vec<usize>,
    /// M × N int32 bias with the zero-point corrections folded in.
    pub bias: Array2<i64>,
}

/// A layer as GEMMs whose rows are the output pixels (NHW order, or the rows of a fully connected
/// input) and whose columns together cover every output channel once.
#[derive(Debug, Clone, PartialEq)]
pub struct LoweredLayer {
    pub gemms: Vec<LoweredGemm>,
    /// Output pixels: the M of every GEMM.
    pub pixels: usize,
    pub output_channels: usize,
    /// The layer's output shape (NHWC or [M, N]).
    pub output_shape: Vec<usize>,
    /// The layer's own multiply-accumulates: taps that land in the padding are not counted.
    pub layer_macs: u64,
}

impl LoweredLayer {
    /// The least and greatest stored activation of every GEMM's `A` (padding included): what
    /// the array streams, so what a bit-serial array's precision must hold. `None` without any.
    pub fn act_range(&self) -> Option<(i64, i64)> {
        let values = self.gemms.iter().flat_map(|gemm| gemm.a.iter().copied());
        values.fold(None, |range, value| match range {
            None => Some((value, value)),
            Some((min, max)) => Some((min.min(value), max.max(value))),
        })
    }

    /// The layer's int32 accumulators (flat, channel last) from each GEMM's `A·B` (M × N, any
    /// integer width: only the low 32 bits matter), in the order of [`LoweredLayer::gemms`].
    pub fn accumulators(&self, products: &[Array2<i64>]) -> Vec<i32> {
        assert_eq!(products.len(), self.gemms.len(), "one product per GEMM");
        let mut output = vec![0i32; self.pixels * self.output_channels];
        for (gemm, product) in self.gemms.iter().zip(products) {
            for ((m, n), value) in product.indexed_iter() {
                let sum = wrap_signed(gemm.bias[[m, n]].wrapping_add(*value), 32);
                output[m * self.output_channels + gemm.channels[n]] = sum as i32;
            }
        }
        output
    }

    /// Multiply-accumulates the GEMMs perform (M·K·N summed), padding taps included; compare
    /// [`LoweredLayer::layer_macs`].
    pub fn macs(&self) -> u64 {
        self.gemms
            .iter()
            .map(|g| (g.a.nrows() * g.a.ncols() * g.b.ncols()) as u64)
            .sum()
    }
}

/// One GEMM's operands before the bias is folded: A, B, the channel of each column, and the rows
/// of B each column uses (its block).
type Operands = (Array2<i64>, Array2<i64>, Vec<usize>, Vec<(usize, usize)>);

/// Lowers the layer `params` applied to `input`, `weight` and `bias` (checked as
/// [`LayerParams::check`] does), one depthwise channel per GEMM.
pub fn lower(
    params: &LayerParams,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&[i32]>,
) -> Result<LoweredLayer, LayerError> {
    lower_grouped(params, input, weight, bias, 1)
}

/// Where the weight zero points go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightZeroPoints {
    /// B holds the stored weights; the bias carries `−w_zp[n]·Σ_k x[m,k]` (per element).
    InBias,
    /// B holds `w − w_zp[n]` (one bit wider than the stored weights in the worst case), so the
    /// bias stays per column: `bias[n] − x_zp·Σ_k (w[k,n] − w_zp[n])`. What a core without a
    /// row-sum unit runs.
    InWeights,
}

/// As [`lower`], with `depthwise_group` depthwise channels per GEMM (block-diagonal B: a group
/// as wide as the array's columns keeps them all busy instead of one).
pub fn lower_grouped(
    params: &LayerParams,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&[i32]>,
    depthwise_group: usize,
) -> Result<LoweredLayer, LayerError> {
    lower_with(
        params,
        input,
        weight,
        bias,
        depthwise_group,
        WeightZeroPoints::InBias,
    )
}

/// As [`lower_grouped`], with the weight zero points folded as `zero_points` says.
pub fn lower_with(
    params: &LayerParams,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&[i32]>,
    depthwise_group: usize,
    zero_points: WeightZeroPoints,
) -> Result<LoweredLayer, LayerError> {
    let (shape, weight_zero_points) = checked_shape(params, input, weight, bias)?;
    let channels = shape.output_channels;
    let x_zp = i64::from(params.input_zero_point);
    let x = input.as_slice();
    let w = weight.as_slice();
    let mut layer_macs = 0u64;
    let (pixels, operands) = match &params.op {
        LayerOp::Conv2d(geometry) => {
            let dims = conv_dims(&params.op, geometry, input.shape(), weight.shape())?;
            let ic = dims.input_channels;
            let depth = dims.kernel_height * dims.kernel_width * ic;
            let pixels = dims.batch * dims.output_height * dims.output_width;
            let mut a = Array2::from_elem((pixels, depth), x_zp);
            let mut taps_inside = 0u64;
            for_each_tap(&dims, geometry, |output_pixel, input_pixel, tap| {
                taps_inside += 1;
                for c in 0..ic {
                    a[[output_pixel, tap * ic + c]] = i64::from(x[input_pixel * ic + c]);
                }
            });
            layer_macs = taps_inside * (ic * channels) as u64;
            // OHWI: output channel o's K weights are contiguous.
            let b = Array2::from_shape_fn((depth, channels), |(k, o)| i64::from(w[o * depth + k]));
            (
                pixels,
                vec![(a, b, (0..channels).collect(), vec![(0, depth); channels])],
            )
        }
        LayerOp::DepthwiseConv2d(geometry) => {
            let dims = conv_dims(&params.op, geometry, input.shape(), weight.shape())?;
            let ic = dims.input_channels;
            let multiplier = channels / ic;
            let taps = dims.kernel_height * dims.kernel_width;
            let pixels = dims.batch * dims.output_height * dims.output_width;
            let group = depthwise_group.max(1);
            let mut gemms = Vec::with_capacity(channels.div_ceil(group));
            for first in (0..channels).step_by(group) {
                let members: Vec<usize> = (first..(first + group).min(channels)).collect();
                // Channel j of the group owns rows j·taps .. (j+1)·taps of B and the same
                // columns of A: a block-diagonal B, so one GEMM computes the whole group.
                let mut a = Array2::from_elem((pixels, taps * members.len()), x_zp);
                let mut b = Array2::zeros((taps * members.len(), members.len()));
                for (j, &o) in members.iter().enumerate() {
                    let source_channel = o / multiplier;
                    for_each_tap(&dims, geometry, |output_pixel, input_pixel, tap| {
                        layer_macs += 1;
                        a[[output_pixel, j * taps + tap]] =
                            i64::from(x[input_pixel * ic + source_channel]);
                    });
                    // 1HWC: tap t of output channel o sits at t·C + o.
                    for t in 0..taps {
                        b[[j * taps + t, j]] = i64::from(w[t * channels + o]);
                    }
                }
                let blocks = (0..members.len())
                    .map(|j| (j * taps, (j + 1) * taps))
                    .collect();
                gemms.push((a, b, members, blocks));
            }
            (pixels, gemms)
        }
        LayerOp::FullyConnected => {
            let dims = fully_connected_dims(&params.op, input.shape(), weight.shape())?;
            layer_macs = (dims.rows * dims.depth * dims.columns) as u64;
            let a = Array2::from_shape_fn((dims.rows, dims.depth), |(m, k)| {
                i64::from(x[m * dims.depth + k])
            });
            // OI: [N, K].
            let b = Array2::from_shape_fn((dims.depth, dims.columns), |(k, n)| {
                i64::from(w[n * dims.depth + k])
            });
            let blocks = vec![(0, dims.depth); channels];
            (dims.rows, vec![(a, b, (0..channels).collect(), blocks)])
        }
    };
    let gemms = operands
        .into_iter()
        .map(|(a, mut b, gemm_channels, blocks): Operands| {
            if zero_points == WeightZeroPoints::InWeights {
                // Only the column's own block: the rest of a block-diagonal B stays zero.
                for (n, &(k0, k1)) in blocks.iter().enumerate() {
                    let w_zp = i64::from(weight_zero_points[gemm_channels[n]]);
                    for k in k0..k1 {
                        b[[k, n]] -= w_zp;
                    }
                }
            }
            let w_zp_of = |channel: usize| match zero_points {
                WeightZeroPoints::InBias => i64::from(weight_zero_points[channel]),
                WeightZeroPoints::InWeights => 0,
            };
            // Column n sums over rows k0..k1 of B (its block; zeros elsewhere), so its
            // corrections count only those: its depth, its weights and its part of each A row.
            let mut row_sums = std::collections::HashMap::new();
            for &(k0, k1) in &blocks {
                row_sums.entry((k0, k1)).or_insert_with(|| {
                    a.rows()
                        .into_iter()
                        .map(|row| row.slice(ndarray::s![k0..k1]).sum())
                        .collect::<Vec<i64>>()
                });
            }
            let folded = Array2::from_shape_fn((a.nrows(), gemm_channels.len()), |(m, n)| {
                let channel = gemm_channels[n];
                let (k0, k1) = blocks[n];
                let depth = (k1 - k0) as i64;
                let column_sum: i64 = b.column(n).slice(ndarray::s![k0..k1]).sum();
                let w_zp = w_zp_of(channel);
                let base = bias.map_or(0, |bias| i64::from(bias[channel]));
                let value =
                    base - x_zp * column_sum + depth * x_zp * w_zp - w_zp * row_sums[&(k0, k1)][m];
                wrap_signed(value, 32)
            });
            LoweredGemm {
                a,
                b,
                channels: gemm_channels,
                bias: folded,
            }
        })
        .collect();
    Ok(LoweredLayer {
        gemms,
        pixels,
        output_channels: channels,
        output_shape: shape.output_shape,
        layer_macs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden::gemm::gemm;
    use crate::golden::layer::{accumulators, ConvGeometry, Padding, PerChannel};
    use crate::golden::requant::RequantMode;
    use crate::golden::tensor::Dtype;
    use proptest::prelude::*;

    fn tensor(seed: u64, dtype: Dtype, shape: &[usize]) -> Tensor {
        let mut state = seed | 1;
        let values = (0..shape.iter().product::<usize>())
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let byte = (state >> 56) as i32;
                if dtype == Dtype::Int8 {
                    byte - 128
                } else {
                    byte
                }
            })
            .collect();
        Tensor::from_vec(dtype, shape, values).unwrap()
    }

    /// The lowered GEMMs, multiplied exactly, must give the layer's accumulators bit for bit,
    /// whatever the depthwise grouping.
    fn assert_lowering_exact(
        params: &LayerParams,
        input: &Tensor,
        weight: &Tensor,
        bias: Option<&[i32]>,
    ) {
        for group in [1, 2, 3, 8] {
            assert_lowering_exact_grouped(params, input, weight, bias, group);
        }
    }

    fn assert_lowering_exact_grouped(
        params: &LayerParams,
        input: &Tensor,
        weight: &Tensor,
        bias: Option<&[i32]>,
        group: usize,
    ) {
        let expected = accumulators(params, input, weight, bias).unwrap();
        for mode in [WeightZeroPoints::InBias, WeightZeroPoints::InWeights] {
            let lowered = lower_with(params, input, weight, bias, group, mode).unwrap();
            let products: Vec<Array2<i64>> =
                lowered.gemms.iter().map(|g| gemm(&g.a, &g.b, 64)).collect();
            assert_eq!(lowered.output_shape, expected.shape());
            assert_eq!(
                lowered.accumulators(&products),
                expected.as_slice(),
                "{mode:?}"
            );
            if mode == WeightZeroPoints::InWeights {
                for g in &lowered.gemms {
                    for n in 0..g.bias.ncols() {
                        let column = g.bias.column(n);
                        assert!(column.iter().all(|b| *b == column[0]), "per-column bias");
                    }
                }
            }
        }
    }

    fn raw(op: LayerOp, input_zero_point: i32, weight_zero_point: PerChannel<i32>) -> LayerParams {
        LayerParams {
            op,
            input_zero_point,
            weight_zero_point,
            requant: RequantMode::None,
            output: None,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn lowered_conv_and_depthwise_reproduce_the_accumulators_with_any_zero_points(
            seed in any::<u64>(),
            height in 1usize..=5, width in 1usize..=5, channels in 1usize..=3,
            multiplier in 1usize..=2, output_channels in 1usize..=3,
            kernel in [1usize..=3, 1usize..=3],
            stride in [1usize..=2, 1usize..=2], dilation in [1usize..=2, 1usize..=2],
            padding in [0usize..=2, 0usize..=2, 0usize..=2, 0usize..=2],
            input_zero_point in -128i32..=127,
            weight_zero_points in proptest::collection::vec(-128i32..=127, 6),
            depthwise in any::<bool>(),
            with_bias in any::<bool>(),
        ) {
            let extent = [dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1];
            let geometry = ConvGeometry {
                stride,
                dilation,
                padding: Padding {
                    top: padding[0] % extent[0],
                    bottom: padding[1] % extent[0],
                    left: padding[2] % extent[1],
                    right: padding[3] % extent[1],
                },
            };
            prop_assume!(height + geometry.padding.top + geometry.padding.bottom >= extent[0]);
            prop_assume!(width + geometry.padding.left + geometry.padding.right >= extent[1]);
            let (op, weight_shape, out) = if depthwise {
                let out = channels * multiplier;
                (LayerOp::DepthwiseConv2d(geometry), [1, kernel[0], kernel[1], out], out)
            } else {
                (LayerOp::Conv2d(geometry), [output_channels, kernel[0], kernel[1], channels], output_channels)
            };
            let input = tensor(seed, Dtype::Int8, &[1, height, width, channels]);
            let weight = tensor(seed ^ 0xabc, Dtype::Int8, &weight_shape);
            let zero_points = PerChannel::PerChannel(weight_zero_points[..out].to_vec());
            let bias: Vec<i32> = (0..out as i32).map(|c| c * 1000 - 1500).collect();
            let params = raw(op, input_zero_point, zero_points);
            assert_lowering_exact(&params, &input, &weight, with_bias.then_some(&bias[..]));
        }

        #[test]
        fn lowered_fully_connected_reproduces_the_accumulators_of_uint8_operands(
            seed in any::<u64>(), rows in 1usize..=4, depth in 1usize..=9, columns in 1usize..=5,
            input_zero_point in 0i32..=255, weight_zero_point in 0i32..=255,
        ) {
            let input = tensor(seed, Dtype::Uint8, &[rows, depth]);
            let weight = tensor(seed ^ 7, Dtype::Uint8, &[columns, depth]);
            let params = raw(LayerOp::FullyConnected, input_zero_point, PerChannel::PerTensor(weight_zero_point));
            assert_lowering_exact(&params, &input, &weight, None);
        }
    }

    #[test]
    fn grouped_depthwise_packs_channels_into_a_block_diagonal_gemm() {
        let geometry = ConvGeometry {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding::default(),
        };
        let params = raw(
            LayerOp::DepthwiseConv2d(geometry),
            3,
            PerChannel::PerTensor(0),
        );
        let input = tensor(9, Dtype::Int8, &[1, 3, 3, 5]);
        let weight = tensor(10, Dtype::Int8, &[1, 2, 2, 5]);
        let lowered = lower_grouped(&params, &input, &weight, None, 2).unwrap();
        // 5 channels in groups of 2: GEMMs of 2, 2 and 1 columns over 4 taps each.
        let shapes: Vec<_> = lowered.gemms.iter().map(|g| g.b.dim()).collect();
        assert_eq!(shapes, vec![(8, 2), (8, 2), (4, 1)]);
        let b = &lowered.gemms[0].b;
        assert!((4..8).all(|k| b[[k, 0]] == 0) && (0..4).all(|k| b[[k, 1]] == 0));
    }

    #[test]
    fn symmetric_weights_fold_the_input_zero_point_into_a_per_column_bias() {
        // w_zp = 0: the bias correction is −x_zp·Σw, the same for every row.
        let input = tensor(3, Dtype::Int8, &[4, 5]);
        let weight = tensor(4, Dtype::Int8, &[3, 5]);
        let params = raw(LayerOp::FullyConnected, 9, PerChannel::PerTensor(0));
        let lowered = lower(&params, &input, &weight, Some(&[10, 20, 30])).unwrap();
        let gemm = &lowered.gemms[0];
        for n in 0..3 {
            let column_sum: i64 = gemm.b.column(n).sum();
            for m in 0..4 {
                assert_eq!(gemm.bias[[m, n]], [10, 20, 30][n] - 9 * column_sum);
            }
        }
        assert_eq!(lowered.macs(), 4 * 5 * 3);
        assert_eq!(lowered.layer_macs, 4 * 5 * 3);
    }
}

#[cfg(test)]
mod mac_counts {
    use super::*;
    use crate::golden::layer::{ConvGeometry, Padding, PerChannel};
    use crate::golden::requant::RequantMode;
    use crate::golden::tensor::Dtype;

    #[test]
    fn layer_macs_leave_out_taps_in_the_padding() {
        // A 3×3 kernel with padding 1 on a 2×2 single-channel input: each of the 4 outputs sees
        // 4 of its 9 taps inside the input.
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
        let params = LayerParams {
            op: LayerOp::Conv2d(geometry),
            input_zero_point: 0,
            weight_zero_point: PerChannel::PerTensor(0),
            requant: RequantMode::None,
            output: None,
        };
        let input = Tensor::from_vec(Dtype::Int8, &[1, 2, 2, 1], vec![1, 2, 3, 4]).unwrap();
        let weight = Tensor::from_vec(Dtype::Int8, &[1, 3, 3, 1], vec![1; 9]).unwrap();
        let lowered = lower(&params, &input, &weight, None).unwrap();
        assert_eq!(lowered.layer_macs, 4 * 4);
        assert_eq!(lowered.macs(), 4 * 9);
    }
}
