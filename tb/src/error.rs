//! Everything a testbench run can report instead of a result.

use std::path::PathBuf;

use accelgen::config::Dataflow;
use accelgen::hdl::HdlError;
use accelgen_sim::SimError;

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
    #[error("no testbench drives the {} dataflow", .0.config_name())]
    UnsupportedDataflow(Dataflow),
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
    /// No beat moved on any stream for longer than the traffic's stall limit.
    #[error("hang: no beat moved for {idle} cycles at cycle {cycles}: {state}")]
    Hang {
        cycles: u64,
        idle: u64,
        /// Beats moved per stream and the handshake signals in the last cycle.
        state: String,
    },
    /// The design or the request broke a rule of the interface (named in the message).
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("protocol: output beat {beat} (beat {index} of {per_tile} in tile {tile}) has out_last={actual}, expected {expected}")]
    OutLast {
        beat: usize,
        tile: usize,
        index: usize,
        per_tile: usize,
        expected: bool,
        actual: bool,
    },
}
