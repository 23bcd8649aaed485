//! Hardware blocks built with the DSL. Each file owns one kind of block: a doc header (ports,
//! latency, throughput), its module name (encoding every parameter that changes the RTL), its
//! builder and its tests. Blocks read only their slice of the spec and never write text.

pub mod pe;
pub mod pe_array;
pub mod top;

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

    /// A spec built directly (not from YAML), for block tests.
    pub fn spec(
        rows: u32,
        cols: u32,
        act: OperandSpec,
        weight: OperandSpec,
        acc_bits: u32,
    ) -> AcceleratorSpec {
        AcceleratorSpec {
            name: "test_top".into(),
            clock: ClockSpec {
                frequency_mhz: 100.0,
                period_ns: 10.0,
            },
            pe_array: PeArraySpec {
                rows,
                cols,
                dataflow: Dataflow::WeightStationary,
            },
            pe: PeSpec {
                kind: PeKind::Parallel,
                act,
                weight,
                acc_bits,
            },
            config_hash: "0123456789abcdef".into(),
        }
    }

    pub fn int8(rows: u32, cols: u32) -> AcceleratorSpec {
        let i8 = OperandSpec {
            bits: 8,
            signed: true,
        };
        spec(rows, cols, i8, i8, 32)
    }
}

#[cfg(test)]
mod tests {
    use super::test_specs::{int8, spec};
    use crate::config::OperandSpec;
    use crate::hdl::{Design, SignalKind};

    fn array_of(design: &Design) -> &crate::hdl::Module {
        let top = design.module(design.top().unwrap());
        design.module(top.instances[0].module)
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
        let stages = |prefix: &str| {
            array
                .signals
                .iter()
                .filter(|s| s.kind == SignalKind::Register && s.name.starts_with(prefix))
                .count() as u32
        };
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
}
