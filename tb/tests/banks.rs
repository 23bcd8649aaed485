//! RTL tests of banked buffer regions (`buffers.<region>.banks`, `blocks::storage`): a core whose
//! regions are split into banks, on register files and on sky130 SRAM wrappers, single- and
//! double-buffered, computes bit-exactly what `golden::gemm::gemm` and `golden::requant` say, and
//! takes exactly the cycles (and counts exactly the events) of the same core with one bank per
//! region: banking changes where a word lives, never when it is read.

use accelgen::config::{AcceleratorSpec, Dataflow, MemoryKind};
use accelgen_tb::array::mismatches;
use accelgen_tb::checks::{dram, golden, irregular, random, requantization};
use accelgen_tb::core::{
    core_spec, core_spec_for, double_buffered, CoreBench, KChunk, PostProcessing,
};
use accelgen_tb::dram::DramTiming;
use accelgen_tb::Rng;
use ndarray::Array2;

/// `spec` with its ifmap, weight, psum and ofmap regions in `banks` banks, the bank geometry as
/// config validation derives it.
fn banked(spec: &AcceleratorSpec, banks: [u32; 4]) -> AcceleratorSpec {
    let mut spec = spec.clone();
    spec.name = format!(
        "{}_banks{}",
        spec.name,
        banks.map(|b| b.to_string()).join("_")
    );
    let buffers = spec.buffers.as_mut().expect("a core spec has buffers");
    let regions = [
        &mut buffers.ifmap,
        &mut buffers.weight,
        &mut buffers.psum,
        &mut buffers.ofmap,
    ];
    for (region, banks) in regions.into_iter().zip(banks) {
        let parts = u64::from(banks) * if region.double_buffered { 2 } else { 1 };
        assert_eq!(
            region.depth % parts,
            0,
            "validation would refuse {banks} banks"
        );
        region.banks = banks;
        region.bank_depth = region.depth / u64::from(banks);
        region.bank_address_bits = (64 - (region.bank_depth - 1).leading_zeros()).max(1);
    }
    spec
}

/// Random operands and post-processing of an M×K×N GEMM.
fn operands(
    (m, k, n): (usize, usize, usize),
    requantize: bool,
    seed: u64,
) -> (Array2<i64>, Array2<i64>, PostProcessing) {
    let mut rng = Rng::new(seed);
    let (a, b) = (random(&mut rng, m, k), random(&mut rng, k, n));
    let post = if requantize {
        requantization(&mut rng, n)
    } else {
        PostProcessing::raw(n)
    };
    (a, b, post)
}

/// Runs one GEMM as one run on `banked` and on `reference` (the same core with one bank per
/// region): `banked`'s results must equal golden, and its busy cycles and every counter
/// `reference`'s.
fn check_run(
    banked: &mut CoreBench,
    reference: &mut CoreBench,
    shape: (usize, usize, usize),
    requantize: bool,
    timing: DramTiming,
    seed: u64,
) {
    let what = format!("{shape:?} {timing:?}");
    let (a, b, post) = operands(shape, requantize, seed);
    let run = banked
        .run_gemm(&a, &b, &post, KChunk::WHOLE, timing, seed)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let (first, count) = mismatches(&golden(&a, &b, &post), &run.result, 8);
    assert_eq!(count, 0, "{what}: {count} mismatches, first {first:?}");
    let expected = reference
        .run_gemm(&a, &b, &post, KChunk::WHOLE, timing, seed)
        .unwrap_or_else(|e| panic!("{what} (one bank): {e}"));
    assert_eq!(run.cycles, expected.cycles, "{what}: busy cycles");
    assert_eq!(run.counters, expected.counters, "{what}: counters");
}

/// Runs a GEMM larger than the buffers, cut into runs, on `banked` and `reference`: results
/// equal golden, every descriptor's counters (busy cycles first) equal `reference`'s.
fn check_planned(
    banked: &mut CoreBench,
    reference: &mut CoreBench,
    shape: (usize, usize, usize),
    timing: DramTiming,
    seed: u64,
) {
    let what = format!("{shape:?} {timing:?}");
    let (a, b, post) = operands(shape, true, seed);
    let planned = banked
        .run_planned(&a, &b, &post, timing, seed)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let (first, count) = mismatches(&golden(&a, &b, &post), &planned.result, 8);
    assert_eq!(count, 0, "{what}: {count} mismatches, first {first:?}");
    assert!(planned.runs > 1, "{what}: {} run(s)", planned.runs);
    let expected = reference
        .run_planned(&a, &b, &post, timing, seed)
        .unwrap_or_else(|e| panic!("{what} (one bank): {e}"));
    assert_eq!(planned.runs, expected.runs, "{what}: runs");
    assert_eq!(
        planned.program.descriptors, expected.program.descriptors,
        "{what}: every descriptor's counters"
    );
}

/// A 2×3 weight-stationary core whose ifmap (60 words), weight (48) and psum (16) depths split
/// into banks of odd and power-of-two depths; the ofmap holds 128 words.
fn small_core() -> AcceleratorSpec {
    core_spec(2, 3, 60, 48, 16)
}

#[test]
fn banked_register_files_are_bit_exact_and_take_the_cycles_of_one_bank_per_region() {
    // ifmap: 3 banks of 20 words, weight: 2 of 24 (odd depths: comparisons and subtraction);
    // psum: 4 of 4, ofmap: 2 of 64 (top address bits).
    let plain = small_core();
    let mut bench = CoreBench::new(&banked(&plain, [3, 2, 4, 2])).unwrap();
    let mut reference = CoreBench::new(&plain).unwrap();
    // 12×9×9 fills the ifmap to its last word, 7×13×5 reaches the weight's second bank.
    for (shape, requantize, seed) in [
        ((5, 7, 8), true, 1),
        ((1, 1, 1), false, 2),
        ((16, 6, 5), true, 3),
        ((7, 13, 5), false, 4),
        ((12, 9, 9), true, 5),
    ] {
        check_run(
            &mut bench,
            &mut reference,
            shape,
            requantize,
            dram(20, 1),
            seed,
        );
    }
    check_run(
        &mut bench,
        &mut reference,
        (9, 11, 7),
        true,
        irregular(6),
        6,
    );
    check_planned(&mut bench, &mut reference, (20, 30, 10), dram(20, 1), 7);
}

#[test]
fn a_double_buffered_banked_core_is_bit_exact_and_takes_the_cycles_of_one_bank_per_region() {
    for dataflow in [Dataflow::WeightStationary, Dataflow::OutputStationary] {
        // Halves of 48 ifmap words over 3 banks of 32 (bank 1 straddles the halves), 24 weight
        // words in banks of 24, 64 ofmap words over 4 banks of 32; psum: 2 banks of 8.
        let plain = double_buffered(&core_spec_for(dataflow, 4, 4, 96, 48, 16));
        let mut bench = CoreBench::new(&banked(&plain, [3, 2, 2, 4])).unwrap();
        let mut reference = CoreBench::new(&plain).unwrap();
        for (timing, seed) in [(dram(20, 1), 11), (irregular(12), 12)] {
            check_planned(&mut bench, &mut reference, (20, 40, 10), timing, seed);
        }
    }
}

#[test]
fn banked_sky130_sram_wrappers_are_bit_exact_and_take_the_cycles_of_one_register_file_per_region() {
    // One wrapper per bank (20, 24, 8 and 64 words: none a whole number of 256-word macros);
    // sky130 macros and register files read alike, so the reference is the register-file core.
    let plain = small_core();
    let mut spec = banked(&plain, [3, 2, 2, 2]);
    spec.name = format!("{}_sram", spec.name);
    spec.buffers.as_mut().unwrap().memory = MemoryKind::Sky130Sram;
    let mut bench = CoreBench::new(&spec).unwrap();
    let mut reference = CoreBench::new(&plain).unwrap();
    for (shape, requantize, seed) in [
        ((5, 7, 8), true, 21),
        ((1, 13, 4), false, 22),
        ((12, 9, 9), true, 23),
    ] {
        check_run(
            &mut bench,
            &mut reference,
            shape,
            requantize,
            dram(20, 1),
            seed,
        );
    }
}
