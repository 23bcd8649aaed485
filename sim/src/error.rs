//! The one error type of the bridge. Each variant names the thing, the value and what was
//! expected, and build failures carry the command, the tail of its output and the full log path.

use std::path::PathBuf;

/// Everything that can go wrong while building, loading or driving a model.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(
        "verilator not found on PATH (tried `{}`); install it with `sudo apt-get install \
         verilator` (or run scripts/setup.sh)",
        binary.display()
    )]
    VerilatorNotFound { binary: PathBuf },

    #[error("`{tool}` not found on PATH; install it with `{install}` (or run scripts/setup.sh)")]
    ToolNotFound {
        tool: &'static str,
        install: &'static str,
    },

    #[error("invalid model spec: {0}")]
    InvalidSpec(String),

    #[error("Verilog source `{}` does not exist or is not a file", path.display())]
    SourceMissing { path: PathBuf },

    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{step} failed ({status}) running:\n  {command}\nlast lines of its output:\n{tail}\n\
         full log: {}",
        log.display()
    )]
    CommandFailed {
        step: &'static str,
        command: String,
        status: String,
        tail: String,
        log: PathBuf,
    },

    #[error("port list of top `{top}` does not match the Verilog: {details}")]
    PortMismatch { top: String, details: String },

    #[error("cannot load model library `{}`: {message}", library.display())]
    Load { library: PathBuf, message: String },

    #[error("top `{top}` has no port `{name}`; its ports are: {known}")]
    UnknownPort {
        top: String,
        name: String,
        known: String,
    },

    #[error(
        "value {value:#x} does not fit port `{port}` of top `{top}`, which is {width} bit(s) wide"
    )]
    ValueTooWide {
        top: String,
        port: String,
        width: u32,
        value: u64,
    },

    #[error(
        "port `{port}` of top `{top}` is {width} bits wide and needs {expected} u32 word(s), \
         got {got}"
    )]
    WordCountMismatch {
        top: String,
        port: String,
        width: u32,
        expected: usize,
        got: usize,
    },

    #[error("port `{port}` of top `{top}` is an output; only inputs can be poked")]
    PokeOutput { top: String, port: String },

    #[error(
        "port `{port}` of top `{top}` is {width} bits wide; peek returns u64, use peek_wide for \
         ports wider than 64 bits"
    )]
    PeekTooWide {
        top: String,
        port: String,
        width: u32,
    },

    #[error("model of top `{top}` is already tracing to `{}`", path.display())]
    TraceAlreadyOpen { top: String, path: PathBuf },

    #[error("could not open VCD trace `{}` for top `{top}`", path.display())]
    TraceOpen { top: String, path: PathBuf },
}

impl SimError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> SimError {
        SimError::Io {
            action: action.into(),
            source,
        }
    }
}
