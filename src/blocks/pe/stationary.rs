//! Stationary-operand processing element with a double-buffered stationary register: the PE of
//! the weight-stationary array (weights held, activations stream) and of the input-stationary
//! array (activations held, weights stream). Port names follow the roles, so the WS PE reads
//! `act_in`/`weight_in` and the IS PE the same names with the other meaning.
//!
//! Ports (WS names): `act_in`/`act_bank_in` from the left neighbour (the bank bit says which weight
//! register this activation multiplies), `psum_in` from the PE above, `weight_in` from the PE above
//! while loading. Outputs pass the activation right, the partial sum down and the weight being
//! loaded down.
//!
//! Latency: 1 cycle (stream operand and psum are registered). Throughput: one MAC per cycle while
//! `enable` is high; `enable` low freezes the datapath (the array's global stall). Loading
//! (`weight_shift`) is independent of `enable`, so the next tile's weights shift in while the
//! current tile computes: the TPU's double buffering.
//!
//! With bit-serial PEs (`pe.kind: bit_serial`, weight-stationary) the multiplier gives way to
//! [`super::bit_serial::horner_mac`]: `enable` is then the array's step, one per `p` cycles, and
//! the PE takes the phase inputs it declares.

use super::{bit_serial, module_name, operand_type, OperandKind, Roles};
use crate::config::PeSpec;
use crate::hdl::{add_module, Design, HdlError, ModuleId, Type};

/// Builds the PE for `spec` and `roles` (once per parameter point) and returns it.
pub fn build(roles: &Roles, spec: &PeSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let held = roles.stationary.name();
    let streamed = roles.stream.name();
    let held_type = operand_type(roles.stationary.spec);
    let stream_type = operand_type(roles.stream.spec);
    let acc_type = Type::signed(spec.acc_bits);
    let serial = spec.kind.is_bit_serial();
    debug_assert!(!serial || roles.stationary.kind == OperandKind::Weight);
    let title = match roles.stationary.kind {
        OperandKind::Weight if serial => {
            "Bit-serial weight-stationary PE (Stripes): holds two weights (double buffer), multiplies"
        }
        OperandKind::Weight => {
            "Weight-stationary PE: holds two weights (double buffer), multiplies the activation"
        }
        OperandKind::Act => {
            "Input-stationary PE: holds two activations (double buffer), multiplies the weight"
        }
    };
    add_module(design, module_name(roles.dataflow, spec), |m, _| {
        if serial {
            m.doc(title)
                .doc("by the activation passing left to right one bit per cycle, MSB first, by Horner's rule")
                .doc("(acc = 2*acc +/- bit*w) and adds the product to the partial sum coming down in the")
                .doc("last bit's cycle. One MAC per step of p cycles.");
        } else {
            m.doc(title)
                .doc(format!(
                    "passing left to right by the {held} its bank bit selects, and adds the product to"
                ))
                .doc("the partial sum coming down. Latency 1 cycle; 1 MAC per enabled cycle.");
        }
        m.parameter("ACT_BITS", spec.act.bits.into())
            .parameter("WEIGHT_BITS", spec.weight.bits.into())
            .parameter("ACC_BITS", spec.acc_bits.into());

        let enable_doc = if serial {
            "the array steps: last bit phase and not stalled"
        } else {
            "array advances (low = global stall)"
        };
        let enable = m.input_doc("enable", Type::bit(), enable_doc);
        let stream_in = m.input_doc(
            &format!("{streamed}_in"),
            stream_type,
            &format!("{} from the left neighbour", roles.stream.kind.noun()),
        );
        let stream_bank_in = m.input_doc(
            &format!("{streamed}_bank_in"),
            Type::bit(),
            &format!("{held} bank for {streamed}_in"),
        );
        let psum_in = m.input_doc("psum_in", acc_type, "partial sum from the PE above");
        let held_in = m.input_doc(
            &format!("{held}_in"),
            held_type,
            &format!("{held} shifting down while loading"),
        );
        let shift = m.input_doc(
            &format!("{held}_shift"),
            Type::bit(),
            &format!("shift {held}s down one row"),
        );
        let load_bank = m.input_doc(&format!("{held}_bank"), Type::bit(), "bank being loaded");

        // Two stationary registers: one computes while the other loads the next tile.
        let bank0 = m.reg(&format!("{held}0"), held_type);
        let bank1 = m.reg(&format!("{held}1"), held_type);
        let load0 = m.wire("load0", &shift.and(&load_bank.not()));
        let load1 = m.wire("load1", &shift.and(&load_bank));
        m.next_when(&bank0, &load0, &held_in);
        m.next_when(&bank1, &load1, &held_in);

        let held_value = m.wire(held, &stream_bank_in.select(&bank1.q(), &bank0.q()));
        let psum_next = if serial {
            bit_serial::horner_mac(m, spec, &stream_in, &held_value, &psum_in)
        } else {
            let product = m.wire("product", &roles.product(&held_value, &stream_in));
            (&psum_in + &product.resize(spec.acc_bits)).truncate(spec.acc_bits)
        };

        let stream_q = m.pipe_when(streamed, &enable, &stream_in);
        let stream_bank_q = m.pipe_when(&format!("{streamed}_bank"), &enable, &stream_bank_in);
        let psum_q = m.pipe_when("psum", &enable, &psum_next);
        m.output_doc(
            &format!("{streamed}_out"),
            &stream_q,
            &format!("{} to the right neighbour", roles.stream.kind.noun()),
        );
        m.output_doc(
            &format!("{streamed}_bank_out"),
            &stream_bank_q,
            &format!("its {held} bank"),
        );
        m.output_doc("psum_out", &psum_q, "partial sum to the PE below");
        m.output_doc(
            &format!("{held}_out"),
            &load_bank.select(&bank1.q(), &bank0.q()),
            &format!("the loading bank's {held}, to the PE below"),
        );
    })
}
