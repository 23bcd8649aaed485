//! The golden model against real layers: every TFLite Micro bundle in shared/vectors must be
//! reproduced with zero mismatches, and broken bundles must be refused with an error that names the
//! file and the field.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use accelgen::golden::{
    self, compare, lowering, read_npy, write_npy, BundleError, LayerBundle, Tensor,
};

fn vectors_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors"))
}

/// Every `tflm/<model>/<layer>` directory, sorted so failures list in a stable order.
fn tflm_bundle_directories() -> Vec<PathBuf> {
    let tflm = vectors_root().join("tflm");
    let mut directories = Vec::new();
    let models = fs::read_dir(&tflm)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", tflm.display()));
    for model in models {
        let model = model.expect("readable directory entry").path();
        if !model.is_dir() {
            continue;
        }
        for layer in fs::read_dir(&model).expect("readable model directory") {
            let layer = layer.expect("readable directory entry").path();
            if layer.is_dir() {
                directories.push(layer);
            }
        }
    }
    directories.sort();
    directories
}

#[test]
fn golden_reproduces_every_tflm_bundle_with_zero_mismatches() {
    let directories = tflm_bundle_directories();
    assert!(
        directories.len() >= 20,
        "expected at least 20 bundles under {}, found {}",
        vectors_root().display(),
        directories.len()
    );
    let mut report = String::new();
    let mut failures = 0;
    let mut total_outputs = 0;
    for directory in &directories {
        let outcome = LayerBundle::load(directory)
            .map_err(|error| format!("load failed: {error}"))
            .and_then(|bundle| {
                let actual =
                    golden::run_layer(&bundle).map_err(|error| format!("run failed: {error}"))?;
                let expected = bundle
                    .expected
                    .as_ref()
                    .ok_or("the bundle has no expected output")?;
                compare(expected, &actual).map_err(|error| format!("cannot compare: {error}"))
            });
        match outcome {
            Ok(comparison) => {
                total_outputs += comparison.compared;
                writeln!(report, "{}: {}", directory.display(), comparison).unwrap();
                if !comparison.is_exact() {
                    failures += 1;
                }
            }
            Err(message) => {
                failures += 1;
                writeln!(report, "{}: {message}", directory.display()).unwrap();
            }
        }
    }
    assert_eq!(
        failures,
        0,
        "{failures} of {} bundles differ from the golden model:\n{report}",
        directories.len()
    );
    assert!(total_outputs > 0, "no outputs compared:\n{report}");
}

#[test]
fn every_tflm_layer_lowered_to_gemms_on_stored_values_reproduces_its_accumulators() {
    // What the PE arrays compute (A·B on the stored int8 values, zero points folded into the
    // bias) must equal the layer's accumulators bit for bit.
    for directory in tflm_bundle_directories() {
        let bundle = LayerBundle::load(&directory).unwrap();
        let bias = bundle.bias.as_deref();
        // Depthwise layers packed 8 channels per GEMM, as on an 8-column array.
        let lowered =
            lowering::lower_grouped(&bundle.params, &bundle.input, &bundle.weight, bias, 8)
                .unwrap_or_else(|e| panic!("{}: {e}", directory.display()));
        let products: Vec<_> = lowered
            .gemms
            .iter()
            .map(|g| golden::gemm::gemm(&g.a, &g.b, 32))
            .collect();
        let expected =
            golden::layer::accumulators(&bundle.params, &bundle.input, &bundle.weight, bias)
                .unwrap();
        let actual = lowered.accumulators(&products);
        let differing = expected
            .as_slice()
            .iter()
            .zip(&actual)
            .filter(|(e, a)| e != a)
            .count();
        assert_eq!(
            differing,
            0,
            "{}: {differing} accumulators differ",
            directory.display()
        );
    }
}

#[test]
fn onnx_requantization_of_every_tflm_layer_is_within_one_step_of_tflite() {
    // Same accumulators, fp32 multiplier and round-half-even instead of the Q31 double rounding:
    // the two may differ only where the scaled value lies within rounding error of a half.
    let mut report = String::new();
    for directory in tflm_bundle_directories() {
        let mut bundle = LayerBundle::load(&directory).unwrap();
        let tflite = golden::run_layer(&bundle).unwrap();
        bundle.params.requant = golden::RequantMode::Onnx;
        let onnx = golden::run_layer(&bundle).unwrap();
        let comparison = compare(&tflite, &onnx).unwrap();
        let largest_difference = tflite
            .as_slice()
            .iter()
            .zip(onnx.as_slice())
            .map(|(a, b)| (a - b).abs())
            .max()
            .unwrap_or(0);
        if largest_difference > 1 {
            writeln!(
                report,
                "{}: largest difference {largest_difference}; {comparison}",
                directory.display()
            )
            .unwrap();
        }
    }
    assert!(
        report.is_empty(),
        "ONNX and TFLite differ by more than 1:\n{report}"
    );
}

/// A bundle known to have bias, per-channel scales and real padding.
fn reference_bundle() -> PathBuf {
    vectors_root().join("tflm/kws_dscnn/op00_conv_2d")
}

/// Copies the reference bundle into a fresh temporary directory.
fn copy_of_reference_bundle() -> tempfile::TempDir {
    let temporary = tempfile::tempdir().expect("temporary directory");
    for entry in fs::read_dir(reference_bundle()).expect("reference bundle exists") {
        let path = entry.expect("directory entry").path();
        fs::copy(&path, temporary.path().join(path.file_name().unwrap())).expect("copy file");
    }
    temporary
}

/// Replaces exactly one occurrence of `from` in the bundle's layer.yaml.
fn edit_layer_yaml(directory: &Path, from: &str, to: &str) {
    let path = directory.join("layer.yaml");
    let text = fs::read_to_string(&path).expect("layer.yaml readable");
    assert_eq!(
        text.matches(from).count(),
        1,
        "the edit target {from:?} must occur exactly once in layer.yaml"
    );
    fs::write(&path, text.replacen(from, to, 1)).expect("layer.yaml writable");
}

/// Loads the bundle expecting failure; checks the message names `file` and every `fields` entry.
fn expect_load_error(directory: &Path, file: &str, fields: &[&str]) -> BundleError {
    let error = match LayerBundle::load(directory) {
        Ok(_) => panic!(
            "the broken bundle loaded without error; expected one naming {file} and {fields:?}"
        ),
        Err(error) => error,
    };
    let message = error.to_string();
    assert!(
        message.contains(file),
        "error does not name the file {file}: {message}"
    );
    for field in fields {
        assert!(
            message.contains(field),
            "error does not name the field {field}: {message}"
        );
    }
    error
}

#[test]
fn unmodified_copy_of_reference_bundle_loads() {
    let bundle = copy_of_reference_bundle();
    let loaded = LayerBundle::load(bundle.path()).expect("the unmodified copy must load");
    assert_eq!(loaded.output_shape, vec![1, 25, 5, 64]);
}

#[test]
fn bundle_missing_its_weight_file_names_the_file_and_field() {
    let bundle = copy_of_reference_bundle();
    fs::remove_file(bundle.path().join("weight.npy")).unwrap();
    let error = expect_load_error(bundle.path(), "weight.npy", &["files.weight"]);
    assert!(
        matches!(error, BundleError::MissingFile { .. }),
        "{error:?}"
    );
}

#[test]
fn bundle_missing_layer_yaml_names_it() {
    let bundle = copy_of_reference_bundle();
    fs::remove_file(bundle.path().join("layer.yaml")).unwrap();
    let error = expect_load_error(bundle.path(), "layer.yaml", &[]);
    assert!(
        matches!(error, BundleError::MissingLayerYaml { .. }),
        "{error:?}"
    );
}

#[test]
fn bundle_whose_npy_dtype_differs_from_yaml_names_the_file_and_dtype_field() {
    let bundle = copy_of_reference_bundle();
    // Rewrite input.npy with the same values as int32.
    let input = read_npy(&bundle.path().join("input.npy")).unwrap();
    let widened = Tensor::new(golden::Dtype::Int32, input.values().clone()).unwrap();
    write_npy(&bundle.path().join("input.npy"), &widened).unwrap();
    let error = expect_load_error(
        bundle.path(),
        "input.npy",
        &["input.dtype", "int32", "int8"],
    );
    assert!(matches!(error, BundleError::NpyDtype { .. }), "{error:?}");
}

#[test]
fn bundle_whose_yaml_dtype_differs_from_npy_names_the_file_and_dtype_field() {
    let bundle = copy_of_reference_bundle();
    edit_layer_yaml(
        bundle.path(),
        "dtype: int8, layout: OHWI",
        "dtype: uint8, layout: OHWI",
    );
    let error = expect_load_error(bundle.path(), "weight.npy", &["weight.dtype", "uint8"]);
    assert!(matches!(error, BundleError::NpyDtype { .. }), "{error:?}");
}

#[test]
fn bundle_with_unknown_dtype_names_the_field() {
    let bundle = copy_of_reference_bundle();
    edit_layer_yaml(
        bundle.path(),
        "dtype: int8, layout: OHWI",
        "dtype: int4, layout: OHWI",
    );
    let error = expect_load_error(bundle.path(), "layer.yaml", &["weight.dtype", "int4"]);
    assert!(
        matches!(error, BundleError::Unsupported { .. }),
        "{error:?}"
    );
}

#[test]
fn bundle_whose_yaml_shape_differs_from_npy_names_the_file_and_shape_field() {
    let bundle = copy_of_reference_bundle();
    // A consistent layer (50 rows still give (50 + 9 − 10) / 2 + 1 = 25 output rows) whose
    // input.npy, 49 rows high, no longer fits.
    edit_layer_yaml(
        bundle.path(),
        "shape: [1, 49, 10, 1]",
        "shape: [1, 50, 10, 1]",
    );
    let error = expect_load_error(
        bundle.path(),
        "input.npy",
        &["input.shape", "[1, 50, 10, 1]"],
    );
    assert!(matches!(error, BundleError::NpyShape { .. }), "{error:?}");
}

#[test]
fn bundle_whose_output_shape_disagrees_with_the_layer_names_output_shape() {
    let bundle = copy_of_reference_bundle();
    edit_layer_yaml(
        bundle.path(),
        "output: {shape: [1, 25, 5, 64]",
        "output: {shape: [1, 25, 6, 64]",
    );
    let error = expect_load_error(bundle.path(), "layer.yaml", &["output.shape"]);
    assert!(
        matches!(error, BundleError::DeclaredShape { .. }),
        "{error:?}"
    );
}

#[test]
fn bundle_whose_weight_channels_disagree_with_input_names_both_shapes() {
    let bundle = copy_of_reference_bundle();
    edit_layer_yaml(
        bundle.path(),
        "shape: [1, 49, 10, 1]",
        "shape: [1, 49, 10, 3]",
    );
    expect_load_error(
        bundle.path(),
        "layer.yaml",
        &["weight.shape", "input.shape"],
    );
}

#[test]
fn bundle_with_padding_larger_than_the_kernel_names_padding() {
    let bundle = copy_of_reference_bundle();
    // The kernel is 10 × 4; a left border of 4 would give outputs that read only padding.
    edit_layer_yaml(
        bundle.path(),
        "padding: [4, 5, 1, 1]",
        "padding: [4, 5, 4, 1]",
    );
    let error = expect_load_error(bundle.path(), "layer.yaml", &["padding", "left"]);
    assert!(
        matches!(
            error,
            BundleError::Layer {
                source: golden::LayerError::PaddingLargerThanKernel { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn bundle_with_unsupported_op_names_op() {
    let bundle = copy_of_reference_bundle();
    edit_layer_yaml(bundle.path(), "op: conv2d", "op: pooling");
    let error = expect_load_error(bundle.path(), "layer.yaml", &["`op`", "pooling"]);
    assert!(
        matches!(error, BundleError::Unsupported { .. }),
        "{error:?}"
    );
}

#[test]
fn bundle_with_unknown_requant_mode_names_requant() {
    let bundle = copy_of_reference_bundle();
    edit_layer_yaml(bundle.path(), "requant: tflite", "requant: fixed_point");
    let error = expect_load_error(bundle.path(), "layer.yaml", &["`requant`", "fixed_point"]);
    assert!(
        matches!(error, BundleError::Unsupported { .. }),
        "{error:?}"
    );
}

#[test]
fn bundle_with_per_channel_list_of_wrong_length_names_the_field() {
    let bundle = copy_of_reference_bundle();
    // Two zero points for 64 output channels.
    edit_layer_yaml(bundle.path(), "], zero_point: 0}", "], zero_point: [0, 0]}");
    let error = expect_load_error(bundle.path(), "layer.yaml", &["weight.zero_point", "64"]);
    assert!(
        matches!(
            error,
            BundleError::Layer {
                source: golden::LayerError::PerChannelLength { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn bundle_with_an_unknown_key_is_refused_by_the_yaml_parser() {
    let bundle = copy_of_reference_bundle();
    edit_layer_yaml(
        bundle.path(),
        "requant: tflite",
        "requant: tflite\ngroups: 1",
    );
    let error = expect_load_error(bundle.path(), "layer.yaml", &["groups"]);
    assert!(matches!(error, BundleError::Yaml { .. }), "{error:?}");
}

#[test]
fn bundle_with_raw_accumulators_matches_the_requantized_layer_before_requantization() {
    let bundle = copy_of_reference_bundle();
    // Turn the layer into ONNX ConvInteger: no output quantization, int32 output, no expected file.
    let path = bundle.path().join("layer.yaml");
    let text = fs::read_to_string(&path).unwrap();
    let text = text
        .replace(
            "output: {shape: [1, 25, 5, 64], dtype: int8, scale: 0.07872539758682251, zero_point: -128}",
            "output: {shape: [1, 25, 5, 64], dtype: int32}",
        )
        .replace("activation: {min: -128, max: 127}\n", "")
        .replace("requant: tflite", "requant: none")
        .replace(", expected: expected.npy}", "}");
    fs::write(&path, text).unwrap();
    let raw = LayerBundle::load(bundle.path()).expect("the raw-accumulator bundle loads");
    let accumulators = golden::run_layer(&raw).unwrap();
    assert_eq!(accumulators.dtype(), golden::Dtype::Int32);

    let requantized = LayerBundle::load(&reference_bundle()).unwrap();
    let direct = golden::layer::accumulators(
        &requantized.params,
        &requantized.input,
        &requantized.weight,
        requantized.bias.as_deref(),
    )
    .unwrap();
    let comparison = compare(&direct, &accumulators).unwrap();
    assert!(comparison.is_exact(), "{comparison}");
}

#[test]
fn raw_accumulator_bundle_with_a_clamp_is_refused() {
    let bundle = copy_of_reference_bundle();
    edit_layer_yaml(bundle.path(), "requant: tflite", "requant: none");
    let error = expect_load_error(
        bundle.path(),
        "layer.yaml",
        &["activation", "requant: none"],
    );
    assert!(
        matches!(error, BundleError::UnexpectedField { .. }),
        "{error:?}"
    );
}

#[test]
fn written_npy_reads_back_identically_for_every_dtype() {
    let directory = tempfile::tempdir().unwrap();
    for (dtype, values) in [
        (golden::Dtype::Int8, vec![-128, -1, 0, 1, 127, 5]),
        (golden::Dtype::Uint8, vec![0, 1, 128, 255, 7, 9]),
        (
            golden::Dtype::Int32,
            vec![i32::MIN, -1, 0, 1, i32::MAX, 123456],
        ),
    ] {
        let tensor = Tensor::from_vec(dtype, &[2, 3], values).unwrap();
        let path = directory.path().join(format!("{dtype}.npy"));
        write_npy(&path, &tensor).unwrap();
        let read_back = read_npy(&path).unwrap();
        assert_eq!(read_back, tensor, "dtype {dtype}");
    }
}
