//! Stationary-operand systolic array of R×C PEs with a double-buffered stationary operand: the
//! weight-stationary array (TPU style) and, with the operand roles swapped, the input-stationary
//! array. Port and register names follow the roles; the text below uses the WS names (`weight_*`
//! is the stationary stream, `act_*` the streaming one). IS computes the transposed product: it
//! holds an R×C tile of Aᵀ (lane c = output row m) and streams columns of B (lane r = K index).
//!
//! Computes, for each activation vector `a` (R lanes, one per array row, i.e. one K index each),
//! the C partial sums `out[c] = Σ_r a[r] · W[r][c]` with the tile's weights `W` (R×C). A GEMM of
//! M×K×N is streamed as ceil(K/R)·ceil(N/C) tiles of M vectors each.
//!
//! Interfaces (all valid/ready; a beat moves when both are high):
//! - `weight_*`: R beats per tile, beat i carrying weight row R−1−i (lane c = column c), because the
//!   rows shift down and the first beat travels furthest. They load the idle bank while the other
//!   bank computes, so the next tile's weights are ready when the current tile's last vector passes
//!   (for tiles of at least 2R+C−1 vectors; see Throughput).
//! - `act_*`: one vector per beat, lane r = array row r; `act_last` marks a tile's last vector, after
//!   which the array switches to the other bank.
//! - `out_*`: one result vector per accepted activation vector, lane c = column c, in order, with
//!   `out_last` on a tile's last vector.
//!
//! Timing: row r sees vector m's activation r cycles after row 0 (the input skew), and column c's
//! psum leaves the bottom c cycles after column 0's; the output de-skew delays column c by C−1−c so
//! a whole vector leaves together, R+C−1 cycles after it entered. The datapath advances whenever the
//! output is not blocked (`out_ready` or no valid output): a global stall, so skew is never lost.
//!
//! Latency: R+C−1 cycles. Throughput: one vector (R·C MACs) per cycle. A bank may load once the last
//! vector that used it has left the array, so tile t+2's weights (R beats) wait for tile t's last
//! vector to drain (R+C−1 cycles): tiles stream back to back when each has M ≥ 2R+C−1 vectors, and a
//! GEMM takes R + tiles·M + (R+C−1) cycles at full rate. `golden::cycles` models shorter tiles too;
//! tb/tests/arrays.rs checks the model against this RTL.
//!
//! Bit-serial PEs (`pe.kind: bit_serial`, weight-stationary): this file also owns the bit phase
//! every PE shares ([`serial_phase`]: the `act_precision` and `phase_restart` inputs, phases
//! 0..p−1). The array steps, loads and offers a result only in a step's last phase, so each
//! "cycle" above becomes a step of p cycles; and every row, row 0 too, registers its activation
//! once more, because a PE reads it bit by bit for the whole step after it is taken. Latency:
//! R+C steps; throughput: one vector per step; `golden::cycles::bit_serial_cycles` and
//! tb/tests/bit_serial.rs. Each PE still forwards the whole activation word to its neighbour and
//! picks its bit with a mux; only the multiplication is serial, not the wiring as in Stripes.

use crate::blocks::pe::{self, OperandKind, Roles};
use crate::config::{OperandSpec, PeArraySpec, PeSpec};
use crate::hdl::{
    add_module, bits_for, lane, pack_lanes, Design, Expr, HdlError, ModuleBuilder, ModuleId, Type,
};

/// Steps from a stream beat's acceptance to its results on `out_data`: R + C − 1, and one more
/// for a bit-serial array, whose PEs read their activation for a whole step after it is taken,
/// so every row registers it first (row 0 too: the input may change while the beat waits).
pub fn latency(array: &PeArraySpec, pe: &PeSpec) -> u32 {
    array.rows + array.cols - 1 + input_stages(pe)
}

/// Registers before row 0's PEs: 1 for bit-serial PEs, none for parallel ones.
fn input_stages(pe: &PeSpec) -> u32 {
    u32::from(pe.kind.is_bit_serial())
}

/// Builds the array (and its PE) for `roles` into `design`, named `name`.
pub fn build(
    name: String,
    roles: &Roles,
    array: &PeArraySpec,
    pe_spec: &PeSpec,
    design: &mut Design,
) -> Result<ModuleId, HdlError> {
    let pe_id = pe::stationary::build(roles, pe_spec, design)?;
    let (rows, cols) = (array.rows, array.cols);
    let held = roles.stationary.name();
    let streamed = roles.stream.name();
    let held_bits = roles.stationary.spec.bits;
    let stream_bits = roles.stream.spec.bits;
    let acc_bits = pe_spec.acc_bits;
    let depth = latency(array, pe_spec);
    let input_stages = input_stages(pe_spec);
    let port = |suffix: &str| format!("{streamed}_{suffix}");
    let load_port = |suffix: &str| format!("{held}_{suffix}");

    add_module(design, name, |m, design| {
        match roles.stationary.kind {
            OperandKind::Weight => m.doc(format!(
                "Weight-stationary {rows}x{cols} systolic array, double-buffered weights."
            )),
            OperandKind::Act => m.doc(format!(
                "Input-stationary {rows}x{cols} systolic array, double-buffered activations: out = (A*B)^T tiles."
            )),
        }
        .doc(if pe_spec.kind.is_bit_serial() {
            "Bit-serial: p = act_precision cycles per step; latency R+C steps; one vector per step."
                .to_string()
        } else {
            format!(
                "Latency R+C-1 cycles from {streamed} beat to out beat; one vector (R*C MACs) per cycle."
            )
        })
        .doc(format!(
            "{} beat i of a tile carries {held} row R-1-i (lane c = column c).",
            capitalized(held)
        ));
        m.parameter("ROWS", rows.into())
            .parameter("COLS", cols.into())
            .parameter("ACT_BITS", pe_spec.act.bits.into())
            .parameter("WEIGHT_BITS", pe_spec.weight.bits.into())
            .parameter("ACC_BITS", acc_bits.into());

        let load_valid = m.input(&load_port("valid"), Type::bit());
        let load_data = m.input_doc(
            &load_port("data"),
            Type::unsigned(cols * held_bits),
            &format!("one {held} row; lane c = column c"),
        );
        let stream_valid = m.input(&port("valid"), Type::bit());
        let stream_data = m.input_doc(
            &port("data"),
            Type::unsigned(rows * stream_bits),
            &format!("one {} vector; lane r = row r", roles.stream.kind.noun()),
        );
        let stream_last = m.input_doc(&port("last"), Type::bit(), "last vector of the tile");
        let out_ready = m.input("out_ready", Type::bit());
        let out_valid = m.output_port("out_valid", Type::bit(), None);

        // The datapath moves unless a valid result is waiting for a consumer.
        let advance = m.wire("advance", &out_ready.or(&out_valid.value().not()));
        // A bit-serial array steps once per activation: on the last bit phase, when not stalled.
        let serial = pe_spec
            .kind
            .is_bit_serial()
            .then(|| serial_phase(m, pe_spec.act, &advance));
        let step = match &serial {
            Some(phase) => phase.step.clone(),
            None => advance.clone(),
        };

        // ---- stationary banks: which is loading, which computes, which are full or in use ------
        let inflight_type = Type::unsigned(bits_for(u64::from(depth)));
        let load_bank = m.reg_reset("load_bank", Type::bit(), 0);
        let compute_bank = m.reg_reset("compute_bank", Type::bit(), 0);
        let load_count = m.reg_reset(
            "load_count",
            Type::unsigned(bits_for(u64::from(rows - 1))),
            0,
        );
        let loaded = [
            m.reg_reset("loaded0", Type::bit(), 0),
            m.reg_reset("loaded1", Type::bit(), 0),
        ];
        let inflight = [
            m.reg_reset("inflight0", inflight_type, 0),
            m.reg_reset("inflight1", inflight_type, 0),
        ];
        let by_bank = |bank: &Expr, pair: [Expr; 2]| bank.select(&pair[1], &pair[0]);

        // A bank accepts a tile when it holds none and no beat that used it is in flight.
        let load_bank_loaded = by_bank(&load_bank.q(), [loaded[0].q(), loaded[1].q()]);
        let load_bank_inflight = by_bank(&load_bank.q(), [inflight[0].q(), inflight[1].q()]);
        let bank_free = load_bank_loaded
            .not()
            .and(&load_bank_inflight.eq(&Expr::zero(inflight_type)));
        // A bit-serial array loads on step boundaries too, so every count stretches by p.
        let bank_free = match &serial {
            Some(phase) => bank_free.and(&phase.last),
            None => bank_free,
        };
        let load_ready = m.wire(&load_port("ready_w"), &bank_free);
        m.output(&load_port("ready"), &load_ready);
        let load_fire = m.wire(&load_port("fire"), &load_valid.and(&load_ready));
        let last_row = Expr::constant(i128::from(rows - 1), load_count.q().ty());
        let load_done = m.wire("load_done", &load_fire.and(&load_count.q().eq(&last_row)));
        let count_up = load_count.q().wrapping_increment();
        m.next_when(
            &load_count,
            &load_fire,
            &load_done.select(&Expr::zero(load_count.q().ty()), &count_up),
        );
        m.next_when(&load_bank, &load_done, &load_bank.q().not());

        // The stream flows only when the computing bank holds a full tile.
        let compute_loaded = by_bank(&compute_bank.q(), [loaded[0].q(), loaded[1].q()]);
        let stream_ready = m.wire(&port("ready_w"), &step.and(&compute_loaded));
        m.output(&port("ready"), &stream_ready);
        let stream_fire = m.wire(&port("fire"), &stream_valid.and(&stream_ready));
        let tile_done = m.wire("tile_done", &stream_fire.and(&stream_last));
        m.next_when(&compute_bank, &tile_done, &compute_bank.q().not());

        // ---- tracker: valid/last/bank of each vector, R+C-1 stages, in step with the datapath -----
        let mut track_valid = stream_fire.clone();
        // A tile's last beat as it fired (not the raw input), so out_last is low in bubbles.
        let mut track_last = tile_done.clone();
        let mut track_bank = compute_bank.q();
        for stage in 1..=depth {
            let valid = m.reg_reset(&format!("track_valid_d{stage}"), Type::bit(), 0);
            m.next_when(&valid, &step, &track_valid);
            track_valid = valid.q();
            track_last = m.pipe_when(&format!("track_last_d{stage}"), &step, &track_last);
            track_bank = m.pipe_when(&format!("track_bank_d{stage}"), &step, &track_bank);
        }
        // A bit-serial result is offered in its step's last phase only, so it is taken once.
        match &serial {
            Some(phase) => m.assign(&out_valid, &track_valid.and(&phase.last)),
            None => m.assign(&out_valid, &track_valid),
        }
        m.output_doc("out_last", &track_last, "last vector of the tile");
        let retire = m.wire("retire", &step.and(&track_valid));

        for bank in 0..2 {
            let is_bank = |b: &Expr| if bank == 0 { b.not() } else { b.clone() };
            let filled = load_done.and(&is_bank(&load_bank.q()));
            let released = tile_done.and(&is_bank(&compute_bank.q()));
            m.next(
                &loaded[bank],
                &filled.select(
                    &Expr::bit(true),
                    &released.select(&Expr::bit(false), &loaded[bank].q()),
                ),
            );
            let entering = stream_fire.and(&is_bank(&compute_bank.q()));
            let leaving = retire.and(&is_bank(&track_bank));
            let count = inflight[bank].q();
            let one = Expr::constant(1, inflight_type);
            let plus = (&count + &one).truncate(inflight_type.width);
            let minus = (&count - &one).truncate(inflight_type.width).as_unsigned();
            let next = entering
                .and(&leaving.not())
                .select(&plus, &leaving.and(&entering.not()).select(&minus, &count));
            m.next(&inflight[bank], &next);
        }

        // ---- input skew: row r's stream operand waits r steps (+1 when bit-serial) ----------------------------------
        let typed = |value: Expr, signed: bool| if signed { value.as_signed() } else { value };
        let mut row_stream = Vec::new();
        let mut row_bank = Vec::new();
        for row in 0..rows {
            let value = typed(
                lane(&stream_data, row, stream_bits),
                roles.stream.spec.signed,
            );
            let stages = row + input_stages;
            row_stream.push(m.delay(&port(&format!("skew_r{row}")), &step, &value, stages));
            row_bank.push(m.delay(
                &format!("bank_skew_r{row}"),
                &step,
                &compute_bank.q(),
                stages,
            ));
        }

        // ---- the PE grid ---------------------------------------------------------------------------
        let zero_psum = Expr::zero(Type::signed(acc_bits));
        let mut psum_from_above: Vec<Expr> = vec![zero_psum; cols as usize];
        let mut held_from_above: Vec<Expr> = (0..cols)
            .map(|c| typed(lane(&load_data, c, held_bits), roles.stationary.spec.signed))
            .collect();
        for row in 0..rows {
            let mut stream_from_left = row_stream[row as usize].clone();
            let mut bank_from_left = row_bank[row as usize].clone();
            for col in 0..cols {
                let name = format!("pe_r{row}_c{col}");
                let pe_instance = m.instance(&name, design, pe_id);
                m.connect(pe_instance, "enable", &step);
                if let Some(phase) = &serial {
                    m.connect(pe_instance, "phase_first", &phase.first);
                    m.connect(pe_instance, "phase_last", &phase.last);
                    m.connect(pe_instance, "bit_index", &phase.bit_index);
                }
                m.connect(pe_instance, &port("in"), &stream_from_left);
                m.connect(pe_instance, &port("bank_in"), &bank_from_left);
                m.connect(pe_instance, "psum_in", &psum_from_above[col as usize]);
                m.connect(
                    pe_instance,
                    &load_port("in"),
                    &held_from_above[col as usize],
                );
                m.connect(pe_instance, &load_port("shift"), &load_fire);
                m.connect(pe_instance, &load_port("bank"), &load_bank.q());
                stream_from_left = m.connect_output(pe_instance, &port("out"));
                bank_from_left = m.connect_output(pe_instance, &port("bank_out"));
                psum_from_above[col as usize] = m.connect_output(pe_instance, "psum_out");
                held_from_above[col as usize] = m.connect_output(pe_instance, &load_port("out"));
            }
            m.sink(
                &Expr::concat(&[stream_from_left, bank_from_left]),
                &format!("{}s leaving the last column", roles.stream.kind.noun()),
            );
        }
        m.sink(
            &Expr::concat(&held_from_above),
            &format!("{held}s shifting out of the bottom row"),
        );

        // ---- output de-skew: column c waits C-1-c cycles so a vector leaves together ----------
        let columns: Vec<Expr> = (0..cols)
            .map(|col| {
                m.delay(
                    &format!("psum_deskew_c{col}"),
                    &step,
                    &psum_from_above[col as usize],
                    cols - 1 - col,
                )
            })
            .collect();
        m.output_doc("out_data", &pack_lanes(&columns), "lane c = column c");
    })
}

/// The bit phase of a bit-serial array, shared by every PE.
struct SerialPhase {
    /// The array advances: the last phase, not stalled.
    step: Expr,
    first: Expr,
    last: Expr,
    /// The activation bit of this phase: p−1 in the first, 0 in the last.
    bit_index: Expr,
}

/// Declares the run-time precision input and the phase counter: phases 0..p−1 repeat, the last
/// held while the array is stalled, and `phase_restart` starts them over (the core holds it high
/// until its compute phase begins), so the array's k-th step is the restart's (k·p)-th cycle.
/// While it is high nothing steps, loads or leaves, whatever p. `act_precision` should change
/// only then (or with the array idle): a phase already past a lower p's last ends its step at
/// once, on a wrong bit.
fn serial_phase(m: &mut ModuleBuilder, act: OperandSpec, advance: &Expr) -> SerialPhase {
    let precision_type = Type::unsigned(bits_for(u64::from(act.bits)));
    let precision = m.input_doc(
        "act_precision",
        precision_type,
        "bits per activation, 1..=ACT_BITS (MSB first); 0 or above ACT_BITS reads as ACT_BITS",
    );
    let restart = m.input_doc(
        "phase_restart",
        Type::bit(),
        "hold the bit phase at its first; the phases run from the first low cycle",
    );
    let index_type = Type::unsigned(pe::bit_serial::bit_index_bits(act));
    let full = Expr::constant(i128::from(act.bits), precision_type);
    let in_range = precision
        .ne(&Expr::zero(precision_type))
        .and(&precision.le(&full));
    let bits = in_range.select(&precision, &full);
    let last_index = m.wire(
        "phase_last_index",
        &bits.wrapping_decrement().truncate(index_type.width),
    );
    let phase = m.reg_reset("phase", index_type, 0);
    let last = m.wire("phase_last", &phase.q().ge(&last_index).and(&restart.not()));
    let first = m.wire("phase_first", &phase.q().eq_const(0));
    let zero = Expr::zero(index_type);
    let held = advance.select(&zero, &phase.q());
    let next = restart.select(&zero, &last.select(&held, &phase.q().wrapping_increment()));
    m.next(&phase, &next);
    let bit_index = m.wire(
        "bit_index",
        &(&last_index - &phase.q())
            .truncate(index_type.width)
            .as_unsigned(),
    );
    let step = m.wire("step", &advance.and(&last));
    SerialPhase {
        step,
        first,
        last,
        bit_index,
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
