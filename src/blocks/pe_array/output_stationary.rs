//! Output-stationary systolic array of R×C PEs (ShiDianNao style) whose results drain while the
//! next tile accumulates.
//!
//! PE (r, c) owns output C[r][c] of the tile: a GEMM of M×K×N is ceil(M/R)·ceil(N/C) tiles, each
//! streaming its K pairs through the array. Activations enter row r from the left, weights enter
//! column c from the top; both pass on to the next PE each cycle.
//!
//! Interfaces (all valid/ready; a beat moves when both are high):
//! - `act_*` and `weight_*` move together, one pair per cycle: beat k carries A[m0+r][k] on lane r
//!   and B[k][n0+c] on lane c. `act_last` marks a tile's last pair. Each stream's ready depends on
//!   the other's valid (never valid on ready), as AXI-Stream allows.
//! - `out_*`: R beats per tile, beat i carrying result row R−1−i (lane c = column c), because
//!   results shift down and leave at the bottom; `out_last` on a tile's last beat.
//!
//! Timing: row r's activation is skewed by r cycles and column c's weight by c, so pair k meets in
//! PE (r, c) r+c cycles after entering. A tile's first pair starts each PE's sum afresh (no
//! accumulator needs a reset); on its last pair each PE moves its sum into its result register. Column 0's result registers then shift down R−1 times
//! (row r takes part in the first r shifts only, so a register is never needed by two tiles at
//! once); the shift enables travel right through the PEs, so column c drains c cycles after column
//! 0, and the output de-skew delays column c by C−1−c so each result row leaves together. A bubble
//! carries a zero activation, which adds nothing. The datapath advances whenever the output is
//! not blocked (`out_ready` or no valid output): a global stall, so skew is never lost.
//!
//! Latency: the first result row of a tile leaves R+C−1 cycles after its last pair entered.
//! Throughput: one pair (R·C MACs) per cycle. A tile's R result rows need R cycles in the drain,
//! so a tile's last pair is held back until R cycles after the previous tile's: tiles of K ≥ R
//! pairs stream back to back, and a GEMM takes K + (tiles−1)·max(K, R) + 2R + C − 2 cycles at
//! full rate (`golden::cycles`, checked against this RTL in tb/tests/arrays.rs).
//!
//! The stall (`advance`) is one net from `out_ready` to every register enable and to the input
//! readies, as in the other arrays: simple and exact, but a long path at 16×16 and beyond; an
//! output skid buffer of about R+C entries will cut it when timing closure needs it.

use crate::blocks::pe::{self, operand_type};
use crate::config::{Dataflow, PeArraySpec, PeSpec};
use crate::hdl::{add_module, bits_for, lane, pack_lanes, Design, Expr, HdlError, ModuleId, Type};

/// Cycles from a tile's last pair entering to its first result row on `out_data`: R + C − 1.
pub fn latency(array: &PeArraySpec) -> u32 {
    array.rows + array.cols - 1
}

/// Builds the array (and its PE, gating zeros when `gate_zeros`) into `design`, named `name`.
pub fn build(
    name: String,
    array: &PeArraySpec,
    pe_spec: &PeSpec,
    gate_zeros: bool,
    design: &mut Design,
) -> Result<ModuleId, HdlError> {
    let pe_id = pe::output_stationary::build(pe_spec, gate_zeros, design)?;
    let (rows, cols) = (array.rows, array.cols);
    let act_bits = pe_spec.act.bits;
    let weight_bits = pe_spec.weight.bits;
    let acc_bits = pe_spec.acc_bits;
    let depth = latency(array);
    debug_assert_eq!(array.dataflow, Dataflow::OutputStationary);

    add_module(design, name, |m, design| {
        m.doc(format!(
            "Output-stationary {rows}x{cols} systolic array; results drain while the next tile accumulates."
        ))
        .doc("One act/weight pair (R*C MACs) per cycle; R out beats per tile, the first R+C-1")
        .doc("cycles after the tile's last pair. Out beat i carries result row R-1-i.");
        m.parameter("ROWS", rows.into())
            .parameter("COLS", cols.into())
            .parameter("ACT_BITS", act_bits.into())
            .parameter("WEIGHT_BITS", weight_bits.into())
            .parameter("ACC_BITS", acc_bits.into());

        let act_valid = m.input("act_valid", Type::bit());
        let act_data = m.input_doc(
            "act_data",
            Type::unsigned(rows * act_bits),
            "activations A[m0+r][k]; lane r = row r",
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

        // ---- pairing and tile spacing --------------------------------------------------------------
        // A tile's last pair waits until R cycles after the previous tile's, so the result rows
        // of consecutive tiles never meet in the drain.
        let since_last = (rows >= 2).then(|| {
            let gap_type = Type::unsigned(bits_for(u64::from(rows)));
            m.reg_reset("since_last", gap_type, i128::from(rows))
        });
        let gap_ok = match &since_last {
            None => Expr::bit(true),
            Some(since_last) => {
                let rows_value = Expr::constant(i128::from(rows), since_last.q().ty());
                m.wire("gap_ok", &since_last.q().eq(&rows_value))
            }
        };
        let pair_ok = m.wire("pair_ok", &advance.and(&gap_ok.or(&act_last.not())));
        m.output("act_ready", &pair_ok.and(&weight_valid));
        m.output("weight_ready", &pair_ok.and(&act_valid));
        let pair_fire = m.wire("pair_fire", &act_valid.and(&weight_valid).and(&pair_ok));
        let tile_done = m.wire("tile_done", &pair_fire.and(&act_last));
        // The pair after a tile's last (or after reset) starts the next tile.
        let starting = m.reg_reset("starting", Type::bit(), 1);
        m.next_when(&starting, &pair_fire, &act_last);
        let tile_start = m.wire("tile_start", &pair_fire.and(&starting.q()));
        if let Some(since_last) = &since_last {
            // Cycles since the last tile_done, saturating at R.
            let gap_type = since_last.q().ty();
            let count_up = since_last.q().wrapping_increment();
            let next = tile_done.select(
                &Expr::constant(1, gap_type),
                &gap_ok.select(&since_last.q(), &count_up),
            );
            m.next_when(since_last, &advance, &next);
        }

        // ---- tracker: a tile's last pair, R+C-1 stages, in step with the datapath -------------
        let mut tracked = tile_done.clone();
        let mut track = Vec::new();
        for stage in 1..=depth {
            let reg = m.reg_reset(&format!("track_last_d{stage}"), Type::bit(), 0);
            m.next_when(&reg, &advance, &tracked);
            tracked = reg.q();
            track.push(tracked.clone());
        }
        let first_row = tracked;

        // ---- drain schedule: step s = 1..R-1 shifts column 0's rows r >= s down by one -------------
        let mut row_drain = vec![Expr::bit(false); rows as usize];
        if rows >= 2 {
            let step_type = Type::unsigned(bits_for(u64::from(rows - 1)));
            let step = m.reg_reset("drain_step", step_type, 0);
            let idle = step.q().eq(&Expr::zero(step_type));
            let final_step = step
                .q()
                .eq(&Expr::constant(i128::from(rows - 1), step_type));
            let step_up = step.q().wrapping_increment();
            // Column 0's bottom PE captures R-1 cycles after the last pair: shifting starts then.
            let start = &track[rows as usize - 2];
            let next = start.select(
                &Expr::constant(1, step_type),
                &idle
                    .or(&final_step)
                    .select(&Expr::zero(step_type), &step_up),
            );
            m.next_when(&step, &advance, &next);
            for row in 1..rows {
                // The bottom row shifts in every step; the others stop after step r.
                let in_window = if row == rows - 1 {
                    idle.not()
                } else {
                    let bound = Expr::constant(i128::from(row), step_type);
                    idle.not().and(&step.q().le(&bound))
                };
                row_drain[row as usize] = m.wire(&format!("drain_r{row}"), &in_window);
            }
        }

        // ---- input skew: row r waits r cycles, column c waits c cycles ---------------------------
        let typed = |value: Expr, signed: bool| if signed { value.as_signed() } else { value };
        let act_zero = Expr::zero(operand_type(pe_spec.act));
        let mut row_act = Vec::new();
        let mut row_first = Vec::new();
        let mut row_last = Vec::new();
        for row in 0..rows {
            // A bubble enters as a zero activation: it adds nothing to any sum.
            let value = typed(lane(&act_data, row, act_bits), pe_spec.act.signed);
            let value = m.wire(
                &format!("act_in_r{row}"),
                &pair_fire.select(&value, &act_zero),
            );
            row_act.push(m.delay(&format!("act_skew_r{row}"), &advance, &value, row));
            row_first.push(m.delay(&format!("first_skew_r{row}"), &advance, &tile_start, row));
            row_last.push(m.delay(&format!("last_skew_r{row}"), &advance, &tile_done, row));
        }
        let mut weight_from_above: Vec<Expr> = (0..cols)
            .map(|col| {
                let value = typed(lane(&weight_data, col, weight_bits), pe_spec.weight.signed);
                m.delay(&format!("weight_skew_c{col}"), &advance, &value, col)
            })
            .collect();

        // ---- the PE grid ---------------------------------------------------------------------------
        let mut result_from_above = vec![Expr::zero(Type::signed(acc_bits)); cols as usize];
        for row in 0..rows {
            let mut act_from_left = row_act[row as usize].clone();
            let mut first_from_left = row_first[row as usize].clone();
            let mut last_from_left = row_last[row as usize].clone();
            let mut drain_from_left = row_drain[row as usize].clone();
            for col in 0..cols {
                let pe_instance = m.instance(&format!("pe_r{row}_c{col}"), design, pe_id);
                m.connect(pe_instance, "enable", &advance);
                m.connect(pe_instance, "act_in", &act_from_left);
                m.connect(pe_instance, "first_in", &first_from_left);
                m.connect(pe_instance, "last_in", &last_from_left);
                m.connect(pe_instance, "drain_in", &drain_from_left);
                m.connect(pe_instance, "weight_in", &weight_from_above[col as usize]);
                m.connect(pe_instance, "result_in", &result_from_above[col as usize]);
                act_from_left = m.connect_output(pe_instance, "act_out");
                first_from_left = m.connect_output(pe_instance, "first_out");
                last_from_left = m.connect_output(pe_instance, "last_out");
                drain_from_left = m.connect_output(pe_instance, "drain_out");
                weight_from_above[col as usize] = m.connect_output(pe_instance, "weight_out");
                result_from_above[col as usize] = m.connect_output(pe_instance, "result_out");
            }
            m.sink(
                &Expr::concat(&[
                    act_from_left,
                    first_from_left,
                    last_from_left,
                    drain_from_left,
                ]),
                "activations and control leaving the last column",
            );
        }
        m.sink(
            &Expr::concat(&weight_from_above),
            "weights leaving the bottom row",
        );

        // ---- output: R beats per tile, de-skewed so a result row leaves together ---------------
        let (beats_left_nonzero, last_beat) = if rows == 1 {
            (Expr::bit(false), first_row.clone())
        } else {
            let beats_type = Type::unsigned(bits_for(u64::from(rows - 1)));
            let beats_left = m.reg_reset("beats_left", beats_type, 0);
            let nonzero = beats_left.q().ne(&Expr::zero(beats_type));
            let count_down = beats_left.q().wrapping_decrement();
            let next = first_row.select(
                &Expr::constant(i128::from(rows - 1), beats_type),
                &nonzero.select(&count_down, &Expr::zero(beats_type)),
            );
            m.next_when(&beats_left, &advance, &next);
            (nonzero, beats_left.q().eq(&Expr::constant(1, beats_type)))
        };
        m.assign(&out_valid, &first_row.or(&beats_left_nonzero));
        m.output_doc("out_last", &last_beat, "last result row of the tile");
        let columns: Vec<Expr> = (0..cols)
            .map(|col| {
                m.delay(
                    &format!("result_deskew_c{col}"),
                    &advance,
                    &result_from_above[col as usize],
                    cols - 1 - col,
                )
            })
            .collect();
        m.output_doc("out_data", &pack_lanes(&columns), "lane c = column c");
    })
}
