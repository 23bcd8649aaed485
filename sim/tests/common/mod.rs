//! Shared test helpers: fixture paths and the specs of the fixture tops.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

use accelgen_sim::ModelSpec;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// 8-bit counter with synchronous reset and enable.
pub fn counter_spec() -> ModelSpec {
    ModelSpec::new("counter")
        .source(fixture("counter.v"))
        .input("clk", 1)
        .input("reset", 1)
        .input("enable", 1)
        .output("count", 8)
}

/// Combinational 100-bit adder with a 101-bit sum.
pub fn adder_spec() -> ModelSpec {
    ModelSpec::new("adder100")
        .source(fixture("adder100.v"))
        .input("a", 100)
        .input("b", 100)
        .output("sum", 101)
}

/// 1-bit and 64-bit ports.
pub fn edge_widths_spec() -> ModelSpec {
    ModelSpec::new("edge_widths")
        .source(fixture("edge_widths.v"))
        .input("bit_in", 1)
        .output("bit_out", 1)
        .input("word_in", 64)
        .output("word_plus_one", 64)
}

/// $finish / $fatal on request.
pub fn stopper_spec() -> ModelSpec {
    ModelSpec::new("stopper")
        .source(fixture("stopper.v"))
        .input("clk", 1)
        .input("finish", 1)
        .input("fail", 1)
}
