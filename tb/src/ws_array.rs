//! Driver for the weight-stationary systolic array (`blocks::pe_array`, behind the top of
//! `blocks::build_design`): builds the Verilator model once per spec, then runs tiled GEMMs
//! through the valid/ready weight, activation and output streams with seeded random traffic,
//! collecting per-tile outputs, the K-fold sums and the cycle count. A watchdog turns a hang into
//! a [`BenchError::Hang`] naming the handshake state.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use accelgen::blocks::build_design;
use accelgen::config::{
    AcceleratorSpec, ClockSpec, Dataflow, OperandSpec, PeArraySpec, PeKind, PeSpec,
};
use accelgen::emit::{render_design, Banner};
use accelgen::golden::gemm::wrap_signed;
use accelgen::hdl::{HdlError, SignalKind};
use accelgen_sim::{cache_root, Model, ModelSpec, PortId, SimError};
use ndarray::Array2;

use crate::rng::Rng;

/// A weight-stationary spec built directly (not from YAML). The name encodes every parameter so
/// that different arrays never share a top name or a source directory.
pub fn ws_spec(
    rows: u32,
    cols: u32,
    act: OperandSpec,
    weight: OperandSpec,
    acc_bits: u32,
) -> AcceleratorSpec {
    AcceleratorSpec {
        name: format!(
            "tb_ws_r{rows}c{cols}_a{}_w{}_acc{acc_bits}",
            act.tag(),
            weight.tag()
        ),
        clock: ClockSpec {
            frequency_mhz: 100.0,
            period_ns: 10.0,
        },
        pe_array: PeArraySpec {
            rows,
            cols,
            dataflow: Dataflow::WeightStationary,
        },
        pe: PeSpec {
            kind: PeKind::Parallel,
            act,
            weight,
            acc_bits,
        },
        config_hash: "0000000000000000".into(),
    }
}

/// Signed int8 × int8 into a 32-bit accumulator.
pub fn int8_spec(rows: u32, cols: u32) -> AcceleratorSpec {
    let i8 = OperandSpec {
        bits: 8,
        signed: true,
    };
    ws_spec(rows, cols, i8, i8, 32)
}

/// Smallest and largest value of an operand format.
pub fn operand_range(operand: OperandSpec) -> (i64, i64) {
    if operand.signed {
        (
            -(1i64 << (operand.bits - 1)),
            (1i64 << (operand.bits - 1)) - 1,
        )
    } else {
        (0, (1i64 << operand.bits) - 1)
    }
}

/// Handshake patterns: each valid is raised with its probability when the driver has a beat (and
/// then held until accepted, AXI-stream style); `out_ready` is drawn afresh every cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Traffic {
    pub seed: u64,
    pub weight_valid: f64,
    pub act_valid: f64,
    pub out_ready: f64,
    /// Cycles without any beat moving before the watchdog reports a hang.
    pub stall_limit: u64,
}

impl Traffic {
    /// Every valid and ready high whenever possible: the array's best case.
    pub fn full_rate() -> Traffic {
        Traffic::random(0, 1.0, 1.0, 1.0)
    }

    pub fn random(seed: u64, weight_valid: f64, act_valid: f64, out_ready: f64) -> Traffic {
        Traffic {
            seed,
            weight_valid,
            act_valid,
            out_ready,
            stall_limit: 2_000,
        }
    }
}

/// The raw outputs of one tile: M vectors of C lanes (padding columns included).
#[derive(Debug, Clone, PartialEq)]
pub struct TileOutput {
    /// Position in the stream (tiles go N-fold major, K-fold minor).
    pub index: usize,
    pub n_fold: usize,
    pub k_fold: usize,
    /// M × C, signed `acc_bits` values.
    pub values: Array2<i64>,
}

/// Everything one GEMM run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct GemmRun {
    /// M × N: per-tile results summed over K-folds, wrapped to `acc_bits`.
    pub result: Array2<i64>,
    pub tiles: Vec<TileOutput>,
    /// Rising edges from reset release up to and including the one that took the last output.
    pub cycles: u64,
    /// Edge (counted as `cycles`) at which the first activation beat moved.
    pub first_act_cycle: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("building the design failed: {0}")]
    Hdl(#[from] HdlError),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("writing Verilog source {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("WsArrayBench drives weight-stationary arrays only, not {0:?}")]
    NotWeightStationary(Dataflow),
    #[error("GEMM shapes: A is {a_rows}×{a_cols}, B is {b_rows}×{b_cols}; need A's columns = B's rows and every dimension ≥ 1")]
    Shape {
        a_rows: usize,
        a_cols: usize,
        b_rows: usize,
        b_cols: usize,
    },
    #[error(
        "{matrix}[{row}, {col}] = {value} is outside the {operand} operand range {low}..={high}"
    )]
    OperandRange {
        matrix: &'static str,
        row: usize,
        col: usize,
        value: i64,
        operand: String,
        low: i64,
        high: i64,
    },
    #[error("hang: no beat moved for {idle} cycles at cycle {cycles}: weight beats {weights_sent}/{weights_total}, act beats {acts_sent}/{acts_total}, outputs {outputs_received}/{outputs_total}; weight_ready={weight_ready} act_ready={act_ready} out_valid={out_valid}")]
    Hang {
        cycles: u64,
        idle: u64,
        weights_sent: usize,
        weights_total: usize,
        acts_sent: usize,
        acts_total: usize,
        outputs_received: usize,
        outputs_total: usize,
        weight_ready: bool,
        act_ready: bool,
        out_valid: bool,
    },
    #[error("protocol: output {output} (tile {tile}, vector {vector} of {vectors}) has out_last={actual}, expected {expected}")]
    OutLast {
        output: usize,
        tile: usize,
        vector: usize,
        vectors: usize,
        expected: bool,
        actual: bool,
    },
}

struct Ports {
    clk: PortId,
    rst: PortId,
    weight_valid: PortId,
    weight_ready: PortId,
    weight_data: PortId,
    act_valid: PortId,
    act_ready: PortId,
    act_data: PortId,
    act_last: PortId,
    out_valid: PortId,
    out_ready: PortId,
    out_data: PortId,
    out_last: PortId,
}

/// A built model of one WS array spec, reusable for any number of GEMMs.
pub struct WsArrayBench {
    spec: AcceleratorSpec,
    model: Model,
    ports: Ports,
}

impl WsArrayBench {
    /// Builds the design, writes its Verilog to a content-addressed directory under the
    /// simulator cache (the cache key includes source paths, so they must be stable) and builds
    /// (or loads) the Verilator model.
    pub fn new(spec: &AcceleratorSpec) -> Result<WsArrayBench, BenchError> {
        if spec.pe_array.dataflow != Dataflow::WeightStationary {
            return Err(BenchError::NotWeightStationary(spec.pe_array.dataflow));
        }
        let design = build_design(spec)?;
        let top = design.module(design.top().expect("build_design marks the top"));
        let files = render_design(
            &design,
            &Banner {
                tool_version: env!("CARGO_PKG_VERSION").into(),
                config_name: spec.name.clone(),
                config_hash: spec.config_hash.clone(),
            },
        );
        let mut hasher = DefaultHasher::new();
        for file in &files {
            file.file_name.hash(&mut hasher);
            file.contents.hash(&mut hasher);
        }
        let directory = cache_root(&ModelSpec::new(top.name.clone()))
            .join("tb-sources")
            .join(format!("{}-{:016x}", top.name, hasher.finish()));
        let mut model_spec = ModelSpec::new(top.name.clone());
        for file in &files {
            let path = directory.join(&file.file_name);
            write_if_changed(&path, &file.contents)?;
            model_spec = model_spec.source(path);
        }
        for (_, port) in top.ports() {
            model_spec = match port.kind {
                SignalKind::Input => model_spec.input(port.name.clone(), port.ty.width),
                _ => model_spec.output(port.name.clone(), port.ty.width),
            };
        }
        let model = Model::build(&model_spec)?;
        let ports = Ports {
            clk: model.port("clk")?,
            rst: model.port("rst")?,
            weight_valid: model.port("weight_valid")?,
            weight_ready: model.port("weight_ready")?,
            weight_data: model.port("weight_data")?,
            act_valid: model.port("act_valid")?,
            act_ready: model.port("act_ready")?,
            act_data: model.port("act_data")?,
            act_last: model.port("act_last")?,
            out_valid: model.port("out_valid")?,
            out_ready: model.port("out_ready")?,
            out_data: model.port("out_data")?,
            out_last: model.port("out_last")?,
        };
        Ok(WsArrayBench {
            spec: spec.clone(),
            model,
            ports,
        })
    }

    pub fn spec(&self) -> &AcceleratorSpec {
        &self.spec
    }

    pub fn rows(&self) -> usize {
        self.spec.pe_array.rows as usize
    }

    pub fn cols(&self) -> usize {
        self.spec.pe_array.cols as usize
    }

    pub fn acc_bits(&self) -> u32 {
        self.spec.pe.acc_bits
    }

    /// Whether the last build was a cache hit, and how long it took.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Runs C = A·B (A is M×K activations, B is K×N weights) on the array, tile by tile, after a
    /// reset. Tiles go N-fold major, K-fold minor; partial tiles are zero-padded.
    pub fn run_gemm(
        &mut self,
        a: &Array2<i64>,
        b: &Array2<i64>,
        traffic: &Traffic,
    ) -> Result<GemmRun, BenchError> {
        let (m_dim, k_dim) = a.dim();
        let (b_rows, n_dim) = b.dim();
        if k_dim != b_rows || m_dim == 0 || k_dim == 0 || n_dim == 0 {
            return Err(BenchError::Shape {
                a_rows: m_dim,
                a_cols: k_dim,
                b_rows,
                b_cols: n_dim,
            });
        }
        check_range("A", a, self.spec.pe.act)?;
        check_range("B", b, self.spec.pe.weight)?;
        let (rows, cols) = (self.rows(), self.cols());
        let act_bits = self.spec.pe.act.bits;
        let weight_bits = self.spec.pe.weight.bits;
        let acc_bits = self.acc_bits();
        let k_folds = k_dim.div_ceil(rows);
        let n_folds = n_dim.div_ceil(cols);
        let tile_count = k_folds * n_folds;
        let tile_inputs: Vec<(Array2<i64>, Array2<i64>)> = (0..tile_count)
            .map(|t| tile_operands(a, b, rows, cols, t % k_folds, t / k_folds))
            .collect();

        let weights_total = tile_count * rows;
        let acts_total = tile_count * m_dim;
        let outputs_total = acts_total;
        let mut rng = Rng::new(traffic.seed);
        let p = &self.ports;
        let model = &mut self.model;
        let mut weight_words = vec![0u32; model.width(p.weight_data).div_ceil(32) as usize];
        let mut act_words = vec![0u32; model.width(p.act_data).div_ceil(32) as usize];
        let mut out_words = vec![0u32; model.width(p.out_data).div_ceil(32) as usize];

        // Synchronous reset: hold it over two edges with every input low.
        for port in [p.weight_valid, p.act_valid, p.act_last, p.out_ready] {
            model.poke(port, 0);
        }
        model.poke(p.rst, 1);
        model.step_n(p.clk, 2);
        model.poke(p.rst, 0);

        let mut tiles: Vec<TileOutput> = (0..tile_count)
            .map(|t| TileOutput {
                index: t,
                n_fold: t / k_folds,
                k_fold: t % k_folds,
                values: Array2::zeros((m_dim, cols)),
            })
            .collect();
        let (mut weights_sent, mut acts_sent, mut outputs_received) = (0usize, 0usize, 0usize);
        let (mut weight_held, mut act_held) = (false, false);
        let (mut cycles, mut idle, mut first_act_cycle) = (0u64, 0u64, 0u64);
        while outputs_received < outputs_total {
            // Weights: beat i of a tile carries weight row R-1-i.
            if !weight_held && weights_sent < weights_total && rng.chance(traffic.weight_valid) {
                weight_held = true;
            }
            if weight_held {
                let (_, tile_b) = &tile_inputs[weights_sent / rows];
                let row = rows - 1 - weights_sent % rows;
                pack(
                    tile_b.row(row).iter().copied(),
                    weight_bits,
                    &mut weight_words,
                );
            } else {
                garbage(&mut rng, model.width(p.weight_data), &mut weight_words);
            }
            model.poke(p.weight_valid, u64::from(weight_held));
            model.poke_wide(p.weight_data, &weight_words);

            // Activations: vector m of the tile, lane r = row r, `act_last` on the tile's last.
            if !act_held && acts_sent < acts_total && rng.chance(traffic.act_valid) {
                act_held = true;
            }
            let last = if act_held {
                let (tile_a, _) = &tile_inputs[acts_sent / m_dim];
                let vector = acts_sent % m_dim;
                pack(tile_a.row(vector).iter().copied(), act_bits, &mut act_words);
                vector == m_dim - 1
            } else {
                garbage(&mut rng, model.width(p.act_data), &mut act_words);
                rng.chance(0.5)
            };
            model.poke(p.act_valid, u64::from(act_held));
            model.poke(p.act_last, u64::from(last));
            model.poke_wide(p.act_data, &act_words);

            let out_ready = rng.chance(traffic.out_ready);
            model.poke(p.out_ready, u64::from(out_ready));
            model.eval();

            let weight_ready = model.peek(p.weight_ready) == 1;
            let act_ready = model.peek(p.act_ready) == 1;
            let out_valid = model.peek(p.out_valid) == 1;
            let weight_fire = weight_held && weight_ready;
            let act_fire = act_held && act_ready;
            let out_fire = out_valid && out_ready;
            if out_fire {
                let tile = outputs_received / m_dim;
                let vector = outputs_received % m_dim;
                let expected_last = vector == m_dim - 1;
                let actual_last = model.peek(p.out_last) == 1;
                if actual_last != expected_last {
                    return Err(BenchError::OutLast {
                        output: outputs_received,
                        tile,
                        vector,
                        vectors: m_dim,
                        expected: expected_last,
                        actual: actual_last,
                    });
                }
                model.peek_wide_into(p.out_data, &mut out_words);
                for c in 0..cols {
                    let raw = get_bits(&out_words, c as u32 * acc_bits, acc_bits);
                    tiles[tile].values[[vector, c]] = wrap_signed(raw as i64, acc_bits);
                }
            }
            model.step(p.clk);
            cycles += 1;
            if weight_fire {
                weights_sent += 1;
                weight_held = false;
            }
            if act_fire {
                if acts_sent == 0 {
                    first_act_cycle = cycles;
                }
                acts_sent += 1;
                act_held = false;
            }
            if out_fire {
                outputs_received += 1;
            }
            if weight_fire || act_fire || out_fire {
                idle = 0;
            } else {
                idle += 1;
                if idle > traffic.stall_limit {
                    return Err(BenchError::Hang {
                        cycles,
                        idle,
                        weights_sent,
                        weights_total,
                        acts_sent,
                        acts_total,
                        outputs_received,
                        outputs_total,
                        weight_ready,
                        act_ready,
                        out_valid,
                    });
                }
            }
        }

        let mut result = Array2::<i64>::zeros((m_dim, n_dim));
        for tile in &tiles {
            for m in 0..m_dim {
                for c in 0..cols {
                    let n = tile.n_fold * cols + c;
                    if n < n_dim {
                        result[[m, n]] = result[[m, n]].wrapping_add(tile.values[[m, c]]);
                    }
                }
            }
        }
        result.mapv_inplace(|v| wrap_signed(v, acc_bits));
        Ok(GemmRun {
            result,
            tiles,
            cycles,
            first_act_cycle,
        })
    }
}

/// The zero-padded operands of tile (`k_fold`, `n_fold`): A's M×R slice of columns
/// `k_fold·R ..` and B's R×C slice of rows `k_fold·R ..`, columns `n_fold·C ..`.
pub fn tile_operands(
    a: &Array2<i64>,
    b: &Array2<i64>,
    rows: usize,
    cols: usize,
    k_fold: usize,
    n_fold: usize,
) -> (Array2<i64>, Array2<i64>) {
    let (m_dim, k_dim) = a.dim();
    let n_dim = b.ncols();
    let (k0, n0) = (k_fold * rows, n_fold * cols);
    let tile_a = Array2::from_shape_fn((m_dim, rows), |(m, r)| {
        if k0 + r < k_dim {
            a[[m, k0 + r]]
        } else {
            0
        }
    });
    let tile_b = Array2::from_shape_fn((rows, cols), |(r, c)| {
        if k0 + r < k_dim && n0 + c < n_dim {
            b[[k0 + r, n0 + c]]
        } else {
            0
        }
    });
    (tile_a, tile_b)
}

/// Up to `limit` mismatches of `actual` against `expected`, as
/// `(row, column, expected, actual)`, row-major; plus the total count.
pub fn mismatches(
    expected: &Array2<i64>,
    actual: &Array2<i64>,
    limit: usize,
) -> (Vec<(usize, usize, i64, i64)>, usize) {
    assert_eq!(expected.dim(), actual.dim(), "mismatches: shapes differ");
    let mut first = Vec::new();
    let mut total = 0;
    for ((index, e), a) in expected.indexed_iter().zip(actual.iter()) {
        if e != a {
            total += 1;
            if first.len() < limit {
                first.push((index.0, index.1, *e, *a));
            }
        }
    }
    (first, total)
}

fn check_range(
    matrix: &'static str,
    values: &Array2<i64>,
    operand: OperandSpec,
) -> Result<(), BenchError> {
    let (low, high) = operand_range(operand);
    match values
        .indexed_iter()
        .find(|(_, v)| !(low..=high).contains(*v))
    {
        None => Ok(()),
        Some(((row, col), value)) => Err(BenchError::OperandRange {
            matrix,
            row,
            col,
            value: *value,
            operand: operand.tag(),
            low,
            high,
        }),
    }
}

fn write_if_changed(path: &Path, contents: &str) -> Result<(), BenchError> {
    let io = |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    };
    if std::fs::read_to_string(path).ok().as_deref() == Some(contents) {
        return Ok(());
    }
    let directory = path.parent().expect("source paths have a directory");
    std::fs::create_dir_all(directory).map_err(io)?;
    // Write then rename, so a concurrent reader never sees a half-written file.
    let temporary = directory.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&temporary, contents).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

/// Packs `values` as consecutive `bits`-wide two's-complement lanes, lane 0 in the low bits.
fn pack(values: impl Iterator<Item = i64>, bits: u32, words: &mut [u32]) {
    words.fill(0);
    for (lane, value) in values.enumerate() {
        set_bits(words, lane as u32 * bits, bits, value as u64);
    }
}

/// Random bits in the low `width` bits: what the data bus carries while valid is low.
fn garbage(rng: &mut Rng, width: u32, words: &mut [u32]) {
    for word in words.iter_mut() {
        *word = rng.next_u32();
    }
    if !width.is_multiple_of(32) {
        *words.last_mut().unwrap() &= (1u32 << (width % 32)) - 1;
    }
}

fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

fn set_bits(words: &mut [u32], offset: u32, len: u32, value: u64) {
    let value = value & low_mask(len);
    let mut done = 0;
    while done < len {
        let bit = offset + done;
        let take = (32 - bit % 32).min(len - done);
        let chunk = ((value >> done) & low_mask(take)) as u32;
        words[(bit / 32) as usize] |= chunk << (bit % 32);
        done += take;
    }
}

fn get_bits(words: &[u32], offset: u32, len: u32) -> u64 {
    let mut value = 0u64;
    let mut done = 0;
    while done < len {
        let bit = offset + done;
        let take = (32 - bit % 32).min(len - done);
        let chunk = (u64::from(words[(bit / 32) as usize]) >> (bit % 32)) & low_mask(take);
        value |= chunk << done;
        done += take;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn packed_lanes_read_back_across_word_boundaries() {
        let values = [-128i64, 127, -1, 0, 5, -77, 100];
        for bits in [4u32, 8, 13, 32] {
            let mut words = vec![0u32; (values.len() as u32 * bits).div_ceil(32) as usize];
            let lanes: Vec<i64> = values.iter().map(|v| wrap_signed(*v, bits)).collect();
            pack(lanes.iter().copied(), bits, &mut words);
            for (lane, value) in lanes.iter().enumerate() {
                let raw = get_bits(&words, lane as u32 * bits, bits);
                assert_eq!(
                    wrap_signed(raw as i64, bits),
                    *value,
                    "bits {bits} lane {lane}"
                );
            }
        }
    }

    #[test]
    fn lane_zero_sits_in_the_low_bits() {
        let mut words = [0u32; 1];
        pack([1i64, 2, 3].into_iter(), 8, &mut words);
        assert_eq!(words[0], 0x0003_0201);
    }

    #[test]
    fn tile_operands_zero_pad_partial_tiles() {
        let a = array![[1i64, 2, 3], [4, 5, 6]];
        let b = array![[1i64, 2, 3], [4, 5, 6], [7, 8, 9]];
        let (ta, tb) = tile_operands(&a, &b, 2, 2, 1, 1);
        assert_eq!(ta, array![[3i64, 0], [6, 0]]);
        assert_eq!(tb, array![[9i64, 0], [0, 0]]);
    }

    #[test]
    fn mismatches_reports_the_first_ones_in_row_major_order_and_counts_all() {
        let e = array![[1i64, 2], [3, 4]];
        let a = array![[1i64, 9], [8, 7]];
        let (first, total) = mismatches(&e, &a, 2);
        assert_eq!(first, vec![(0, 1, 2, 9), (1, 0, 3, 8)]);
        assert_eq!(total, 3);
    }

    #[test]
    fn operand_ranges_follow_width_and_signedness() {
        let op = |bits, signed| OperandSpec { bits, signed };
        assert_eq!(operand_range(op(8, true)), (-128, 127));
        assert_eq!(operand_range(op(8, false)), (0, 255));
        assert_eq!(operand_range(op(4, true)), (-8, 7));
    }
}
