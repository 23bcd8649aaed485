//! Weight-stationary processing element with double-buffered weights.
//!
//! Ports: `act_in`/`act_bank_in` from the left neighbour (the bank bit says which weight register
//! this activation multiplies), `psum_in` from the PE above, `weight_in` from the PE above while
//! loading. Outputs pass the activation right, the partial sum down and the weight being loaded down.
//!
//! Latency: 1 cycle (act and psum are registered). Throughput: one MAC per cycle while `enable` is
//! high; `enable` low freezes the datapath (the array's global stall). Weight loading (`weight_shift`)
//! is independent of `enable`, so the next tile's weights shift in while the current tile computes:
//! the TPU's double buffering.

use crate::config::{OperandSpec, PeSpec};
use crate::hdl::{add_module, Design, Expr, HdlError, ModuleId, Type};

/// Type of an operand format.
pub fn operand_type(operand: OperandSpec) -> Type {
    Type {
        width: operand.bits,
        signed: operand.signed,
    }
}

/// `pe_ws_ai8_wi8_acc32`: the dataflow, both operand formats and the accumulator width.
pub fn module_name(spec: &PeSpec) -> String {
    format!(
        "pe_ws_a{}_w{}_acc{}",
        spec.act.tag(),
        spec.weight.tag(),
        spec.acc_bits
    )
}

/// The product of an activation and a weight as a signed value, whatever their signedness: mixed
/// operands are both widened to signed first, so the product is exact.
pub fn signed_product(act: &Expr, weight: &Expr) -> Expr {
    let product = if act.ty().signed == weight.ty().signed {
        act * weight
    } else {
        act.to_signed_value() * weight.to_signed_value()
    };
    product.to_signed_value()
}

/// Builds the PE for `spec` (once per parameter point) and returns it.
pub fn build(spec: &PeSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let act_type = operand_type(spec.act);
    let weight_type = operand_type(spec.weight);
    let acc_type = Type::signed(spec.acc_bits);
    add_module(design, module_name(spec), |m, _| {
        m.doc("Weight-stationary PE: holds two weights (double buffer), multiplies the activation")
            .doc(
                "passing left to right by the weight its bank bit selects, and adds the product to",
            )
            .doc("the partial sum coming down. Latency 1 cycle; 1 MAC per enabled cycle.");
        m.parameter("ACT_BITS", spec.act.bits.into())
            .parameter("WEIGHT_BITS", spec.weight.bits.into())
            .parameter("ACC_BITS", spec.acc_bits.into());

        let enable = m.input_doc("enable", Type::bit(), "array advances (low = global stall)");
        let act_in = m.input_doc("act_in", act_type, "activation from the left neighbour");
        let act_bank_in = m.input_doc("act_bank_in", Type::bit(), "weight bank for act_in");
        let psum_in = m.input_doc("psum_in", acc_type, "partial sum from the PE above");
        let weight_in = m.input_doc(
            "weight_in",
            weight_type,
            "weight shifting down while loading",
        );
        let weight_shift = m.input_doc("weight_shift", Type::bit(), "shift weights down one row");
        let weight_bank = m.input_doc("weight_bank", Type::bit(), "bank being loaded");

        // Two weight registers: one computes while the other loads the next tile.
        let weight0 = m.reg("weight0", weight_type);
        let weight1 = m.reg("weight1", weight_type);
        let load0 = m.wire("load0", &weight_shift.and(&weight_bank.not()));
        let load1 = m.wire("load1", &weight_shift.and(&weight_bank));
        m.next_when(&weight0, &load0, &weight_in);
        m.next_when(&weight1, &load1, &weight_in);

        let weight = m.wire("weight", &act_bank_in.select(&weight1.q(), &weight0.q()));
        let product = m.wire("product", &signed_product(&act_in, &weight));
        let psum_next = (&psum_in + &product.resize(spec.acc_bits)).truncate(spec.acc_bits);

        let act_q = m.pipe_when("act", &enable, &act_in);
        let act_bank_q = m.pipe_when("act_bank", &enable, &act_bank_in);
        let psum_q = m.pipe_when("psum", &enable, &psum_next);
        m.output_doc("act_out", &act_q, "activation to the right neighbour");
        m.output_doc("act_bank_out", &act_bank_q, "its weight bank");
        m.output_doc("psum_out", &psum_q, "partial sum to the PE below");
        m.output_doc(
            "weight_out",
            &weight_bank.select(&weight1.q(), &weight0.q()),
            "the loading bank's weight, to the PE below",
        );
    })
}
