//! The output-stationary core's compute section: for every N-fold and every block of R rows of
//! A, the K pairs (a column of the row block, a row of the N-fold's B) stream into the array
//! from the two buffers (an activation-skipping core's: only the block's kept columns; a
//! weight-skipping core's: only the N-fold's kept rows, every row block again;
//! [`skipping_feeder`]), and the array's R result rows of the tile go on to the psum buffer or
//! the post-process unit. The PEs hold the whole reduction of a run, so the psum buffer only
//! carries sums from one run to the next (a reduction longer than the buffers).
//!
//! A tile's rows leave the array bottom row first (`pe_array::output_stationary`), so result row
//! m of N-fold n is written to ofmap word n·M + m wherever it falls in the order; rows past M in
//! the last row block (zero-padded activations) are dropped. The word address travels beside the
//! post-process unit's pipeline, which never stalls in the core (its output is always taken).

use super::{count, post_process_input, Events, Shell, FOLD_BITS};
use crate::blocks::post_process;
use crate::blocks::zero_skip::centred_lanes;
use crate::hdl::{
    bits_for, clog2, lane, pack_lanes, Expr, InstanceHandle, ModuleBuilder, Reg, Type,
};

pub fn compute(m: &mut ModuleBuilder, shell: &Shell) -> Events {
    let spec = shell.spec;
    let buffers = spec.buffers.as_ref().expect("a core has buffers");
    let (rows, cols, acc_bits) = (spec.pe_array.rows, spec.pe_array.cols, spec.pe.acc_bits);
    let fold_type = Type::unsigned(FOLD_BITS);
    // Row indices run past M in the last, zero-padded row block.
    let row_type = Type::unsigned(bits_for(buffers.psum.depth + u64::from(rows)));
    let rows_const = Expr::constant(i128::from(rows), row_type);
    let (accept, computing, array) = (&shell.accept, &shell.computing, shell.array);
    let m_q = m.wire("m_rows", &shell.m_vectors.resize(row_type.width));
    let (k_q, n_q) = (&shell.k_steps, &shell.n_folds);
    // The last row block is the one whose rows reach M.
    let block_is_last = |m: &mut ModuleBuilder, name: &str, base: &Reg| {
        let end = (&base.q() + &rows_const).truncate(row_type.width);
        m.wire(name, &end.ge(&m_q))
    };

    // ---- feeders: pair k of row block b and N-fold n is ifmap word b·K + k and weight word
    // n·K + k; the row blocks again for every N-fold. A zero-skipping core's ifmap holds only
    // each block's kept columns ([`skipping_feeder`]).
    let p_row = m.reg("p_row", row_type);
    let p_n = m.reg("p_n", fold_type);
    let pair_valid = m.wire("pair_valid", &computing.and(&p_n.q().ne(n_q)));
    let p_block_last = block_is_last(m, "p_block_last", &p_row);
    let act_read = shell.ifmap.read_port(m);
    let weight_read = shell.weight.read_port(m);
    let act_word = act_read.data.clone();
    m.connect(array, "act_valid", &pair_valid);
    m.connect(array, "weight_valid", &pair_valid);
    let act_ready = m.connect_output(array, "act_ready");
    let weight_ready = m.connect_output(array, "weight_ready");
    // The array takes both beats of a pair together (each ready waits for the other's valid).
    m.sink(&weight_ready, "equals act_ready whenever a pair is offered");
    let pair_fire = m.wire("pair_fire", &pair_valid.and(&act_ready));
    let ifmap_address = Type::unsigned(clog2(buffers.ifmap.run_depth()));
    let weight_address = Type::unsigned(clog2(buffers.weight.run_depth()));
    // The reduction index of the next pair (its weight word's offset in the N-fold; on a
    // weight-skipping core, its ifmap word's offset in the row block).
    let weight_data = weight_read.data.clone();
    let (p_last, k_next, act_data, weight_data) = match (shell.zero_skip, shell.weight_skip) {
        (None, None) => {
            let p_k = m.reg("p_k", fold_type);
            let last_k = m.wire("last_k", &k_q.wrapping_decrement());
            let p_last = m.wire("p_last", &p_k.q().eq(&last_k));
            let act_data = stored_or_centred(m, shell, &act_word);
            let k_next = count(m, &p_k, accept, &pair_fire, &p_last);
            (p_last, k_next, act_data, weight_data)
        }
        (Some(unit), _) => {
            let unit = (unit, Compacted::Activations);
            let (last, next, act) = skipping_feeder(m, shell, unit, &act_word, &pair_fire);
            (last, next, act, weight_data)
        }
        (None, Some(unit)) => {
            let unit = (unit, Compacted::Weights);
            let (last, next, weights) = skipping_feeder(m, shell, unit, &weight_data, &pair_fire);
            let act_data = stored_or_centred(m, shell, &act_word);
            (last, next, act_data, weights)
        }
    };
    m.connect(array, "act_data", &act_data);
    m.connect(array, "weight_data", &weight_data);
    m.connect(array, "act_last", &p_last);
    let gated_macs = if spec.zero_skip.gating {
        gated_macs(m, shell, (&act_data, &weight_data), &pair_fire)
    } else {
        Expr::bit(false)
    };
    let tile_done = m.wire("tile_done", &pair_fire.and(&p_last));
    block_step(
        m,
        &p_row,
        accept,
        &tile_done,
        &p_block_last,
        rows_const.clone(),
    );
    let fold_done = tile_done.and(&p_block_last);
    count(m, &p_n, accept, &fold_done, &Expr::bit(false));
    let weight_next = match shell.weight_skip {
        // The compacted words follow one another; every row block reads its N-fold's again.
        Some(_) => {
            let w_word = m.reg("w_word", weight_address);
            let w_fold = m.reg("w_fold", weight_address);
            let one = Expr::constant(1, weight_address);
            let following = (&w_word.q() + &one).truncate(weight_address.width);
            let replay = tile_done.and(&p_block_last.not());
            let stepped = replay.select(&w_fold.q(), &following);
            let next = accept.select(
                &Expr::zero(weight_address),
                &pair_fire.select(&stepped, &w_word.q()),
            );
            m.next(&w_word, &next);
            let fold_next = accept.select(
                &Expr::zero(weight_address),
                &fold_done.select(&following, &w_fold.q()),
            );
            m.next(&w_fold, &fold_next);
            next
        }
        None => {
            let w_base = m.reg("w_base", weight_address);
            let w_base_next = base_step(
                m,
                &w_base,
                accept,
                &fold_done,
                &k_q.resize(weight_address.width),
            );
            (&w_base_next + &k_next.resize(weight_address.width)).truncate(weight_address.width)
        }
    };
    let ifmap_next = match shell.zero_skip {
        // The compacted words follow one another; every N-fold reads them again.
        Some(_) => {
            let a_word = m.reg("a_word", ifmap_address);
            let one = Expr::constant(1, ifmap_address);
            block_step(m, &a_word, accept, &pair_fire, &fold_done, one)
        }
        None => {
            let a_base = m.reg("a_base", ifmap_address);
            let a_base_next = block_step(
                m,
                &a_base,
                accept,
                &tile_done,
                &p_block_last,
                k_q.resize(ifmap_address.width),
            );
            (&a_base_next + &k_next.resize(ifmap_address.width)).truncate(ifmap_address.width)
        }
    };
    shell.ifmap.read_address(m, act_read, &ifmap_next);
    shell.weight.read_address(m, weight_read, &weight_next);

    // ---- results: R rows per tile, row R−1−i on beat i ---------------------------------------
    let o_i = m.reg("o_i", Type::unsigned(bits_for(u64::from(rows - 1))));
    let o_row = m.reg("o_row", row_type);
    let o_n = m.reg("o_n", fold_type);
    let ofmap_address = Type::unsigned(clog2(buffers.ofmap.run_depth()));
    let o_base = m.reg("o_base", ofmap_address);
    let out_valid = m.connect_output(array, "out_valid");
    let out_data = m.connect_output(array, "out_data");
    let out_last = m.connect_output(array, "out_last");
    m.sink(&out_last, "the core counts result rows itself (o_i)");
    let emit = shell.finish.clone();
    let post_ready = m.connect_output(shell.post, "in_ready");
    let out_ready = m.wire("out_ready", &emit.not().or(&post_ready));
    m.connect(array, "out_ready", &out_ready);
    let out_fire = m.wire("out_fire", &out_valid.and(&out_ready));
    let top_row = Expr::constant(i128::from(rows - 1), o_i.q().ty());
    let o_i_last = m.wire("o_i_last", &o_i.q().eq(&top_row));
    let o_block_last = block_is_last(m, "o_block_last", &o_row);
    // Beat i of a tile carries row base + R−1−i.
    let row_of = |base: &Expr, i: &Expr| {
        (&(base + &Expr::constant(i128::from(rows - 1), row_type)) - &i.resize(row_type.width))
            .truncate(row_type.width)
            .as_unsigned()
    };
    let row = m.wire("o_row_index", &row_of(&o_row.q(), &o_i.q()));
    let row_valid = m.wire("row_valid", &row.lt(&m_q));
    let tile_out = out_fire.and(&o_i_last);
    let o_i_next = count(m, &o_i, accept, &out_fire, &o_i_last);
    let o_row_next = block_step(m, &o_row, accept, &tile_out, &o_block_last, rows_const);
    let fold_out = tile_out.and(&o_block_last);
    let o_n_next = count(m, &o_n, accept, &fold_out, &Expr::bit(false));
    base_step(
        m,
        &o_base,
        accept,
        &fold_out,
        &shell.m_vectors.resize(ofmap_address.width),
    );

    // ---- the psum buffer: row m's sums from the previous run, read a cycle ahead ------------
    let psum_bits = clog2(buffers.psum.depth);
    let psum_read = shell.psum.read_port(m);
    let stored = psum_read.data.clone();
    let psum_next = row_of(&o_row_next, &o_i_next).resize(psum_bits);
    shell.psum.read_address(m, psum_read, &psum_next);
    let sums: Vec<Expr> = (0..cols)
        .map(|c| {
            let previous = shell.accumulate.select(
                &lane(&stored, c, acc_bits),
                &Expr::zero(Type::unsigned(acc_bits)),
            );
            (&previous + &lane(&out_data, c, acc_bits)).truncate(acc_bits)
        })
        .collect();
    let sum = m.wire("sum", &pack_lanes(&sums));
    let kept = m.wire("row_kept", &out_fire.and(&row_valid));
    let psum_write = m.wire("psum_write", &kept.and(&emit.not()));
    shell
        .psum
        .write(m, &psum_write, &row.resize(psum_bits), &sum);

    // ---- post-process, with each row's ofmap word travelling beside the pipeline -------------
    let to_post = m.wire("to_post", &out_valid.and(&row_valid).and(&emit));
    let (result_fire, result_data) =
        post_process_input(m, shell, &to_post, &sum, &o_i_last, &o_n_next);
    let word = (&o_base.q() + &row.resize(ofmap_address.width)).truncate(ofmap_address.width);
    let mut pending = Expr::bit(false);
    let (mut address, mut valid) = (word, to_post.clone());
    for stage in 1..=post_process::LATENCY {
        address = m.pipe(&format!("result_addr_d{stage}"), &address);
        let stage_valid = m.reg_reset(&format!("result_valid_d{stage}"), Type::bit(), 0);
        m.next(&stage_valid, &valid);
        valid = stage_valid.q();
        pending = pending.or(&valid);
    }
    m.sink(&valid, "equals the post-process unit's out_valid");
    shell.ofmap.write(m, &result_fire, &address, &result_data);
    let pending = m.wire("results_pending", &pending);

    // Computing ends when every tile's rows have left the array and, with finish, the last
    // result is in the ofmap buffer.
    let drained = o_n.q().eq(n_q).and(&shell.finish.not().or(&pending.not()));
    let computed = m.wire("computed", &computing.and(&drained));
    Events {
        act_fire: pair_fire.clone(),
        weight_fire: pair_fire.clone(),
        act_waiting: pair_valid.and(&pair_fire.not()),
        psum_read: kept.and(&shell.accumulate),
        psum_write,
        result_fire,
        gated_macs,
        computed,
    }
}

/// A block base register stepping by `stride` when `step`, back to 0 after the last block
/// (`last`) and on `clear`; returns its next value.
fn block_step(
    m: &mut ModuleBuilder,
    base: &Reg,
    clear: &Expr,
    step: &Expr,
    last: &Expr,
    stride: Expr,
) -> Expr {
    let ty = base.q().ty();
    let advanced = (&base.q() + &stride).truncate(ty.width);
    let stepped = last.select(&Expr::zero(ty), &advanced);
    let next = clear.select(&Expr::zero(ty), &step.select(&stepped, &base.q()));
    m.next(base, &next);
    next
}

/// A base register adding `stride` when `step`, cleared by `clear`; returns its next value.
fn base_step(m: &mut ModuleBuilder, base: &Reg, clear: &Expr, step: &Expr, stride: &Expr) -> Expr {
    block_step(m, base, clear, step, &Expr::bit(false), stride.clone())
}

/// The activations of an ifmap `word` as the array gets them from a core that does not skip
/// them: centred (`a − a_zp`, wire `act_centred`) on a gating core, which must see a real zero
/// as 0 (an activation-skipping core centres in its zero-skip unit), else as stored.
fn stored_or_centred(m: &mut ModuleBuilder, shell: &Shell, word: &Expr) -> Expr {
    match &shell.act_zero_point {
        Some(zero_point) => {
            let (rows, act) = (shell.spec.pe_array.rows, shell.spec.pe.act);
            let lanes = centred_lanes(m, word, zero_point, rows, act);
            m.wire("act_centred", &pack_lanes(&lanes))
        }
        None => word.clone(),
    }
}

/// The operand a skipping core compacts, which its feeder walks ([`skipping_feeder`]).
#[derive(Clone, Copy)]
enum Compacted {
    /// Each row block's kept columns of A (`zero_skip.activations`): the next step addresses
    /// the weight buffer.
    Activations,
    /// Each N-fold's kept rows of B (`zero_skip.weights`): the next step addresses the ifmap.
    Weights,
}

/// The feeder of the compacted operand on a skipping core: its zero-skip unit
/// (`blocks::zero_skip`) takes the compacted word at hand and gives the array its lanes
/// (centred activations, or weights as stored), the pair's last-of-tile flag, and the next
/// pair's reduction step, which addresses the other operand's buffer in the same cycle as this
/// read so both words arrive together: no cycle is lost to the indirection. The descriptor's
/// K only steps the other operand's base (a tile ends at its last kept step).
///
/// Returns the current pair's last flag, the next pair's reduction index and the lanes.
fn skipping_feeder(
    m: &mut ModuleBuilder,
    shell: &Shell,
    (unit, compacted): (InstanceHandle, Compacted),
    word: &Expr,
    pair_fire: &Expr,
) -> (Expr, Expr, Expr) {
    // The lanes port, where a tile ends, and the other operand and its buffer.
    let (lanes, tile, (other, base)) = match compacted {
        Compacted::Activations => (
            "act_centred",
            "a row block ends at its last kept column",
            ("B", "weight"),
        ),
        Compacted::Weights => (
            "weights",
            "a tile ends at its N-fold's last kept step",
            ("A", "ifmap"),
        ),
    };
    m.connect(unit, "word", word);
    m.connect(unit, "advance", pair_fire);
    m.connect(unit, "restart", &shell.accept);
    let lanes = m.connect_output(unit, lanes);
    m.sink(
        &shell.k_steps,
        &format!("{tile}; K only steps the {base} base"),
    );
    let last = m.connect_output(unit, "last");
    let last = m.wire("p_last", &last);
    let next = m.connect_output(unit, "next_index");
    m.sink(
        &next,
        &format!("a kept step is below K, and K words of {other} fit the {base} buffer's address"),
    );
    (last, next, lanes)
}

/// The MACs a zero-gating core's array gates for the pair taken this cycle (0 otherwise): its
/// PE (r, c) holds when activation lane r or weight lane c is zero, so with `za` zero
/// activations and `zw` zero weights, `za·C + zw·R − za·zw` of the pair's R·C MACs. The lanes
/// are counted as they enter the array; the skew moves them, not their count.
fn gated_macs(
    m: &mut ModuleBuilder,
    shell: &Shell,
    (act, weight): (&Expr, &Expr),
    pair_fire: &Expr,
) -> Expr {
    let spec = shell.spec;
    let (rows, cols) = (spec.pe_array.rows, spec.pe_array.cols);
    let act_bits = spec.zero_skip.array_act(spec.pe.act).bits;
    let zeros = |m: &mut ModuleBuilder, name: &str, bus: &Expr, lanes: u32, bits: u32| {
        let count_type = Type::unsigned(bits_for(u64::from(lanes)));
        let total = (0..lanes).fold(Expr::zero(count_type), |total, lane_index| {
            let zero = lane(bus, lane_index, bits).eq(&Expr::zero(Type::unsigned(bits)));
            (&total + &zero.resize(count_type.width)).truncate(count_type.width)
        });
        m.wire(name, &total)
    };
    let zero_acts = zeros(m, "zero_acts", act, rows, act_bits);
    let zero_weights = zeros(m, "zero_weights", weight, cols, spec.pe.weight.bits);
    let macs_type = Type::unsigned(bits_for(u64::from(rows * cols)));
    let widen = |value: &Expr| value.resize(macs_type.width);
    let constant = |value: u32| Expr::constant(i128::from(value), macs_type);
    let by_acts = widen(&zero_acts).widening_mul(&constant(cols));
    let by_weights = widen(&zero_weights).widening_mul(&constant(rows));
    let both = widen(&zero_acts).widening_mul(&widen(&zero_weights));
    let gated = (&(&by_acts + &by_weights) - &both.resize(by_acts.width() + 1))
        .as_unsigned()
        .resize(macs_type.width);
    m.wire(
        "gated_macs",
        &pair_fire.select(&gated, &Expr::zero(macs_type)),
    )
}
