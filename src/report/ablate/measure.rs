//! What `accelgen ablate` keeps of a configuration's report ([`Measured`]: the totals over the
//! workload) and how a variant compares with the base ([`Ratios`]: variant / base per quantity).

use serde::Serialize;

use crate::report::energy::Energy;
use crate::report::traffic::Traffic;
use crate::report::{Report, Row};

/// Variant / base, per quantity; `None` where the base is zero (a level the base does not have).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratios {
    pub cycles: Option<f64>,
    pub register_file: Option<f64>,
    pub pe_to_pe: Option<f64>,
    pub global_buffer: Option<f64>,
    pub dram: Option<f64>,
    /// All four levels' bits summed.
    pub traffic: Option<f64>,
    pub energy: Option<f64>,
    pub area: Option<f64>,
}

/// A measured configuration: the totals of its report over the workload.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// `datapath` or `core` (a dataflow toggle may change what the numbers cover).
    pub scope: &'static str,
    pub dataflow: &'static str,
    /// `i8 x i8 -> acc32`.
    pub pe: String,
    pub cycles: u64,
    pub utilization: f64,
    pub traffic_bits: Traffic,
    /// RF + PE-to-PE + GLB + DRAM bits.
    pub total_traffic_bits: u64,
    pub energy_pj: Energy,
    pub total_energy_pj: f64,
    /// Flat sky130hd area with `--area`.
    pub area_um2: Option<f64>,
    /// Why there is no area with `--area` (the variant did not synthesise).
    pub area_note: Option<String>,
    pub ratios: Ratios,
    /// The report's total row, named after the variant (for the plots).
    #[serde(skip)]
    pub total: Row,
}

fn total_traffic(traffic: &Traffic) -> u64 {
    traffic.register_file_bits
        + traffic.pe_to_pe_bits
        + traffic.global_buffer_bits()
        + traffic.dram_bits()
}

pub(super) fn measure(report: &Report, name: &str) -> Measured {
    let total = &report.total;
    Measured {
        scope: report.scope,
        dataflow: report.dataflow,
        pe: report.pe.clone(),
        cycles: total.cycles,
        utilization: total.utilization,
        traffic_bits: total.traffic_bits,
        total_traffic_bits: total_traffic(&total.traffic_bits),
        energy_pj: total.energy_pj,
        total_energy_pj: total.total_energy_pj,
        area_um2: None,
        area_note: None,
        ratios: Ratios {
            cycles: None,
            register_file: None,
            pe_to_pe: None,
            global_buffer: None,
            dram: None,
            traffic: None,
            energy: None,
            area: None,
        },
        total: Row {
            name: name.to_owned(),
            ..total.clone()
        },
    }
}

fn ratio(variant: f64, base: f64) -> Option<f64> {
    (base > 0.0).then(|| variant / base)
}

pub(super) fn ratios(variant: &Measured, base: &Measured) -> Ratios {
    let bits = |m: &Measured, level: fn(&Traffic) -> u64| level(&m.traffic_bits) as f64;
    let level = |f: fn(&Traffic) -> u64| ratio(bits(variant, f), bits(base, f));
    Ratios {
        cycles: ratio(variant.cycles as f64, base.cycles as f64),
        register_file: level(|t| t.register_file_bits),
        pe_to_pe: level(|t| t.pe_to_pe_bits),
        global_buffer: level(Traffic::global_buffer_bits),
        dram: level(Traffic::dram_bits),
        traffic: ratio(
            variant.total_traffic_bits as f64,
            base.total_traffic_bits as f64,
        ),
        energy: ratio(variant.total_energy_pj, base.total_energy_pj),
        area: variant
            .area_um2
            .zip(base.area_um2)
            .and_then(|(v, b)| ratio(v, b)),
    }
}
