//! The hand-off package of every shipped config, checked with the tools it is written for:
//! `flow/synth.ys` runs in Yosys against the sky130hd liberty with `check -assert` clean and no
//! latch in the netlist, OpenSTA reads that netlist and `flow/constraint.sdc` without an error
//! (when `sta` is installed), the FuseSoC core is a well-formed CAPI2 core naming the RTL in
//! filelist order (and passes `fusesoc core-info` when fusesoc is installed), the C header
//! compiles and holds the config's values, and the ORFS config resolves its paths relative to
//! itself.
//!
//! Yosys and a C compiler are required (scripts/setup.sh installs them); OpenSTA and fusesoc are
//! used when present and their absence is printed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use accelgen::emit::{c_header, fusesoc, orfs, sdc, write_package, yosys as script};
use accelgen::flow::{liberty, sta};
use accelgen::hdl::Design;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shipped_configs() -> Vec<PathBuf> {
    let mut configs: Vec<PathBuf> = fs::read_dir(repo().join("configs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    configs.sort();
    assert!(!configs.is_empty());
    configs
}

/// A config's package, generated into a fresh temporary directory.
struct Package {
    _scratch: tempfile::TempDir,
    dir: PathBuf,
    name: String,
    top: String,
    manifest: serde_json::Value,
}

impl Package {
    fn generate(config: &Path) -> Package {
        Package::generate_keeping_design(config).0
    }

    /// The package and the design it was rendered from (one build, for the synthesis test).
    fn generate_keeping_design(config: &Path) -> (Package, Design) {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("out");
        let (_, design, files) = accelgen::generate::build(config)
            .unwrap_or_else(|e| panic!("{}: {e}", config.display()));
        write_package(&dir, &files, false).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
        let manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
        let package = Package {
            _scratch: scratch,
            name: manifest["config"]["name"].as_str().unwrap().to_owned(),
            top: manifest["top"].as_str().unwrap().to_owned(),
            dir,
            manifest,
        };
        (package, design)
    }

    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.dir.join(path))
            .unwrap_or_else(|e| panic!("{}: {path}: {e}", self.name))
    }

    /// The RTL paths of `filelist.f`, in order.
    fn filelist(&self) -> Vec<String> {
        self.read("filelist.f")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }
}

fn run(command: &mut Command, what: &str) -> Output {
    command.output().unwrap_or_else(|e| {
        panic!("cannot run {what} ({e}); install it with `sudo apt-get install {what}` or run scripts/setup.sh")
    })
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn last_lines(log: &str, count: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// Synthesises one package with its own script, checks the netlist, times it. Returns a line
/// with the measured run times.
///
/// `standard` is the sky130hd liberty, prepared once for every config as `accelgen synth`
/// prepares it (decompressed, ORFS's dont_use cells marked), and its cells.
fn synthesise_and_time(config: &Path, standard: &(PathBuf, liberty::Library)) -> String {
    let (package, design) = Package::generate_keeping_design(config);
    fs::copy(&standard.0, package.dir.join(script::LIBERTY)).unwrap();
    let mut library = standard.1.clone();
    // SRAM macros: their liberties are copied next to the standard cells', as `accelgen synth`
    // does, and their cells are legal in the netlist.
    let macros = liberty::prepare_macros(&design, &package.dir).unwrap();
    library.cells.extend(macros.cells);

    let started = Instant::now();
    let output = run(
        Command::new("yosys")
            .args(["-q", "-l", "flow/yosys.log", "-s", script::SCRIPT])
            .current_dir(&package.dir),
        "yosys",
    );
    let yosys_seconds = started.elapsed().as_secs_f64();
    let log = fs::read_to_string(package.dir.join("flow/yosys.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "{}: yosys -s {} failed (check -assert or the latch assertion):\n{}",
        package.name,
        script::SCRIPT,
        last_lines(&log, 30)
    );
    assert!(
        log.contains("Found and reported 0 problems."),
        "{}: `check -assert` did not run clean:\n{}",
        package.name,
        last_lines(&log, 30)
    );

    // No latch in the netlist: no cell the liberty defines with a latch group, no Yosys latch.
    let netlist = package.read(&script::netlist(&package.top));
    let cell_types: BTreeSet<&str> = netlist
        .lines()
        .filter_map(|line| {
            let first = line.split_whitespace().next()?;
            (first.starts_with("sky130_") || first.starts_with('$') || first.starts_with("\\$"))
                .then_some(first)
        })
        .collect();
    assert!(
        cell_types.iter().any(|c| c.contains("dfxtp")),
        "{}: no flip-flop in the netlist: {cell_types:?}",
        package.name
    );
    let latches: Vec<&&str> = cell_types
        .iter()
        .filter(|c| {
            library.cells.get(**c).is_some_and(|info| info.latch)
                || c.contains("dlx")
                || c.to_ascii_lowercase().contains("dlatch")
        })
        .collect();
    assert!(
        latches.is_empty(),
        "{}: latches in the netlist: {latches:?}",
        package.name
    );
    // Every mapped cell comes from the library, and none of ORFS's dont_use cells.
    for cell in &cell_types {
        assert!(
            library.cells.contains_key(*cell),
            "{}: unmapped cell {cell}",
            package.name
        );
        assert!(
            !liberty::DONT_USE_PREFIXES
                .iter()
                .any(|p| cell.starts_with(p)),
            "{}: dont_use cell {cell} in the netlist",
            package.name
        );
    }

    let sta_report = if on_path(sta::TOOL) {
        let macro_liberties = accelgen::emit::macros::liberty_paths(&design);
        fs::write(
            package.dir.join("flow/sta.tcl"),
            sta::script(&package.top, &macro_liberties),
        )
        .unwrap();
        let started = Instant::now();
        let output = run(
            Command::new(sta::TOOL)
                .args(["-no_splash", "-exit", "flow/sta.tcl"])
                .current_dir(&package.dir),
            sta::PACKAGE,
        );
        let seconds = started.elapsed().as_secs_f64();
        let log = text(&output);
        let errors: Vec<&str> = log.lines().filter(|l| l.contains("Error")).collect();
        assert!(
            output.status.success() && errors.is_empty(),
            "{}: OpenSTA reported errors:\n{log}",
            package.name
        );
        // Warnings about the SDC or the netlist (an unknown port, an unlinked cell) are errors too;
        // the liberty's own (an attribute this OpenSTA does not know) are not ours.
        let ours: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with("Warning") && !l.contains(script::LIBERTY))
            .collect();
        assert!(
            ours.is_empty(),
            "{}: OpenSTA warned about the package:\n{}",
            package.name,
            ours.join("\n")
        );
        let slack = sta::parse_worst_slack(&log)
            .unwrap_or_else(|| panic!("{}: no worst slack in:\n{log}", package.name));
        format!("OpenSTA {seconds:.1} s (worst slack {slack:.3} ns)")
    } else {
        "OpenSTA skipped: `sta` is not on PATH (sudo apt-get install opensta)".to_string()
    };
    format!("{}: Yosys {yosys_seconds:.1} s, {sta_report}", package.name)
}

/// What a panic of `config`'s synthesis said.
fn panic_message(config: &Path, panic: &(dyn std::any::Any + Send)) -> String {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "synthesis panicked".into());
    format!("{}: {message}", config.display())
}

/// Each config is synthesised once, here: tests/generated_rtl.rs leaves the synthesis of the
/// committed `generated/` designs (the same packages) to this test.
#[test]
fn synth_script_runs_clean_in_yosys_and_opensta_reads_its_netlist_and_sdc() {
    // One Yosys per core (each is single-threaded), the biggest arrays first so that the small
    // configs fill the other core while a 16×16 core synthesises (minutes each).
    let mut configs: Vec<(u64, PathBuf)> = shipped_configs()
        .into_iter()
        .map(|config| {
            let spec = accelgen::config::load(&config)
                .unwrap_or_else(|e| panic!("{}: {e}", config.display()));
            let pes = u64::from(spec.pe_array.rows) * u64::from(spec.pe_array.cols);
            (pes * if spec.buffers.is_some() { 4 } else { 1 }, config)
        })
        .collect();
    configs.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
    let scratch = tempfile::tempdir().unwrap();
    let prepared = scratch.path().join("liberty.lib");
    let library = liberty::prepare(
        &liberty::locate(None).expect("the sky130hd liberty (set ACCELGEN_PDK)"),
        &prepared,
    )
    .unwrap();
    let standard = (prepared, library);
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(configs.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut failures = Vec::new();
                    while let Some((_, config)) = configs.get(next.fetch_add(1, Ordering::Relaxed))
                    {
                        // A failing config must not stop the others: catch its panic.
                        match std::panic::catch_unwind(|| synthesise_and_time(config, &standard)) {
                            Ok(line) => eprintln!("{line}"),
                            Err(panic) => failures.push(panic_message(config, &*panic)),
                        }
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a synthesis worker panicked"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn sdc_constrains_the_configured_clock_and_every_other_port() {
    for config in shipped_configs() {
        let package = Package::generate(&config);
        let text = package.read(sdc::PATH);
        let period = package.manifest["clock"]["period_ns"].as_f64().unwrap();
        assert!(
            text.contains(&format!(
                "create_clock -name clk -period {period:.3} [get_ports clk]"
            )),
            "{}:\n{text}",
            package.name
        );
        let io = sdc::nanoseconds(period * sdc::IO_DELAY_FRACTION);
        for port in package.manifest["ports"].as_array().unwrap() {
            let name = port["name"].as_str().unwrap();
            if name == "clk" {
                continue;
            }
            let command = if port["direction"] == "input" {
                "set_input_delay"
            } else {
                "set_output_delay"
            };
            let line = text
                .lines()
                .find(|l| l.starts_with(command))
                .unwrap_or_else(|| panic!("{}: no {command}:\n{text}", package.name));
            assert!(
                line.starts_with(&format!("{command} {io} -clock clk [get_ports {{"))
                    && line.split_whitespace().any(|word| word == name),
                "{}: `{name}` is not constrained by {command}:\n{line}",
                package.name
            );
        }
    }
}

#[test]
fn fusesoc_core_is_a_capi2_core_with_the_rtl_in_filelist_order() {
    let fusesoc_present = on_path("fusesoc");
    for config in shipped_configs() {
        let package = Package::generate(&config);
        let path = format!("{}.core", package.name);
        let core_text = package.read(&path);
        assert_eq!(
            core_text.lines().next(),
            Some("CAPI=2:"),
            "{}",
            package.name
        );
        let core: serde_json::Value = serde_saphyr::from_str(&core_text)
            .unwrap_or_else(|e| panic!("{}: {path} is not YAML: {e}", package.name));
        assert_eq!(
            core["name"],
            format!(
                "accelgen:{}:{}:{}",
                fusesoc::LIBRARY,
                package.name,
                env!("CARGO_PKG_VERSION")
            ),
            "{}",
            package.name
        );
        let filesets = core["filesets"].as_object().expect("filesets");
        let rtl: Vec<&str> = filesets["rtl"]["files"]
            .as_array()
            .expect("rtl files")
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert_eq!(rtl, package.filelist(), "{}", package.name);
        assert_eq!(filesets["rtl"]["file_type"], "verilogSource-2005");
        for (name, fileset) in filesets {
            for file in fileset["files"].as_array().unwrap() {
                let file = file.as_str().unwrap();
                assert!(
                    package.dir.join(file).is_file(),
                    "{}: fileset {name} names missing {file}",
                    package.name
                );
            }
        }
        let targets = core["targets"].as_object().expect("targets");
        assert!(targets.contains_key("default"), "{}", package.name);
        for (name, target) in targets {
            assert_eq!(target["toplevel"], package.top.as_str(), "target {name}");
            for fileset in target["filesets"].as_array().unwrap() {
                assert!(
                    filesets.contains_key(fileset.as_str().unwrap()),
                    "{}: target {name} uses unknown fileset {fileset}",
                    package.name
                );
            }
        }
        if fusesoc_present {
            let output = run(
                Command::new("fusesoc")
                    .arg("--cores-root")
                    .arg(&package.dir)
                    .args(["core-info", core["name"].as_str().unwrap()]),
                "fusesoc",
            );
            assert!(
                output.status.success(),
                "{}: fusesoc core-info failed:\n{}",
                package.name,
                text(&output)
            );
        }
    }
    if !fusesoc_present {
        eprintln!("fusesoc core-info skipped: `fusesoc` is not on PATH (pip install fusesoc); the structure was checked");
    }
}

/// The header's code for a dataflow, from its config spelling.
fn dataflow_code(name: &str) -> u32 {
    use accelgen::config::Dataflow::*;
    let dataflow = [
        WeightStationary,
        OutputStationary,
        InputStationary,
        RowStationary,
    ]
    .into_iter()
    .find(|d| d.config_name() == name)
    .unwrap_or_else(|| panic!("unknown dataflow {name}"));
    c_header::dataflow_code(dataflow)
}

#[test]
fn c_header_compiles_and_defines_the_configuration() {
    let scratch = tempfile::tempdir().unwrap();
    for config in shipped_configs() {
        let package = Package::generate(&config);
        let prefix = format!("ACCELGEN_{}", package.name.to_ascii_uppercase());
        let manifest = &package.manifest;
        let flag = |value: &serde_json::Value| u64::from(value.as_bool().unwrap());
        let expected = [
            ("ARRAY_ROWS", manifest["pe_array"]["rows"].as_u64().unwrap()),
            ("ARRAY_COLS", manifest["pe_array"]["cols"].as_u64().unwrap()),
            ("ACT_BITS", manifest["pe"]["act"]["bits"].as_u64().unwrap()),
            ("ACT_SIGNED", flag(&manifest["pe"]["act"]["signed"])),
            (
                "WEIGHT_BITS",
                manifest["pe"]["weight"]["bits"].as_u64().unwrap(),
            ),
            ("WEIGHT_SIGNED", flag(&manifest["pe"]["weight"]["signed"])),
            (
                "ACC_BITS",
                manifest["pe"]["accumulator_bits"].as_u64().unwrap(),
            ),
            (
                "PE_BIT_SERIAL",
                u64::from(manifest["pe"]["kind"].as_str().unwrap() == "bit_serial"),
            ),
            (
                "CLOCK_HZ",
                (manifest["clock"]["frequency_mhz"].as_f64().unwrap() * 1e6).round() as u64,
            ),
        ];
        // Included twice (the guard must hold) and checked value by value at compile time.
        let mut source = format!(
            "#include \"{name}.h\"\n#include \"{name}.h\"\n",
            name = package.name
        );
        for (suffix, value) in expected {
            source.push_str(&format!(
                "_Static_assert({prefix}_{suffix} == {value}ULL, \"{suffix}\");\n"
            ));
        }
        source.push_str(&format!(
            "_Static_assert({prefix}_PE_COUNT == {prefix}_ARRAY_ROWS * {prefix}_ARRAY_COLS, \"PE_COUNT\");\n\
             static const char hash[] = {prefix}_CONFIG_HASH;\n\
             static const char dataflow[] = {prefix}_DATAFLOW_NAME;\n\
             const char *accelgen_probe(void) {{ return {prefix}_DATAFLOW == {code}U ? hash : dataflow; }}\n",
            code = dataflow_code(manifest["pe_array"]["dataflow"].as_str().unwrap())
        ));
        let probe = scratch.path().join(format!("{}.c", package.name));
        fs::write(&probe, source).unwrap();
        let output = run(
            Command::new("cc")
                .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"])
                .arg("-fsyntax-only")
                .arg("-I")
                .arg(package.dir.join("sw"))
                .arg(&probe),
            "gcc",
        );
        assert!(
            output.status.success(),
            "{}: sw/{}.h does not compile or holds wrong values:\n{}",
            package.name,
            package.name,
            text(&output)
        );
    }
}

#[test]
fn orfs_config_names_the_package_files_relative_to_itself() {
    let elsewhere = tempfile::tempdir().unwrap();
    for config in shipped_configs() {
        let package = Package::generate(&config);
        let printer = elsewhere.path().join("print.mk");
        fs::write(
            &printer,
            "print:\n\t@echo PLATFORM=$(PLATFORM)\n\t@echo DESIGN_NAME=$(DESIGN_NAME)\n\
             \t@echo VERILOG_FILES=$(VERILOG_FILES)\n\t@echo SDC_FILE=$(SDC_FILE)\n\
             \t@echo CORE_UTILIZATION=$(CORE_UTILIZATION)\n",
        )
        .unwrap();
        // Run from another directory, as ORFS does: every path must still land in the package.
        let output = run(
            Command::new("make")
                .arg("--no-print-directory")
                .arg("-f")
                .arg(package.dir.join(orfs::PATH))
                .arg("-f")
                .arg(&printer)
                .arg("print")
                .current_dir(elsewhere.path()),
            "make",
        );
        let printed = text(&output);
        assert!(output.status.success(), "{}: {printed}", package.name);
        let value = |key: &str| -> String {
            printed
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("{}: no {key} in {printed}", package.name))
                .to_owned()
        };
        assert_eq!(value("PLATFORM"), orfs::PLATFORM);
        assert_eq!(value("DESIGN_NAME"), package.top);
        let root = package.dir.canonicalize().unwrap();
        let files: Vec<PathBuf> = value("VERILOG_FILES")
            .split_whitespace()
            .map(PathBuf::from)
            .collect();
        let expected: Vec<PathBuf> = package.filelist().iter().map(|f| root.join(f)).collect();
        assert_eq!(files, expected, "{}", package.name);
        assert_eq!(PathBuf::from(value("SDC_FILE")), root.join(sdc::PATH));
        let utilization: u32 = value("CORE_UTILIZATION").parse().unwrap();
        assert!((1..100).contains(&utilization));
    }
}

#[test]
fn package_files_name_no_path_of_this_machine() {
    for config in shipped_configs() {
        let package = Package::generate(&config);
        let handoff = package.manifest["handoff"].as_object().unwrap();
        assert_eq!(handoff.len(), 6, "{}", package.name);
        for path in handoff.values() {
            let path = path.as_str().unwrap();
            let text = package.read(path);
            for machine in [
                package.dir.to_str().unwrap(),
                repo().to_str().unwrap(),
                "/tmp/",
                "/home/",
            ] {
                assert!(
                    !text.contains(machine),
                    "{}: {path} names `{machine}`",
                    package.name
                );
            }
        }
    }
}
