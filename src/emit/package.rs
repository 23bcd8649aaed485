//! The output package: every file `accelgen -o DIR` writes, rendered in memory first and then
//! written atomically: `rtl/*.v`, `filelist.f`, the hand-off files (`flow/constraint.sdc`,
//! `flow/config.mk`, `flow/synth.ys`, `flow/abc.constr`, `<name>.core`, `sw/<name>.h`) and
//! `manifest.json`, which lists them. A design with SRAM macros also gets their behavioural
//! models in `sim/` (for simulation only: they are not in `filelist.f`, the synthesis filelist).
//!
//! Writing goes to a temporary sibling of DIR that is renamed into place only when every file is
//! written, so a failure leaves DIR exactly as it was. accelgen never deletes what it did not
//! write: an existing DIR is replaced only when it is empty or holds accelgen's own manifest.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;
use thiserror::Error;

use super::verilog::{filelist, render_design, Banner};
use super::{c_header, fusesoc, macros, orfs, sdc, yosys};
use crate::config::AcceleratorSpec;
use crate::hdl::Design;

/// Directory of the RTL inside the package, as the filelist names it.
pub const RTL_DIR: &str = "rtl";
/// The manifest that marks a directory as accelgen's own.
pub const MANIFEST: &str = "manifest.json";
/// Written into the manifest; its presence is how accelgen recognises its own output.
const GENERATOR: &str = "accelgen";

/// One file of the package, relative to the output directory.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputFile {
    pub path: PathBuf,
    pub contents: String,
}

#[derive(Debug, Error)]
pub enum OutputError {
    #[error("refusing to replace `{}`: it is not empty and holds no accelgen {MANIFEST}, so it may hold files accelgen did not write (choose another directory, or pass --force to replace it)", .0.display())]
    ForeignDirectory(PathBuf),
    #[error("`{}` exists and is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot write `{}`: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Renders every file of the package for `design` (built from `spec`).
pub fn render_package(spec: &AcceleratorSpec, design: &Design) -> Vec<OutputFile> {
    let banner = Banner {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        config_name: spec.name.clone(),
        config_hash: spec.config_hash.clone(),
    };
    let verilog = render_design(design, &banner);
    let mut files: Vec<OutputFile> = verilog
        .iter()
        .map(|f| OutputFile {
            path: Path::new(RTL_DIR).join(&f.file_name),
            contents: f.contents.clone(),
        })
        .collect();
    files.push(OutputFile {
        path: PathBuf::from("filelist.f"),
        contents: filelist(&verilog, RTL_DIR),
    });
    files.extend(
        macros::sim_models(design, &banner)
            .into_iter()
            .map(|f| OutputFile {
                path: Path::new(macros::SIM_DIR).join(&f.file_name),
                contents: f.contents,
            }),
    );
    let rtl = rtl_paths(&verilog);
    let handoff = [
        (sdc::PATH.to_string(), sdc::render(spec, design, &banner)),
        (
            orfs::PATH.to_string(),
            orfs::render(spec, design, &rtl, &banner),
        ),
        (
            yosys::SCRIPT.to_string(),
            yosys::render_script(spec, design, &rtl, &banner),
        ),
        (yosys::ABC_CONSTR.to_string(), yosys::render_abc_constr()),
        (
            fusesoc::path(spec),
            fusesoc::render(spec, design, &rtl, &banner),
        ),
        (
            c_header::path(spec),
            c_header::render(spec, design, &banner),
        ),
    ];
    files.extend(handoff.into_iter().map(|(path, contents)| OutputFile {
        path: PathBuf::from(path),
        contents,
    }));
    files.push(OutputFile {
        path: PathBuf::from(MANIFEST),
        contents: manifest(spec, design, &verilog),
    });
    files
}

/// The RTL files as package-relative paths, in filelist order.
fn rtl_paths(verilog: &[super::VerilogFile]) -> Vec<String> {
    verilog
        .iter()
        .map(|f| format!("{RTL_DIR}/{}", f.file_name))
        .collect()
}

fn manifest(spec: &AcceleratorSpec, design: &Design, verilog: &[super::VerilogFile]) -> String {
    let top = design.module(design.top().expect("the top block sets the design's top"));
    let ports: Vec<_> = top
        .ports()
        .map(|(_, p)| {
            json!({
                "name": p.name,
                "direction": if p.kind == crate::hdl::SignalKind::Input { "input" } else { "output" },
                "width": p.ty.width,
                "signed": p.ty.signed,
            })
        })
        .collect();
    let counts = design.instance_counts();
    let modules: Vec<_> = design
        .dependency_order()
        .into_iter()
        .map(|id| {
            let module = design.module(id);
            let parameters: serde_json::Map<_, _> = module
                .parameters
                .iter()
                .map(|p| (p.name.clone(), json!(p.value)))
                .collect();
            json!({
                "name": module.name,
                "instances": counts.get(&id).copied().unwrap_or(0),
                "flop_bits": module.flop_bits(),
                "parameters": parameters,
            })
        })
        .collect();
    let mut value = json!({
        "generator": GENERATOR,
        "version": env!("CARGO_PKG_VERSION"),
        "config": { "name": spec.name, "sha256_prefix": spec.config_hash },
        "top": top.name,
        "clock": { "frequency_mhz": spec.clock.frequency_mhz, "period_ns": spec.clock.period_ns },
        "pe_array": {
            "rows": spec.pe_array.rows,
            "cols": spec.pe_array.cols,
            "dataflow": spec.pe_array.dataflow.config_name(),
        },
        "pe": {
            "kind": spec.pe.kind.config_name(),
            "act": { "bits": spec.pe.act.bits, "signed": spec.pe.act.signed },
            "weight": { "bits": spec.pe.weight.bits, "signed": spec.pe.weight.signed },
            "accumulator_bits": spec.pe.acc_bits,
        },
        "ports": ports,
        "modules": modules,
        "rtl": rtl_paths(verilog),
        "handoff": {
            "sdc": sdc::PATH,
            "orfs_config": orfs::PATH,
            "yosys_script": yosys::SCRIPT,
            "abc_constraints": yosys::ABC_CONSTR,
            "fusesoc_core": fusesoc::path(spec),
            "c_header": c_header::path(spec),
        },
    });
    let used_macros = macros::used(design);
    if !used_macros.is_empty() {
        // Only designs with macros have the key, so the manifests of the others are unchanged.
        value["sram_macros"] = used_macros
            .iter()
            .map(|m| {
                json!({
                    "name": m.name,
                    "liberty": m.liberty_path(),
                    "sim_model": m.sim_path(),
                })
            })
            .collect();
    }
    let mut text = serde_json::to_string_pretty(&value).expect("JSON values serialise");
    text.push('\n');
    text
}

/// Is `dir` something accelgen may replace: missing, empty, or holding accelgen's manifest?
fn may_replace(dir: &Path) -> Result<bool, OutputError> {
    if !dir.exists() {
        return Ok(true);
    }
    if !dir.is_dir() {
        return Err(OutputError::NotADirectory(dir.to_owned()));
    }
    let mut entries = fs::read_dir(dir).map_err(io_error(dir))?;
    if entries.next().is_none() {
        return Ok(true);
    }
    let manifest = dir.join(MANIFEST);
    Ok(fs::read_to_string(&manifest)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|value| value["generator"] == GENERATOR))
}

/// Writes `files` into `dir` atomically: all of them, or (on any error) nothing changes.
pub fn write_package(dir: &Path, files: &[OutputFile], force: bool) -> Result<(), OutputError> {
    if !force && !may_replace(dir)? {
        return Err(OutputError::ForeignDirectory(dir.to_owned()));
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_error(&parent))?;
    let stem = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    // The staging directory is removed automatically if anything below fails.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{stem}.accelgen-"))
        .tempdir_in(&parent)
        .map_err(io_error(&parent))?;
    for file in files {
        let path = staging.path().join(&file.path);
        if let Some(directory) = path.parent() {
            fs::create_dir_all(directory).map_err(io_error(directory))?;
        }
        fs::write(&path, &file.contents).map_err(io_error(&path))?;
    }
    if dir.exists() {
        // Move the old output aside first so the swap is two renames; delete it only after.
        let retired = tempfile::Builder::new()
            .prefix(&format!(".{stem}.accelgen-old-"))
            .tempdir_in(&parent)
            .map_err(io_error(&parent))?;
        let retired_path = retired.path().join("old");
        fs::rename(dir, &retired_path).map_err(io_error(dir))?;
        if let Err(source) = fs::rename(staging.path(), dir) {
            // Put the old output back: the user keeps what they had.
            let _ = fs::rename(&retired_path, dir);
            return Err(OutputError::Io {
                path: dir.to_owned(),
                source,
            });
        }
        drop(retired);
    } else {
        fs::rename(staging.path(), dir).map_err(io_error(dir))?;
    }
    // The staging path was renamed away; forget it instead of trying to delete it.
    let _ = staging.keep();
    Ok(())
}
