//! Driver for the buffered GEMM core (`blocks::gemm_core`, as the top of a config with
//! `buffers:`): lays the operands and the per-channel post-processing parameters out in a DRAM
//! model (`dram`) in the core's word order, programs and starts the core over AXI4-Lite, clocks
//! the DRAM while the core's DMA loads, computes and stores, and reads the results back from
//! DRAM and the counters from the core.

use accelgen::blocks::post_process::{SHIFT_BITS, WORD_BITS};
use accelgen::blocks::{build_design, gemm_core, regmap};
use accelgen::config::{
    AcceleratorSpec, BufferSpec, BuffersSpec, Dataflow, DmaSpec, DramSpec, OperandSpec,
};
use accelgen::golden::requant::QuantizedMultiplier;
use accelgen_sim::{Model, PortId};
use ndarray::Array2;

use crate::array::check_operands;
use crate::axi_lite::{AxiLiteHost, Peripheral};
use crate::bits::{pack, pack_fields, unpack};
use crate::build::build_model;
use crate::dram::{AxiDram, DramPorts, DramStats, DramTiming};
use crate::error::BenchError;
use crate::post_process::Settings;

/// What the core's post-process stage does to column n of the result: add `bias[n]`, then
/// requantize with `multipliers[n]` under `settings` (or pass `acc + bias` through with bypass).
#[derive(Debug, Clone, PartialEq)]
pub struct PostProcessing {
    pub bias: Vec<i32>,
    pub multipliers: Vec<QuantizedMultiplier>,
    pub settings: Settings,
}

impl PostProcessing {
    /// Raw accumulators for `columns` columns: zero bias, bypass.
    pub fn raw(columns: usize) -> PostProcessing {
        PostProcessing {
            bias: vec![0; columns],
            multipliers: vec![
                QuantizedMultiplier {
                    multiplier: 0,
                    shift: 0
                };
                columns
            ],
            settings: Settings {
                zero_point: 0,
                clamp_min: i32::MIN,
                clamp_max: i32::MAX,
                bypass: true,
            },
        }
    }
}

/// An int8 weight-stationary core spec (32-bit accumulators) built directly, with single-bank,
/// single-buffered regions of the given depths in words.
pub fn core_spec(rows: u32, cols: u32, ifmap: u64, weight: u64, psum: u64) -> AcceleratorSpec {
    core_spec_for(Dataflow::WeightStationary, rows, cols, ifmap, weight, psum)
}

/// [`core_spec`] for any dataflow the core is built for.
pub fn core_spec_for(
    dataflow: Dataflow,
    rows: u32,
    cols: u32,
    ifmap: u64,
    weight: u64,
    psum: u64,
) -> AcceleratorSpec {
    let i8 = OperandSpec {
        bits: 8,
        signed: true,
    };
    let mut spec = crate::array::array_spec(dataflow, rows, cols, i8, i8, 32);
    spec.name = format!(
        "tb_core_{}_r{rows}c{cols}_i{ifmap}_w{weight}_p{psum}",
        dataflow.tag()
    );
    let region = |word_bits: u32, depth: u64| BufferSpec {
        word_bits,
        depth,
        banks: 1,
        bank_depth: depth,
        bank_address_bits: (64 - (depth - 1).leading_zeros()).max(1),
        address_bits: (64 - (depth - 1).leading_zeros()).max(1),
        double_buffered: false,
    };
    spec.buffers = Some(BuffersSpec {
        ifmap: region(rows * 8, ifmap),
        weight: region(cols * 8, weight),
        psum: region(cols * 32, psum),
        ofmap: region(cols * 32, 8 * psum),
        memory: Default::default(),
        dma: DmaSpec::default(),
        dram: DramSpec::default(),
    });
    spec
}

/// Where a run sits in a reduction split over several runs (see `blocks::gemm_core`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KChunk {
    /// Add to the psum buffer's contents instead of starting from zero.
    pub accumulate: bool,
    /// Post-process the sums and send them out (else leave them in the psum buffer).
    pub finish: bool,
    /// Load A from DRAM (else the core computes on what the previous run left in its buffer).
    pub load_ifmap: bool,
    /// Load B and the parameters from DRAM (else reuse the buffers' contents).
    pub load_weights: bool,
}

impl KChunk {
    /// A whole reduction in one run.
    pub const WHOLE: KChunk = KChunk {
        accumulate: false,
        finish: true,
        load_ifmap: true,
        load_weights: true,
    };

    /// Chunk `index` of `count`.
    pub fn of(index: usize, count: usize) -> KChunk {
        KChunk {
            accumulate: index > 0,
            finish: index + 1 == count,
            load_ifmap: true,
            load_weights: true,
        }
    }
}

/// What one GEMM on the core produced.
#[derive(Debug, Clone, PartialEq)]
pub struct CoreRun {
    /// M × N post-processed values (signed 32-bit), read back from DRAM; zeros when the run
    /// does not finish.
    pub result: Array2<i64>,
    /// Cycles the core was busy (load, compute, store), from its PERF_BUSY_CYCLES counter.
    pub cycles: u64,
    /// Every performance counter, read over AXI4-Lite after the run: (register, value).
    pub counters: Vec<(&'static str, u32)>,
    /// What the DRAM saw.
    pub dram: DramStats,
}

impl CoreRun {
    /// The value of counter `name` (`perf_act_beats`, …).
    pub fn counter(&self, name: &str) -> u32 {
        self.counters
            .iter()
            .find(|(counter, _)| *counter == name)
            .unwrap_or_else(|| panic!("no counter {name}"))
            .1
    }
}

/// The DRAM behind the core's `m_axi_*` master, clocked with every cycle of the bench.
struct Memory {
    dram: AxiDram,
    ports: DramPorts,
}

impl Peripheral for Memory {
    fn drive(&mut self, model: &mut Model) {
        self.dram.drive(&self.ports, model);
    }
    fn observe(&mut self, model: &Model) -> Result<(), BenchError> {
        self.dram.observe(&self.ports, model)
    }
}

/// Where a run's regions sit in DRAM: one after another, each on a 4 KiB boundary.
#[derive(Debug, Clone, Copy)]
struct Layout {
    ifmap: u64,
    weight: u64,
    param: u64,
    ofmap: u64,
}

/// A built model of one buffered core.
pub struct CoreBench {
    spec: AcceleratorSpec,
    model: Model,
}

impl CoreBench {
    pub fn new(spec: &AcceleratorSpec) -> Result<CoreBench, BenchError> {
        if spec.buffers.is_none() {
            return Err(BenchError::Protocol(format!(
                "{} has no buffers: section, so its top is the bare array (use ArrayBench)",
                spec.name
            )));
        }
        let design = build_design(spec)?;
        let model = build_model(&design, &spec.name, &spec.config_hash)?;
        Ok(CoreBench {
            spec: spec.clone(),
            model,
        })
    }

    /// Resets the core with every input idle and returns an AXI4-Lite master on its register
    /// port (driving handshakes with `eagerness`), for tests of the register file itself.
    pub fn reset_with_host(
        &mut self,
        seed: u64,
        eagerness: f64,
    ) -> Result<AxiLiteHost, BenchError> {
        let host = AxiLiteHost::new(&self.model, seed, eagerness)?;
        host.idle(&mut self.model);
        for port in accelgen::blocks::dma::AXI_PORTS
            .iter()
            .filter(|p| !p.from_master)
        {
            let id = self.port(&format!("m_axi_{}", port.name))?;
            let words = vec![0u32; self.model.width(id).div_ceil(32) as usize];
            self.model.poke_wide(id, &words);
        }
        let (clk, rst) = (self.port("clk")?, self.port("rst")?);
        self.model.poke(rst, 1);
        self.model.step_n(clk, 2);
        self.model.poke(rst, 0);
        Ok(host)
    }

    /// The Verilator model (for tests that drive ports the bench does not).
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    fn port(&self, name: &str) -> Result<PortId, BenchError> {
        Ok(self.model.port(name)?)
    }

    /// Runs C = post(A·B) on the core: the host lays A, B and the parameters out in DRAM in
    /// the core's word order, programs the descriptor over AXI4-Lite and starts the core, whose
    /// DMA loads the buffers, computes and stores the results; the host waits for the interrupt,
    /// reads the counters and takes the results from DRAM. `timing` is the DRAM's.
    pub fn run_gemm(
        &mut self,
        a: &Array2<i64>,
        b: &Array2<i64>,
        post: &PostProcessing,
        chunk: KChunk,
        timing: DramTiming,
        seed: u64,
    ) -> Result<CoreRun, BenchError> {
        let buffers = self.spec.buffers.clone().expect("checked in new");
        let (rows, cols) = (
            self.spec.pe_array.rows as usize,
            self.spec.pe_array.cols as usize,
        );
        let (m_dim, k_dim, n_dim) = check_operands(&self.spec, a, b)?;
        let layout = gemm_core::Layout::of(&self.spec).ok_or_else(|| {
            BenchError::Protocol(format!(
                "{} is {}, which the buffered core is not built for",
                self.spec.name,
                self.spec.pe_array.dataflow.config_name()
            ))
        })?;
        let needs = layout.words(m_dim, k_dim, n_dim);
        let (k_steps, n_folds) = (needs.steps, needs.n_folds);
        if post.bias.len() != n_dim || post.multipliers.len() != n_dim {
            return Err(BenchError::Protocol(format!(
                "post-processing for {} biases and {} multipliers, but B has {n_dim} columns",
                post.bias.len(),
                post.multipliers.len()
            )));
        }
        if let Some(bad) = post
            .multipliers
            .iter()
            .find(|q| !(-31..=31).contains(&q.shift))
        {
            return Err(BenchError::Protocol(format!(
                "shift {} is outside the post-process unit's -31..=31",
                bad.shift
            )));
        }
        let param_depth = gemm_core::param_depth(&self.spec, &buffers.weight);
        for (buffer, needed, depth) in [
            ("ifmap", needs.ifmap, buffers.ifmap.depth),
            ("weight", needs.weight, buffers.weight.depth),
            ("psum", needs.psum, buffers.psum.depth),
            ("ofmap", needs.ofmap, buffers.ofmap.depth),
            ("param", needs.param, param_depth),
        ] {
            if needed as u64 > depth {
                return Err(BenchError::Protocol(format!(
                    "{m_dim}x{k_dim}x{n_dim} needs {needed} {buffer} words; the buffer holds {depth}"
                )));
            }
        }
        let padded = |matrix: &Array2<i64>, row: usize, col: usize| {
            matrix.get((row, col)).copied().unwrap_or(0)
        };

        // The DRAM image, word by word in the core's order (`blocks::gemm_core`).
        let dma = buffers.dma;
        let act_bits = self.spec.pe.act.bits;
        let weight_bits = self.spec.pe.weight.bits;
        let mut ifmap_words = Vec::new();
        let mut weight_words = Vec::new();
        let act_word = |row: &dyn Fn(usize) -> (usize, usize)| {
            let lanes = (0..rows).map(|r| {
                let (m, k) = row(r);
                padded(a, m, k)
            });
            words_of(lanes, act_bits, buffers.ifmap.word_bits)
        };
        let weight_word = |k: usize, n: usize| {
            let lanes = (0..cols).map(|c| padded(b, k, n * cols + c));
            words_of(lanes, weight_bits, buffers.weight.word_bits)
        };
        if self.spec.pe_array.dataflow == Dataflow::OutputStationary {
            // Ifmap word b·K + k: column k of row block b; weight word n·K + k: row k of B.
            for block in 0..m_dim.div_ceil(rows) {
                for k in 0..k_dim {
                    ifmap_words.push(act_word(&|r| (block * rows + r, k)));
                }
            }
            for n in 0..n_folds {
                for k in 0..k_dim {
                    weight_words.push(weight_word(k, n));
                }
            }
        } else {
            // Ifmap word k·M + m: row m's K-fold k; weight word t·R + i: row R−1−i of tile t.
            for k in 0..k_steps {
                for m in 0..m_dim {
                    ifmap_words.push(act_word(&|r| (m, k * rows + r)));
                }
            }
            for n in 0..n_folds {
                for k in 0..k_steps {
                    for i in 0..rows {
                        weight_words.push(weight_word(k * rows + rows - 1 - i, n));
                    }
                }
            }
        }
        // Param word n: biases, then multipliers, then shifts of columns n·C .. n·C+C−1.
        let param_bits = gemm_core::param_word_bits(cols as u32);
        let param_words: Vec<Vec<u32>> = (0..n_folds)
            .map(|n| {
                let lanes = |value: &dyn Fn(usize) -> i64| -> Vec<i64> {
                    (0..cols)
                        .map(|c| {
                            if n * cols + c < n_dim {
                                value(n * cols + c)
                            } else {
                                0
                            }
                        })
                        .collect()
                };
                let biases = lanes(&|j| i64::from(post.bias[j]));
                let multipliers = lanes(&|j| i64::from(post.multipliers[j].multiplier));
                let shifts = lanes(&|j| i64::from(post.multipliers[j].shift));
                let mut packed = vec![0u32; param_bits.div_ceil(32) as usize];
                pack_fields(
                    &[
                        (&biases[..], WORD_BITS),
                        (&multipliers[..], WORD_BITS),
                        (&shifts[..], SHIFT_BITS),
                    ],
                    &mut packed,
                );
                packed
            })
            .collect();
        let region_bytes = |words: usize, word_bits: u32| {
            words as u64 * u64::from(dma.beats_per_word(word_bits)) * dma.beat_bytes()
        };
        let align = |address: u64| address.div_ceil(4096) * 4096;
        let layout = {
            let ifmap = 0x1000;
            let weight = align(ifmap + region_bytes(ifmap_words.len(), buffers.ifmap.word_bits));
            let param = align(weight + region_bytes(weight_words.len(), buffers.weight.word_bits));
            let ofmap = align(param + region_bytes(param_words.len(), param_bits));
            Layout {
                ifmap,
                weight,
                param,
                ofmap,
            }
        };
        let mut dram = AxiDram::new(dma.data_bits, timing);
        for (base, words, word_bits) in [
            (layout.ifmap, &ifmap_words, buffers.ifmap.word_bits),
            (layout.weight, &weight_words, buffers.weight.word_bits),
            (layout.param, &param_words, param_bits),
        ] {
            let stride = region_bytes(1, word_bits);
            for (index, word) in words.iter().enumerate() {
                let bytes: Vec<u8> = word.iter().flat_map(|w| w.to_le_bytes()).collect();
                let used = (word_bits as usize).div_ceil(8);
                dram.write_bytes(base + index as u64 * stride, &bytes[..used]);
            }
        }

        let clk = self.port("clk")?;
        let mut host = self.reset_with_host(seed ^ 0xa41, 0.7)?;
        let ports = AxiDram::bind(&self.model, "m_axi_")?;
        let mut memory = Memory { dram, ports };

        // Program the descriptor over AXI4-Lite, then start with the interrupt enabled.
        let registers = regmap::core_registers(&self.spec);
        let offset = |name: &str| {
            regmap::offset(&registers, name).expect("the core's register map has every field")
        };
        let settings = post.settings;
        for (name, value) in [
            ("m_vectors", m_dim as u32),
            ("k_folds", k_steps as u32),
            ("n_folds", n_folds as u32),
            ("zero_point", settings.zero_point as u32),
            ("clamp_min", settings.clamp_min as u32),
            ("clamp_max", settings.clamp_max as u32),
            ("bypass", u32::from(settings.bypass)),
            ("accumulate", u32::from(chunk.accumulate)),
            ("finish", u32::from(chunk.finish)),
            ("ifmap_addr", layout.ifmap as u32),
            ("weight_addr", layout.weight as u32),
            ("param_addr", layout.param as u32),
            ("ofmap_addr", layout.ofmap as u32),
            ("load_ifmap", u32::from(chunk.load_ifmap)),
            ("load_weights", u32::from(chunk.load_weights)),
        ] {
            host.write_ok_during(&mut self.model, &mut memory, offset(name), value)?;
        }
        let ctrl_bit = |bit| regmap::control_bit(&registers, "ctrl", bit).expect("CTRL has it");
        let start = ctrl_bit("start") | ctrl_bit("irq_enable");
        host.write_ok_during(&mut self.model, &mut memory, offset("ctrl"), start)?;
        let irq = self.port("irq")?;
        let busy_limit = 100_000
            + 64 * (n_folds * k_steps * (m_dim + rows)) as u64
            + 4 * u64::from(timing.latency)
                * (ifmap_words.len() + weight_words.len() + n_folds * m_dim) as u64;
        let mut cycles = 0u64;
        loop {
            memory.drive(&mut self.model);
            self.model.eval();
            if self.model.peek(irq) == 1 {
                break;
            }
            memory.observe(&self.model)?;
            self.model.step(clk);
            cycles += 1;
            if cycles > busy_limit {
                return Err(BenchError::Hang {
                    cycles,
                    idle: cycles,
                    state: format!("no interrupt; the DRAM saw {:?}", memory.dram.stats()),
                });
            }
        }
        memory.observe(&self.model)?;
        self.model.step(clk);
        let status = host.read_ok_during(&mut self.model, &mut memory, offset("status"))?;
        if status != regmap::STATUS_DONE {
            return Err(BenchError::Protocol(format!(
                "after the interrupt STATUS reads {status:#x}, expected DONE and not BUSY"
            )));
        }
        let mut counters = Vec::new();
        for (name, _) in regmap::COUNTERS {
            let value = host.read_ok_during(&mut self.model, &mut memory, offset(name))?;
            counters.push((*name, value));
        }
        if !memory.dram.idle() {
            return Err(BenchError::Protocol(format!(
                "the core reported done with DRAM transfers still in flight ({:?})",
                memory.dram.stats()
            )));
        }

        // The results, from DRAM.
        let mut result = Array2::<i64>::zeros((m_dim, n_dim));
        if chunk.finish {
            let stride = region_bytes(1, buffers.ofmap.word_bits);
            for n in 0..n_folds {
                for m in 0..m_dim {
                    let address = layout.ofmap + (n * m_dim + m) as u64 * stride;
                    let bytes = memory.dram.read_bytes(address, stride as usize);
                    let words: Vec<u32> = bytes
                        .chunks(4)
                        .map(|chunk| {
                            let mut word = [0u8; 4];
                            word[..chunk.len()].copy_from_slice(chunk);
                            u32::from_le_bytes(word)
                        })
                        .collect();
                    for c in 0..cols.min(n_dim - n * cols) {
                        result[[m, n * cols + c]] = unpack(&words, c as u32, WORD_BITS, true);
                    }
                }
            }
        }
        let busy_cycles = counters[0].1;
        Ok(CoreRun {
            result,
            cycles: u64::from(busy_cycles),
            counters,
            dram: memory.dram.stats(),
        })
    }
}

/// One buffer word of `word_bits` bits from its lanes of `lane_bits`, as 32-bit words.
fn words_of(lanes: impl Iterator<Item = i64>, lane_bits: u32, word_bits: u32) -> Vec<u32> {
    let mut words = vec![0u32; word_bits.div_ceil(32) as usize];
    pack(lanes, lane_bits, &mut words);
    words
}
