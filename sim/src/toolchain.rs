//! Running the external tools: Verilator, make (with ccache) and the C++ compiler.
//!
//! Each command's output goes to its own log file; a failure becomes a `SimError` with the
//! command line, the exit status, the last lines of the log and the log's path. A missing
//! executable becomes an error that names the install command instead of an `io::Error`.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::error::SimError;

/// How many lines of a failed command's log are quoted in the error.
const TAIL_LINES: usize = 40;

/// `verilator --version`, memoized per binary so a cache hit costs one spawn per process.
pub fn verilator_version(binary: &Path) -> Result<String, SimError> {
    static VERSIONS: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    let versions = VERSIONS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(version) = versions.lock().unwrap().get(binary) {
        return Ok(version.clone());
    }
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                SimError::VerilatorNotFound {
                    binary: binary.to_path_buf(),
                }
            }
            _ => SimError::io(format!("running `{} --version`", binary.display()), error),
        })?;
    if !output.status.success() {
        return Err(SimError::CommandFailed {
            step: "verilator version query",
            command: format!("{} --version", binary.display()),
            status: output.status.to_string(),
            tail: String::from_utf8_lossy(&output.stderr).into_owned(),
            log: PathBuf::from("(not logged)"),
        });
    }
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    versions
        .lock()
        .unwrap()
        .insert(binary.to_path_buf(), version.clone());
    Ok(version)
}

/// `g++ --version` (the compiler Verilator's makefile uses), memoized; part of the cache key.
pub fn compiler_version() -> Result<String, SimError> {
    static VERSION: OnceLock<Result<String, String>> = OnceLock::new();
    let version = VERSION.get_or_init(|| match Command::new("g++").arg("--version").output() {
        Ok(output) if output.status.success() => {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
        }
        Ok(output) => Err(format!("`g++ --version` exited with {}", output.status)),
        Err(error) => Err(error.to_string()),
    });
    version.clone().map_err(|_| SimError::ToolNotFound {
        tool: "g++",
        install: "sudo apt-get install build-essential",
    })
}

/// Whether an executable called `name` is on `PATH`.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|directory| directory.join(name).is_file())
    })
}

/// Runs `command` with stdout and stderr appended to `log`, turning failures into `SimError`s.
/// `missing` is the error to report if the executable itself cannot be found.
pub fn run_logged(
    step: &'static str,
    mut command: Command,
    log: &Path,
    missing: impl FnOnce() -> SimError,
) -> Result<(), SimError> {
    let command_line = describe(&command);
    let log_file =
        File::create(log).map_err(|e| SimError::io(format!("creating {}", log.display()), e))?;
    let log_file_for_stderr = log_file
        .try_clone()
        .map_err(|e| SimError::io(format!("duplicating handle of {}", log.display()), e))?;
    let status = command
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_file_for_stderr)
        .status()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => missing(),
            _ => SimError::io(format!("starting `{command_line}`"), error),
        })?;
    if status.success() {
        return Ok(());
    }
    Err(SimError::CommandFailed {
        step,
        command: command_line,
        status: status.to_string(),
        tail: tail_of(log),
        log: log.to_path_buf(),
    })
}

/// The last `TAIL_LINES` lines of a log file, indented for embedding in an error message.
fn tail_of(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    lines[start..]
        .iter()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A shell-like rendering of a command, for error messages and logs.
pub fn describe(command: &Command) -> String {
    let mut parts = vec![quote(command.get_program())];
    parts.extend(command.get_args().map(quote));
    let text = parts.join(" ");
    match command.get_current_dir() {
        Some(directory) => format!("(cd {} && {text})", directory.display()),
        None => text,
    }
}

fn quote(part: &OsStr) -> String {
    let text = part.to_string_lossy();
    if text.is_empty() || text.contains([' ', '"', '\'', '$', '\\']) {
        format!("'{}'", text.replace('\'', "'\\''"))
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_quotes_arguments_with_spaces() {
        let mut command = Command::new("make");
        command.arg("CXXFLAGS=-fPIC -O2").arg("-j2");
        assert_eq!(describe(&command), "make 'CXXFLAGS=-fPIC -O2' -j2");
    }
}
