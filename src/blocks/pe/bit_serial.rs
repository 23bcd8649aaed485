//! The multiply-accumulate of a bit-serial weight-stationary PE (Stripes, Judd et al., MICRO
//! 2016): the PE is [`super::stationary`]'s (two weight banks, the activation passing right, the
//! partial sum down), but it multiplies by the streamed activation one bit per cycle, most
//! significant bit first, so a MAC of a `p`-bit activation takes `p` cycles and needs an adder
//! where the parallel PE needs a multiplier. The whole activation word still passes from PE to
//! PE (each picks its bit with a mux): only the arithmetic is serial, not the wiring.
//!
//! The array (`pe_array::stationary`) owns the bit phase and broadcasts it: `bit_index` is the
//! activation bit this cycle (p−1 down to 0), `phase_first` marks the first bit (the sign bit of
//! a signed activation, weighted −2^(p−1)), `phase_last` the last. Horner's rule accumulates the
//! product without a shifter: `acc ← 2·acc ± bit·w` on every phase but the last, and on the last
//! the partial sum leaving for the PE below is `psum_in + 2·acc ± bit·w`, registered when
//! `enable` (the array's step: last phase and not stalled) is high. The activation and its bank
//! bit pass right at the step, as in the parallel PE; they stay put for the step's `p` cycles, so
//! the PE may read any of their bits. The array stalls only in a step's last phase, where `acc`
//! is held.
//!
//! Latency: one step (p cycles). Throughput: one MAC per step. Loading (`weight_shift`) is the
//! parallel PE's, independent of the phase.

use crate::config::{OperandSpec, PeSpec};
use crate::hdl::{bits_for, Expr, ModuleBuilder, Type};

/// Width of the Horner accumulator: holds `a·w` for any `a` of the activation format and `w` of
/// the weight's, with a bit to spare for mixed signedness.
pub fn product_bits(spec: &PeSpec) -> u32 {
    spec.act.bits + spec.weight.bits + 1
}

/// Width of the array's bit index: enough for `act.bits − 1`.
pub fn bit_index_bits(act: OperandSpec) -> u32 {
    bits_for(u64::from(act.bits - 1))
}

/// Declares the phase inputs the array broadcasts and the Horner accumulator; returns the next
/// partial sum, `psum_in + acc_next`, for the step's last phase. `act` is the activation from
/// the left (stable for the whole step), `weight` the held weight its bank bit selects.
pub fn horner_mac(
    m: &mut ModuleBuilder,
    spec: &PeSpec,
    act: &Expr,
    weight: &Expr,
    psum_in: &Expr,
) -> Expr {
    let horner_type = Type::signed(product_bits(spec));
    let phase_first = m.input_doc(
        "phase_first",
        Type::bit(),
        "first bit phase: the activation's MSB",
    );
    let phase_last = m.input_doc(
        "phase_last",
        Type::bit(),
        "last bit phase: the activation's LSB; acc holds",
    );
    let bit_index = m.input_doc(
        "bit_index",
        Type::unsigned(bit_index_bits(spec.act)),
        "activation bit of this phase",
    );
    // This phase's term: ±w when the bit is set; a signed activation's MSB weighs −2^(p−1).
    let bit = m.wire("act_bit", &act.as_unsigned().shr(&bit_index).bit_at(0));
    let w = weight.to_signed_value().resize(horner_type.width);
    let negate = if spec.act.signed {
        phase_first.clone()
    } else {
        Expr::bit(false)
    };
    let zero = Expr::zero(horner_type);
    let signed_w = negate.select(&(&zero - &w).truncate(horner_type.width), &w);
    let term = m.wire("term", &bit.select(&signed_w, &zero));
    // Before the last phase acc holds a product of one activation bit fewer: a bit narrower.
    let acc = m.reg("acc", Type::signed(horner_type.width - 1));
    let twice = Expr::concat(&[acc.q(), Expr::bit(false)]);
    let doubled = phase_first.select(&zero, &twice.as_signed());
    let acc_next = m.wire("acc_next", &(&doubled + &term).truncate(horner_type.width));
    m.next_when(
        &acc,
        &phase_last.not(),
        &acc_next.truncate(horner_type.width - 1),
    );
    (psum_in + &acc_next.resize(spec.acc_bits)).truncate(spec.acc_bits)
}
