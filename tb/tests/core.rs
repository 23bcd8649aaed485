//! RTL-vs-golden tests of the buffered GEMM core: operands and per-channel parameters loaded into
//! its buffers, one start, results through K-fold accumulation in the psum buffer and the
//! post-process unit, compared bit-exactly with `golden::gemm::gemm` and `golden::requant`; at
//! full rate the cycles equal `golden::cycles::gemm_core_cycles`.

use accelgen::config::{AcceleratorSpec, OperandSpec};
use accelgen::golden::cycles::{gemm_core_cycles, ArrayShape, GemmShape};
use accelgen::golden::gemm::{gemm, wrap_signed};
use accelgen::golden::requant::{quantize_multiplier, OutputClamp};
use accelgen::golden::Requantizer;
use accelgen_tb::array::{mismatches, operand_range};
use accelgen_tb::core::{core_spec, CoreBench, KChunk, PostProcessing};
use accelgen_tb::post_process::Settings;
use accelgen_tb::Rng;
use ndarray::Array2;

const I8: OperandSpec = OperandSpec {
    bits: 8,
    signed: true,
};

fn random(rng: &mut Rng, rows: usize, cols: usize) -> Array2<i64> {
    let (low, high) = operand_range(I8);
    Array2::from_shape_fn((rows, cols), |_| rng.range_inclusive(low, high))
}

/// Per-channel biases and multipliers like a real layer's, int8 output with a zero point.
fn requantization(rng: &mut Rng, columns: usize) -> PostProcessing {
    PostProcessing {
        bias: (0..columns)
            .map(|_| rng.range_inclusive(-5000, 5000) as i32)
            .collect(),
        multipliers: (0..columns)
            .map(|_| quantize_multiplier(rng.range_inclusive(1, 1 << 20) as f64 * 1e-9))
            .collect(),
        settings: Settings {
            zero_point: -7,
            clamp_min: -128,
            clamp_max: 127,
            bypass: false,
        },
    }
}

/// What the core must output: the golden GEMM, plus bias, through the golden requantizer.
fn golden(a: &Array2<i64>, b: &Array2<i64>, post: &PostProcessing) -> Array2<i64> {
    let settings = post.settings;
    let requantizer = Requantizer::from_multipliers(
        post.multipliers.clone(),
        OutputClamp {
            zero_point: settings.zero_point,
            min: settings.clamp_min,
            max: settings.clamp_max,
        },
    );
    let mut product = gemm(a, b, 32);
    for ((_, n), value) in product.indexed_iter_mut() {
        let sum = wrap_signed(*value + i64::from(post.bias[n]), 32) as i32;
        *value = i64::from(if settings.bypass {
            sum
        } else {
            requantizer.requantize(sum, n)
        });
    }
    product
}

/// Runs a random M×K×N GEMM (raw or requantized) and checks it against golden; at full rate
/// also the cycles.
fn check(
    bench: &mut CoreBench,
    spec: &AcceleratorSpec,
    (m, k, n): (usize, usize, usize),
    requantize: bool,
    ready: f64,
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
        .run_gemm(&a, &b, &post, KChunk::WHOLE, ready, seed)
        .unwrap_or_else(|e| panic!("{m}x{k}x{n}: {e}"));
    let (first, count) = mismatches(&golden(&a, &b, &post), &run.result, 8);
    assert_eq!(count, 0, "{m}x{k}x{n}: {count} mismatches, first {first:?}");
    // The counters tell the tiling: M vectors and R weight rows per tile, K-folds × N-folds
    // tiles; every fold but the first reads the psum buffer, every fold but the last writes it.
    let (rows, cols) = (spec.pe_array.rows as usize, spec.pe_array.cols as usize);
    let (k_folds, n_folds) = (k.div_ceil(rows), n.div_ceil(cols));
    let tiles = (k_folds * n_folds) as u32;
    let expected = [
        ("perf_act_beats", tiles * m as u32),
        ("perf_weight_beats", tiles * rows as u32),
        ("perf_results", (n_folds * m) as u32),
        ("perf_psum_reads", ((k_folds - 1) * n_folds * m) as u32),
        ("perf_psum_writes", ((k_folds - 1) * n_folds * m) as u32),
        (
            "perf_buffer_writes",
            (k_folds * m + tiles as usize * rows + n_folds) as u32,
        ),
    ];
    for (counter, value) in expected {
        assert_eq!(run.counter(counter), value, "{m}x{k}x{n}: {counter}");
    }
    if ready < 1.0 && n_folds * m > 4 {
        assert!(
            run.counter("perf_result_stall_cycles") > 0,
            "{m}x{k}x{n}: no stall counted"
        );
    }
    if ready == 1.0 {
        assert_eq!(run.counter("perf_result_stall_cycles"), 0);
        let array = ArrayShape {
            rows: spec.pe_array.rows.into(),
            cols: spec.pe_array.cols.into(),
        };
        let shape = GemmShape {
            m: m as u64,
            k: k as u64,
            n: n as u64,
        };
        let model = gemm_core_cycles(array, shape, true);
        assert_eq!(
            run.cycles, model,
            "{m}x{k}x{n}: core cycles vs golden::cycles"
        );
    }
}

#[test]
fn core_accumulates_k_folds_in_the_psum_buffer_bit_exactly_with_and_without_back_pressure() {
    let spec = core_spec(2, 3, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    for (shape, seed) in [
        ((5, 7, 8), 1),
        ((1, 1, 1), 2),
        ((16, 2, 3), 3),
        ((3, 9, 7), 4),
        ((12, 5, 2), 5),
    ] {
        check(&mut bench, &spec, shape, false, 1.0, seed);
        check(&mut bench, &spec, shape, false, 0.4, seed + 100);
    }
}

#[test]
fn core_requantizes_each_channel_with_its_own_bias_multiplier_and_shift() {
    let spec = core_spec(2, 3, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    for (shape, seed) in [((5, 7, 8), 11), ((16, 4, 9), 12), ((1, 13, 1), 13)] {
        check(&mut bench, &spec, shape, true, 1.0, seed);
        check(&mut bench, &spec, shape, true, 0.3, seed + 100);
    }
}

#[test]
fn eight_by_eight_core_runs_64_cubed_from_its_buffers_at_the_arrays_full_rate() {
    let spec = core_spec(8, 8, 512, 512, 64);
    let mut bench = CoreBench::new(&spec).unwrap();
    check(&mut bench, &spec, (64, 64, 64), true, 1.0, 7);
    check(&mut bench, &spec, (19, 21, 13), true, 0.5, 8);
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
            1.0,
            0,
        )
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("needs 17 psum words; the buffer holds 16"),
        "{error}"
    );
}

#[test]
fn a_reduction_split_over_runs_accumulates_in_the_psum_buffer_and_finishes_once() {
    // K = 40 in chunks of 14, 14 and 12: only the last run sends results, and they equal the
    // whole GEMM's; the runs that do not finish take no post-process cycles.
    let spec = core_spec(2, 3, 64, 64, 16);
    let mut bench = CoreBench::new(&spec).unwrap();
    let mut rng = Rng::new(21);
    let (a, b) = (random(&mut rng, 9, 40), random(&mut rng, 40, 3));
    let post = requantization(&mut rng, 3);
    let array = ArrayShape { rows: 2, cols: 3 };
    let chunks = [(0, 14), (14, 28), (28, 40)];
    let mut last = None;
    for (index, &(k0, k1)) in chunks.iter().enumerate() {
        let chunk = KChunk::of(index, chunks.len());
        let a_part = a.slice(ndarray::s![.., k0..k1]).to_owned();
        let b_part = b.slice(ndarray::s![k0..k1, ..]).to_owned();
        let run = bench
            .run_gemm(&a_part, &b_part, &post, chunk, 1.0, 30 + index as u64)
            .unwrap();
        let shape = GemmShape {
            m: 9,
            k: (k1 - k0) as u64,
            n: 3,
        };
        assert_eq!(
            run.cycles,
            gemm_core_cycles(array, shape, chunk.finish),
            "chunk {index}"
        );
        last = Some(run);
    }
    let (first, count) = mismatches(&golden(&a, &b, &post), &last.unwrap().result, 8);
    assert_eq!(count, 0, "{count} mismatches, first {first:?}");
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
