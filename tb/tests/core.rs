//! RTL-vs-golden tests of the buffered GEMM core: operands and per-channel parameters laid out in
//! a DRAM model, one start, the DMA's loads, K-fold accumulation in the psum buffer, the
//! post-process unit and the DMA's stores, compared bit-exactly with `golden::gemm::gemm` and
//! `golden::requant`; with a deterministic DRAM every phase's cycles and the bytes moved equal
//! `golden::dma`'s model.

use accelgen::blocks::gemm_core::ConvLayer;
use accelgen::config::{AcceleratorSpec, Dataflow, DmaSpec, DramSpec, MemoryKind};
use accelgen::golden::cycles::GemmShape;
use accelgen::golden::dma::{self, Outputs, RunCycles, RunSettings};
use accelgen::report::schedule::{self, Chunk};
use accelgen_tb::array::mismatches;
use accelgen_tb::checks::{
    assert_counters_match_model, dram, golden, irregular, random, requantization, with_dram,
    Convolution, I8,
};
use accelgen_tb::core::{
    core_spec, core_spec_for, double_buffered, CoreBench, CoreRun, KChunk, Pacing, PostProcessing,
    Program,
};
use accelgen_tb::dram::DramTiming;
use accelgen_tb::post_process::Settings;
use accelgen_tb::Rng;
use ndarray::Array2;

/// The model's account of one whole run against a DRAM of `timing`'s (deterministic) rules.
fn model(
    spec: &AcceleratorSpec,
    (m, k, n): (usize, usize, usize),
    finish: bool,
    outputs: Outputs,
    timing: DramTiming,
) -> RunCycles {
    let mut spec = spec.clone();
    spec.buffers.as_mut().unwrap().dram = DramSpec {
        latency_cycles: timing.latency,
        cycles_per_beat: timing.cycles_per_beat,
    };
    let shape = GemmShape {
        m: m as u64,
        k: k as u64,
        n: n as u64,
    };
    schedule::core_run(
        &spec,
        Chunk {
            shape,
            finish,
            loads: dma::Loads::ALL,
            settings: RunSettings::storing(outputs),
            ifmap_words: None,
            skipping: None,
            gated_macs: None,
        },
    )
}

/// Checks a deterministic run's counters against the model, phase by phase.
fn assert_matches_model(run: &CoreRun, model: RunCycles, what: &str) {
    assert_counters_match_model(&run.counters, model, what);
    assert_eq!(run.cycles, model.busy, "{what}: busy cycles");
}

/// Runs a random M×K×N GEMM (raw or requantized) against a DRAM of `timing` and checks it
/// against golden; with a deterministic DRAM also every phase's cycles and the bytes moved.
fn check(
    bench: &mut CoreBench,
    spec: &AcceleratorSpec,
    (m, k, n): (usize, usize, usize),
    requantize: bool,
    timing: DramTiming,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let (a, b) = (random(&mut rng, m, k), random(&mut rng, k, n));
    let post = if requantize {
        requantization(&mut rng, n)
    } else {
        PostProcessing::raw(n)
    };
    let run = bench
        .run_gemm(&a, &b, &post, KChunk::WHOLE, timing, seed)
        .unwrap_or_else(|e| panic!("{m}x{k}x{n}: {e}"));
    let (first, count) = mismatches(&golden(&a, &b, &post), &run.result, 8);
    assert_eq!(count, 0, "{m}x{k}x{n}: {count} mismatches, first {first:?}");
    // The counters tell the tiling. WS: M vectors and R weight rows per tile, K-folds × N-folds
    // tiles; every fold but the first reads the psum buffer, every fold but the last writes it.
    // OS: K pairs per tile, row blocks × N-folds tiles; one run holds the whole reduction.
    let (rows, cols) = (spec.pe_array.rows as usize, spec.pe_array.cols as usize);
    let n_folds = n.div_ceil(cols);
    let words = accelgen::blocks::gemm_core::Layout::of(spec)
        .unwrap()
        .words(m, k, n);
    let expected = if spec.pe_array.dataflow == Dataflow::OutputStationary {
        let tiles = (m.div_ceil(rows) * n_folds * k) as u32;
        [
            ("perf_act_beats", tiles),
            ("perf_weight_beats", tiles),
            ("perf_results", (n_folds * m) as u32),
            ("perf_psum_reads", 0),
            ("perf_psum_writes", 0),
            ("perf_ifmap_writes", words.ifmap as u32),
            ("perf_weight_writes", words.weight as u32),
            ("perf_param_writes", words.param as u32),
        ]
    } else {
        let k_folds = k.div_ceil(rows);
        let tiles = (k_folds * n_folds) as u32;
        [
            ("perf_act_beats", tiles * m as u32),
            ("perf_weight_beats", tiles * rows as u32),
            ("perf_results", (n_folds * m) as u32),
            ("perf_psum_reads", ((k_folds - 1) * n_folds * m) as u32),
            ("perf_psum_writes", ((k_folds - 1) * n_folds * m) as u32),
            ("perf_ifmap_writes", words.ifmap as u32),
            ("perf_weight_writes", words.weight as u32),
            ("perf_param_writes", words.param as u32),
        ]
    };
    for (counter, value) in expected {
        assert_eq!(run.counter(counter), value, "{m}x{k}x{n}: {counter}");
    }
    let model = model(spec, (m, k, n), true, post.outputs(), timing);
    // The bytes do not depend on the DRAM's timing.
    assert_eq!(
        u64::from(run.counter("perf_dram_read_bytes")),
        model.read_bytes
    );
    assert_eq!(
        run.dram.read_bytes, model.read_bytes,
        "the DRAM's own count"
    );
    assert_eq!(
        run.dram.write_bytes, model.write_bytes,
        "the DRAM's own count"
    );
    if timing.jitter.is_none() {
        assert_matches_model(&run, model, &format!("{m}x{k}x{n} {timing:?}"));
    } else {
        assert!(run.cycles > model.busy, "an irregular DRAM is slower");
    }
}

#[test]
fn core_accumulates_k_folds_in_the_psum_buffer_bit_exactly_on_regular_and_irregular_dram() {
    let spec = core_spec(2, 3, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    for (shape, seed) in [
        ((5, 7, 8), 1),
        ((1, 1, 1), 2),
        ((16, 2, 3), 3),
        ((3, 9, 7), 4),
        ((12, 5, 2), 5),
    ] {
        check(&mut bench, &spec, shape, false, dram(20, 1), seed);
        check(&mut bench, &spec, shape, false, irregular(seed), seed + 100);
    }
}

#[test]
fn output_stationary_core_is_bit_exact_and_its_cycles_equal_the_model_on_regular_and_irregular_dram(
) {
    // 3×2: row blocks of 3 (M = 5, 7, 1 leave padded rows), N-folds of 2, K from 1 to 13.
    let spec = core_spec_for(Dataflow::OutputStationary, 3, 2, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    for (shape, requantize, seed) in [
        ((5, 7, 4), false, 81),
        ((1, 1, 1), true, 82),
        ((16, 2, 3), true, 83),
        ((7, 13, 5), true, 84),
        ((6, 3, 2), false, 85),
    ] {
        check(&mut bench, &spec, shape, requantize, dram(20, 1), seed);
        check(
            &mut bench,
            &spec,
            shape,
            requantize,
            irregular(seed),
            seed + 100,
        );
    }
}

#[test]
fn core_requantizes_each_channel_with_its_own_bias_multiplier_and_shift() {
    let spec = core_spec(2, 3, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    for (shape, seed) in [((5, 7, 8), 11), ((16, 4, 9), 12), ((1, 13, 1), 13)] {
        check(&mut bench, &spec, shape, true, dram(20, 1), seed);
        check(&mut bench, &spec, shape, true, irregular(seed), seed + 100);
    }
}

#[test]
fn cycle_model_equals_the_rtl_for_every_dram_latency_and_rate() {
    let spec = core_spec(2, 3, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    for (index, (latency, cycles_per_beat)) in [(1, 1), (2, 1), (7, 2), (40, 1), (13, 5)]
        .into_iter()
        .enumerate()
    {
        let timing = dram(latency, cycles_per_beat);
        check(
            &mut bench,
            &spec,
            (9, 11, 7),
            true,
            timing,
            40 + index as u64,
        );
    }
}

#[test]
fn cycle_model_equals_the_rtl_for_narrow_and_wide_buses_short_bursts_and_one_read_in_flight() {
    for (index, (data_bits, burst_beats, outstanding)) in
        [(32, 4, 1), (128, 2, 3), (64, 1, 2), (256, 16, 16)]
            .into_iter()
            .enumerate()
    {
        let mut spec = core_spec(2, 3, 64, 64, 16);
        spec.name = format!("{}_d{data_bits}_b{burst_beats}_o{outstanding}", spec.name);
        let buffers = spec.buffers.as_mut().unwrap();
        buffers.dma = DmaSpec {
            data_bits,
            burst_beats,
            outstanding,
        };
        let mut bench = CoreBench::new(&spec).unwrap();
        for (shape, latency) in [((7, 5, 8), 9), ((9, 13, 2), 3)] {
            check(
                &mut bench,
                &spec,
                shape,
                true,
                dram(latency, 1),
                50 + index as u64,
            );
        }
        check(
            &mut bench,
            &spec,
            (6, 4, 5),
            true,
            irregular(index as u64),
            60,
        );
    }
}

#[test]
fn a_core_on_sky130_sram_macros_is_bit_exact_and_as_fast_as_on_register_files() {
    // Every read is registered either way, so the macro core meets the same cycle model; M = 1
    // exercises the psum write forwarding, K-splits the accumulation across runs.
    let mut spec = core_spec(2, 3, 300, 64, 16);
    spec.name = format!("{}_sram", spec.name);
    spec.buffers.as_mut().unwrap().memory = MemoryKind::Sky130Sram;
    let mut bench = CoreBench::new(&spec).unwrap();
    for (shape, seed) in [
        ((5, 7, 8), 81),
        ((1, 1, 1), 82),
        ((1, 13, 4), 83),
        ((16, 9, 7), 84),
    ] {
        check(&mut bench, &spec, shape, true, dram(20, 1), seed);
    }
    check(&mut bench, &spec, (7, 5, 6), false, irregular(85), 85);
}

#[test]
fn eight_by_eight_core_runs_64_cubed_through_its_dma() {
    let spec = core_spec(8, 8, 512, 512, 64);
    let mut bench = CoreBench::new(&spec).unwrap();
    check(&mut bench, &spec, (64, 64, 64), true, dram(20, 1), 7);
    check(&mut bench, &spec, (19, 21, 13), true, irregular(8), 8);
}

#[test]
fn a_gemm_larger_than_a_buffer_is_refused_naming_the_buffer() {
    let spec = core_spec(2, 3, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    let error = bench
        .run_gemm(
            &Array2::zeros((17, 2)),
            &Array2::zeros((2, 2)),
            &PostProcessing::raw(2),
            KChunk::WHOLE,
            dram(20, 1),
            0,
        )
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("needs 17 psum words; a run may use 16"),
        "{error}"
    );
}

/// Runs a random 9×40×`n` GEMM on `spec` as three runs of K = 14, 14 and 12 (accumulate /
/// finish as a host splits a long reduction), checks every run against the cycle model and the
/// last one's results against golden, and returns the runs.
fn run_split_reduction(
    spec: &AcceleratorSpec,
    n: usize,
    timing: DramTiming,
    seed: u64,
) -> Vec<CoreRun> {
    let mut bench = CoreBench::new(spec).unwrap();
    let mut rng = Rng::new(seed);
    let (a, b) = (random(&mut rng, 9, 40), random(&mut rng, 40, n));
    let post = requantization(&mut rng, n);
    let chunks = [(0, 14), (14, 28), (28, 40)];
    let mut runs = Vec::new();
    for (index, &(k0, k1)) in chunks.iter().enumerate() {
        let chunk = KChunk::of(index, chunks.len());
        let a_part = a.slice(ndarray::s![.., k0..k1]).to_owned();
        let b_part = b.slice(ndarray::s![k0..k1, ..]).to_owned();
        let run = bench
            .run_gemm(&a_part, &b_part, &post, chunk, timing, seed + index as u64)
            .unwrap();
        let model = model(spec, (9, k1 - k0, n), chunk.finish, post.outputs(), timing);
        assert_matches_model(&run, model, &format!("chunk {index}"));
        assert_eq!(run.dram.write_bytes > 0, chunk.finish, "chunk {index}");
        runs.push(run);
    }
    let (first, count) = mismatches(&golden(&a, &b, &post), &runs[2].result, 8);
    assert_eq!(count, 0, "{count} mismatches, first {first:?}");
    runs
}

#[test]
fn a_reduction_split_over_runs_accumulates_in_the_psum_buffer_and_stores_once() {
    // Only the last run stores results, and they equal the whole GEMM's; the runs that do not
    // finish take no post-process or store cycles.
    run_split_reduction(&core_spec(2, 3, 64, 64, 16), 3, dram(20, 1), 21);
}

#[test]
fn output_stationary_core_splits_a_long_reduction_over_accumulating_runs() {
    // On a 2×2 OS core the PEs hold each run's K, and the psum buffer carries each row's sums
    // from run to run: read by every run but the first, written by every run but the last.
    let spec = core_spec_for(Dataflow::OutputStationary, 2, 2, 128, 64, 16);
    let runs = run_split_reduction(&spec, 2, dram(9, 2), 91);
    for (index, run) in runs.iter().enumerate() {
        let accumulated = if index > 0 { 9 } else { 0 };
        assert_eq!(run.counter("perf_psum_reads"), accumulated, "run {index}");
        let kept = if index < 2 { 9 } else { 0 };
        assert_eq!(run.counter("perf_psum_writes"), kept, "run {index}");
    }
}

#[test]
fn a_run_that_reuses_the_weights_loads_only_the_ifmap_and_still_matches() {
    let spec = core_spec(2, 3, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    let mut rng = Rng::new(71);
    let b = random(&mut rng, 9, 7);
    let post = requantization(&mut rng, 7);
    let first = random(&mut rng, 10, 9);
    bench
        .run_gemm(&first, &b, &post, KChunk::WHOLE, dram(20, 1), 71)
        .unwrap();
    // The next rows of A with the same B: the weight and param buffers still hold it.
    let second = random(&mut rng, 10, 9);
    let reuse = KChunk {
        load_weights: false,
        ..KChunk::WHOLE
    };
    let run = bench
        .run_gemm(&second, &b, &post, reuse, dram(20, 1), 72)
        .unwrap();
    let (first_mismatch, count) = mismatches(&golden(&second, &b, &post), &run.result, 8);
    assert_eq!(count, 0, "{count} mismatches, first {first_mismatch:?}");
    let shape = GemmShape { m: 10, k: 9, n: 7 };
    let loads = dma::Loads {
        ifmap: true,
        weights: false,
    };
    let model = schedule::core_run(
        &spec,
        Chunk {
            shape,
            finish: true,
            loads,
            settings: RunSettings::storing(post.outputs()),
            ifmap_words: None,
            skipping: None,
            gated_macs: None,
        },
    );
    assert_matches_model(&run, model, "reused weights");
    assert_eq!(run.counter("perf_ifmap_writes"), 5 * 10, "A's words");
    assert_eq!(run.counter("perf_weight_writes"), 0, "B stays");
    assert_eq!(run.counter("perf_param_writes"), 0, "the parameters stay");
}

/// Offset of register `name` in the core's map.
fn offset(spec: &AcceleratorSpec, name: &str) -> u32 {
    use accelgen::blocks::regmap;
    regmap::offset(&regmap::core_registers(spec), name).unwrap()
}

#[test]
fn registers_read_back_honour_byte_strobes_and_refuse_unmapped_and_read_only_addresses() {
    use accelgen_tb::axi_lite::{OKAY, SLVERR};
    let spec = core_spec(2, 3, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    let mut host = bench.reset_with_host(5, 0.5).unwrap();
    let model = bench.model_mut();
    // INFO: ROWS in the low half, COLS in the high half.
    assert_eq!(
        host.read_ok(model, offset(&spec, "info")).unwrap(),
        2 | (3 << 16)
    );
    // A 32-bit field reads back what was written; a strobed write changes only its bytes.
    let zero_point = offset(&spec, "zero_point");
    host.write_ok(model, zero_point, 0x1234_5678).unwrap();
    assert_eq!(host.read_ok(model, zero_point).unwrap(), 0x1234_5678);
    assert_eq!(
        host.write_strobed(model, zero_point, 0xaabb_ccdd, 0b0101)
            .unwrap(),
        OKAY
    );
    assert_eq!(host.read_ok(model, zero_point).unwrap(), 0x12bb_56dd);
    // A narrow field keeps only its bits.
    let bypass = offset(&spec, "bypass");
    host.write_ok(model, bypass, 0xffff_ffff).unwrap();
    assert_eq!(host.read_ok(model, bypass).unwrap(), 1);
    // Unmapped and read-only addresses answer SLVERR and change nothing.
    assert_eq!(host.read(model, 0xffc).unwrap(), (0, SLVERR));
    assert_eq!(host.write(model, 0xffc, 7).unwrap(), SLVERR);
    let info = offset(&spec, "info");
    assert_eq!(host.write(model, info, 0).unwrap(), SLVERR);
    assert_eq!(host.read_ok(model, info).unwrap(), 2 | (3 << 16));
}

#[test]
fn done_is_sticky_until_cleared_and_raises_irq_only_when_enabled() {
    let spec = core_spec(2, 3, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    let mut host = bench.reset_with_host(6, 1.0).unwrap();
    let (status, ctrl, n_folds) = (
        offset(&spec, "status"),
        offset(&spec, "ctrl"),
        offset(&spec, "n_folds"),
    );
    let model = bench.model_mut();
    let irq = model.port("irq").unwrap();
    // n_folds = 0 finishes at once: done without running anything.
    host.write_ok(model, n_folds, 0).unwrap();
    host.write_ok(model, ctrl, 1).unwrap();
    for _ in 0..3 {
        model.step(model.port("clk").unwrap());
    }
    assert_eq!(host.read_ok(model, status).unwrap(), 0b10, "DONE, not BUSY");
    model.eval();
    assert_eq!(model.peek(irq), 0, "interrupt disabled");
    host.write_ok(model, ctrl, 0b100).unwrap();
    model.eval();
    assert_eq!(model.peek(irq), 1, "interrupt enabled with DONE set");
    // Writing 1 to DONE clears it and the interrupt; writing 0 would not.
    host.write_ok(model, status, 0).unwrap();
    assert_eq!(host.read_ok(model, status).unwrap(), 0b10);
    host.write_ok(model, status, 0b10).unwrap();
    assert_eq!(host.read_ok(model, status).unwrap(), 0);
    model.eval();
    assert_eq!(model.peek(irq), 0);
}

#[test]
fn a_double_buffered_core_overlaps_each_run_with_the_next_loads_and_the_previous_store() {
    for dataflow in [Dataflow::WeightStationary, Dataflow::OutputStationary] {
        // Halves of 32 ifmap, 32 weight and 64 ofmap words on a 4×4 array, a 16-row psum: a
        // 20×40×10 GEMM runs as row chunks × N-folds × accumulating K-chunks, some reusing the
        // previous run's operands.
        let spec = double_buffered(&core_spec_for(dataflow, 4, 4, 64, 64, 16));
        let mut bench = CoreBench::new(&spec).unwrap();
        let mut rng = Rng::new(61);
        let (m, k, n) = (20, 40, 10);
        let (a, b) = (random(&mut rng, m, k), random(&mut rng, k, n));
        let post = requantization(&mut rng, n);
        let expected = golden(&a, &b, &post);
        for (timing, seed) in [(dram(20, 1), 1), (dram(45, 2), 2), (irregular(63), 3)] {
            let what = format!("{dataflow:?} {timing:?}");
            let planned = bench
                .run_planned(&a, &b, &post, timing, seed)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let (first, count) = mismatches(&expected, &planned.result, 8);
            assert_eq!(count, 0, "{what}: {count} mismatches, first {first:?}");
            assert!(planned.runs >= 4, "{what}: {} runs", planned.runs);
            if timing.jitter.is_some() {
                continue;
            }
            let spec = with_dram(&spec, timing);
            let shape = GemmShape {
                m: m as u64,
                k: k as u64,
                n: n as u64,
            };
            let model =
                schedule::core_program(&spec, shape, RunSettings::storing(Outputs::Bytes), None)
                    .unwrap();
            let descriptors = &planned.program.descriptors;
            assert_eq!(
                descriptors.len(),
                planned.runs + 1,
                "{what}: the runs and a drain"
            );
            assert_eq!(descriptors.len(), model.len(), "{what}");
            for (index, (counters, run)) in descriptors.iter().zip(&model).enumerate() {
                assert_counters_match_model(counters, *run, &format!("{what} descriptor {index}"));
            }
            // The overlap pays: the same runs one after another (load, compute, store) take
            // longer.
            let serial: u64 =
                schedule::core_chunks(&spec, shape, RunSettings::storing(Outputs::Bytes), None)
                    .unwrap()
                    .iter()
                    .map(|chunk| schedule::core_run(&spec, *chunk).busy)
                    .sum();
            let overlapped: u64 = model.iter().map(|run| run.busy).sum();
            assert!(
                overlapped < serial,
                "{what}: {overlapped} overlapped vs {serial} serial cycles"
            );
        }
    }
}

#[test]
fn a_double_buffered_core_with_uneven_halves_and_a_narrow_bus_stores_uint8_int8_and_raw_results() {
    // Halves of 48 ifmap, 24 weight, 6 param and 48 ofmap words (none a power of two, so the
    // half is an address offset); 6 lanes on a 32-bit bus, so a packed result word is 48 bits in
    // two beats, 16 of them padding.
    let mut spec = double_buffered(&core_spec_for(Dataflow::WeightStationary, 4, 6, 96, 48, 12));
    spec.name = format!("{}_d32", spec.name);
    spec.buffers.as_mut().unwrap().dma = DmaSpec {
        data_bits: 32,
        burst_beats: 4,
        outstanding: 2,
    };
    let mut bench = CoreBench::new(&spec).unwrap();
    let mut rng = Rng::new(71);
    let (m, k, n) = (20, 40, 10);
    let (a, b) = (random(&mut rng, m, k), random(&mut rng, k, n));
    let int8 = requantization(&mut rng, n);
    let uint8 = PostProcessing {
        settings: Settings {
            zero_point: 100,
            clamp_min: 0,
            clamp_max: 255,
            bypass: false,
        },
        ..int8.clone()
    };
    let raw = PostProcessing::raw(n);
    for (what, post, outputs) in [
        ("uint8", &uint8, Outputs::Bytes),
        ("int8", &int8, Outputs::Bytes),
        ("raw int32", &raw, Outputs::Words),
    ] {
        assert_eq!(post.outputs(), outputs, "{what}");
        let expected = golden(&a, &b, post);
        if what == "uint8" {
            assert!(
                expected.iter().any(|&v| v >= 128),
                "results above int8's range"
            );
        }
        let timing = dram(20, 1);
        let planned = bench.run_planned(&a, &b, post, timing, 5).unwrap();
        let (first, count) = mismatches(&expected, &planned.result, 8);
        assert_eq!(count, 0, "{what}: {count} mismatches, first {first:?}");
        let shape = GemmShape {
            m: m as u64,
            k: k as u64,
            n: n as u64,
        };
        let model = schedule::core_program(
            &with_dram(&spec, timing),
            shape,
            RunSettings::storing(outputs),
            None,
        )
        .unwrap();
        assert_eq!(planned.program.descriptors.len(), model.len(), "{what}");
        for (index, (counters, run)) in planned.program.descriptors.iter().zip(&model).enumerate() {
            assert_counters_match_model(counters, *run, &format!("{what} descriptor {index}"));
        }
    }
}

#[test]
fn a_window_mode_core_convolves_input_tiles_with_stride_dilation_padding_and_depthwise_bit_exactly()
{
    // 4×4 array: 6 input channels are 2 blocks, the second half padding lanes.
    let same = ConvLayer {
        input: [7, 9, 6],
        output: [7, 9],
        channels: 10,
        kernel: [3, 3],
        stride: [1, 1],
        dilation: [1, 1],
        pad: [1, 1],
        depthwise: false,
    };
    // Strides 2 and 1, dilations 1 and 2, padding above 2 and left 1: (9+2+0−3)/2+1 rows,
    // (8+1+1−3)/1+1 columns.
    let strided = ConvLayer {
        input: [9, 8, 3],
        output: [5, 8],
        channels: 5,
        kernel: [3, 2],
        stride: [2, 1],
        dilation: [1, 2],
        pad: [2, 1],
        depthwise: false,
    };
    let depthwise = ConvLayer {
        input: [6, 6, 8],
        output: [6, 6],
        channels: 8,
        kernel: [3, 3],
        stride: [1, 1],
        dilation: [1, 1],
        pad: [1, 1],
        depthwise: true,
    };
    let single = core_spec_for(Dataflow::WeightStationary, 4, 4, 128, 256, 32);
    for spec in [single.clone(), double_buffered(&single)] {
        let rows = spec.pe_array.rows as usize;
        let mut bench = CoreBench::new(&spec).unwrap();
        let mut rng = Rng::new(83);
        for (name, layer) in [
            ("same", same),
            ("strided", strided),
            ("depthwise", depthwise),
        ] {
            let conv = Convolution::random(layer, rows, I8, &mut rng);
            let post = requantization(&mut rng, layer.channels);
            let expected = conv.expected(rows, &post);
            for (timing, seed) in [(dram(20, 1), 1), (irregular(87), 2)] {
                let what = format!("{} {name} {timing:?}", spec.name);
                // Window mode whether or not the model prefers the im2col GEMMs here.
                let plans =
                    schedule::window_cut(&spec, &layer, RunSettings::storing(Outputs::Bytes))
                        .unwrap();
                let planned = bench
                    .run_window(
                        &plans,
                        &conv.input,
                        conv.pad,
                        (&conv.b, &post),
                        timing,
                        seed,
                    )
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let (first, count) = mismatches(&expected, &planned.result, 8);
                assert_eq!(count, 0, "{what}: {count} mismatches, first {first:?}");
                assert!(planned.runs >= 2, "{what}: {} runs", planned.runs);
                if timing.jitter.is_some() {
                    continue;
                }
                let model = schedule::program(
                    &with_dram(&spec, timing),
                    &plans,
                    RunSettings::storing(Outputs::Bytes),
                    None,
                );
                let descriptors = &planned.program.descriptors;
                assert_eq!(descriptors.len(), model.len(), "{what}");
                for (index, (counters, run)) in descriptors.iter().zip(&model).enumerate() {
                    assert_counters_match_model(
                        counters,
                        *run,
                        &format!("{what} descriptor {index}"),
                    );
                }
                // An input pixel crosses the bus about once per run (halo rows twice), not once per tap.
                let tile_words: u64 = planned.program.total("perf_ifmap_writes");
                let im2col_words = (layer.k_folds(rows) * layer.pixels()) as u64;
                assert!(
                    tile_words * 2 < im2col_words,
                    "{what}: {tile_words} tile words vs {im2col_words} im2col words"
                );
            }
        }
    }
}

#[test]
fn a_queued_program_runs_its_descriptors_back_to_back_with_the_same_results_and_counters() {
    for spec in [
        core_spec(4, 4, 64, 64, 16),
        double_buffered(&core_spec_for(Dataflow::OutputStationary, 4, 4, 64, 64, 16)),
    ] {
        let mut bench = CoreBench::new(&spec).unwrap();
        let mut rng = Rng::new(97);
        let (m, k, n) = (20, 40, 10);
        let (a, b) = (random(&mut rng, m, k), random(&mut rng, k, n));
        let post = requantization(&mut rng, n);
        let sequential = bench.run_planned(&a, &b, &post, dram(20, 1), 1).unwrap();
        bench.set_pacing(Pacing::Queued);
        let queued = bench.run_planned(&a, &b, &post, dram(20, 1), 1).unwrap();
        bench.set_pacing(Pacing::Sequential);
        let what = &spec.name;
        assert!(sequential.runs >= 4, "{what}: {} runs", sequential.runs);
        let (first, count) = mismatches(&golden(&a, &b, &post), &queued.result, 8);
        assert_eq!(count, 0, "{what}: {count} mismatches, first {first:?}");
        for (name, _) in accelgen::blocks::regmap::COUNTERS {
            assert_eq!(
                queued.program.total(name),
                sequential.program.total(name),
                "{what}: {name}"
            );
        }
        // The host programs descriptor i+1 while descriptor i runs: besides the runs, only the
        // first descriptor's programming and the last status poll are left on the wall clock.
        let busy = sequential.program.total("perf_busy_cycles");
        let host = |program: &Program| program.wall_cycles - busy;
        assert!(
            4 * host(&queued.program) < host(&sequential.program),
            "{what}: the host adds {} cycles queued, {} sequential",
            host(&queued.program),
            host(&sequential.program)
        );
    }
}
