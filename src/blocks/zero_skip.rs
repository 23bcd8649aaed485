//! The zero-skip units of a skipping output-stationary core (`config::ZeroSkipSpec`): each
//! unpacks the compacted word one feeder reads each cycle into what the array and the other
//! feeder need.
//!
//! An activation-skipping core ([`build`]) compacts its ifmap: a word holds one kept reduction
//! step of a block of R rows: R stored activations (lane r lowest), then the block's last-word
//! flag, then the reduction step of the word that follows ([`ZeroSkipSpec::NEXT_INDEX_BITS`]).
//! The host keeps only the steps at which some row is not the zero point, and always each
//! block's first, so a run starts at step 0. A weight-skipping core ([`build_weights`])
//! compacts its weights the same way per N-fold of C columns: C weights, the fold's last-word
//! flag, the next word's step; the host keeps the steps at which some weight is not zero, and
//! always step 0, so every fold (and every row block's replay of it) starts at step 0.
//!
//! Ports: `word` (the compacted buffer's read data, valid whenever the feeder offers a pair),
//! `advance` (the pair is taken) and `restart` (a descriptor is accepted); the activation unit
//! also takes `zero_point` (the stored activations' zero point, stable through a run). Out: the
//! lanes (`act_centred`: every lane `a − a_zp`, one bit wider and signed, so a skipped step
//! would have added exactly 0; `weights`: as stored), `last` (the pair ends its tile) and
//! `next_index`, the reduction step of the next pair, which addresses the other operand's
//! buffer a cycle ahead so its word arrives with the word that needs it: 0 after a restart, the
//! word's field after an advance, held otherwise.
//!
//! Latency: combinational, apart from the held index register. Area: the activation unit's R
//! subtractors of `ACT_BITS + 1` bits and a 16-bit register; the index bits' real cost is in
//! the compacted buffer.

use crate::config::{AcceleratorSpec, OperandSpec, ZeroSkipSpec};
use crate::hdl::{
    add_module, lane, pack_lanes, Design, Expr, HdlError, ModuleBuilder, ModuleId, Type,
};

// The next index holds any reduction step a descriptor can ask for.
const _: () = assert!(ZeroSkipSpec::NEXT_INDEX_BITS == super::gemm_core::FOLD_BITS);

/// `zero_skip_r8_ai8`: rows and the stored activation type.
pub fn module_name(spec: &AcceleratorSpec) -> String {
    format!("zero_skip_r{}_a{}", spec.pe_array.rows, spec.pe.act.tag())
}

/// Builds the unit for `spec`'s array rows and activations.
pub fn build(spec: &AcceleratorSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let (rows, act) = (spec.pe_array.rows, spec.pe.act);
    let lanes_bits = rows * act.bits;
    add_module(design, module_name(spec), |m, _| {
        m.doc(format!(
            "Zero-skip unit: unpacks a compacted ifmap word of {rows} activations into centred"
        ))
        .doc("lanes (a - a_zp), its block's last flag and the next pair's reduction step.");
        m.parameter("ROWS", rows.into())
            .parameter("ACT_BITS", act.bits.into());

        let word = m.input_doc(
            "word",
            Type::unsigned(lanes_bits + ZeroSkipSpec::INDEX_BITS),
            "compacted ifmap word: activations, last flag, next reduction step",
        );
        let zero_point = m.input_doc(
            "zero_point",
            Type::unsigned(act.bits),
            "the stored activations' zero point",
        );
        let advance = m.input_doc("advance", Type::bit(), "the pair is taken");
        let restart = m.input_doc("restart", Type::bit(), "a descriptor is accepted");

        let centred = centred_lanes(m, &word, &zero_point, rows, act);
        m.output_doc(
            "act_centred",
            &pack_lanes(&centred),
            "every lane a - a_zp, signed",
        );
        index_fields(
            m,
            &word,
            lanes_bits,
            &advance,
            &restart,
            "weight word offset",
        );
    })
}

/// `zero_skip_w_c8_wi8`: columns and the stored weight type.
pub fn weights_module_name(spec: &AcceleratorSpec) -> String {
    format!(
        "zero_skip_w_c{}_w{}",
        spec.pe_array.cols,
        spec.pe.weight.tag()
    )
}

/// Builds the weight-skipping unit for `spec`'s array columns and weights.
pub fn build_weights(spec: &AcceleratorSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let (cols, weight) = (spec.pe_array.cols, spec.pe.weight);
    let lanes_bits = cols * weight.bits;
    add_module(design, weights_module_name(spec), |m, _| {
        m.doc(format!(
            "Weight zero-skip unit: unpacks a compacted weight word of {cols} weights, its"
        ))
        .doc("N-fold's last flag and the next pair's reduction step.");
        m.parameter("COLS", cols.into())
            .parameter("WEIGHT_BITS", weight.bits.into());
        let word = m.input_doc(
            "word",
            Type::unsigned(lanes_bits + ZeroSkipSpec::INDEX_BITS),
            "compacted weight word: weights, last flag, next reduction step",
        );
        let advance = m.input_doc("advance", Type::bit(), "the pair is taken");
        let restart = m.input_doc("restart", Type::bit(), "a descriptor is accepted");
        m.output_doc(
            "weights",
            &word.slice(lanes_bits - 1, 0),
            "the word's weights, as stored",
        );
        index_fields(
            m,
            &word,
            lanes_bits,
            &advance,
            &restart,
            "ifmap word offset",
        );
    })
}

/// The fields above a compacted word's `lanes_bits` of lanes: output `last` (the flag right
/// above them) and `next_index`, the next pair's reduction step (`doc`: what it addresses),
/// held in a register between advances and 0 after a restart.
fn index_fields(
    m: &mut ModuleBuilder,
    word: &Expr,
    lanes_bits: u32,
    advance: &Expr,
    restart: &Expr,
    doc: &str,
) {
    let index_type = Type::unsigned(ZeroSkipSpec::NEXT_INDEX_BITS);
    m.output_doc(
        "last",
        &word.bit_at(lanes_bits),
        "the word is its tile's last",
    );
    let following = word.slice(lanes_bits + ZeroSkipSpec::NEXT_INDEX_BITS, lanes_bits + 1);
    let index = m.reg("index", index_type);
    let next = restart.select(
        &Expr::zero(index_type),
        &advance.select(&following, &index.q()),
    );
    m.next(&index, &next);
    m.output_doc(
        "next_index",
        &next,
        &format!("reduction step of the next pair ({doc})"),
    );
}

/// The R lanes at the bottom of `word` (stored activations of `act`'s format) minus
/// `zero_point` (unsigned, `act.bits` wide), each signed and one bit wider
/// (`ZeroSkipSpec::array_act`): wires `act_{r}` and `centred_{r}`. The zero-skip unit and a
/// gating core's feeder both centre this way.
pub fn centred_lanes(
    m: &mut ModuleBuilder,
    word: &Expr,
    zero_point: &Expr,
    rows: u32,
    act: OperandSpec,
) -> Vec<Expr> {
    let centred_bits = act.bits + 1;
    // Both operands of the subtraction as signed values one bit wider than stored.
    let widen = |value: &Expr| {
        let value = value.resize(centred_bits);
        if act.signed {
            value
        } else {
            value.as_signed()
        }
    };
    let stored = |value: Expr| if act.signed { value.as_signed() } else { value };
    let zero = widen(&stored(zero_point.clone()));
    (0..rows)
        .map(|r| {
            let stored_lane = m.wire(&format!("act_{r}"), &lane(word, r, act.bits));
            let value = (&widen(&stored(stored_lane)) - &zero).truncate(centred_bits);
            m.wire(&format!("centred_{r}"), &value)
        })
        .collect()
}
