//! The `accelgen` command as a user runs it: generation is deterministic and atomic, bad configs
//! fail with a located message and leave `-o` untouched, foreign directories are never replaced,
//! and `generated/` is exactly what the current generator writes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn accelgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accelgen"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("the accelgen binary runs")
}

/// Every file below `dir`, by relative path.
fn read_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().to_owned(),
                    fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
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

fn generate_into(config: &Path, out: &Path) {
    let result = accelgen(&[
        "--config",
        config.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        result.status.success(),
        "generating {} failed:\n{}",
        config.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn generating_twice_gives_identical_bytes() {
    let scratch = tempfile::tempdir().unwrap();
    for config in shipped_configs() {
        let (first, second) = (scratch.path().join("a"), scratch.path().join("b"));
        generate_into(&config, &first);
        generate_into(&config, &second);
        assert_eq!(
            read_tree(&first),
            read_tree(&second),
            "{}",
            config.display()
        );
    }
}

#[test]
fn generated_directory_matches_the_current_generator() {
    let scratch = tempfile::tempdir().unwrap();
    let mut stale = Vec::new();
    for config in shipped_configs() {
        let stem = config.file_stem().unwrap().to_str().unwrap().to_owned();
        let fresh = scratch.path().join(&stem);
        generate_into(&config, &fresh);
        let committed = repo().join("generated").join(&stem);
        let (fresh, committed) = (
            read_tree(&fresh),
            if committed.is_dir() {
                read_tree(&committed)
            } else {
                BTreeMap::new()
            },
        );
        for path in fresh.keys().chain(committed.keys()) {
            if fresh.get(path) != committed.get(path) {
                stale.push(format!("generated/{stem}/{}", path.display()));
            }
        }
    }
    stale.dedup();
    assert!(
        stale.is_empty(),
        "generated/ is stale; run scripts/regenerate.sh and commit. Differing files:\n  {}",
        stale.join("\n  ")
    );
}

#[test]
fn every_invalid_config_fails_with_a_located_message_and_leaves_output_untouched() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("out");
    // A previous good run: its files must survive every failing run byte for byte.
    generate_into(&repo().join("configs/tiny_2x2.yaml"), &out);
    let before = read_tree(&out);
    let mut fixtures: Vec<PathBuf> = fs::read_dir(repo().join("tests/config_errors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 15, "only {} fixtures", fixtures.len());
    for fixture in &fixtures {
        let relative = fixture
            .strip_prefix(repo())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let result = accelgen(&["--config", &relative, "-o", out.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(
            result.status.code(),
            Some(1),
            "{relative} should fail with exit 1:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("{relative}:")),
            "{relative}: message names no file:line\n{stderr}"
        );
        assert_eq!(
            read_tree(&out),
            before,
            "{relative} changed the output directory"
        );
    }
    let leftovers: Vec<_> = fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("out")],
        "staging directories left behind"
    );
}

#[test]
fn a_directory_accelgen_did_not_write_is_refused_unless_forced() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("precious");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("notes.txt"), "mine").unwrap();
    let config = repo().join("configs/tiny_2x2.yaml");
    let args = [
        "--config",
        config.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let refused = accelgen(&args);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");

    let forced = accelgen(&[&args[..], &["--force"]].concat());
    assert!(forced.status.success());
    assert!(!out.join("notes.txt").exists());
    assert!(out.join("manifest.json").exists());
}

#[test]
fn check_validates_without_writing_and_reports_the_array_and_its_buffers() {
    let result = accelgen(&["check", "--config", "configs/edge_tpu.yaml"]);
    assert!(result.status.success());
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("16x16 weight_stationary"), "{stdout}");
    assert!(
        stdout.contains("buffers.ifmap       4096 words x  128 bits =     65536 bytes"),
        "{stdout}"
    );
    let bad = accelgen(&["check", "--config", "tests/config_errors/rows_zero.yaml"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("pe_array.rows"));
}

#[test]
fn missing_output_flag_is_a_clear_usage_error() {
    let result = accelgen(&["--config", "configs/edge_tpu.yaml"]);
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("-o DIR"));
}

#[test]
fn help_explains_every_flag() {
    let help = String::from_utf8_lossy(&accelgen(&["--help"]).stdout).into_owned();
    for flag in [
        "--config",
        "--output",
        "--force",
        "check",
        "bench",
        "run-layer",
        "synth",
    ] {
        assert!(
            help.contains(flag),
            "--help does not mention {flag}:\n{help}"
        );
    }
}

/// `accelgen bench gemm` on `config` with M×K×N: (exit code, parsed JSON or Null, stderr).
fn bench_gemm(
    config: &str,
    (m, k, n): (u32, u32, u32),
) -> (Option<i32>, serde_json::Value, String) {
    let (m, k, n) = (m.to_string(), k.to_string(), n.to_string());
    let result = accelgen(&[
        "bench", "gemm", "--config", config, "--m", &m, "--k", &k, "--n", &n, "--seed", "7",
    ]);
    let json = serde_json::from_slice(&result.stdout).unwrap_or(serde_json::Value::Null);
    (
        result.status.code(),
        json,
        String::from_utf8_lossy(&result.stderr).into_owned(),
    )
}

#[test]
fn bench_gemm_prints_rtl_model_scalesim_and_ideal_cycles_with_zero_mismatches() {
    for config in ["configs/tiny_2x2.yaml", "configs/small_is_u8.yaml"] {
        let (code, json, stderr) = bench_gemm(config, (9, 7, 5));
        assert_eq!(code, Some(0), "{config}: {stderr}");
        for key in [
            "rtl_cycles",
            "model_cycles",
            "scalesim_cycles",
            "ideal_cycles",
            "utilization",
            "mismatches",
        ] {
            assert!(!json[key].is_null(), "{config}: no `{key}` in {json}");
        }
        assert_eq!(json["mismatches"], 0, "{json}");
        assert_eq!(json["rtl_cycles"], json["model_cycles"], "{json}");
        let (rows, cols) = (
            json["rows"].as_u64().unwrap(),
            json["cols"].as_u64().unwrap(),
        );
        assert_eq!(
            json["ideal_cycles"].as_u64().unwrap(),
            (9 * 7 * 5u64).div_ceil(rows * cols)
        );
        let utilization = json["utilization"].as_f64().unwrap();
        assert!(utilization > 0.0 && utilization <= 1.0, "{json}");
    }
}

#[test]
fn bench_gemm_refuses_zero_sizes_and_bad_configs() {
    let (code, _, stderr) = bench_gemm("configs/tiny_2x2.yaml", (0, 4, 4));
    assert_eq!(code, Some(2), "a zero size is a usage error: {stderr}");
    assert!(stderr.contains("--m"), "{stderr}");
    let (code, _, stderr) = bench_gemm("tests/config_errors/rows_zero.yaml", (4, 4, 4));
    assert_eq!(code, Some(1));
    assert!(stderr.contains("pe_array.rows"), "{stderr}");
}

// ---- accelgen synth ------------------------------------------------------------------------

#[test]
fn synth_reports_area_per_block_flops_area_per_mac_and_timing_as_json() {
    let result = accelgen(&["synth", "--config", "configs/tiny_2x2.yaml", "--json"]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(stderr.contains("synth: running"), "no progress: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(json["config"], "tiny_2x2");
    assert_eq!(json["top"], "tiny_2x2");
    assert_eq!(json["macs"], 4);
    let blocks = json["blocks"].as_array().unwrap();
    let block = |name: &str| {
        blocks
            .iter()
            .find(|b| b["module"] == name)
            .unwrap_or_else(|| panic!("no block {name} in {json}"))
    };
    assert_eq!(blocks[0]["module"], "tiny_2x2", "the top comes first");
    let pe = block(json["pe_module"].as_str().unwrap());
    let array = block("pe_array_ws_r2c2_ai8_wi8_acc32");
    assert_eq!(pe["instances"], 4);
    assert_eq!(array["instances"], 1);
    let area = |b: &serde_json::Value, key: &str| b[key].as_f64().unwrap();
    assert!(area(pe, "area_um2") > 1000.0, "{pe}");
    assert!(
        pe["flops"].as_u64().unwrap() >= 16,
        "a PE holds at least its operands: {pe}"
    );
    // Multiplied out: the array's subtree is its own logic plus four PEs.
    let subtree = area(array, "area_um2") + 4.0 * area(pe, "subtree_area_um2");
    assert!(
        (area(array, "subtree_area_um2") - subtree).abs() < 0.1,
        "{json}"
    );
    let sum: f64 = blocks.iter().map(|b| area(b, "total_area_um2")).sum();
    assert!((json["hierarchical_area_um2"].as_f64().unwrap() - sum).abs() < 0.1);
    let flat = json["area_um2"].as_f64().unwrap();
    assert!(flat > 4.0 * 1000.0, "{json}");
    assert!((json["area_per_mac_um2"].as_f64().unwrap() - flat / 4.0).abs() < 0.1);
    assert!(json["cells"].as_u64().unwrap() > 0 && json["flops"].as_u64().unwrap() > 0);
    match (json["timing"].as_object(), json["sta_skipped"].as_str()) {
        (Some(timing), None) => {
            let slack = timing["worst_slack_ns"].as_f64().unwrap();
            let mhz = timing["achievable_mhz"].as_f64().unwrap();
            let expected = 1000.0 / (json["period_ns"].as_f64().unwrap() - slack);
            assert!((mhz - expected).abs() < 0.1, "{json}");
        }
        (None, Some(reason)) => {
            assert!(reason.contains("sudo apt-get install opensta"), "{reason}");
            eprintln!("OpenSTA not installed: {reason}");
        }
        _ => panic!("either timing or sta_skipped: {json}"),
    }

    let table = accelgen(&["synth", "--config", "configs/tiny_2x2.yaml"]);
    assert!(table.status.success());
    let table = String::from_utf8_lossy(&table.stdout);
    for needle in ["pe_array_", "flat netlist:", "per MAC:", "timing:"] {
        assert!(table.contains(needle), "no `{needle}` in:\n{table}");
    }
}

#[test]
fn synth_without_yosys_names_the_install_command() {
    let empty = tempfile::tempdir().unwrap();
    let result = Command::new(env!("CARGO_BIN_EXE_accelgen"))
        .args(["synth", "--config", "configs/tiny_2x2.yaml"])
        .current_dir(repo())
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("sudo apt-get install yosys"), "{stderr}");
    let missing = accelgen(&[
        "synth",
        "--config",
        "configs/tiny_2x2.yaml",
        "--liberty",
        "no/such.lib",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such.lib"));
}

fn tflm_bundle(model_op: &str) -> String {
    repo()
        .join("../shared/vectors/tflm")
        .join(model_op)
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn run_layer_reports_zero_mismatches_and_model_equal_cycles_on_real_layers() {
    let conv = tflm_bundle("resnet8/op06_conv_2d");
    let depthwise = tflm_bundle("kws_dscnn/op01_depthwise_conv_2d");
    let fc = tflm_bundle("resnet8/op14_fully_connected");
    let result = accelgen(&[
        "run-layer",
        "--config",
        "configs/tiny_2x2.yaml",
        "--json",
        &conv,
        &depthwise,
        &fc,
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let layers = json["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    for layer in layers {
        assert_eq!(layer["golden_mismatches"], 0, "{layer}");
        assert_eq!(layer["rtl_mismatches"], 0, "{layer}");
        assert_eq!(layer["rtl_cycles"], layer["model_cycles"], "{layer}");
        assert!(layer["macs"].as_u64().unwrap() > 0, "{layer}");
    }
    assert_eq!(layers[1]["op"], "depthwise_conv2d");
}

#[test]
fn bench_precision_runs_a_narrowed_layer_bit_exactly_at_each_precision_on_the_bit_serial_core() {
    let fc = tflm_bundle("resnet8/op14_fully_connected");
    let result = accelgen(&[
        "bench",
        "precision",
        "--config",
        "configs/stripes_like.yaml",
        "--bits",
        "2,5",
        &fc,
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    // One line per precision asked for and the 8-bit reference: bits, streamed bits, zero
    // mismatches, RTL cycles equal to the model's.
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|line| line.starts_with("resnet8/op14_fully_connected"))
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{stdout}");
    for (row, bits) in rows.iter().zip(["2", "5", "8"]) {
        assert_eq!((row[1], row[2], row[3]), (bits, bits, "0"), "{stdout}");
        assert_eq!(row[4], row[5], "RTL and model cycles: {stdout}");
    }

    // A parallel array's cycles do not depend on the precision: refused, naming the key.
    let parallel = accelgen(&[
        "bench",
        "precision",
        "--config",
        "configs/tiny_core.yaml",
        &fc,
    ]);
    assert!(!parallel.status.success());
    assert!(String::from_utf8_lossy(&parallel.stderr).contains("pe.kind"));
}

#[test]
fn bench_zero_skip_reaches_most_of_the_profiled_ideal_on_a_real_relu_layer_bit_exactly() {
    let layer = tflm_bundle("resnet8/op10_conv_2d");
    let result = accelgen(&[
        "bench",
        "zero-skip",
        "--config",
        "configs/cnvlutin_like.yaml",
        &layer,
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    // layer, zero bricks, ideal, compute dense / skipping, speedup, fraction of the ideal, …, ok.
    let row: Vec<&str> = stdout
        .lines()
        .find(|line| line.starts_with("resnet8/op10_conv_2d"))
        .unwrap_or_else(|| panic!("no row: {stdout}"))
        .split_whitespace()
        .collect();
    let number = |index: usize| row[index].parse::<f64>().unwrap();
    assert!(number(1) > 0.1, "ReLU outputs leave zero bricks: {stdout}");
    assert!(
        number(5) > 1.1,
        "skipping them shortens the compute: {stdout}"
    );
    assert!(number(6) >= 0.8, "at least 80% of the ideal: {stdout}");
    assert_eq!(
        row[11], "yes",
        "bit-exact and as the model predicts: {stdout}"
    );

    // A core that does not skip is refused, naming the key.
    let dense = accelgen(&[
        "bench",
        "zero-skip",
        "--config",
        "configs/edge_tpu_os.yaml",
        &layer,
    ]);
    assert!(!dense.status.success());
    assert!(String::from_utf8_lossy(&dense.stderr).contains("zero_skip.activations"));
}

#[test]
fn bench_weight_skip_on_brick_pruned_weights_reaches_most_of_the_ideal_bit_exactly() {
    let layer = tflm_bundle("resnet8/op10_conv_2d");
    let result = accelgen(&[
        "bench",
        "weight-skip",
        "--config",
        "configs/cambricon_like.yaml",
        "--prune",
        "0.5",
        &layer,
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    // layer, prune, zero bricks, ideal, compute dense / skipping, speedup, of the ideal, …, ok.
    let row: Vec<&str> = stdout
        .lines()
        .find(|line| line.starts_with("resnet8/op10_conv_2d"))
        .unwrap_or_else(|| panic!("no row: {stdout}"))
        .split_whitespace()
        .collect();
    let number = |index: usize| row[index].parse::<f64>().unwrap();
    assert!(
        (number(2) - 0.5).abs() < 0.01,
        "half the bricks pruned: {stdout}"
    );
    assert!(
        number(6) > 1.5,
        "skipping them shortens the compute: {stdout}"
    );
    assert!(number(7) >= 0.8, "at least 80% of the ideal: {stdout}");
    assert_eq!(
        row[12], "yes",
        "bit-exact and as the model predicts: {stdout}"
    );

    // A core that does not skip weights is refused, naming the key.
    let dense = accelgen(&[
        "bench",
        "weight-skip",
        "--config",
        "configs/cnvlutin_like.yaml",
        &layer,
    ]);
    assert!(!dense.status.success());
    assert!(String::from_utf8_lossy(&dense.stderr).contains("zero_skip.weights"));
}

#[test]
fn bench_zero_skip_on_the_pragmatic_config_follows_the_one_bits_bit_exactly() {
    let layer = tflm_bundle("resnet8/op10_conv_2d");
    let result = accelgen(&[
        "bench",
        "zero-skip",
        "--config",
        "configs/cnvlutin_pragmatic.yaml",
        &layer,
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    // The second table: layer, ones, comp_zs, comp_pg, pg/zs, of ones, ideal, pg ×, of id, ok.
    let row: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("resnet8/op10_conv_2d"))
        .nth(1)
        .unwrap_or_else(|| panic!("no Pragmatic row: {stdout}"))
        .split_whitespace()
        .collect();
    let number = |index: usize| row[index].parse::<f64>().unwrap();
    assert!(
        number(1) > 1.0 && number(1) <= 8.0,
        "a kept brick's busiest lane has 1 to 8 one-bits: {stdout}"
    );
    assert!(
        (0.8..=1.0).contains(&number(5)),
        "the Pragmatic core's slowdown over the parallel one follows the one-bits: {stdout}"
    );
    assert!(number(7) > 1.0, "faster than 8-bit serial steps: {stdout}");
    assert_eq!(
        row[9], "yes",
        "bit-exact and as the model predicts: {stdout}"
    );
}

#[test]
fn run_layer_golden_only_writes_each_output_as_npy() {
    let out = tempfile::tempdir().unwrap();
    let result = accelgen(&[
        "run-layer",
        "--config",
        "configs/tiny_2x2.yaml",
        "--golden-only",
        "-o",
        out.path().to_str().unwrap(),
        &tflm_bundle("resnet8/op14_fully_connected"),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let written = out.path().join("resnet8__op14_fully_connected.npy");
    let tensor = accelgen::golden::read_npy(&written).unwrap();
    assert_eq!(tensor.shape(), &[1, 10]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("golden only"), "{stdout}");
}

#[test]
fn run_layer_names_the_file_and_field_of_a_bad_bundle_and_exits_non_zero() {
    let bad = tempfile::tempdir().unwrap();
    let source = repo().join("../shared/vectors/tflm/resnet8/op14_fully_connected");
    for entry in fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "weight.npy" {
            fs::copy(entry.path(), bad.path().join(entry.file_name())).unwrap();
        }
    }
    let good = tflm_bundle("resnet8/op06_conv_2d");
    let result = accelgen(&[
        "run-layer",
        "--config",
        "configs/tiny_2x2.yaml",
        bad.path().to_str().unwrap(),
        &good,
    ]);
    assert_eq!(result.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.contains("weight.npy") && stdout.contains("files.weight"),
        "{stdout}"
    );
    // The good layer still ran.
    assert!(stdout.contains("resnet8/op06_conv_2d"), "{stdout}");
    assert!(String::from_utf8_lossy(&result.stderr).contains("1 of 2 layers failed"));
}

#[test]
fn check_reports_buffer_geometry_and_generate_builds_banks_but_refuses_a_double_buffered_psum() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("buffered.yaml");
    let base = fs::read_to_string(repo().join("configs/edge_ws.yaml")).unwrap();
    let text = base.clone()
        + "buffers:\n  ifmap: {capacity: 64 kib, banks: 4}\n  weight: {capacity: 32 kib}\n  psum: {capacity: 1024 words}\n";
    fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap();
    let check = accelgen(&["check", "--config", config]);
    assert!(check.status.success());
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        stdout.contains("buffers.ifmap       8192 words x   64 bits")
            && stdout.contains("4 bank(s) of 2048 words, 11-bit bank address"),
        "{stdout}"
    );
    let out = dir.path().join("out");
    let generate = accelgen(&["--config", config, "-o", out.to_str().unwrap()]);
    assert!(
        generate.status.success(),
        "{}",
        String::from_utf8_lossy(&generate.stderr)
    );
    let core = fs::read_dir(out.join("rtl"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.to_string_lossy().contains("gemm_core"))
        .unwrap();
    let verilog = fs::read_to_string(core).unwrap();
    assert!(verilog.contains("ifmap_bank3"), "four ifmap banks");

    // A setting that validates but has no generator yet is refused, and nothing is written.
    let config = dir.path().join("psum_double.yaml");
    let text = base
        + "buffers:\n  ifmap: {capacity: 64 kib}\n  weight: {capacity: 32 kib}\n  psum: {capacity: 1024 words, double_buffered: true}\n";
    fs::write(&config, text).unwrap();
    let out = dir.path().join("refused");
    let generate = accelgen(&[
        "--config",
        config.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(generate.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&generate.stderr);
    assert!(
        stderr.contains("`buffers.psum.double_buffered: true`")
            && stderr.contains("does not generate its hardware yet"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn run_layer_on_a_buffered_config_runs_the_core_and_says_so() {
    let result = accelgen(&[
        "run-layer",
        "--config",
        "configs/tiny_core.yaml",
        "--json",
        &tflm_bundle("resnet8/op06_conv_2d"),
        &tflm_bundle("kws_dscnn/op01_depthwise_conv_2d"),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert!(
        json["scope"].as_str().unwrap().starts_with("core:"),
        "{json}"
    );
    for layer in json["layers"].as_array().unwrap() {
        assert_eq!(layer["rtl_mismatches"], 0, "{layer}");
        assert_eq!(layer["rtl_cycles"], layer["model_cycles"], "{layer}");
        assert!(layer["dram_bytes"].as_u64().unwrap() > 0, "{layer}");
        assert_eq!(layer["dram_bytes"], layer["model_dram_bytes"], "{layer}");
    }
}

#[test]
fn run_layer_on_the_16x16_sram_core_matches_tflite_micro_and_its_model_exactly() {
    let result = accelgen(&[
        "run-layer",
        "--config",
        "configs/edge_tpu.yaml",
        "--json",
        &tflm_bundle("resnet8/op05_conv_2d"),
        &tflm_bundle("kws_dscnn/op03_depthwise_conv_2d"),
        &tflm_bundle("resnet8/op14_fully_connected"),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    for layer in json["layers"].as_array().unwrap() {
        assert_eq!(layer["rtl_mismatches"], 0, "{layer}");
        assert_eq!(layer["rtl_cycles"], layer["model_cycles"], "{layer}");
        assert_eq!(layer["dram_bytes"], layer["model_dram_bytes"], "{layer}");
    }
}

#[test]
fn run_layer_on_a_slow_irregular_dram_still_matches_and_takes_longer_than_the_model() {
    let result = accelgen(&[
        "run-layer",
        "--config",
        "configs/tiny_core.yaml",
        "--json",
        "--random-dram",
        "7",
        &tflm_bundle("kws_dscnn/op11_fully_connected"),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let layer = &json["layers"][0];
    assert_eq!(layer["rtl_mismatches"], 0, "{layer}");
    assert!(
        layer["rtl_cycles"].as_u64().unwrap() > layer["model_cycles"].as_u64().unwrap(),
        "{layer}"
    );
    assert_eq!(layer["dram_bytes"], layer["model_dram_bytes"], "{layer}");
}

// ---- accelgen report ----------------------------------------------------------------------

/// `report --simulate --format json` and `run-layer --json` on the same bundles and config: the
/// report's cycles are run-layer's RTL cycles, and its model cycles run-layer's model cycles.
fn assert_report_cycles_equal_run_layer(config: &str, bundles: &[String]) {
    let bundle_args: Vec<&str> = bundles.iter().map(String::as_str).collect();
    let mut report_args = vec![
        "report",
        "--config",
        config,
        "--format",
        "json",
        "--simulate",
    ];
    report_args.push("--layers");
    report_args.extend(&bundle_args);
    let report = accelgen(&report_args);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let mut run_layer_args = vec!["run-layer", "--config", config, "--json"];
    run_layer_args.extend(&bundle_args);
    let run_layer = accelgen(&run_layer_args);
    assert!(run_layer.status.success());
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let run_layer: serde_json::Value = serde_json::from_slice(&run_layer.stdout).unwrap();
    let rows = report["layers"].as_array().unwrap();
    let runs = run_layer["layers"].as_array().unwrap();
    assert_eq!(rows.len(), bundles.len());
    for (row, run) in rows.iter().zip(runs) {
        assert_eq!(row["name"], run["layer"]);
        assert_eq!(row["cycles_source"], "rtl", "{row}");
        assert_eq!(row["cycles"], run["rtl_cycles"], "{config}: {row}");
        assert_eq!(row["model_cycles"], run["model_cycles"], "{config}: {row}");
        assert_eq!(row["macs"], run["macs"]);
        assert_eq!(row["ideal_cycles"], run["ideal_cycles"]);
        let (a, b) = (
            row["utilization"].as_f64().unwrap(),
            run["utilization"].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        // On a core, the report's traffic comes from the counters run-layer prints: the DRAM
        // bytes the DMA moved and the psum buffer's reads and writes.
        if let Some(bytes) = run["dram_bytes"].as_u64() {
            assert_eq!(row["traffic_source"], "rtl", "{row}");
            let bits = &row["traffic_bits"];
            let dram = bits["dram_read_bits"].as_u64().unwrap()
                + bits["dram_write_bits"].as_u64().unwrap();
            assert_eq!(dram, 8 * bytes, "{config}: {row}");
            let counters = &run["counters"];
            let psum_words = counters["perf_psum_reads"].as_u64().unwrap()
                + counters["perf_psum_writes"].as_u64().unwrap();
            let spec = accelgen::config::load(&repo().join(config)).unwrap();
            let word_bits = u64::from(spec.buffers.unwrap().psum.word_bits);
            assert_eq!(
                bits["psum_buffer_bits"].as_u64(),
                Some(psum_words * word_bits),
                "{config}: {row}"
            );
        } else {
            assert_eq!(row["traffic_source"], "model", "{row}");
        }
    }
    let total: u64 = runs.iter().map(|r| r["rtl_cycles"].as_u64().unwrap()).sum();
    assert_eq!(report["total"]["cycles"].as_u64(), Some(total));
}

#[test]
fn report_simulate_gives_run_layers_cycles_on_the_datapath_and_the_core() {
    let bundles = [
        tflm_bundle("resnet8/op06_conv_2d"),
        tflm_bundle("kws_dscnn/op01_depthwise_conv_2d"),
        tflm_bundle("resnet8/op14_fully_connected"),
    ];
    assert_report_cycles_equal_run_layer("configs/tiny_2x2.yaml", &bundles);
    assert_report_cycles_equal_run_layer("configs/tiny_core.yaml", &bundles);
}

#[test]
fn report_writes_markdown_json_and_offline_html_for_a_scalesim_topology() {
    let scratch = tempfile::tempdir().unwrap();
    let csv = repo().join("../shared/workloads/scale-sim-v2/conv_nets__Resnet18.csv");
    let csv = csv.to_str().unwrap();
    for format in ["md", "json", "html"] {
        let path = scratch.path().join(format!("nested/report.{format}"));
        let result = accelgen(&[
            "report",
            "--config",
            "configs/edge_tpu.yaml",
            "--topology",
            csv,
            "--format",
            format,
            "-o",
            path.to_str().unwrap(),
        ]);
        assert!(
            result.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        assert!(result.stdout.is_empty(), "-o writes the file, not stdout");
        let text = fs::read_to_string(&path).unwrap();
        match format {
            "md" => assert!(text.contains("| Conv1 | conv |"), "{text}"),
            "json" => {
                let json: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(json["layers"].as_array().unwrap().len(), 21);
                assert_eq!(json["area"], serde_json::Value::Null);
            }
            _ => {
                assert!(text.contains("<svg class=\"energy\""));
                assert!(!text.contains("http"), "the page must work offline");
            }
        }
    }
}

#[test]
fn report_refuses_a_missing_workload_and_a_bad_topology() {
    let none = accelgen(&["report", "--config", "configs/edge_tpu.yaml"]);
    assert_eq!(none.status.code(), Some(2), "clap usage error");
    let simulate_csv = accelgen(&[
        "report",
        "--config",
        "configs/edge_tpu.yaml",
        "--topology",
        "x.csv",
        "--simulate",
    ]);
    assert_eq!(
        simulate_csv.status.code(),
        Some(2),
        "--simulate needs --layers"
    );
    let scratch = tempfile::tempdir().unwrap();
    let bad = scratch.path().join("bad.csv");
    fs::write(
        &bad,
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\nC1,8,8,3,3,four,4,1,\n",
    )
    .unwrap();
    let result = accelgen(&[
        "report",
        "--config",
        "configs/edge_tpu.yaml",
        "--topology",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("bad.csv:2") && stderr.contains("`channels` = `four`"),
        "{stderr}"
    );
}

#[test]
fn report_with_area_synthesises_and_reports_the_area_per_block() {
    let csv = repo().join("../shared/workloads/mlperf_tiny/mlperf_tiny_ic_resnet8.csv");
    let result = accelgen(&[
        "report",
        "--config",
        "configs/tiny_2x2.yaml",
        "--topology",
        csv.to_str().unwrap(),
        "--format",
        "json",
        "--area",
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert!(json["area"]["area_um2"].as_f64().unwrap() > 0.0, "{json}");
    let blocks = json["area"]["blocks"].as_array().unwrap();
    assert!(
        blocks
            .iter()
            .any(|b| b["module"] == "pe_ws_ai8_wi8_acc32" && b["instances"] == 4),
        "{blocks:?}"
    );
}

/// Every shipped layer bundle, `<model>/<op>` by directory.
fn shipped_bundles() -> Vec<PathBuf> {
    let root = repo().join("../shared/vectors/tflm");
    let mut bundles: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .flat_map(|model| fs::read_dir(model.unwrap().path()).unwrap())
        .map(|op| op.unwrap().path())
        .filter(|p| p.join("layer.yaml").is_file())
        .collect();
    bundles.sort();
    assert!(!bundles.is_empty());
    bundles
}

/// The values of an int8 `.npy` file, read here byte by byte (not through accelgen's reader).
fn npy_int8(path: &Path) -> Vec<i8> {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{}", path.display());
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).unwrap();
    assert!(
        header.contains("'descr': '|i1'") && header.contains("'fortran_order': False"),
        "{header}"
    );
    bytes[start + header_len..]
        .iter()
        .map(|&b| b as i8)
        .collect()
}

/// The `zero_point` of the `input:` or `weight:` line of a layer.yaml (a single number).
fn yaml_zero_point(layer_yaml: &str, key: &str) -> i8 {
    let line = layer_yaml
        .lines()
        .find(|l| l.starts_with(&format!("{key}:")))
        .unwrap();
    let value = line.split("zero_point: ").nth(1).unwrap();
    value.trim_end_matches('}').trim().parse().unwrap()
}

#[test]
fn profile_lists_every_shipped_layer_with_fractions_in_unit_range_and_counts_from_the_npy() {
    let bundles = shipped_bundles();
    let arguments: Vec<&str> = ["profile", "--json", "--granularity", "1,16"]
        .into_iter()
        .chain(bundles.iter().map(|b| b.to_str().unwrap()))
        .collect();
    let result = accelgen(&arguments);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let layers = json["layers"].as_array().unwrap();
    assert_eq!(layers.len(), bundles.len());
    for (layer, bundle) in layers.iter().zip(&bundles) {
        assert!(layer["error"].is_null(), "{layer}");
        let model_op = bundle.strip_prefix(bundle.parent().unwrap().parent().unwrap());
        assert_eq!(
            layer["layer"],
            model_op.unwrap().to_str().unwrap(),
            "{layer}"
        );
        for key in [
            "input_zero_fraction",
            "streamed_zero_fraction",
            "padding_fraction",
            "weight_zero_fraction",
            "mac_zero_fraction",
        ] {
            let f = layer[key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&f), "{key} = {f} in {layer}");
        }
        let zero_skip = layer["speedup"]["zero_skip"].as_array().unwrap();
        assert_eq!(zero_skip.len(), 2);
        let (g1, g16) = (
            zero_skip[0]["speedup"].as_f64().unwrap(),
            zero_skip[1]["speedup"].as_f64().unwrap(),
        );
        assert!(g1 >= 1.0 && g16 >= 1.0, "{layer}");
        // The streamed matrix holds the input values plus padding (all zero points).
        let padding = layer["padding_fraction"].as_f64().unwrap();
        let streamed = layer["streamed_zero_fraction"].as_f64().unwrap();
        assert!(streamed >= padding - 1e-12, "{layer}");

        // Independently: the share of the input equal to its zero point, and of the weights
        // equal to theirs (every shipped layer has one weight zero point, 0).
        let yaml = fs::read_to_string(bundle.join("layer.yaml")).unwrap();
        let input = npy_int8(&bundle.join("input.npy"));
        let input_zp = yaml_zero_point(&yaml, "input");
        let input_zeros = input.iter().filter(|&&a| a == input_zp).count();
        let expected = input_zeros as f64 / input.len() as f64;
        let reported = layer["input_zero_fraction"].as_f64().unwrap();
        assert!((reported - expected).abs() < 1e-12, "{layer}: {expected}");
        assert_eq!(yaml_zero_point(&yaml, "weight"), 0);
        let weight = npy_int8(&bundle.join("weight.npy"));
        let expected = weight.iter().filter(|&&w| w == 0).count() as f64 / weight.len() as f64;
        let reported = layer["weight_zero_fraction"].as_f64().unwrap();
        assert!((reported - expected).abs() < 1e-12, "{layer}: {expected}");
    }
    // A fully connected layer streams its input as it is (no im2col, no padding), in bricks of
    // 16 consecutive inputs: count them by hand.
    let fc = layers
        .iter()
        .find(|l| l["layer"] == "resnet8/op14_fully_connected")
        .unwrap();
    let bundle = repo().join("../shared/vectors/tflm/resnet8/op14_fully_connected");
    let input = npy_int8(&bundle.join("input.npy"));
    let zp = yaml_zero_point(
        &fs::read_to_string(bundle.join("layer.yaml")).unwrap(),
        "input",
    );
    let zeros = input.iter().filter(|&&a| a == zp).count();
    assert_eq!(
        fc["streamed_zero_fraction"].as_f64().unwrap(),
        zeros as f64 / input.len() as f64
    );
    let bricks = input.chunks(16).count();
    let zero_bricks = input
        .chunks(16)
        .filter(|brick| brick.iter().all(|&a| a == zp))
        .count();
    let zero_skip = &fc["speedup"]["zero_skip"];
    assert_eq!(
        zero_skip[1]["zero_brick_fraction"].as_f64().unwrap(),
        zero_bricks as f64 / bricks as f64
    );
    assert_eq!(
        zero_skip[0]["speedup"].as_f64().unwrap(),
        input.len() as f64 / (input.len() - zeros) as f64
    );
    assert!(json["total"]["macs"].as_u64().unwrap() > 0);

    // The table names every layer and ends with the total.
    let table = accelgen(
        &["profile"]
            .into_iter()
            .chain(bundles.iter().map(|b| b.to_str().unwrap()))
            .collect::<Vec<_>>(),
    );
    assert!(table.status.success());
    let stdout = String::from_utf8_lossy(&table.stdout);
    for layer in layers {
        assert!(
            stdout.contains(layer["layer"].as_str().unwrap()),
            "{stdout}"
        );
    }
    assert!(stdout.contains("| total "), "{stdout}");
    assert!(stdout.contains("zs g=16"), "{stdout}");
}

#[test]
fn profile_names_the_file_and_field_of_a_bad_bundle_and_exits_non_zero() {
    let bad = tempfile::tempdir().unwrap();
    let source = repo().join("../shared/vectors/tflm/resnet8/op14_fully_connected");
    for entry in fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "weight.npy" {
            fs::copy(entry.path(), bad.path().join(entry.file_name())).unwrap();
        }
    }
    let good = tflm_bundle("resnet8/op06_conv_2d");
    let result = accelgen(&["profile", bad.path().to_str().unwrap(), &good]);
    assert_eq!(result.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.contains("weight.npy") && stdout.contains("files.weight"),
        "{stdout}"
    );
    // The good layer is still profiled.
    assert!(stdout.contains("resnet8/op06_conv_2d"), "{stdout}");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("1 of 2 layers could not be profiled"),
        "{stderr}"
    );
    // A brick of zero activations is no brick.
    let zero = accelgen(&["profile", "--granularity", "0", &good]);
    assert_eq!(zero.status.code(), Some(2));
}
