//! Post-processing unit: turns each lane's accumulator into an output value exactly as TFLite
//! computes it (DESIGN.md §5, mirrored from `golden::requant`), or passes the raw int32 sum
//! through (ONNX ConvInteger / MatMulInteger semantics).
//!
//! Per lane c of a beat, with the lane's bias b, multiplier m and shift s:
//!
//! ```text
//! x = acc + b                                              int32, wrapping
//! y = clamp(RDBPOT(SRDHM(x · 2^max(s,0), m), max(−s,0)) + zp, lo, hi)      (bypass = 0)
//! y = x                                                                   (bypass = 1)
//! ```
//!
//! Ports: `in_*` (valid/ready) carries the lanes' accumulators with their per-channel bias,
//! multiplier and shift (so a lane can serve any output channel); `zero_point`, `clamp_min`,
//! `clamp_max` and `bypass` are per-layer settings that must stay stable while beats are in flight.
//! `out_*` carries one signed 32-bit value per lane (an int8/uint8 output sits in its low bits).
//! Shifts are 6-bit signed, −31..=31 (what `golden::requant::quantize_multiplier` produces); −32
//! is outside the contract (drivers reject it). The clamp is TFLite's `min(max(y, lo), hi)`.
//!
//! Pipeline: 5 stages — (0) the inputs registered as they arrive (the core's accumulator comes
//! straight from an SRAM read and an add, so the bias add must not follow in the same cycle),
//! (1) bias add and left shift, (2) the signed 32×32 multiply alone (the slowest piece of logic
//! in the core), (3) nudge and the division by 2^31 truncating toward zero, with INT32_MIN²
//! saturating, (4) rounding right shift, zero point and clamp. Latency 5 cycles, one beat per
//! cycle, stalling as a whole when the output is blocked. (Splitting stage 4 after the rounding
//! shift measured no faster on tiny_core: its zero-point add and clamp compares alone are
//! ripple-carry chains as long as the whole stage.)
//! The stall (`advance`) is one net from `out_ready` to every stage's enable and back to
//! `in_ready`, as in the PE arrays; a skid buffer at the output will cut that path when timing at
//! large arrays needs it.

use crate::hdl::{add_module, lane, pack_lanes, Design, Expr, HdlError, ModuleId, Type};

/// Width of every per-channel parameter and of the output lanes: TFLite's int32.
pub const WORD_BITS: u32 = 32;
/// Width of the signed per-channel shift.
pub const SHIFT_BITS: u32 = 6;
/// Cycles from an accepted input beat to its output beat.
pub const LATENCY: u32 = 5;

/// `post_process_l8_acc32`: lanes and accumulator width.
pub fn module_name(lanes: u32, acc_bits: u32) -> String {
    format!("post_process_l{lanes}_acc{acc_bits}")
}

/// Builds the unit for `lanes` accumulators of `acc_bits` each.
pub fn build(lanes: u32, acc_bits: u32, design: &mut Design) -> Result<ModuleId, HdlError> {
    let word = Type::signed(WORD_BITS);
    add_module(design, module_name(lanes, acc_bits), |m, _| {
        m.doc(format!(
            "Post-processing of {lanes} lanes: bias add, TFLite requantization (SRDHM, rounding"
        ))
        .doc("shift), output zero point and clamp; or the raw int32 sum when bypass is set.")
        .doc("Latency 5 cycles, one beat per cycle.");
        m.parameter("LANES", lanes.into())
            .parameter("ACC_BITS", acc_bits.into());

        let in_valid = m.input("in_valid", Type::bit());
        let in_data = m.input_doc(
            "in_data",
            Type::unsigned(lanes * acc_bits),
            "accumulators; lane c = output channel of lane c",
        );
        let in_bias = m.input_doc(
            "in_bias",
            Type::unsigned(lanes * WORD_BITS),
            "int32 bias per lane",
        );
        let in_multiplier = m.input_doc(
            "in_multiplier",
            Type::unsigned(lanes * WORD_BITS),
            "int32 quantized multiplier per lane",
        );
        let in_shift = m.input_doc(
            "in_shift",
            Type::unsigned(lanes * SHIFT_BITS),
            "signed shift per lane, -31..31",
        );
        let in_last = m.input_doc("in_last", Type::bit(), "passed through to out_last");
        let zero_point = m.input_doc("zero_point", word, "output zero point");
        let clamp_min = m.input_doc("clamp_min", word, "lowest output value");
        let clamp_max = m.input_doc("clamp_max", word, "highest output value");
        let bypass = m.input_doc("bypass", Type::bit(), "1: output acc + bias unchanged");
        let out_ready = m.input("out_ready", Type::bit());
        let out_valid = m.output_port("out_valid", Type::bit(), None);

        // The pipeline moves unless a valid result is waiting for a consumer.
        let advance = m.wire("advance", &out_ready.or(&out_valid.value().not()));
        m.output("in_ready", &advance);
        let mut valid = in_valid.clone();
        let mut last = in_last.clone();
        for stage in 0..LATENCY {
            let reg = m.reg_reset(&format!("s{stage}_valid"), Type::bit(), 0);
            m.next_when(&reg, &advance, &valid);
            valid = reg.q();
            last = m.pipe_when(&format!("s{stage}_last"), &advance, &last);
        }
        m.assign(&out_valid, &valid);
        m.output("out_last", &last);

        let int32_min = Expr::constant(i128::from(i32::MIN), word);
        let int32_max = Expr::constant(i128::from(i32::MAX), word);
        let mut outputs = Vec::new();
        for c in 0..lanes {
            let stage = |m: &mut crate::hdl::ModuleBuilder, n: u32, name: &str, value: &Expr| {
                m.pipe_when(&format!("s{n}_{name}_l{c}"), &advance, value)
            };
            // ---- stage 0: the lane's inputs, registered ---------------------------------------
            let acc = lane(&in_data, c, acc_bits).as_signed();
            if acc_bits > WORD_BITS {
                m.sink(
                    &acc.slice(acc_bits - 1, WORD_BITS),
                    "accumulator bits above int32: TFLite's sums wrap at 32 bits",
                );
            }
            let acc = stage(m, 0, "acc", &acc.resize(WORD_BITS));
            let bias = stage(m, 0, "bias", &lane(&in_bias, c, WORD_BITS).as_signed());
            let multiplier = stage(
                m,
                0,
                "multiplier",
                &lane(&in_multiplier, c, WORD_BITS).as_signed(),
            );
            let shift = stage(m, 0, "shift", &lane(&in_shift, c, SHIFT_BITS).as_signed());

            // ---- stage 1: bias add, split the shift, left shift (wrapping in 32 bits) --------
            let sum = m.wire(&format!("sum_l{c}"), &(&acc + &bias).truncate(WORD_BITS));
            let negative = shift.msb();
            let left = negative.select(
                &Expr::zero(Type::unsigned(SHIFT_BITS - 1)),
                &shift.truncate(SHIFT_BITS - 1).as_unsigned(),
            );
            let right_amount = (Expr::zero(Type::signed(SHIFT_BITS)) - shift.clone())
                .truncate(SHIFT_BITS)
                .as_unsigned();
            let right = negative.select(&right_amount, &Expr::zero(Type::unsigned(SHIFT_BITS)));
            let shifted = stage(m, 1, "shifted", &sum.shl(&left));
            let multiplier = stage(m, 1, "multiplier", &multiplier);
            let right = stage(m, 1, "right", &right);
            let raw = stage(m, 1, "raw", &sum);

            // ---- stage 2: the multiply on its own -----------------------------------------------
            let product = stage(m, 2, "product", &(&shifted * &multiplier));
            let saturate = stage(
                m,
                2,
                "saturate",
                &shifted.eq(&int32_min).and(&multiplier.eq(&int32_min)),
            );
            let right = stage(m, 2, "right", &right);
            let raw = stage(m, 2, "raw", &raw);

            // ---- stage 3: SRDHM = (x·m + nudge) / 2^31, truncating toward zero ------------------
            let wide = product.ty();
            let nudge = product.msb().select(
                &Expr::constant(1 - (1i128 << 30), wide),
                &Expr::constant(1i128 << 30, wide),
            );
            let nudged = m.wire(
                &format!("nudged_l{c}"),
                &(&product + &nudge).truncate(wide.width),
            );
            // Truncating division of a negative value: add 2^31 − 1 before the arithmetic shift.
            let bias_toward_zero = nudged
                .msb()
                .select(&Expr::constant((1i128 << 31) - 1, wide), &Expr::zero(wide));
            let quotient = (&nudged + &bias_toward_zero)
                .truncate(wide.width)
                .slice(WORD_BITS + 30, 31)
                .as_signed();
            let high = stage(m, 3, "high", &saturate.select(&int32_max, &quotient));
            let right = stage(m, 3, "right", &right);
            let raw = stage(m, 3, "raw", &raw);

            // ---- stage 4: rounding divide by 2^right, zero point, clamp -------------------------
            let ones = Expr::constant((1i128 << WORD_BITS) - 1, Type::unsigned(WORD_BITS));
            let mask = m.wire(&format!("mask_l{c}"), &ones.shl(&right).not());
            let remainder = high.as_unsigned().and(&mask);
            let threshold =
                &mask.shr(&Expr::constant(1, Type::unsigned(1))) + &high.msb().extend(WORD_BITS);
            let round_up = remainder.extend(WORD_BITS + 1).gt(&threshold);
            let rounded = (&high.shr(&right) + &round_up.to_signed_value()).truncate(WORD_BITS);
            let offset = m.wire(&format!("offset_l{c}"), &(&rounded + &zero_point));
            let low = clamp_min.resize(offset.width());
            let top = clamp_max.resize(offset.width());
            // TFLite's order, min(max(y, lo), hi): hi wins even if a layer sets lo > hi.
            let raised = m.wire(
                &format!("raised_l{c}"),
                &offset.lt(&low).select(&low, &offset),
            );
            let clamped = raised
                .gt(&top)
                .select(&clamp_max, &raised.truncate(WORD_BITS));
            outputs.push(stage(m, 4, "out", &bypass.select(&raw, &clamped)));
        }
        m.output_doc(
            "out_data",
            &pack_lanes(&outputs),
            "signed 32-bit result per lane",
        );
    })
}
