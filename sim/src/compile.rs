//! Turning a `ModelSpec` into a shared library in a fresh directory: write the shim, run
//! `verilator --cc --exe`, check the port list against the generated header, then run
//! Verilator's own makefile (through ccache when available) to compile and link the `.so`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::SimError;
use crate::shim;
use crate::spec::{Direction, ModelSpec};
use crate::toolchain;

/// File name of the linked model library inside the object directory.
pub const LIBRARY_FILE_NAME: &str = "libaccelgen_model.so";

/// Name of the Verilator object directory inside a build directory.
pub const OBJECT_DIR_NAME: &str = "obj";

/// Verilator flags the bridge always passes (before the spec's own flags, so those can
/// override). `--no-timing`: the bridge owns time, so `#delays` are ignored rather than errors.
pub const VERILATOR_FLAGS: &[&str] = &["--cc", "--exe", "--trace", "-O3", "--no-timing"];

/// Variables passed to `make -f V<top>.mk`. `-fPIC` because the objects go into a shared
/// library; hidden visibility plus the version script keep each model's Verilator runtime
/// private; `VL_USER_*` lets the shim replace the aborting `vl_fatal`/`vl_finish`.
pub const MAKE_VARIABLES: &[&str] = &[
    "CXXFLAGS=-fPIC -fvisibility=hidden -fvisibility-inlines-hidden -DVL_USER_FATAL -DVL_USER_FINISH",
    "OPT_FAST=-O2",
    "OPT_SLOW=-O1",
    "OPT_GLOBAL=-O2",
];

/// Environment switch: `ACCELGEN_SIM_CCACHE=0` disables ccache even when it is on PATH.
const CCACHE_SWITCH: &str = "ACCELGEN_SIM_CCACHE";

/// Builds the library for `spec` inside `build_dir` (which must exist and be empty) and
/// returns the library's path relative to `build_dir`.
pub fn build_library(spec: &ModelSpec, build_dir: &Path) -> Result<PathBuf, SimError> {
    let object_dir = build_dir.join(OBJECT_DIR_NAME);
    std::fs::create_dir_all(&object_dir)
        .map_err(|e| SimError::io(format!("creating {}", object_dir.display()), e))?;
    // The shim lives inside the object directory so that it is compiled by a relative name.
    let shim_path = object_dir.join(shim::SHIM_FILE_NAME);
    write_file(&shim_path, &shim::generate(spec))?;
    let exports_path = object_dir.join(shim::EXPORTS_FILE_NAME);
    write_file(&exports_path, shim::EXPORTS_MAP)?;

    let verilator = spec.resolved_verilator();
    let class = shim::model_class(&spec.top);
    let mut command = Command::new(&verilator);
    // Run inside the object directory and name the shim relatively: Verilator copies the path
    // into the makefile rule, and an absolute (per-build) path would defeat ccache.
    command
        .current_dir(&object_dir)
        .args(VERILATOR_FLAGS)
        .arg("--top-module")
        .arg(&spec.top)
        .arg("--prefix")
        .arg(&class)
        .arg("--Mdir")
        .arg(".")
        .arg("-o")
        .arg(LIBRARY_FILE_NAME)
        .args(&spec.extra_flags);
    for source in &spec.sources {
        command.arg(absolute(source)?);
    }
    command.arg(shim::SHIM_FILE_NAME);
    toolchain::run_logged(
        "verilator",
        command,
        &build_dir.join("verilator.log"),
        || SimError::VerilatorNotFound {
            binary: verilator.clone(),
        },
    )?;

    let header = object_dir.join(format!("{class}.h"));
    let header_text = std::fs::read_to_string(&header)
        .map_err(|e| SimError::io(format!("reading Verilator header {}", header.display()), e))?;
    check_ports(spec, &header_text)?;

    let mut make = Command::new("make");
    make.current_dir(&object_dir)
        .arg("-f")
        .arg(format!("{class}.mk"))
        .arg("-j2")
        .args(MAKE_VARIABLES)
        .arg(format!(
            "USER_LDFLAGS=-shared -Wl,--version-script={} -Wl,--no-undefined",
            exports_path.display()
        ))
        // A jobserver inherited from an outer make would override our -j2.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    if ccache_enabled() {
        make.arg("OBJCACHE=ccache");
    }
    make.arg(LIBRARY_FILE_NAME);
    toolchain::run_logged("make", make, &build_dir.join("make.log"), || {
        SimError::ToolNotFound {
            tool: "make",
            install: "sudo apt-get install build-essential",
        }
    })?;
    Ok(PathBuf::from(OBJECT_DIR_NAME).join(LIBRARY_FILE_NAME))
}

/// Whether builds go through ccache: it must be on PATH and not switched off.
pub fn ccache_enabled() -> bool {
    let switched_off = std::env::var(CCACHE_SWITCH).is_ok_and(|value| value == "0");
    !switched_off && toolchain::on_path("ccache")
}

/// A port as Verilator declared it in the model header.
#[derive(Debug, PartialEq, Eq)]
struct DeclaredPort {
    member: String,
    direction: Option<Direction>,
    width: u32,
}

/// Parses `VL_IN8(&clk,0,0);`, `VL_OUTW(&sum,100,0,4);` and friends from the model header.
/// `direction` is `None` for `VL_INOUT*`, which the bridge does not support.
fn declared_ports(header: &str) -> Vec<DeclaredPort> {
    let mut ports = Vec::new();
    for line in header.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("VL_") else {
            continue;
        };
        let (direction, rest) = if let Some(rest) = rest.strip_prefix("INOUT") {
            (None, rest)
        } else if let Some(rest) = rest.strip_prefix("IN") {
            (Some(Direction::Input), rest)
        } else if let Some(rest) = rest.strip_prefix("OUT") {
            (Some(Direction::Output), rest)
        } else {
            continue;
        };
        let Some(open) = rest.find("(&") else {
            continue;
        };
        let Some(close) = rest.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = rest[open + 2..close].split(',').map(str::trim).collect();
        if fields.len() < 3 {
            continue;
        }
        let (Ok(msb), Ok(lsb)) = (fields[1].parse::<i64>(), fields[2].parse::<i64>()) else {
            continue;
        };
        ports.push(DeclaredPort {
            member: fields[0].to_string(),
            direction,
            width: (msb - lsb).unsigned_abs() as u32 + 1,
        });
    }
    ports
}

/// Every spec port must exist in the Verilog with the same direction and width, and the
/// Verilog must have no port the spec leaves out (it could not be driven or observed).
fn check_ports(spec: &ModelSpec, header: &str) -> Result<(), SimError> {
    let declared = declared_ports(header);
    let mut problems = Vec::new();
    for port in &spec.ports {
        let member = shim::verilator_member_name(&port.name);
        match declared.iter().find(|d| d.member == member) {
            None => problems.push(format!(
                "spec lists {} `{}` [{} bits], the Verilog has no such port",
                port.direction.keyword(),
                port.name,
                port.width
            )),
            Some(found) if found.direction.is_none() => problems.push(format!(
                "port `{}` is an inout in the Verilog; the bridge supports only inputs and outputs",
                port.name
            )),
            Some(found) if found.direction != Some(port.direction) || found.width != port.width => {
                problems.push(format!(
                    "spec says `{}` is a {}-bit {}, the Verilog has a {}-bit {}",
                    port.name,
                    port.width,
                    port.direction.keyword(),
                    found.width,
                    found.direction.map_or("inout", Direction::keyword)
                ))
            }
            Some(_) => {}
        }
    }
    for found in &declared {
        let listed = spec
            .ports
            .iter()
            .any(|port| shim::verilator_member_name(&port.name) == found.member);
        if !listed {
            problems.push(format!(
                "the Verilog has {} `{}` [{} bits], which the spec does not list",
                found.direction.map_or("inout", Direction::keyword),
                found.member,
                found.width
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SimError::PortMismatch {
            top: spec.top.clone(),
            details: problems.join("; "),
        })
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), SimError> {
    std::fs::write(path, text).map_err(|e| SimError::io(format!("writing {}", path.display()), e))
}

/// Verilator runs in the build directory's context, so relative source paths are made absolute.
fn absolute(path: &Path) -> Result<PathBuf, SimError> {
    std::path::absolute(path)
        .map_err(|e| SimError::io(format!("resolving source path {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "    VL_IN8(&clk,0,0);\n    VL_OUT8(&o,8,1);\n    VL_INW(&a,99,0,4);\n    \
                          VL_OUTW(&sum,100,0,4);\n    VL_IN64(&q,63,0);\n    VL_IN(&w,31,0);\n";

    #[test]
    fn header_parser_reads_names_directions_and_widths() {
        let ports = declared_ports(HEADER);
        let summary: Vec<(String, Option<Direction>, u32)> = ports
            .into_iter()
            .map(|p| (p.member, p.direction, p.width))
            .collect();
        use Direction::{Input, Output};
        assert_eq!(
            summary,
            vec![
                ("clk".into(), Some(Input), 1),
                ("o".into(), Some(Output), 8),
                ("a".into(), Some(Input), 100),
                ("sum".into(), Some(Output), 101),
                ("q".into(), Some(Input), 64),
                ("w".into(), Some(Input), 32),
            ]
        );
    }

    #[test]
    fn port_check_reports_width_and_missing_and_unlisted_ports() {
        let spec = ModelSpec::new("t")
            .input("clk", 1)
            .output("o", 7)
            .input("a", 100)
            .output("sum", 101)
            .input("q", 64)
            .input("ghost", 3);
        let message = check_ports(&spec, HEADER).unwrap_err().to_string();
        assert!(message.contains("spec says `o` is a 7-bit output, the Verilog has a 8-bit output"));
        assert!(message.contains("spec lists input `ghost` [3 bits]"));
        assert!(message.contains("the Verilog has input `w` [32 bits]"));
    }
}
