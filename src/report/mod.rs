//! `accelgen report`: for a config and a set of layers, a table per layer and in total of MACs,
//! cycles (RTL when the layers were simulated, the cycle model otherwise), utilization, the ideal
//! and SCALE-Sim counts, memory traffic and energy per level, and area when synthesised; as
//! Markdown, JSON and an offline HTML page with plots.
//!
//! - [`workload`]: layers (bundles or SCALE-Sim CSVs) as GEMM shapes;
//! - [`schedule`]: how the hardware runs a GEMM or a layer (datapath, buffered core, window mode)
//!   and its model cycles;
//! - [`traffic`]: bits moved per level, from the tiling (or from a core's counters after a run);
//! - [`energy`]: the cost table and energy per level;
//! - [`table`] (Markdown), [`html`] (page and SVG plots), [`diagram`] (block diagram from the IR).
//!
//! This module builds the [`Report`] value every format prints; simulating the layers is the
//! CLI's job (it needs the testbench crate), which hands the measured cycles in.

pub mod ablate;
pub mod diagram;
pub mod energy;
pub mod html;
pub mod schedule;
pub mod table;
pub mod traffic;
pub mod workload;

use serde::Serialize;

use crate::config::AcceleratorSpec;
use crate::flow::SynthReport;
use crate::golden::cycles::scalesim_cycles;
use energy::{Energy, EnergyTable};
use schedule::{array_shape, layer_model_cycles, Scope};
use traffic::{layer_traffic, Traffic};
pub use workload::{LayerShape, WorkloadError};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ReportError {
    #[error("layer {layer}: one K-fold ({rows} weight words) does not fit the weight buffer of {depth} words")]
    DoesNotFit {
        layer: String,
        rows: u32,
        depth: u64,
    },
    #[error("the report has no layers")]
    NoLayers,
}

/// One layer to report, with its RTL cycles when it was simulated and, on a core, the
/// performance counters summed over its runs (`blocks::regmap::COUNTERS` order).
#[derive(Debug, Clone)]
pub struct LayerInput {
    pub shape: LayerShape,
    pub rtl_cycles: Option<u64>,
    pub rtl_counters: Option<Vec<(&'static str, u64)>>,
}

/// Where a cycle count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleSource {
    Rtl,
    Model,
}

/// One line of the report (a layer, or the total).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub name: String,
    pub op: String,
    /// GEMMs the layer lowers to (depthwise: one per group of as many channels as columns).
    pub gemms: usize,
    pub macs: u64,
    /// `rtl_cycles` when simulated, else `model_cycles`.
    pub cycles: u64,
    /// `None` for the total when its layers mix sources.
    pub cycles_source: Option<CycleSource>,
    /// Where the global-buffer and DRAM traffic (so their energy) comes from: the core's
    /// counters after a simulation, else the tiling; `None` for a mixed total.
    pub traffic_source: Option<CycleSource>,
    pub model_cycles: u64,
    pub rtl_cycles: Option<u64>,
    /// `ceil(macs / PEs)`, as run-layer computes it.
    pub ideal_cycles: u64,
    /// SCALE-Sim v2's analytical count for the same GEMMs on the same array.
    pub scalesim_cycles: u64,
    /// `macs / (PEs · cycles)`.
    pub utilization: f64,
    /// `cycles / clock`.
    pub latency_us: f64,
    pub traffic_bits: Traffic,
    pub energy_pj: Energy,
    pub total_energy_pj: f64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub config: String,
    pub dataflow: &'static str,
    pub rows: u32,
    pub cols: u32,
    /// `i8 x i8 -> acc32`.
    pub pe: String,
    pub clock_mhz: f64,
    /// `datapath` or `core`: what the cycles and traffic cover.
    pub scope: &'static str,
    pub scope_note: &'static str,
    /// Whether the hardware has a global buffer (core scope); without one the GLB columns are
    /// not a level of the hierarchy, rather than a zero.
    pub global_buffer: bool,
    pub energy_table: EnergyTable,
    pub layers: Vec<Row>,
    /// Sums of the layers' counts; utilization and latency recomputed from them.
    pub total: Row,
    /// `accelgen synth`'s result when asked for (`--area`).
    pub area: Option<SynthReport>,
}

impl Report {
    /// Builds the report of `layers` on `spec`; `area` is attached as given.
    pub fn build(
        spec: &AcceleratorSpec,
        layers: &[LayerInput],
        area: Option<SynthReport>,
    ) -> Result<Report, ReportError> {
        if layers.is_empty() {
            return Err(ReportError::NoLayers);
        }
        let scope = Scope::of(spec);
        let table = EnergyTable::new(spec);
        let rows = layers
            .iter()
            .map(|layer| layer_row(spec, scope, &table, layer))
            .collect::<Result<Vec<_>, _>>()?;
        let total = total_row(spec, &rows);
        Ok(Report {
            config: spec.name.clone(),
            dataflow: spec.pe_array.dataflow.config_name(),
            rows: spec.pe_array.rows,
            cols: spec.pe_array.cols,
            pe: format!(
                "{} x {} -> acc{}",
                spec.pe.act.tag(),
                spec.pe.weight.tag(),
                spec.pe.acc_bits
            ),
            clock_mhz: spec.clock.frequency_mhz,
            scope: scope.name(),
            scope_note: match scope {
                Scope::Datapath => "datapath: the PE array alone, fed from DRAM by the host (no global buffer); K-fold partial sums spill to DRAM",
                Scope::Core => "core: the buffered weight-stationary core; the array reads the global buffer, which a DMA fills from DRAM once per core run",
            },
            global_buffer: scope == Scope::Core,
            energy_table: table,
            layers: rows,
            total,
            area,
        })
    }
}

fn layer_row(
    spec: &AcceleratorSpec,
    scope: Scope,
    table: &EnergyTable,
    layer: &LayerInput,
) -> Result<Row, ReportError> {
    let shape = &layer.shape;
    let array = array_shape(spec);
    let does_not_fit = || ReportError::DoesNotFit {
        layer: shape.name.clone(),
        rows: spec.pe_array.rows,
        depth: spec.buffers.as_ref().map_or(0, |b| b.weight.depth),
    };
    // The layer as the hardware runs it (window mode when the core has it for the layer), the
    // way run-layer runs it; SCALE-Sim's count is of the im2col GEMMs.
    let model = layer_model_cycles(spec, scope, shape).ok_or_else(does_not_fit)?;
    let mut traffic = layer_traffic(spec, scope, shape).ok_or_else(does_not_fit)?;
    let scalesim = shape
        .gemms
        .iter()
        .map(|&gemm| {
            scalesim_cycles(spec.pe_array.dataflow, array, gemm)
                .expect("validated dataflows are modelled")
        })
        .sum();
    let traffic_source = match (&layer.rtl_counters, scope) {
        (Some(counters), Scope::Core) => {
            let counter = |name: &str| {
                counters
                    .iter()
                    .find(|(counter, _)| *counter == name)
                    .map_or(0, |(_, value)| *value)
            };
            traffic = traffic::from_counters(spec, &counter, &traffic);
            CycleSource::Rtl
        }
        _ => CycleSource::Model,
    };
    let (cycles, source) = match layer.rtl_cycles {
        Some(rtl) => (rtl, CycleSource::Rtl),
        None => (model, CycleSource::Model),
    };
    let energy = table.energy(&traffic);
    Ok(Row {
        name: shape.name.clone(),
        op: shape.op.clone(),
        gemms: shape.gemms.len(),
        macs: shape.macs,
        cycles,
        cycles_source: Some(source),
        traffic_source: Some(traffic_source),
        model_cycles: model,
        rtl_cycles: layer.rtl_cycles,
        ideal_cycles: ideal(spec, shape.macs),
        scalesim_cycles: scalesim,
        utilization: utilization(spec, shape.macs, cycles),
        latency_us: cycles as f64 / spec.clock.frequency_mhz,
        traffic_bits: traffic,
        energy_pj: energy,
        total_energy_pj: energy.total_pj(),
    })
}

fn total_row(spec: &AcceleratorSpec, rows: &[Row]) -> Row {
    let sum = |field: fn(&Row) -> u64| rows.iter().map(field).sum::<u64>();
    let macs = sum(|r| r.macs);
    let cycles = sum(|r| r.cycles);
    let same = |sources: Vec<CycleSource>| {
        if sources.iter().all(|s| *s == sources[0]) {
            sources.first().copied()
        } else {
            None
        }
    };
    let energy = rows
        .iter()
        .fold(Energy::default(), |total, r| total.add(&r.energy_pj));
    let traffic = rows
        .iter()
        .fold(Traffic::default(), |total, r| total + r.traffic_bits);
    Row {
        name: "total".into(),
        op: String::new(),
        gemms: rows.iter().map(|r| r.gemms).sum(),
        macs,
        cycles,
        cycles_source: same(rows.iter().filter_map(|r| r.cycles_source).collect()),
        traffic_source: same(rows.iter().filter_map(|r| r.traffic_source).collect()),
        model_cycles: sum(|r| r.model_cycles),
        rtl_cycles: rows.iter().map(|r| r.rtl_cycles).sum::<Option<u64>>(),
        // The sum of the layers' ideals (each rounded up), so the total compares layer by layer.
        ideal_cycles: sum(|r| r.ideal_cycles),
        scalesim_cycles: sum(|r| r.scalesim_cycles),
        utilization: utilization(spec, macs, cycles),
        latency_us: cycles as f64 / spec.clock.frequency_mhz,
        traffic_bits: traffic,
        energy_pj: energy,
        total_energy_pj: energy.total_pj(),
    }
}

fn ideal(spec: &AcceleratorSpec, macs: u64) -> u64 {
    macs.div_ceil(u64::from(spec.pe_array.pe_count()))
}

fn utilization(spec: &AcceleratorSpec, macs: u64, cycles: u64) -> f64 {
    macs as f64 / (u64::from(spec.pe_array.pe_count()) * cycles.max(1)) as f64
}
