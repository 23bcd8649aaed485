//! Every committed `generated/<config>/` design is clean under `verilator --lint-only -Wall`.
//!
//! Its synthesis is checked once, not here: `tests/flow_package.rs`
//! (`synth_script_runs_clean_in_yosys_and_opensta_reads_its_netlist_and_sdc`) runs every shipped
//! config's `flow/synth.ys` in Yosys, whose `synth -top`, latch assertion and `check -assert` are
//! a superset of a bare `synth; check -assert` (the latch check covers `$_SR_*`, `$adlatch` and
//! `$sr` too, and `check -assert` runs on the generic and on the mapped netlist). That package is
//! this directory's design: `generated_directory_matches_the_current_generator` (cli/tests/cli.rs)
//! fails whenever `generated/` differs from what the generator writes. Synthesising here as well
//! doubled the suite's longest step (several minutes of Yosys each for the 16×16 cores).
//!
//! This test needs Verilator; without it it fails with the install command rather than pass
//! silently (scripts/setup.sh installs it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

fn generated_designs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    let mut designs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("filelist.f").is_file())
        .collect();
    designs.sort();
    assert!(!designs.is_empty(), "no designs under {}", root.display());
    // Synthesis reaches these designs through their configs (see the module's comment).
    for design in &designs {
        let name = design.file_name().unwrap().to_str().unwrap();
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("configs/{name}.yaml"));
        assert!(
            config.is_file(),
            "{}: no {} generates it, so nothing synthesizes it",
            design.display(),
            config.display()
        );
    }
    designs
}

/// Simulation models of the SRAM macros a design instantiates (`sim/*.v`, outside the filelist).
fn simulation_models(design: &Path) -> Vec<String> {
    let mut models: Vec<String> = fs::read_dir(design.join("sim"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path().to_str().unwrap().to_owned())
                .filter(|p| p.ends_with(".v"))
                .collect()
        })
        .unwrap_or_default();
    models.sort();
    models
}

/// The RTL files of a design in filelist order, and its top module (from the manifest).
fn sources_and_top(design: &Path) -> (Vec<String>, String) {
    let filelist = fs::read_to_string(design.join("filelist.f")).unwrap();
    let sources = filelist
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| design.join(l).to_str().unwrap().to_owned())
        .collect();
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(design.join("manifest.json")).unwrap()).unwrap();
    (sources, manifest["top"].as_str().unwrap().to_owned())
}

fn run(tool: &str, args: &[String]) -> (bool, String) {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `{tool}` ({e}); install it with `sudo apt-get install {tool}` or run scripts/setup.sh")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Runs `check` on every design, as many at a time as there are cores (each tool process is
/// single-threaded), and fails with every design's failure.
fn for_each_design_in_parallel(check: impl Fn(&Path) -> Result<(), String> + Sync) {
    let designs = generated_designs();
    let next = AtomicUsize::new(0);
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    let failures: Vec<String> = thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(designs.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut failures = Vec::new();
                    while let Some(design) = designs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        if let Err(failure) = check(design) {
                            failures.push(failure);
                        }
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a design check panicked"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn generated_rtl_passes_verilator_lint_wall_with_zero_warnings() {
    for_each_design_in_parallel(|design| {
        let (sources, top) = sources_and_top(design);
        let mut args = vec![
            "--lint-only".to_owned(),
            "-Wall".to_owned(),
            "--top-module".to_owned(),
            top,
        ];
        args.extend(sources);
        args.extend(simulation_models(design));
        let (ok, log) = run("verilator", &args);
        if ok && !log.contains("%Warning") {
            Ok(())
        } else {
            Err(format!("{}:\n{log}", design.display()))
        }
    });
}
