//! The layers a report covers, as GEMM shapes: from layer bundles (lowered exactly as the RTL runs
//! them, `golden::lowering::lower_with`, weight zero points in the weights) or from a SCALE-Sim topology CSV.
//!
//! SCALE-Sim topologies come in two formats, told apart by the header:
//! - convolutions, `Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
//!   Num Filter, Strides,`: one GEMM per layer as SCALE-Sim lowers it, M = E_h·E_w output pixels,
//!   K = R·S·C, N = filters, with **no padding**: E = (H − R)/stride + 1 (integer division), as
//!   SCALE-Sim computes it. Topologies that model 'same' padding carry it in their IFMAP sizes
//!   (mlperf_tiny's resnet8 gives 34×34 for a padded 32×32 input); nothing is added here. Like
//!   SCALE-Sim, a row with one filter over C channels (its way of writing a depthwise layer) is a
//!   C-deep reduction into one column.
//! - GEMMs, `Layer, M, N, K,`: one GEMM per row.
//!
//! A convolution also keeps its geometry ([`LayerShape::conv`]) so the core may run it in window
//! mode (`report::schedule::layer_plans`): a SCALE-Sim conv row (unpadded, stride on both axes,
//! batch 1), a bundle's conv2d with batch 1, and its depthwise conv2d with batch 1 and channel
//! multiplier 1.
//!
//! Trailing commas and spaces around fields are ignored.

use std::path::{Path, PathBuf};

use crate::blocks::gemm_core::ConvLayer;
use crate::golden::cycles::GemmShape;
use crate::golden::dma::{Outputs, RunSettings};
use crate::golden::layer::conv_dims;
use crate::golden::zero_skip::ZeroMap;
use crate::golden::{lowering, Dtype, LayerBundle, LayerOp};

/// One layer as the GEMMs the hardware runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerShape {
    pub name: String,
    /// `conv2d`, `depthwise_conv2d`, `fully_connected` (bundles) or `conv`, `gemm` (CSV).
    pub op: String,
    pub gemms: Vec<GemmShape>,
    /// The layer's own MACs: taps in the padding are not counted (bundles); M·K·N (CSV).
    pub macs: u64,
    /// How its results are stored: bytes for int8/uint8 outputs (CSV layers are int8), 32-bit
    /// words for raw int32 ones; and the range of its stored activations (bundles only).
    pub settings: RunSettings,
    /// The convolution the GEMMs lower, when the core could run it in window mode; `None` for
    /// other layers and convolutions it cannot (batch above 1, depthwise channel multipliers).
    pub conv: Option<ConvLayer>,
    /// Where each GEMM's activations are not the input zero point and its weights are not
    /// zero (bundles only; empty for CSV layers, which a zero-skipping core's model then runs
    /// dense).
    pub zeros: Vec<ZeroMap>,
}

/// Why a workload could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum WorkloadError {
    #[error("cannot read {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Csv {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("layer bundle {}: {message}", path.display())]
    Bundle { path: PathBuf, message: String },
}

/// Reads a SCALE-Sim topology CSV (either format).
pub fn from_topology_csv(path: &Path) -> Result<Vec<LayerShape>, WorkloadError> {
    let text = std::fs::read_to_string(path).map_err(|error| WorkloadError::Io {
        path: path.to_owned(),
        error,
    })?;
    parse_topology(&text, path)
}

/// [`from_topology_csv`] on text already read; `path` names it in errors.
pub fn parse_topology(text: &str, path: &Path) -> Result<Vec<LayerShape>, WorkloadError> {
    let error = |line: usize, message: String| WorkloadError::Csv {
        path: path.to_owned(),
        line,
        message,
    };
    let mut rows = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, fields(line)))
        .filter(|(_, fields)| !fields.is_empty());
    let Some((_, header)) = rows.next() else {
        return Err(error(1, "the file is empty".into()));
    };
    let header: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
    let gemm_format = header.len() == 4 && header[1..] == ["m", "n", "k"];
    let conv_format = header.len() == 8 && header[1] == "ifmap height";
    if !gemm_format && !conv_format {
        return Err(error(
            1,
            format!(
                "unknown header `{}`; expected SCALE-Sim's `Layer name, IFMAP Height, IFMAP \
                 Width, Filter Height, Filter Width, Channels, Num Filter, Strides,` or \
                 `Layer, M, N, K,`",
                header.join(", ")
            ),
        ));
    }
    let mut layers = Vec::new();
    for (line, row) in rows {
        let expected = header.len();
        if row.len() != expected {
            return Err(error(
                line,
                format!("{} fields, expected {expected}", row.len()),
            ));
        }
        let mut numbers = Vec::with_capacity(expected - 1);
        for (name, value) in header[1..].iter().zip(&row[1..]) {
            match value.parse::<u64>() {
                Ok(number) if number > 0 => numbers.push(number),
                _ => {
                    return Err(error(
                        line,
                        format!("`{name}` = `{value}` is not a positive integer"),
                    ))
                }
            }
        }
        let name = row[0].clone();
        let (gemm, conv) = if gemm_format {
            let gemm = GemmShape {
                m: numbers[0],
                n: numbers[1],
                k: numbers[2],
            };
            (gemm, None)
        } else {
            let [height, width, filter_h, filter_w, channels, filters, stride] = numbers[..] else {
                unreachable!("eight fields checked above")
            };
            if filter_h > height || filter_w > width {
                return Err(error(
                    line,
                    format!(
                        "the {filter_h}×{filter_w} filter is larger than the {height}×{width} \
                         input (SCALE-Sim topologies carry no padding)"
                    ),
                ));
            }
            let out = |size: u64, filter: u64| (size - filter) / stride + 1;
            let gemm = GemmShape {
                m: out(height, filter_h) * out(width, filter_w),
                k: filter_h * filter_w * channels,
                n: filters,
            };
            let size = |value: u64| value as usize;
            let conv = ConvLayer {
                input: [size(height), size(width), size(channels)],
                output: [size(out(height, filter_h)), size(out(width, filter_w))],
                channels: size(filters),
                kernel: [size(filter_h), size(filter_w)],
                stride: [size(stride); 2],
                dilation: [1, 1],
                pad: [0, 0],
                depthwise: false,
            };
            (gemm, Some(conv))
        };
        layers.push(LayerShape {
            name,
            op: if gemm_format { "gemm" } else { "conv" }.to_owned(),
            gemms: vec![gemm],
            macs: gemm.macs(),
            settings: RunSettings::storing(Outputs::Bytes),
            conv,
            zeros: Vec::new(),
        });
    }
    Ok(layers)
}

/// A CSV line's fields, trimmed, without the empty one a trailing comma leaves.
fn fields(line: &str) -> Vec<String> {
    let mut fields: Vec<String> = line.split(',').map(|f| f.trim().to_owned()).collect();
    while fields.last().is_some_and(|f| f.is_empty()) {
        fields.pop();
    }
    fields
}

/// Loads a layer bundle and lowers it to the GEMMs the array runs: depthwise channels in groups
/// of `depthwise_group` (the array's columns, as `accelgen_tb::layer` lowers them), one
/// block-diagonal GEMM per group.
pub fn from_bundle(directory: &Path, depthwise_group: usize) -> Result<LayerShape, WorkloadError> {
    let bundle_error = |message: String| WorkloadError::Bundle {
        path: directory.to_owned(),
        message,
    };
    let bundle = LayerBundle::load(directory).map_err(|e| bundle_error(e.to_string()))?;
    // The weight zero points folded into B, as the buffered core's host sends it
    // (`tb::layer`): a skipping or gating core's zero map must see the weights it gets. The
    // shapes and the activations are the same either way.
    let lowered = lowering::lower_with(
        &bundle.params,
        &bundle.input,
        &bundle.weight,
        bundle.bias.as_deref(),
        depthwise_group,
        lowering::WeightZeroPoints::InWeights,
    )
    .map_err(|e| bundle_error(e.to_string()))?;
    let gemms = lowered
        .gemms
        .iter()
        .map(|g| GemmShape {
            m: g.a.nrows() as u64,
            k: g.a.ncols() as u64,
            n: g.b.ncols() as u64,
        })
        .collect();
    let act_range = lowered.act_range();
    let zero_point = i64::from(bundle.params.input_zero_point);
    let zeros = lowered
        .gemms
        .iter()
        // A gating core gates on the (folded) weights it gets, and a weight-skipping core drops
        // the steps at which they are all zero.
        .map(|gemm| ZeroMap::of(&gemm.a, zero_point).with_weights(&gemm.b))
        .collect();
    Ok(LayerShape {
        name: bundle.name.clone(),
        op: bundle.params.op.name().to_owned(),
        gemms,
        macs: lowered.layer_macs,
        settings: RunSettings {
            outputs: match bundle.output_dtype {
                Dtype::Int32 => Outputs::Words,
                Dtype::Int8 | Dtype::Uint8 => Outputs::Bytes,
            },
            act_range,
        },
        conv: conv_layer(&bundle),
        zeros,
    })
}

/// The bundle's layer as the window-mode core runs it: a conv2d with batch 1, or a depthwise
/// conv2d with batch 1 and channel multiplier 1; `None` otherwise.
pub fn conv_layer(bundle: &LayerBundle) -> Option<ConvLayer> {
    let op = &bundle.params.op;
    let (geometry, depthwise) = match op {
        LayerOp::Conv2d(geometry) => (geometry, false),
        LayerOp::DepthwiseConv2d(geometry) => (geometry, true),
        LayerOp::FullyConnected => return None,
    };
    let dims = conv_dims(op, geometry, bundle.input.shape(), bundle.weight.shape()).ok()?;
    let multiplier_one = dims.output_channels == dims.input_channels;
    if dims.batch != 1 || (depthwise && !multiplier_one) {
        return None;
    }
    Some(ConvLayer {
        input: [dims.input_height, dims.input_width, dims.input_channels],
        output: [dims.output_height, dims.output_width],
        channels: dims.output_channels,
        kernel: [dims.kernel_height, dims.kernel_width],
        stride: geometry.stride,
        dilation: geometry.dilation,
        pad: [geometry.padding.top, geometry.padding.left],
        depthwise,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundles_zero_map_marks_the_weights_equal_to_their_zero_point_as_the_core_gets_them() {
        // resnet8/op06 (a 1×1 conv, so B is the weight tensor) with weight zero point 3: the
        // core's host folds it into B (`w − 3`), so a skipping or gating core sees a zero
        // exactly where a stored weight is 3, not where it is 0.
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/vectors/tflm/resnet8/op06_conv_2d");
        let scratch = tempfile::tempdir().unwrap();
        for file in [
            "layer.yaml",
            "input.npy",
            "weight.npy",
            "bias.npy",
            "expected.npy",
        ] {
            std::fs::copy(source.join(file), scratch.path().join(file)).unwrap();
        }
        let yaml = scratch.path().join("layer.yaml");
        let text = std::fs::read_to_string(&yaml).unwrap();
        let weight_line = text.lines().find(|l| l.starts_with("weight:")).unwrap();
        assert!(weight_line.ends_with("zero_point: 0}"), "{weight_line}");
        let shifted = weight_line.replace("zero_point: 0}", "zero_point: 3}");
        std::fs::write(&yaml, text.replace(weight_line, &shifted)).unwrap();

        let shape = from_bundle(scratch.path(), 8).unwrap();
        let bundle = LayerBundle::load(scratch.path()).unwrap();
        // OHWI [32, 1, 1, 16]: B[k][n] is weight n·16 + k.
        let stored = bundle.weight.as_slice();
        let kept = |zero: i32| -> Vec<Vec<usize>> {
            (0..32)
                .map(|n| {
                    let mut steps = vec![0];
                    steps.extend((1..16).filter(|&k| stored[n * 16 + k] != zero));
                    steps
                })
                .collect()
        };
        // Folds of one column: each column's steps with a non-zero weight (and step 0).
        let kept_steps = shape.zeros[0].kept_steps(0..16, 0..32, 1).unwrap();
        assert_eq!(kept_steps, kept(3));
        assert_ne!(kept(3), kept(0), "the layer must tell the two apart");
    }

    #[test]
    fn conv_rows_become_gemms_without_padding() {
        let text = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides, \n\
                    Conv1,224,224,7,7,3,64,2,\n\
                    \n\
                    DW,  27, 7,    3, 3,      64,      1,     1,\n";
        let layers = parse_topology(text, Path::new("t.csv")).unwrap();
        // (224 − 7)/2 + 1 = 109 per axis.
        assert_eq!(
            layers[0].gemms,
            vec![GemmShape {
                m: 109 * 109,
                k: 147,
                n: 64
            }]
        );
        assert_eq!(layers[0].macs, 109 * 109 * 147 * 64);
        let conv = layers[0].conv.unwrap();
        assert_eq!(
            (conv.input, conv.output, conv.channels),
            ([224, 224, 3], [109, 109], 64)
        );
        assert_eq!(
            (conv.kernel, conv.stride, conv.pad),
            ([7, 7], [2, 2], [0, 0])
        );
        assert_eq!(layers[1].name, "DW");
        assert_eq!(
            layers[1].gemms,
            vec![GemmShape {
                m: 25 * 5,
                k: 576,
                n: 1
            }]
        );
    }

    #[test]
    fn gemm_rows_are_m_n_k() {
        let text = "Layer,M,N,K,\n1,256,128,2048,\n";
        let layers = parse_topology(text, Path::new("t.csv")).unwrap();
        assert_eq!(
            layers[0].gemms,
            vec![GemmShape {
                m: 256,
                k: 2048,
                n: 128
            }]
        );
        assert_eq!(layers[0].op, "gemm");
        assert_eq!(layers[0].conv, None);
    }

    #[test]
    fn bad_rows_name_the_line_and_field() {
        let header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n";
        let error = parse_topology(&format!("{header}C,8,8,3,3,x,4,1,\n"), Path::new("t.csv"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("t.csv:2") && error.contains("channels"),
            "{error}"
        );
        let error = parse_topology(&format!("{header}C,2,8,3,3,1,4,1,\n"), Path::new("t.csv"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("larger than"), "{error}");
        let error = parse_topology("a,b\n", Path::new("t.csv"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown header"), "{error}");
    }

    /// A layer of the shared TFLite Micro vectors.
    fn bundle(name: &str) -> LayerShape {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/tflm");
        from_bundle(&root.join(name), 2).unwrap()
    }

    #[test]
    fn bundles_keep_the_geometry_of_their_convolutions() {
        // 49×10×1 into 25×5×64 by a 10×4 kernel, stride 2, padding 4 above and 1 to the left.
        let conv = bundle("kws_dscnn/op00_conv_2d").conv.unwrap();
        let expected = ConvLayer {
            input: [49, 10, 1],
            output: [25, 5],
            channels: 64,
            kernel: [10, 4],
            stride: [2, 2],
            dilation: [1, 1],
            pad: [4, 1],
            depthwise: false,
        };
        assert_eq!(conv, expected);
        let depthwise = bundle("kws_dscnn/op01_depthwise_conv_2d").conv.unwrap();
        assert!(depthwise.depthwise);
        assert_eq!((depthwise.input, depthwise.channels), ([25, 5, 64], 64));
        assert_eq!(bundle("kws_dscnn/op11_fully_connected").conv, None);
    }
}
