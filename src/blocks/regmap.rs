//! The register map of the buffered core, in one table: the CSR block is built from it, the C
//! header lists it, and the testbench's host driver addresses the core through it.
//!
//! | offset | register | |
//! |---|---|---|
//! | 0x00 | CTRL | bit 0 START, bit 1 CLEAR_COUNTERS (write 1: one-cycle pulse), bit 2 IRQ_ENABLE |
//! | 0x04 | STATUS | bit 0 BUSY, bit 1 DONE (sticky; write 1 to clear), bit 2 PENDING (a START waits for the running descriptor; the descriptor registers are not taken yet); `irq` = DONE & IRQ_ENABLE |
//! | 0x08 | INFO | ROWS in bits 15..0, COLS in bits 31..16 (read-only) |
//! | 0x10.. | descriptor | M_VECTORS, K_FOLDS, N_FOLDS, ZERO_POINT, CLAMP_MIN, CLAMP_MAX, BYPASS, ACCUMULATE, FINISH, IFMAP_ADDR, WEIGHT_ADDR, PARAM_ADDR, OFMAP_ADDR, LOAD_IFMAP, LOAD_WEIGHTS, PACK_OUTPUTS |
//! | 0x4c.. | double-buffered cores only: OFMAP_ADDR is left out, so LOAD_IFMAP, LOAD_WEIGHTS and PACK_OUTPUTS sit 4 bytes lower and these follow | IFMAP_HALF, WEIGHT_HALF, OFMAP_HALF, PREFETCH_{IFMAP,WEIGHT,PARAM}_ADDR, PREFETCH_{IFMAP,WEIGHT,PARAM}_WORDS, DRAIN_ADDR, DRAIN_WORDS |
//! | then | Stripes (bit-serial, weight-stationary) cores only | ACT_PRECISION |
//! | then | zero-skipping or zero-gating cores only | ACT_ZERO_POINT |
//! | then | zero-skipping cores only | IFMAP_WORDS |
//! | then | weight-skipping cores only | WEIGHT_WORDS |
//! | then | weight-stationary cores only | WINDOW, WINDOW_* (window mode: `gemm_core::window_walker`) |
//! | 0x100.. | counters | PERF_* (read-only, cumulative, cleared by CLEAR_COUNTERS) |

use super::csr::{Kind, Register};
use super::gemm_core::FOLD_BITS;
use crate::config::AcceleratorSpec;
use crate::hdl::bits_for;

/// The performance counters, in register order: (the core's output port, what it counts).
pub const COUNTERS: &[(&str, &str)] = &[
    ("perf_busy_cycles", "cycles with a GEMM running"),
    ("perf_load_cycles", "cycles loading operands from DRAM"),
    ("perf_compute_cycles", "cycles computing"),
    ("perf_store_cycles", "cycles storing results to DRAM"),
    (
        "perf_act_beats",
        "activation vectors into the array (ROWS*COLS MACs each): ifmap buffer reads",
    ),
    (
        "perf_weight_beats",
        "weight vectors into the array: weight buffer reads",
    ),
    (
        "perf_weight_wait_cycles",
        "cycles an offered activation vector waited for the array (bit-serial: p-1 per step too)",
    ),
    ("perf_psum_reads", "psum buffer reads"),
    ("perf_psum_writes", "psum buffer writes"),
    ("perf_results", "result rows written to the ofmap buffer"),
    (
        "perf_ifmap_writes",
        "words the DMA wrote into the ifmap buffer",
    ),
    (
        "perf_weight_writes",
        "words the DMA wrote into the weight buffer",
    ),
    (
        "perf_param_writes",
        "words the DMA wrote into the param buffer",
    ),
    ("perf_dram_read_bytes", "bytes read from DRAM"),
    ("perf_dram_write_bytes", "bytes written to DRAM"),
    (
        "perf_gated_macs",
        "MACs gated on a zero operand (zero-gating cores; 0 on others)",
    ),
];

/// Offset of the first counter.
pub const COUNTERS_BASE: u32 = 0x100;

/// The core's registers for `spec` (which must have buffers).
pub fn core_registers(spec: &AcceleratorSpec) -> Vec<Register> {
    let psum_depth = spec.buffers.as_ref().map_or(1, |b| b.psum.depth);
    let k_doc = match spec.pe_array.dataflow {
        crate::config::Dataflow::OutputStationary => "reduction steps: K",
        _ => "reduction steps: ceil(K / ROWS)",
    };
    let mut descriptor: Vec<(&'static str, u32, &'static str)> = vec![
        (
            "m_vectors",
            bits_for(psum_depth),
            "M: rows of A in this GEMM, at most the psum depth",
        ),
        ("k_folds", FOLD_BITS, k_doc),
        ("n_folds", FOLD_BITS, "ceil(N / COLS)"),
        ("zero_point", 32, "output zero point (two's complement)"),
        ("clamp_min", 32, "lowest output value (two's complement)"),
        ("clamp_max", 32, "highest output value (two's complement)"),
        ("bypass", 1, "1: raw int32 acc + bias, no requantization"),
        (
            "accumulate",
            1,
            "1: the first K-fold adds to the psum buffer",
        ),
        (
            "finish",
            1,
            "1: post-process and store the results; 0: keep the sums",
        ),
        ("ifmap_addr", 32, "DRAM byte address of A's words"),
        ("weight_addr", 32, "DRAM byte address of B's words"),
        ("param_addr", 32, "DRAM byte address of the parameter words"),
        ("ofmap_addr", 32, "DRAM byte address for the results"),
        (
            "load_ifmap",
            1,
            "1: load A before computing (0: reuse the buffer)",
        ),
        (
            "load_weights",
            1,
            "1: load B and the parameters before computing (0: reuse)",
        ),
        (
            "pack_outputs",
            1,
            "1: store results as bytes (int8/uint8 outputs); 0: as 32-bit lanes",
        ),
    ];
    if let Some(buffers) = spec.buffers.as_ref().filter(|b| b.ifmap.double_buffered) {
        // A double-buffered core stores a run's results while the next run computes: the
        // results go out with the next descriptor's drain fields, not to an OFMAP_ADDR.
        descriptor.retain(|(name, _, _)| *name != "ofmap_addr");
        let words = |buffer: &crate::config::BufferSpec| bits_for(buffer.run_depth());
        let params = super::gemm_core::param_depth(spec, &buffers.weight);
        descriptor.extend([
            (
                "ifmap_half",
                1,
                "half of the ifmap buffer this run reads A from",
            ),
            (
                "weight_half",
                1,
                "half of the weight and param buffers this run reads B and the parameters from",
            ),
            (
                "ofmap_half",
                1,
                "half of the ofmap buffer this run's results go to",
            ),
            (
                "prefetch_ifmap_addr",
                32,
                "DRAM byte address of the next run's A",
            ),
            (
                "prefetch_weight_addr",
                32,
                "DRAM byte address of the next run's B",
            ),
            (
                "prefetch_param_addr",
                32,
                "DRAM byte address of the next run's parameters",
            ),
            (
                "prefetch_ifmap_words",
                words(&buffers.ifmap),
                "words of the next run's A (0: none)",
            ),
            (
                "prefetch_weight_words",
                words(&buffers.weight),
                "words of the next run's B (0: none)",
            ),
            (
                "prefetch_param_words",
                bits_for(params),
                "words of the next run's parameters (0: none)",
            ),
            (
                "drain_addr",
                32,
                "DRAM byte address for the previous run's results",
            ),
            (
                "drain_words",
                words(&buffers.ofmap),
                "words of the previous run's results (0: none)",
            ),
        ]);
    }
    if spec.pe.kind.is_stripes() {
        descriptor.push((
            "act_precision",
            bits_for(u64::from(spec.pe.act.bits)),
            "bits streamed per activation (Stripes array), 1..=ACT_BITS; 0 reads as ACT_BITS",
        ));
    }
    if spec.zero_skip.centres() {
        descriptor.push((
            "act_zero_point",
            spec.pe.act.bits,
            "the stored activations' zero point (zero-skipping or -gating core: it is subtracted)",
        ));
    }
    if let Some(buffers) = spec.buffers.as_ref().filter(|_| spec.zero_skip.activations) {
        descriptor.push((
            "ifmap_words",
            bits_for(buffers.ifmap.run_depth()),
            "words of the run's compacted ifmap (zero-skipping core)",
        ));
    }
    if let Some(buffers) = spec.buffers.as_ref().filter(|_| spec.zero_skip.weights) {
        descriptor.push((
            "weight_words",
            bits_for(buffers.weight.run_depth()),
            "words of the run's compacted weights (weight-skipping core)",
        ));
    }
    if super::gemm_core::has_window_mode(spec) {
        descriptor.extend(super::gemm_core::window_walker::fields(spec));
    }
    let mut registers = vec![
        Register {
            name: "ctrl",
            offset: 0x00,
            kind: Kind::Control {
                pulses: vec!["start", "clear_counters"],
                levels: vec!["irq_enable"],
            },
            doc: "bit 0 START, bit 1 CLEAR_COUNTERS (pulses), bit 2 IRQ_ENABLE",
        },
        Register {
            name: "status",
            offset: 0x04,
            kind: Kind::Status,
            doc: "bit 0 BUSY, bit 1 DONE (sticky, write 1 to clear), bit 2 PENDING",
        },
        Register {
            name: "info",
            offset: 0x08,
            kind: Kind::ReadOnly { width: 32 },
            doc: "ROWS in bits 15..0, COLS in bits 31..16",
        },
    ];
    assert!(
        0x10 + 4 * descriptor.len() as u32 <= COUNTERS_BASE,
        "the descriptor registers run into the counters"
    );
    for (index, (name, width, doc)) in descriptor.into_iter().enumerate() {
        registers.push(Register {
            name,
            offset: 0x10 + 4 * index as u32,
            kind: Kind::ReadWrite { width },
            doc,
        });
    }
    for (index, (name, doc)) in COUNTERS.iter().enumerate() {
        registers.push(Register {
            name,
            offset: COUNTERS_BASE + 4 * index as u32,
            kind: Kind::ReadOnly { width: 32 },
            doc,
        });
    }
    registers
}

/// The byte offset of register `name` in `registers`.
pub fn offset(registers: &[Register], name: &str) -> Option<u32> {
    registers
        .iter()
        .find(|register| register.name == name)
        .map(|register| register.offset)
}

/// The mask of bit `bit` of control register `register` in `registers` (pulses first, then
/// levels, from bit 0), e.g. `control_bit(&map, "ctrl", "start")`.
pub fn control_bit(registers: &[Register], register: &str, bit: &str) -> Option<u32> {
    registers
        .iter()
        .find(|candidate| candidate.name == register)
        .and_then(|found| match &found.kind {
            Kind::Control { pulses, levels } => pulses
                .iter()
                .chain(levels.iter())
                .position(|name| *name == bit)
                .map(|position| 1 << position),
            _ => None,
        })
}

/// STATUS bits, fixed by [`Kind::Status`]: BUSY and the sticky DONE.
pub const STATUS_BUSY: u32 = 1 << 0;
pub const STATUS_DONE: u32 = 1 << 1;
/// A START written while busy waits here; the core takes the descriptor registers when the
/// running descriptor ends, so the host may rewrite them once PENDING is clear.
pub const STATUS_PENDING: u32 = 1 << 2;
