//! accelgen-sim: the Verilator bridge. Give it Verilog files, a top module name and the top's
//! port list; get back a live [`Model`] to drive from Rust with `poke`, `peek`, `step` and
//! VCD tracing. It knows nothing about accelerators.
//!
//! How: a C++ shim with `extern "C"` accessors is generated from the port list (`shim`),
//! Verilator and its own makefile build it with the model into a shared library (`compile`),
//! the library is cached by a hash of everything that affects it (`cache`), and loaded with
//! `libloading` (`model`).
//!
//! ```no_run
//! use accelgen_sim::{Model, ModelSpec};
//! let spec = ModelSpec::new("counter")
//!     .source("counter.v")
//!     .input("clk", 1)
//!     .input("reset", 1)
//!     .input("enable", 1)
//!     .output("count", 8);
//! let mut model = Model::build(&spec)?;
//! let (clock, enable, count) = (model.port("clk")?, model.port("enable")?, model.port("count")?);
//! model.poke(enable, 1);
//! model.step_n(clock, 10);
//! assert_eq!(model.peek(count), 10);
//! # Ok::<(), accelgen_sim::SimError>(())
//! ```
//!
//! Environment: `ACCELGEN_SIM_CACHE` (cache directory), `ACCELGEN_VERILATOR` (Verilator
//! executable), `ACCELGEN_TRACE=1` (every new model writes a VCD), `ACCELGEN_TRACE_DIR`
//! (where those VCDs go), `ACCELGEN_SIM_CCACHE=0` (do not use ccache).

mod cache;
mod compile;
mod error;
mod model;
mod shim;
mod spec;
mod toolchain;

pub use cache::{cache_key, cache_root};
pub use error::SimError;
pub use model::{BuildInfo, Model, PortId};
pub use spec::{Direction, ModelSpec, PortSpec};
