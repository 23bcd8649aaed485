//! Systolic PE arrays, one builder per dataflow family. [`stationary`] builds weight- and
//! input-stationary arrays (one operand preloaded, double-buffered); [`output_stationary`] builds
//! the output-stationary array (results drain while the next tile accumulates); [`pragmatic`]
//! the Bit-Pragmatic output-stationary one (broadcast operands, a brick per one-bit count).
//! This file owns what every array shares: the module name and the dispatch on the configured dataflow.
//!
//! Every array speaks valid/ready on its ports and stalls globally when its output is blocked;
//! the per-dataflow headers say which operand each stream carries, in which order, and the
//! cycle counts that `golden::cycles` reproduces.

pub mod output_stationary;
pub mod pragmatic;
pub mod stationary;

use crate::blocks::pe::Roles;
use crate::config::{Dataflow, PeArraySpec, PeSpec};
use crate::hdl::{Design, HdlError, ModuleId};

/// `pe_array_ws_r8c8_ai8_wi8_acc32`: dataflow, PE kind (`_bs` Stripes, `_pg` Pragmatic), shape, operand
/// formats and accumulator width.
pub fn module_name(array: &PeArraySpec, pe: &PeSpec) -> String {
    format!(
        "pe_array_{}{}_r{}c{}_a{}_w{}_acc{}",
        array.dataflow.tag(),
        pe.kind.tag(),
        array.rows,
        array.cols,
        pe.act.tag(),
        pe.weight.tag(),
        pe.acc_bits
    )
}

/// Builds the array of the configured dataflow (and its PE) into `design`; `gate_zeros` (a
/// zero-gating core, output-stationary only) makes its PEs hold their accumulators on a zero
/// operand.
///
/// Row-stationary is not built by this version; the config layer rejects it before this point,
/// so reaching it here is a caller's bug and is reported as an [`HdlError`].
pub fn build(
    array: &PeArraySpec,
    pe_spec: &PeSpec,
    gate_zeros: bool,
    design: &mut Design,
) -> Result<ModuleId, HdlError> {
    let mut name = module_name(array, pe_spec);
    if gate_zeros {
        name.push_str("_zg");
    }
    match array.dataflow {
        Dataflow::OutputStationary if pe_spec.kind.is_pragmatic() => {
            pragmatic::build(name, array, pe_spec, design)
        }
        Dataflow::OutputStationary => {
            output_stationary::build(name, array, pe_spec, gate_zeros, design)
        }
        dataflow => match Roles::of(dataflow, pe_spec) {
            Some(roles) => stationary::build(name, &roles, array, pe_spec, design),
            None => Err(HdlError::Unsupported(format!(
                "no PE array is built for the {} dataflow",
                dataflow.config_name()
            ))),
        },
    }
}
