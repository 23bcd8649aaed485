//! Layer bundles: one layer in a directory (`layer.yaml` plus `.npy` tensors), loaded and validated.
//!
//! The schema is `shared/vectors/README.md` (`format: accelgen-layer/1`). Loading goes
//! raw serde structs (mirroring the YAML, unknown keys rejected) → checked names (op, dtypes,
//! layout, requant) → [`LayerParams`] checked against the declared shapes → each `.npy` checked
//! against its declaration. Every error names the file and the field it concerns.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::golden::layer::{
    ActivationRange, ConvGeometry, LayerError, LayerOp, LayerParams, OutputQuantization, Padding,
    PerChannel,
};
use crate::golden::requant::RequantMode;
use crate::golden::tensor::{read_npy, Dtype, NpyError, Tensor};

/// The only format this loader reads.
pub const BUNDLE_FORMAT: &str = "accelgen-layer/1";

/// The description file every bundle directory holds.
pub const LAYER_YAML: &str = "layer.yaml";

/// A number or a list of numbers (per tensor or per output channel).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawPerChannel<T> {
    One(T),
    List(Vec<T>),
}

impl<T> From<RawPerChannel<T>> for PerChannel<T> {
    fn from(raw: RawPerChannel<T>) -> PerChannel<T> {
        match raw {
            RawPerChannel::One(value) => PerChannel::PerTensor(value),
            RawPerChannel::List(values) => PerChannel::PerChannel(values),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    shape: Vec<usize>,
    dtype: String,
    scale: Option<f64>,
    zero_point: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeight {
    shape: Vec<usize>,
    dtype: String,
    layout: String,
    scale: Option<RawPerChannel<f64>>,
    zero_point: RawPerChannel<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBias {
    shape: Vec<usize>,
    dtype: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    shape: Vec<usize>,
    dtype: String,
    scale: Option<f64>,
    zero_point: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActivation {
    min: i32,
    max: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFiles {
    input: String,
    weight: String,
    bias: Option<String>,
    expected: Option<String>,
}

/// `layer.yaml` exactly as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    format: String,
    name: String,
    source: Option<String>,
    op: String,
    input: RawInput,
    weight: RawWeight,
    bias: Option<RawBias>,
    output: RawOutput,
    stride: Option<[usize; 2]>,
    dilation: Option<[usize; 2]>,
    padding: Option<[usize; 4]>,
    activation: Option<RawActivation>,
    requant: String,
    files: RawFiles,
}

/// A bundle that cannot be loaded; every variant names the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{}: missing; a layer bundle directory must contain {LAYER_YAML}", .file.display())]
    MissingLayerYaml { file: PathBuf },
    #[error("{}: cannot read: {source}", .file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", .file.display())]
    Yaml {
        file: PathBuf,
        // Boxed: the parser's error (with its source snippet) is large and rare.
        source: Box<serde_saphyr::Error>,
    },
    #[error("{}: `{field}` = {value:?} is not supported; expected {expected}", .file.display())]
    Unsupported {
        file: PathBuf,
        field: &'static str,
        value: String,
        expected: String,
    },
    #[error("{}: `{field}` is required {reason}", .file.display())]
    MissingField {
        file: PathBuf,
        field: &'static str,
        reason: String,
    },
    #[error("{}: `{field}` must be absent {reason}", .file.display())]
    UnexpectedField {
        file: PathBuf,
        field: &'static str,
        reason: String,
    },
    #[error("{}: {source}", .file.display())]
    Layer { file: PathBuf, source: LayerError },
    #[error("{}: `{field}` = {declared:?} but the layer computes {computed:?}", .file.display())]
    DeclaredShape {
        file: PathBuf,
        field: &'static str,
        declared: Vec<usize>,
        computed: Vec<usize>,
    },
    #[error("{}: `{field}` = {declared} but the layer produces {computed}", .file.display())]
    DeclaredDtype {
        file: PathBuf,
        field: &'static str,
        declared: Dtype,
        computed: Dtype,
    },
    #[error("{}: missing (named by `{field}` in {LAYER_YAML})", .file.display())]
    MissingFile { file: PathBuf, field: String },
    #[error("{source} (the file of `{field}`)")]
    Npy { field: String, source: NpyError },
    #[error("{}: dtype is {found}, but `{field}` in {LAYER_YAML} says {declared}", .file.display())]
    NpyDtype {
        file: PathBuf,
        field: String,
        declared: Dtype,
        found: Dtype,
    },
    #[error("{}: shape is {found:?}, but `{field}` in {LAYER_YAML} says {declared:?}", .file.display())]
    NpyShape {
        file: PathBuf,
        field: String,
        declared: Vec<usize>,
        found: Vec<usize>,
    },
}

/// One loaded, validated layer: everything the golden model and the RTL need to run it.
#[derive(Debug, Clone)]
pub struct LayerBundle {
    pub name: String,
    /// Where the layer came from (free text), when the bundle says.
    pub source: Option<String>,
    pub directory: PathBuf,
    pub params: LayerParams,
    pub input: Tensor,
    pub weight: Tensor,
    /// One per output channel; absent means zero.
    pub bias: Option<Vec<i32>>,
    /// The reference output, when the bundle has one.
    pub expected: Option<Tensor>,
    /// The output shape the layer computes (and `output.shape` declares).
    pub output_shape: Vec<usize>,
    pub output_dtype: Dtype,
}

/// Parses a dtype name found at `field`.
fn parse_dtype(file: &Path, field: &'static str, name: &str) -> Result<Dtype, BundleError> {
    Dtype::from_name(name).ok_or_else(|| BundleError::Unsupported {
        file: file.to_path_buf(),
        field,
        value: name.to_string(),
        expected: "int8, uint8 or int32".to_string(),
    })
}

/// Reads one `.npy` named by `files.<role>` and checks it against the declared dtype and shape.
fn load_tensor(
    directory: &Path,
    role: &str,
    file_name: &str,
    declared_field: &str,
    declared_dtype: Dtype,
    declared_shape: &[usize],
) -> Result<Tensor, BundleError> {
    let file = directory.join(file_name);
    let files_field = format!("files.{role}");
    if !file.is_file() {
        return Err(BundleError::MissingFile {
            file,
            field: files_field,
        });
    }
    let tensor = read_npy(&file).map_err(|source| BundleError::Npy {
        field: files_field,
        source,
    })?;
    if tensor.dtype() != declared_dtype {
        return Err(BundleError::NpyDtype {
            file,
            field: format!("{declared_field}.dtype"),
            declared: declared_dtype,
            found: tensor.dtype(),
        });
    }
    if tensor.shape() != declared_shape {
        return Err(BundleError::NpyShape {
            file,
            field: format!("{declared_field}.shape"),
            declared: declared_shape.to_vec(),
            found: tensor.shape().to_vec(),
        });
    }
    Ok(tensor)
}

impl LayerBundle {
    /// Loads and validates the bundle in `directory`.
    pub fn load(directory: &Path) -> Result<LayerBundle, BundleError> {
        let yaml_file = directory.join(LAYER_YAML);
        if !yaml_file.is_file() {
            return Err(BundleError::MissingLayerYaml { file: yaml_file });
        }
        let text = std::fs::read_to_string(&yaml_file).map_err(|source| BundleError::Io {
            file: yaml_file.clone(),
            source,
        })?;
        let raw: RawLayer = serde_saphyr::from_str(&text).map_err(|source| BundleError::Yaml {
            file: yaml_file.clone(),
            source: Box::new(source),
        })?;
        let file = yaml_file.as_path();

        if raw.format != BUNDLE_FORMAT {
            return Err(BundleError::Unsupported {
                file: file.to_path_buf(),
                field: "format",
                value: raw.format,
                expected: BUNDLE_FORMAT.to_string(),
            });
        }
        let op = parse_op(file, &raw)?;
        let requant =
            RequantMode::from_name(&raw.requant).ok_or_else(|| BundleError::Unsupported {
                file: file.to_path_buf(),
                field: "requant",
                value: raw.requant.clone(),
                expected: "tflite, onnx or none".to_string(),
            })?;
        let input_dtype = parse_dtype(file, "input.dtype", &raw.input.dtype)?;
        let weight_dtype = parse_dtype(file, "weight.dtype", &raw.weight.dtype)?;
        let output_dtype = parse_dtype(file, "output.dtype", &raw.output.dtype)?;
        if raw.weight.layout != op.weight_layout() {
            return Err(BundleError::Unsupported {
                file: file.to_path_buf(),
                field: "weight.layout",
                value: raw.weight.layout.clone(),
                expected: format!("{} for {}", op.weight_layout(), op.name()),
            });
        }
        let bias_declaration = match (&raw.bias, &raw.files.bias) {
            (Some(bias), Some(file_name)) => {
                let dtype = parse_dtype(file, "bias.dtype", &bias.dtype)?;
                if dtype != Dtype::Int32 {
                    return Err(BundleError::Unsupported {
                        file: file.to_path_buf(),
                        field: "bias.dtype",
                        value: bias.dtype.clone(),
                        expected: "int32".to_string(),
                    });
                }
                Some((bias.shape.clone(), file_name.clone()))
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(BundleError::MissingField {
                    file: file.to_path_buf(),
                    field: "files.bias",
                    reason: "when `bias` is declared".to_string(),
                })
            }
            (None, Some(_)) => {
                return Err(BundleError::MissingField {
                    file: file.to_path_buf(),
                    field: "bias",
                    reason: "when `files.bias` names a file".to_string(),
                })
            }
        };
        if let Some((shape, _)) = &bias_declaration {
            if shape.len() != 1 {
                return Err(BundleError::Layer {
                    file: file.to_path_buf(),
                    source: LayerError::Rank {
                        field: "bias.shape",
                        shape: shape.clone(),
                        expected_rank: 1,
                        layout: "[C_out]",
                        op: op.name(),
                    },
                });
            }
        }
        let output = output_quantization(file, &raw, requant, output_dtype)?;
        let params = LayerParams {
            op,
            input_zero_point: raw.input.zero_point,
            weight_zero_point: raw.weight.zero_point.clone().into(),
            requant,
            output,
        };
        let layer_shape = params
            .check(
                &raw.input.shape,
                input_dtype,
                &raw.weight.shape,
                weight_dtype,
                bias_declaration.as_ref().map(|(shape, _)| shape[0]),
            )
            .map_err(|source| BundleError::Layer {
                file: file.to_path_buf(),
                source,
            })?;
        if raw.output.shape != layer_shape.output_shape {
            return Err(BundleError::DeclaredShape {
                file: file.to_path_buf(),
                field: "output.shape",
                declared: raw.output.shape.clone(),
                computed: layer_shape.output_shape,
            });
        }
        if output_dtype != layer_shape.output_dtype {
            return Err(BundleError::DeclaredDtype {
                file: file.to_path_buf(),
                field: "output.dtype",
                declared: output_dtype,
                computed: layer_shape.output_dtype,
            });
        }

        let input = load_tensor(
            directory,
            "input",
            &raw.files.input,
            "input",
            input_dtype,
            &raw.input.shape,
        )?;
        let weight = load_tensor(
            directory,
            "weight",
            &raw.files.weight,
            "weight",
            weight_dtype,
            &raw.weight.shape,
        )?;
        let bias = match &bias_declaration {
            Some((shape, file_name)) => Some(
                load_tensor(directory, "bias", file_name, "bias", Dtype::Int32, shape)?
                    .as_slice()
                    .to_vec(),
            ),
            None => None,
        };
        let expected = match &raw.files.expected {
            Some(file_name) => Some(load_tensor(
                directory,
                "expected",
                file_name,
                "output",
                output_dtype,
                &raw.output.shape,
            )?),
            None => None,
        };
        Ok(LayerBundle {
            name: raw.name,
            source: raw.source,
            directory: directory.to_path_buf(),
            params,
            input,
            weight,
            bias,
            expected,
            output_shape: layer_shape.output_shape,
            output_dtype,
        })
    }
}

/// The op with its geometry; convolutions need `stride`, `dilation` and `padding`, fully connected
/// layers must not have them.
fn parse_op(file: &Path, raw: &RawLayer) -> Result<LayerOp, BundleError> {
    let geometry = || -> Result<ConvGeometry, BundleError> {
        let required = |field: &'static str| BundleError::MissingField {
            file: file.to_path_buf(),
            field,
            reason: format!("for op {}", raw.op),
        };
        let stride = raw.stride.ok_or_else(|| required("stride"))?;
        let dilation = raw.dilation.ok_or_else(|| required("dilation"))?;
        let [top, bottom, left, right] = raw.padding.ok_or_else(|| required("padding"))?;
        Ok(ConvGeometry {
            stride,
            dilation,
            padding: Padding {
                top,
                bottom,
                left,
                right,
            },
        })
    };
    match raw.op.as_str() {
        "conv2d" => Ok(LayerOp::Conv2d(geometry()?)),
        "depthwise_conv2d" => Ok(LayerOp::DepthwiseConv2d(geometry()?)),
        "fully_connected" => {
            for (field, present) in [
                ("stride", raw.stride.is_some()),
                ("dilation", raw.dilation.is_some()),
                ("padding", raw.padding.is_some()),
            ] {
                if present {
                    return Err(BundleError::UnexpectedField {
                        file: file.to_path_buf(),
                        field,
                        reason: "for op fully_connected (it has no sliding window)".to_string(),
                    });
                }
            }
            Ok(LayerOp::FullyConnected)
        }
        other => Err(BundleError::Unsupported {
            file: file.to_path_buf(),
            field: "op",
            value: other.to_string(),
            expected: "conv2d, depthwise_conv2d or fully_connected".to_string(),
        }),
    }
}

/// The output quantization for requantizing modes (every part required) or `None` for raw
/// accumulators (no clamp allowed: ConvInteger / MatMulInteger have none).
fn output_quantization(
    file: &Path,
    raw: &RawLayer,
    requant: RequantMode,
    output_dtype: Dtype,
) -> Result<Option<OutputQuantization>, BundleError> {
    if requant == RequantMode::None {
        if raw.activation.is_some() {
            return Err(BundleError::UnexpectedField {
                file: file.to_path_buf(),
                field: "activation",
                reason: "with `requant: none` (raw int32 accumulators are not clamped)".to_string(),
            });
        }
        return Ok(None);
    }
    let required = |field: &'static str| BundleError::MissingField {
        file: file.to_path_buf(),
        field,
        reason: format!("with `requant: {}`", requant.name()),
    };
    let activation = raw
        .activation
        .as_ref()
        .ok_or_else(|| required("activation"))?;
    Ok(Some(OutputQuantization {
        input_scale: raw.input.scale.ok_or_else(|| required("input.scale"))?,
        weight_scale: raw
            .weight
            .scale
            .clone()
            .ok_or_else(|| required("weight.scale"))?
            .into(),
        output_scale: raw.output.scale.ok_or_else(|| required("output.scale"))?,
        output_zero_point: raw
            .output
            .zero_point
            .ok_or_else(|| required("output.zero_point"))?,
        output_dtype,
        activation: ActivationRange {
            min: activation.min,
            max: activation.max,
        },
    }))
}
