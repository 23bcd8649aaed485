//! Emission: turns a checked [`crate::hdl::Design`] into files. `verilog` prints the RTL through
//! askama templates; the hand-off files (filelist, manifest, SDC, ORFS config, Yosys script,
//! FuseSoC core, C header) are written from the same IR and spec, so every artefact describes the
//! same design. `package` gathers them all; `macros` adds what a design with technology macros
//! (SRAMs) needs besides its RTL.

pub mod c_header;
pub mod expression;
pub mod fusesoc;
pub mod macros;
pub mod orfs;
pub mod package;
pub mod sdc;
pub mod verilog;
pub mod yosys;

pub use package::{render_package, write_package, OutputError, OutputFile};
pub use verilog::{filelist, render_design, render_module, Banner, VerilogFile};

/// The text of a rendered hand-off template, ending in a newline as POSIX text files do (askama
/// drops the template's last one). The templates only fill holes, so rendering cannot fail.
fn rendered(result: askama::Result<String>) -> String {
    let mut text = result.expect("hand-off templates render any context");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}
