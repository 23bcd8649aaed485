//! The accelerator's top module, named after the config. Without `buffers:` it is the PE array
//! behind its streaming interfaces. With them it is the buffered GEMM core under its AXI4-Lite
//! register file: the host programs and starts the core through `s_axil_*` (map in
//! `blocks::regmap`), loads the buffers through their write ports and takes the results from the
//! result stream. The DMA attaches here as it is built.

use super::{csr, gemm_core, pe_array, regmap};
use crate::config::AcceleratorSpec;
use crate::hdl::{add_module, Design, Expr, HdlError, ModuleBuilder, ModuleId, SignalKind, Type};

/// Builds the top (and everything below it) and marks it as the design's top.
pub fn build(spec: &AcceleratorSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let top = match spec.buffers {
        Some(_) => build_core_top(spec, design)?,
        None => {
            let array = pe_array::build(&spec.pe_array, &spec.pe, false, design)?;
            add_module(design, spec.name.clone(), |m, design| {
                m.doc(summary(spec));
                let instance = m.instance("pe_array", design, array);
                let ports = design.module(array).clone();
                for (_, port) in ports.ports() {
                    expose(m, instance, port);
                }
            })?
        }
    };
    design.set_top(top);
    Ok(top)
}

fn summary(spec: &AcceleratorSpec) -> String {
    format!(
        "{}: {}x{} {} array of {} x {} PEs, {}-bit accumulators.",
        spec.name,
        spec.pe_array.rows,
        spec.pe_array.cols,
        spec.pe_array.dataflow.config_name(),
        spec.pe.act.tag(),
        spec.pe.weight.tag(),
        spec.pe.acc_bits
    )
}

/// The core and its register file: registers drive the core's descriptor and read its status
/// and counters; every other port of either block is a top port.
fn build_core_top(spec: &AcceleratorSpec, design: &mut Design) -> Result<ModuleId, HdlError> {
    let core_id = gemm_core::build(spec, design)?;
    let registers = regmap::core_registers(spec);
    let csr_id = csr::build(&registers, design)?;
    add_module(design, spec.name.clone(), |m, design| {
        m.doc(summary(spec)).doc(
            "Buffered core under an AXI4-Lite register file (s_axil_*); buffers load through their write ports.",
        );
        let core_module = design.module(core_id).clone();
        let csr_module = design.module(csr_id).clone();
        let core = m.instance("core", design, core_id);
        let regs = m.instance("csr", design, csr_id);
        // Core outputs the register file reads (status, counters) and register outputs the core
        // reads (descriptor, start) are joined by name.
        let joined = |name: &str, kind: SignalKind| {
            csr_module
                .port(name)
                .is_some_and(|(_, port)| port.kind != kind && name != "clk" && name != "rst")
        };
        for (_, port) in core_module.ports() {
            if !joined(&port.name, port.kind) {
                expose(m, core, port);
            }
        }
        for (_, port) in csr_module.ports() {
            let name = port.name.as_str();
            if name == crate::hdl::CLOCK || name == crate::hdl::RESET {
                continue;
            }
            let joined_to_core = core_module
                .port(name)
                .is_some_and(|(_, core_port)| core_port.kind != port.kind);
            match (port.kind, joined_to_core, name) {
                (SignalKind::Input, _, "info") => {
                    let info =
                        i128::from(spec.pe_array.rows) | (i128::from(spec.pe_array.cols) << 16);
                    m.connect(regs, name, &Expr::constant(info, Type::unsigned(32)));
                }
                (SignalKind::Input, true, _) => {
                    let value = m.connect_output(core, name);
                    m.connect(regs, name, &value);
                }
                (SignalKind::Input, false, _) | (_, false, _) => expose(m, regs, port),
                (_, true, _) => {
                    // Registers are plain bits; the core may read a field as signed.
                    let value = m.connect_output(regs, name);
                    let signed = core_module.port(name).is_some_and(|(_, p)| p.ty.signed);
                    let value = if signed { value.as_signed() } else { value };
                    m.connect(core, name, &value);
                }
            }
        }
    })
}

/// Makes `port` of `instance` a top port of the same name and description.
fn expose(
    m: &mut ModuleBuilder,
    instance: crate::hdl::InstanceHandle,
    port: &crate::hdl::ir::Signal,
) {
    if port.name == crate::hdl::CLOCK || port.name == crate::hdl::RESET {
        return;
    }
    let doc = port.doc.as_deref().unwrap_or("");
    match port.kind {
        SignalKind::Input => {
            let value = m.input_doc(&port.name, port.ty, doc);
            m.connect(instance, &port.name, &value);
        }
        _ => {
            let wire = m.connect_output(instance, &port.name);
            m.output_doc(&port.name, &wire, doc);
        }
    }
}
