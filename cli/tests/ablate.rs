//! `accelgen ablate` as a user runs it: on the bare edge_ws array with the shared TFLite Micro
//! bundles, the WS→OS variant's numbers are the report of the same config with the other
//! dataflow, the optimizations not built yet are listed rather than dropped, a variant the
//! validator refuses is reported with the reason, the buffered core's buffers can be halved, every
//! format is written, and a bad toggle name is a usage error naming the choices.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use accelgen::config;
use accelgen::report::{workload, LayerInput, Report};
use serde_json::Value;

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

/// Every shared TFLite Micro bundle, `model/op` directories in name order.
fn bundles() -> Vec<String> {
    let root = repo().join("../shared/vectors/tflm");
    let mut dirs = Vec::new();
    for model in fs::read_dir(&root).unwrap() {
        let model = model.unwrap().path();
        if !model.is_dir() {
            continue;
        }
        for op in fs::read_dir(&model).unwrap() {
            let op = op.unwrap().path();
            if op.join("layer.yaml").exists() {
                dirs.push(op.to_str().unwrap().to_owned());
            }
        }
    }
    dirs.sort();
    assert!(!dirs.is_empty(), "no bundles under {}", root.display());
    dirs
}

fn ablate_json(config: &str, extra: &[&str], bundles: &[String]) -> Value {
    let mut args = vec!["ablate", "--config", config, "--format", "json"];
    args.extend_from_slice(extra);
    args.extend(bundles.iter().map(String::as_str));
    let result = accelgen(&args);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).unwrap()
}

fn variant<'a>(json: &'a Value, toggle: &str) -> &'a Value {
    json["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["toggle"] == toggle)
        .unwrap_or_else(|| panic!("no variant {toggle} in {json:#}"))
}

/// The report of `spec` on the bundles, as `accelgen report` builds it.
fn report(spec: &config::AcceleratorSpec, bundles: &[String]) -> Report {
    let layers: Vec<LayerInput> = bundles
        .iter()
        .map(|dir| LayerInput {
            shape: workload::from_bundle(Path::new(dir), spec.pe_array.cols as usize).unwrap(),
            rtl_cycles: None,
            rtl_counters: None,
        })
        .collect();
    Report::build(spec, &layers, None).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Ablating `base` to OS gives exactly the report of the shipped OS config `os_config`, in
/// `scope`; returns the ablation's JSON.
fn ws_to_os_is_the_shipped_os_config(base: &str, os_config: &str, scope: &str) -> Value {
    let bundles = bundles();
    let json = ablate_json(base, &[], &bundles);
    let base_spec = config::load(&repo().join(base)).unwrap();
    let base = report(&base_spec, &bundles);
    let os_spec = config::AcceleratorSpec {
        pe_array: config::PeArraySpec {
            dataflow: config::Dataflow::OutputStationary,
            ..base_spec.pe_array.clone()
        },
        ..base_spec.clone()
    };
    let os = report(&os_spec, &bundles);
    // The shipped OS config is the same hardware under another name.
    let shipped_os = report(&config::load(&repo().join(os_config)).unwrap(), &bundles);
    assert_eq!(os.total.cycles, shipped_os.total.cycles);
    assert_eq!(os.scope, scope);

    assert_eq!(json["base"]["cycles"], base.total.cycles);
    assert_eq!(json["layers"], bundles.len());
    let row = variant(&json, "dataflow=os");
    let measured = &row["outcome"];
    assert_eq!(measured["status"], "measured", "{row:#}");
    assert_eq!(measured["dataflow"], "output_stationary");
    assert_eq!(measured["scope"], scope);
    assert_eq!(measured["cycles"], os.total.cycles);
    let ratios = &measured["ratios"];
    assert!(close(
        ratios["cycles"].as_f64().unwrap(),
        os.total.cycles as f64 / base.total.cycles as f64
    ));
    assert!(close(
        ratios["energy"].as_f64().unwrap(),
        os.total.total_energy_pj / base.total.total_energy_pj
    ));
    assert!(close(
        ratios["dram"].as_f64().unwrap(),
        os.total.traffic_bits.dram_bits() as f64 / base.total.traffic_bits.dram_bits() as f64
    ));
    assert_eq!(measured["area_um2"], Value::Null);
    assert_eq!(
        row["changes"][0],
        "pe_array.dataflow: weight_stationary → output_stationary"
    );
    json
}

#[test]
fn ws_to_os_on_the_edge_tpu_core_is_the_report_of_the_edge_tpu_os_core() {
    let json = ws_to_os_is_the_shipped_os_config(
        "configs/edge_tpu.yaml",
        "configs/edge_tpu_os.yaml",
        "core",
    );
    // zero_skip makes the core output-stationary and skipping, with the ifmap's words kept; its
    // numbers are the report of that spec on the layers' own activations.
    let row = variant(&json, "zero_skip");
    let measured = &row["outcome"];
    assert_eq!(measured["status"], "measured", "{row:#}");
    let os = config::load(&repo().join("configs/edge_tpu_os.yaml")).unwrap();
    let spec = os.with_activation_skipping(true, "edge_tpu_os_zs");
    let skipping = report(&spec, &bundles());
    assert_eq!(measured["cycles"], skipping.total.cycles, "{row:#}");
    let os = variant(&json, "dataflow=os");
    assert!(
        skipping.total.cycles != os["outcome"]["cycles"].as_u64().unwrap(),
        "skipping the layers' zero activations changes the count"
    );
    // zero_gating makes it output-stationary and gating: the same cycles as dataflow=os, and
    // the MACs it gates (most of a ReLU layer's) cost nothing.
    let gating = &variant(&json, "zero_gating")["outcome"];
    assert_eq!(gating["status"], "measured", "{gating:#}");
    assert_eq!(gating["cycles"], os["outcome"]["cycles"], "{gating:#}");
    let gated = gating["traffic_bits"]["macs_gated"].as_u64().unwrap();
    let issued = gating["traffic_bits"]["macs_issued"].as_u64().unwrap();
    assert!(gated * 4 > issued, "{gated} of {issued} MACs gated");
    let energy = |outcome: &Value| outcome["total_energy_pj"].as_f64().unwrap();
    assert!(energy(gating) < energy(&os["outcome"]), "{gating:#}");
}

#[test]
fn ws_to_os_on_edge_ws_is_the_report_of_the_os_config() {
    let json = ws_to_os_is_the_shipped_os_config(
        "configs/edge_ws.yaml",
        "configs/edge_os.yaml",
        "datapath",
    );

    // Every other implemented dataflow, a narrower precision and bit-serial PEs are measured by
    // default; zero skipping, which a bare array cannot do, is listed with the reason, not
    // dropped; a bare array has no buffers to halve.
    assert_eq!(
        variant(&json, "dataflow=is")["outcome"]["status"],
        "measured"
    );
    assert_eq!(
        variant(&json, "precision=4")["outcome"]["status"],
        "measured"
    );
    assert_eq!(
        variant(&json, "bit_serial")["outcome"]["status"],
        "measured"
    );
    let outcome = &variant(&json, "zero_skip")["outcome"];
    assert_eq!(outcome["status"], "not_applicable", "{outcome:#}");
    assert!(outcome["reason"].as_str().unwrap().contains("buffers"));
    let toggles: Vec<&str> = json["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["toggle"].as_str().unwrap())
        .collect();
    assert!(!toggles.contains(&"dataflow=ws"), "{toggles:?}");
    assert!(!toggles.contains(&"half_buffers"), "{toggles:?}");
}

#[test]
fn refused_and_inapplicable_variants_are_reported_with_the_reason() {
    let bundles = bundles();
    let json = ablate_json(
        "configs/edge_ws.yaml",
        &[
            "--toggle",
            "dataflow=rs",
            "--toggle",
            "precision=1",
            "--toggle",
            "half_buffers",
        ],
        &bundles[..2],
    );
    let rs = &variant(&json, "dataflow=rs")["outcome"];
    assert_eq!(rs["status"], "rejected");
    assert!(rs["reason"]
        .as_str()
        .unwrap()
        .contains("`pe_array.dataflow` = row_stationary is not implemented"));
    let p1 = &variant(&json, "precision=1")["outcome"];
    assert_eq!(p1["status"], "rejected");
    assert!(p1["reason"].as_str().unwrap().contains("`pe.act.bits` = 1"));
    let half = &variant(&json, "half_buffers")["outcome"];
    assert_eq!(half["status"], "not_applicable");
    assert!(half["reason"].as_str().unwrap().contains("no `buffers:`"));
}

#[test]
fn halving_the_buffers_of_the_core_costs_cycles_and_dram_traffic() {
    let bundles = bundles();
    let json = ablate_json(
        "configs/tiny_core.yaml",
        &["-t", "half_buffers", "-t", "double_capacity"],
        &bundles[..3],
    );
    assert_eq!(json["base"]["scope"], "core");
    let half = &variant(&json, "half_buffers")["outcome"];
    assert_eq!(half["status"], "measured", "{half:#}");
    assert!(half["ratios"]["cycles"].as_f64().unwrap() >= 1.0);
    assert!(half["ratios"]["dram"].as_f64().unwrap() >= 1.0);
    let double = &variant(&json, "double_capacity")["outcome"];
    assert!(double["ratios"]["cycles"].as_f64().unwrap() <= 1.0);
    // The variant's YAML is a config the validator accepts, with the halved regions.
    let yaml = variant(&json, "half_buffers")["config_yaml"]
        .as_str()
        .unwrap();
    let spec = config::load_str(yaml, "half.yaml").unwrap();
    assert_eq!(spec.buffers.unwrap().weight.depth, 32);
}

#[test]
fn markdown_and_offline_html_show_every_variant_side_by_side() {
    let bundles = bundles();
    let scratch = tempfile::tempdir().unwrap();
    for format in ["md", "html"] {
        let path = scratch.path().join(format!("nested/ablate.{format}"));
        let mut args = vec![
            "ablate",
            "--config",
            "configs/edge_tpu.yaml",
            "--format",
            format,
            "-o",
            path.to_str().unwrap(),
        ];
        args.extend(bundles.iter().map(String::as_str));
        let result = accelgen(&args);
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        assert!(result.stdout.is_empty(), "-o writes the file, not stdout");
        let text = fs::read_to_string(&path).unwrap();
        if format == "md" {
            assert!(text.contains("| base | core |"), "{text}");
            assert!(text.contains("| half_buffers | core |"), "{text}");
            assert!(text.contains("| dataflow=os | "), "{text}");
            assert!(text.contains("| zero_skip | core |"), "{text}");
        } else {
            assert!(text.contains("<svg class=\"ablation\""));
            assert!(text.contains("<svg class=\"energy\""));
            assert!(text.contains("dataflow=os"));
            assert!(!text.contains("<script"), "no scripts");
            assert!(!text.contains("http"), "the page must work offline");
        }
    }
}

#[test]
fn a_bad_toggle_is_a_usage_error_naming_the_choices() {
    let bundle = bundles().remove(0);
    let result = accelgen(&[
        "ablate",
        "--config",
        "configs/edge_tpu.yaml",
        "--toggle",
        "zero_skipping",
        &bundle,
    ]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("unknown toggle `zero_skipping`"),
        "{stderr}"
    );
    assert!(stderr.contains("dataflow=ws|os|is|rs"), "{stderr}");
    assert!(result.stdout.is_empty());

    let result = accelgen(&["ablate", "--config", "configs/edge_tpu.yaml"]);
    assert_eq!(result.status.code(), Some(2), "a workload is required");
    let result = accelgen(&[
        "ablate",
        "--config",
        "configs/missing.yaml",
        &bundles().remove(0),
    ]);
    assert_eq!(result.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&result.stderr).contains("missing.yaml"));
}

#[test]
fn area_synthesises_the_base_and_each_variant_and_compares_them() {
    let bundle = bundles().remove(0);
    let json = ablate_json(
        "configs/tiny_2x2.yaml",
        &["--area", "-t", "precision=4"],
        &[bundle],
    );
    let base = json["base"]["area_um2"].as_f64().unwrap();
    assert!(base > 0.0, "{json:#}");
    let narrow = &variant(&json, "precision=4")["outcome"];
    let area = narrow["area_um2"].as_f64().unwrap();
    // 4-bit multipliers are smaller than 8-bit ones.
    assert!(area < base, "{area} vs {base}");
    assert!(close(
        narrow["ratios"]["area"].as_f64().unwrap(),
        area / base
    ));
}
