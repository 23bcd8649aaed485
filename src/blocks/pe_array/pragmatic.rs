//! The Bit-Pragmatic output-stationary array (Albericio et al., MICRO 2017): R×C PEs of
//! `pe::pragmatic`, each owning one output of the tile, as in the systolic output-stationary
//! array, but with broadcast operands so that a brick — the R activations of one reduction
//! step, one per output pixel — is processed in lockstep for as many cycles as its busiest
//! lane has one-bits, and no longer.
//!
//! Why broadcast: a systolic array has a different reduction step in every PE diagonal, so a
//! shared term count would be the most one-bits of R·C activations in flight, which is almost
//! always the full width (`golden::profile`'s `Prag g` column). Here every PE works on the same
//! pair: row r's activation reaches its C PEs on one net, column c's weight its R PEs.
//!
//! Interfaces (valid/ready; a beat moves when both are high), as the systolic array's:
//! - `act_*` and `weight_*` move together, one pair per brick: lane r of `act_data` is the
//!   centred activation `A[m0+r][k] − a_zp` (signed, `config::ZeroSkipSpec::array_act`), lane c
//!   of `weight_data` is `B[k][n0+c]`; `act_last` marks the tile's last pair. Each ready
//!   depends on the other's valid.
//! - `out_*`: R beats per tile, beat i carrying result row R−1−i (lane c = column c), results
//!   shifting down and leaving at the bottom; `out_last` on the tile's last beat.
//!
//! Inside: a taken pair is held in the brick registers: each lane's magnitude and sign, and
//! the C weights. Every cycle each row sends its PEs its lowest remaining one-bit (valid, sign,
//! shift) and clears it; the brick's last term cycle is the one that leaves every lane empty
//! (a brick with no one-bit at all still takes one cycle), and in it the next pair is taken, so
//! terms follow back to back. A brick of `n` one-bits in its busiest lane takes `max(n, 1)`
//! cycles. On the tile's last term every PE moves its sum to its result register; the R rows
//! then leave one per cycle, shifting down, so a tile's capture waits until the previous
//! tile's last row is leaving (R cycles after its capture). The datapath advances whenever the
//! output is not blocked (`out_ready` or no valid output): a global stall.
//!
//! Cycles (`golden::zero_skip::pragmatic_array_cycles`, checked against this RTL by
//! tb/tests/zero_skip.rs): the first pair is taken at edge 1; tile j's terms `S_j` (the sum of
//! its bricks' cycles) follow the previous capture, which they may not follow by fewer than R;
//! the last row leaves R cycles after the last capture: `1 + S_0 + Σ_{j≥1} max(S_j, R) + R`.
//!
//! The broadcast nets have a fan-out of R (weights) and C (terms): fine at 8×8, a register
//! stage per row and column when larger arrays need it.

use crate::blocks::pe::{self, pragmatic::magnitude_bits};
use crate::config::{Dataflow, PeArraySpec, PeSpec};
use crate::hdl::{add_module, bits_for, lane, pack_lanes, Design, Expr, HdlError, ModuleId, Type};

/// Builds the array (and its PE) into `design`, named `name`; `pe_spec` is the array's (its
/// activations centred).
pub fn build(
    name: String,
    array: &PeArraySpec,
    pe_spec: &PeSpec,
    design: &mut Design,
) -> Result<ModuleId, HdlError> {
    let pe_id = pe::pragmatic::build(pe_spec, design)?;
    let (rows, cols) = (array.rows, array.cols);
    let act_bits = pe_spec.act.bits;
    let weight_bits = pe_spec.weight.bits;
    let acc_bits = pe_spec.acc_bits;
    let magnitude_type = Type::unsigned(magnitude_bits(pe_spec));
    let shift_type = Type::unsigned(pe::pragmatic::shift_bits(pe_spec));
    debug_assert_eq!(array.dataflow, Dataflow::OutputStationary);
    debug_assert!(pe_spec.act.signed, "the array takes centred activations");

    add_module(design, name, |m, design| {
        m.doc(format!(
            "Bit-Pragmatic output-stationary {rows}x{cols} array: a brick of {rows} activations takes"
        ))
        .doc("as many cycles as its busiest lane has one-bits (at least one); operands broadcast.")
        .doc("R out beats per tile after its last term; out beat i carries result row R-1-i.");
        m.parameter("ROWS", rows.into())
            .parameter("COLS", cols.into())
            .parameter("ACT_BITS", act_bits.into())
            .parameter("WEIGHT_BITS", weight_bits.into())
            .parameter("ACC_BITS", acc_bits.into());

        let act_valid = m.input("act_valid", Type::bit());
        let act_data = m.input_doc(
            "act_data",
            Type::unsigned(rows * act_bits),
            "centred activations A[m0+r][k] - a_zp; lane r = row r",
        );
        let act_last = m.input_doc("act_last", Type::bit(), "last pair of the tile");
        let weight_valid = m.input("weight_valid", Type::bit());
        let weight_data = m.input_doc(
            "weight_data",
            Type::unsigned(cols * weight_bits),
            "weights B[k][n0+c]; lane c = column c",
        );
        let out_ready = m.input("out_ready", Type::bit());
        let out_valid = m.output_port("out_valid", Type::bit(), None);

        // The datapath moves unless a valid result is waiting for a consumer.
        let advance = m.wire("advance", &out_ready.or(&out_valid.value().not()));

        // ---- the brick: each lane's remaining one-bits, its sign, the column weights ---------
        let brick_valid = m.reg_reset("brick_valid", Type::bit(), 0);
        let brick_first = m.reg("brick_first", Type::bit());
        let brick_last = m.reg("brick_last", Type::bit());
        let fresh = m.reg("fresh", Type::bit());
        let magnitude: Vec<_> = (0..rows)
            .map(|r| m.reg(&format!("magnitude_r{r}"), magnitude_type))
            .collect();
        let negative: Vec<_> = (0..rows)
            .map(|r| m.reg(&format!("negative_r{r}"), Type::bit()))
            .collect();
        let weight: Vec<_> = (0..cols)
            .map(|c| m.reg(&format!("weight_c{c}"), Type::unsigned(weight_bits)))
            .collect();

        // Each row's term: its lowest remaining one-bit, and what is left without it.
        let mut term_valid = Vec::new();
        let mut term_shift = Vec::new();
        let mut rests = Vec::new();
        for (r, held) in magnitude.iter().enumerate() {
            let value = held.q();
            term_valid.push(m.wire(&format!("term_valid_r{r}"), &value.any()));
            // A priority encoder: the lowest set bit wins, so it is tried last.
            let mut shift = Expr::zero(shift_type);
            for bit in (0..magnitude_type.width).rev() {
                let position = Expr::constant(i128::from(bit), shift_type);
                shift = value.bit_at(bit).select(&position, &shift);
            }
            term_shift.push(m.wire(&format!("term_shift_r{r}"), &shift));
            let rest = m.wire(
                &format!("rest_r{r}"),
                &value.and(&value.wrapping_decrement()),
            );
            rests.push(rest);
        }
        let left = rests
            .iter()
            .skip(1)
            .fold(rests[0].any(), |any, rest| any.or(&rest.any()));
        let final_term = m.wire("final_term", &left.not());

        // ---- output: R beats per tile, counted from the capture --------------------------------
        let beats_type = Type::unsigned(bits_for(u64::from(rows)));
        let beats_left = m.reg_reset("beats_left", beats_type, 0);
        m.assign(&out_valid, &beats_left.q().ne(&Expr::zero(beats_type)));
        let out_fire = m.wire("out_fire", &out_valid.value().and(&out_ready));
        // A capture may come once the previous tile's last row is leaving: with the datapath
        // advancing, a valid beat is leaving this cycle. One row always is.
        let held_back = if rows == 1 {
            Expr::bit(false)
        } else {
            let gap_ok = m.wire("gap_ok", &beats_left.q().le(&Expr::constant(1, beats_type)));
            brick_last.q().and(&final_term).and(&gap_ok.not())
        };
        let step = m.wire("step", &advance.and(&brick_valid.q()).and(&held_back.not()));
        let finishing = m.wire("finishing", &step.and(&final_term));
        let capture = m.wire("capture", &finishing.and(&brick_last.q()));
        let beats_down = out_fire.select(&beats_left.q().wrapping_decrement(), &beats_left.q());
        m.next(
            &beats_left,
            &capture.select(&Expr::constant(i128::from(rows), beats_type), &beats_down),
        );
        m.output_doc(
            "out_last",
            &beats_left.q().eq(&Expr::constant(1, beats_type)),
            "last result row of the tile",
        );

        // ---- pairing: a pair is taken into an empty brick or one in its last term -------------
        let pair_ok = m.wire(
            "pair_ok",
            &advance.and(&brick_valid.q().not().or(&finishing)),
        );
        m.output("act_ready", &pair_ok.and(&weight_valid));
        m.output("weight_ready", &pair_ok.and(&act_valid));
        let pair_fire = m.wire("pair_fire", &act_valid.and(&weight_valid).and(&pair_ok));
        // The pair after a tile's last (or after reset) starts the next tile.
        let starting = m.reg_reset("starting", Type::bit(), 1);
        m.next_when(&starting, &pair_fire, &act_last);
        m.next(
            &brick_valid,
            &pair_fire.select(
                &Expr::bit(true),
                &finishing.select(&Expr::bit(false), &brick_valid.q()),
            ),
        );
        m.next_when(&brick_first, &pair_fire, &starting.q());
        m.next_when(&brick_last, &pair_fire, &act_last);
        m.next(
            &fresh,
            &pair_fire.select(
                &Expr::bit(true),
                &step.select(&Expr::bit(false), &fresh.q()),
            ),
        );
        for r in 0..rows {
            let centred = lane(&act_data, r, act_bits).as_signed();
            let sign = centred.msb();
            let negated = (&Expr::zero(centred.ty()) - &centred).truncate(act_bits);
            let size = sign
                .select(&negated, &centred)
                .as_unsigned()
                .truncate(magnitude_type.width);
            let held = &magnitude[r as usize];
            let next = pair_fire.select(&size, &step.select(&rests[r as usize], &held.q()));
            m.next(held, &next);
            m.next_when(&negative[r as usize], &pair_fire, &sign);
        }
        for (c, held) in weight.iter().enumerate() {
            m.next_when(held, &pair_fire, &lane(&weight_data, c as u32, weight_bits));
        }

        // ---- the PE grid: terms along rows, weights down columns, results down columns ----------
        let first = m.wire("first", &brick_first.q().and(&fresh.q()));
        let last = m.wire("last", &brick_last.q().and(&final_term));
        let typed_weight = |value: Expr| {
            if pe_spec.weight.signed {
                value.as_signed()
            } else {
                value
            }
        };
        let mut result_from_above = vec![Expr::zero(Type::signed(acc_bits)); cols as usize];
        for row in 0..rows {
            for col in 0..cols {
                let pe_instance = m.instance(&format!("pe_r{row}_c{col}"), design, pe_id);
                m.connect(pe_instance, "step", &step);
                m.connect(pe_instance, "first", &first);
                m.connect(pe_instance, "last", &last);
                m.connect(pe_instance, "drain", &out_fire);
                m.connect(pe_instance, "term_valid", &term_valid[row as usize]);
                m.connect(pe_instance, "term_negative", &negative[row as usize].q());
                m.connect(pe_instance, "term_shift", &term_shift[row as usize]);
                m.connect(
                    pe_instance,
                    "weight",
                    &typed_weight(weight[col as usize].q()),
                );
                m.connect(pe_instance, "result_in", &result_from_above[col as usize]);
                result_from_above[col as usize] = m.connect_output(pe_instance, "result_out");
            }
        }
        m.output_doc(
            "out_data",
            &pack_lanes(&result_from_above),
            "lane c = column c",
        );
    })
}
