//! accelgen: a hardware generator for edge DNN inference accelerators.
//!
//! The pipeline, one type per seam (see ARCHITECTURE.md):
//! `config` (YAML → [`config::AcceleratorSpec`]) → `blocks` (spec → [`hdl::Design`]) →
//! `emit` (IR → Verilog and hand-off files). `golden` is the bit-exact software model; it reads the
//! spec and the numeric contract, never the IR.

pub mod blocks;
pub mod config;
pub mod emit;
pub mod flow;
pub mod generate;
pub mod golden;
pub mod hdl;
pub mod report;
