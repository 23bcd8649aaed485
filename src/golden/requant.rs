//! Requantization: every piece of arithmetic that turns an int32 accumulator into an output value.
//!
//! This is the numeric contract of DESIGN.md §5 in one place; the post-process block mirrors it in
//! hardware and its tests compare against these functions.
//!
//! TFLite (integer multiplier and shift, double rounding), as TFLite Micro computes it:
//!
//! ```text
//! (m, s) = QuantizeMultiplier(x_scale · w_scale[c] / y_scale)          in double precision
//! y      = clamp(MBQM(acc, m, s) + y_zp, lo, hi)
//! MBQM(x, m, s) = RoundingDivideByPOT(SRDHM(x · 2^max(s,0), m), max(−s,0))
//! ```
//!
//! ONNX (QLinearConv / QLinearMatMul), as onnxruntime computes it:
//!
//! ```text
//! M = fp32(fp32(x_scale · w_scale[c]) / y_scale)
//! y = clamp(round_half_even(fp32(acc) · M) + y_zp, lo, hi)
//! ```
//!
//! `lo`/`hi` are the activation clamp intersected with the output dtype's range.

use crate::golden::tensor::Dtype;

/// How accumulators become outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequantMode {
    /// Integer multiplier and shift with TFLite's double rounding (SRDHM, then RoundingDivideByPOT).
    Tflite,
    /// fp32 multiplier, round half to even, as onnxruntime's QLinearConv / QLinearMatMul.
    Onnx,
    /// No requantization: the raw int32 accumulators are the output (ONNX ConvInteger /
    /// MatMulInteger semantics).
    None,
}

impl RequantMode {
    /// The spelling used in layer bundles (`tflite`, `onnx`, `none`).
    pub fn name(self) -> &'static str {
        match self {
            RequantMode::Tflite => "tflite",
            RequantMode::Onnx => "onnx",
            RequantMode::None => "none",
        }
    }

    /// Parses the bundle spelling; `None` (the Option) for an unknown name.
    pub fn from_name(name: &str) -> Option<RequantMode> {
        match name {
            "tflite" => Some(RequantMode::Tflite),
            "onnx" => Some(RequantMode::Onnx),
            "none" => Some(RequantMode::None),
            _ => None,
        }
    }
}

/// A real multiplier as TFLite represents it: `real ≈ multiplier · 2^(shift − 31)`, with
/// `multiplier` in [2^30, 2^31) for positive reals (or 0 when the real is 0 or too small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantizedMultiplier {
    /// Q0.31 fixed-point mantissa.
    pub multiplier: i32,
    /// Power-of-two exponent: positive shifts left before the multiply, negative shifts right after.
    pub shift: i32,
}

/// Splits a finite `value` into `(q, e)` with `value = q · 2^e` and `|q|` in [0.5, 1), as C's `frexp`.
/// Zero gives `(0, 0)`.
fn frexp(value: f64) -> (f64, i32) {
    if value == 0.0 {
        return (value, 0);
    }
    let bits = value.to_bits();
    let biased_exponent = ((bits >> 52) & 0x7ff) as i32;
    if biased_exponent == 0 {
        // Subnormal: scale into the normal range first (exact, a power of two).
        let (fraction, exponent) = frexp(value * 2f64.powi(64));
        return (fraction, exponent - 64);
    }
    // Keep sign and mantissa, force the exponent field to 1022 so the magnitude lands in [0.5, 1).
    let fraction_bits = (bits & !(0x7ffu64 << 52)) | (1022u64 << 52);
    (f64::from_bits(fraction_bits), biased_exponent - 1022)
}

/// TFLite's `QuantizeMultiplier`: `q = frexp(real, &e); m = round(q · 2^31)` (round half away from
/// zero); if `m == 2^31` then `m /= 2, e += 1`; a shift below −31 would shift every bit out, so it
/// is flushed to `(0, 0)`; `real == 0` gives `(0, 0)`.
///
/// # Panics
/// If `real` is not finite (a scale of NaN or infinity is rejected long before this point).
pub fn quantize_multiplier(real: f64) -> QuantizedMultiplier {
    assert!(
        real.is_finite(),
        "quantize_multiplier: real multiplier {real} must be finite"
    );
    if real == 0.0 {
        return QuantizedMultiplier {
            multiplier: 0,
            shift: 0,
        };
    }
    let (fraction, mut shift) = frexp(real);
    let mut fixed = (fraction * (1u64 << 31) as f64).round() as i64;
    if fixed.abs() == 1i64 << 31 {
        fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return QuantizedMultiplier {
            multiplier: 0,
            shift: 0,
        };
    }
    QuantizedMultiplier {
        // After the fold above |fixed| ≤ 2^31 − 1, so the cast is exact.
        multiplier: fixed as i32,
        shift,
    }
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of `2·a·b`, rounded.
///
/// `SRDHM(a, b) = (a == b == INT32_MIN) ? INT32_MAX : (a·b + (a·b ≥ 0 ? 2^30 : 1 − 2^30)) / 2^31`
/// with the division truncating toward zero. Ties therefore round toward +∞ (0.5 → 1, −0.5 → 0,
/// −1.5 → −1).
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let product = i64::from(a) * i64::from(b);
    let nudge: i64 = if product >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // |product + nudge| / 2^31 < 2^31 for every pair except the saturated one, so this is exact.
    ((product + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded half away from zero.
///
/// `(x >> e) + ((x & mask) > ((mask >> 1) + (x < 0)) ? 1 : 0)` with `mask = 2^e − 1` and an
/// arithmetic shift.
///
/// # Panics
/// If `exponent` is outside 0..=31 (gemmlowp asserts the same range).
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    assert!(
        (0..=31).contains(&exponent),
        "rounding_divide_by_pot: exponent {exponent} must be in 0..=31"
    );
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// TFLite's `MultiplyByQuantizedMultiplier`:
/// `RoundingDivideByPOT(SRDHM(x · 2^max(shift,0), m), max(−shift,0))`.
///
/// The left shift is an int32 multiply in TFLite's reference code, so it wraps in two's complement
/// (what the compiled code does on every target, and what a 32-bit shifter in hardware does); a left
/// shift of 32 or more moves every bit out and gives 0 before the multiply.
///
/// # Panics
/// If `shift < −31` ([`quantize_multiplier`] never produces one).
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left_shift = shift.max(0);
    let right_shift = (-shift).max(0);
    let shifted = if left_shift >= 32 {
        0
    } else {
        (i64::from(x) << left_shift) as i32
    };
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(shifted, multiplier),
        right_shift,
    )
}

/// The TFLite multiplier for one output channel: `QuantizeMultiplier(x_scale · w_scale / y_scale)`
/// with the product and quotient in double precision, left to right, as TFLite Micro computes it.
pub fn tflite_multiplier(
    input_scale: f64,
    weight_scale: f64,
    output_scale: f64,
) -> QuantizedMultiplier {
    quantize_multiplier(input_scale * weight_scale / output_scale)
}

/// The ONNX multiplier for one output channel: `fp32(fp32(x_scale · w_scale) / y_scale)`, every
/// scale first rounded to fp32 (ONNX stores scales as float tensors).
pub fn onnx_multiplier(input_scale: f64, weight_scale: f64, output_scale: f64) -> f32 {
    (input_scale as f32 * weight_scale as f32) / output_scale as f32
}

/// The ONNX scaling step before the zero point: `round_half_even(fp32(acc) · M)`.
///
/// Returned as i64 because `acc · M` may exceed the int32 range before the clamp (the fp32 → i64
/// conversion saturates, which the clamp that follows makes harmless).
pub fn onnx_scale(accumulator: i32, multiplier: f32) -> i64 {
    ((accumulator as f32) * multiplier).round_ties_even() as i64
}

/// The output zero point and the final clamp `[min, max]` (the activation clamp already intersected
/// with the output dtype's range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputClamp {
    pub zero_point: i32,
    pub min: i32,
    pub max: i32,
}

impl OutputClamp {
    /// The clamp for `output_dtype` with a fused activation `[activation_min, activation_max]`:
    /// the intersection of the two ranges.
    pub fn new(
        zero_point: i32,
        activation_min: i32,
        activation_max: i32,
        output_dtype: Dtype,
    ) -> OutputClamp {
        OutputClamp {
            zero_point,
            min: activation_min.max(output_dtype.min()),
            max: activation_max.min(output_dtype.max()),
        }
    }
}

/// Per-channel scaling, precomputed once per layer so the per-element path does no float
/// division and no allocation.
#[derive(Debug, Clone, PartialEq)]
enum ChannelScaling {
    Tflite(Vec<QuantizedMultiplier>),
    Onnx(Vec<f32>),
    Identity,
}

/// Maps an accumulator of output channel `c` to its output value (see the module doc for the
/// formulas). With [`RequantMode::None`] it is the identity: raw accumulators, no zero point, no
/// clamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Requantizer {
    scaling: ChannelScaling,
    clamp: OutputClamp,
}

impl Requantizer {
    /// Builds the per-channel requantizer; `weight_scales` has one entry per output channel.
    pub fn new(
        mode: RequantMode,
        input_scale: f64,
        weight_scales: &[f64],
        output_scale: f64,
        clamp: OutputClamp,
    ) -> Requantizer {
        let scaling = match mode {
            RequantMode::None => return Requantizer::identity(),
            RequantMode::Tflite => ChannelScaling::Tflite(
                weight_scales
                    .iter()
                    .map(|&weight_scale| tflite_multiplier(input_scale, weight_scale, output_scale))
                    .collect(),
            ),
            RequantMode::Onnx => ChannelScaling::Onnx(
                weight_scales
                    .iter()
                    .map(|&weight_scale| onnx_multiplier(input_scale, weight_scale, output_scale))
                    .collect(),
            ),
        };
        Requantizer { scaling, clamp }
    }

    /// A TFLite-mode requantizer from integer multipliers already computed (one per channel): what
    /// the hardware's per-channel registers hold.
    pub fn from_multipliers(
        multipliers: Vec<QuantizedMultiplier>,
        clamp: OutputClamp,
    ) -> Requantizer {
        Requantizer {
            scaling: ChannelScaling::Tflite(multipliers),
            clamp,
        }
    }

    /// The identity requantizer of [`RequantMode::None`].
    pub fn identity() -> Requantizer {
        Requantizer {
            scaling: ChannelScaling::Identity,
            clamp: OutputClamp {
                zero_point: 0,
                min: i32::MIN,
                max: i32::MAX,
            },
        }
    }

    /// Which formula this requantizer applies.
    pub fn mode(&self) -> RequantMode {
        match self.scaling {
            ChannelScaling::Tflite(_) => RequantMode::Tflite,
            ChannelScaling::Onnx(_) => RequantMode::Onnx,
            ChannelScaling::Identity => RequantMode::None,
        }
    }

    /// The per-channel integer multipliers (what the hardware's post-process registers hold), for
    /// [`RequantMode::Tflite`] only.
    pub fn tflite_multipliers(&self) -> Option<&[QuantizedMultiplier]> {
        match &self.scaling {
            ChannelScaling::Tflite(multipliers) => Some(multipliers),
            _ => None,
        }
    }

    /// The per-channel fp32 multipliers, for [`RequantMode::Onnx`] only.
    pub fn onnx_multipliers(&self) -> Option<&[f32]> {
        match &self.scaling {
            ChannelScaling::Onnx(multipliers) => Some(multipliers),
            _ => None,
        }
    }

    /// The output zero point and final clamp.
    pub fn clamp(&self) -> OutputClamp {
        self.clamp
    }

    /// Requantizes one accumulator of output channel `channel`.
    ///
    /// # Panics
    /// If `channel` is not below the number of weight scales given to [`Requantizer::new`].
    pub fn requantize(&self, accumulator: i32, channel: usize) -> i32 {
        let scaled: i64 = match &self.scaling {
            ChannelScaling::Identity => return accumulator,
            ChannelScaling::Tflite(multipliers) => {
                let QuantizedMultiplier { multiplier, shift } = multipliers[channel];
                i64::from(multiply_by_quantized_multiplier(
                    accumulator,
                    multiplier,
                    shift,
                ))
            }
            ChannelScaling::Onnx(multipliers) => onnx_scale(accumulator, multipliers[channel]),
        };
        // In i64 so that adding the zero point to an extreme value cannot overflow before the clamp;
        // TFLite's order, min(max(y, lo), hi), so that lo > hi gives hi rather than a panic.
        let shifted = scaled + i64::from(self.clamp.zero_point);
        shifted
            .max(i64::from(self.clamp.min))
            .min(i64::from(self.clamp.max)) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INT8_CLAMP: OutputClamp = OutputClamp {
        zero_point: 0,
        min: -128,
        max: 127,
    };

    /// The real value a quantized multiplier stands for: m · 2^(shift − 31).
    fn real_of(quantized: QuantizedMultiplier) -> f64 {
        f64::from(quantized.multiplier) * 2f64.powi(quantized.shift - 31)
    }

    #[test]
    fn frexp_matches_c_for_powers_fractions_negatives_and_subnormals() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.5), (0.5, 0));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(3.0), (0.75, 2));
        assert_eq!(frexp(-3.0), (-0.75, 2));
        assert_eq!(frexp(0.0), (0.0, 0));
        let smallest_subnormal = f64::from_bits(1);
        assert_eq!(frexp(smallest_subnormal), (0.5, -1073));
    }

    #[test]
    fn quantize_multiplier_of_zero_is_zero_with_zero_shift() {
        assert_eq!(
            quantize_multiplier(0.0),
            QuantizedMultiplier {
                multiplier: 0,
                shift: 0
            }
        );
    }

    #[test]
    fn quantize_multiplier_of_one_is_two_to_the_thirty_with_shift_one() {
        assert_eq!(
            quantize_multiplier(1.0),
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: 1
            }
        );
    }

    #[test]
    fn quantize_multiplier_of_one_half_is_two_to_the_thirty_with_shift_zero() {
        assert_eq!(
            quantize_multiplier(0.5),
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: 0
            }
        );
    }

    #[test]
    fn quantize_multiplier_just_below_one_rounds_up_to_two_to_the_31_and_renormalizes() {
        // q = 1 − 2^−40 is already in [0.5, 1); q · 2^31 = 2^31 − 2^−9 rounds to 2^31.
        let real = 1.0 - 2f64.powi(-40);
        assert_eq!(
            quantize_multiplier(real),
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: 1
            }
        );
        // Just below a smaller power of two, the same carry happens one octave down.
        let real = 0.25 * (1.0 - 2f64.powi(-35));
        assert_eq!(
            quantize_multiplier(real),
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: -1
            }
        );
    }

    #[test]
    fn quantize_multiplier_keeps_the_largest_mantissa_that_does_not_carry() {
        // 1 − 2^−31 · 0.75: q · 2^31 = 2^31 − 0.75 rounds to 2^31 − 1, no carry.
        let real = 1.0 - 0.75 * 2f64.powi(-31);
        assert_eq!(
            quantize_multiplier(real),
            QuantizedMultiplier {
                multiplier: i32::MAX,
                shift: 0
            }
        );
    }

    #[test]
    fn quantize_multiplier_flushes_shifts_below_minus_31_to_zero() {
        // 2^−32 = 0.5 · 2^−31: shift −31 is still representable.
        assert_eq!(
            quantize_multiplier(2f64.powi(-32)),
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: -31
            }
        );
        // 2^−33 = 0.5 · 2^−32: shift −32 flushes.
        assert_eq!(
            quantize_multiplier(2f64.powi(-33)),
            QuantizedMultiplier {
                multiplier: 0,
                shift: 0
            }
        );
        assert_eq!(
            quantize_multiplier(1e-12),
            QuantizedMultiplier {
                multiplier: 0,
                shift: 0
            }
        );
    }

    #[test]
    fn quantize_multiplier_is_within_half_an_ulp_of_q31_for_typical_scales() {
        for &real in &[0.0013318449, 0.07872539, 0.9, 1.5, 3.25e-5, 17.0] {
            let quantized = quantize_multiplier(real);
            assert!(
                (1 << 30..=i32::MAX).contains(&quantized.multiplier),
                "real {real}: multiplier {} not normalized",
                quantized.multiplier
            );
            let error = (real_of(quantized) - real).abs();
            let half_ulp = 2f64.powi(quantized.shift - 32);
            assert!(
                error <= half_ulp,
                "real {real}: represented {} is off by {error}, more than {half_ulp}",
                real_of(quantized)
            );
        }
    }

    #[test]
    fn quantize_multiplier_of_negative_reals_mirrors_positive_ones() {
        let positive = quantize_multiplier(0.3);
        let negative = quantize_multiplier(-0.3);
        assert_eq!(negative.multiplier, -positive.multiplier);
        assert_eq!(negative.shift, positive.shift);
    }

    #[test]
    fn srdhm_saturates_only_for_int32_min_squared() {
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        // INT32_MIN · INT32_MAX is representable: −2^31 · (2^31 − 1) · 2 / 2^32 = −(2^31 − 1).
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
            i32::MAX - 1
        );
    }

    #[test]
    fn srdhm_rounds_ties_toward_positive_infinity() {
        let half = 1 << 30; // b = 2^30 means "multiply by 0.5".
        assert_eq!(saturating_rounding_doubling_high_mul(1, half), 1); // 0.5 → 1
        assert_eq!(saturating_rounding_doubling_high_mul(3, half), 2); // 1.5 → 2
        assert_eq!(saturating_rounding_doubling_high_mul(-1, half), 0); // −0.5 → 0
        assert_eq!(saturating_rounding_doubling_high_mul(-3, half), -1); // −1.5 → −1
        assert_eq!(saturating_rounding_doubling_high_mul(-5, half), -2); // −2.5 → −2
    }

    #[test]
    fn srdhm_rounds_non_ties_to_nearest() {
        let quarter = 1 << 29; // multiply by 0.25
        assert_eq!(saturating_rounding_doubling_high_mul(1, quarter), 0); // 0.25 → 0
        assert_eq!(saturating_rounding_doubling_high_mul(3, quarter), 1); // 0.75 → 1
        assert_eq!(saturating_rounding_doubling_high_mul(-1, quarter), 0); // −0.25 → 0
        assert_eq!(saturating_rounding_doubling_high_mul(-3, quarter), -1); // −0.75 → −1
    }

    #[test]
    fn rounding_divide_by_pot_rounds_ties_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(1, 1), 1); // 0.5 → 1
        assert_eq!(rounding_divide_by_pot(3, 1), 2); // 1.5 → 2
        assert_eq!(rounding_divide_by_pot(-1, 1), -1); // −0.5 → −1
        assert_eq!(rounding_divide_by_pot(-3, 1), -2); // −1.5 → −2
        assert_eq!(rounding_divide_by_pot(12, 3), 2); // 1.5 → 2
        assert_eq!(rounding_divide_by_pot(-12, 3), -2); // −1.5 → −2
        assert_eq!(rounding_divide_by_pot(11, 3), 1); // 1.375 → 1
        assert_eq!(rounding_divide_by_pot(-11, 3), -1); // −1.375 → −1
        assert_eq!(rounding_divide_by_pot(13, 3), 2); // 1.625 → 2
        assert_eq!(rounding_divide_by_pot(-13, 3), -2); // −1.625 → −2
    }

    #[test]
    fn rounding_divide_by_pot_with_exponent_zero_is_identity() {
        for &x in &[i32::MIN, -7, -1, 0, 1, 7, i32::MAX] {
            assert_eq!(rounding_divide_by_pot(x, 0), x, "x = {x}");
        }
    }

    #[test]
    fn rounding_divide_by_pot_with_exponent_31_handles_the_extremes() {
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1); // 0.99999… → 1
        assert_eq!(rounding_divide_by_pot(1 << 30, 31), 1); // 0.5 → 1
        assert_eq!(rounding_divide_by_pot(-(1 << 30), 31), -1); // −0.5 → −1
        assert_eq!(rounding_divide_by_pot((1 << 30) - 1, 31), 0);
    }

    #[test]
    #[should_panic(expected = "exponent 32 must be in 0..=31")]
    fn rounding_divide_by_pot_rejects_exponent_32() {
        rounding_divide_by_pot(1, 32);
    }

    #[test]
    fn mbqm_with_multiplier_one_is_identity_below_two_to_the_30() {
        let one = quantize_multiplier(1.0);
        for &x in &[-(1 << 30), -1000, -1, 0, 1, 12345, (1 << 30) - 1] {
            assert_eq!(
                multiply_by_quantized_multiplier(x, one.multiplier, one.shift),
                x,
                "x = {x}"
            );
        }
        // 2^30 · 2 = 2^31 wraps to INT32_MIN in TFLite's int32 left shift; SRDHM then halves it.
        assert_eq!(
            multiply_by_quantized_multiplier(1 << 30, one.multiplier, one.shift),
            -(1 << 30)
        );
    }

    #[test]
    fn mbqm_with_multiplier_one_half_rounds_ties_up() {
        let half = quantize_multiplier(0.5);
        assert_eq!(
            multiply_by_quantized_multiplier(3, half.multiplier, half.shift),
            2
        );
        assert_eq!(
            multiply_by_quantized_multiplier(-3, half.multiplier, half.shift),
            -1
        );
        assert_eq!(
            multiply_by_quantized_multiplier(100, half.multiplier, half.shift),
            50
        );
    }

    #[test]
    fn mbqm_with_negative_shift_double_rounds_like_tflite() {
        // 0.125 = 2^30 · 2^(−2 − 31): SRDHM halves (rounding up at ties), then RDBPOT quarters.
        let eighth = quantize_multiplier(0.125);
        assert_eq!(
            eighth,
            QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: -2
            }
        );
        // 3 · 0.5 = 1.5 → 2 (SRDHM), 2 / 4 = 0.5 → 1 (RDBPOT): double rounding gives 1, not 0.
        assert_eq!(
            multiply_by_quantized_multiplier(3, eighth.multiplier, eighth.shift),
            1
        );
        // −3: −1.5 → −1 (SRDHM), −1 / 4 = −0.25 → 0.
        assert_eq!(
            multiply_by_quantized_multiplier(-3, eighth.multiplier, eighth.shift),
            0
        );
        // 20 · 0.125 = 2.5: SRDHM gives exactly 10, RDBPOT 10 / 4 = 2.5 → 3 (away from zero).
        assert_eq!(
            multiply_by_quantized_multiplier(20, eighth.multiplier, eighth.shift),
            3
        );
        assert_eq!(
            multiply_by_quantized_multiplier(-20, eighth.multiplier, eighth.shift),
            -3
        );
    }

    #[test]
    fn mbqm_with_large_left_shift_scales_then_wraps_in_32_bits() {
        let eight = quantize_multiplier(8.0); // 2^30 · 2^(4 − 31)
        assert_eq!(eight.shift, 4);
        assert_eq!(
            multiply_by_quantized_multiplier(1000, eight.multiplier, eight.shift),
            8000
        );
        assert_eq!(
            multiply_by_quantized_multiplier(-1000, eight.multiplier, eight.shift),
            -8000
        );
        // 2^28 · 16 = 2^32 wraps to 0 in the int32 left shift.
        assert_eq!(
            multiply_by_quantized_multiplier(1 << 28, eight.multiplier, eight.shift),
            0
        );
        // A shift of 32 or more moves every bit out.
        assert_eq!(multiply_by_quantized_multiplier(1, 1 << 30, 33), 0);
    }

    #[test]
    fn requantizer_adds_zero_point_and_saturates_at_the_clamp() {
        let clamp = OutputClamp {
            zero_point: -128,
            min: -128,
            max: 127,
        };
        let requantizer = Requantizer::new(RequantMode::Tflite, 1.0, &[1.0], 1.0, clamp);
        assert_eq!(requantizer.requantize(0, 0), -128);
        assert_eq!(requantizer.requantize(255, 0), 127);
        assert_eq!(requantizer.requantize(256, 0), 127);
        assert_eq!(requantizer.requantize(-5, 0), -128);
        assert_eq!(requantizer.requantize(100, 0), -28);
        // With a multiplier below 1 (no left shift) the extremes saturate at the clamp rather than
        // overflow when the zero point is added.
        let below_one = Requantizer::new(RequantMode::Tflite, 0.75, &[1.0], 1.0, clamp);
        assert_eq!(below_one.requantize(i32::MAX, 0), 127);
        assert_eq!(below_one.requantize(i32::MIN, 0), -128);
        let onnx = Requantizer::new(RequantMode::Onnx, 3.0, &[1.0], 1.0, clamp);
        assert_eq!(onnx.requantize(i32::MAX, 0), 127);
        assert_eq!(onnx.requantize(i32::MIN, 0), -128);
    }

    #[test]
    fn output_clamp_intersects_activation_and_dtype_ranges() {
        assert_eq!(
            OutputClamp::new(-128, -200, 100, Dtype::Int8),
            OutputClamp {
                zero_point: -128,
                min: -128,
                max: 100
            }
        );
        assert_eq!(
            OutputClamp::new(0, 10, 300, Dtype::Uint8),
            OutputClamp {
                zero_point: 0,
                min: 10,
                max: 255
            }
        );
    }

    #[test]
    fn requantizer_applies_a_fused_relu_clamp_narrower_than_the_dtype() {
        let clamp = OutputClamp {
            zero_point: 10,
            min: 10,
            max: 127,
        };
        let requantizer = Requantizer::new(RequantMode::Tflite, 0.5, &[1.0], 1.0, clamp);
        assert_eq!(requantizer.requantize(-40, 0), 10);
        assert_eq!(requantizer.requantize(40, 0), 30);
    }

    #[test]
    fn requantizer_uses_each_channels_own_scale() {
        let scales = [0.5, 0.25, 2.0];
        for mode in [RequantMode::Tflite, RequantMode::Onnx] {
            let requantizer = Requantizer::new(mode, 1.0, &scales, 1.0, INT8_CLAMP);
            let outputs: Vec<i32> = (0..3).map(|c| requantizer.requantize(40, c)).collect();
            assert_eq!(outputs, vec![20, 10, 80], "mode {mode:?}");
        }
        let requantizer = Requantizer::new(RequantMode::Tflite, 1.0, &scales, 1.0, INT8_CLAMP);
        assert_eq!(
            requantizer.tflite_multipliers().map(|m| m.len()),
            Some(scales.len())
        );
    }

    #[test]
    fn onnx_mode_rounds_ties_to_even_where_tflite_rounds_away() {
        let onnx = Requantizer::new(RequantMode::Onnx, 1.0, &[0.5], 1.0, INT8_CLAMP);
        let tflite = Requantizer::new(RequantMode::Tflite, 1.0, &[0.5], 1.0, INT8_CLAMP);
        // 5 · 0.5 = 2.5, 7 · 0.5 = 3.5, −5 · 0.5 = −2.5
        assert_eq!(onnx.requantize(5, 0), 2);
        assert_eq!(onnx.requantize(7, 0), 4);
        assert_eq!(onnx.requantize(-5, 0), -2);
        assert_eq!(tflite.requantize(5, 0), 3);
        assert_eq!(tflite.requantize(-5, 0), -2);
    }

    #[test]
    fn onnx_multiplier_is_computed_in_fp32() {
        // 0.1 and 0.3 are not representable; the fp32 product differs from the f64 one.
        let multiplier = onnx_multiplier(0.1, 0.3, 0.7);
        let expected = (0.1f32 * 0.3f32) / 0.7f32;
        assert_eq!(multiplier.to_bits(), expected.to_bits());
        assert_ne!(f64::from(multiplier), 0.1 * 0.3 / 0.7);
    }

    #[test]
    fn onnx_scale_converts_the_accumulator_to_fp32_first() {
        // 2^24 + 1 is not representable in fp32: it becomes 2^24 before the multiply.
        assert_eq!(onnx_scale((1 << 24) + 1, 1.0), 1 << 24);
        assert_eq!(onnx_scale(i32::MAX, 2.0), 1i64 << 32);
    }

    #[test]
    fn identity_requantizer_passes_raw_accumulators() {
        let requantizer = Requantizer::new(RequantMode::None, 0.1, &[0.2], 0.3, INT8_CLAMP);
        assert_eq!(requantizer.mode(), RequantMode::None);
        for &accumulator in &[i32::MIN, -1000, 0, 1000, i32::MAX] {
            assert_eq!(requantizer.requantize(accumulator, 0), accumulator);
        }
        assert_eq!(requantizer, Requantizer::identity());
    }

    #[test]
    fn requant_mode_names_round_trip() {
        for mode in [RequantMode::Tflite, RequantMode::Onnx, RequantMode::None] {
            assert_eq!(RequantMode::from_name(mode.name()), Some(mode));
        }
        assert_eq!(RequantMode::from_name("fixed_point"), None);
    }
}
