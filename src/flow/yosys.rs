//! Running the package's `flow/synth.ys` in Yosys and reading what it measured: cells, area and
//! flip-flops of every module of the hierarchical mapping (multiplied out by instance count), and
//! of the flat netlist.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::process::Command;

use serde::Serialize;

use super::liberty::Library;
use super::{tail, FlowError};
use crate::emit::yosys as script;

/// Cells, area and flip-flops of one module, counting only its own cells (not its children's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cells {
    pub cells: u64,
    pub area: f64,
    pub flops: u64,
    pub latches: u64,
}

/// One module of the synthesised hierarchy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockArea {
    pub module: String,
    /// How many times it is instantiated below the top (1 for the top).
    pub instances: u64,
    /// Its own cells, per instance (children excluded).
    pub cells: u64,
    /// Its own flip-flops, per instance.
    pub flops: u64,
    /// Its own area per instance, µm².
    pub area_um2: f64,
    /// Its area per instance including its children's, µm².
    pub subtree_area_um2: f64,
    /// `area_um2` × `instances`: what this module's own logic costs in the whole design.
    pub total_area_um2: f64,
}

/// What one run of `flow/synth.ys` measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthesis {
    /// Every module, top first, then its children depth-first in instantiation order.
    pub blocks: Vec<BlockArea>,
    /// The flat netlist: every cell of the design once.
    pub flat: Cells,
    /// Yosys's log (the caller keeps it for errors).
    pub log: String,
}

/// Yosys's version line, or the error naming the package to install: checked before the slow
/// steps so that a missing Yosys is reported at once.
pub fn version() -> Result<String, FlowError> {
    let output = Command::new("yosys")
        .arg("-V")
        .output()
        .map_err(|e| FlowError::missing_tool("yosys", "yosys", e))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs `yosys -s flow/synth.ys` in `package` (which holds the prepared `flow/liberty.lib`).
pub fn run(package: &Path, top: &str, library: &Library) -> Result<Synthesis, FlowError> {
    let log_path = package.join("flow/yosys.log");
    let output = Command::new("yosys")
        .arg("-q")
        .arg("-l")
        .arg(&log_path)
        .arg("-s")
        .arg(script::SCRIPT)
        .current_dir(package)
        .output()
        .map_err(|e| FlowError::missing_tool("yosys", "yosys", e))?;
    let log = fs::read_to_string(&log_path).unwrap_or_else(|_| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    if !output.status.success() {
        return Err(FlowError::ToolFailed {
            tool: "yosys",
            log_tail: tail(&log, 25),
        });
    }
    let hierarchical = read_stat(&package.join(script::blocks_json(top)))?;
    let flat = read_stat(&package.join(script::stat_json(top)))?;
    let blocks = blocks(&hierarchical, top, library)?;
    let flat_top = flat.get(top).ok_or_else(|| FlowError::Stat {
        path: package.join(script::stat_json(top)),
        reason: format!("no module `{top}` in the flat netlist's statistics"),
    })?;
    let flat = own_cells(flat_top, &HashSet::new(), library)?;
    Ok(Synthesis { blocks, flat, log })
}

/// `stat -json`: cell counts by type, per module (names without Yosys's leading `\`).
type Stat = BTreeMap<String, BTreeMap<String, u64>>;

fn read_stat(path: &Path) -> Result<Stat, FlowError> {
    let stat_error = |reason: String| FlowError::Stat {
        path: path.to_owned(),
        reason,
    };
    let text = fs::read_to_string(path).map_err(|e| stat_error(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&json_only(&text)).map_err(|e| stat_error(e.to_string()))?;
    let modules = value["modules"]
        .as_object()
        .ok_or_else(|| stat_error("no `modules` object".into()))?;
    let mut stat = Stat::new();
    for (name, module) in modules {
        let counts = module["num_cells_by_type"]
            .as_object()
            .map(|types| {
                types
                    .iter()
                    .map(|(cell, count)| {
                        (
                            cell.trim_start_matches('\\').to_string(),
                            count.as_u64().unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        stat.insert(name.trim_start_matches('\\').to_string(), counts);
    }
    Ok(stat)
}

/// `stat -json` output without the plain-text lines Yosys 0.23 mixes into it: on a design with a
/// hierarchy it prints the hierarchy summary (`   pe_ws_ai8_wi8_acc32    4`) in the middle of
/// the JSON. Every JSON line of `stat -json` starts with a quote or a bracket.
fn json_only(text: &str) -> String {
    text.lines()
        .filter(|line| {
            let line = line.trim_start();
            line.is_empty() || line.starts_with(['"', '{', '}', '[', ']'])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The library cells of one module's counts; `modules` are the cell types that are submodules.
fn own_cells(
    counts: &BTreeMap<String, u64>,
    modules: &HashSet<&str>,
    library: &Library,
) -> Result<Cells, FlowError> {
    let mut cells = Cells::default();
    for (cell, &count) in counts {
        if modules.contains(cell.as_str()) {
            continue;
        }
        let info = library
            .cells
            .get(cell)
            .ok_or_else(|| FlowError::UnmappedCell(cell.clone()))?;
        cells.cells += count;
        cells.area += info.area * count as f64;
        if info.flop {
            cells.flops += count;
        }
        if info.latch {
            cells.latches += count;
        }
    }
    Ok(cells)
}

/// Every module below `top` with its instance count and own and subtree areas.
fn blocks(stat: &Stat, top: &str, library: &Library) -> Result<Vec<BlockArea>, FlowError> {
    let modules: HashSet<&str> = stat.keys().map(String::as_str).collect();
    let mut own = HashMap::new();
    for (name, counts) in stat {
        own.insert(name.as_str(), own_cells(counts, &modules, library)?);
    }
    // Depth-first from the top; a module reached twice keeps its first position.
    let mut order: Vec<&str> = Vec::new();
    let mut instances: HashMap<&str, u64> = HashMap::new();
    fn visit<'a>(
        name: &'a str,
        multiplicity: u64,
        stat: &'a Stat,
        order: &mut Vec<&'a str>,
        instances: &mut HashMap<&'a str, u64>,
    ) {
        if !instances.contains_key(name) {
            order.push(name);
        }
        *instances.entry(name).or_insert(0) += multiplicity;
        for (cell, &count) in &stat[name] {
            if stat.contains_key(cell) {
                visit(cell, multiplicity * count, stat, order, instances);
            }
        }
    }
    if !stat.contains_key(top) {
        return Err(FlowError::UnmappedCell(format!("top module {top}")));
    }
    visit(top, 1, stat, &mut order, &mut instances);
    fn subtree(name: &str, stat: &Stat, own: &HashMap<&str, Cells>) -> f64 {
        own[name].area
            + stat[name]
                .iter()
                .filter(|(cell, _)| stat.contains_key(*cell))
                .map(|(cell, &count)| count as f64 * subtree(cell, stat, own))
                .sum::<f64>()
    }
    Ok(order
        .into_iter()
        .map(|name| {
            let cells = &own[name];
            BlockArea {
                module: name.to_string(),
                instances: instances[name],
                cells: cells.cells,
                flops: cells.flops,
                area_um2: cells.area,
                subtree_area_um2: subtree(name, stat, &own),
                total_area_um2: cells.area * instances[name] as f64,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::liberty::CellInfo;

    #[test]
    fn stat_text_lines_of_yosys_0_23_are_dropped_before_parsing() {
        let text = "{\n   \"modules\": {\n      \"\\\\pe\": { \"num_cells_by_type\": { \"nand\": 3 } }\n   },\n       pe           4\n      \"design\": {}\n}\n";
        assert!(serde_json::from_str::<serde_json::Value>(text).is_err());
        let value: serde_json::Value = serde_json::from_str(&json_only(text)).unwrap();
        assert_eq!(value["modules"]["\\pe"]["num_cells_by_type"]["nand"], 3);
    }

    #[test]
    fn blocks_multiply_own_cells_by_instances_down_the_hierarchy() {
        let mut library = Library::default();
        let cell = |area, flop| CellInfo {
            area,
            flop,
            latch: false,
        };
        library.cells.insert("nand".into(), cell(4.0, false));
        library.cells.insert("dff".into(), cell(20.0, true));
        let mut stat = Stat::new();
        stat.insert(
            "top".into(),
            [("array".to_string(), 1), ("nand".to_string(), 2)].into(),
        );
        stat.insert(
            "array".into(),
            [("pe".to_string(), 6), ("dff".to_string(), 1)].into(),
        );
        stat.insert(
            "pe".into(),
            [("nand".to_string(), 10), ("dff".to_string(), 3)].into(),
        );
        let blocks = blocks(&stat, "top", &library).unwrap();
        let names: Vec<_> = blocks.iter().map(|b| b.module.as_str()).collect();
        assert_eq!(names, ["top", "array", "pe"]);
        let pe = &blocks[2];
        assert_eq!((pe.instances, pe.cells, pe.flops), (6, 13, 3));
        assert_eq!(pe.area_um2, 100.0);
        assert_eq!(pe.total_area_um2, 600.0);
        assert_eq!(blocks[1].subtree_area_um2, 620.0);
        assert_eq!(blocks[0].subtree_area_um2, 628.0);
        stat.get_mut("pe").unwrap().insert("mystery".into(), 1);
        assert!(matches!(
            super::blocks(&stat, "top", &library),
            Err(FlowError::UnmappedCell(c)) if c == "mystery"
        ));
    }
}
