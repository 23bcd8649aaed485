//! The `generate` use case end to end: config file → spec → design → package on disk. The CLI is
//! a thin shell over this, so tests and other front ends get exactly the same behaviour.

use std::path::Path;

use miette::Diagnostic;
use thiserror::Error;

use crate::config::{self, AcceleratorSpec, ConfigError, Dataflow};
use crate::emit::{render_package, write_package, OutputError, OutputFile};
use crate::hdl::{Design, HdlError};

#[derive(Debug, Error, Diagnostic)]
pub enum GenerateError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),
    #[error("the generator built an invalid design (a bug in accelgen; please report it with the config)")]
    Design(#[source] HdlError),
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A validated setting whose hardware this version does not generate yet.
    #[error("{what} is validated (`accelgen check` shows the buffer geometry) but this version does not generate its hardware yet")]
    #[diagnostic(
        code(accelgen::generate::not_yet_generated),
        help("the buffered core is built for weight_stationary and output_stationary (double-buffered as ifmap, weight and ofmap together); remove the `buffers:` section to generate the PE array on its own")
    )]
    NotYetGenerated { what: String },
}

/// Loads and validates `config_path`, builds its design and renders every output file.
pub fn build(
    config_path: &Path,
) -> Result<(AcceleratorSpec, Design, Vec<OutputFile>), GenerateError> {
    let spec = config::load(config_path)?;
    if let Some(what) = not_yet_generated(&spec) {
        return Err(GenerateError::NotYetGenerated { what });
    }
    let design = crate::blocks::build_design(&spec).map_err(GenerateError::Design)?;
    let files = render_package(&spec, &design);
    Ok((spec, design, files))
}

/// `accelgen --config FILE -o DIR`: generates and writes the package atomically.
pub fn generate(
    config_path: &Path,
    output: &Path,
    force: bool,
) -> Result<Vec<OutputFile>, GenerateError> {
    let (_, _, files) = build(config_path)?;
    write_package(output, &files, force)?;
    Ok(files)
}

/// The first setting of `spec` that validates but has no generator yet.
fn not_yet_generated(spec: &AcceleratorSpec) -> Option<String> {
    let buffers = spec.buffers.as_ref()?;
    if !matches!(
        spec.pe_array.dataflow,
        Dataflow::WeightStationary | Dataflow::OutputStationary
    ) {
        return Some(format!(
            "`buffers:` with the {} dataflow",
            spec.pe_array.dataflow.config_name()
        ));
    }
    crate::blocks::gemm_core::double_buffering_conflict(buffers)
}
