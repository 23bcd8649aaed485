//! Testbenches: drive generated RTL through the Verilator bridge and compare with golden.
//!
//! - [`ws_array`]: the weight-stationary systolic array driver (tiled GEMM over valid/ready).
//! - [`rng`]: the deterministic PRNG behind traffic patterns and test data.

pub mod rng;
pub mod ws_array;

pub use rng::Rng;
pub use ws_array::{BenchError, GemmRun, TileOutput, Traffic, WsArrayBench};
