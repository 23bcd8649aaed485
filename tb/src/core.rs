//! Driver for the buffered GEMM core (`blocks::gemm_core`, as the top of a config with
//! `buffers:`): writes the operands and the per-channel post-processing parameters into the
//! buffers in the core's layout through its write ports, starts the GEMM with its descriptor,
//! collects the results under a random `result_ready` and counts the cycles from the start to
//! the last result.

use accelgen::blocks::post_process::{SHIFT_BITS, WORD_BITS};
use accelgen::blocks::{build_design, regmap};
use accelgen::config::{AcceleratorSpec, BufferSpec, BuffersSpec, Dataflow, OperandSpec};
use accelgen::golden::requant::QuantizedMultiplier;
use accelgen_sim::{Model, PortId};
use ndarray::Array2;

use crate::array::check_operands;
use crate::axi_lite::AxiLiteHost;
use crate::bits::{pack, pack_fields, unpack};
use crate::build::build_model;
use crate::error::BenchError;
use crate::post_process::Settings;

use crate::rng::Rng;

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
    let i8 = OperandSpec {
        bits: 8,
        signed: true,
    };
    let mut spec = crate::array::array_spec(Dataflow::WeightStationary, rows, cols, i8, i8, 32);
    spec.name = format!("tb_core_r{rows}c{cols}_i{ifmap}_w{weight}_p{psum}");
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
}

impl KChunk {
    /// A whole reduction in one run.
    pub const WHOLE: KChunk = KChunk {
        accumulate: false,
        finish: true,
    };

    /// Chunk `index` of `count`.
    pub fn of(index: usize, count: usize) -> KChunk {
        KChunk {
            accumulate: index > 0,
            finish: index + 1 == count,
        }
    }
}

/// What one GEMM on the core produced.
#[derive(Debug, Clone, PartialEq)]
pub struct CoreRun {
    /// M × N post-processed values (signed 32-bit); zeros when the run does not finish.
    pub result: Array2<i64>,
    /// Cycles the core was busy, from its PERF_BUSY_CYCLES counter.
    pub cycles: u64,
    /// Cycles spent writing the buffers before the start (one word per cycle).
    pub load_cycles: u64,
    /// Every performance counter, read over AXI4-Lite after the run: (register, value).
    pub counters: Vec<(&'static str, u32)>,
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
        for name in [
            "ifmap_wr_valid",
            "weight_wr_valid",
            "param_wr_valid",
            "result_ready",
        ] {
            let port = self.port(name)?;
            self.model.poke(port, 0);
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

    /// Runs C = post(A·B) through the buffers; `result_ready` is the chance per cycle that the
    /// result consumer is ready, drawn from `seed`.
    pub fn run_gemm(
        &mut self,
        a: &Array2<i64>,
        b: &Array2<i64>,
        post: &PostProcessing,
        chunk: KChunk,
        result_ready: f64,
        seed: u64,
    ) -> Result<CoreRun, BenchError> {
        let buffers = self.spec.buffers.clone().expect("checked in new");
        let (rows, cols) = (
            self.spec.pe_array.rows as usize,
            self.spec.pe_array.cols as usize,
        );
        let (m_dim, k_dim, n_dim) = check_operands(&self.spec, a, b)?;
        let (k_folds, n_folds) = (k_dim.div_ceil(rows), n_dim.div_ceil(cols));
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
        let param_depth = (buffers.weight.depth / rows as u64).max(2);
        for (buffer, needed, depth) in [
            ("ifmap", k_folds * m_dim, buffers.ifmap.depth),
            ("weight", n_folds * k_folds * rows, buffers.weight.depth),
            ("psum", m_dim, buffers.psum.depth),
            ("param", n_folds, param_depth),
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

        let clk = self.port("clk")?;
        let mut host = self.reset_with_host(seed ^ 0xa41, 0.7)?;

        // Load the buffers, one word per cycle.
        let mut load_cycles = 0;
        let act_bits = self.spec.pe.act.bits;
        let weight_bits = self.spec.pe.weight.bits;
        let mut ifmap_words = Vec::new();
        for k in 0..k_folds {
            for m in 0..m_dim {
                let lanes: Vec<i64> = (0..rows).map(|r| padded(a, m, k * rows + r)).collect();
                ifmap_words.push(((k * m_dim + m) as u64, lanes));
            }
        }
        let mut weight_words = Vec::new();
        for n in 0..n_folds {
            for k in 0..k_folds {
                for i in 0..rows {
                    let row = k * rows + rows - 1 - i;
                    let lanes: Vec<i64> = (0..cols).map(|c| padded(b, row, n * cols + c)).collect();
                    weight_words.push((((n * k_folds + k) * rows + i) as u64, lanes));
                }
            }
        }
        // Param word n: biases, then multipliers, then shifts of columns n·C .. n·C+C−1.
        let param_words: Vec<(u64, [Vec<i64>; 3])> = (0..n_folds)
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
                let fields = [
                    lanes(&|j| i64::from(post.bias[j])),
                    lanes(&|j| i64::from(post.multipliers[j].multiplier)),
                    lanes(&|j| i64::from(post.multipliers[j].shift)),
                ];
                (n as u64, fields)
            })
            .collect();
        for (name, words, lane_bits) in [
            ("ifmap", ifmap_words, act_bits),
            ("weight", weight_words, weight_bits),
        ] {
            let valid = self.port(&format!("{name}_wr_valid"))?;
            let address = self.port(&format!("{name}_wr_addr"))?;
            let data = self.port(&format!("{name}_wr_data"))?;
            let mut packed = vec![0u32; self.model.width(data).div_ceil(32) as usize];
            self.model.poke(valid, 1);
            for (word, lanes) in words {
                pack(lanes.into_iter(), lane_bits, &mut packed);
                self.model.poke(address, word);
                self.model.poke_wide(data, &packed);
                self.model.step(clk);
                load_cycles += 1;
            }
            self.model.poke(valid, 0);
        }
        let (valid, address, data) = (
            self.port("param_wr_valid")?,
            self.port("param_wr_addr")?,
            self.port("param_wr_data")?,
        );
        let mut packed = vec![0u32; self.model.width(data).div_ceil(32) as usize];
        self.model.poke(valid, 1);
        for (word, [biases, multipliers, shifts]) in param_words {
            let fields = [
                (&biases[..], WORD_BITS),
                (&multipliers[..], WORD_BITS),
                (&shifts[..], SHIFT_BITS),
            ];
            pack_fields(&fields, &mut packed);
            self.model.poke(address, word);
            self.model.poke_wide(data, &packed);
            self.model.step(clk);
            load_cycles += 1;
        }
        self.model.poke(valid, 0);

        // Program the descriptor over AXI4-Lite, then start with the interrupt enabled.
        let registers = regmap::core_registers(&self.spec);
        let offset = |name: &str| {
            regmap::offset(&registers, name).expect("the core's register map has every field")
        };
        let settings = post.settings;
        for (name, value) in [
            ("m_vectors", m_dim as u32),
            ("k_folds", k_folds as u32),
            ("n_folds", n_folds as u32),
            ("zero_point", settings.zero_point as u32),
            ("clamp_min", settings.clamp_min as u32),
            ("clamp_max", settings.clamp_max as u32),
            ("bypass", u32::from(settings.bypass)),
            ("accumulate", u32::from(chunk.accumulate)),
            ("finish", u32::from(chunk.finish)),
        ] {
            host.write_ok(&mut self.model, offset(name), value)?;
        }
        let ctrl_bit = |bit| regmap::control_bit(&registers, "ctrl", bit).expect("CTRL has it");
        let start = ctrl_bit("start") | ctrl_bit("irq_enable");
        host.write_ok(&mut self.model, offset("ctrl"), start)?;
        let irq = self.port("irq")?;
        let (ready, valid) = (self.port("result_ready")?, self.port("result_valid")?);
        let (data, last) = (self.port("result_data")?, self.port("result_last")?);

        let mut words = vec![0u32; self.model.width(data).div_ceil(32) as usize];
        let mut result = Array2::<i64>::zeros((m_dim, n_dim));
        let mut rng = Rng::new(seed);
        let (mut received, mut cycles, mut idle) = (0usize, 1u64, 0u64);
        let expected = if chunk.finish { n_folds * m_dim } else { 0 };
        loop {
            let is_ready = rng.chance(result_ready);
            self.model.poke(ready, u64::from(is_ready));
            self.model.eval();
            if self.model.peek(irq) == 1 {
                break;
            }
            let fire = is_ready && self.model.peek(valid) == 1;
            if fire {
                if received == expected {
                    return Err(BenchError::Protocol(format!(
                        "the core sent more than the {expected} result rows of {m_dim}x{k_dim}x{n_dim}"
                    )));
                }
                let (n, m) = (received / m_dim, received % m_dim);
                let is_last = self.model.peek(last) == 1;
                if is_last != (m == m_dim - 1) {
                    return Err(BenchError::Protocol(format!(
                        "result row {m} of N-fold {n} has result_last={is_last}"
                    )));
                }
                self.model.peek_wide_into(data, &mut words);
                for c in 0..cols.min(n_dim - n * cols) {
                    result[[m, n * cols + c]] = unpack(&words, c as u32, WORD_BITS, true);
                }
                received += 1;
            }
            self.model.step(clk);
            cycles += 1;
            // Without results to wait for, a run may take its whole full-rate length in silence.
            let silence_limit = if chunk.finish {
                10_000
            } else {
                10_000 + 4 * (n_folds * k_folds * (m_dim + rows)) as u64
            };
            if fire {
                idle = 0;
            } else {
                idle += 1;
                if idle > silence_limit {
                    return Err(BenchError::Hang {
                        cycles,
                        idle,
                        state: format!("results {received}/{expected}, done never pulsed"),
                    });
                }
            }
        }
        if received != expected {
            return Err(BenchError::Protocol(format!(
                "done pulsed after {received} of {expected} result rows"
            )));
        }
        let status = host.read_ok(&mut self.model, offset("status"))?;
        if status != regmap::STATUS_DONE {
            return Err(BenchError::Protocol(format!(
                "after the interrupt STATUS reads {status:#x}, expected DONE and not BUSY"
            )));
        }
        let mut counters = Vec::new();
        for (name, _) in regmap::COUNTERS {
            counters.push((*name, host.read_ok(&mut self.model, offset(name))?));
        }
        let busy_cycles = counters[0].1;
        Ok(CoreRun {
            result,
            cycles: u64::from(busy_cycles),
            load_cycles,
            counters,
        })
    }
}
