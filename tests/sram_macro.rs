//! The sky130 SRAM wrapper (`blocks::sram`) in the hand-off: its RTL with the macro's
//! behavioural model passes `verilator --lint-only -Wall` with zero warnings; its package keeps
//! the model out of `filelist.f`, names the macro's liberty and LEF in `flow/config.mk`, and its
//! `flow/synth.ys` runs clean in Yosys with every macro left a black box whose area `stat`
//! counts; and a design without macros gets none of it.

use std::fs;
use std::path::Path;
use std::process::Command;

use accelgen::blocks::{build_design, sram};
use accelgen::config::{AcceleratorSpec, Dataflow, OperandSpec, PeArraySpec};
use accelgen::emit::{
    macros, render_design, render_package, write_package, yosys as script, Banner,
};
use accelgen::flow::{liberty, yosys};
use accelgen::hdl::Design;

/// The shapes tested: one macro; 2 × 3 macros with a partly used column and depth tile; 2 × 1.
const SHAPES: [(u32, u64); 3] = [(16, 64), (100, 600), (128, 256)];

fn wrapper(word_bits: u32, depth: u64) -> Design {
    let mut design = Design::new();
    let top = sram::build(word_bits, depth, &mut design).unwrap();
    design.set_top(top);
    design
}

/// A spec for the package's banner, clock and names; the design is the wrapper alone.
fn spec(name: &str) -> AcceleratorSpec {
    let i8 = OperandSpec {
        bits: 8,
        signed: true,
    };
    let array = PeArraySpec {
        rows: 1,
        cols: 1,
        dataflow: Dataflow::WeightStationary,
    };
    AcceleratorSpec::for_array(name, array, i8, i8, 18)
}

#[test]
fn sram_wrappers_with_the_macro_model_pass_verilator_lint_wall_with_zero_warnings() {
    let banner = Banner {
        tool_version: "test".into(),
        config_name: "sram".into(),
        config_hash: "0".into(),
    };
    for (word_bits, depth) in SHAPES {
        let design = wrapper(word_bits, depth);
        let top = sram::module_name(word_bits, depth);
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        let rtl = render_design(&design, &banner);
        assert_eq!(rtl.len(), 1, "{top}: the macro has no RTL of its own");
        for file in rtl.into_iter().chain(macros::sim_models(&design, &banner)) {
            let path = dir.path().join(&file.file_name);
            fs::write(&path, &file.contents).unwrap();
            paths.push(path);
        }
        let lint = Command::new("verilator")
            .args(["--lint-only", "-Wall", "--top-module", &top])
            .args(&paths)
            .output()
            .expect("verilator runs (install: sudo apt-get install verilator)");
        let log = String::from_utf8_lossy(&lint.stderr);
        assert!(
            lint.status.success() && !log.contains("%Warning"),
            "{top}: {log}"
        );
    }
}

#[test]
fn sram_package_synthesises_in_yosys_with_the_macros_as_black_boxes_counted_by_stat() {
    for (word_bits, depth) in SHAPES {
        let design = wrapper(word_bits, depth);
        let top = sram::module_name(word_bits, depth);
        let macro_count = u64::from(sram::macros_wide(word_bits)) * sram::macros_deep(depth);
        let files = render_package(&spec("sram_pkg"), &design);
        let scratch = tempfile::tempdir().unwrap();
        let package = scratch.path().join("sram_pkg");
        write_package(&package, &files, false).unwrap();
        let read = |path: &str| fs::read_to_string(package.join(path)).unwrap();

        // The model is for simulation only.
        let model = macros::SKY130_SRAM_1RW1R_64X256_8;
        assert!(package.join(model.sim_path()).is_file(), "{top}");
        let filelist = read("filelist.f");
        assert_eq!(filelist, format!("rtl/{top}.v\n"), "{top}");
        let config = read("flow/config.mk");
        assert!(
            config.contains(&format!(
                "export ADDITIONAL_LIBS = \\\n\t$(ACCELGEN_FLOW_DIR)/{}\n",
                model.liberty
            )),
            "{config}"
        );
        assert!(
            config.contains("export ADDITIONAL_LEFS = \\\n\t$(PLATFORM_DIR)/../sky130ram/"),
            "{config}"
        );
        assert!(!config.contains("sim/"), "{config}");
        let synth = read(script::SCRIPT);
        assert!(
            synth.contains(&format!("read_liberty -lib {}\n", model.liberty_path())),
            "{synth}"
        );
        assert!(!synth.contains("sim/"), "{synth}");

        // Run the package's own script, as `accelgen synth` prepares it.
        let mut library = liberty::prepare(
            &liberty::locate(None).expect("the sky130hd liberty (set ACCELGEN_PDK)"),
            &package.join(script::LIBERTY),
        )
        .unwrap();
        let sram_cells = liberty::prepare_macros(&design, &package).unwrap();
        let macro_area = sram_cells.cells[model.name].area;
        assert!(macro_area > 400_000.0, "{macro_area}");
        library.cells.extend(sram_cells.cells);
        let synthesis = yosys::run(&package, &top, &library)
            .unwrap_or_else(|e| panic!("{top}: yosys -s flow/synth.ys: {e}"));
        assert!(
            synthesis.log.contains("Found and reported 0 problems."),
            "{top}: check -assert did not run clean"
        );
        // Every macro is one black-box cell of the flat netlist, never mapped or emptied.
        let netlist = read(&script::netlist(&top));
        assert_eq!(
            netlist
                .matches(&format!("{} u_macro_r", model.name))
                .count() as u64,
            macro_count,
            "{top}: {netlist}"
        );
        assert!(
            !netlist.contains(&format!("module {}", model.name)),
            "{top}"
        );
        assert!(
            synthesis.flat.area >= macro_count as f64 * macro_area,
            "{top}: flat area {} counts fewer than {macro_count} macros",
            synthesis.flat.area
        );
        assert_eq!(synthesis.flat.latches, 0, "{top}");
        // `stat -liberty` reads the macro's liberty too, so the reported chip area includes it.
        let chip_area: f64 = synthesis
            .log
            .lines()
            .filter_map(|line| {
                line.trim()
                    .strip_prefix(&format!("Chip area for module '\\{top}':"))
            })
            .next_back()
            .unwrap_or_else(|| panic!("{top}: no chip area in the log"))
            .trim()
            .parse()
            .unwrap();
        assert!(
            chip_area >= macro_count as f64 * macro_area,
            "{top}: stat's chip area {chip_area} leaves out the macros"
        );
    }
}

#[test]
fn a_package_without_macros_has_no_sim_directory_and_no_macro_liberty() {
    let spec = spec("plain");
    let design = build_design(&spec).unwrap();
    assert!(macros::used(&design).is_empty());
    let files = render_package(&spec, &design);
    for file in &files {
        assert!(
            !file.path.starts_with(macros::SIM_DIR),
            "{}",
            file.path.display()
        );
        assert!(
            !file.contents.contains("sky130_sram"),
            "{}",
            file.path.display()
        );
        assert!(
            !file.contents.contains("ADDITIONAL_LIBS ="),
            "{}",
            file.path.display()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let lib = liberty::prepare_macros(&design, Path::new(dir.path())).unwrap();
    assert!(lib.cells.is_empty());
}
