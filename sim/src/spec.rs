//! What to simulate: the Verilog sources, the top module, its port list and the tool options.
//!
//! A [`ModelSpec`] is plain data; [`ModelSpec::validate`] checks the parts that can be checked
//! without running Verilator (names are identifiers, widths are non-zero, no duplicate ports), so
//! a typo is reported before a multi-second build starts.

use std::path::PathBuf;

use crate::error::SimError;

/// Which way a port carries data, seen from the Verilog top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Driven by Rust with `poke`.
    Input,
    /// Read by Rust with `peek`.
    Output,
}

impl Direction {
    /// The Verilog keyword for this direction, used in error messages.
    pub fn keyword(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// One port of the top module: its Verilog name, its width in bits and its direction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortSpec {
    pub name: String,
    pub width: u32,
    pub direction: Direction,
}

impl PortSpec {
    pub fn input(name: impl Into<String>, width: u32) -> PortSpec {
        PortSpec {
            name: name.into(),
            width,
            direction: Direction::Input,
        }
    }

    pub fn output(name: impl Into<String>, width: u32) -> PortSpec {
        PortSpec {
            name: name.into(),
            width,
            direction: Direction::Output,
        }
    }

    /// Number of little-endian 32-bit words that hold a value of this port.
    pub fn word_count(&self) -> usize {
        self.width.div_ceil(32) as usize
    }
}

/// Everything needed to build a model: sources, top, ports, flags and tool overrides.
///
/// Every field that changes the built library is part of the cache key (see `cache`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// Verilog source files, passed to Verilator in this order. Their contents are hashed for
    /// the cache; files reached only through `` `include`` are not, so list every file the
    /// design reads or the cache may serve a build of the old include.
    pub sources: Vec<PathBuf>,
    /// Name of the top module.
    pub top: String,
    /// The top's ports. Must match the Verilog exactly (names, widths, directions); checked after
    /// Verilator has parsed the design.
    pub ports: Vec<PortSpec>,
    /// Extra Verilator command-line flags, e.g. `-Wno-fatal` or `-GDEPTH=8`.
    pub extra_flags: Vec<String>,
    /// The Verilator executable. `None` means `$ACCELGEN_VERILATOR` if set, else `verilator`
    /// looked up on `PATH`.
    pub verilator_binary: Option<PathBuf>,
    /// The cache directory. `None` means `$ACCELGEN_SIM_CACHE` if set, else
    /// `<cargo target dir>/accelgen-sim`, else `<system temp dir>/accelgen-sim`.
    pub cache_dir: Option<PathBuf>,
}

impl ModelSpec {
    /// A spec with no ports and no extra flags; add them with the builder methods.
    pub fn new(top: impl Into<String>) -> ModelSpec {
        ModelSpec {
            sources: Vec::new(),
            top: top.into(),
            ports: Vec::new(),
            extra_flags: Vec::new(),
            verilator_binary: None,
            cache_dir: None,
        }
    }

    pub fn source(mut self, path: impl Into<PathBuf>) -> ModelSpec {
        self.sources.push(path.into());
        self
    }

    pub fn input(mut self, name: impl Into<String>, width: u32) -> ModelSpec {
        self.ports.push(PortSpec::input(name, width));
        self
    }

    pub fn output(mut self, name: impl Into<String>, width: u32) -> ModelSpec {
        self.ports.push(PortSpec::output(name, width));
        self
    }

    pub fn flag(mut self, flag: impl Into<String>) -> ModelSpec {
        self.extra_flags.push(flag.into());
        self
    }

    pub fn verilator_binary(mut self, path: impl Into<PathBuf>) -> ModelSpec {
        self.verilator_binary = Some(path.into());
        self
    }

    pub fn cache_dir(mut self, path: impl Into<PathBuf>) -> ModelSpec {
        self.cache_dir = Some(path.into());
        self
    }

    /// Checks what can be checked without Verilator.
    pub fn validate(&self) -> Result<(), SimError> {
        if !is_identifier(&self.top) {
            return Err(SimError::InvalidSpec(format!(
                "top module name `{}` must be a plain Verilog identifier ([A-Za-z_][A-Za-z0-9_]*)",
                self.top
            )));
        }
        if self.sources.is_empty() {
            return Err(SimError::InvalidSpec(format!(
                "top `{}` has no source files; expected at least one Verilog file",
                self.top
            )));
        }
        for source in &self.sources {
            if !source.is_file() {
                return Err(SimError::SourceMissing {
                    path: source.clone(),
                });
            }
        }
        for (index, port) in self.ports.iter().enumerate() {
            if !is_identifier(&port.name) {
                return Err(SimError::InvalidSpec(format!(
                    "port name `{}` of top `{}` must be a plain Verilog identifier \
                     ([A-Za-z_][A-Za-z0-9_]*)",
                    port.name, self.top
                )));
            }
            if port.width == 0 {
                return Err(SimError::InvalidSpec(format!(
                    "port `{}` of top `{}` has width 0; expected at least 1 bit",
                    port.name, self.top
                )));
            }
            if self.ports[..index].iter().any(|p| p.name == port.name) {
                return Err(SimError::InvalidSpec(format!(
                    "port `{}` of top `{}` is listed twice",
                    port.name, self.top
                )));
            }
        }
        Ok(())
    }

    /// The Verilator executable this spec will run.
    pub fn resolved_verilator(&self) -> PathBuf {
        if let Some(path) = &self.verilator_binary {
            return path.clone();
        }
        match std::env::var_os("ACCELGEN_VERILATOR") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => PathBuf::from("verilator"),
        }
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`: the names the shim can spell as C++ members (escaped identifiers
/// like `\a+b ` are not supported).
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_accept_snake_case_and_reject_punctuation() {
        assert!(is_identifier("psum_out"));
        assert!(is_identifier("_x9"));
        assert!(!is_identifier("9x"));
        assert!(!is_identifier("a.b"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn word_count_rounds_up_to_whole_32_bit_words() {
        assert_eq!(PortSpec::input("a", 1).word_count(), 1);
        assert_eq!(PortSpec::input("a", 32).word_count(), 1);
        assert_eq!(PortSpec::input("a", 33).word_count(), 2);
        assert_eq!(PortSpec::input("a", 100).word_count(), 4);
    }
}
