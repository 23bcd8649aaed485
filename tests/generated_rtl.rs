//! Every committed `generated/<config>/` design is clean under `verilator --lint-only -Wall` and
//! synthesizes in Yosys with `check -assert` passing and no latch inferred.
//!
//! These tests need Verilator and Yosys; without them they fail with the install command rather
//! than pass silently (scripts/setup.sh installs both).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn generated_designs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    let mut designs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("filelist.f").is_file())
        .collect();
    designs.sort();
    assert!(!designs.is_empty(), "no designs under {}", root.display());
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

/// The PDK liberties of a design's SRAM macros (named by their simulation models), for Yosys to
/// read as black boxes.
fn macro_liberties(design: &Path) -> Vec<String> {
    simulation_models(design)
        .iter()
        .map(|model| {
            let name = Path::new(model).file_stem().unwrap().to_str().unwrap();
            let tech_macro = accelgen::emit::macros::by_name(name)
                .unwrap_or_else(|| panic!("{model}: not a macro accelgen knows"));
            let liberty = accelgen::flow::liberty::pdk_dir().join(tech_macro.liberty);
            liberty.to_str().unwrap().to_owned()
        })
        .collect()
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

#[test]
fn generated_rtl_passes_verilator_lint_wall_with_zero_warnings() {
    for design in generated_designs() {
        let (sources, top) = sources_and_top(&design);
        let mut args = vec![
            "--lint-only".to_owned(),
            "-Wall".to_owned(),
            "--top-module".to_owned(),
            top,
        ];
        args.extend(sources);
        args.extend(simulation_models(&design));
        let (ok, log) = run("verilator", &args);
        assert!(
            ok && !log.contains("%Warning"),
            "{}:\n{log}",
            design.display()
        );
    }
}

#[test]
fn generated_rtl_synthesizes_in_yosys_with_no_latches_and_clean_check() {
    for design in generated_designs() {
        let (sources, top) = sources_and_top(&design);
        // SRAM macros stay black boxes, declared by their liberties.
        let macros: String = macro_liberties(&design)
            .iter()
            .map(|lib| format!("read_liberty -lib {lib}; "))
            .collect();
        let script = format!(
            "{macros}read_verilog {}; synth -top {top}; check -assert; select -assert-none t:$_DLATCH* t:$dlatch*",
            sources.join(" ")
        );
        let (ok, log) = run("yosys", &["-q".to_owned(), "-p".to_owned(), script]);
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        assert!(
            ok,
            "{}: yosys failed:\n{}",
            design.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}
