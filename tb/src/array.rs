//! Driver for the systolic PE arrays of every dataflow (`blocks::pe_array`, behind the top of
//! `blocks::build_design`): builds the Verilator model once per spec, then runs GEMMs through the
//! array's valid/ready streams with seeded random traffic and reassembles the result.
//!
//! How a GEMM `C = A·B` (A: M×K activations, B: K×N weights) becomes beats:
//! - weight-stationary: per tile of B (R×C, N-fold major, K-fold minor) R `weight` beats (row
//!   R−1−i first), then the M rows of A's K-slice as `act` beats; M output rows of C partial sums;
//! - input-stationary: the same with the roles swapped, on Bᵀ·Aᵀ = Cᵀ: per tile of Aᵀ (R×C) R
//!   `act` beats, then the N columns of B's K-slice as `weight` beats; N output rows of Cᵀ;
//! - output-stationary: per tile of C (R×C, M-fold major) K `act`/`weight` pairs; R output rows,
//!   bottom row first.
//!
//! Partial tiles are zero-padded; K-fold partial sums are added with the accumulator's wrap.

use accelgen::blocks::build_design;
use accelgen::config::{AcceleratorSpec, Dataflow, OperandSpec, PeArraySpec};
use accelgen::golden::gemm::wrap_signed;
use accelgen_sim::{Model, PortId};
use ndarray::Array2;

use crate::build::build_model;
use crate::error::BenchError;
use crate::stream::{self, Beat, DataPort, Sink, Source};

/// An array spec built directly (not from YAML). The name encodes every parameter so that
/// different arrays never share a top name or a source directory.
pub fn array_spec(
    dataflow: Dataflow,
    rows: u32,
    cols: u32,
    act: OperandSpec,
    weight: OperandSpec,
    acc_bits: u32,
) -> AcceleratorSpec {
    let name = format!(
        "tb_{}_r{rows}c{cols}_a{}_w{}_acc{acc_bits}",
        dataflow.tag(),
        act.tag(),
        weight.tag()
    );
    let array = PeArraySpec {
        rows,
        cols,
        dataflow,
    };
    AcceleratorSpec::for_array(name, array, act, weight, acc_bits)
}

/// Signed int8 × int8 into a 32-bit accumulator.
pub fn int8_spec(dataflow: Dataflow, rows: u32, cols: u32) -> AcceleratorSpec {
    let i8 = OperandSpec {
        bits: 8,
        signed: true,
    };
    array_spec(dataflow, rows, cols, i8, i8, 32)
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

/// Handshake patterns: each source raises valid with its probability when it has a beat (then
/// holds it until accepted); `out_ready` is drawn afresh every cycle.
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
    /// Every valid and ready high whenever possible: the array's best case, which
    /// `golden::cycles` predicts.
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

    fn valid_probability(&self, stream: &str) -> f64 {
        if stream == "act" {
            self.act_valid
        } else {
            self.weight_valid
        }
    }
}

/// Everything one GEMM run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct GemmRun {
    /// M × N, wrapped to the accumulator width.
    pub result: Array2<i64>,
    /// Rising edges from reset release up to and including the one that took the last output.
    pub cycles: u64,
}

/// A built model of one array spec, reusable for any number of GEMMs.
pub struct ArrayBench {
    spec: AcceleratorSpec,
    model: Model,
    clock: (PortId, PortId),
}

impl ArrayBench {
    /// Builds the design and its Verilator model (or loads it from the cache).
    pub fn new(spec: &AcceleratorSpec) -> Result<ArrayBench, BenchError> {
        if spec.pe_array.dataflow == Dataflow::RowStationary {
            return Err(BenchError::UnsupportedDataflow(spec.pe_array.dataflow));
        }
        let design = build_design(spec)?;
        let model = build_model(&design, &spec.name, &spec.config_hash)?;
        let clock = (model.port("clk")?, model.port("rst")?);
        Ok(ArrayBench {
            spec: spec.clone(),
            model,
            clock,
        })
    }

    pub fn spec(&self) -> &AcceleratorSpec {
        &self.spec
    }

    /// Sets a bit-serial array's run-time activation precision (`act_precision`) for the runs
    /// that follow; it survives the reset each run begins with.
    pub fn set_act_precision(&mut self, bits: u32) -> Result<(), BenchError> {
        let port = self.model.port("act_precision")?;
        self.model.poke(port, u64::from(bits));
        Ok(())
    }

    /// The Verilator model (whether the build was a cache hit, how long it took).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Runs C = A·B (A is M×K activations, B is K×N weights) on the array after a reset.
    pub fn run_gemm(
        &mut self,
        a: &Array2<i64>,
        b: &Array2<i64>,
        traffic: &Traffic,
    ) -> Result<GemmRun, BenchError> {
        check_operands(&self.spec, a, b)?;
        match self.spec.pe_array.dataflow {
            Dataflow::WeightStationary => self.run_stationary(a, b, ("weight", "act"), traffic),
            Dataflow::InputStationary => {
                let (at, bt) = (a.t().to_owned(), b.t().to_owned());
                let run = self.run_stationary(&bt, &at, ("act", "weight"), traffic)?;
                Ok(GemmRun {
                    result: run.result.t().to_owned(),
                    ..run
                })
            }
            Dataflow::OutputStationary => self.run_output_stationary(a, b, traffic),
            other => Err(BenchError::UnsupportedDataflow(other)),
        }
    }

    /// Streams the P rows of `streamed` (P×K) past tiles of `held` (K×Q): returns P×Q.
    /// `names` are the port prefixes of (held, streamed).
    fn run_stationary(
        &mut self,
        streamed: &Array2<i64>,
        held: &Array2<i64>,
        names: (&'static str, &'static str),
        traffic: &Traffic,
    ) -> Result<GemmRun, BenchError> {
        let (rows, cols) = self.shape();
        let (p_dim, k_dim) = streamed.dim();
        let q_dim = held.ncols();
        let k_folds = k_dim.div_ceil(rows);
        let tiles = k_folds * q_dim.div_ceil(cols);
        // Tile t covers K-fold t % k_folds and Q-fold t / k_folds.
        let origin = |t: usize| ((t % k_folds) * rows, (t / k_folds) * cols);
        let mut held_beats = Vec::with_capacity(tiles * rows);
        let mut stream_beats = Vec::with_capacity(tiles * p_dim);
        for t in 0..tiles {
            let (k0, q0) = origin(t);
            for i in 0..rows {
                let k = k0 + rows - 1 - i;
                let lanes = (0..cols).map(|c| padded(held, k, q0 + c)).collect();
                held_beats.push(Beat::lanes(lanes, false));
            }
            for p in 0..p_dim {
                let lanes = (0..rows).map(|r| padded(streamed, p, k0 + r)).collect();
                stream_beats.push(Beat::lanes(lanes, p == p_dim - 1));
            }
        }
        let (held_name, stream_name) = names;
        let sources = [
            self.source(held_name, held_beats, false, traffic)?,
            self.source(stream_name, stream_beats, true, traffic)?,
        ];
        let sink = self.sink(tiles * p_dim, p_dim, traffic)?;
        let run = self.stream(&sources, &sink, traffic)?;
        let mut result = Array2::<i64>::zeros((p_dim, q_dim));
        for (beat, lanes) in run.beats.iter().enumerate() {
            let (t, p) = (beat / p_dim, beat % p_dim);
            let (_, q0) = origin(t);
            for (c, value) in lanes.iter().enumerate() {
                if q0 + c < q_dim {
                    result[[p, q0 + c]] = result[[p, q0 + c]].wrapping_add(*value);
                }
            }
        }
        Ok(self.finish(result, run.cycles))
    }

    /// Streams K act/weight pairs per R×C tile of C (M-fold major); R result rows per tile.
    fn run_output_stationary(
        &mut self,
        a: &Array2<i64>,
        b: &Array2<i64>,
        traffic: &Traffic,
    ) -> Result<GemmRun, BenchError> {
        let (rows, cols) = self.shape();
        let ((m_dim, k_dim), n_dim) = (a.dim(), b.ncols());
        let n_folds = n_dim.div_ceil(cols);
        let tiles = m_dim.div_ceil(rows) * n_folds;
        let origin = |t: usize| ((t / n_folds) * rows, (t % n_folds) * cols);
        let mut act_beats = Vec::with_capacity(tiles * k_dim);
        let mut weight_beats = Vec::with_capacity(tiles * k_dim);
        for t in 0..tiles {
            let (m0, n0) = origin(t);
            for k in 0..k_dim {
                let acts = (0..rows).map(|r| padded(a, m0 + r, k)).collect();
                act_beats.push(Beat::lanes(acts, k == k_dim - 1));
                let weights = (0..cols).map(|c| padded(b, k, n0 + c)).collect();
                weight_beats.push(Beat::lanes(weights, false));
            }
        }
        let sources = [
            self.source("act", act_beats, true, traffic)?,
            self.source("weight", weight_beats, false, traffic)?,
        ];
        let sink = self.sink(tiles * rows, rows, traffic)?;
        let run = self.stream(&sources, &sink, traffic)?;
        let mut result = Array2::<i64>::zeros((m_dim, n_dim));
        for (beat, lanes) in run.beats.iter().enumerate() {
            // Results leave bottom row first.
            let (t, row) = (beat / rows, rows - 1 - beat % rows);
            let (m0, n0) = origin(t);
            for (c, value) in lanes.iter().enumerate() {
                if m0 + row < m_dim && n0 + c < n_dim {
                    result[[m0 + row, n0 + c]] = *value;
                }
            }
        }
        Ok(self.finish(result, run.cycles))
    }

    /// Resets the array and runs the streams with `traffic`'s seed and stall limit.
    fn stream(
        &mut self,
        sources: &[Source],
        sink: &Sink,
        traffic: &Traffic,
    ) -> Result<stream::StreamRun, BenchError> {
        let limit = traffic.stall_limit;
        stream::run(
            &mut self.model,
            self.clock,
            sources,
            sink,
            traffic.seed,
            limit,
        )
    }

    fn shape(&self) -> (usize, usize) {
        (
            self.spec.pe_array.rows as usize,
            self.spec.pe_array.cols as usize,
        )
    }

    fn source(
        &self,
        name: &'static str,
        beats: Vec<Beat>,
        has_last: bool,
        traffic: &Traffic,
    ) -> Result<Source, BenchError> {
        let port = |suffix: &str| self.model.port(&format!("{name}_{suffix}"));
        let operand = if name == "act" {
            self.spec.pe.act
        } else {
            self.spec.pe.weight
        };
        Ok(Source {
            name,
            valid: port("valid")?,
            ready: port("ready")?,
            data: vec![DataPort {
                port: port("data")?,
                lane_bits: operand.bits,
            }],
            last: if has_last { Some(port("last")?) } else { None },
            beats,
            valid_probability: traffic.valid_probability(name),
        })
    }

    fn sink(
        &self,
        beats: usize,
        beats_per_tile: usize,
        traffic: &Traffic,
    ) -> Result<Sink, BenchError> {
        Ok(Sink {
            valid: self.model.port("out_valid")?,
            ready: self.model.port("out_ready")?,
            data: self.model.port("out_data")?,
            last: self.model.port("out_last")?,
            lanes: self.spec.pe_array.cols,
            lane_bits: self.spec.pe.acc_bits,
            beats,
            beats_per_tile,
            ready_probability: traffic.out_ready,
            quiet_cycles: u64::from(self.spec.pe_array.rows + self.spec.pe_array.cols) + 8,
        })
    }

    fn finish(&self, mut result: Array2<i64>, cycles: u64) -> GemmRun {
        let acc_bits = self.spec.pe.acc_bits;
        result.mapv_inplace(|v| wrap_signed(v, acc_bits));
        GemmRun { result, cycles }
    }
}

/// `matrix[row, col]`, or 0 outside it: the zero padding of partial tiles.
fn padded(matrix: &Array2<i64>, row: usize, col: usize) -> i64 {
    matrix.get((row, col)).copied().unwrap_or(0)
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

/// Checks that A (M×K) and B (K×N) chain, are not empty and hold values of `spec`'s operand
/// formats; returns (M, K, N).
pub(crate) fn check_operands(
    spec: &AcceleratorSpec,
    a: &Array2<i64>,
    b: &Array2<i64>,
) -> Result<(usize, usize, usize), BenchError> {
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
    check_range("A", a, spec.pe.act)?;
    check_range("B", b, spec.pe.weight)?;
    Ok((m_dim, k_dim, n_dim))
}

/// The first value of `values` outside `operand`'s range, as an error naming `matrix` and its
/// position.
pub(crate) fn check_range(
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn padding_reads_zero_outside_the_matrix() {
        let a = array![[1i64, 2], [3, 4]];
        assert_eq!(padded(&a, 1, 1), 4);
        assert_eq!(padded(&a, 2, 0), 0);
        assert_eq!(padded(&a, 0, 5), 0);
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

    #[test]
    fn row_stationary_has_no_bench() {
        let spec = int8_spec(Dataflow::RowStationary, 2, 2);
        assert!(matches!(
            ArrayBench::new(&spec),
            Err(BenchError::UnsupportedDataflow(Dataflow::RowStationary))
        ));
    }
}
