//! The Bit-Pragmatic output-stationary PE (Albericio et al., MICRO 2017): it owns one output,
//! like [`super::output_stationary`]'s PE, but it has no multiplier. Each cycle its row hands
//! it one term of the activation's one-bits ("oneffsets") — valid, sign and shift `s` — and
//! it adds `±(w << s)` with the weight its column holds for the brick, so an activation with
//! `n` one-bits takes `n` cycles instead of a multiply. The array (`pe_array::pragmatic`)
//! generates the terms once per row and broadcasts them and the weights, so this PE is a
//! shifter and an adder.
//!
//! Ports: `step` (a term cycle: the accumulator takes the term), `first` (the step is the
//! tile's first: start from zero, so no accumulator needs a reset), `last` (the step is the
//! tile's last: the finished sum goes to `result`), `drain` (take `result_in`: results shift
//! down the column), `term_valid`/`term_negative`/`term_shift` from the row, `weight` from the
//! column, `result_in` from the PE above. Out: `result_out`, the result register.
//!
//! Latency: the sum is in `result` the cycle after the tile's last step. A capture wins over
//! a drain in the same cycle; the array spaces captures R cycles apart so none is lost.

use super::{module_name, operand_type};
use crate::config::{Dataflow, PeSpec};
use crate::hdl::{add_module, bits_for, Design, Expr, HdlError, ModuleId, Type};

/// Bits of an activation's magnitude. The array takes centred activations (`a − a_zp`, one
/// bit wider than stored and signed, `config::ZeroSkipSpec::array_act`), whose magnitude is
/// below 2^(stored bits): one bit fewer than the centred width.
pub fn magnitude_bits(spec: &PeSpec) -> u32 {
    spec.act.bits - 1
}

/// Bits of a term's shift: enough for `magnitude_bits − 1`.
pub fn shift_bits(spec: &PeSpec) -> u32 {
    bits_for(u64::from(magnitude_bits(spec) - 1))
}

/// Bits of a term `±(w << s)`: the weight as a signed value, shifted by up to
/// `magnitude_bits − 1`, and negated.
fn term_bits(spec: &PeSpec) -> u32 {
    spec.weight.bits + magnitude_bits(spec) + 1
}

/// Builds the PE for `spec` (the array's: centred activations) and returns it.
pub fn build(spec: &PeSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let weight_type = operand_type(spec.weight);
    let acc_type = Type::signed(spec.acc_bits);
    let term_type = Type::signed(term_bits(spec));
    add_module(
        design,
        module_name(Dataflow::OutputStationary, spec),
        |m, _| {
            m.doc("Bit-Pragmatic PE: adds one term +-(weight << shift) of its row's activation per step,")
                .doc("restarting on a tile's first step; on its last the sum moves to the result register,")
                .doc("which shifts down the column while the next tile accumulates.");
            m.parameter("ACT_BITS", spec.act.bits.into())
                .parameter("WEIGHT_BITS", spec.weight.bits.into())
                .parameter("ACC_BITS", spec.acc_bits.into());

            let step = m.input_doc("step", Type::bit(), "a term cycle: accumulate the term");
            let first = m.input_doc("first", Type::bit(), "the step is the tile's first");
            let last = m.input_doc("last", Type::bit(), "the step is the tile's last");
            let drain = m.input_doc("drain", Type::bit(), "shift results down the column");
            let term_valid = m.input_doc("term_valid", Type::bit(), "the row has a term");
            let term_negative =
                m.input_doc("term_negative", Type::bit(), "the activation is negative");
            let term_shift = m.input_doc(
                "term_shift",
                Type::unsigned(shift_bits(spec)),
                "the one-bit's position",
            );
            let weight = m.input_doc("weight", weight_type, "the column's weight for the brick");
            let result_in = m.input_doc("result_in", acc_type, "result from the PE above");

            let shifted = weight
                .to_signed_value()
                .resize(term_type.width)
                .shl(&term_shift);
            let shifted = m.wire("shifted", &shifted);
            let negated = (&Expr::zero(term_type) - &shifted).truncate(term_type.width);
            let signed = term_negative.select(&negated, &shifted);
            let term = m.wire("term", &term_valid.select(&signed, &Expr::zero(term_type)));
            let acc = m.reg("acc", acc_type);
            let base = first.select(&Expr::zero(acc_type), &acc.q());
            let sum = m.wire(
                "sum",
                &(&base + &term.resize(spec.acc_bits)).truncate(spec.acc_bits),
            );
            m.next_when(&acc, &step, &sum);
            let result = m.reg("result", acc_type);
            let capture = step.and(&last);
            m.next(
                &result,
                &capture.select(&sum, &drain.select(&result_in, &result.q())),
            );
            m.output_doc(
                "result_out",
                &result.q(),
                "result register, to the PE below",
            );
        },
    )
}
