//! Synthetic magnitude pruning of a real layer's weights, to measure weight zero-skipping hardware.
//!
//! This module owns one transformation: a layer's weight tensor in, a copy with a chosen fraction
//! of its smallest weights set to (the stored value of) zero out. Why it exists: the shared real
//! networks are barely sparse (about 1 % of their weights are zero), so a core that skips zero
//! weights would show no gain on them; pruning them synthetically gives the same layers at any
//! sparsity. Why it prunes bricks: Cambricon-S (Zhou et al., MICRO 2018) argued for coarse-grained
//! pruning, zeroing whole blocks of weights that meet the same activations, so that the sparsity
//! is regular enough for hardware to exploit; unstructured (element) pruning scatters the zeros,
//! and an array that can only skip a reduction step when a whole group of lanes is zero gains
//! little from it.
//!
//! # Units
//!
//! The GEMM a layer lowers to ([`crate::golden::lowering`]) has `B[k, n]` = weight of reduction
//! step `k` of output channel `n`:
//!
//! - conv2d (OHWI `[O, KH, KW, I]`): `n = o`, `k = (ky · KW + kx) · I + i`, so output channel `o`'s
//!   weights are the contiguous `K = KH·KW·I` values at `o·K ..`;
//! - fully connected (OI `[N, K]`): `n` is the first axis, `k` the input feature;
//! - depthwise (1HWC `[1, KH, KW, C]`): each channel is its own GEMM (or its own block of a
//!   block-diagonal B), with `k` its taps only: no two output channels share a reduction step.
//!
//! A unit is what is pruned or kept as a whole ([`Pruning`]): one element, or a **weight brick**
//! of `g` consecutive output channels `g·j .. g·j + g − 1` (aligned from channel 0; the last group
//! holds the remaining `O mod g` channels when `g` does not divide `O`) at one reduction step `k`
//! (for conv one `(ky, kx, i)`, for fully connected one input feature): `g` adjacent columns of
//! one row of `B`, the group a weight-skipping array of `g` columns skips together. Depthwise
//! layers are always pruned element by element: their output channels never share a row of B,
//! so a brick across channels is not a unit any hardware skips.
//!
//! # Magnitude, count and ties
//!
//! Zero means the real value 0: a weight of channel `c` is zero when it equals that channel's
//! weight zero point `w_zp[c]` (per tensor or per channel, [`LayerParams::weight_zero_point`]).
//! A unit's magnitude is `Σ |w − w_zp[c]|` over its elements (for an element, its own). The
//! `floor(fraction · units)` units of smallest magnitude ([`pruned_units`]) have every element set
//! to its channel's zero point; ties are broken by position (the unit whose first element comes
//! first in the tensor's C order is pruned first), so the result is deterministic. Units already
//! zero have magnitude 0 and are chosen first, so at least `floor(fraction · units)` units end
//! up zero (more when the layer had more zero units to begin with); the floor puts the fraction
//! reached up to one unit below `fraction` when `fraction · units` is not a whole number.
//!
//! A pruned weight is `w_zp[c]`, so `B` holds 0 there only where B holds the centred weights
//! ([`crate::golden::lowering::WeightZeroPoints::InWeights`]) or the zero point is 0 (TFLite's
//! symmetric int8 weights); with stored weights and a non-zero zero point the skipped products
//! would be `x · w_zp`, which the folded bias accounts for only if they are computed.

use crate::golden::layer::{expand_per_channel, LayerError, LayerOp, LayerParams};
use crate::golden::tensor::{Dtype, Tensor};

/// What is pruned as a whole (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pruning {
    /// Unstructured magnitude pruning: each weight on its own.
    Elements,
    /// Coarse-grained pruning of weight bricks: `g` consecutive output channels (aligned to
    /// multiples of `g`, the last group short) at one reduction step. Depthwise layers are pruned
    /// by elements whatever `g` is. `Bricks(1)` is [`Pruning::Elements`].
    Bricks(usize),
}

/// Pruning that cannot be done: bad arguments, or a weight tensor that does not fit the layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PruneError {
    #[error("the pruning fraction is {fraction}; it must be within 0..=1")]
    Fraction { fraction: f64 },
    #[error("a weight brick must hold at least one output channel (got Bricks(0))")]
    EmptyBrick,
    #[error(transparent)]
    Layer(#[from] LayerError),
}

/// How many of `units` units a `fraction` prunes: `floor(fraction · units)`. The product is
/// computed in `f64`; one within `1e-9` of an integer counts as that integer, so that `0.29` of
/// 100 units is 29 (not the 28 that `0.29 · 100 = 28.999…` would floor to). `fraction` must be
/// within `0..=1` ([`prune`] checks it); the count never exceeds `units`.
pub fn pruned_units(fraction: f64, units: usize) -> usize {
    let exact = fraction * units as f64;
    let nearest = exact.round();
    let count = if (exact - nearest).abs() < 1e-9 {
        nearest
    } else {
        exact.floor()
    };
    (count.max(0.0) as usize).min(units)
}

/// Where a weight tensor's output channel and reduction step sit.
struct WeightLayout {
    output_channels: usize,
    /// Elements per output channel (the `K` of its GEMM).
    depth: usize,
    /// The output channel is the last axis (1HWC) rather than the first (OHWI, OI).
    channel_last: bool,
}

impl WeightLayout {
    /// The layout of `weight` under `params.op`, checking its dtype, rank and (for depthwise) its
    /// leading axis. The input channels are not checked: that needs the input.
    fn of(params: &LayerParams, weight: &Tensor) -> Result<WeightLayout, LayerError> {
        let op = &params.op;
        if weight.dtype() == Dtype::Int32 {
            return Err(LayerError::OperandDtype {
                field: "weight.dtype",
                dtype: weight.dtype(),
            });
        }
        let shape = weight.shape();
        let rank = match op {
            LayerOp::Conv2d(_) | LayerOp::DepthwiseConv2d(_) => 4,
            LayerOp::FullyConnected => 2,
        };
        if shape.len() != rank {
            return Err(LayerError::Rank {
                field: "weight.shape",
                shape: shape.to_vec(),
                expected_rank: rank,
                layout: op.weight_layout(),
                op: op.name(),
            });
        }
        if shape.contains(&0) {
            return Err(LayerError::EmptyDimension {
                field: "weight.shape",
                shape: shape.to_vec(),
            });
        }
        let elements = weight.len();
        Ok(match op {
            LayerOp::DepthwiseConv2d(_) => {
                if shape[0] != 1 {
                    return Err(LayerError::DepthwiseWeightLeadingAxis {
                        weight_shape: shape.to_vec(),
                    });
                }
                WeightLayout {
                    output_channels: shape[3],
                    depth: elements / shape[3],
                    channel_last: true,
                }
            }
            LayerOp::Conv2d(_) | LayerOp::FullyConnected => WeightLayout {
                output_channels: shape[0],
                depth: elements / shape[0],
                channel_last: false,
            },
        })
    }

    fn channel_of(&self, flat_index: usize) -> usize {
        if self.channel_last {
            flat_index % self.output_channels
        } else {
            flat_index / self.depth
        }
    }
}

/// A copy of `weight` (the weight tensor of the layer `params`) with the `fraction` of units of
/// smallest magnitude set to their channel's weight zero point: `floor(fraction · units)` units
/// ([`pruned_units`]), ties broken by position. See the module documentation for the units of
/// each [`Pruning`] and op; depthwise layers are pruned by elements whatever `pruning` says.
/// `fraction = 0` returns the tensor unchanged, `1` sets every weight to its zero point.
///
/// Errors when `fraction` is not within `0..=1` (or is NaN), on `Bricks(0)`, and when `weight`
/// does not fit `params` (dtype, rank, depthwise leading axis, the number of weight zero points,
/// a zero point outside the weight dtype), with the [`LayerError`] a bundle would report.
pub fn prune(
    params: &LayerParams,
    weight: &Tensor,
    fraction: f64,
    pruning: Pruning,
) -> Result<Tensor, PruneError> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(PruneError::Fraction { fraction });
    }
    let brick = match pruning {
        Pruning::Elements => 1,
        Pruning::Bricks(0) => return Err(PruneError::EmptyBrick),
        Pruning::Bricks(width) => width,
    };
    let layout = WeightLayout::of(params, weight)?;
    let zero_points = expand_per_channel(
        "weight.zero_point",
        &params.weight_zero_point,
        layout.output_channels,
    )?;
    if let Some(&value) = zero_points
        .iter()
        .find(|&&value| !weight.dtype().contains(value))
    {
        return Err(LayerError::ValueRange {
            field: "weight.zero_point",
            value,
            dtype: weight.dtype(),
        }
        .into());
    }

    // Units as bricks of `brick` rows of a `rows × depth` C-order matrix, one column each: the
    // weight tensor itself read as [O, K] for OHWI and OI. A depthwise tensor is read as one row
    // of all its elements, so each unit is one element.
    let (rows, depth, brick) = if layout.channel_last {
        (1, weight.len(), 1)
    } else {
        (layout.output_channels, layout.depth, brick)
    };
    let groups = rows.div_ceil(brick);
    let units = groups * depth;
    // Unit `u` = brick group `u / depth` at column `u % depth`; ids increase with the position of
    // the unit's first element, so sorting by (magnitude, id) breaks ties by position.
    let members = |unit: usize| {
        let (group, column) = (unit / depth, unit % depth);
        (group * brick..(group * brick + brick).min(rows)).map(move |row| row * depth + column)
    };
    let values = weight.as_slice();
    let zero_point_of = |flat_index: usize| zero_points[layout.channel_of(flat_index)];
    let mut order: Vec<(u64, usize)> = (0..units)
        .map(|unit| {
            let magnitude = members(unit)
                .map(|index| u64::from((values[index] - zero_point_of(index)).unsigned_abs()))
                .sum();
            (magnitude, unit)
        })
        .collect();
    order.sort_unstable();

    let mut pruned = values.to_vec();
    for &(_, unit) in &order[..pruned_units(fraction, units)] {
        for index in members(unit) {
            pruned[index] = zero_point_of(index);
        }
    }
    Ok(Tensor::from_vec(weight.dtype(), weight.shape(), pruned)
        .expect("zero points were checked to fit the weight dtype"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::golden::bundle::LayerBundle;
    use crate::golden::layer::{accumulators, ConvGeometry, Padding, PerChannel};
    use crate::golden::lowering::{lower_with, LoweredLayer, WeightZeroPoints};
    use crate::golden::requant::RequantMode;
    use crate::golden::run_layer;

    /// Deterministic pseudo-random int8 values (xorshift64*).
    fn random_int8(seed: u64, count: usize) -> Vec<i32> {
        let mut state = seed | 1;
        (0..count)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as i32 - 128
            })
            .collect()
    }

    fn geometry() -> ConvGeometry {
        ConvGeometry {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding {
                top: 1,
                bottom: 1,
                left: 1,
                right: 1,
            },
        }
    }

    fn raw(op: LayerOp, weight_zero_point: PerChannel<i32>) -> LayerParams {
        LayerParams {
            op,
            input_zero_point: -3,
            weight_zero_point,
            requant: RequantMode::None,
            output: None,
        }
    }

    /// Per-channel zero points that differ between channels.
    fn zero_points(channels: usize) -> Vec<i32> {
        (0..channels as i32).map(|c| 7 * c - 20).collect()
    }

    /// A weight tensor of `shape` where no element equals its channel's zero point.
    fn weight_avoiding(
        seed: u64,
        shape: &[usize],
        zero_points: &[i32],
        channel_of: impl Fn(usize) -> usize,
    ) -> Tensor {
        let values = random_int8(seed, shape.iter().product())
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                if value == zero_points[channel_of(index)] {
                    value ^ 1
                } else {
                    value
                }
            })
            .collect();
        Tensor::from_vec(Dtype::Int8, shape, values).unwrap()
    }

    /// A conv2d of 10 output channels (not a multiple of 4), 3×3 kernel, 3 input channels, with
    /// per-channel zero points and no weight at its zero point; its input.
    fn conv_layer() -> (LayerParams, Tensor, Tensor) {
        let channels = 10;
        let depth = 3 * 3 * 3;
        let params = raw(
            LayerOp::Conv2d(geometry()),
            PerChannel::PerChannel(zero_points(channels)),
        );
        let weight = weight_avoiding(1, &[channels, 3, 3, 3], &zero_points(channels), |i| {
            i / depth
        });
        let input =
            Tensor::from_vec(Dtype::Int8, &[1, 5, 4, 3], random_int8(2, 5 * 4 * 3)).unwrap();
        (params, weight, input)
    }

    fn fully_connected_layer() -> (LayerParams, Tensor, Tensor) {
        let (columns, depth) = (6, 11);
        let params = raw(
            LayerOp::FullyConnected,
            PerChannel::PerChannel(zero_points(columns)),
        );
        let weight = weight_avoiding(3, &[columns, depth], &zero_points(columns), |i| i / depth);
        let input = Tensor::from_vec(Dtype::Int8, &[2, depth], random_int8(4, 2 * depth)).unwrap();
        (params, weight, input)
    }

    fn depthwise_layer() -> (LayerParams, Tensor, Tensor) {
        let channels = 6;
        let params = raw(
            LayerOp::DepthwiseConv2d(geometry()),
            PerChannel::PerChannel(zero_points(channels)),
        );
        let weight = weight_avoiding(5, &[1, 3, 3, channels], &zero_points(channels), |i| {
            i % channels
        });
        let input =
            Tensor::from_vec(Dtype::Int8, &[1, 4, 4, 3], random_int8(6, 4 * 4 * 3)).unwrap();
        (params, weight, input)
    }

    fn all_layers() -> Vec<(LayerParams, Tensor, Tensor)> {
        vec![conv_layer(), fully_connected_layer(), depthwise_layer()]
    }

    /// The channel of every element of a layer's weight tensor.
    fn channels_of(params: &LayerParams, weight: &Tensor) -> Vec<usize> {
        let layout = WeightLayout::of(params, weight).unwrap();
        (0..weight.len()).map(|i| layout.channel_of(i)).collect()
    }

    fn expanded_zero_points(params: &LayerParams, weight: &Tensor) -> Vec<i32> {
        let channels = WeightLayout::of(params, weight).unwrap().output_channels;
        params.weight_zero_point.expand(channels).unwrap()
    }

    /// The lowered layer with B holding centred weights (`w − w_zp`), so a pruned weight is 0.
    fn lowered_centred(params: &LayerParams, input: &Tensor, weight: &Tensor) -> LoweredLayer {
        lower_with(params, input, weight, None, 1, WeightZeroPoints::InWeights).unwrap()
    }

    /// (all-zero bricks, bricks) of `brick` aligned columns at each row of the single GEMM's B.
    fn zero_bricks(lowered: &LoweredLayer, brick: usize) -> (usize, usize) {
        assert_eq!(lowered.gemms.len(), 1);
        let b = &lowered.gemms[0].b;
        let mut zero = 0;
        let mut total = 0;
        for row in b.rows() {
            for first in (0..b.ncols()).step_by(brick) {
                total += 1;
                let last = (first + brick).min(b.ncols());
                if (first..last).all(|n| row[n] == 0) {
                    zero += 1;
                }
            }
        }
        (zero, total)
    }

    #[test]
    fn fraction_zero_returns_the_weights_unchanged() {
        for (params, weight, _) in all_layers() {
            for pruning in [Pruning::Elements, Pruning::Bricks(1), Pruning::Bricks(4)] {
                assert_eq!(prune(&params, &weight, 0.0, pruning).unwrap(), weight);
            }
        }
    }

    #[test]
    fn fraction_one_sets_every_weight_to_its_channels_zero_point() {
        for (params, weight, input) in all_layers() {
            let channels = channels_of(&params, &weight);
            let zero_points = expanded_zero_points(&params, &weight);
            for pruning in [Pruning::Elements, Pruning::Bricks(3), Pruning::Bricks(64)] {
                let pruned = prune(&params, &weight, 1.0, pruning).unwrap();
                assert_eq!(
                    (pruned.shape(), pruned.dtype()),
                    (weight.shape(), weight.dtype())
                );
                for (index, &value) in pruned.as_slice().iter().enumerate() {
                    assert_eq!(
                        value, zero_points[channels[index]],
                        "{pruning:?} at {index}"
                    );
                }
                // Every real weight is 0: each accumulator is just its bias.
                let bias: Vec<i32> = (0..zero_points.len() as i32).map(|c| 100 * c - 7).collect();
                let acc = accumulators(&params, &input, &pruned, Some(&bias)).unwrap();
                for (index, &value) in acc.as_slice().iter().enumerate() {
                    assert_eq!(value, bias[index % bias.len()]);
                }
            }
        }
    }

    #[test]
    fn element_pruning_zeroes_exactly_the_requested_count_of_the_smallest_weights() {
        for (params, weight, _) in all_layers() {
            let channels = channels_of(&params, &weight);
            let zero_points = expanded_zero_points(&params, &weight);
            let magnitude =
                |index: usize, value: i32| (value - zero_points[channels[index]]).unsigned_abs();
            for fraction in [0.5, 0.25, 0.9] {
                let pruned = prune(&params, &weight, fraction, Pruning::Elements).unwrap();
                let mut pruned_keys = Vec::new();
                let mut kept_keys = Vec::new();
                for (index, (&before, &after)) in
                    weight.as_slice().iter().zip(pruned.as_slice()).enumerate()
                {
                    let key = (magnitude(index, before), index);
                    if after == before {
                        kept_keys.push(key);
                    } else {
                        assert_eq!(after, zero_points[channels[index]]);
                        pruned_keys.push(key);
                    }
                }
                // No weight started at its zero point, so every pruned one changed.
                assert_eq!(
                    pruned_keys.len(),
                    (fraction * weight.len() as f64).floor() as usize
                );
                // Smallest magnitudes first, ties by position.
                let largest_pruned = pruned_keys.iter().max().unwrap();
                let smallest_kept = kept_keys.iter().min().unwrap();
                assert!(largest_pruned < smallest_kept, "{fraction}");
            }
        }
    }

    #[test]
    fn ties_are_broken_by_position() {
        // Four weights of the same magnitude: the first two in C order go.
        let params = raw(LayerOp::FullyConnected, PerChannel::PerTensor(0));
        let weight = Tensor::from_vec(Dtype::Int8, &[2, 2], vec![5, -5, 5, -5]).unwrap();
        let pruned = prune(&params, &weight, 0.5, Pruning::Elements).unwrap();
        assert_eq!(pruned.as_slice(), &[0, 0, 5, -5]);
        // Two bricks of two channels (one per input feature), the same magnitude: feature 0 goes.
        let pruned = prune(&params, &weight, 0.5, Pruning::Bricks(2)).unwrap();
        assert_eq!(pruned.as_slice(), &[0, -5, 0, -5]);
    }

    #[test]
    fn brick_pruning_zeroes_whole_aligned_bricks_of_the_lowered_b() {
        for (params, weight, input) in [conv_layer(), fully_connected_layer()] {
            let original = lowered_centred(&params, &input, &weight);
            let b0 = &original.gemms[0].b;
            for brick in [2, 4, 8] {
                let bricks = b0.nrows() * b0.ncols().div_ceil(brick);
                for fraction in [0.1, 0.5, 0.75] {
                    let pruned = prune(&params, &weight, fraction, Pruning::Bricks(brick)).unwrap();
                    let lowered = lowered_centred(&params, &input, &pruned);
                    let b = &lowered.gemms[0].b;
                    let (zero, total) = zero_bricks(&lowered, brick);
                    assert_eq!(total, bricks);
                    // floor(fraction · bricks): within one brick of the fraction, below it only
                    // when fraction · bricks is not a whole number.
                    assert!(
                        zero as f64 > fraction * total as f64 - 1.0,
                        "{zero}/{total}"
                    );
                    // No original weight was zero, so exactly the requested count went.
                    assert_eq!(zero, pruned_units(fraction, bricks));
                    // Each brick is either all zero or untouched, and the zeroed ones are the
                    // lightest (Σ |w − w_zp|).
                    let mut zeroed = Vec::new();
                    let mut kept = Vec::new();
                    for k in 0..b.nrows() {
                        for first in (0..b.ncols()).step_by(brick) {
                            let columns = first..(first + brick).min(b.ncols());
                            let weight_sum: i64 = columns.clone().map(|n| b0[[k, n]].abs()).sum();
                            if columns.clone().all(|n| b[[k, n]] == 0) {
                                zeroed.push(weight_sum);
                            } else {
                                assert!(columns.clone().all(|n| b[[k, n]] == b0[[k, n]]));
                                kept.push(weight_sum);
                            }
                        }
                    }
                    assert!(zeroed.iter().max() <= kept.iter().min());
                }
            }
        }
    }

    #[test]
    fn bricks_of_one_are_elements_and_depthwise_is_always_by_elements() {
        for (params, weight, _) in all_layers() {
            for fraction in [0.3, 0.6] {
                let elements = prune(&params, &weight, fraction, Pruning::Elements).unwrap();
                assert_eq!(
                    prune(&params, &weight, fraction, Pruning::Bricks(1)).unwrap(),
                    elements
                );
            }
        }
        let (params, weight, _) = depthwise_layer();
        let elements = prune(&params, &weight, 0.5, Pruning::Elements).unwrap();
        for brick in [2, 4, 64] {
            assert_eq!(
                prune(&params, &weight, 0.5, Pruning::Bricks(brick)).unwrap(),
                elements
            );
        }
    }

    #[test]
    fn per_channel_and_per_tensor_zero_points_are_what_pruned_weights_hold() {
        // Channel 0's zero point is 10, channel 1's is −10: every weight is 12 away from its own,
        // so element pruning of 4 of the 6 takes the first four in C order (all of channel 0 and
        // the first of channel 1), and brick pruning of 1 of the 3 bricks of both channels takes
        // input feature 0.
        let per_channel = raw(
            LayerOp::FullyConnected,
            PerChannel::PerChannel(vec![10, -10]),
        );
        let weight = Tensor::from_vec(Dtype::Int8, &[2, 3], vec![22, -2, 22, 2, -22, 2]).unwrap();
        let pruned = prune(&per_channel, &weight, 4.0 / 6.0, Pruning::Elements).unwrap();
        assert_eq!(pruned.as_slice(), &[10, 10, 10, -10, -22, 2]);
        let pruned = prune(&per_channel, &weight, 0.5, Pruning::Bricks(2)).unwrap();
        assert_eq!(pruned.as_slice(), &[10, -2, 22, -10, -22, 2]);
        // A one-entry list is a per-tensor zero point; so is a uint8 one.
        let per_tensor = raw(LayerOp::FullyConnected, PerChannel::PerChannel(vec![-4]));
        let pruned = prune(&per_tensor, &weight, 1.0, Pruning::Bricks(2)).unwrap();
        assert_eq!(pruned.as_slice(), &[-4; 6]);
        let uint8 =
            Tensor::from_vec(Dtype::Uint8, &[2, 3], vec![128, 0, 255, 1, 200, 129]).unwrap();
        let zero_point = raw(LayerOp::FullyConnected, PerChannel::PerTensor(128));
        let pruned = prune(&zero_point, &uint8, 0.5, Pruning::Elements).unwrap();
        // Magnitudes 0, 128, 127, 127, 72, 1: the 0, the 1 and the 72 go.
        assert_eq!(pruned.as_slice(), &[128, 0, 255, 1, 128, 128]);
    }

    #[test]
    fn pruned_counts_floor_the_product_forgiving_float_rounding() {
        assert_eq!(pruned_units(0.0, 10), 0);
        assert_eq!(pruned_units(1.0, 10), 10);
        assert_eq!(pruned_units(0.5, 7), 3);
        assert_eq!(pruned_units(0.29, 100), 29);
        assert_eq!(pruned_units(0.3, 10), 3);
        assert_eq!(pruned_units(0.999, 10), 9);
        assert_eq!(pruned_units(0.5, 0), 0);
    }

    #[test]
    fn bad_arguments_and_mismatched_weights_are_refused() {
        let (params, weight, _) = conv_layer();
        for fraction in [-0.1, 1.5, f64::NAN] {
            assert!(matches!(
                prune(&params, &weight, fraction, Pruning::Elements),
                Err(PruneError::Fraction { .. })
            ));
        }
        assert_eq!(
            prune(&params, &weight, 0.5, Pruning::Bricks(0)),
            Err(PruneError::EmptyBrick)
        );
        let (fc, fc_weight, _) = fully_connected_layer();
        assert!(matches!(
            prune(&params, &fc_weight, 0.5, Pruning::Elements),
            Err(PruneError::Layer(LayerError::Rank { .. }))
        ));
        assert!(matches!(
            prune(&fc, &weight, 0.5, Pruning::Elements),
            Err(PruneError::Layer(LayerError::Rank { .. }))
        ));
        let mut short = params.clone();
        short.weight_zero_point = PerChannel::PerChannel(vec![0, 0]);
        assert!(matches!(
            prune(&short, &weight, 0.5, Pruning::Elements),
            Err(PruneError::Layer(LayerError::PerChannelLength { .. }))
        ));
        let mut outside = params.clone();
        outside.weight_zero_point = PerChannel::PerTensor(200);
        assert!(matches!(
            prune(&outside, &weight, 0.5, Pruning::Elements),
            Err(PruneError::Layer(LayerError::ValueRange { .. }))
        ));
        let wide = Tensor::from_vec(Dtype::Int32, &[2, 2], vec![0; 4]).unwrap();
        assert!(matches!(
            prune(&fc, &wide, 0.5, Pruning::Elements),
            Err(PruneError::Layer(LayerError::OperandDtype { .. }))
        ));
    }

    #[test]
    fn pruned_synthetic_layers_still_run_through_the_golden_model() {
        for (params, weight, input) in all_layers() {
            for pruning in [Pruning::Elements, Pruning::Bricks(4)] {
                let pruned = prune(&params, &weight, 0.6, pruning).unwrap();
                let dense = accumulators(&params, &input, &weight, None).unwrap();
                let sparse = accumulators(&params, &input, &pruned, None).unwrap();
                assert_eq!(sparse.shape(), dense.shape());
            }
        }
    }

    fn load(name: &str) -> LayerBundle {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/tflm");
        LayerBundle::load(&root.join(name)).unwrap()
    }

    #[test]
    fn real_bundles_keep_their_shapes_and_run_after_pruning() {
        // A 3×3 conv (K = 144, N = 16), a depthwise and a fully connected layer.
        for name in [
            "resnet8/op01_conv_2d",
            "kws_dscnn/op01_depthwise_conv_2d",
            "resnet8/op14_fully_connected",
        ] {
            let bundle = load(name);
            for pruning in [Pruning::Elements, Pruning::Bricks(8)] {
                let pruned = prune(&bundle.params, &bundle.weight, 0.5, pruning).unwrap();
                assert_eq!(pruned.shape(), bundle.weight.shape(), "{name}");
                assert_eq!(pruned.dtype(), bundle.weight.dtype(), "{name}");
                let mut sparse = bundle.clone();
                sparse.weight = pruned;
                let output = run_layer(&sparse).unwrap();
                assert_eq!(output.shape(), bundle.output_shape.as_slice(), "{name}");
                assert_eq!(output.dtype(), bundle.output_dtype, "{name}");
            }
        }
        // The conv's B has 144 rows of 16 columns: two bricks of 8 per row, at least half of
        // them all zero after pruning half.
        let bundle = load("resnet8/op01_conv_2d");
        let pruned = prune(&bundle.params, &bundle.weight, 0.5, Pruning::Bricks(8)).unwrap();
        let lowered = lowered_centred(&bundle.params, &bundle.input, &pruned);
        assert_eq!(lowered.gemms[0].b.dim(), (144, 16));
        let (zero, total) = zero_bricks(&lowered, 8);
        assert_eq!(total, 144 * 2);
        assert!(2 * zero >= total, "{zero}/{total}");
    }
}
