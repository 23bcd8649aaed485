//! The weight-stationary core's compute section: the weight feeder loads each tile's R weight
//! rows, the activation feeder streams the M rows of A through it (the K-folds again for every
//! N-fold), and each output row adds to its partial sum in the psum buffer; a final fold's rows
//! go through the post-process unit into the ofmap buffer in order, word n·M + m.
//!
//! The psum buffer is read ahead and written back in the cycle an output leaves the array; a
//! row read while it is written (M = 1) gets the written sum forwarded.

use super::{count, post_process_input, window_walker, Events, Shell, FOLD_BITS};
use crate::hdl::{bits_for, clog2, lane, pack_lanes, Expr, ModuleBuilder, Type};

pub fn compute(m: &mut ModuleBuilder, shell: &Shell) -> Events {
    let spec = shell.spec;
    let buffers = spec.buffers.as_ref().expect("a core has buffers");
    let (ifmap, weight, psum, ofmap) = (
        &buffers.ifmap,
        &buffers.weight,
        &buffers.psum,
        &buffers.ofmap,
    );
    let (rows, cols, acc_bits) = (spec.pe_array.rows, spec.pe_array.cols, spec.pe.acc_bits);
    let count_type = Type::unsigned(bits_for(psum.depth));
    let fold_type = Type::unsigned(FOLD_BITS);
    let (accept, computing, array) = (&shell.accept, &shell.computing, shell.array);
    let (m_q, k_q, n_q) = (&shell.m_vectors, &shell.k_steps, &shell.n_folds);
    let last_m = m.wire("last_m", &m_q.wrapping_decrement());
    let last_k = m.wire("last_k", &k_q.wrapping_decrement());

    // ---- weight feeder: every word in order, R per tile -----------------------------------
    let w_row = m.reg("w_row", Type::unsigned(bits_for(u64::from(rows - 1))));
    let w_k = m.reg("w_k", fold_type);
    let w_n = m.reg("w_n", fold_type);
    let w_addr = m.reg("w_addr", Type::unsigned(clog2(weight.run_depth())));
    let weight_valid = m.wire("weight_valid", &computing.and(&w_n.q().ne(n_q)));
    m.connect(array, "weight_valid", &weight_valid);
    let weight_read = shell.weight.read_port(m);
    m.connect(array, "weight_data", &weight_read.data.clone());
    let weight_ready = m.connect_output(array, "weight_ready");
    let weight_fire = m.wire("weight_fire", &weight_valid.and(&weight_ready));
    let last_row = Expr::constant(i128::from(rows - 1), w_row.q().ty());
    let row_wraps = w_row.q().eq(&last_row);
    let w_k_wraps = row_wraps.and(&w_k.q().eq(&last_k));
    count(m, &w_row, accept, &weight_fire, &row_wraps);
    count(m, &w_k, accept, &weight_fire.and(&row_wraps), &w_k_wraps);
    count(
        m,
        &w_n,
        accept,
        &weight_fire.and(&w_k_wraps),
        &Expr::bit(false),
    );
    let w_addr_next = count(m, &w_addr, accept, &weight_fire, &Expr::bit(false));
    shell.weight.read_address(m, weight_read, &w_addr_next);

    // ---- activation feeder: word k·M + m, M per tile, the K-folds again for every N-fold -----
    let a_m = m.reg("a_m", count_type);
    let a_k = m.reg("a_k", fold_type);
    let a_n = m.reg("a_n", fold_type);
    let ifmap_address = Type::unsigned(clog2(ifmap.run_depth()));
    let a_base = m.reg("a_base", ifmap_address);
    let act_valid = m.wire("act_valid", &computing.and(&a_n.q().ne(n_q)));
    let a_last = m.wire("a_last", &a_m.q().eq(&last_m));
    let act_read = shell.ifmap.read_port(m);
    m.connect(array, "act_valid", &act_valid);

    m.connect(array, "act_last", &a_last);
    let act_ready = m.connect_output(array, "act_ready");
    let act_fire = m.wire("act_fire", &act_valid.and(&act_ready));
    let a_k_wraps = a_last.and(&a_k.q().eq(&last_k));
    let a_m_next = count(m, &a_m, accept, &act_fire, &a_last);
    count(m, &a_k, accept, &act_fire.and(&a_last), &a_k_wraps);
    count(
        m,
        &a_n,
        accept,
        &act_fire.and(&a_k_wraps),
        &Expr::bit(false),
    );
    let next_base = a_k_wraps.select(
        &Expr::zero(ifmap_address),
        &(&a_base.q() + &m_q.resize(ifmap_address.width)).truncate(ifmap_address.width),
    );
    let a_base_next = accept.select(
        &Expr::zero(ifmap_address),
        &act_fire.and(&a_last).select(&next_base, &a_base.q()),
    );
    m.next(&a_base, &a_base_next);
    let act_address_next =
        (&a_base_next + &a_m_next.resize(ifmap_address.width)).truncate(ifmap_address.width);
    // Window mode: the feeder walks an input tile instead (`window_walker`).
    let (act_address_next, act_data) = match shell.window {
        Some(window) => {
            let walk = window_walker::walk(
                m,
                shell,
                window,
                &act_fire,
                &a_last,
                &a_k_wraps,
                &act_read.data,
            );
            let windowed = window.field("window");
            (
                windowed.select(&walk.address_next, &act_address_next),
                walk.data,
            )
        }
        None => (act_address_next, act_read.data.clone()),
    };
    m.connect(array, "act_data", &act_data);
    shell.ifmap.read_address(m, act_read, &act_address_next);

    // ---- outputs: accumulate K-folds in the psum buffer, pass each final row on ----------------
    let o_m = m.reg("o_m", count_type);
    let o_k = m.reg("o_k", fold_type);
    let o_n = m.reg("o_n", fold_type);
    let out_valid = m.connect_output(array, "out_valid");
    let out_data = m.connect_output(array, "out_data");
    let out_last = m.connect_output(array, "out_last");
    m.sink(&out_last, "the core counts rows itself (o_m)");
    let first_fold = m.wire("first_fold", &o_k.q().eq(&Expr::zero(fold_type)));
    let final_fold = m.wire("final_fold", &o_k.q().eq(&last_k));
    let from_zero = m.wire("from_zero", &first_fold.and(&shell.accumulate.not()));
    let emit = m.wire("emit", &final_fold.and(&shell.finish));
    let post_ready = m.connect_output(shell.post, "in_ready");
    let out_ready = m.wire("out_ready", &emit.not().or(&post_ready));
    m.connect(array, "out_ready", &out_ready);
    let out_fire = m.wire("out_fire", &out_valid.and(&out_ready));
    let psum_address = o_m.q().resize(clog2(psum.depth));
    // A row's partial sum is read the cycle before its output arrives; when the row is the
    // one being written (M = 1), the sum being written is forwarded.
    let psum_read = shell.psum.read_port(m);
    let forward = m.reg_reset("psum_forward", Type::bit(), 0);
    let forwarded = m.reg("psum_forwarded", Type::unsigned(psum.word_bits));
    let stored = m.wire(
        "psum_stored",
        &forward.q().select(&forwarded.q(), &psum_read.data),
    );
    let sums: Vec<Expr> = (0..cols)
        .map(|c| {
            let previous = from_zero.select(
                &Expr::zero(Type::unsigned(acc_bits)),
                &lane(&stored, c, acc_bits),
            );
            (&previous + &lane(&out_data, c, acc_bits)).truncate(acc_bits)
        })
        .collect();
    let sum = m.wire("sum", &pack_lanes(&sums));
    let psum_write = m.wire("psum_write", &out_fire.and(&emit.not()));
    shell.psum.write(m, &psum_write, &psum_address, &sum);
    m.next(&forwarded, &sum);
    let o_last = m.wire("o_last", &o_m.q().eq(&last_m));
    let o_k_wraps = o_last.and(&final_fold);
    let o_m_next = count(m, &o_m, accept, &out_fire, &o_last);
    let o_m_next = o_m_next.resize(clog2(psum.depth));
    m.next(&forward, &psum_write.and(&o_m_next.eq(&psum_address)));
    shell.psum.read_address(m, psum_read, &o_m_next);
    count(m, &o_k, accept, &out_fire.and(&o_last), &o_k_wraps);
    let o_n_next = count(
        m,
        &o_n,
        accept,
        &out_fire.and(&o_k_wraps),
        &Expr::bit(false),
    );

    // ---- post-process: the final fold's rows with their N-fold's parameters ----------------
    // Results go straight into the ofmap buffer, row n·M + m at word n·M + m.
    let (result_fire, result_data) =
        post_process_input(m, shell, &out_valid.and(&emit), &sum, &o_last, &o_n_next);
    let ofmap_address = Type::unsigned(clog2(ofmap.run_depth()));
    let r_addr = m.reg("r_addr", ofmap_address);
    count(m, &r_addr, accept, &result_fire, &Expr::bit(false));
    shell
        .ofmap
        .write(m, &result_fire, &r_addr.q(), &result_data);

    // Results leaving the post-process unit, counted like the array's outputs.
    let r_m = m.reg("r_m", count_type);
    let r_n = m.reg("r_n", fold_type);
    let r_last = r_m.q().eq(&last_m);
    count(m, &r_m, accept, &result_fire, &r_last);
    count(
        m,
        &r_n,
        accept,
        &result_fire.and(&r_last),
        &Expr::bit(false),
    );
    // Computing ends when the last result is in the ofmap buffer (finish) or the last sum is in
    // the psum buffer (no finish).
    let counted = shell.finish.select(&r_n.q(), &o_n.q());
    let computed = m.wire("computed", &computing.and(&counted.eq(n_q)));
    Events {
        act_waiting: computing.and(&act_valid).and(&act_fire.not()),
        act_fire,
        weight_fire,
        psum_read: out_fire.and(&from_zero.not()),
        psum_write,
        result_fire,
        gated_macs: Expr::bit(false),
        computed,
    }
}
