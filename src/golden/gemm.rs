//! Integer GEMM on raw operands with a fixed-width two's-complement accumulator: what a systolic
//! array of PEs with an `acc_bits` accumulator computes, whatever its dataflow.
//!
//! Wrapping is a ring homomorphism (ℤ → ℤ/2^acc_bits), so wrapping once at the end equals wrapping
//! after every MAC as the hardware does; the sums are taken modulo 2^64 (wrapping i64 arithmetic),
//! which is exact modulo 2^acc_bits for every `acc_bits ≤ 64`.

use ndarray::Array2;

/// Interprets the low `bits` bits of `value` as a signed two's-complement number.
///
/// # Panics
/// If `bits` is not in 1..=64.
pub fn wrap_signed(value: i64, bits: u32) -> i64 {
    assert!(
        (1..=64).contains(&bits),
        "wrap_signed: width {bits} must be in 1..=64"
    );
    let unused = 64 - bits;
    // Shift the sign bit of the narrow value into bit 63, then shift back arithmetically.
    (value << unused) >> unused
}

/// `C[M×N] = A[M×K] · B[K×N]`, each element wrapped to a signed `acc_bits`-bit accumulator.
///
/// # Panics
/// If the inner dimensions differ or `acc_bits` is not in 1..=64.
pub fn gemm(a: &Array2<i64>, b: &Array2<i64>, acc_bits: u32) -> Array2<i64> {
    let (rows, depth) = a.dim();
    let (b_depth, columns) = b.dim();
    assert_eq!(
        depth, b_depth,
        "gemm: A is {rows}×{depth} but B is {b_depth}×{columns}; A's columns must equal B's rows"
    );
    assert!(
        (1..=64).contains(&acc_bits),
        "gemm: acc_bits {acc_bits} must be in 1..=64"
    );
    let mut c = Array2::<i64>::zeros((rows, columns));
    for row in 0..rows {
        for column in 0..columns {
            let mut sum: i64 = 0;
            for k in 0..depth {
                sum = sum.wrapping_add(a[[row, k]].wrapping_mul(b[[k, column]]));
            }
            c[[row, column]] = wrap_signed(sum, acc_bits);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn wrap_signed_keeps_values_that_fit_and_wraps_those_that_do_not() {
        assert_eq!(wrap_signed(127, 8), 127);
        assert_eq!(wrap_signed(-128, 8), -128);
        assert_eq!(wrap_signed(128, 8), -128);
        assert_eq!(wrap_signed(255, 8), -1);
        assert_eq!(wrap_signed(256, 8), 0);
        assert_eq!(wrap_signed(-129, 8), 127);
        assert_eq!(wrap_signed(1, 1), -1);
        assert_eq!(wrap_signed(i64::MIN, 64), i64::MIN);
        assert_eq!(
            wrap_signed(i64::from(i32::MAX) + 1, 32),
            i64::from(i32::MIN)
        );
    }

    #[test]
    #[should_panic(expected = "width 0 must be in 1..=64")]
    fn wrap_signed_rejects_zero_width() {
        wrap_signed(1, 0);
    }

    #[test]
    fn gemm_matches_hand_computed_product() {
        let a = array![[1i64, 2, 3], [-4, 5, -6]];
        let b = array![[7i64, -8], [9, 10], [-11, 12]];
        let c = gemm(&a, &b, 32);
        // Row 0: 7 + 18 − 33 = −8, −8 + 20 + 36 = 48; row 1: −28 + 45 + 66 = 83, 32 + 50 − 72 = 10.
        assert_eq!(c, array![[-8i64, 48], [83, 10]]);
    }

    #[test]
    fn gemm_wraps_the_accumulator_like_a_narrow_register() {
        // 4 · 127 · 127 = 64516 overflows a 16-bit accumulator: 64516 − 65536 = −1020.
        let a = Array2::from_elem((1, 4), 127i64);
        let b = Array2::from_elem((4, 1), 127i64);
        assert_eq!(gemm(&a, &b, 16)[[0, 0]], -1020);
        assert_eq!(gemm(&a, &b, 32)[[0, 0]], 64516);
    }

    #[test]
    fn gemm_wrapping_at_the_end_equals_wrapping_after_every_mac() {
        let a = array![[120i64, -128, 127, 99, -77]];
        let b = array![[127i64], [-128], [126], [-100], [55]];
        for acc_bits in [9u32, 12, 16, 20] {
            let mut stepwise = 0i64;
            for k in 0..5 {
                stepwise = wrap_signed(stepwise + a[[0, k]] * b[[k, 0]], acc_bits);
            }
            assert_eq!(
                gemm(&a, &b, acc_bits)[[0, 0]],
                stepwise,
                "acc_bits {acc_bits}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "A's columns must equal B's rows")]
    fn gemm_rejects_mismatched_inner_dimensions() {
        gemm(&Array2::zeros((2, 3)), &Array2::zeros((4, 2)), 32);
    }
}
