//! Testbenches: drive generated RTL through the Verilator bridge and compare with golden.
//!
//! - [`array`]: the systolic-array driver for every dataflow (GEMM → beats → result).
//! - [`core`]: the buffered GEMM core: buffer loads, descriptor, results.
//! - [`gemm_bench`]: one measured GEMM on a configured array (`accelgen bench gemm`).
//! - [`layer`]: a whole layer bundle through the array and the post-process unit.
//! - [`post_process`]: the post-processing unit on its own.
//! - [`stream`]: the generic valid/ready stream driver underneath it.
//! - [`build`]: from a checked design to a live Verilator model.
//! - [`checks`]: what the core tests share: operands, golden results, DRAM timings.
//! - [`axi_lite`]: an AXI4-Lite master with random delays and protocol checks.
//! - [`bits`]: packing lanes into the words of wide ports.
//! - [`error`]: what a run reports instead of a result.
//! - [`rng`]: the deterministic PRNG behind traffic patterns and test data.

pub mod array;
pub mod axi_lite;
pub mod bits;
pub mod build;
pub mod checks;
pub mod core;
pub mod dram;
pub mod error;
pub mod gemm_bench;
pub mod layer;
pub mod post_process;
pub mod rng;
pub mod stream;

pub use array::{ArrayBench, GemmRun, Traffic};
pub use error::BenchError;
pub use rng::Rng;
