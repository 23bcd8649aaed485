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
mod scratch {
    #[test]
    fn scratch_emit() {
        let spec = super::test_specs::int8(2, 3);
        let design = super::build_design(&spec).unwrap_or_else(|e| panic!("{e}"));
        let banner = crate::emit::Banner {
            tool_version: "0".into(),
            config_name: "t".into(),
            config_hash: "x".into(),
        };
        let files = crate::emit::render_design(&design, &banner);
        std::fs::create_dir_all("/tmp/scratch").unwrap();
        for f in files {
            std::fs::write(format!("/tmp/scratch/{}", f.file_name), f.contents).unwrap();
        }
    }
}
