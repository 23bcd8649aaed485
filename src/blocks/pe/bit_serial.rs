//! Bit-serial weight-stationary processing element (Stripes, Judd et al., MICRO 2016): it holds
//! two weights like [`super::stationary`]'s PE, but takes the streamed activation one bit per
//! cycle, most significant bit first, so a MAC of a `p`-bit activation takes `p` cycles and needs
//! an adder where the parallel PE needs a multiplier.
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

use super::{module_name, operand_type, Roles};
use crate::config::{OperandSpec, PeSpec};
use crate::hdl::{add_module, bits_for, Design, Expr, HdlError, ModuleId, Type};

/// Width of the Horner accumulator: holds `a·w` for any `a` of the activation format and `w` of
/// the weight's, with a bit to spare for mixed signedness.
pub fn product_bits(spec: &PeSpec) -> u32 {
    spec.act.bits + spec.weight.bits + 1
}

/// Width of the array's bit index: enough for `act.bits − 1`.
pub fn bit_index_bits(act: OperandSpec) -> u32 {
    bits_for(u64::from(act.bits - 1))
}

/// Builds the bit-serial WS PE for `spec` (once per parameter point) and returns it.
pub fn build(roles: &Roles, spec: &PeSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let weight_type = operand_type(spec.weight);
    let act_type = operand_type(spec.act);
    let acc_type = Type::signed(spec.acc_bits);
    let horner_type = Type::signed(product_bits(spec));
    add_module(design, module_name(roles.dataflow, spec), |m, _| {
        m.doc("Bit-serial weight-stationary PE (Stripes): holds two weights (double buffer) and")
            .doc("takes the activation one bit per cycle, MSB first, by Horner's rule (acc = 2*acc +/- bit*w);")
            .doc("the last bit's cycle adds the product to the partial sum coming down. One MAC per step of p cycles.");
        m.parameter("ACT_BITS", spec.act.bits.into())
            .parameter("WEIGHT_BITS", spec.weight.bits.into())
            .parameter("ACC_BITS", spec.acc_bits.into());

        let enable = m.input_doc(
            "enable",
            Type::bit(),
            "the array steps: last bit phase and not stalled",
        );
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
        let act_in = m.input_doc("act_in", act_type, "activation from the left neighbour");
        let act_bank_in = m.input_doc("act_bank_in", Type::bit(), "weight bank for act_in");
        let psum_in = m.input_doc("psum_in", acc_type, "partial sum from the PE above");
        let weight_in = m.input_doc(
            "weight_in",
            weight_type,
            "weight shifting down while loading",
        );
        let shift = m.input_doc("weight_shift", Type::bit(), "shift weights down one row");
        let load_bank = m.input_doc("weight_bank", Type::bit(), "bank being loaded");

        // Two weight registers: one computes while the other loads the next tile.
        let bank0 = m.reg("weight0", weight_type);
        let bank1 = m.reg("weight1", weight_type);
        let load0 = m.wire("load0", &shift.and(&load_bank.not()));
        let load1 = m.wire("load1", &shift.and(&load_bank));
        m.next_when(&bank0, &load0, &weight_in);
        m.next_when(&bank1, &load1, &weight_in);
        let weight = m.wire("weight", &act_bank_in.select(&bank1.q(), &bank0.q()));

        // This phase's term: ±w when the bit is set; a signed activation's MSB weighs −2^(p−1).
        let bit = m.wire("act_bit", &act_in.as_unsigned().shr(&bit_index).bit_at(0));
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

        let psum_next = (&psum_in + &acc_next.resize(spec.acc_bits)).truncate(spec.acc_bits);
        let act_q = m.pipe_when("act", &enable, &act_in);
        let act_bank_q = m.pipe_when("act_bank", &enable, &act_bank_in);
        let psum_q = m.pipe_when("psum", &enable, &psum_next);
        m.output_doc("act_out", &act_q, "activation to the right neighbour");
        m.output_doc("act_bank_out", &act_bank_q, "its weight bank");
        m.output_doc("psum_out", &psum_q, "partial sum to the PE below");
        m.output_doc(
            "weight_out",
            &load_bank.select(&bank1.q(), &bank0.q()),
            "the loading bank's weight, to the PE below",
        );
    })
}
