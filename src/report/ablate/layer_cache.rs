//! The workload's layers for `accelgen ablate`, read once per array column count (bundles group
//! depthwise channels by the columns), so variants that keep the base's columns, as every toggle
//! does today, reuse the base's layers instead of reading the bundles again.

use std::collections::HashMap;

use super::Workload;
use crate::config::AcceleratorSpec;
use crate::report::workload::{self, LayerShape, WorkloadError};
use crate::report::LayerInput;

/// The workload's layers, read once per column count (bundles group depthwise channels by it).
pub(super) struct LayerCache<'a> {
    workload: &'a Workload,
    by_cols: HashMap<u32, Vec<LayerShape>>,
}

impl<'a> LayerCache<'a> {
    pub(super) fn new(workload: &'a Workload) -> LayerCache<'a> {
        LayerCache {
            workload,
            by_cols: HashMap::new(),
        }
    }

    pub(super) fn get(&mut self, spec: &AcceleratorSpec) -> Result<Vec<LayerInput>, WorkloadError> {
        let cols = spec.pe_array.cols;
        if !self.by_cols.contains_key(&cols) {
            let shapes = match self.workload {
                Workload::Topology(csv) => workload::from_topology_csv(csv)?,
                Workload::Bundles(dirs) => dirs
                    .iter()
                    .map(|dir| workload::from_bundle(dir, cols as usize))
                    .collect::<Result<Vec<_>, _>>()?,
            };
            self.by_cols.insert(cols, shapes);
        }
        Ok(self.by_cols[&cols]
            .iter()
            .map(|shape| LayerInput {
                shape: shape.clone(),
                rtl_cycles: None,
                rtl_counters: None,
            })
            .collect())
    }
}
