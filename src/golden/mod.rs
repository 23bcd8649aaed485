//! The bit-exact golden model: the independent software reference every RTL result is checked
//! against.
//!
//! It implements the numeric contract of DESIGN.md §5 and never reads the hardware IR.
//!
//! - [`requant`]: all requantization arithmetic (TFLite integer multipliers, ONNX fp32, raw).
//! - [`cycles`]: the cycle model of the generated PE arrays, the ideal and SCALE-Sim counts.
//! - [`dma`]: the cycle model of the DMA and of a whole core run (load, compute, store).
//! - [`gemm`]: integer GEMM with a fixed-width wrapping accumulator (what a PE array computes).
//! - [`lowering`]: layers as GEMMs on raw operands, zero points folded into the bias.
//! - [`layer`]: conv2d, depthwise conv2d and fully connected layers on quantized tensors.
//! - [`tensor`]: integer tensors, `.npy` I/O and element-wise comparison.
//! - [`bundle`]: layer bundles (`layer.yaml` + `.npy`), loaded and validated.
//! - [`zero_skip`]: the columns an activation-skipping core keeps, and its cycles.
//! - [`prune`]: synthetic magnitude pruning of a layer's weights (elements or weight bricks).

pub mod bundle;
pub mod cycles;
pub mod dma;
pub mod gemm;
pub mod layer;
pub mod lowering;
pub mod profile;
pub mod prune;
pub mod requant;
pub mod tensor;
pub mod zero_skip;

pub use bundle::{BundleError, LayerBundle};
pub use layer::{LayerError, LayerOp, LayerParams};
pub use requant::{QuantizedMultiplier, RequantMode, Requantizer};
pub use tensor::{compare, read_npy, write_npy, Comparison, Dtype, Mismatch, Tensor};

/// Runs a loaded bundle's layer through the golden model.
///
/// Errors only if the bundle's public fields were changed after [`LayerBundle::load`] validated them.
pub fn run_layer(bundle: &LayerBundle) -> Result<Tensor, LayerError> {
    layer::run(
        &bundle.params,
        &bundle.input,
        &bundle.weight,
        bundle.bias.as_deref(),
    )
}
