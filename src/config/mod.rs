//! The config layer: YAML text in, a validated [`AcceleratorSpec`] out.
//!
//! `load` reads the file, [`schema::parse`] gives the raw serde structs (shape only), and
//! [`validate::validate`] checks every rule and computes derived values. Errors are
//! [`ConfigError`]s that miette renders with `file:line:column` and the offending snippet.

pub mod error;
pub mod schema;
pub mod spec;
pub mod validate;

use std::path::Path;

use sha2::{Digest, Sha256};

pub use error::ConfigError;
pub use spec::*;

/// Reads, parses and validates a config file. config_hash = first 16 hex digits of SHA-256 of the bytes.
pub fn load(path: &Path) -> Result<AcceleratorSpec, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_owned(),
        source,
    })?;
    load_str(&source, &path.display().to_string())
}

/// Same, from text already in memory; `file_name` is what error messages show.
pub fn load_str(source: &str, file_name: &str) -> Result<AcceleratorSpec, ConfigError> {
    let raw = schema::parse(source, file_name)?;
    validate::validate(&raw, source, file_name, config_hash(source.as_bytes()))
}

/// First 16 hex digits of the SHA-256 of `bytes`: short enough for a Verilog banner, long enough
/// that two different configs never share one in practice.
pub fn config_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
