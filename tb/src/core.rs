//! Driver for the buffered GEMM core (`blocks::gemm_core`, as the top of a config with
//! `buffers:`): lays the operands and the per-channel post-processing parameters out in a DRAM
//! model (`dram`) in the core's word order, programs and starts the core over AXI4-Lite, clocks
//! the DRAM while the core's DMA loads, computes and stores, and reads the results back from
//! DRAM and the counters from the core.

use accelgen::blocks::gemm_core::PACKED_BITS;
use accelgen::blocks::post_process::{SHIFT_BITS, WORD_BITS};
use accelgen::blocks::{build_design, gemm_core, regmap};
use accelgen::config::{
    AcceleratorSpec, BufferSpec, BuffersSpec, Dataflow, DmaSpec, DramSpec, Im2col, OperandSpec,
    PeKind, SerialMode,
};
use accelgen::golden::cycles::GemmShape;
use accelgen::golden::dma::{self as dma_model, Outputs, RunSettings};
use accelgen::golden::profile::stream_bits;
use accelgen::golden::requant::QuantizedMultiplier;
use accelgen::golden::zero_skip::ZeroMap;
use accelgen::report::schedule;
use accelgen_sim::{Model, PortId};
use ndarray::{s, Array2, Array3};

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
    /// The post-processing of columns `columns` only.
    pub fn columns(&self, columns: std::ops::Range<usize>) -> PostProcessing {
        PostProcessing {
            bias: self.bias[columns.clone()].to_vec(),
            multipliers: self.multipliers[columns].to_vec(),
            settings: self.settings,
        }
    }

    /// How the core stores these results ([`Settings::outputs`]).
    pub fn outputs(&self) -> Outputs {
        self.settings.outputs()
    }

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
        im2col: if dataflow == Dataflow::WeightStationary {
            Im2col::Hardware
        } else {
            Im2col::Host
        },
        dma: DmaSpec::default(),
        dram: DramSpec::default(),
    });
    spec
}

/// `spec` with its ifmap, weight and ofmap regions double-buffered: the same words, two halves
/// each, so a run may use half of each while the DMA fills and drains the other.
pub fn double_buffered(spec: &AcceleratorSpec) -> AcceleratorSpec {
    let mut spec = spec.clone();
    spec.name = format!("{}_db", spec.name);
    let buffers = spec.buffers.as_mut().expect("a core spec has buffers");
    for region in [&mut buffers.ifmap, &mut buffers.weight, &mut buffers.ofmap] {
        region.double_buffered = true;
    }
    spec
}

/// `spec` (a weight-stationary core) with bit-serial (Stripes) PEs, under its own name.
pub fn bit_serial(spec: &AcceleratorSpec) -> AcceleratorSpec {
    let mut spec = spec.clone();
    spec.name = format!("{}_bs", spec.name);
    spec.pe.kind = PeKind::BitSerial(SerialMode::Stripes);
    spec
}

/// `spec` (an output-stationary core) skipping zero activations, under its own name: its
/// ifmap words grow by the index a compacted word carries (`config::ZeroSkipSpec`).
pub fn zero_skipping(spec: &AcceleratorSpec) -> AcceleratorSpec {
    spec.with_activation_skipping(true, format!("{}_zs", spec.name))
}

/// `spec` (an output-stationary core) skipping zero weights, under its own name: its weight
/// words grow by the index a compacted word carries (`config::ZeroSkipSpec::weights`).
pub fn weight_skipping(spec: &AcceleratorSpec) -> AcceleratorSpec {
    spec.with_weight_skipping(true, format!("{}_zw", spec.name))
}

/// `spec` (an output-stationary core) gating its PEs on zero operands, under its own name
/// (`config::ZeroSkipSpec::gating`).
pub fn zero_gating(spec: &AcceleratorSpec) -> AcceleratorSpec {
    let mut spec = spec.clone();
    spec.zero_skip.gating = true;
    spec.name = format!("{}_zg", spec.name);
    spec
}

/// `spec` (an output-stationary core) skipping zero activations with Bit-Pragmatic PEs, under
/// its own name: the combined core (`config::SerialMode::Pragmatic`).
pub fn pragmatic(spec: &AcceleratorSpec) -> AcceleratorSpec {
    let mut spec = spec.with_activation_skipping(true, format!("{}_pg", spec.name));
    spec.pe.kind = accelgen::config::PeKind::BitSerial(accelgen::config::SerialMode::Pragmatic);
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

    /// The chunk a planned run is.
    pub fn of_plan(plan: &gemm_core::RunPlan) -> KChunk {
        KChunk {
            accumulate: plan.accumulate,
            finish: plan.finish,
            load_ifmap: plan.load_ifmap,
            load_weights: plan.load_weights,
        }
    }

    /// What `gemm_core::pipeline` needs of it.
    pub fn flags(&self) -> gemm_core::RunFlags {
        gemm_core::RunFlags {
            load_ifmap: self.load_ifmap,
            load_weights: self.load_weights,
            finish: self.finish,
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
    /// Clock cycles so far.
    cycles: u64,
}

impl Peripheral for Memory {
    fn drive(&mut self, model: &mut Model) {
        self.dram.drive(&self.ports, model);
    }
    fn observe(&mut self, model: &Model) -> Result<(), BenchError> {
        self.cycles += 1;
        self.dram.observe(&self.ports, model)
    }
}

/// How the host paces a program's descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacing {
    /// One descriptor at a time: program, start, wait for the interrupt, read the counters.
    /// Every descriptor's counters are known; the host's programming adds time between runs.
    #[default]
    Sequential,
    /// Program the next descriptor while one runs and queue its START (STATUS.PENDING): the
    /// runs follow back to back, and the counters are read once, for the whole program.
    Queued,
}

/// Reads every counter and returns what it gained since `previous` (updated).
fn read_counters(
    host: &mut AxiLiteHost,
    model: &mut Model,
    memory: &mut Memory,
    previous: &mut [u32],
) -> Result<Vec<(&'static str, u32)>, BenchError> {
    let mut counters = Vec::with_capacity(regmap::COUNTERS.len());
    for (index, ((name, _), before)) in regmap::COUNTERS.iter().zip(previous.iter_mut()).enumerate()
    {
        let offset = regmap::COUNTERS_BASE + 4 * index as u32;
        let value = host.read_ok_during(model, memory, offset)?;
        counters.push((*name, value.wrapping_sub(*before)));
        *before = value;
    }
    Ok(counters)
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
    pacing: Pacing,
    /// The range of the stored activations the runs stream (`RunSettings::act_range`): a
    /// bit-serial core's precision.
    act_range: Option<(i64, i64)>,
    /// The stored value of a real zero activation: what a zero-skipping core skips.
    act_zero_point: i64,
    /// A zero-skipping core: `a_zp·Σ_k w[k][n]` over the runs of the reduction in progress
    /// (kept across programs, since a reduction may be split over several).
    bias_chain: Vec<i64>,
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
            pacing: Pacing::Sequential,
            act_range: None,
            act_zero_point: 0,
            bias_chain: Vec::new(),
        })
    }

    /// How the host paces the descriptors of the programs this bench runs from now on.
    pub fn set_pacing(&mut self, pacing: Pacing) {
        self.pacing = pacing;
    }

    /// The range of the stored activations of the programs this bench runs from now on (a
    /// layer's, `LoweredLayer::act_range`); a bit-serial core streams the fewest bits that hold
    /// it (`RunSettings::serial_bits`), the full width while it is `None`.
    pub fn set_act_range(&mut self, range: Option<(i64, i64)>) {
        self.act_range = range;
    }

    /// The stored value of a real zero activation in the programs this bench runs from now on
    /// (a layer's input zero point; 0 until set). A zero-skipping core drops the columns of a
    /// row block that are all this value, and subtracts it from the rest; the bench folds it
    /// back into each finishing run's bias, so the core computes post(A·B) as any other.
    pub fn set_act_zero_point(&mut self, zero_point: i64) {
        self.act_zero_point = zero_point;
    }

    /// Where `a` (a GEMM's stored activations) is not this bench's zero point and `b` (its
    /// weights) is zero, for the model of a zero-skipping or -gating core (`None` on others).
    pub fn zeros(&self, a: &Array2<i64>, b: &Array2<i64>) -> Option<ZeroMap> {
        let skip = self.spec.zero_skip;
        (skip.centres() || skip.weights)
            .then(|| ZeroMap::of(a, self.act_zero_point).with_weights(b))
    }

    /// The settings the cycle model takes for runs with `post`'s results and this bench's
    /// activation range.
    pub fn settings(&self, post: &PostProcessing) -> RunSettings {
        RunSettings {
            outputs: post.outputs(),
            act_range: self.act_range,
        }
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

    /// Runs C = post(A·B) on the core as one run (see [`CoreBench::run_program`]); the counters
    /// are the sums over the program's descriptors (one, or on a double-buffered core the run
    /// and the closing drain).
    pub fn run_gemm(
        &mut self,
        a: &Array2<i64>,
        b: &Array2<i64>,
        post: &PostProcessing,
        chunk: KChunk,
        timing: DramTiming,
        seed: u64,
    ) -> Result<CoreRun, BenchError> {
        let request = RunRequest {
            a: Activations::Matrix(a),
            b,
            post,
            chunk,
        };
        let mut program = self.run_program(&[request], timing, seed)?;
        let mut counters = program.descriptors.remove(0);
        for descriptor in &program.descriptors {
            for ((_, sum), (_, value)) in counters.iter_mut().zip(descriptor) {
                *sum += value;
            }
        }
        Ok(CoreRun {
            result: program.results.remove(0),
            cycles: u64::from(counters[0].1),
            counters,
            dram: program.dram,
        })
    }

    /// Runs C = post(A·B) for a GEMM of any size: cut into runs as `report::schedule::core_plan`
    /// cuts it for the cycle model, and run as one program.
    /// `post` covers all N columns.
    pub fn run_planned(
        &mut self,
        a: &Array2<i64>,
        b: &Array2<i64>,
        post: &PostProcessing,
        timing: DramTiming,
        seed: u64,
    ) -> Result<Planned, BenchError> {
        let (m_dim, k_dim, n_dim) = check_operands(&self.spec, a, b)?;
        let shape = GemmShape {
            m: m_dim as u64,
            k: k_dim as u64,
            n: n_dim as u64,
        };
        let zeros = self.zeros(a, b);
        let plans = schedule::core_plan(&self.spec, shape, self.settings(post), zeros.as_ref())
            .ok_or_else(|| {
                BenchError::Protocol(format!(
                    "{m_dim}x{k_dim}x{n_dim}: one reduction step does not fit the weight buffer"
                ))
            })?;
        let operands: Vec<(Array2<i64>, Array2<i64>, PostProcessing)> = plans
            .iter()
            .map(|plan| {
                let a = a
                    .slice(s![plan.rows.clone(), plan.depth.clone()])
                    .to_owned();
                let b = b
                    .slice(s![plan.depth.clone(), plan.columns.clone()])
                    .to_owned();
                (a, b, post.columns(plan.columns.clone()))
            })
            .collect();
        let requests: Vec<RunRequest> = plans
            .iter()
            .zip(&operands)
            .map(|(plan, (a, b, post))| RunRequest {
                a: Activations::Matrix(a),
                b,
                post,
                chunk: KChunk::of_plan(plan),
            })
            .collect();
        self.run_plans(&plans, &requests, (m_dim, n_dim), timing, seed)
    }

    /// Runs a convolution in window mode as the runs `plans` (`gemm_core::plan_window_runs`,
    /// or `report::schedule::window_plan`'s choice): the core reads the im2col rows out of
    /// input tiles (`gemm_core::window`). `input` is the layer's H × W × C stored input, `pad`
    /// its zero point, `b` the K × N weights in the window's fold order (each tap's channels
    /// padded to whole blocks; diagonal blocks when depthwise) and `post` covers all N columns.
    /// The result is output pixels × channels.
    pub fn run_window(
        &mut self,
        plans: &[gemm_core::RunPlan],
        input: &Array3<i64>,
        pad: i64,
        (b, post): (&Array2<i64>, &PostProcessing),
        timing: DramTiming,
        seed: u64,
    ) -> Result<Planned, BenchError> {
        let pixels = plans.iter().map(|plan| plan.rows.end).max().unwrap_or(0);
        let operands: Vec<(Array2<i64>, PostProcessing)> = plans
            .iter()
            .map(|plan| {
                let b = b.slice(s![.., plan.columns.clone()]).to_owned();
                (b, post.columns(plan.columns.clone()))
            })
            .collect();
        let requests: Vec<RunRequest> = plans
            .iter()
            .zip(&operands)
            .map(|(plan, (b, post))| RunRequest {
                a: Activations::Window {
                    window: plan
                        .window
                        .as_ref()
                        .expect("a window plan's runs have windows"),
                    input,
                    pad,
                },
                b,
                post,
                chunk: KChunk::of_plan(plan),
            })
            .collect();
        self.run_plans(plans, &requests, (pixels, b.ncols()), timing, seed)
    }

    /// Runs `requests` (one per planned run) as one program and puts each finished run's results
    /// where its plan says in the `shape` (M × N) result.
    fn run_plans(
        &mut self,
        plans: &[gemm_core::RunPlan],
        requests: &[RunRequest],
        (m_dim, n_dim): (usize, usize),
        timing: DramTiming,
        seed: u64,
    ) -> Result<Planned, BenchError> {
        let program = self.run_program(requests, timing, seed)?;
        let mut result = Array2::<i64>::zeros((m_dim, n_dim));
        for (plan, part) in plans.iter().zip(&program.results) {
            if plan.finish {
                result
                    .slice_mut(s![plan.rows.clone(), plan.columns.clone()])
                    .assign(part);
            }
        }
        Ok(Planned {
            result,
            runs: plans.len(),
            program,
        })
    }

    /// Runs a sequence of GEMMs on the core, one run each, in one DRAM: the host lays every
    /// run's A, B and parameters out in the core's word order, then programs and starts one
    /// descriptor after the other over AXI4-Lite, waiting for the interrupt in between, reads
    /// each descriptor's counters and finally takes the results from DRAM. A run that does not
    /// load an operand reuses what the previous run left in the buffers. On a double-buffered
    /// core the descriptors are the pipelined program (`gemm_core::pipeline`): each run's DMA
    /// prefetches the next run's operands and drains the previous run's results, and a last
    /// descriptor drains the last run. `timing` is the DRAM's.
    pub fn run_program(
        &mut self,
        requests: &[RunRequest],
        timing: DramTiming,
        seed: u64,
    ) -> Result<Program, BenchError> {
        let buffers = self.spec.buffers.clone().expect("checked in new");
        let double = buffers.ifmap.double_buffered;
        let shifts = self.bias_shifts(requests);
        let images = requests
            .iter()
            .zip(&shifts)
            .map(|(request, shift)| self.image(request, shift))
            .collect::<Result<Vec<_>, _>>()?;

        // The DRAM: every run's regions one after another, each on a 4 KiB boundary.
        let dma = buffers.dma;
        let param_bits = gemm_core::param_word_bits(self.spec.pe_array.cols);
        let region_bytes = |words: usize, word_bits: u32| {
            words as u64 * u64::from(dma.beats_per_word(word_bits)) * dma.beat_bytes()
        };
        let mut dram = AxiDram::new(dma.data_bits, timing);
        let mut next_free = 0x1000u64;
        let mut allocate = |bytes: u64| {
            let base = next_free;
            next_free = (base + bytes.max(1)).div_ceil(4096) * 4096;
            base
        };
        let mut layouts = Vec::with_capacity(images.len());
        for (request, image) in requests.iter().zip(&images) {
            let mut place = |load: bool, words: &[Vec<u32>], word_bits: u32| {
                if !load {
                    return 0;
                }
                let base = allocate(region_bytes(words.len(), word_bits));
                let stride = region_bytes(1, word_bits);
                for (index, word) in words.iter().enumerate() {
                    let bytes: Vec<u8> = word.iter().flat_map(|w| w.to_le_bytes()).collect();
                    let used = (word_bits as usize).div_ceil(8);
                    dram.write_bytes(base + index as u64 * stride, &bytes[..used]);
                }
                base
            };
            let chunk = request.chunk;
            let ifmap = place(chunk.load_ifmap, &image.ifmap, buffers.ifmap.word_bits);
            let weight = place(chunk.load_weights, &image.weight, buffers.weight.word_bits);
            let param = place(chunk.load_weights, &image.param, param_bits);
            let stored_bits = dma_model::ofmap_word_bits(&self.spec, request.post.outputs())
                .expect("a core has buffers");
            let ofmap = if chunk.finish {
                allocate(region_bytes(image.words.ofmap, stored_bits))
            } else {
                0
            };
            layouts.push(Layout {
                ifmap,
                weight,
                param,
                ofmap,
            });
        }

        let clk = self.port("clk")?;
        let mut host = self.reset_with_host(seed ^ 0xa41, 0.7)?;
        let ports = AxiDram::bind(&self.model, "m_axi_")?;
        let mut memory = Memory {
            dram,
            ports,
            cycles: 0,
        };
        let registers = regmap::core_registers(&self.spec);
        let offset = |name: &str| {
            regmap::offset(&registers, name).expect("the core's register map has every field")
        };
        let ctrl_bit = |bit| regmap::control_bit(&registers, "ctrl", bit).expect("CTRL has it");
        let irq = self.port("irq")?;
        let serial_bits = dma_model::serial_bits(&self.spec, self.act_range);
        // A bit-serial core streams that many bits: an activation that needs more would lose its
        // top bits silently, so a stale `set_act_range` is refused here.
        if let Some(bits) = serial_bits {
            for (index, request) in requests.iter().enumerate() {
                let Some((min, max)) = request.a.range() else {
                    continue;
                };
                let needed = stream_bits(min, max, self.spec.pe.act);
                if needed > bits {
                    return Err(BenchError::Protocol(format!(
                        "run {index}'s activations span {min}..={max}, {needed} bits, but the \
                         bench's activation range sets {bits} (CoreBench::set_act_range)"
                    )));
                }
            }
        }
        // A core with window mode: its ifmap address width and pad lane width.
        let window_bits = gemm_core::has_window_mode(&self.spec).then(|| {
            (
                accelgen::hdl::clog2(buffers.ifmap.run_depth()),
                self.spec.pe.act.bits,
            )
        });

        let flags: Vec<gemm_core::RunFlags> = requests
            .iter()
            .map(|request| request.chunk.flags())
            .collect();
        let stages: Vec<gemm_core::Stage> = if double {
            gemm_core::pipeline(&flags)
        } else {
            (0..requests.len())
                .map(|i| gemm_core::Stage {
                    run: Some(i),
                    loads_own: true,
                    prefetch: None,
                    drain: None,
                    ifmap_half: false,
                    weight_half: false,
                    ofmap_half: false,
                })
                .collect()
        };
        let work = |i: usize| {
            let words = &images[i].words;
            words.n_folds * words.steps * (requests[i].a.rows() + 64)
                + words.ifmap
                + words.weight
                + words.ofmap
        };
        let limit = |stage: &gemm_core::Stage| {
            let words = [stage.run, stage.prefetch, stage.drain]
                .iter()
                .flatten()
                .map(|&i| work(i))
                .sum::<usize>();
            100_000 + 64 * (1 + u64::from(timing.latency)) * words as u64
        };
        let hang = |stage: &dyn std::fmt::Debug, cycles: u64, memory: &Memory| BenchError::Hang {
            cycles,
            idle: cycles,
            state: format!(
                "no end of descriptor {stage:?}; the DRAM saw {:?}",
                memory.dram.stats()
            ),
        };
        let first_cycle = memory.cycles;
        let mut descriptors = Vec::with_capacity(stages.len());
        let mut previous: Vec<u32> = vec![0; regmap::COUNTERS.len()];
        for (index, stage) in stages.iter().enumerate() {
            if self.pacing == Pacing::Queued && index > 0 {
                // The previous START is queued until the running descriptor ends; only then
                // may its registers be rewritten.
                let since = memory.cycles;
                while host.read_ok_during(&mut self.model, &mut memory, offset("status"))?
                    & regmap::STATUS_PENDING
                    != 0
                {
                    if memory.cycles - since > limit(&stages[index - 1]) {
                        return Err(hang(&stages[index - 1], memory.cycles - since, &memory));
                    }
                }
            }
            let mut fields = descriptor(stage, requests, &images, &layouts, window_bits, double);
            if let Some(bits) = serial_bits {
                fields.push(("act_precision", bits));
            }
            if self.spec.zero_skip.centres() {
                let mask = (1i64 << self.spec.pe.act.bits) - 1;
                fields.push(("act_zero_point", (self.act_zero_point & mask) as u32));
            }
            if self.spec.zero_skip.activations {
                let words = stage.run.map_or(0, |i| images[i].words.ifmap);
                fields.push(("ifmap_words", words as u32));
            }
            if self.spec.zero_skip.weights {
                let words = stage.run.map_or(0, |i| images[i].words.weight);
                fields.push(("weight_words", words as u32));
            }
            for (name, value) in fields {
                host.write_ok_during(&mut self.model, &mut memory, offset(name), value)?;
            }
            let start = ctrl_bit("start") | ctrl_bit("irq_enable");
            host.write_ok_during(&mut self.model, &mut memory, offset("ctrl"), start)?;
            if self.pacing == Pacing::Queued {
                continue;
            }
            let busy_limit = limit(stage);
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
                    return Err(hang(stage, cycles, &memory));
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
            // Clear DONE (and with it the interrupt) for the next descriptor.
            host.write_ok_during(
                &mut self.model,
                &mut memory,
                offset("status"),
                regmap::STATUS_DONE,
            )?;
            descriptors.push(read_counters(
                &mut host,
                &mut self.model,
                &mut memory,
                &mut previous,
            )?);
        }
        if self.pacing == Pacing::Queued {
            // The last descriptor ends: not busy, nothing queued.
            let since = memory.cycles;
            let last = stages.last().expect("a program has a descriptor");
            loop {
                let status = host.read_ok_during(&mut self.model, &mut memory, offset("status"))?;
                if status & (regmap::STATUS_BUSY | regmap::STATUS_PENDING) == 0 {
                    if status & regmap::STATUS_DONE == 0 {
                        return Err(BenchError::Protocol(format!(
                            "the queued program ended with STATUS {status:#x}, without DONE"
                        )));
                    }
                    break;
                }
                if memory.cycles - since > limit(last) {
                    return Err(hang(last, memory.cycles - since, &memory));
                }
            }
            host.write_ok_during(
                &mut self.model,
                &mut memory,
                offset("status"),
                regmap::STATUS_DONE,
            )?;
            descriptors.push(read_counters(
                &mut host,
                &mut self.model,
                &mut memory,
                &mut previous,
            )?);
        }
        let wall_cycles = memory.cycles - first_cycle;
        if !memory.dram.idle() {
            return Err(BenchError::Protocol(format!(
                "the core reported done with DRAM transfers still in flight ({:?})",
                memory.dram.stats()
            )));
        }

        // The results, from DRAM: 32-bit lanes, or a byte per lane when packed.
        let cols = self.spec.pe_array.cols as usize;
        let mut results = Vec::with_capacity(requests.len());
        for ((request, image), layout) in requests.iter().zip(&images).zip(&layouts) {
            let outputs = request.post.outputs();
            let stored_bits =
                dma_model::ofmap_word_bits(&self.spec, outputs).expect("a core has buffers");
            let stride = region_bytes(1, stored_bits);
            let (lane_bits, signed) = match outputs {
                Outputs::Bytes => (PACKED_BITS, request.post.settings.clamp_min < 0),
                Outputs::Words => (WORD_BITS, true),
            };
            let (m_dim, n_dim) = (request.a.rows(), request.b.ncols());
            let mut result = Array2::<i64>::zeros((m_dim, n_dim));
            if request.chunk.finish {
                for n in 0..image.words.n_folds {
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
                            result[[m, n * cols + c]] = unpack(&words, c as u32, lane_bits, signed);
                        }
                    }
                }
            }
            results.push(result);
        }
        Ok(Program {
            results,
            descriptors,
            wall_cycles,
            dram: memory.dram.stats(),
        })
    }

    /// What a centring (zero-skipping or -gating) core's host adds to each run's biases: the
    /// core sums (a − a_zp)·w, so the run that finishes a chain of runs over one reduction (the
    /// first without `accumulate`, the last with `finish`, in this program or across several)
    /// gets a_zp·Σ_k w[k][n] over the chain's whole B back. Empty vectors (nothing to add) on
    /// other cores.
    fn bias_shifts(&mut self, requests: &[RunRequest]) -> Vec<Vec<i64>> {
        if !self.spec.zero_skip.centres() {
            return vec![Vec::new(); requests.len()];
        }
        let mut shifts = Vec::with_capacity(requests.len());
        for request in requests {
            if !request.chunk.accumulate {
                self.bias_chain.clear();
            }
            let sums = request.b.sum_axis(ndarray::Axis(0));
            self.bias_chain.resize(sums.len(), 0);
            for (total, sum) in self.bias_chain.iter_mut().zip(sums) {
                *total += self.act_zero_point * sum;
            }
            shifts.push(if request.chunk.finish {
                self.bias_chain.clone()
            } else {
                Vec::new()
            });
        }
        shifts
    }

    /// Checks one run against the core and lays its operands out in the core's word order
    /// (`blocks::gemm_core`), with `bias_shift[n]` added to column n's bias.
    fn image(&self, request: &RunRequest, bias_shift: &[i64]) -> Result<Image, BenchError> {
        let (b, post) = (request.b, request.post);
        let buffers = self.spec.buffers.clone().expect("checked in new");
        let (rows, cols) = (
            self.spec.pe_array.rows as usize,
            self.spec.pe_array.cols as usize,
        );
        let (m_dim, k_dim, n_dim) = match request.a {
            Activations::Matrix(a) => check_operands(&self.spec, a, b)?,
            Activations::Window { window, input, .. } => {
                check_window(&self.spec, window, input, b)?
            }
        };
        let layout = gemm_core::Layout::of(&self.spec).ok_or_else(|| {
            BenchError::Protocol(format!(
                "{} is {}, which the buffered core is not built for",
                self.spec.name,
                self.spec.pe_array.dataflow.config_name()
            ))
        })?;
        let mut needs = layout.words(m_dim, k_dim, n_dim);
        if let Activations::Window { window, .. } = request.a {
            needs.ifmap = window.words();
        }
        // A skipping core loads only the compacted operand's kept words: each row block's
        // kept columns of A, or each N-fold's kept rows of B (one map of the run serves both).
        let zeros = match request.a {
            Activations::Matrix(a) => self.zeros(a, b),
            Activations::Window { .. } => None,
        };
        let skip = self.spec.zero_skip;
        let kept = zeros
            .as_ref()
            .filter(|_| skip.activations)
            .map(|zeros| zeros.kept_columns(0..m_dim, 0..k_dim, rows));
        let kept_steps = zeros
            .as_ref()
            .filter(|_| skip.weights)
            .and_then(|zeros| zeros.kept_steps(0..k_dim, 0..n_dim, cols));
        if let Some(kept) = &kept {
            needs.ifmap = kept.iter().map(Vec::len).sum();
        }
        if let Some(kept) = &kept_steps {
            needs.weight = kept.iter().map(Vec::len).sum();
        }
        if kept.is_some() || kept_steps.is_some() {
            let limit = 1usize << accelgen::config::ZeroSkipSpec::NEXT_INDEX_BITS;
            if k_dim > limit {
                return Err(BenchError::Protocol(format!(
                    "K = {k_dim}: a compacted word's next index holds reduction steps below \
                     {limit}"
                )));
            }
        }
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
            ("ifmap", needs.ifmap, buffers.ifmap.run_depth()),
            ("weight", needs.weight, buffers.weight.run_depth()),
            ("psum", needs.psum, buffers.psum.run_depth()),
            ("ofmap", needs.ofmap, buffers.ofmap.run_depth()),
            ("param", needs.param, param_depth),
        ] {
            if needed as u64 > depth {
                return Err(BenchError::Protocol(format!(
                    "{m_dim}x{k_dim}x{n_dim} needs {needed} {buffer} words; a run may use {depth}"
                )));
            }
        }
        let padded = |matrix: &Array2<i64>, row: usize, col: usize| {
            matrix.get((row, col)).copied().unwrap_or(0)
        };

        let act_bits = self.spec.pe.act.bits;
        let weight_bits = self.spec.pe.weight.bits;
        let mut ifmap = Vec::new();
        let mut weight = Vec::new();
        let act_word = |lane: &dyn Fn(usize) -> i64| {
            words_of((0..rows).map(lane), act_bits, buffers.ifmap.word_bits)
        };
        let weight_word = |k: usize, n: usize| {
            let lanes = (0..cols).map(|c| padded(b, k, n * cols + c));
            words_of(lanes, weight_bits, buffers.weight.word_bits)
        };
        if let Activations::Window { window, input, pad } = request.a {
            // Tile word (y·W + x)·CB + b: channels b·R .. b·R+R−1 of pixel (y, x).
            let channels = input.dim().2;
            for y in window.input_rows.clone() {
                for x in 0..window.in_width {
                    for block in 0..window.blocks {
                        ifmap.push(act_word(&|r| {
                            let c = block * rows + r;
                            if c < channels {
                                input[[y, x, c]]
                            } else {
                                pad
                            }
                        }));
                    }
                }
            }
        }
        if self.spec.pe_array.dataflow == Dataflow::OutputStationary {
            let Activations::Matrix(a) = request.a else {
                unreachable!("check_window refuses output-stationary cores")
            };
            // Ifmap word b·K + k: column k of row block b; weight word n·K + k: row k of B.
            match &kept {
                None => {
                    // A centring core's padding rows are the zero point: real zeros.
                    let pad = if self.spec.zero_skip.centres() {
                        self.act_zero_point
                    } else {
                        0
                    };
                    let lane = |row: usize, k: usize| a.get((row, k)).copied().unwrap_or(pad);
                    for block in 0..m_dim.div_ceil(rows) {
                        for k in 0..k_dim {
                            ifmap.push(act_word(&|r| lane(block * rows + r, k)));
                        }
                    }
                }
                // Zero skipping: each block's kept columns, the block's last flagged, each
                // word with the next word's column (the last word: the first's, 0).
                Some(kept) => {
                    let zero = self.act_zero_point;
                    let lane = |row: usize, k: usize| a.get((row, k)).copied().unwrap_or(zero);
                    ifmap =
                        compacted_words(kept, (act_bits, buffers.ifmap.word_bits), |block, k| {
                            (0..rows).map(|r| lane(block * rows + r, k)).collect()
                        });
                }
            }
            match &kept_steps {
                None => {
                    for n in 0..n_folds {
                        for k in 0..k_dim {
                            weight.push(weight_word(k, n));
                        }
                    }
                }
                // Weight skipping: each N-fold's kept rows, the fold's last flagged, each word
                // with the next word's step (the last word: the next fold's first, 0).
                Some(kept) => {
                    let word_bits = buffers.weight.word_bits;
                    weight = compacted_words(kept, (weight_bits, word_bits), |n, k| {
                        (0..cols).map(|c| padded(b, k, n * cols + c)).collect()
                    });
                }
            }
        } else {
            // Ifmap word k·M + m: row m's K-fold k; weight word t·R + i: row R−1−i of tile t.
            if let Activations::Matrix(a) = request.a {
                for k in 0..k_steps {
                    for m in 0..m_dim {
                        ifmap.push(act_word(&|r| padded(a, m, k * rows + r)));
                    }
                }
            }
            for n in 0..n_folds {
                for k in 0..k_steps {
                    for i in 0..rows {
                        weight.push(weight_word(k * rows + rows - 1 - i, n));
                    }
                }
            }
        }
        // Param word n: biases, then multipliers, then shifts of columns n·C .. n·C+C−1.
        let param_bits = gemm_core::param_word_bits(cols as u32);
        let param = (0..n_folds)
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
                let biases = lanes(&|j| {
                    // The parameter word holds 32-bit lanes: wrap as the core's sums do.
                    let shifted = i64::from(post.bias[j]) + bias_shift.get(j).copied().unwrap_or(0);
                    i64::from(shifted as i32)
                });
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
        Ok(Image {
            words: needs,
            ifmap,
            weight,
            param,
        })
    }
}

/// The activations of a run.
#[derive(Debug, Clone, Copy)]
pub enum Activations<'a> {
    /// A's M × K stored values, sent in the dataflow's word order.
    Matrix(&'a Array2<i64>),
    /// Window mode (weight-stationary): the tile of `input` (H × W × C stored values) that
    /// `window` covers; the core walks it for the im2col rows, padding with `pad`.
    Window {
        window: &'a gemm_core::Window,
        input: &'a Array3<i64>,
        pad: i64,
    },
}

impl Activations<'_> {
    /// M: rows of A (output pixels of a window).
    pub fn rows(&self) -> usize {
        match self {
            Activations::Matrix(a) => a.nrows(),
            Activations::Window { window, .. } => window.pixels(),
        }
    }

    /// The least and greatest stored value the run streams (a window's input, without the
    /// padding value); `None` when there is none.
    fn range(&self) -> Option<(i64, i64)> {
        let values: Box<dyn Iterator<Item = &i64>> = match self {
            Activations::Matrix(a) => Box::new(a.iter()),
            Activations::Window { input, .. } => Box::new(input.iter()),
        };
        values.fold(None, |range, &value| match range {
            None => Some((value, value)),
            Some((min, max)) => Some((min.min(value), max.max(value))),
        })
    }
}

/// Checks a window-mode run: a weight-stationary core, B's rows whole K-folds, a tile inside
/// `input`, and values that fit the operands. Returns (M, K, N).
fn check_window(
    spec: &AcceleratorSpec,
    window: &gemm_core::Window,
    input: &Array3<i64>,
    b: &Array2<i64>,
) -> Result<(usize, usize, usize), BenchError> {
    let rows = spec.pe_array.rows as usize;
    let (height, width, channels) = input.dim();
    let problem = if spec.pe_array.dataflow != Dataflow::WeightStationary {
        Some("window mode needs a weight-stationary core".to_string())
    } else if !b.nrows().is_multiple_of(rows) || b.nrows() == 0 || b.ncols() == 0 {
        Some(format!(
            "B has {} rows, not whole K-folds of {rows}",
            b.nrows()
        ))
    } else if window.input_rows.end > height || window.in_width != width {
        Some(format!(
            "the window's tile (rows {:?}, width {}) is not inside the {height}x{width} input",
            window.input_rows, window.in_width
        ))
    } else if channels > window.blocks * rows {
        Some(format!(
            "{channels} channels do not fit {} blocks of {rows}",
            window.blocks
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(BenchError::Protocol(problem));
    }
    let (low, high) = crate::array::operand_range(spec.pe.act);
    if let Some(value) = input.iter().find(|v| !(low..=high).contains(*v)) {
        return Err(BenchError::Protocol(format!(
            "input value {value} does not fit the array's {} activations",
            spec.pe.act.tag()
        )));
    }
    crate::array::check_range("B", b, spec.pe.weight)?;
    Ok((window.pixels(), b.nrows(), b.ncols()))
}

/// One run of a program: C = post(A·B) for the rows, depth and columns it covers.
pub struct RunRequest<'a> {
    pub a: Activations<'a>,
    pub b: &'a Array2<i64>,
    pub post: &'a PostProcessing,
    pub chunk: KChunk,
}

/// What [`CoreBench::run_planned`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The M × N results.
    pub result: Array2<i64>,
    /// Runs the GEMM was cut into.
    pub runs: usize,
    pub program: Program,
}

impl Program {
    /// Counter `name` summed over every descriptor.
    pub fn total(&self, name: &str) -> u64 {
        self.descriptors
            .iter()
            .flatten()
            .filter(|(counter, _)| *counter == name)
            .map(|(_, value)| u64::from(*value))
            .sum()
    }
}

/// What a program produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// Each run's M × N results (zeros for a run that does not finish).
    pub results: Vec<Array2<i64>>,
    /// Each descriptor's counters (what it added to every PERF_* register), in the order the
    /// host gave them; a queued program ([`Pacing::Queued`]) has one entry, the whole program's.
    pub descriptors: Vec<Vec<(&'static str, u32)>>,
    /// Cycles from the host's first register write to its seeing the last descriptor end:
    /// the runs and whatever time the host's programming adds between them.
    pub wall_cycles: u64,
    /// What the DRAM saw.
    pub dram: DramStats,
}

/// A run's operands in the core's word order, as 32-bit words per buffer word.
struct Image {
    words: gemm_core::Words,
    ifmap: Vec<Vec<u32>>,
    weight: Vec<Vec<u32>>,
    param: Vec<Vec<u32>>,
}

/// The register values of descriptor `stage` of a program (see `blocks::regmap`).
fn descriptor(
    stage: &gemm_core::Stage,
    requests: &[RunRequest],
    images: &[Image],
    layouts: &[Layout],
    window_bits: Option<(u32, u32)>,
    double: bool,
) -> Vec<(&'static str, u32)> {
    let mut fields = Vec::new();
    match stage.run {
        Some(i) => {
            let (request, words, layout) = (&requests[i], &images[i].words, &layouts[i]);
            let settings = request.post.settings;
            let chunk = request.chunk;
            fields.extend([
                ("m_vectors", request.a.rows() as u32),
                ("k_folds", words.steps as u32),
                ("n_folds", words.n_folds as u32),
                ("zero_point", settings.zero_point as u32),
                ("clamp_min", settings.clamp_min as u32),
                ("clamp_max", settings.clamp_max as u32),
                ("bypass", u32::from(settings.bypass)),
                ("accumulate", u32::from(chunk.accumulate)),
                ("finish", u32::from(chunk.finish)),
                ("ifmap_addr", layout.ifmap as u32),
                ("weight_addr", layout.weight as u32),
                ("param_addr", layout.param as u32),
                ("load_ifmap", u32::from(stage.loads_own && chunk.load_ifmap)),
                (
                    "load_weights",
                    u32::from(stage.loads_own && chunk.load_weights),
                ),
            ]);
            // The window registers keep their values: a matrix run must clear WINDOW.
            match (request.a, window_bits) {
                (Activations::Window { window, pad, .. }, Some((address_bits, pad_bits))) => {
                    fields.extend(window.fields(address_bits));
                    fields.push(("window_pad", (pad & ((1 << pad_bits) - 1)) as u32));
                }
                (_, Some(_)) => fields.push(("window", 0)),
                (_, None) => {}
            }
            if !double {
                fields.push(("ofmap_addr", layout.ofmap as u32));
                let packed = request.post.outputs() == Outputs::Bytes;
                fields.push(("pack_outputs", u32::from(packed)));
            }
        }
        // Nothing to compute: the descriptor only moves data.
        None => fields.extend([("m_vectors", 0), ("load_ifmap", 0), ("load_weights", 0)]),
    }
    if double {
        let (ifmap, weight, param, prefetch_words) = match stage.prefetch {
            Some(next) => {
                let (chunk, words, layout) =
                    (requests[next].chunk, &images[next].words, &layouts[next]);
                let load = |flag: bool, count: usize| if flag { count as u32 } else { 0 };
                (
                    layout.ifmap,
                    layout.weight,
                    layout.param,
                    [
                        load(chunk.load_ifmap, words.ifmap),
                        load(chunk.load_weights, words.weight),
                        load(chunk.load_weights, words.param),
                    ],
                )
            }
            None => (0, 0, 0, [0; 3]),
        };
        let (drain_addr, drain_words, packed) = match stage.drain {
            Some(previous) => (
                layouts[previous].ofmap,
                images[previous].words.ofmap as u32,
                requests[previous].post.outputs() == Outputs::Bytes,
            ),
            None => (0, 0, false),
        };
        fields.extend([
            ("ifmap_half", u32::from(stage.ifmap_half)),
            ("weight_half", u32::from(stage.weight_half)),
            ("ofmap_half", u32::from(stage.ofmap_half)),
            ("prefetch_ifmap_addr", ifmap as u32),
            ("prefetch_weight_addr", weight as u32),
            ("prefetch_param_addr", param as u32),
            ("prefetch_ifmap_words", prefetch_words[0]),
            ("prefetch_weight_words", prefetch_words[1]),
            ("prefetch_param_words", prefetch_words[2]),
            ("drain_addr", drain_addr as u32),
            ("drain_words", drain_words),
            ("pack_outputs", u32::from(packed)),
        ]);
    }
    fields
}

/// A compacted region (`config::ZeroSkipSpec`): for every tile `t` (a row block of A or an
/// N-fold of B) its kept steps `kept[t]` in order, each word `lanes(t, k)` (lanes of
/// `lane_bits`), then the tile's last-word flag, then the next word's step (after a tile's
/// last word, the next tile's first, always 0), in words of `word_bits`.
fn compacted_words(
    kept: &[Vec<usize>],
    (lane_bits, word_bits): (u32, u32),
    lanes: impl Fn(usize, usize) -> Vec<i64>,
) -> Vec<Vec<u32>> {
    let index_bits = accelgen::config::ZeroSkipSpec::NEXT_INDEX_BITS;
    let steps: Vec<(usize, usize, bool)> = kept
        .iter()
        .enumerate()
        .flat_map(|(tile, steps)| {
            let last = steps.len() - 1;
            steps
                .iter()
                .enumerate()
                .map(move |(i, &k)| (tile, k, i == last))
        })
        .collect();
    steps
        .iter()
        .enumerate()
        .map(|(index, &(tile, k, last))| {
            let next = steps.get(index + 1).map_or(0, |&(_, k, _)| k);
            let mut word = vec![0u32; word_bits.div_ceil(32) as usize];
            pack_fields(
                &[
                    (&lanes(tile, k), lane_bits),
                    (&[i64::from(last)], 1),
                    (&[next as i64], index_bits),
                ],
                &mut word,
            );
            word
        })
        .collect()
}

/// One buffer word of `word_bits` bits from its lanes of `lane_bits`, as 32-bit words.
fn words_of(lanes: impl Iterator<Item = i64>, lane_bits: u32, word_bits: u32) -> Vec<u32> {
    let mut words = vec![0u32; word_bits.div_ceil(32) as usize];
    pack(lanes, lane_bits, &mut words);
    words
}
