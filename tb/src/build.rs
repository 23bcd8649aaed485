//! From a checked design to a live Verilator model: render the Verilog, write it to a
//! content-addressed directory under the simulator cache (the model cache key includes source
//! paths, so they must be stable across runs) and build or load the model with every top port.
//! A design that instantiates technology macros (SRAMs) also gets their behavioural models
//! (`accelgen::emit::macros`), which the package keeps out of its synthesis filelist.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use accelgen::emit::{macros, render_design, Banner};
use accelgen::hdl::{Design, SignalKind};
use accelgen_sim::{cache_root, Model, ModelSpec};

use crate::error::BenchError;

/// Builds (or loads) the model of `design`'s top. `config_name` and `config_hash` go into the
/// Verilog banners, as in a generated package.
pub fn build_model(
    design: &Design,
    config_name: &str,
    config_hash: &str,
) -> Result<Model, BenchError> {
    let top = design.module(design.top().expect("the design has a top"));
    let banner = Banner {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        config_name: config_name.into(),
        config_hash: config_hash.into(),
    };
    let mut files = render_design(design, &banner);
    files.extend(macros::sim_models(design, &banner));
    let mut hasher = DefaultHasher::new();
    for file in &files {
        file.file_name.hash(&mut hasher);
        file.contents.hash(&mut hasher);
    }
    let directory = cache_root(&ModelSpec::new(top.name.clone()))
        .join("tb-sources")
        .join(format!("{}-{:016x}", top.name, hasher.finish()));
    let mut spec = ModelSpec::new(top.name.clone());
    for file in &files {
        let path = directory.join(&file.file_name);
        write_if_changed(&path, &file.contents)?;
        spec = spec.source(path);
    }
    for (_, port) in top.ports() {
        spec = match port.kind {
            SignalKind::Input => spec.input(port.name.clone(), port.ty.width),
            _ => spec.output(port.name.clone(), port.ty.width),
        };
    }
    Ok(Model::build(&spec)?)
}

fn write_if_changed(path: &Path, contents: &str) -> Result<(), BenchError> {
    let io = |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    };
    if std::fs::read_to_string(path).ok().as_deref() == Some(contents) {
        return Ok(());
    }
    let directory = path.parent().expect("source paths have a directory");
    std::fs::create_dir_all(directory).map_err(io)?;
    // Write then rename, so a concurrent reader never sees a half-written file; the temporary
    // name is unique per process and per call, as several test threads may write the same file.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let temporary = directory.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name().unwrap().to_string_lossy(),
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&temporary, contents).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}
