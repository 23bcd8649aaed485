//! The standard-cell library for `accelgen synth`: where the default one is (the shared sky130
//! PDK), preparing a copy Yosys 0.23 can read (uncompressed, with ORFS's sky130hd dont_use cells
//! marked), and the facts the report needs from it (each cell's area, and whether it is a
//! flip-flop or a latch). Also copies the liberties of the SRAM macros a design instantiates.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::FlowError;
use crate::emit::macros;
use crate::hdl::Design;

/// The environment variable that names the PDK directory holding the default liberty.
pub const PDK_ENV: &str = "ACCELGEN_PDK";
/// The default liberty inside the PDK directory: sky130hd, typical corner (25 °C, 1.80 V).
pub const DEFAULT_LIBERTY: &str = "sky130_fd_sc_hd__tt_025C_1v80.lib.gz";
/// Cells ORFS's sky130hd platform lists as DONT_USE, by name prefix: power-management (`lpflow_*`)
/// cells need extra supply pins and isolation intent, and `probe_*` cells are for test access.
pub const DONT_USE_PREFIXES: &[&str] = &["sky130_fd_sc_hd__lpflow_", "sky130_fd_sc_hd__probe_"];

/// The PDK directory: `$ACCELGEN_PDK` if set, else `../shared/pdk/sky130` next to the accelgen
/// checkout (where the project's shared files live).
pub fn pdk_dir() -> PathBuf {
    match std::env::var_os(PDK_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pdk/sky130"),
    }
}

/// The liberty to synthesise against: `explicit` if given, else the default in [`pdk_dir`].
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, FlowError> {
    let path = match explicit {
        Some(path) => path.to_owned(),
        None => pdk_dir().join(DEFAULT_LIBERTY),
    };
    if path.is_file() {
        // Reported to the user: `/a/b/../shared` reads worse than `/a/shared`.
        Ok(std::fs::canonicalize(&path).unwrap_or(path))
    } else {
        Err(FlowError::LibertyNotFound {
            path,
            explicit: explicit.is_some(),
        })
    }
}

/// What the report needs to know about one library cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellInfo {
    /// Area in the library's unit (µm² for sky130).
    pub area: f64,
    /// Holds an `ff` group: a flip-flop.
    pub flop: bool,
    /// Holds a `latch` group.
    pub latch: bool,
}

/// Cells of a prepared library, by name.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub cells: BTreeMap<String, CellInfo>,
}

/// The name of the cell a liberty line opens, if it opens one: `cell ("x") {` or `cell (x) {`.
fn opened_cell(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("cell")?.trim_start();
    let inner = rest.strip_prefix('(')?;
    let name = &inner[..inner.find(')')?];
    Some(name.trim().trim_matches('"'))
}

/// Does a trimmed liberty line open a group named `group` (`ff (`, `latch (`)?
fn opens_group(line: &str, group: &str) -> bool {
    line.strip_prefix(group)
        .is_some_and(|rest| rest.trim_start().starts_with('('))
}

/// Reads the cells of `text`, and returns the text with ORFS's dont_use cells marked.
fn scan(text: &str) -> (Library, String) {
    let mut library = Library::default();
    let mut marked = String::with_capacity(text.len() + 4096);
    let mut current: Option<String> = None;
    for line in text.lines() {
        marked.push_str(line);
        marked.push('\n');
        if let Some(name) = opened_cell(line) {
            if DONT_USE_PREFIXES.iter().any(|p| name.starts_with(p)) {
                marked.push_str("        dont_use : true;\n");
            }
            library.cells.insert(
                name.to_string(),
                CellInfo {
                    area: 0.0,
                    flop: false,
                    latch: false,
                },
            );
            current = Some(name.to_string());
            continue;
        }
        let Some(cell) = current.as_ref().and_then(|c| library.cells.get_mut(c)) else {
            continue;
        };
        let trimmed = line.trim_start();
        if let Some(value) = trimmed
            .strip_prefix("area")
            .and_then(|rest| rest.trim_start().strip_prefix(':'))
        {
            // The cell's own `area : 11.26;` (its pins have none).
            cell.area = value
                .trim()
                .trim_end_matches(';')
                .trim()
                .parse()
                .unwrap_or(0.0);
        } else if opens_group(trimmed, "ff") {
            cell.flop = true;
        } else if opens_group(trimmed, "latch") {
            cell.latch = true;
        }
    }
    (library, marked)
}

/// Writes the liberty at `source` (gzipped or not) to `destination` uncompressed and with ORFS's
/// dont_use cells marked, and returns its cells.
pub fn prepare(source: &Path, destination: &Path) -> Result<Library, FlowError> {
    let bytes = if source.extension().is_some_and(|e| e == "gz") {
        // gzip is part of every Debian system; a decompression crate is not worth the dependency.
        let output = Command::new("gzip")
            .arg("-dc")
            .arg(source)
            .output()
            .map_err(|e| FlowError::Liberty {
                path: source.to_owned(),
                reason: format!("cannot run `gzip -dc` ({e})"),
            })?;
        if !output.status.success() {
            return Err(FlowError::Liberty {
                path: source.to_owned(),
                reason: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        output.stdout
    } else {
        fs::read(source).map_err(|e| FlowError::Liberty {
            path: source.to_owned(),
            reason: e.to_string(),
        })?
    };
    let text = String::from_utf8_lossy(&bytes);
    let (library, marked) = scan(&text);
    if library.cells.is_empty() {
        return Err(FlowError::Liberty {
            path: source.to_owned(),
            reason: "it defines no cell: is it a liberty (.lib) file?".into(),
        });
    }
    let mut file = fs::File::create(destination).map_err(|e| FlowError::Io {
        path: destination.to_owned(),
        source: e,
    })?;
    file.write_all(marked.as_bytes())
        .map_err(|e| FlowError::Io {
            path: destination.to_owned(),
            source: e,
        })?;
    Ok(library)
}

/// Copies the liberty of every SRAM macro `design` instantiates from [`pdk_dir`] to where the
/// package's `flow/synth.ys` reads it, and returns their cells (the macros and their areas).
/// A design without macros needs nothing and gets an empty library.
pub fn prepare_macros(design: &Design, package: &Path) -> Result<Library, FlowError> {
    let mut library = Library::default();
    for tech_macro in macros::used(design) {
        let source = pdk_dir().join(tech_macro.liberty);
        if !source.is_file() {
            return Err(FlowError::LibertyNotFound {
                path: source,
                explicit: false,
            });
        }
        let cells = prepare(&source, &package.join(tech_macro.liberty_path()))?;
        library.cells.extend(cells.cells);
    }
    Ok(library)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"library (demo) {
    cell ("demo__nand2_1") {
        area : 3.75;
        pin ("A") { direction : input; }
    }
    cell ("demo__dfxtp_1") {
        area : 20.0192;
        ff ("IQ","IQ_N") { next_state : "D"; }
    }
    cell (demo__dlxtp_1) {
        area : 15.0;
        latch ("IQ","IQ_N") { data_in : "D"; }
    }
    cell ("sky130_fd_sc_hd__lpflow_inputiso1p_1") {
        area : 6.0;
    }
}
"#;

    #[test]
    fn scan_reads_areas_flops_and_latches_and_marks_dont_use_cells() {
        let (library, marked) = scan(SAMPLE);
        assert_eq!(library.cells.len(), 4);
        assert_eq!(library.cells["demo__nand2_1"].area, 3.75);
        assert!(!library.cells["demo__nand2_1"].flop);
        assert!(library.cells["demo__dfxtp_1"].flop);
        assert!(library.cells["demo__dlxtp_1"].latch);
        assert_eq!(marked.matches("dont_use : true;").count(), 1);
        let iso = marked.find("lpflow_inputiso1p_1").unwrap();
        assert!(marked[iso..].starts_with("lpflow_inputiso1p_1\") {\n        dont_use : true;"));
    }
}
