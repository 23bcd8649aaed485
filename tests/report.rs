//! `accelgen::report` end to end on real workloads: SCALE-Sim's ResNet-18 topology on the bare
//! edge_ws array in Markdown, JSON and HTML (totals are the sums of the layers, the page is
//! offline and carries its plots and block diagram), and TFLite Micro layer bundles whose model
//! cycles are the ones `golden::cycles` gives the GEMMs run-layer runs. The RTL side (`report
//! --simulate` equals `run-layer`) needs the testbench crate and is checked in cli/tests/cli.rs.

use std::path::{Path, PathBuf};

use accelgen::config::{self, AcceleratorSpec};
use accelgen::golden::cycles::{predicted_cycles, ArrayShape};
use accelgen::report::{diagram, html, table, workload, LayerInput, Report};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn spec(name: &str) -> AcceleratorSpec {
    config::load(&repo().join("configs").join(name)).unwrap_or_else(|e| panic!("{e:?}"))
}

fn resnet18() -> PathBuf {
    repo().join("../shared/workloads/scale-sim-v2/conv_nets__Resnet18.csv")
}

fn model_only(layers: Vec<workload::LayerShape>) -> Vec<LayerInput> {
    layers
        .into_iter()
        .map(|shape| LayerInput {
            shape,
            rtl_cycles: None,
            rtl_counters: None,
        })
        .collect()
}

fn resnet18_report() -> Report {
    let layers = workload::from_topology_csv(&resnet18()).unwrap();
    Report::build(&spec("edge_ws.yaml"), &model_only(layers), None).unwrap()
}

#[test]
fn resnet18_json_totals_are_the_sums_of_its_layers() {
    let report = resnet18_report();
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    let layers = json["layers"].as_array().unwrap();
    // The CSV's 21 rows (20 convolutions and the FC).
    assert_eq!(layers.len(), 21);
    let total = &json["total"];
    for key in [
        "macs",
        "cycles",
        "model_cycles",
        "ideal_cycles",
        "scalesim_cycles",
    ] {
        let sum: u64 = layers.iter().map(|l| l[key].as_u64().unwrap()).sum();
        assert_eq!(total[key].as_u64().unwrap(), sum, "{key}");
    }
    for key in [
        "macs_issued",
        "register_file_bits",
        "pe_to_pe_bits",
        "dram_read_bits",
        "dram_write_bits",
    ] {
        let sum: u64 = layers
            .iter()
            .map(|l| l["traffic_bits"][key].as_u64().unwrap())
            .sum();
        assert_eq!(total["traffic_bits"][key].as_u64().unwrap(), sum, "{key}");
    }
    for key in ["mac_pj", "register_file_pj", "pe_to_pe_pj", "dram_pj"] {
        let sum: f64 = layers
            .iter()
            .map(|l| l["energy_pj"][key].as_f64().unwrap())
            .sum();
        let reported = total["energy_pj"][key].as_f64().unwrap();
        assert!(
            (reported - sum).abs() <= 1e-9 * sum,
            "{key}: {reported} vs {sum}"
        );
    }
    // Conv1: 224×224, 7×7, stride 2, no padding: (224 − 7)/2 + 1 = 109 output rows and columns.
    let conv1 = &layers[0];
    assert_eq!(conv1["name"], "Conv1");
    assert_eq!(conv1["macs"].as_u64().unwrap(), 109 * 109 * 7 * 7 * 3 * 64);
    // On edge_ws (no buffers) the cycles are the array's model for the one GEMM.
    let array = ArrayShape { rows: 8, cols: 8 };
    let gemm = accelgen::golden::cycles::GemmShape {
        m: 109 * 109,
        k: 147,
        n: 64,
    };
    assert_eq!(
        conv1["cycles"].as_u64(),
        predicted_cycles(config::Dataflow::WeightStationary, array, gemm)
    );
    // Energy is dominated by DRAM for an array without a global buffer, and every level of
    // the total is positive except the missing buffer.
    let energy = &total["energy_pj"];
    assert!(energy["dram_pj"].as_f64().unwrap() > energy["mac_pj"].as_f64().unwrap());
    assert_eq!(energy["global_buffer_pj"].as_f64().unwrap(), 0.0);
    assert_eq!(json["global_buffer"], false);
    // Utilization never exceeds 1 and the model never beats the ideal.
    for layer in layers {
        assert!(layer["utilization"].as_f64().unwrap() <= 1.0);
        assert!(layer["cycles"].as_u64() >= layer["ideal_cycles"].as_u64());
    }
}

#[test]
fn resnet18_markdown_has_a_line_per_layer_and_the_total() {
    let text = table::markdown(&resnet18_report());
    assert!(text.starts_with("# accelgen report: edge_ws"), "{text}");
    for name in ["Conv1", "Conv5_2b", "FC", "**total**"] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("| {name} |"))),
            "{name} missing:\n{text}"
        );
    }
    assert!(text.contains("Area: not measured"), "{text}");
    assert!(text.contains("no global buffer"), "{text}");
}

#[test]
fn resnet18_html_is_offline_with_both_plots_and_the_block_diagram() {
    let report = resnet18_report();
    let (_, design, _) = accelgen::generate::build(&repo().join("configs/edge_ws.yaml")).unwrap();
    let root = diagram::hierarchy(&design).unwrap();
    let page = html::page(&report, Some(&diagram::svg(&root)));
    assert!(page.starts_with("<!DOCTYPE html>"));
    for class in ["energy", "cycles", "diagram"] {
        assert!(
            page.contains(&format!("<svg class=\"{class}\"")),
            "no {class} plot"
        );
    }
    // One stacked bar of five levels per layer, and three cycle bars per layer.
    let energy_svg = &page[page.find("<svg class=\"energy\"").unwrap()..];
    let energy_svg = &energy_svg[..energy_svg.find("</svg>").unwrap()];
    assert_eq!(energy_svg.matches("<rect").count(), 5 + 21 * 5);
    // No scripts and nothing fetched: no URL at all, no src= attribute.
    for forbidden in ["http://", "https://", "<script", "src=", "@import", "url("] {
        assert!(!page.contains(forbidden), "found {forbidden}");
    }
    // edge_ws's 8×8 PEs are drawn as one box.
    assert!(page.contains("8×8 × pe"), "no collapsed PE grid");
}

#[test]
fn bundles_report_the_model_cycles_of_the_gemms_they_lower_to() {
    let bundles = ["resnet8/op06_conv_2d", "resnet8/op14_fully_connected"]
        .map(|b| repo().join("../shared/vectors/tflm").join(b));
    let layers: Vec<_> = bundles
        .iter()
        .map(|b| workload::from_bundle(b, 2).unwrap())
        .collect();
    let spec = spec("tiny_2x2.yaml");
    let report = Report::build(&spec, &model_only(layers.clone()), None).unwrap();
    for (row, layer) in report.layers.iter().zip(&layers) {
        let expected: u64 = layer
            .gemms
            .iter()
            .map(|g| {
                predicted_cycles(spec.pe_array.dataflow, ArrayShape { rows: 2, cols: 2 }, *g)
                    .unwrap()
            })
            .sum();
        assert_eq!(row.cycles, expected, "{}", row.name);
        assert_eq!(row.ideal_cycles, layer.macs.div_ceil(4));
    }
    // Measured cycles replace the model's and the total says where they came from.
    let measured: Vec<LayerInput> = layers
        .into_iter()
        .map(|shape| LayerInput {
            shape,
            rtl_cycles: Some(1000),
            rtl_counters: None,
        })
        .collect();
    let report = Report::build(&spec, &measured, None).unwrap();
    assert_eq!(report.total.cycles, 2000);
    assert_eq!(report.total.rtl_cycles, Some(2000));
    assert_ne!(report.total.model_cycles, 2000);
}

#[test]
fn the_energy_section_of_a_config_changes_the_report() {
    let text = std::fs::read_to_string(repo().join("configs/tiny_core.yaml")).unwrap();
    let cheap = config::load_str(
        &format!("{text}energy:\n  dram_pj_per_64_bits: 0\n"),
        "cheap.yaml",
    )
    .unwrap();
    let layers = workload::from_topology_csv(
        &repo().join("../shared/workloads/mlperf_tiny/mlperf_tiny_ic_resnet8.csv"),
    )
    .unwrap();
    let base = Report::build(&spec("tiny_core.yaml"), &model_only(layers.clone()), None).unwrap();
    let free_dram = Report::build(&cheap, &model_only(layers), None).unwrap();
    assert!(base.global_buffer);
    assert!(base.total.energy_pj.dram_pj > 0.0);
    assert!(base.total.energy_pj.global_buffer_pj > 0.0);
    assert_eq!(free_dram.total.energy_pj.dram_pj, 0.0);
    assert_eq!(
        free_dram.total.energy_pj.mac_pj,
        base.total.energy_pj.mac_pj
    );
}
