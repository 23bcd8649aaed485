//! The accelerator's top module, named after the config: the PE array behind its streaming
//! interfaces, or, when the config has `buffers:`, the buffered GEMM core around it. The DMA and
//! bus interfaces attach here as they are built.

use super::{gemm_core, pe_array};
use crate::config::AcceleratorSpec;
use crate::hdl::{add_module, Design, HdlError, ModuleId};

/// Builds the top (and everything below it) and marks it as the design's top.
pub fn build(spec: &AcceleratorSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let (inner_id, inner_name) = match spec.buffers {
        Some(_) => (gemm_core::build(spec, design)?, "core"),
        None => (
            pe_array::build(&spec.pe_array, &spec.pe, design)?,
            "pe_array",
        ),
    };
    let top = add_module(design, spec.name.clone(), |m, design| {
        m.doc(format!(
            "{}: {}x{} {} array of {} x {} PEs, {}-bit accumulators.",
            spec.name,
            spec.pe_array.rows,
            spec.pe_array.cols,
            spec.pe_array.dataflow.config_name(),
            spec.pe.act.tag(),
            spec.pe.weight.tag(),
            spec.pe.acc_bits
        ));
        let inner = design.module(inner_id).clone();
        let instance = m.instance(inner_name, design, inner_id);
        // Every port of the inner block is a top port of the same name.
        for (_, port) in inner.ports() {
            if port.name == crate::hdl::CLOCK || port.name == crate::hdl::RESET {
                continue;
            }
            match port.kind {
                crate::hdl::SignalKind::Input => {
                    let value = m.input_doc(&port.name, port.ty, port.doc.as_deref().unwrap_or(""));
                    m.connect(instance, &port.name, &value);
                }
                _ => {
                    let wire = m.connect_output(instance, &port.name);
                    m.output_doc(&port.name, &wire, port.doc.as_deref().unwrap_or(""));
                }
            }
        }
    })?;
    design.set_top(top);
    Ok(top)
}
