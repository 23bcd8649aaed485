//! Running the hand-off package through open-source tools: `accelgen synth` generates a config's
//! package into a temporary directory, synthesises it with the package's own `flow/synth.ys` in
//! Yosys against a sky130hd liberty, times the netlist with OpenSTA when it is installed, and
//! reports area per block, flip-flops, area per MAC and the achievable clock.
//!
//! `liberty` finds and prepares the library (and the liberties of the SRAM macros the design
//! instantiates, which Yosys reads as black boxes), `yosys` runs synthesis and reads its statistics,
//! `sta` runs timing. Nothing here knows how a block is built: the per-block figures come from the
//! synthesised hierarchy itself.

pub mod liberty;
pub mod sta;
pub mod yosys;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use miette::Diagnostic;
use serde::Serialize;
use thiserror::Error;

use crate::blocks::pe;
use crate::emit::{write_package, yosys as script};
use crate::generate::{self, GenerateError};

pub use sta::Timing;
pub use yosys::BlockArea;

#[derive(Debug, Error, Diagnostic)]
pub enum FlowError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Generate(#[from] GenerateError),
    #[error("cannot run `{tool}`")]
    #[diagnostic(help(
        "install it with `sudo apt-get install {package}` (or run scripts/setup.sh)"
    ))]
    MissingTool {
        tool: &'static str,
        package: &'static str,
        source: io::Error,
    },
    #[error("`{tool}` failed; the end of its log:\n{log_tail}")]
    ToolFailed {
        tool: &'static str,
        log_tail: String,
    },
    #[error("no liberty file at `{}`", path.display())]
    #[diagnostic(help("{}", if *explicit {
        "check the --liberty path".to_string()
    } else {
        format!("set {} to the directory holding {} (default: ../shared/pdk/sky130 next to the accelgen checkout), or pass --liberty PATH", liberty::PDK_ENV, liberty::DEFAULT_LIBERTY)
    }))]
    LibertyNotFound { path: PathBuf, explicit: bool },
    #[error("cannot read the liberty `{}`: {reason}", path.display())]
    Liberty { path: PathBuf, reason: String },
    #[error("cannot read Yosys's statistics `{}`: {reason}", path.display())]
    Stat { path: PathBuf, reason: String },
    #[error("the synthesised netlist uses cell `{0}`, which the liberty does not define")]
    UnmappedCell(String),
    #[error("the synthesised netlist holds {0} latch cells; accelgen describes only flip-flops (a bug in accelgen; please report it with the config)")]
    Latches(u64),
    #[error("cannot write `{}`: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl FlowError {
    fn missing_tool(tool: &'static str, package: &'static str, source: io::Error) -> FlowError {
        FlowError::MissingTool {
            tool,
            package,
            source,
        }
    }
}

/// The last `lines` lines of a tool's log.
fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// How to run `synth`.
#[derive(Debug, Clone, Default)]
pub struct SynthOptions {
    /// The liberty (`.lib` or `.lib.gz`); default: sky130hd typical in [`liberty::pdk_dir`].
    pub liberty: Option<PathBuf>,
}

/// What `accelgen synth` reports. Areas are in µm² rounded to 0.01, times in ns to the
/// picosecond, clocks in MHz to 0.1, run times in seconds to the millisecond.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SynthReport {
    pub config: String,
    pub top: String,
    pub liberty: String,
    pub clock_mhz: f64,
    pub period_ns: f64,
    /// The hierarchical mapping, one entry per module, top first.
    pub blocks: Vec<BlockArea>,
    /// Σ blocks' total_area_um2: the design mapped module by module.
    pub hierarchical_area_um2: f64,
    /// The flat, timing-driven netlist (the hand-off netlist): area, cells, flip-flops.
    pub area_um2: f64,
    pub cells: u64,
    pub flops: u64,
    /// The PE module and its area per instance, from the hierarchical mapping.
    pub pe_module: String,
    pub pe_area_um2: Option<f64>,
    /// PEs (one MAC each) and the flat area divided by them: what one MAC costs with its share of
    /// the glue.
    pub macs: u64,
    pub area_per_mac_um2: f64,
    /// OpenSTA's result, or `None` with `sta_skipped` saying why.
    pub timing: Option<Timing>,
    pub sta_skipped: Option<String>,
    pub yosys_seconds: f64,
    pub sta_seconds: Option<f64>,
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// `accelgen synth`: generate `config`'s package, synthesise it, time it, report. `progress`
/// receives a line before each long step.
pub fn synth(
    config: &Path,
    options: &SynthOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<SynthReport, FlowError> {
    let (spec, design, files) = generate::build(config)?;
    let top = design
        .module(design.top().expect("build sets the top"))
        .name
        .clone();
    let liberty_path = liberty::locate(options.liberty.as_deref())?;
    let yosys_version = yosys::version()?;

    let scratch = tempfile::tempdir().map_err(|e| FlowError::Io {
        path: std::env::temp_dir(),
        source: e,
    })?;
    let package = scratch.path().join(&spec.name);
    write_package(&package, &files, false).map_err(GenerateError::from)?;
    progress(&format!(
        "synth: preparing the liberty {}",
        liberty_path.display()
    ));
    let mut library = liberty::prepare(&liberty_path, &package.join(script::LIBERTY))?;
    library
        .cells
        .extend(liberty::prepare_macros(&design, &package)?.cells);

    progress(&format!(
        "synth: running {yosys_version} on {top} ({} PEs; the flat timing-driven mapping takes about half a minute for 64)",
        spec.pe_array.pe_count()
    ));
    let started = Instant::now();
    let synthesis = yosys::run(&package, &top, &library)?;
    let yosys_seconds = started.elapsed().as_secs_f64();
    if synthesis.flat.latches > 0 {
        return Err(FlowError::Latches(synthesis.flat.latches));
    }
    progress(&format!("synth: Yosys done in {yosys_seconds:.1} s"));

    progress("synth: running OpenSTA");
    let started = Instant::now();
    let macro_liberties = crate::emit::macros::liberty_paths(&design);
    let timing = sta::run(&package, &top, spec.clock.period_ns, &macro_liberties)?;
    let sta_seconds = timing.as_ref().map(|_| started.elapsed().as_secs_f64());
    let sta_skipped = timing.is_none().then(|| {
        format!(
            "OpenSTA (`{}`) is not on PATH, so there is no timing; install it with `sudo apt-get install {}`",
            sta::TOOL,
            sta::PACKAGE
        )
    });

    let pe_module = pe::module_name(spec.pe_array.dataflow, &spec.pe);
    let macs = u64::from(spec.pe_array.pe_count());
    let blocks: Vec<BlockArea> = synthesis
        .blocks
        .into_iter()
        .map(|b| BlockArea {
            area_um2: round(b.area_um2, 2),
            subtree_area_um2: round(b.subtree_area_um2, 2),
            total_area_um2: round(b.total_area_um2, 2),
            ..b
        })
        .collect();
    Ok(SynthReport {
        config: spec.name.clone(),
        top,
        liberty: liberty_path.display().to_string(),
        clock_mhz: spec.clock.frequency_mhz,
        period_ns: round(spec.clock.period_ns, 3),
        hierarchical_area_um2: round(blocks.iter().map(|b| b.total_area_um2).sum(), 2),
        pe_area_um2: blocks
            .iter()
            .find(|b| b.module == pe_module)
            .map(|b| b.subtree_area_um2),
        blocks,
        area_um2: round(synthesis.flat.area, 2),
        cells: synthesis.flat.cells,
        flops: synthesis.flat.flops,
        pe_module,
        macs,
        area_per_mac_um2: round(synthesis.flat.area / macs as f64, 2),
        timing: timing.map(|t| Timing {
            worst_slack_ns: round(t.worst_slack_ns, 3),
            achievable_mhz: round(t.achievable_mhz, 1),
            ..t
        }),
        sta_skipped,
        yosys_seconds: round(yosys_seconds, 3),
        sta_seconds: sta_seconds.map(|s| round(s, 3)),
    })
}
