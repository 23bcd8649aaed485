//! The `generate` use case end to end: config file → spec → design → package on disk. The CLI is
//! a thin shell over this, so tests and other front ends get exactly the same behaviour.

use std::path::Path;

use miette::Diagnostic;
use thiserror::Error;

use crate::config::{self, AcceleratorSpec, ConfigError};
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
    /// A validated section whose hardware this version does not generate yet.
    #[error("`{section}:` is validated (`accelgen check` shows what it describes) but this version does not generate its hardware yet")]
    #[diagnostic(
        code(accelgen::generate::not_yet_generated),
        help("remove the `{section}:` section to generate the PE array on its own")
    )]
    NotYetGenerated { section: &'static str },
}

/// Loads and validates `config_path`, builds its design and renders every output file.
pub fn build(
    config_path: &Path,
) -> Result<(AcceleratorSpec, Design, Vec<OutputFile>), GenerateError> {
    let spec = config::load(config_path)?;
    if spec.buffers.is_some() {
        return Err(GenerateError::NotYetGenerated { section: "buffers" });
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
