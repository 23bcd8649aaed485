//! Emission: turns a checked [`crate::hdl::Design`] into files. `verilog` prints the RTL through
//! askama templates; the hand-off files (filelist, manifest, flow scripts) are written from the
//! same IR and spec, so every artefact describes the same design.

pub mod expression;
pub mod package;
pub mod verilog;

pub use package::{render_package, write_package, OutputError, OutputFile};
pub use verilog::{filelist, render_design, render_module, Banner, VerilogFile};
