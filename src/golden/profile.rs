//! Ineffectual computation in a real layer: how many of its multiply-accumulates a zero-skipping
//! or bit-serial PE array could avoid on the layer's actual tensors (the characterization of
//! Cnvlutin, Stripes, Loom and Bit-Pragmatic, after Mahmoud et al.), and the ideal speedup each
//! would reach.
//!
//! Everything is measured on the layer as the PE array sees it: the GEMMs of [`lower_with`]
//! (im2col for conv2d, one single-column GEMM per depthwise channel, the input itself for fully
//! connected). Row `m` of a GEMM's `A` is one output pixel, its `K` columns the receptive field
//! in OHWI order (channel fastest), padding included; every `A` element meets
//! the `N` weights of its row of `B`, so it stands for `N` MACs and every count below over `A` is
//! weighted by `N` (a count of MACs). For a depthwise layer `K` is the channel's own taps, so a
//! brick (below) is up to one pixel's whole window of one channel.
//!
//! Zero means the real value 0: a MAC is ineffectual when a **centred** operand is zero, so the
//! values profiled are `d = a − a_zp` for activations and `e = w − w_zp[c]` for weights, not the
//! stored bytes. With TFLite's int8 activations `a_zp = −128` after a ReLU: a stored −128 is the
//! real 0, a stored 0 is `128 · scale`. Skipping is exact only for the centred product
//! `(a − a_zp)·(w − w_zp)`; an array that multiplies stored values ([`crate::golden::lowering`]
//! folds the zero points into the bias) must centre the activations before it skips (up to a
//! ninth bit), or correct the bias for every term it skips.
//!
//! What is computed, per layer:
//!
//! - **input zero fraction**: elements of the input tensor (each once) with `a == a_zp`.
//! - **streamed zero fraction**: MACs whose `A` element has `d == 0`, over all MACs of the lowered
//!   GEMMs. Padding positions hold `a_zp`, so they count as zeros: they are ineffectual too.
//! - **padding fraction**: MACs whose `A` element is padding (`macs − layer_macs`).
//! - **weight zero fraction**: elements of the weight tensor (each once) with `e == 0`.
//! - **MAC zero fraction**: MACs with `d == 0` or `e == 0` (either operand zero).
//! - **precision** of activations (over every `d` of `A`) and of weights (every `e`): if every value
//!   is non-negative, the unsigned width `max(1, bit_length(max))`; otherwise the smallest `p` with
//!   `−2^(p−1) ≤ min` and `max ≤ 2^(p−1) − 1` (two's complement). Lossless: the range of the
//!   values the layer actually has, one precision per layer (Stripes' per-layer profile, measured).
//! - **average one-bits**: `popcount(|d|)` per MAC, over the activations as streamed (padding and
//!   zeros have none; sign-magnitude, the sign costs no term): the terms Bit-Pragmatic processes.
//!
//! Ideal speedups are `dense work / remaining work`, each an upper bound that ignores lane
//! synchronization, stalls and memory. The dense baseline does one `B = 8`-bit MAC per step
//! ([`BASELINE_BITS`]); bit-serial designs are normalized as in the papers (a serial lane does one
//! activation bit per step and the engine has `B` times the lanes, so `p` serial steps equal
//! `p / B` dense ones). Every work count is additive, so the speedup of a set of layers
//! ([`Work::add`]) is the MAC-weighted harmonic mean of theirs.
//!
//! - **zero-skip at granularity `g`** (Cnvlutin's bricks): each `A` row is cut into bricks of `g`
//!   consecutive `K` positions from `k = 0` (in OHWI order: `g` channels of one tap when the input
//!   channels are a multiple of `g`); the last may be shorter and still costs a step, as on a
//!   `g`-lane array. A brick is one step for its `N` columns and is skipped only if all of its
//!   activations are zero.
//!   Speedup = bricks / non-zero bricks (weighted by `N`); at `g = 1`, `1 / (1 − streamed zero
//!   fraction)`.
//! - **zero-skip of pixel bricks of `g`**: the other orientation, each column of `A` cut into
//!   bricks of `g` consecutive rows (output pixels) from `m = 0`, the step an output-stationary
//!   array of `g` rows takes at one reduction index; skipped only if all `g` activations are zero.
//!   Whether neighbouring pixels of one channel are zero together more often than `g` channels
//!   of one pixel is a property of the data; the profile measures both.
//! - **zero-skip of weight bricks of `g`** (Cambricon-X's, on an output-stationary array of `g`
//!   columns): each row of `B` (one reduction index) cut into bricks of `g` consecutive output
//!   channels from `n = 0`, the last may be shorter; a brick is one step for the `M` rows of `A`
//!   it meets (weighted by `M`) and is skipped only if all of its centred weights are zero
//!   (`e == 0`). Speedup = bricks / non-zero bricks. For a depthwise layer every channel is its
//!   own single-column GEMM, so a brick is one weight: a block-diagonal GEMM of `g` channels
//!   has one live weight per step too.
//! - **zero-skip of both operands** (Cambricon-X / SCNN): `1 / (1 − MAC zero fraction)`.
//! - **Stripes**: `B / p_a`. **Loom** (both operands serial): `B² / (p_a · p_w)`.
//! - **Bit-Pragmatic**: `B / average one-bits` (it skips zero activations by construction).
//! - **Bit-Pragmatic over zero-skipped pixel bricks of `g`**: `B` steps per brick dense; an
//!   all-zero brick none, any other its most one-bits (`g` lanes in lockstep).
//! - **zero-skip + Stripes**: non-zero activations only, `p_a` steps each:
//!   `B / (p_a · (1 − streamed zero fraction))`.
//!
//! A speedup whose remaining work is zero (every MAC ineffectual) is `None`, not infinite.

use ndarray::Array2;

use super::layer::{LayerError, LayerParams};
use super::lowering::{lower_with, WeightZeroPoints};
use super::tensor::Tensor;

/// Bits per operand of the dense, bit-parallel baseline PE.
pub const BASELINE_BITS: u32 = 8;

/// The width a set of values needs (see the module doc for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precision {
    pub bits: u32,
    pub signed: bool,
}

impl Precision {
    /// The narrowest width holding every value in `min..=max`: unsigned if `min ≥ 0` (at least one
    /// bit, even for all zeros), two's complement otherwise.
    pub fn of_range(min: i64, max: i64) -> Precision {
        assert!(min <= max, "an empty range has no precision");
        let bit_length = |value: i64| 64 - value.leading_zeros();
        if min >= 0 {
            Precision {
                bits: bit_length(max).max(1),
                signed: false,
            }
        } else {
            // A negative `min` needs bit_length(−min − 1) magnitude bits, plus the sign.
            Precision {
                bits: 1 + bit_length(max.max(0)).max(bit_length(-(min + 1))),
                signed: true,
            }
        }
    }
}

/// The bits a bit-serial array must stream per activation so that every stored value in
/// `min..=max` reads back exactly in `act`'s format: two's complement bits for a signed format
/// (a non-negative range needs its sign bit too), plain bits for an unsigned one; at least 1,
/// at most `act.bits`. Stripes' per-layer precision, on the stored values the array streams
/// (padding included), not the centred ones [`Precision`] profiles.
pub fn stream_bits(min: i64, max: i64, act: crate::config::OperandSpec) -> u32 {
    let range = Precision::of_range(min.min(max), max.max(min));
    // A signed format needs a sign bit above a non-negative range's bits (all zeros: 1 bit).
    let bits = if act.signed && !range.signed && max > 0 {
        range.bits + 1
    } else {
        range.bits
    };
    bits.clamp(1, act.bits)
}

/// Bricks of one granularity, each weighted by the `N` columns it feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bricks {
    pub granularity: usize,
    pub bricks: u64,
    /// Bricks whose activations are all zero.
    pub zero_bricks: u64,
    /// Σ over bricks of the most one-bits any of its activations has (at least 1): the steps
    /// of Bit-Pragmatic lanes that process their own one-bits but wait for each other at the
    /// end of every brick. Pixel bricks count only the bricks that are not all zero: the steps
    /// of Pragmatic over zero skipping (`configs/cnvlutin_pragmatic.yaml`'s design).
    pub pragmatic_steps: u64,
}

/// Dense and remaining work of a layer (or of several, summed), in MACs or in steps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Work {
    /// MACs of the lowered GEMMs (`Σ M·K·N`), padding included: what a dense array performs.
    pub macs: u64,
    /// MACs whose activation is padding.
    pub padding_macs: u64,
    /// MACs whose activation is zero (`d == 0`), padding included.
    pub zero_activation_macs: u64,
    /// MACs whose weight is zero (`e == 0`).
    pub zero_weight_macs: u64,
    /// MACs with either operand zero.
    pub either_zero_macs: u64,
    /// `Σ popcount(|d|)` over the MACs: Bit-Pragmatic's serial steps.
    pub activation_one_bits: u64,
    /// `macs · p_a`: Stripes' serial steps.
    pub stripes_steps: u64,
    /// `macs · p_a · p_w`: Loom's serial steps (one activation bit times one weight bit each).
    pub loom_steps: u64,
    /// `(macs − zero_activation_macs) · p_a`: zero skipping with Stripes' serial lanes.
    pub zero_skip_stripes_steps: u64,
    /// One entry per requested granularity, in the order requested.
    pub bricks: Vec<Bricks>,
    /// The same granularities as pixel bricks (along `M`).
    pub pixel_bricks: Vec<Bricks>,
    /// The same granularities as weight bricks (`g` output channels of `B` at one reduction
    /// index, weighted by the `M` rows they meet; `pragmatic_steps` is not counted, 0).
    pub weight_bricks: Vec<Bricks>,
}

fn fraction(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// `dense / remaining`, `None` when nothing remains.
fn speedup(dense: u64, remaining: u64) -> Option<f64> {
    (remaining > 0).then(|| dense as f64 / remaining as f64)
}

impl Work {
    /// Adds another layer's work; brick counts are matched by granularity (a granularity only one
    /// side has is kept as it is).
    pub fn add(&mut self, other: &Work) {
        self.macs += other.macs;
        self.padding_macs += other.padding_macs;
        self.zero_activation_macs += other.zero_activation_macs;
        self.zero_weight_macs += other.zero_weight_macs;
        self.either_zero_macs += other.either_zero_macs;
        self.activation_one_bits += other.activation_one_bits;
        self.stripes_steps += other.stripes_steps;
        self.loom_steps += other.loom_steps;
        self.zero_skip_stripes_steps += other.zero_skip_stripes_steps;
        add_bricks(&mut self.bricks, &other.bricks);
        add_bricks(&mut self.pixel_bricks, &other.pixel_bricks);
        add_bricks(&mut self.weight_bricks, &other.weight_bricks);
    }

    /// MACs whose activation is zero, padding included.
    pub fn streamed_zero_fraction(&self) -> f64 {
        fraction(self.zero_activation_macs, self.macs)
    }

    pub fn padding_fraction(&self) -> f64 {
        fraction(self.padding_macs, self.macs)
    }

    /// MACs with either operand zero.
    pub fn mac_zero_fraction(&self) -> f64 {
        fraction(self.either_zero_macs, self.macs)
    }

    /// Average `popcount(|a − a_zp|)` per MAC.
    pub fn average_one_bits(&self) -> f64 {
        fraction(self.activation_one_bits, self.macs)
    }

    /// Bricks of `granularity` that are all zero, over all bricks (`None` if not profiled).
    pub fn zero_brick_fraction(&self, granularity: usize) -> Option<f64> {
        self.bricks_of(granularity)
            .map(|b| fraction(b.zero_bricks, b.bricks))
    }

    /// Skipping all-zero bricks of `granularity` activations: bricks / non-zero bricks (outer
    /// `None` if not profiled, inner `None` if every brick is zero).
    pub fn zero_skip_speedup(&self, granularity: usize) -> Option<Option<f64>> {
        self.bricks_of(granularity)
            .map(|b| speedup(b.bricks, b.bricks - b.zero_bricks))
    }

    /// Skipping every MAC with a zero operand.
    pub fn zero_skip_both_speedup(&self) -> Option<f64> {
        speedup(self.macs, self.macs - self.either_zero_macs)
    }

    /// `B / p_a`.
    pub fn stripes_speedup(&self) -> Option<f64> {
        speedup(u64::from(BASELINE_BITS) * self.macs, self.stripes_steps)
    }

    /// `B² / (p_a · p_w)`.
    pub fn loom_speedup(&self) -> Option<f64> {
        speedup(
            u64::from(BASELINE_BITS * BASELINE_BITS) * self.macs,
            self.loom_steps,
        )
    }

    /// `B / average one-bits`.
    pub fn pragmatic_speedup(&self) -> Option<f64> {
        speedup(
            u64::from(BASELINE_BITS) * self.macs,
            self.activation_one_bits,
        )
    }

    /// Bit-Pragmatic with lanes synchronised per brick of `granularity` activations (a pixel's
    /// channels, the lanes a weight-stationary array streams together): `B` steps per brick
    /// dense, the most one-bits of any of its activations (at least 1) with Pragmatic; `None`
    /// if that granularity was not profiled, `Some(None)` without MACs.
    pub fn pragmatic_brick_speedup(&self, granularity: usize) -> Option<Option<f64>> {
        of_granularity(&self.bricks, granularity)
            .map(|b| speedup(u64::from(BASELINE_BITS) * b.bricks, b.pragmatic_steps))
    }

    /// `B / (p_a · (1 − streamed zero fraction))`.
    pub fn zero_skip_stripes_speedup(&self) -> Option<f64> {
        speedup(
            u64::from(BASELINE_BITS) * self.macs,
            self.zero_skip_stripes_steps,
        )
    }

    /// Skipping all-zero pixel bricks of `granularity` (an output-stationary array of that many
    /// rows): bricks / non-zero bricks, as [`Work::zero_skip_speedup`].
    pub fn pixel_zero_skip_speedup(&self, granularity: usize) -> Option<Option<f64>> {
        of_granularity(&self.pixel_bricks, granularity)
            .map(|b| speedup(b.bricks, b.bricks - b.zero_bricks))
    }

    /// Bit-Pragmatic over zero skipping of pixel bricks of `granularity`: `B` steps per brick
    /// dense, none for an all-zero brick and its most one-bits for any other; `None` if not
    /// profiled, `Some(None)` if every brick is zero.
    pub fn pixel_pragmatic_speedup(&self, granularity: usize) -> Option<Option<f64>> {
        of_granularity(&self.pixel_bricks, granularity)
            .map(|b| speedup(u64::from(BASELINE_BITS) * b.bricks, b.pragmatic_steps))
    }

    /// The mean of the most one-bits of a pixel brick of `granularity` over the bricks that are
    /// not all zero: the cycles a Pragmatic brick takes where a parallel one takes one.
    pub fn pixel_pragmatic_steps_per_brick(&self, granularity: usize) -> Option<f64> {
        of_granularity(&self.pixel_bricks, granularity)
            .map(|b| fraction(b.pragmatic_steps, b.bricks - b.zero_bricks))
    }

    /// Pixel bricks of `granularity` that are all zero, over all (`None` if not profiled).
    pub fn pixel_zero_brick_fraction(&self, granularity: usize) -> Option<f64> {
        of_granularity(&self.pixel_bricks, granularity).map(|b| fraction(b.zero_bricks, b.bricks))
    }

    /// Skipping all-zero weight bricks of `granularity` output channels (an output-stationary
    /// array of that many columns): bricks / non-zero bricks, as [`Work::zero_skip_speedup`].
    pub fn weight_zero_skip_speedup(&self, granularity: usize) -> Option<Option<f64>> {
        of_granularity(&self.weight_bricks, granularity)
            .map(|b| speedup(b.bricks, b.bricks - b.zero_bricks))
    }

    /// Weight bricks of `granularity` that are all zero, over all (`None` if not profiled).
    pub fn weight_zero_brick_fraction(&self, granularity: usize) -> Option<f64> {
        of_granularity(&self.weight_bricks, granularity).map(|b| fraction(b.zero_bricks, b.bricks))
    }

    fn bricks_of(&self, granularity: usize) -> Option<&Bricks> {
        of_granularity(&self.bricks, granularity)
    }
}

/// The entry of `bricks` for `granularity`, if it was profiled.
fn of_granularity(bricks: &[Bricks], granularity: usize) -> Option<&Bricks> {
    bricks.iter().find(|b| b.granularity == granularity)
}

/// Adds `theirs` to `ours`, matched by granularity (one only `theirs` has is appended).
fn add_bricks(ours: &mut Vec<Bricks>, theirs: &[Bricks]) {
    for their in theirs {
        match ours.iter_mut().find(|b| b.granularity == their.granularity) {
            Some(our) => {
                our.bricks += their.bricks;
                our.zero_bricks += their.zero_bricks;
                our.pragmatic_steps += their.pragmatic_steps;
            }
            None => ours.push(*their),
        }
    }
}

/// One layer's profile: tensor statistics and the work of the lowered GEMMs.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerProfile {
    /// Elements of the input tensor.
    pub input_values: u64,
    /// Input elements equal to the input zero point.
    pub input_zeros: u64,
    /// Elements of the weight tensor.
    pub weight_values: u64,
    /// Weights equal to their channel's zero point.
    pub weight_zeros: u64,
    /// Over every streamed `a − a_zp` (padding included).
    pub activation_precision: Precision,
    /// Over every `w − w_zp[c]`.
    pub weight_precision: Precision,
    /// The layer's own MACs: taps in the padding not counted.
    pub layer_macs: u64,
    pub work: Work,
}

impl LayerProfile {
    pub fn input_zero_fraction(&self) -> f64 {
        fraction(self.input_zeros, self.input_values)
    }

    pub fn weight_zero_fraction(&self) -> f64 {
        fraction(self.weight_zeros, self.weight_values)
    }
}

/// Profiles the layer `params` on `input` and `weight` (checked as [`LayerParams::check`] does),
/// with zero-skipping bricks of each of `granularities` (each at least 1 activation; repeats are
/// profiled once).
pub fn profile(
    params: &LayerParams,
    input: &Tensor,
    weight: &Tensor,
    granularities: &[usize],
) -> Result<LayerProfile, LayerError> {
    assert!(
        granularities.iter().all(|&g| g >= 1),
        "a brick holds at least one activation"
    );
    // One depthwise channel per GEMM and the weight zero points in B: every B element is one
    // centred weight, each weight exactly once (a grouped, block-diagonal B would add zeros).
    let lowered = lower_with(params, input, weight, None, 1, WeightZeroPoints::InWeights)?;
    let zero_point = i64::from(params.input_zero_point);

    let input_zeros = input
        .as_slice()
        .iter()
        .filter(|&&a| i64::from(a) == zero_point)
        .count() as u64;

    let mut work = Work::default();
    for &granularity in granularities {
        if work.bricks_of(granularity).is_none() {
            let empty = Bricks {
                granularity,
                bricks: 0,
                zero_bricks: 0,
                pragmatic_steps: 0,
            };
            work.bricks.push(empty);
            work.pixel_bricks.push(empty);
            work.weight_bricks.push(empty);
        }
    }
    let (mut activation_range, mut weight_range) = ((0i64, 0i64), (0i64, 0i64));
    let (mut weight_values, mut weight_zeros) = (0u64, 0u64);
    for gemm in &lowered.gemms {
        let centred: Array2<i64> = gemm.a.mapv(|a| a - zero_point);
        let (m, n) = (centred.nrows() as u64, gemm.b.ncols() as u64);
        work.macs += m * centred.ncols() as u64 * n;
        for &d in &centred {
            activation_range = (activation_range.0.min(d), activation_range.1.max(d));
            work.activation_one_bits += u64::from(d.unsigned_abs().count_ones()) * n;
        }
        for &e in &gemm.b {
            weight_range = (weight_range.0.min(e), weight_range.1.max(e));
            weight_values += 1;
            weight_zeros += u64::from(e == 0);
        }
        // Per reduction index k: the zero activations of column k of A meet all N weights of row k
        // of B, the zero weights of row k meet all M activations; count their union.
        for (column, weights) in centred.columns().into_iter().zip(gemm.b.rows()) {
            let zero_activations = column.iter().filter(|&&d| d == 0).count() as u64;
            let zero_weights = weights.iter().filter(|&&e| e == 0).count() as u64;
            work.zero_activation_macs += zero_activations * n;
            work.zero_weight_macs += zero_weights * m;
            work.either_zero_macs +=
                zero_activations * n + zero_weights * m - zero_activations * zero_weights;
        }
        for bricks in &mut work.pixel_bricks {
            for column in centred.columns() {
                let column: Vec<i64> = column.iter().copied().collect();
                for chunk in column.chunks(bricks.granularity) {
                    bricks.bricks += n;
                    bricks.zero_bricks += n * u64::from(chunk.iter().all(|&d| d == 0));
                    let most = chunk.iter().map(|d| d.unsigned_abs().count_ones()).max();
                    bricks.pragmatic_steps += n * u64::from(most.unwrap_or(0));
                }
            }
        }
        // A weight brick meets every row of A at its reduction index.
        for bricks in &mut work.weight_bricks {
            for weights in gemm.b.rows() {
                let weights: Vec<i64> = weights.iter().copied().collect();
                for chunk in weights.chunks(bricks.granularity) {
                    bricks.bricks += m;
                    bricks.zero_bricks += m * u64::from(chunk.iter().all(|&e| e == 0));
                }
            }
        }
        for bricks in &mut work.bricks {
            for row in centred.rows() {
                for chunk in row
                    .as_slice()
                    .expect("a standard-layout row")
                    .chunks(bricks.granularity)
                {
                    bricks.bricks += n;
                    bricks.zero_bricks += n * u64::from(chunk.iter().all(|&d| d == 0));
                    let most = chunk.iter().map(|d| d.unsigned_abs().count_ones());
                    bricks.pragmatic_steps += n * u64::from(most.max().unwrap_or(0).max(1));
                }
            }
        }
    }
    let activation_precision = Precision::of_range(activation_range.0, activation_range.1);
    let weight_precision = Precision::of_range(weight_range.0, weight_range.1);
    work.padding_macs = work.macs - lowered.layer_macs;
    work.stripes_steps = work.macs * u64::from(activation_precision.bits);
    work.loom_steps = work.stripes_steps * u64::from(weight_precision.bits);
    work.zero_skip_stripes_steps =
        (work.macs - work.zero_activation_macs) * u64::from(activation_precision.bits);
    Ok(LayerProfile {
        input_values: input.len() as u64,
        input_zeros,
        weight_values,
        weight_zeros,
        activation_precision,
        weight_precision,
        layer_macs: lowered.layer_macs,
        work,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden::layer::{ConvGeometry, LayerOp, Padding, PerChannel};
    use crate::golden::requant::RequantMode;
    use crate::golden::tensor::Dtype;
    use proptest::prelude::*;

    fn params(
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

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 1e-12
    }

    #[test]
    fn precision_is_the_unsigned_bit_length_when_non_negative_and_twos_complement_otherwise() {
        let cases = [
            ((0, 0), (1, false)),
            ((0, 1), (1, false)),
            ((0, 127), (7, false)),
            ((0, 128), (8, false)),
            ((0, 255), (8, false)),
            ((-1, 0), (1, true)),
            ((-2, 1), (2, true)),
            ((-1, 3), (3, true)),
            ((-4, 3), (3, true)),
            ((-5, 3), (4, true)),
            ((-128, 127), (8, true)),
            ((-129, 0), (9, true)),
            ((-255, 255), (9, true)),
        ];
        for ((min, max), (bits, signed)) in cases {
            assert_eq!(
                Precision::of_range(min, max),
                Precision { bits, signed },
                "{min}..={max}"
            );
        }
    }

    /// A fully connected layer small enough to count by hand: input zero point −128, so the
    /// centred activations are d = [0, 0, 1, 0, 3, 0, 0, 0]; weights (N = 2, zero point 0)
    /// [0, 1, 0, 0, 0, 0, 0, 0] and [3, 0, 0, 0, 2, 0, 0, −1].
    fn hand_counted_fully_connected(granularities: &[usize]) -> LayerProfile {
        let input = Tensor::from_vec(
            Dtype::Int8,
            &[1, 8],
            vec![-128, -128, -127, -128, -125, -128, -128, -128],
        )
        .unwrap();
        let weight = Tensor::from_vec(
            Dtype::Int8,
            &[2, 8],
            vec![0, 1, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, -1],
        )
        .unwrap();
        let layer = params(LayerOp::FullyConnected, -128, PerChannel::PerTensor(0));
        profile(&layer, &input, &weight, granularities).unwrap()
    }

    #[test]
    fn zeros_are_values_equal_to_the_zero_point_counted_per_mac() {
        let p = hand_counted_fully_connected(&[1]);
        // 6 of 8 inputs are −128 (the real 0); each meets N = 2 weights: 12 of 16 MACs.
        assert_eq!((p.input_zeros, p.input_values), (6, 8));
        assert_eq!(p.work.macs, 16);
        assert_eq!(p.work.zero_activation_macs, 12);
        assert!(close(p.input_zero_fraction(), 0.75));
        assert!(close(p.work.streamed_zero_fraction(), 0.75));
        assert_eq!(p.work.padding_macs, 0);
        assert_eq!((p.weight_zeros, p.weight_values), (12, 16));
        // Only d = 3 meets a non-zero weight (2): 15 of 16 MACs have a zero operand.
        assert_eq!(p.work.either_zero_macs, 15);
        assert_eq!(p.work.zero_weight_macs, 12);
        assert_eq!(p.work.zero_skip_speedup(1), Some(Some(4.0)));
        assert_eq!(p.work.zero_skip_both_speedup(), Some(16.0));
    }

    #[test]
    fn a_brick_is_skipped_only_when_all_of_its_activations_are_zero() {
        let p = hand_counted_fully_connected(&[1, 2, 4, 16]);
        // g = 2: [0 0] [1 0] [3 0] [0 0] → 2 of 4 bricks zero. g = 4: [0 0 1 0] [3 0 0 0] → none.
        // g = 16: the whole row of 8 is one (short) brick, not zero.
        assert_eq!(p.work.zero_skip_speedup(2), Some(Some(2.0)));
        assert_eq!(p.work.zero_brick_fraction(2), Some(0.5));
        assert_eq!(p.work.zero_skip_speedup(4), Some(Some(1.0)));
        assert_eq!(p.work.zero_skip_speedup(16), Some(Some(1.0)));
        assert_eq!(p.work.bricks[3].bricks, 2, "one brick per column of B");
        assert_eq!(p.work.zero_skip_speedup(8), None, "not profiled");
    }

    #[test]
    fn a_pixel_brick_is_skipped_only_when_its_pixels_are_zero_at_one_reduction_index() {
        // 4 rows (pixels) × K = 2, zero point −128; centred columns k0 = [0 0 5 0], k1 = 0.
        let input = Tensor::from_vec(
            Dtype::Int8,
            &[4, 2],
            vec![-128, -128, -128, -128, -123, -128, -128, -128],
        )
        .unwrap();
        let weight = Tensor::from_vec(Dtype::Int8, &[3, 2], vec![1, 2, 3, 4, 5, 6]).unwrap();
        let layer = params(LayerOp::FullyConnected, -128, PerChannel::PerTensor(0));
        let p = profile(&layer, &input, &weight, &[2, 4]).unwrap();
        // g = 2 pixels: k0 [0 0] [5 0], k1 [0 0] [0 0]: 3 of 4 zero. g = 4: k1 only, 1 of 2.
        assert_eq!(p.work.pixel_zero_skip_speedup(2), Some(Some(4.0)));
        assert_eq!(p.work.pixel_zero_brick_fraction(2), Some(0.75));
        assert_eq!(p.work.pixel_zero_skip_speedup(4), Some(Some(2.0)));
        // Pragmatic over them: the one brick with 5 (two one-bits) takes 2 steps of 4·8.
        assert_eq!(p.work.pixel_pragmatic_speedup(2), Some(Some(16.0)));
        assert_eq!(p.work.pixel_pragmatic_steps_per_brick(2), Some(2.0));
        // Along K, g = 2 is a whole row: only row 2 is not zero, 3 of 4 zero as well.
        assert_eq!(p.work.zero_skip_speedup(2), Some(Some(4.0)));
        // Summing layers adds the pixel bricks too.
        let mut twice = p.work.clone();
        twice.add(&p.work);
        assert_eq!(
            twice.pixel_bricks[0].bricks,
            2 * p.work.pixel_bricks[0].bricks
        );
    }

    #[test]
    fn a_weight_brick_is_skipped_only_when_its_output_channels_are_zero_at_one_reduction_index() {
        // Two rows (pixels) × K = 3 of non-zero activations, and 5 output channels of weights
        // (OI order): centred B (K × N) rows k0 [0 0 0 0 0], k1 [1 0 0 0 0], k2 [0 0 0 2 0].
        let input = Tensor::from_vec(Dtype::Int8, &[2, 3], vec![1, 2, 3, 4, 5, 6]).unwrap();
        let weight = Tensor::from_vec(
            Dtype::Int8,
            &[5, 3],
            vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0],
        )
        .unwrap();
        let layer = params(LayerOp::FullyConnected, 0, PerChannel::PerTensor(0));
        let p = profile(&layer, &input, &weight, &[1, 2, 4]).unwrap();
        // g = 2: k0 [0 0] [0 0] [0], k1 [1 0] [0 0] [0], k2 [0 0] [0 2] [0]: 7 of 9 zero,
        // each brick meeting both pixels.
        assert_eq!(p.work.weight_bricks[1].bricks, 9 * 2);
        assert_eq!(p.work.weight_zero_brick_fraction(2), Some(7.0 / 9.0));
        assert!(close(
            p.work.weight_zero_skip_speedup(2).unwrap().unwrap(),
            9.0 / 2.0
        ));
        // g = 1: 2 of 15 weights non-zero. g = 4: k0 [0 0 0 0] [0], k1 [1 0 0 0] [0],
        // k2 [0 0 0 2] [0] (the short last brick costs a step too): 2 of 6 not zero.
        assert!(close(
            p.work.weight_zero_skip_speedup(1).unwrap().unwrap(),
            15.0 / 2.0
        ));
        assert_eq!(p.work.weight_zero_skip_speedup(4), Some(Some(3.0)));
        assert_eq!(p.work.weight_zero_skip_speedup(8), None, "not profiled");
        // At g = 1 a brick is one weight meeting M activations: the weight zero MACs.
        let bricks = &p.work.weight_bricks[0];
        assert_eq!(bricks.zero_bricks, p.work.zero_weight_macs);
        // Summing layers adds the weight bricks too.
        let mut twice = p.work.clone();
        twice.add(&p.work);
        assert_eq!(twice.weight_zero_skip_speedup(4), Some(Some(3.0)));
        assert_eq!(twice.weight_bricks[2].bricks, 2 * 6 * 2);
    }

    #[test]
    fn stream_bits_hold_every_stored_value_in_the_arrays_format() {
        use crate::config::OperandSpec;
        let i8 = OperandSpec {
            bits: 8,
            signed: true,
        };
        let u8 = OperandSpec {
            bits: 8,
            signed: false,
        };
        // Signed: −4..=3 is 3 bits; 0..=3 needs a sign bit, 3; −1..=0 and 0 are 1; int8's
        // range is 8.
        assert_eq!(stream_bits(0, 0, i8), 1);
        assert_eq!(stream_bits(-4, 3, i8), 3);
        assert_eq!(stream_bits(-5, 3, i8), 4);
        assert_eq!(stream_bits(0, 3, i8), 3);
        assert_eq!(stream_bits(-1, 0, i8), 1);
        assert_eq!(stream_bits(-128, 127, i8), 8);
        // Unsigned: 0..=3 is 2 bits, all zeros 1, 255 is 8.
        assert_eq!(stream_bits(0, 3, u8), 2);
        assert_eq!(stream_bits(0, 0, u8), 1);
        assert_eq!(stream_bits(0, 255, u8), 8);
    }

    #[test]
    fn bit_serial_speedups_follow_precision_and_one_bits_of_the_centred_values() {
        let p = hand_counted_fully_connected(&[1]);
        // d ∈ [0, 3]: 2 bits unsigned. e ∈ [−1, 3]: 3 bits two's complement.
        assert_eq!(
            p.activation_precision,
            Precision {
                bits: 2,
                signed: false
            }
        );
        assert_eq!(
            p.weight_precision,
            Precision {
                bits: 3,
                signed: true
            }
        );
        assert_eq!(p.work.stripes_speedup(), Some(4.0));
        assert!(close(p.work.loom_speedup().unwrap(), 64.0 / 6.0));
        // popcount(1) + popcount(3) = 3 one-bits over 8 activations, each used twice.
        assert!(close(p.work.average_one_bits(), 3.0 / 8.0));
        assert!(close(
            p.work.pragmatic_speedup().unwrap(),
            8.0 / (3.0 / 8.0)
        ));
        // Zero skipping leaves 2 of 8 activations, each 2 serial steps: 8 / (2 · 1/4).
        assert_eq!(p.work.zero_skip_stripes_speedup(), Some(16.0));
    }

    #[test]
    fn synchronised_pragmatic_lanes_take_each_bricks_most_one_bits_and_at_least_one_step() {
        let p = hand_counted_fully_connected(&[1, 4, 8]);
        // Alone, each activation takes max(1, its one-bits): 1+1+1+1+2+1+1+1 = 9 of 64 steps.
        assert!(close(
            p.work.pragmatic_brick_speedup(1).unwrap().unwrap(),
            64.0 / 9.0
        ));
        // Bricks of 4: [0 0 1 0] takes 1 step, [3 0 0 0] 2: 16 / 3.
        assert!(close(
            p.work.pragmatic_brick_speedup(4).unwrap().unwrap(),
            16.0 / 3.0
        ));
        // One brick of 8 waits for the 3: 2 steps of 8.
        assert_eq!(p.work.pragmatic_brick_speedup(8), Some(Some(4.0)));
        assert_eq!(p.work.pragmatic_brick_speedup(2), None, "not profiled");
    }

    /// 2×2 single-channel input (zero point 5, centred d = 0 1 / 0 2), 3×3 kernel of ones,
    /// padding 1: every output sees all four inputs and five padding taps, so A is 4 × 9 with 20
    /// padding entries and 8 + 20 = 28 zeros of 36.
    fn hand_counted_padded_conv(granularities: &[usize]) -> LayerProfile {
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
        let input = Tensor::from_vec(Dtype::Int8, &[1, 2, 2, 1], vec![5, 6, 5, 7]).unwrap();
        let weight = Tensor::from_vec(Dtype::Int8, &[1, 3, 3, 1], vec![1; 9]).unwrap();
        let layer = params(LayerOp::Conv2d(geometry), 5, PerChannel::PerTensor(0));
        profile(&layer, &input, &weight, granularities).unwrap()
    }

    #[test]
    fn padding_reads_as_the_zero_point_and_counts_as_zero_in_the_streamed_matrix() {
        let p = hand_counted_padded_conv(&[1, 3, 9]);
        assert!(close(p.input_zero_fraction(), 0.5));
        assert_eq!((p.work.macs, p.layer_macs), (36, 16));
        assert_eq!(p.work.padding_macs, 20);
        assert_eq!(p.work.zero_activation_macs, 28);
        assert_eq!(p.work.zero_skip_speedup(1), Some(Some(4.5)));
        // g = 3 (one kernel row): each output has exactly one kernel row entirely in the
        // padding, 4 of 12 bricks. g = 9: every window holds a non-zero input.
        assert_eq!(p.work.zero_skip_speedup(3), Some(Some(1.5)));
        assert_eq!(p.work.zero_skip_speedup(9), Some(Some(1.0)));
        // 1 + 1 one-bits per window (d = 1 and d = 2) over 9 taps.
        assert!(close(p.work.average_one_bits(), 2.0 / 9.0));
    }

    #[test]
    fn weight_zeros_use_each_channels_own_zero_point_and_count_each_weight_once() {
        // Depthwise 1×1 over two channels: weights [3, 4] with zero points [3, 0] centre to
        // [0, 4]; each channel is its own single-column GEMM.
        let geometry = ConvGeometry {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding::default(),
        };
        let input = Tensor::from_vec(Dtype::Int8, &[1, 1, 3, 2], vec![1, 2, 3, 4, 5, 6]).unwrap();
        let weight = Tensor::from_vec(Dtype::Int8, &[1, 1, 1, 2], vec![3, 4]).unwrap();
        let layer = params(
            LayerOp::DepthwiseConv2d(geometry),
            0,
            PerChannel::PerChannel(vec![3, 0]),
        );
        let p = profile(&layer, &input, &weight, &[1]).unwrap();
        assert_eq!((p.weight_zeros, p.weight_values), (1, 2));
        assert_eq!(
            p.weight_precision,
            Precision {
                bits: 3,
                signed: false
            }
        );
        // Channel 0's three MACs have a zero weight; no activation is zero.
        assert_eq!(p.work.macs, 6);
        assert_eq!(p.work.zero_weight_macs, 3);
        assert_eq!(p.work.zero_activation_macs, 0);
        assert_eq!(p.work.zero_skip_both_speedup(), Some(2.0));
    }

    #[test]
    fn an_all_zero_layer_has_no_finite_skipping_speedup() {
        let input = Tensor::from_vec(Dtype::Uint8, &[2, 4], vec![9; 8]).unwrap();
        let weight = Tensor::from_vec(Dtype::Uint8, &[1, 4], vec![1, 2, 3, 4]).unwrap();
        let layer = params(LayerOp::FullyConnected, 9, PerChannel::PerTensor(0));
        let p = profile(&layer, &input, &weight, &[1, 16]).unwrap();
        assert_eq!(p.work.zero_skip_speedup(1), Some(None));
        assert_eq!(p.work.zero_skip_speedup(16), Some(None));
        assert_eq!(p.work.pragmatic_speedup(), None);
        assert_eq!(p.work.zero_skip_stripes_speedup(), None);
        // One bit still takes a serial step.
        assert_eq!(
            p.activation_precision,
            Precision {
                bits: 1,
                signed: false
            }
        );
        assert_eq!(p.work.stripes_speedup(), Some(8.0));
    }

    #[test]
    fn summed_work_gives_the_mac_weighted_harmonic_mean_of_the_speedups() {
        // 16 MACs at 4× (4 steps) and 36 MACs at 4.5× (8 steps): 52 MACs in 12 steps.
        let mut total = hand_counted_fully_connected(&[1, 16]).work;
        total.add(&hand_counted_padded_conv(&[16, 1, 3]).work);
        assert_eq!(total.macs, 52);
        assert_eq!(total.zero_skip_speedup(1), Some(Some(52.0 / 12.0)));
        // g = 16: 2 FC bricks (rows of 8) and 4 conv bricks (rows of 9), none zero.
        assert_eq!(total.zero_skip_speedup(16), Some(Some(1.0)));
        assert_eq!(total.bricks[1].bricks, 6);
        // A granularity only one side has is kept: the conv's 4 zero bricks of 12.
        assert_eq!(total.zero_brick_fraction(3), Some(4.0 / 12.0));
        // Stripes: 2 bits for both layers, so still 8 / 2.
        assert_eq!(total.stripes_speedup(), Some(4.0));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn fractions_stay_in_unit_range_and_the_speedups_keep_their_order(
            rows in 1usize..=3, bricks_of_16 in 1usize..=3, columns in 1usize..=4,
            input_zero_point in -128i32..=127,
            values in proptest::collection::vec(-128i32..=127, 144),
            zero_mask in proptest::collection::vec(any::<bool>(), 144),
            weights in proptest::collection::vec(-127i32..=127, 192),
        ) {
            // Whole bricks (a short last brick costs a whole step, which would make a coarse
            // granularity look better than a fine one), and zero-point values mixed in so that
            // zeros are common.
            let depth = 16 * bricks_of_16;
            let input: Vec<i32> = (0..rows * depth)
                .map(|i| if zero_mask[i] { input_zero_point } else { values[i] })
                .collect();
            let input = Tensor::from_vec(Dtype::Int8, &[rows, depth], input).unwrap();
            let weight = weights[..columns * depth].to_vec();
            let weight = Tensor::from_vec(Dtype::Int8, &[columns, depth], weight).unwrap();
            let layer = params(LayerOp::FullyConnected, input_zero_point, PerChannel::PerTensor(0));
            let p = profile(&layer, &input, &weight, &[1, 4, 16]).unwrap();
            let w = &p.work;
            for f in [p.input_zero_fraction(), p.weight_zero_fraction(), w.streamed_zero_fraction(),
                      w.mac_zero_fraction(), w.zero_brick_fraction(16).unwrap()] {
                prop_assert!((0.0..=1.0).contains(&f));
            }
            prop_assert!(w.average_one_bits() <= 8.0);
            // Coarser bricks skip less; skipping either operand skips at least as much.
            let skip = |g| w.zero_skip_speedup(g).unwrap().unwrap_or(f64::INFINITY);
            prop_assert!(skip(1) >= skip(4) && skip(4) >= skip(16) && skip(16) >= 1.0);
            prop_assert!(w.zero_skip_both_speedup().unwrap_or(f64::INFINITY) >= skip(1));
            // The same for weight bricks (at most 4 columns: every g ≥ 4 is a whole row of B).
            let skip_weights =
                |g| w.weight_zero_skip_speedup(g).unwrap().unwrap_or(f64::INFINITY);
            prop_assert!(skip_weights(1) >= skip_weights(4) && skip_weights(4) >= 1.0);
            prop_assert_eq!(skip_weights(4), skip_weights(16));
            prop_assert!(w.zero_skip_both_speedup().unwrap_or(f64::INFINITY) >= skip_weights(1));
            // Pragmatic's terms are never more than the precision's bits (a sign bit aside).
            let pragmatic = w.pragmatic_speedup().unwrap_or(f64::INFINITY);
            prop_assert!(pragmatic >= w.stripes_speedup().unwrap());
        }
    }
}
