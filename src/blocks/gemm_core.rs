//! The buffered GEMM core of a weight-stationary array: on-chip ifmap, weight, psum, parameter
//! and ofmap buffers, the DMA that fills and drains them (`blocks::dma`), the controller that
//! streams a tiled GEMM out of them through the PE array, the K-fold accumulation in the psum
//! buffer and the post-process unit that requantizes each finished row. The CSR block
//! (`blocks::csr`, map in `blocks::regmap`) drives its descriptor.
//!
//! A GEMM `C[M×N] = A[M×K]·B[K×N]` runs as N-folds of C columns, each as K-folds of R rows
//! (tile t = n·KF + k), from this buffer layout, which is also the layout of each region in DRAM
//! (one word per whole number of bus beats, `blocks::dma`):
//!
//! - ifmap word `k·M + m` = A[m][k·R .. k·R+R−1] (lane r = row r, zero-padded);
//! - weight word `t·R + i` = B[k·R + R−1−i][n·C .. n·C+C−1] (the array's weight-beat order);
//! - param word `n` = the per-channel bias, multiplier and shift of columns n·C .. n·C+C−1
//!   (see [`param_word_bits`]);
//! - ofmap word `n·M + m` = the post-processed C[m][n·C .. n·C+C−1] as signed 32-bit lanes.
//!
//! A run: `start` with the descriptor (`m_vectors` ≤ the psum depth, `k_folds`, `n_folds`, the
//! layer's `zero_point`, `clamp_min`, `clamp_max`, `bypass`, `accumulate`/`finish`, the four
//! regions' DRAM addresses and the load flags, all latched at the start) begins when idle; the
//! core loads the operands whose flags are set, computes, and when it `finish`es stores the
//! ofmap words; `busy` is high until then and `done` pulses once. A descriptor with a zero fold or
//! row count finishes at once.
//!
//! A reduction longer than the buffers hold runs as several GEMMs over the same rows and one
//! N-fold (psum word m holds row m): the first with `finish` = 0, the middle ones with
//! `accumulate` = 1 and `finish` = 0, the last with `accumulate` = 1 and `finish` = 1.
//!
//! Timing: every buffer read is registered (`blocks::storage`: register files or SRAM macros
//! behave alike), addressed a cycle ahead with the next value of its address counter, so both
//! feeders offer a beat every cycle and the array runs at full rate; the psum buffer is read
//! ahead, added and written back in the cycle an output leaves the array (a row read while it is
//! written, M = 1, gets the written sum forwarded), and only a fold's final row waits for the
//! post-process unit. The compute phase takes the array's own count (`golden::cycles`), the
//! post-process latency when it finishes, and one cycle to notice the end; `golden::dma` adds the
//! load and store phases.

use super::storage::{self, Storage};
use super::{dma, pe_array, post_process, regmap};
use crate::config::{AcceleratorSpec, BufferSpec};
use crate::hdl::{
    add_module, bits_for, clog2, lane, pack_lanes, Design, Expr, Fsm, HdlError, ModuleBuilder,
    ModuleId, Reg, Type,
};

/// Width of the `k_folds` and `n_folds` descriptor fields.
pub const FOLD_BITS: u32 = 16;

/// Bits of a param word for `cols` lanes: the biases (32-bit lanes), then the multipliers (32-bit
/// lanes), then the shifts (6-bit lanes), lane 0 lowest in each field.
pub fn param_word_bits(cols: u32) -> u32 {
    cols * (2 * post_process::WORD_BITS + post_process::SHIFT_BITS)
}

/// Words of the param buffer: one per N-fold, and a GEMM has at most one N-fold per R weight
/// words.
pub fn param_depth(spec: &AcceleratorSpec, weight: &BufferSpec) -> u64 {
    (weight.depth / u64::from(spec.pe_array.rows)).max(2)
}

/// One run of the core in a GEMM cut to fit its buffers: the rows of A, the columns of B and the
/// reduction slice it covers, and where it sits in a reduction split over several runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    pub rows: std::ops::Range<usize>,
    pub columns: std::ops::Range<usize>,
    pub depth: std::ops::Range<usize>,
    /// Add to the psum buffer (every K-chunk but the first).
    pub accumulate: bool,
    /// Post-process and send the results (the last K-chunk).
    pub finish: bool,
    /// Load A's words; false when the previous run left the same rows and depth in the ifmap
    /// buffer.
    pub load_ifmap: bool,
    /// Load B's words and the parameters; false when the previous run left the same columns
    /// and depth in the weight and param buffers.
    pub load_weights: bool,
}

/// How a host cuts an M×K×N GEMM into runs of this core: the largest chunks the buffers hold,
/// K-folds per run first (a reduction longer than that runs as several accumulating runs over
/// one N-fold), then rows, then N-folds; rows outermost, K-chunks innermost. A run reloads an
/// operand only when it differs from what the previous run left in the buffers. `None` when one
/// K-fold needs more weight words than the buffer has.
pub fn plan_runs(spec: &AcceleratorSpec, m: usize, k: usize, n: usize) -> Option<Vec<RunPlan>> {
    let buffers = spec.buffers.as_ref()?;
    let (fold, cols) = (spec.pe_array.rows as usize, spec.pe_array.cols as usize);
    let k_folds = k.div_ceil(fold);
    let folds_per_run = k_folds
        .min(buffers.ifmap.depth as usize)
        .min(buffers.weight.depth as usize / fold);
    if folds_per_run == 0 {
        return None;
    }
    let k_chunks = k_folds.div_ceil(folds_per_run);
    let m_chunk = (buffers.psum.depth as usize)
        .min(buffers.ifmap.depth as usize / folds_per_run)
        .min(buffers.ofmap.depth as usize);
    // The results of every N-fold of a run wait in the ofmap buffer for the store.
    let ofmap_folds = buffers.ofmap.depth as usize / m_chunk;
    let n_chunk = if k_chunks == 1 {
        let param_depth = param_depth(spec, &buffers.weight) as usize;
        (buffers.weight.depth as usize / (k_folds * fold))
            .min(param_depth)
            .min(ofmap_folds)
            * cols
    } else {
        cols
    };
    let mut plans: Vec<RunPlan> = Vec::new();
    for m0 in (0..m).step_by(m_chunk) {
        for n0 in (0..n).step_by(n_chunk) {
            for chunk in 0..k_chunks {
                let k0 = chunk * folds_per_run * fold;
                let rows = m0..(m0 + m_chunk).min(m);
                let columns = n0..(n0 + n_chunk).min(n);
                let depth = k0..(k0 + folds_per_run * fold).min(k);
                let previous = plans.last();
                plans.push(RunPlan {
                    load_ifmap: previous.is_none_or(|p| (&p.rows, &p.depth) != (&rows, &depth)),
                    load_weights: previous
                        .is_none_or(|p| (&p.columns, &p.depth) != (&columns, &depth)),
                    rows,
                    columns,
                    depth,
                    accumulate: chunk > 0,
                    finish: chunk + 1 == k_chunks,
                });
            }
        }
    }
    Some(plans)
}

/// `gemm_core_ws_r8c8_ai8_wi8_acc32_i4096_w2048_p512`: the array and the buffer depths.
pub fn module_name(spec: &AcceleratorSpec, buffers: &[&BufferSpec; 3]) -> String {
    format!(
        "gemm_core_{}_r{}c{}_a{}_w{}_acc{}_i{}_w{}_p{}",
        spec.pe_array.dataflow.tag(),
        spec.pe_array.rows,
        spec.pe_array.cols,
        spec.pe.act.tag(),
        spec.pe.weight.tag(),
        spec.pe.acc_bits,
        buffers[0].depth,
        buffers[1].depth,
        buffers[2].depth
    )
}

/// Builds the core (and the array below it) for a spec with `buffers`.
pub fn build(spec: &AcceleratorSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let buffers = spec
        .buffers
        .as_ref()
        .ok_or_else(|| HdlError::Unsupported("the GEMM core needs a buffers: section".into()))?;
    let array_id = pe_array::build(&spec.pe_array, &spec.pe, design)?;
    let post_process_id = post_process::build(spec.pe_array.cols, spec.pe.acc_bits, design)?;
    let param_spec = BufferSpec {
        word_bits: param_word_bits(spec.pe_array.cols),
        depth: param_depth(spec, &buffers.weight),
        ..buffers.psum
    };
    let loads = [
        dma::Region {
            name: "ifmap",
            buffer: &buffers.ifmap,
        },
        dma::Region {
            name: "weight",
            buffer: &buffers.weight,
        },
        dma::Region {
            name: "param",
            buffer: &param_spec,
        },
    ];
    let store = dma::Region {
        name: "ofmap",
        buffer: &buffers.ofmap,
    };
    let dma_id = dma::build(&buffers.dma, &loads, &store, design)?;
    let mut plans = std::collections::BTreeMap::new();
    for (name, region) in [
        ("ifmap", &buffers.ifmap),
        ("weight", &buffers.weight),
        ("psum", &buffers.psum),
        ("ofmap", &buffers.ofmap),
        ("param", &param_spec),
    ] {
        let plan = storage::plan(buffers.memory, region.word_bits, region.depth, design)?;
        plans.insert(name, plan);
    }
    let (rows, cols) = (spec.pe_array.rows, spec.pe_array.cols);
    let params_depth = param_depth(spec, &buffers.weight);
    let acc_bits = spec.pe.acc_bits;
    let (ifmap, weight, psum) = (&buffers.ifmap, &buffers.weight, &buffers.psum);
    let name = module_name(spec, &[ifmap, weight, psum]);
    add_module(design, name, |m, design| {
        m.doc(format!(
            "Buffered GEMM core: {}-word ifmap, {}-word weight and {}-word psum buffers feeding",
            ifmap.depth, weight.depth, psum.depth
        ))
        .doc(format!(
            "a {rows}x{cols} weight-stationary array; K-folds accumulate in the psum buffer, and"
        ))
        .doc("each finished row is requantized with its channels' parameters.");
        m.parameter("ROWS", rows.into())
            .parameter("COLS", cols.into())
            .parameter("IFMAP_DEPTH", ifmap.depth as i64)
            .parameter("WEIGHT_DEPTH", weight.depth as i64)
            .parameter("PSUM_DEPTH", psum.depth as i64);

        // ---- buffers: the DMA writes ifmap, weight and param words; results wait in ofmap --------
        // Every read is registered: the address presented in a cycle is the next value of the
        // address register, so the word is there when the register holds it (`storage`).
        let ofmap = &buffers.ofmap;
        let [ifmap_mem, weight_mem, psum_mem, ofmap_mem, param_mem] =
            ["ifmap", "weight", "psum", "ofmap", "param"].map(|name| {
                let plan = &plans[name];
                Storage::declare(m, design, name, plan)
            });

        // ---- descriptor --------------------------------------------------------------------------
        let count_type = Type::unsigned(bits_for(psum.depth));
        let fold_type = Type::unsigned(FOLD_BITS);
        let start = m.input_doc(
            "start",
            Type::bit(),
            "begin the GEMM described below (when idle)",
        );
        let m_vectors = m.input_doc(
            "m_vectors",
            count_type,
            "M: rows of A, at most the psum depth",
        );
        let k_folds = m.input_doc("k_folds", fold_type, "ceil(K / ROWS)");
        let n_folds = m.input_doc("n_folds", fold_type, "ceil(N / COLS)");
        let word = Type::signed(post_process::WORD_BITS);
        let settings: Vec<(Expr, Reg)> = [
            ("zero_point", word, "output zero point"),
            ("clamp_min", word, "lowest output value"),
            ("clamp_max", word, "highest output value"),
            (
                "bypass",
                Type::bit(),
                "1: raw int32 acc + bias, no requantization",
            ),
        ]
        .into_iter()
        .map(|(name, ty, doc)| (m.input_doc(name, ty, doc), m.reg(name, ty)))
        .collect();
        let address = Type::unsigned(dma::ADDRESS_BITS);
        let mut region_addresses = Vec::new();
        for region in ["ifmap", "weight", "param", "ofmap"] {
            let input = m.input_doc(
                &format!("{region}_addr"),
                address,
                "DRAM byte address of the region (aligned to the longest burst)",
            );
            region_addresses.push(input);
        }
        let load_ifmap = m.input_doc("load_ifmap", Type::bit(), "1: load A from DRAM first");
        let load_weights = m.input_doc(
            "load_weights",
            Type::bit(),
            "1: load B and the parameters from DRAM first",
        );

        // A run: the descriptor is latched, then load (DMA), compute (array), store (DMA).
        let mut phase = Fsm::new(m, "phase", &["idle", "load", "compute", "store"]);
        let busy = m.wire("running", &phase.is("idle").not());
        let accept = m.wire("accept", &start.and(&busy.not()));
        let computing = m.wire("computing", &phase.is("compute"));
        let phase_is_load = m.wire("loading", &phase.is("load"));
        let phase_is_store = m.wire("storing", &phase.is("store"));
        let m_q = m.reg("m_vectors", count_type);
        let k_q = m.reg("k_folds", fold_type);
        let n_q = m.reg("n_folds", fold_type);
        m.next_when(&m_q, &accept, &m_vectors);
        m.next_when(&k_q, &accept, &k_folds);
        m.next_when(&n_q, &accept, &n_folds);
        // A reduction longer than the buffers runs as several GEMMs over the same rows: all but
        // the first add to the psum buffer, all but the last leave their sums there.
        let accumulate = m.input_doc(
            "accumulate",
            Type::bit(),
            "1: the first K-fold adds to the psum buffer instead of starting from zero",
        );
        let finish = m.input_doc(
            "finish",
            Type::bit(),
            "1: the final K-fold is post-processed and sent out; 0: it stays in the psum buffer",
        );
        let accumulate_q = m.pipe_when("accumulate", &accept, &accumulate);
        let finish_q = m.pipe_when("finish", &accept, &finish);
        for (input, reg) in &settings {
            m.next_when(reg, &accept, input);
        }
        let last_m = m.wire("last_m", &m_q.q().wrapping_decrement());
        let last_k = m.wire("last_k", &k_q.q().wrapping_decrement());

        // ---- the array -------------------------------------------------------------------------
        let array = m.instance("pe_array", design, array_id);

        // ---- weight feeder: every word in order, R per tile -----------------------------------
        let w_row = m.reg("w_row", Type::unsigned(bits_for(u64::from(rows - 1))));
        let w_k = m.reg("w_k", fold_type);
        let w_n = m.reg("w_n", fold_type);
        let w_addr = m.reg("w_addr", Type::unsigned(clog2(weight.depth)));
        let weight_valid = m.wire("weight_valid", &computing.and(&w_n.q().ne(&n_q.q())));
        m.connect(array, "weight_valid", &weight_valid);
        let weight_read = weight_mem.read_port(m);
        m.connect(array, "weight_data", &weight_read.data.clone());
        let weight_ready = m.connect_output(array, "weight_ready");
        let weight_fire = m.wire("weight_fire", &weight_valid.and(&weight_ready));
        let last_row = Expr::constant(i128::from(rows - 1), w_row.q().ty());
        let row_wraps = w_row.q().eq(&last_row);
        let w_k_wraps = row_wraps.and(&w_k.q().eq(&last_k));
        count(m, &w_row, &accept, &weight_fire, &row_wraps);
        count(m, &w_k, &accept, &weight_fire.and(&row_wraps), &w_k_wraps);
        count(
            m,
            &w_n,
            &accept,
            &weight_fire.and(&w_k_wraps),
            &Expr::bit(false),
        );
        let w_addr_next = count(m, &w_addr, &accept, &weight_fire, &Expr::bit(false));
        weight_mem.read_address(m, weight_read, &w_addr_next);

        // ---- activation feeder: word k·M + m, M per tile, the K-folds again for every N-fold -----
        let a_m = m.reg("a_m", count_type);
        let a_k = m.reg("a_k", fold_type);
        let a_n = m.reg("a_n", fold_type);
        let ifmap_address = Type::unsigned(clog2(ifmap.depth));
        let a_base = m.reg("a_base", ifmap_address);
        let act_valid = m.wire("act_valid", &computing.and(&a_n.q().ne(&n_q.q())));
        let a_last = m.wire("a_last", &a_m.q().eq(&last_m));
        let act_read = ifmap_mem.read_port(m);
        m.connect(array, "act_valid", &act_valid);
        m.connect(array, "act_data", &act_read.data.clone());
        m.connect(array, "act_last", &a_last);
        let act_ready = m.connect_output(array, "act_ready");
        let act_fire = m.wire("act_fire", &act_valid.and(&act_ready));
        let a_k_wraps = a_last.and(&a_k.q().eq(&last_k));
        let a_m_next = count(m, &a_m, &accept, &act_fire, &a_last);
        count(m, &a_k, &accept, &act_fire.and(&a_last), &a_k_wraps);
        count(
            m,
            &a_n,
            &accept,
            &act_fire.and(&a_k_wraps),
            &Expr::bit(false),
        );
        let next_base = a_k_wraps.select(
            &Expr::zero(ifmap_address),
            &(&a_base.q() + &m_q.q().resize(ifmap_address.width)).truncate(ifmap_address.width),
        );
        let a_base_next = accept.select(
            &Expr::zero(ifmap_address),
            &act_fire.and(&a_last).select(&next_base, &a_base.q()),
        );
        m.next(&a_base, &a_base_next);
        let act_address_next =
            (&a_base_next + &a_m_next.resize(ifmap_address.width)).truncate(ifmap_address.width);
        ifmap_mem.read_address(m, act_read, &act_address_next);

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
        let from_zero = m.wire("from_zero", &first_fold.and(&accumulate_q.not()));
        let emit = m.wire("emit", &final_fold.and(&finish_q));
        let post = m.instance("post_process", design, post_process_id);
        let post_ready = m.connect_output(post, "in_ready");
        let out_ready = m.wire("out_ready", &emit.not().or(&post_ready));
        m.connect(array, "out_ready", &out_ready);
        let out_fire = m.wire("out_fire", &out_valid.and(&out_ready));
        let psum_address = o_m.q().resize(clog2(psum.depth));
        // A row's partial sum is read the cycle before its output arrives; when the row is the
        // one being written (M = 1), the sum being written is forwarded.
        let psum_read = psum_mem.read_port(m);
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
        psum_mem.write(m, &psum_write, &psum_address, &sum);
        m.next(&forwarded, &sum);
        let o_last = m.wire("o_last", &o_m.q().eq(&last_m));

        // ---- post-process: the final fold's rows with their N-fold's parameters ----------------
        let param_read = param_mem.read_port(m);
        let params = param_read.data.clone();
        let field = |index: u32, bits: u32| {
            let low = index * cols * post_process::WORD_BITS;
            params.slice(low + cols * bits - 1, low)
        };
        m.connect(post, "in_valid", &out_valid.and(&emit));
        m.connect(post, "in_data", &sum);
        m.connect(post, "in_bias", &field(0, post_process::WORD_BITS));
        m.connect(post, "in_multiplier", &field(1, post_process::WORD_BITS));
        m.connect(post, "in_shift", &field(2, post_process::SHIFT_BITS));
        m.connect(post, "in_last", &o_last);
        for ((_, reg), port) in
            settings
                .iter()
                .zip(["zero_point", "clamp_min", "clamp_max", "bypass"])
        {
            m.connect(post, port, &reg.q());
        }
        // Results go straight into the ofmap buffer, row n·M + m at word n·M + m.
        m.connect(post, "out_ready", &Expr::bit(true));
        let result_fire = m.connect_output(post, "out_valid");
        let result_data = m.connect_output(post, "out_data");
        let result_last = m.connect_output(post, "out_last");
        m.sink(&result_last, "the ofmap address counts rows itself");
        let ofmap_address = Type::unsigned(clog2(ofmap.depth));
        let r_addr = m.reg("r_addr", ofmap_address);
        count(m, &r_addr, &accept, &result_fire, &Expr::bit(false));
        ofmap_mem.write(m, &result_fire, &r_addr.q(), &result_data);
        let o_k_wraps = o_last.and(&final_fold);
        let o_m_next = count(m, &o_m, &accept, &out_fire, &o_last);
        let o_m_next = o_m_next.resize(clog2(psum.depth));
        m.next(&forward, &psum_write.and(&o_m_next.eq(&psum_address)));
        psum_mem.read_address(m, psum_read, &o_m_next);
        count(m, &o_k, &accept, &out_fire.and(&o_last), &o_k_wraps);
        let o_n_next = count(
            m,
            &o_n,
            &accept,
            &out_fire.and(&o_k_wraps),
            &Expr::bit(false),
        );
        param_mem.read_address(m, param_read, &o_n_next);

        // ---- run state -------------------------------------------------------------------------
        let degenerate = m_vectors
            .eq(&Expr::zero(count_type))
            .or(&k_folds.eq(&Expr::zero(fold_type)))
            .or(&n_folds.eq(&Expr::zero(fold_type)));
        let begin = m.wire("run_start", &accept.and(&degenerate.not()));
        // Results leaving the post-process unit, counted like the array's outputs.
        let r_m = m.reg("r_m", count_type);
        let r_n = m.reg("r_n", fold_type);
        let r_last = r_m.q().eq(&last_m);
        count(m, &r_m, &accept, &result_fire, &r_last);
        count(
            m,
            &r_n,
            &accept,
            &result_fire.and(&r_last),
            &Expr::bit(false),
        );
        // Computing ends when the last result is in the ofmap buffer (finish) or the last sum
        // is in the psum buffer (no finish).
        let counted = finish_q.select(&r_n.q(), &o_n.q());
        let computed = m.wire("computed", &computing.and(&counted.eq(&n_q.q())));

        // ---- DMA: load the operands before computing, store the results after ----------------
        let engine = m.instance("dma", design, dma_id);
        m.connect(engine, "load_start", &begin);
        let words_type = Type::unsigned(bits_for(ifmap.depth.max(weight.depth).max(params_depth)));
        let words = |count: Expr, enable: &Expr| {
            enable.select(&count.resize(words_type.width), &Expr::zero(words_type))
        };
        let a_words = k_folds.widening_mul(&m_vectors);
        let b_words = n_folds.widening_mul(&k_folds).widening_mul(&Expr::constant(
            i128::from(rows),
            Type::unsigned(bits_for(u64::from(rows))),
        ));
        for ((region, amount, enable), base) in [
            ("ifmap", a_words, &load_ifmap),
            ("weight", b_words, &load_weights),
            ("param", n_folds.clone(), &load_weights),
        ]
        .into_iter()
        .zip(&region_addresses)
        {
            m.connect(engine, &format!("{region}_base"), base);
            m.connect(engine, &format!("{region}_words"), &words(amount, enable));
        }
        let ofmap_base = m.pipe_when("ofmap_addr", &accept, &region_addresses[3]);
        let store_words = Type::unsigned(bits_for(ofmap.depth));
        m.connect(engine, "ofmap_base", &ofmap_base);
        m.connect(
            engine,
            "ofmap_words",
            &n_q.q().widening_mul(&m_q.q()).resize(store_words.width),
        );
        let store_start = m.wire("store_start", &computed.and(&finish_q));
        m.connect(engine, "store_start", &store_start);
        let ofmap_next = m.connect_output(engine, "ofmap_rd_addr_next");
        let mut buffer_writes = Vec::new();
        let ofmap_read = ofmap_mem.read_port(m);
        m.connect(engine, "ofmap_rd_data", &ofmap_read.data.clone());
        ofmap_mem.read_address(m, ofmap_read, &ofmap_next);
        for (region, memory) in [
            ("ifmap", &ifmap_mem),
            ("weight", &weight_mem),
            ("param", &param_mem),
        ] {
            let valid = m.connect_output(engine, &format!("{region}_wr_valid"));
            let address = m.connect_output(engine, &format!("{region}_wr_addr"));
            let data = m.connect_output(engine, &format!("{region}_wr_data"));
            memory.write(m, &valid, &address, &data);
            buffer_writes.push(valid);
        }
        for port in crate::blocks::dma::AXI_PORTS {
            let name = format!("m_axi_{}", port.name);
            if port.from_master {
                let value = m.connect_output(engine, &name);
                m.output(&name, &value);
            } else {
                let value = m.input(&name, Type::unsigned(port.bits(&buffers.dma)));
                m.connect(engine, &name, &value);
            }
        }
        let loaded = m.connect_output(engine, "load_done");
        let stored = m.connect_output(engine, "store_done");
        let read_beat = m.connect_output(engine, "read_beat");
        let write_beat = m.connect_output(engine, "write_beat");
        phase
            .transition("idle", &begin, "load")
            .transition("load", &loaded, "compute")
            .transition("compute", &store_start, "store")
            .transition("compute", &computed, "idle")
            .transition("store", &stored, "idle");
        phase.finish(m);
        let ends = computed
            .and(&finish_q.not())
            .or(&stored)
            .or(&accept.and(&degenerate));
        let done = m.reg_reset("done", Type::bit(), 0);
        m.next(&done, &ends);
        m.output_doc("busy", &busy, "a GEMM is running");
        m.output_doc(
            "done",
            &done.q(),
            "one-cycle pulse after the last result is stored",
        );

        // ---- performance counters: cumulative, cleared by reset or clear_counters --------------
        let clear = m.input_doc("clear_counters", Type::bit(), "zero every perf_* counter");
        let act_waiting = computing.and(&act_valid).and(&act_fire.not());
        // Each counter's event, in the register map's order (`regmap::COUNTERS`).
        let psum_read = out_fire.and(&from_zero.not());
        let psum_write = out_fire.and(&emit.not());
        let buffer_writes = buffer_writes
            .iter()
            .fold(Expr::zero(Type::unsigned(2)), |sum, valid| {
                (&sum + &valid.extend(2)).truncate(2)
            });
        let beat_bytes = buffers.dma.beat_bytes();
        let bytes = |beat: &Expr| {
            beat.select(
                &Expr::constant(i128::from(beat_bytes), Type::unsigned(32)),
                &Expr::zero(Type::unsigned(32)),
            )
        };
        for (port, doc) in regmap::COUNTERS {
            let amount = match *port {
                "perf_busy_cycles" => busy.clone(),
                "perf_load_cycles" => phase_is_load.clone(),
                "perf_compute_cycles" => computing.clone(),
                "perf_store_cycles" => phase_is_store.clone(),
                "perf_dram_read_bytes" => bytes(&read_beat),
                "perf_dram_write_bytes" => bytes(&write_beat),
                "perf_act_beats" => act_fire.clone(),
                "perf_weight_beats" => weight_fire.clone(),
                "perf_weight_wait_cycles" => act_waiting.clone(),
                "perf_psum_reads" => psum_read.clone(),
                "perf_psum_writes" => psum_write.clone(),
                "perf_results" => result_fire.clone(),
                "perf_buffer_writes" => buffer_writes.clone(),
                other => {
                    unreachable!("regmap::COUNTERS names {other}, which the core does not count")
                }
            };
            let value = counter32(m, port, &clear, &amount.extend(32));
            m.output_doc(port, &value, doc);
        }
    })
}

/// A 32-bit counter register `name` adding `amount` every cycle, zeroed by `clear`.
fn counter32(m: &mut ModuleBuilder, name: &str, clear: &Expr, amount: &Expr) -> Expr {
    let counter = m.reg_reset(name, Type::unsigned(32), 0);
    let sum = (&counter.q() + amount).truncate(32);
    m.next(
        &counter,
        &clear.select(&Expr::zero(Type::unsigned(32)), &sum),
    );
    counter.q()
}

/// A counter register: cleared by `clear`, else on `step` wraps to 0 when `wraps` or counts up.
/// Returns its next value (what a registered read of the word it addresses must present).
fn count(m: &mut ModuleBuilder, counter: &Reg, clear: &Expr, step: &Expr, wraps: &Expr) -> Expr {
    let ty = counter.q().ty();
    let stepped = wraps.select(&Expr::zero(ty), &counter.q().wrapping_increment());
    let next = clear.select(&Expr::zero(ty), &step.select(&stepped, &counter.q()));
    m.next(counter, &next);
    next
}
