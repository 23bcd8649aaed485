//! Output-stationary processing element (ShiDianNao style) with a double-buffered output: the
//! accumulator sums one output over K while the previous tile's result, captured into the
//! `result` register, shifts down the column and out of the array.
//!
//! Ports: `act_in`/`first_in`/`last_in`/`drain_in` from the left neighbour (the activation, the
//! tile's first- and last-pair flags, and this row's "shift results now" enable), `weight_in` from
//! the PE above, `result_in` from the PE above's result register. Outputs pass the first four
//! right, the weight down and the result register down.
//!
//! Latency: 1 cycle. Throughput: one MAC per cycle while `enable` is high (the array's global
//! stall freezes every register). A tile's first pair starts a new sum (so the accumulator needs
//! no reset: whatever it held before is dropped); on its last pair the finished sum goes to
//! `result`, so the next tile accumulates while this one drains.
//!
//! Zero-gating (`_zg`, `config::ZeroSkipSpec::gating`): when the activation or the weight is
//! zero the product is zero, so the accumulator keeps its value instead of being written (a
//! clock-enable a synthesis flow turns into a gated clock), except on a tile's first pair,
//! which must still start the sum from zero. The sum is the same either way; what is saved is
//! the accumulator's switching, and the core counts the gated MACs.

use super::{module_name, operand_type, signed_product};
use crate::config::{Dataflow, PeSpec};
use crate::hdl::{add_module, Design, Expr, HdlError, ModuleId, Type};

/// Builds the PE for `spec` (once per parameter point; gating zeros when `gate_zeros`) and
/// returns it.
pub fn build(spec: &PeSpec, gate_zeros: bool, design: &mut Design) -> Result<ModuleId, HdlError> {
    let act_type = operand_type(spec.act);
    let weight_type = operand_type(spec.weight);
    let acc_type = Type::signed(spec.acc_bits);
    let mut name = module_name(Dataflow::OutputStationary, spec);
    if gate_zeros {
        name.push_str("_zg");
    }
    add_module(design, name, |m, _| {
        m.doc("Output-stationary PE: accumulates one output over K (activation from the left,")
                .doc("weight from above), restarting on a tile's first pair; on its last pair the sum moves")
                .doc("to the result register, which shifts down the column while the next tile accumulates.");
        if gate_zeros {
            m.doc("Zero-gating: a zero activation or weight leaves the accumulator as it is.");
        }
        m.parameter("ACT_BITS", spec.act.bits.into())
            .parameter("WEIGHT_BITS", spec.weight.bits.into())
            .parameter("ACC_BITS", spec.acc_bits.into());

        let enable = m.input_doc("enable", Type::bit(), "array advances (low = global stall)");
        let act_in = m.input_doc(
            "act_in",
            act_type,
            "activation from the left (0 in a bubble)",
        );
        let first_in = m.input_doc("first_in", Type::bit(), "act_in is the tile's first pair");
        let last_in = m.input_doc("last_in", Type::bit(), "act_in is the tile's last pair");
        let drain_in = m.input_doc("drain_in", Type::bit(), "this row shifts results down");
        let weight_in = m.input_doc("weight_in", weight_type, "weight from the PE above");
        let result_in = m.input_doc("result_in", acc_type, "result from the PE above");

        let acc = m.reg("acc", acc_type);
        let product = m.wire("product", &signed_product(&act_in, &weight_in));
        // A tile's first pair starts from zero; its last pair finishes the sum.
        let base = first_in.select(&Expr::zero(acc_type), &acc.q());
        let sum = m.wire(
            "sum",
            &(&base + &product.resize(spec.acc_bits)).truncate(spec.acc_bits),
        );
        let write = if gate_zeros {
            // A zero operand leaves the sum as it is: hold, unless the tile starts here.
            let zero_act = act_in.eq(&Expr::zero(act_type));
            let zero_weight = weight_in.eq(&Expr::zero(weight_type));
            let gated = m.wire("gated", &zero_act.or(&zero_weight));
            enable.and(&gated.not().or(&first_in))
        } else {
            enable.clone()
        };
        m.next_when(&acc, &write, &sum);
        let result = m.reg("result", acc_type);
        m.next_when(
            &result,
            &enable,
            &last_in.select(&sum, &drain_in.select(&result_in, &result.q())),
        );

        let act_q = m.pipe_when("act", &enable, &act_in);
        let first_q = m.pipe_when("first", &enable, &first_in);
        let last_q = m.pipe_when("last", &enable, &last_in);
        let drain_q = m.pipe_when("drain", &enable, &drain_in);
        let weight_q = m.pipe_when("weight", &enable, &weight_in);
        m.output_doc("act_out", &act_q, "activation to the right neighbour");
        m.output_doc("first_out", &first_q, "its first-pair flag");
        m.output_doc("last_out", &last_q, "its last-pair flag");
        m.output_doc(
            "drain_out",
            &drain_q,
            "this row's shift enable, one cycle later",
        );
        m.output_doc("weight_out", &weight_q, "weight to the PE below");
        m.output_doc(
            "result_out",
            &result.q(),
            "result register, to the PE below",
        );
    })
}
