//! The buffered GEMM core: on-chip ifmap, weight, psum, parameter and ofmap buffers, the DMA that
//! fills and drains them (`blocks::dma`), a controller that streams a GEMM out of them through
//! the PE array, accumulation in the psum buffer of reductions longer than one run, and the
//! post-process unit that requantizes each finished row. The CSR block (`blocks::csr`, map in
//! `blocks::regmap`) drives its descriptor. This file is the shell every dataflow shares
//! (buffers, descriptor, DMA, run phases, counters); [`weight_stationary`] and
//! [`output_stationary`] stream the operands and collect the results; [`plan`] says how a host
//! cuts a GEMM into runs. A weight-stationary core also has window mode ([`window`], RTL in
//! [`window_walker`]): for a convolution its ifmap holds an input tile instead of A, and the
//! activation feeder reads each im2col row out of it (`buffers.im2col`).
//!
//! A GEMM `C[M×N] = A[M×K]·B[K×N]` runs as N-folds of C columns. The buffer layout is also the
//! layout of each region in DRAM (one word per whole number of bus beats, `blocks::dma`):
//!
//! - weight-stationary: K-folds of R rows per N-fold (tile t = n·KF + k); ifmap word `k·M + m` =
//!   A[m][k·R .. k·R+R−1] (lane r = row r, zero-padded); weight word `t·R + i` =
//!   B[k·R + R−1−i][n·C .. n·C+C−1] (the array's weight-beat order);
//! - output-stationary: row blocks of R rows per N-fold, each streaming its K pairs; ifmap word
//!   `b·K + k` = A[b·R .. b·R+R−1][k] (lane r = row b·R + r, zero-padded); weight word `n·K + k`
//!   = B[k][n·C .. n·C+C−1]; a zero-skipping core's ifmap holds instead each block's kept
//!   columns one after another (lanes padded with the zero point), each word with the block's
//!   last-word flag above the lanes and the next word's column above that
//!   (`config::ZeroSkipSpec`), and a weight-skipping core's weight buffer each N-fold's kept
//!   rows of B one after another (lanes past N zero), each word with the N-fold's last-word
//!   flag and the next word's step;
//! - both: param word `n` = the per-channel bias, multiplier and shift of columns
//!   n·C .. n·C+C−1 (see [`param_word_bits`]); ofmap word `n·M + m` = the post-processed
//!   C[m][n·C .. n·C+C−1] as signed 32-bit lanes in the buffer, and in DRAM the same
//!   (ceil(32·C / bus) beats per word), or with `pack_outputs` a byte per lane (int8 and uint8
//!   results, ceil(8·C / bus) beats per word); psum word `m` = row m's partial sums of the run's
//!   N-fold.
//!
//! A run: `start` with the descriptor (`m_vectors` ≤ the psum depth, `k_folds` — reduction steps:
//! ceil(K/R) on WS, K on OS — `n_folds`, the layer's `zero_point`, `clamp_min`, `clamp_max`,
//! `bypass`, `accumulate`/`finish`, the four regions' DRAM addresses and the load flags, and on a
//! zero-skipping core `act_zero_point` and the compacted `ifmap_words` (a weight-skipping one:
//! `weight_words`), all latched at the
//! start) begins when idle; the core loads the operands whose flags are set,
//! computes, and when it `finish`es stores the ofmap words; `busy` is high until then and `done`
//! pulses once. A descriptor with a zero fold or row count finishes at once.
//!
//! A reduction longer than the buffers hold runs as several GEMMs over the same rows and one
//! N-fold (psum word m holds row m): the first with `finish` = 0, the middle ones with
//! `accumulate` = 1 and `finish` = 0, the last with `accumulate` = 1 and `finish` = 1.
//!
//! Double buffering (`double_buffered: true` on ifmap, weight and ofmap together): a run uses
//! half of each of those regions (and of the param buffer, which follows the weights), named by
//! the descriptor's `ifmap_half`, `weight_half` and `ofmap_half`. There is no store phase: the
//! compute phase becomes an overlap phase in which, besides the array computing, the DMA
//! prefetches the next run's operands (`prefetch_*_addr`, `prefetch_*_words`) into the halves
//! this run does not read and drains the previous run's results (`drain_addr`, `drain_words`)
//! from the ofmap half this run does not write; the run ends when all three are done. The host
//! sends the program `plan::pipeline` builds: only its first run loads in its own load phase,
//! and a last descriptor with nothing to compute (M = 0) drains the last run. A descriptor's
//! `pack_outputs` applies to what it stores, so on a double-buffered core it describes the
//! drained (previous) run's results. Everything the overlap does is inside one descriptor, so
//! the host's pace never changes the cycle count.
//!
//! Timing: every buffer read is registered (`blocks::storage`: register files or SRAM macros
//! behave alike), addressed a cycle ahead with the next value of its address counter, so the
//! feeders offer a beat every cycle and the array runs at full rate; the psum buffer is read
//! ahead and added in the cycle an output leaves the array, and results go through the
//! post-process unit straight into the ofmap buffer. The compute phase takes the array's own
//! count (`golden::cycles`; a zero-skipping core's from its data, `golden::zero_skip`), the
//! post-process latency when it finishes, and one cycle to notice the end; `golden::dma` adds
//! the load and store phases.
//!
//! Bit-serial PEs: the descriptor's `act_precision` (latched at the accept) sets the bits the
//! array streams per activation, and the array's bit phases are held at their first outside the
//! compute phase (`phase_restart`), so the compute phase is the bit-serial array's count
//! (`golden::cycles::bit_serial_cycles`); the feeders' beats wait for the array's steps.

pub mod output_stationary;
pub mod plan;
pub mod weight_stationary;
pub mod window;
pub mod window_walker;

pub use plan::{
    pipeline, plan_runs, plan_runs_of_rows, plan_window_runs, plan_window_runs_of, Layout,
    RunFlags, RunPlan, Stage, Words,
};
pub use window::{has_window_mode, ConvLayer, Window};

use super::storage::{self, Storage};
use super::{dma, pe_array, post_process, regmap};
use crate::config::{AcceleratorSpec, BufferSpec, Dataflow, PeSpec};
use crate::hdl::{
    add_module, bits_for, Design, Expr, Fsm, HdlError, InstanceHandle, ModuleBuilder, ModuleId,
    Reg, Type,
};

/// Width of the `k_folds` and `n_folds` descriptor fields.
pub const FOLD_BITS: u32 = 16;

/// Bits per result lane in DRAM when a descriptor sets `pack_outputs` (int8 and uint8 outputs).
pub const PACKED_BITS: u32 = 8;

/// Bits of a param word for `cols` lanes: the biases (32-bit lanes), then the multipliers (32-bit
/// lanes), then the shifts (6-bit lanes), lane 0 lowest in each field.
pub fn param_word_bits(cols: u32) -> u32 {
    cols * (2 * post_process::WORD_BITS + post_process::SHIFT_BITS)
}

/// Param words one run may use: one per N-fold, and a run has at most one N-fold per R weight
/// words (the param buffer is twice this when the weights are double-buffered).
pub fn param_depth(spec: &AcceleratorSpec, weight: &BufferSpec) -> u64 {
    (weight.run_depth() / u64::from(spec.pe_array.rows)).max(2)
}

/// `gemm_core_ws_r8c8_ai8_wi8_acc32_i4096_w2048_p512`: the array (`ws_bs` when bit-serial) and
/// the buffer depths, then what else changes the RTL when it is not the default: `_db`
/// (double-buffered), `_win` (window mode), `_zs` (activation zero-skipping), `_zw` (weight
/// zero-skipping), `_zg` (zero-gating), `_sram` (sky130 macros), `_banks2x1x1x1` (banks of
/// ifmap, weight, psum, ofmap).
pub fn module_name(spec: &AcceleratorSpec, buffers: &[&BufferSpec; 3]) -> String {
    let mut name = format!(
        "gemm_core_{}{}_r{}c{}_a{}_w{}_acc{}_i{}_w{}_p{}",
        spec.pe_array.dataflow.tag(),
        spec.pe.kind.tag(),
        spec.pe_array.rows,
        spec.pe_array.cols,
        spec.pe.act.tag(),
        spec.pe.weight.tag(),
        spec.pe.acc_bits,
        buffers[0].depth,
        buffers[1].depth,
        buffers[2].depth
    );
    if let Some(config) = &spec.buffers {
        if config.ifmap.double_buffered {
            name.push_str("_db");
        }
        if window::has_window_mode(spec) {
            name.push_str("_win");
        }
        if spec.zero_skip.activations {
            name.push_str("_zs");
        }
        if spec.zero_skip.weights {
            name.push_str("_zw");
        }
        if spec.zero_skip.gating {
            name.push_str("_zg");
        }
        if config.memory == crate::config::MemoryKind::Sky130Sram {
            name.push_str("_sram");
        }
        let banks = config.regions().map(|(_, region)| region.banks);
        if banks.iter().any(|&b| b > 1) {
            let banks: Vec<String> = banks.iter().map(u32::to_string).collect();
            name.push_str(&format!("_banks{}", banks.join("x")));
        }
    }
    name
}

/// What the shell hands a dataflow's compute section: the array and post-process instances, the
/// buffers and the latched descriptor.
pub struct Shell<'a> {
    pub spec: &'a AcceleratorSpec,
    pub array: InstanceHandle,
    pub post: InstanceHandle,
    pub ifmap: &'a Storage,
    pub weight: &'a Storage,
    pub psum: &'a Storage,
    pub ofmap: &'a Storage,
    pub param: &'a Storage,
    /// High in the cycle a descriptor is taken: every counter restarts.
    pub accept: Expr,
    /// The compute phase.
    pub computing: Expr,
    /// The latched M, reduction steps and N-folds.
    pub m_vectors: Expr,
    pub k_steps: Expr,
    pub n_folds: Expr,
    pub accumulate: Expr,
    pub finish: Expr,
    /// The window-mode fields (weight-stationary cores only).
    pub window: Option<&'a window_walker::Descriptor>,
    /// A zero-skipping core's zero-skip unit (`blocks::zero_skip`), its zero point connected.
    pub zero_skip: Option<InstanceHandle>,
    /// A weight-skipping core's zero-skip unit (`blocks::zero_skip::build_weights`).
    pub weight_skip: Option<InstanceHandle>,
    /// A centring core's latched activation zero point (`ZeroSkipSpec::centres`).
    pub act_zero_point: Option<Expr>,
}

/// What a compute section reports back: the events the counters count and the end of the phase.
pub struct Events {
    pub act_fire: Expr,
    pub weight_fire: Expr,
    /// Cycles the activation stream waits on the array while computing.
    pub act_waiting: Expr,
    pub psum_read: Expr,
    pub psum_write: Expr,
    /// A result word written into the ofmap buffer.
    pub result_fire: Expr,
    /// MACs gated on a zero operand this cycle (a zero-gating core; 0 elsewhere).
    pub gated_macs: Expr,
    /// The compute phase is over: the last result is in the ofmap buffer (finish) or the last
    /// sum in the psum buffer.
    pub computed: Expr,
}

/// Builds the core (and the array below it) for a spec with `buffers`.
pub fn build(spec: &AcceleratorSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let buffers = spec
        .buffers
        .as_ref()
        .ok_or_else(|| HdlError::Unsupported("the GEMM core needs a buffers: section".into()))?;
    if Layout::of(spec).is_none() {
        return Err(HdlError::Unsupported(format!(
            "the GEMM core is built for weight_stationary and output_stationary, not {}",
            spec.pe_array.dataflow.config_name()
        )));
    }
    let double = double_buffered(buffers)?;
    // A zero-skipping or -gating core centres its activations before the array (one bit
    // wider); a gating core's PEs hold their accumulators on a zero operand.
    let array_pe = PeSpec {
        act: spec.zero_skip.array_act(spec.pe.act),
        ..spec.pe
    };
    let array_id = pe_array::build(&spec.pe_array, &array_pe, spec.zero_skip.gating, design)?;
    let post_process_id = post_process::build(spec.pe_array.cols, spec.pe.acc_bits, design)?;
    let zero_skip_id = match spec.zero_skip.activations {
        true => Some(super::zero_skip::build(spec, design)?),
        false => None,
    };
    let weight_skip_id = match spec.zero_skip.weights {
        true => Some(super::zero_skip::build_weights(spec, design)?),
        false => None,
    };
    let params_depth = param_depth(spec, &buffers.weight);
    let param_spec = BufferSpec {
        word_bits: param_word_bits(spec.pe_array.cols),
        depth: if double {
            2 * params_depth
        } else {
            params_depth
        },
        double_buffered: double,
        ..buffers.psum
    };
    // The DMA addresses words within what one run uses: a half of a double-buffered region.
    let run_region = |buffer: &BufferSpec| BufferSpec {
        depth: buffer.run_depth(),
        ..*buffer
    };
    let (ifmap_run, weight_run, param_run, ofmap_run) = (
        run_region(&buffers.ifmap),
        run_region(&buffers.weight),
        run_region(&param_spec),
        run_region(&buffers.ofmap),
    );
    let loads = [
        dma::Region {
            name: "ifmap",
            buffer: &ifmap_run,
        },
        dma::Region {
            name: "weight",
            buffer: &weight_run,
        },
        dma::Region {
            name: "param",
            buffer: &param_run,
        },
    ];
    let store = dma::Region {
        name: "ofmap",
        buffer: &ofmap_run,
    };
    // int8 and uint8 results leave as bytes: the store narrows each 32-bit lane on request.
    let packing = dma::Packing {
        lanes: spec.pe_array.cols,
        bits: PACKED_BITS,
    };
    let dma_id = dma::build(&buffers.dma, &loads, &store, Some(packing), design)?;
    let mut plans = std::collections::BTreeMap::new();
    for (name, region) in [
        ("ifmap", &buffers.ifmap),
        ("weight", &buffers.weight),
        ("psum", &buffers.psum),
        ("ofmap", &buffers.ofmap),
        ("param", &param_spec),
    ] {
        // The parameters are not a configured region (their spec copies the psum's banks).
        let banks = if name == "param" { 1 } else { region.banks };
        let plan = storage::plan(
            buffers.memory,
            region.word_bits,
            region.depth,
            banks,
            design,
        )?;
        plans.insert(name, plan);
    }
    let (rows, cols) = (spec.pe_array.rows, spec.pe_array.cols);
    let (ifmap, weight, psum) = (&buffers.ifmap, &buffers.weight, &buffers.psum);
    let name = module_name(spec, &[ifmap, weight, psum]);
    let dataflow = spec.pe_array.dataflow;
    add_module(design, name, |m, design| {
        m.doc(format!(
            "Buffered GEMM core: {}-word ifmap, {}-word weight and {}-word psum buffers feeding",
            ifmap.depth, weight.depth, psum.depth
        ))
        .doc(format!(
            "a {rows}x{cols} {} array; reductions longer than a run accumulate in the psum",
            dataflow.config_name().replace('_', "-")
        ))
        .doc("buffer, and each finished row is requantized with its channels' parameters.");
        if double {
            m.doc("Double-buffered: the DMA fills the next run's halves and drains the previous");
            m.doc("run's results while the array computes.");
        }
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
            "begin the GEMM described below (queued while a descriptor runs)",
        );
        let m_vectors = m.input_doc(
            "m_vectors",
            count_type,
            "M: rows of A, at most the psum depth",
        );
        let k_doc = match dataflow {
            Dataflow::OutputStationary => "reduction steps: K",
            _ => "reduction steps: ceil(K / ROWS)",
        };
        let k_folds = m.input_doc("k_folds", fold_type, k_doc);
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
        let regions: &[&str] = if double {
            &["ifmap", "weight", "param"]
        } else {
            &["ifmap", "weight", "param", "ofmap"]
        };
        for region in regions {
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
        let pack_doc = if double {
            "1: store the drained results as bytes (their low 8 bits), 0: as 32-bit lanes"
        } else {
            "1: store the results as bytes (their low 8 bits), 0: as 32-bit lanes"
        };
        let pack_outputs = m.input_doc("pack_outputs", Type::bit(), pack_doc);

        // A run: the descriptor is latched, then load (DMA), compute (array), store (DMA). A
        // double-buffered core has no store phase: its compute phase overlaps the DMA filling
        // the other halves for the next run and draining the previous run's results.
        let states: &[&str] = if double {
            &["idle", "load", "overlap"]
        } else {
            &["idle", "load", "compute", "store"]
        };
        let mut phase = Fsm::new(m, "phase", states);
        let busy = m.wire("running", &phase.is("idle").not());
        // A start while a descriptor runs is queued: the core takes the descriptor registers
        // (all of them, in the accept cycle) when the running one ends, so the host writes the
        // next descriptor while this one runs and the runs follow back to back.
        let queued = m.reg_reset("start_pending", Type::bit(), 0);
        let starting = start.or(&queued.q());
        let accept = m.wire("accept", &starting.and(&busy.not()));
        m.next(&queued, &starting.and(&busy));
        m.output_doc(
            "pending",
            &queued.q(),
            "a start waits for the running descriptor to end",
        );
        // Double-buffered: the array has finished this run's GEMM (the overlap phase may go on).
        let compute_done = double.then(|| m.reg_reset("compute_done", Type::bit(), 0));
        let computing = match &compute_done {
            Some(done) => m.wire("computing", &phase.is("overlap").and(&done.q().not())),
            None => m.wire("computing", &phase.is("compute")),
        };
        let phase_is_load = m.wire("loading", &phase.is("load"));
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
            "1: the run adds to the psum buffer instead of starting from zero",
        );
        let finish = m.input_doc(
            "finish",
            Type::bit(),
            "1: the final sums are post-processed and sent out; 0: they stay in the psum buffer",
        );
        let accumulate_q = m.pipe_when("accumulate", &accept, &accumulate);
        let finish_q = m.pipe_when("finish", &accept, &finish);
        for (input, reg) in &settings {
            m.next_when(reg, &accept, input);
        }

        // ---- the array and the post-process unit, fed by the dataflow's compute section -------
        let array = m.instance("pe_array", design, array_id);
        if spec.pe.kind.is_stripes() {
            // The run's activation precision; the array's bit phases start over with each
            // compute phase, so its step k is the phase's (k·p)-th cycle (`golden::cycles`).
            let precision_type = Type::unsigned(bits_for(u64::from(spec.pe.act.bits)));
            let precision = m.input_doc(
                "act_precision",
                precision_type,
                "bits streamed per activation, 1..=ACT_BITS (bit-serial array)",
            );
            let precision_q = m.pipe_when("act_precision", &accept, &precision);
            m.connect(array, "act_precision", &precision_q);
            m.connect(array, "phase_restart", &computing.not());
        }
        // A zero-skipping or -gating core: the zero point the feeder subtracts (latched); a
        // skipping core's zero-skip unit subtracts it and takes the words of the compacted
        // ifmap a run loads (the DMA needs them at the accept).
        let act_zero_point = spec.zero_skip.centres().then(|| {
            let zero_point = m.input_doc(
                "act_zero_point",
                Type::unsigned(spec.pe.act.bits),
                "the stored activations' zero point, subtracted before the array",
            );
            m.pipe_when("act_zero_point", &accept, &zero_point)
        });
        let zero_skip = spec.zero_skip.activations.then(|| {
            let words = m.input_doc(
                "ifmap_words",
                Type::unsigned(bits_for(ifmap_run.depth)),
                "words of the run's compacted ifmap",
            );
            let unit = m.instance(
                "zero_skip",
                design,
                zero_skip_id.expect("built for a skipping core"),
            );
            let zero_point = act_zero_point.as_ref().expect("a skipping core centres");
            m.connect(unit, "zero_point", zero_point);
            (unit, words)
        });
        // A weight-skipping core's unit, and the words of the compacted weights a run loads.
        let weight_skip = spec.zero_skip.weights.then(|| {
            let words = m.input_doc(
                "weight_words",
                Type::unsigned(bits_for(weight_run.depth)),
                "words of the run's compacted weights",
            );
            let unit = m.instance(
                "weight_skip",
                design,
                weight_skip_id.expect("built for a weight-skipping core"),
            );
            (unit, words)
        });
        let post = m.instance("post_process", design, post_process_id);
        for ((_, reg), port) in
            settings
                .iter()
                .zip(["zero_point", "clamp_min", "clamp_max", "bypass"])
        {
            m.connect(post, port, &reg.q());
        }
        let overlapped = double.then(|| {
            let overlapping = phase.is("overlap");
            Overlap::declare(
                m,
                &accept,
                &overlapping,
                [&ifmap_run, &weight_run, &param_run],
                &ofmap_run,
            )
        });
        let (ifmap_mem, weight_mem, param_mem, ofmap_mem) = match &overlapped {
            None => (ifmap_mem, weight_mem, param_mem, ofmap_mem),
            Some(overlap) => (
                overlap.ifmap.split(&ifmap_mem, ifmap.depth),
                overlap.weight.split(&weight_mem, weight.depth),
                overlap.weight.split(&param_mem, param_spec.depth),
                overlap.ofmap.split(&ofmap_mem, ofmap.depth),
            ),
        };
        let window =
            window::has_window_mode(spec).then(|| window_walker::declare(m, spec, &accept));
        let shell = Shell {
            spec,
            array,
            post,
            ifmap: &ifmap_mem,
            weight: &weight_mem,
            psum: &psum_mem,
            ofmap: &ofmap_mem,
            param: &param_mem,
            accept: accept.clone(),
            computing: computing.clone(),
            m_vectors: m_q.q(),
            k_steps: k_q.q(),
            n_folds: n_q.q(),
            accumulate: accumulate_q,
            finish: finish_q.clone(),
            window: window.as_ref(),
            zero_skip: zero_skip.as_ref().map(|(unit, _)| *unit),
            weight_skip: weight_skip.as_ref().map(|(unit, _)| *unit),
            act_zero_point: act_zero_point.clone(),
        };
        let events = match dataflow {
            Dataflow::OutputStationary => output_stationary::compute(m, &shell),
            _ => weight_stationary::compute(m, &shell),
        };
        let computed = events.computed.clone();

        // ---- run state -------------------------------------------------------------------------
        let degenerate = m_vectors
            .eq(&Expr::zero(count_type))
            .or(&k_folds.eq(&Expr::zero(fold_type)))
            .or(&n_folds.eq(&Expr::zero(fold_type)));
        let begin = m.wire("run_start", &accept.and(&degenerate.not()));

        // ---- DMA: load the operands before computing, store the results after ----------------
        let engine = m.instance("dma", design, dma_id);
        let words_type = Type::unsigned(bits_for(
            ifmap_run.depth.max(weight_run.depth).max(params_depth),
        ));
        let words = |count: Expr, enable: &Expr| {
            enable.select(&count.resize(words_type.width), &Expr::zero(words_type))
        };
        let (a_words, b_words) = operand_words(
            m,
            spec,
            &m_vectors,
            &k_folds,
            &n_folds,
            [
                zero_skip.as_ref().map(|(_, words)| words),
                weight_skip.as_ref().map(|(_, words)| words),
            ],
        );
        // Window mode loads the input tile, not the im2col rows.
        let a_words = match &window {
            Some(window) => window.input("window").select(
                &window
                    .input("window_words")
                    .resize(a_words.width().max(words_type.width)),
                &a_words.resize(a_words.width().max(words_type.width)),
            ),
            None => a_words,
        };
        for (index, ((region, amount, enable), base)) in [
            ("ifmap", a_words, &load_ifmap),
            ("weight", b_words, &load_weights),
            ("param", n_folds.clone(), &load_weights),
        ]
        .into_iter()
        .zip(&region_addresses)
        .enumerate()
        {
            let (mut base, mut amount) = (base.clone(), words(amount, enable));
            // The engine latches its region list when started: the run's own loads at the
            // accept, the next run's (the prefetch) when the overlap phase begins.
            if let Some(overlap) = &overlapped {
                let prefetch = &overlap.prefetch[index];
                base = accept.select(&base, &prefetch.base);
                amount = accept.select(&amount, &prefetch.words.resize(words_type.width));
            }
            m.connect(engine, &format!("{region}_base"), &base);
            m.connect(engine, &format!("{region}_words"), &amount);
        }
        let store_words = Type::unsigned(bits_for(ofmap_run.depth));
        let (ofmap_base, ofmap_words) = match &overlapped {
            Some(overlap) => (overlap.drain.base.clone(), overlap.drain.words.clone()),
            None => (
                m.pipe_when("ofmap_addr", &accept, &region_addresses[3]),
                n_q.q().widening_mul(&m_q.q()),
            ),
        };
        m.connect(engine, "ofmap_base", &ofmap_base);
        let packed = m.pipe_when("pack_outputs", &accept, &pack_outputs);
        m.connect(engine, "ofmap_packed", &packed);
        m.connect(
            engine,
            "ofmap_words",
            &ofmap_words.resize(store_words.width),
        );
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
        let (ends, storing) = match (&overlapped, &compute_done) {
            (Some(overlap), Some(compute_done)) => {
                // The overlap phase starts after the run's own loads (at once for a run with
                // nothing to compute); in its first cycle the engine starts the prefetch and
                // the drain, and the phase ends when the array and both transfers are done.
                let overlapping = phase.is("overlap");
                let skip = accept.and(&degenerate);
                let enter = m.wire("overlap_enter", &phase.is("load").and(&loaded).or(&skip));
                let kick = m.reg_reset("overlap_kick", Type::bit(), 0);
                m.next(&kick, &enter);
                let pending = |m: &mut ModuleBuilder, name: &str, any: &Expr, over: &Expr| {
                    let flag = m.reg_reset(name, Type::bit(), 0);
                    let held = over.select(&Expr::bit(false), &flag.q());
                    m.next(&flag, &enter.select(any, &held));
                    flag.q()
                };
                let prefetch_any =
                    accept.select(&overlap.prefetch_requested, &overlap.prefetch_any);
                let drain_any = accept.select(&overlap.drain_requested, &overlap.drain_any);
                let prefetching = pending(
                    m,
                    "prefetch_pending",
                    &prefetch_any,
                    &overlapping.and(&loaded),
                );
                let draining = pending(m, "drain_pending", &drain_any, &stored);
                let compute_next = accept.select(&degenerate, &compute_done.q().or(&computed));
                m.next(compute_done, &compute_next);
                let all_done = m.wire(
                    "overlap_done",
                    &overlapping
                        .and(&compute_done.q().or(&computed))
                        .and(&prefetching.not().or(&loaded))
                        .and(&draining.not().or(&stored)),
                );
                m.connect(engine, "load_start", &begin.or(&kick.q().and(&prefetching)));
                let store_start = m.wire("store_start", &kick.q().and(&draining));
                m.connect(engine, "store_start", &store_start);
                phase
                    .transition("idle", &begin, "load")
                    .transition("idle", &skip, "overlap")
                    .transition("load", &loaded, "overlap")
                    .transition("overlap", &all_done, "idle");
                (all_done, draining)
            }
            _ => {
                m.connect(engine, "load_start", &begin);
                let store_start = m.wire("store_start", &computed.and(&finish_q));
                m.connect(engine, "store_start", &store_start);
                phase
                    .transition("idle", &begin, "load")
                    .transition("load", &loaded, "compute")
                    .transition("compute", &store_start, "store")
                    .transition("compute", &computed, "idle")
                    .transition("store", &stored, "idle");
                let ends = computed
                    .and(&finish_q.not())
                    .or(&stored)
                    .or(&accept.and(&degenerate));
                let storing = m.wire("storing", &phase.is("store"));
                (ends, storing)
            }
        };
        phase.finish(m);
        let done = m.reg_reset("done", Type::bit(), 0);
        m.next(&done, &ends);
        // STATUS reads BUSY until DONE is set: the done pulse follows the last running cycle,
        // so without it a poll could see neither.
        m.output_doc(
            "busy",
            &busy.or(&done.q()),
            "a GEMM is running, or its done pulse is on its way to STATUS",
        );
        m.output_doc(
            "done",
            &done.q(),
            "one-cycle pulse after the last result is stored",
        );

        // ---- performance counters: cumulative, cleared by reset or clear_counters --------------
        let clear = m.input_doc("clear_counters", Type::bit(), "zero every perf_* counter");
        // Each counter's event, in the register map's order (`regmap::COUNTERS`).
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
                "perf_store_cycles" => storing.clone(),
                "perf_dram_read_bytes" => bytes(&read_beat),
                "perf_dram_write_bytes" => bytes(&write_beat),
                "perf_act_beats" => events.act_fire.clone(),
                "perf_weight_beats" => events.weight_fire.clone(),
                "perf_weight_wait_cycles" => events.act_waiting.clone(),
                "perf_psum_reads" => events.psum_read.clone(),
                "perf_psum_writes" => events.psum_write.clone(),
                "perf_results" => events.result_fire.clone(),
                "perf_ifmap_writes" => buffer_writes[0].clone(),
                "perf_weight_writes" => buffer_writes[1].clone(),
                "perf_param_writes" => buffer_writes[2].clone(),
                "perf_gated_macs" => events.gated_macs.clone(),
                other => {
                    unreachable!("regmap::COUNTERS names {other}, which the core does not count")
                }
            };
            let value = counter32(m, port, &clear, &amount.extend(32));
            m.output_doc(port, &value, doc);
        }
    })
}

/// Why a config's regions are not double-buffered the one way the core builds, naming the
/// key: ifmap, weight and ofmap together (the parameters follow the weights), the psum buffer
/// never (a reduction split over runs accumulates in one place). `None` when they are.
pub fn double_buffering_conflict(buffers: &crate::config::BuffersSpec) -> Option<String> {
    if buffers.psum.double_buffered {
        return Some(
            "`buffers.psum.double_buffered: true` (a reduction split over runs accumulates in \
             one psum buffer; double-buffer ifmap, weight and ofmap)"
                .to_owned(),
        );
    }
    let operands = [
        ("ifmap", &buffers.ifmap),
        ("weight", &buffers.weight),
        ("ofmap", &buffers.ofmap),
    ];
    let doubled = operands.iter().filter(|(_, b)| b.double_buffered).count();
    if doubled == 0 || doubled == operands.len() {
        return None;
    }
    let (single, _) = operands
        .iter()
        .find(|(_, b)| !b.double_buffered)
        .expect("one is single");
    Some(format!(
        "double buffering only some operand regions (`buffers.{single}` is single-buffered; \
         ifmap, weight and ofmap are double-buffered together or not at all)"
    ))
}

/// Whether the core is double-buffered ([`double_buffering_conflict`] refuses any other mix).
fn double_buffered(buffers: &crate::config::BuffersSpec) -> Result<bool, HdlError> {
    match double_buffering_conflict(buffers) {
        Some(conflict) => Err(HdlError::Unsupported(conflict)),
        None => Ok(buffers.ifmap.double_buffered),
    }
}

/// Which half of a double-buffered region the array side and the DMA side use.
struct Half {
    read: Expr,
    write: Expr,
}

impl Half {
    fn split(&self, storage: &Storage, depth: u64) -> Storage {
        storage.halves(depth, &self.read, &self.write)
    }
}

/// Where one region of the next run comes from: latched at the accept.
struct Transfer {
    base: Expr,
    words: Expr,
}

/// A double-buffered core's extra descriptor fields, latched at the accept: the half each operand
/// is read from (the host alternates them), the next run's operands to prefetch into the other
/// halves, and the previous run's results to drain from the other ofmap half.
struct Overlap {
    ifmap: Half,
    weight: Half,
    ofmap: Half,
    /// ifmap, weight, param.
    prefetch: [Transfer; 3],
    drain: Transfer,
    /// Some prefetch or drain words: as the descriptor inputs say (for the accept cycle) and as
    /// latched.
    prefetch_requested: Expr,
    prefetch_any: Expr,
    drain_requested: Expr,
    drain_any: Expr,
}

impl Overlap {
    fn declare(
        m: &mut ModuleBuilder,
        accept: &Expr,
        overlapping: &Expr,
        loads: [&BufferSpec; 3],
        ofmap: &BufferSpec,
    ) -> Overlap {
        let mut half = |name: &str, doc: &str| {
            let input = m.input_doc(&format!("{name}_half"), Type::bit(), doc);
            m.pipe_when(&format!("{name}_half"), accept, &input)
        };
        let ifmap = half("ifmap", "half of the ifmap buffer this run reads A from");
        let weight = half(
            "weight",
            "half of the weight and param buffers this run reads B and the parameters from",
        );
        let ofmap_half = half("ofmap", "half of the ofmap buffer this run's results go to");
        // An operand half is loaded by the run's own load phase and filled for the next run
        // (the other half) while the array computes.
        let operand = |half: Expr| Half {
            write: half.xor(overlapping),
            read: half,
        };
        let address = Type::unsigned(dma::ADDRESS_BITS);
        let transfer = |m: &mut ModuleBuilder, name: &str, depth: u64, what: &str| {
            let base = m.input_doc(
                &format!("{name}_addr"),
                address,
                &format!("DRAM byte address of {what}"),
            );
            let words = m.input_doc(
                &format!("{name}_words"),
                Type::unsigned(bits_for(depth)),
                &format!("words of {what} (0: none)"),
            );
            let requested = words.any();
            (
                Transfer {
                    base: m.pipe_when(&format!("{name}_addr"), accept, &base),
                    words: m.pipe_when(&format!("{name}_words"), accept, &words),
                },
                requested,
            )
        };
        let (ifmap_next, a) = transfer(m, "prefetch_ifmap", loads[0].depth, "the next run's A");
        let (weight_next, b) = transfer(m, "prefetch_weight", loads[1].depth, "the next run's B");
        let (param_next, p) = transfer(
            m,
            "prefetch_param",
            loads[2].depth,
            "the next run's parameters",
        );
        let (drain, drain_requested) =
            transfer(m, "drain", ofmap.depth, "the previous run's results");
        let prefetch_any = ifmap_next
            .words
            .any()
            .or(&weight_next.words.any())
            .or(&param_next.words.any());
        let drain_any = drain.words.any();
        Overlap {
            ifmap: operand(ifmap),
            weight: operand(weight),
            ofmap: Half {
                read: ofmap_half.not(),
                write: ofmap_half,
            },
            prefetch: [ifmap_next, weight_next, param_next],
            drain,
            prefetch_requested: a.or(&b).or(&p),
            prefetch_any,
            drain_requested,
            drain_any,
        }
    }
}

/// The ifmap and weight words a descriptor loads ([`Layout::words`] in hardware): WS loads
/// k_folds·M and n_folds·k_folds·R, OS loads ceil(M/R)·K and n_folds·K, or what the host
/// compacted (`compacted`: A's and B's word counts on a skipping core). R is a constant, so
/// ceil(M/R) is a shift when R is a power of two and a constant divide otherwise.
fn operand_words(
    builder: &mut ModuleBuilder,
    spec: &AcceleratorSpec,
    m: &Expr,
    k: &Expr,
    n: &Expr,
    [compacted_a, compacted_b]: [Option<&Expr>; 2],
) -> (Expr, Expr) {
    let rows = u64::from(spec.pe_array.rows);
    let rows_const = Expr::constant(i128::from(rows), Type::unsigned(bits_for(rows)));
    match spec.pe_array.dataflow {
        // A zero-skipping core's compacted operand is as long as the host made it.
        Dataflow::OutputStationary => {
            let a = match compacted_a {
                Some(words) => words.clone(),
                None => {
                    let blocks = row_blocks(builder, m, rows);
                    let blocks = builder.wire("row_blocks", &blocks);
                    k.widening_mul(&blocks)
                }
            };
            let b = compacted_b.cloned().unwrap_or_else(|| n.widening_mul(k));
            (a, b)
        }
        _ => (
            k.widening_mul(m),
            n.widening_mul(k).widening_mul(&rows_const),
        ),
    }
}

/// ceil(`m` / `rows`) for a constant `rows`: a shift when `rows` is a power of two, else a
/// multiply by the reciprocal ([`reciprocal`]).
fn row_blocks(builder: &mut ModuleBuilder, m: &Expr, rows: u64) -> Expr {
    let rounded_up = m.add(&Expr::constant(
        i128::from(rows - 1),
        Type::unsigned(bits_for(rows)),
    ));
    let width = rounded_up.width();
    if rows.is_power_of_two() {
        let shift = rows.trailing_zeros();
        return rounded_up.slice(width - 1, shift.min(width - 1));
    }
    // A named operand: the product is emitted as its own wire (`emit::expression`).
    let dividend = builder.wire("m_rounded_up", &rounded_up);
    let (multiplier, shift) = reciprocal(rows, width);
    let product = dividend.widening_mul(&Expr::constant(
        i128::from(multiplier),
        Type::unsigned(bits_for(multiplier)),
    ));
    product.slice(product.width() - 1, shift)
}

/// `(c, s)` with `n · c >> s == n / d` for every `n < 2^width` (Granlund–Montgomery: s =
/// width + ceil(log2 d), c = ceil(2^s / d)).
fn reciprocal(divisor: u64, width: u32) -> (u64, u32) {
    let shift = width + divisor.next_power_of_two().trailing_zeros();
    (
        ((1u128 << shift).div_ceil(u128::from(divisor))) as u64,
        shift,
    )
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

/// Connects the post-process unit's input: `valid` beats of `sum` with the parameters of the
/// N-fold whose param word `param_next` addresses (a registered read, one cycle ahead); the
/// unit's output is always taken. Returns its output's (valid, data).
fn post_process_input(
    m: &mut ModuleBuilder,
    shell: &Shell,
    valid: &Expr,
    sum: &Expr,
    last: &Expr,
    param_next: &Expr,
) -> (Expr, Expr) {
    let cols = shell.spec.pe_array.cols;
    let param_read = shell.param.read_port(m);
    let params = param_read.data.clone();
    shell.param.read_address(m, param_read, param_next);
    let field = |index: u32, bits: u32| {
        let low = index * cols * post_process::WORD_BITS;
        params.slice(low + cols * bits - 1, low)
    };
    let post = shell.post;
    m.connect(post, "in_valid", valid);
    m.connect(post, "in_data", sum);
    m.connect(post, "in_bias", &field(0, post_process::WORD_BITS));
    m.connect(post, "in_multiplier", &field(1, post_process::WORD_BITS));
    m.connect(post, "in_shift", &field(2, post_process::SHIFT_BITS));
    m.connect(post, "in_last", last);
    m.connect(post, "out_ready", &Expr::bit(true));
    let result_last = m.connect_output(post, "out_last");
    m.sink(&result_last, "the ofmap address counts rows itself");
    (
        m.connect_output(post, "out_valid"),
        m.connect_output(post, "out_data"),
    )
}

#[cfg(test)]
mod tests {
    use super::reciprocal;

    #[test]
    fn the_reciprocal_divides_exactly_for_every_dividend_of_its_width() {
        for divisor in [3u64, 5, 6, 7, 9, 12, 15, 100, 255] {
            let width = 10;
            let (multiplier, shift) = reciprocal(divisor, width);
            for n in 0..1u64 << width {
                let quotient = (u128::from(n) * u128::from(multiplier)) >> shift;
                assert_eq!(quotient as u64, n / divisor, "{n} / {divisor}");
            }
        }
    }
}
