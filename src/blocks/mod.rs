//! Hardware blocks built with the DSL. Each file owns one kind of block: a doc header (ports,
//! latency, throughput), its module name (encoding every parameter that changes the RTL), its
//! builder and its tests. Blocks read only their slice of the spec and never write text.

pub mod csr;
pub mod dma;
pub mod gemm_core;
pub mod pe;
pub mod pe_array;
pub mod post_process;
pub mod regmap;
pub mod sram;
pub mod storage;
pub mod top;
pub mod zero_skip;

use crate::config::AcceleratorSpec;
use crate::hdl::{Design, HdlError};

/// Builds the whole accelerator described by `spec`.
pub fn build_design(spec: &AcceleratorSpec) -> Result<Design, HdlError> {
    let mut design = Design::new();
    top::build(spec, &mut design)?;
    Ok(design)
}

#[cfg(test)]
pub(crate) mod test_specs {
    use crate::config::*;

    /// A weight-stationary spec built directly (not from YAML), for block tests.
    pub fn spec(
        rows: u32,
        cols: u32,
        act: OperandSpec,
        weight: OperandSpec,
        acc_bits: u32,
    ) -> AcceleratorSpec {
        let array = PeArraySpec {
            rows,
            cols,
            dataflow: Dataflow::WeightStationary,
        };
        AcceleratorSpec::for_array("test_top", array, act, weight, acc_bits)
    }

    pub fn int8(rows: u32, cols: u32) -> AcceleratorSpec {
        let i8 = OperandSpec {
            bits: 8,
            signed: true,
        };
        spec(rows, cols, i8, i8, 32)
    }

    /// `int8(rows, cols)` with another dataflow.
    pub fn int8_with(dataflow: Dataflow, rows: u32, cols: u32) -> AcceleratorSpec {
        let mut spec = int8(rows, cols);
        spec.pe_array.dataflow = dataflow;
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::test_specs::{int8, int8_with, spec};
    use crate::config::{Dataflow, OperandSpec};
    use crate::hdl::{Design, SignalKind};

    fn array_of(design: &Design) -> &crate::hdl::Module {
        let top = design.module(design.top().unwrap());
        design.module(top.instances[0].module)
    }

    /// How many registers of `module` have names starting with `prefix` (pipeline stages).
    fn stages(module: &crate::hdl::Module, prefix: &str) -> u32 {
        module
            .signals
            .iter()
            .filter(|s| s.kind == SignalKind::Register && s.name.starts_with(prefix))
            .count() as u32
    }

    #[test]
    fn ws_array_has_one_pe_per_position_named_by_row_and_column() {
        let design = super::build_design(&int8(3, 5)).unwrap();
        let array = array_of(&design);
        let names: Vec<&str> = array.instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names.len(), 15);
        for row in 0..3 {
            for col in 0..5 {
                assert!(
                    names.contains(&format!("pe_r{row}_c{col}").as_str()),
                    "{names:?}"
                );
            }
        }
    }

    #[test]
    fn ws_array_lanes_are_sized_by_rows_columns_and_formats() {
        let u4 = OperandSpec {
            bits: 4,
            signed: false,
        };
        let i6 = OperandSpec {
            bits: 6,
            signed: true,
        };
        let design = super::build_design(&spec(3, 5, u4, i6, 24)).unwrap();
        let array = array_of(&design);
        let width = |name: &str| array.port(name).unwrap().1.ty.width;
        assert_eq!(width("act_data"), 3 * 4);
        assert_eq!(width("weight_data"), 5 * 6);
        assert_eq!(width("out_data"), 5 * 24);
        for handshake in [
            "act_valid",
            "act_ready",
            "weight_valid",
            "weight_ready",
            "out_valid",
            "out_ready",
        ] {
            assert_eq!(width(handshake), 1, "{handshake}");
        }
        assert_eq!(array.port("out_ready").unwrap().1.kind, SignalKind::Input);
    }

    #[test]
    fn ws_array_skews_row_r_by_r_cycles_and_deskews_column_c_by_cols_minus_1_minus_c() {
        let (rows, cols) = (4, 6);
        let design = super::build_design(&int8(rows, cols)).unwrap();
        let array = array_of(&design);
        let stages = |prefix: &str| stages(array, prefix);
        for row in 0..rows {
            assert_eq!(stages(&format!("act_skew_r{row}_d")), row, "row {row}");
        }
        for col in 0..cols {
            assert_eq!(
                stages(&format!("psum_deskew_c{col}_d")),
                cols - 1 - col,
                "column {col}"
            );
        }
        assert_eq!(stages("track_valid_d"), rows + cols - 1);
    }

    #[test]
    fn one_pe_module_serves_every_position() {
        let design = super::build_design(&int8(4, 4)).unwrap();
        assert_eq!(design.dependency_order().len(), 3, "PE, array, top");
        let counts = design.instance_counts();
        let pe = design.find("pe_ws_ai8_wi8_acc32").unwrap();
        assert_eq!(counts[&pe], 16);
    }

    #[test]
    fn smallest_and_largest_shipped_shapes_build() {
        assert!(super::build_design(&int8(1, 1)).is_ok());
        assert!(super::build_design(&int8(16, 16)).is_ok());
    }

    #[test]
    fn every_built_dataflow_names_its_array_and_pe_by_dataflow() {
        for (dataflow, array, pe) in [
            (
                Dataflow::WeightStationary,
                "pe_array_ws_r3c5_ai8_wi8_acc32",
                "pe_ws_ai8_wi8_acc32",
            ),
            (
                Dataflow::OutputStationary,
                "pe_array_os_r3c5_ai8_wi8_acc32",
                "pe_os_ai8_wi8_acc32",
            ),
            (
                Dataflow::InputStationary,
                "pe_array_is_r3c5_ai8_wi8_acc32",
                "pe_is_ai8_wi8_acc32",
            ),
        ] {
            let design = super::build_design(&int8_with(dataflow, 3, 5)).unwrap();
            assert_eq!(array_of(&design).name, array);
            assert_eq!(design.instance_counts()[&design.find(pe).unwrap()], 15);
        }
    }

    #[test]
    fn input_stationary_holds_activations_and_streams_weights() {
        let u4 = OperandSpec {
            bits: 4,
            signed: false,
        };
        let i6 = OperandSpec {
            bits: 6,
            signed: true,
        };
        let mut spec = spec(3, 5, u4, i6, 24);
        spec.pe_array.dataflow = Dataflow::InputStationary;
        let design = super::build_design(&spec).unwrap();
        let array = array_of(&design);
        let width = |name: &str| array.port(name).unwrap().1.ty.width;
        // Stationary activations load one row of C lanes per beat; weights stream R lanes.
        assert_eq!(width("act_data"), 5 * 4);
        assert_eq!(width("weight_data"), 3 * 6);
        assert_eq!(width("weight_last"), 1);
        assert_eq!(width("out_data"), 5 * 24);
        assert!(array.port("act_last").is_none());
    }

    #[test]
    fn output_stationary_streams_both_operands_and_skews_weights_by_column() {
        let (rows, cols) = (4, 6);
        let design =
            super::build_design(&int8_with(Dataflow::OutputStationary, rows, cols)).unwrap();
        let array = array_of(&design);
        let width = |name: &str| array.port(name).unwrap().1.ty.width;
        assert_eq!(width("act_data"), rows * 8);
        assert_eq!(width("weight_data"), cols * 8);
        assert_eq!(width("out_data"), cols * 32);
        let stages = |prefix: &str| stages(array, prefix);
        for row in 0..rows {
            assert_eq!(stages(&format!("act_skew_r{row}_d")), row, "row {row}");
        }
        for col in 0..cols {
            assert_eq!(
                stages(&format!("weight_skew_c{col}_d")),
                col,
                "column {col}"
            );
            assert_eq!(stages(&format!("result_deskew_c{col}_d")), cols - 1 - col);
        }
    }

    #[test]
    fn row_stationary_is_refused_by_the_block_layer_too() {
        let error = super::build_design(&int8_with(Dataflow::RowStationary, 2, 2)).unwrap_err();
        assert!(error.to_string().contains("row_stationary"), "{error}");
    }
}
