//! Technology macros: owns what the package and the testbench need around each black-box
//! module accelgen knows (today OpenRAM's `sky130_sram_1rw1r_64x256_8`) besides its ports —
//! the liberty Yosys reads as a black box and ORFS lists in `ADDITIONAL_LIBS`, where ORFS keeps
//! its LEF, and a behavioural Verilog model (`templates/sim/openram_1rw1r.v`) written to
//! `sim/<macro>.v` for simulation only, never into `filelist.f`.
//!
//! A design without external modules uses no macro, so nothing here changes its package.

use askama::Template;

use super::verilog::{Banner, VerilogFile};
use crate::blocks::sram;
use crate::hdl::Design;

/// Directory of the simulation models inside the package.
pub const SIM_DIR: &str = "sim";

/// A technology macro: an external module of the design that the package knows how to hand off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TechMacro {
    /// The module name (the cell name in its liberty).
    pub name: &'static str,
    /// The liberty's file name in the PDK directory (`crate::flow::liberty::pdk_dir`); the
    /// package reads a copy at `flow/<liberty>`, as it does the standard cells.
    pub liberty: &'static str,
    /// The LEF, as an ORFS config names it: the PDK directory holds only the liberty, ORFS's
    /// sky130 platform ships OpenRAM's LEF.
    pub orfs_lef: &'static str,
    pub depth: u64,
    pub data_bits: u32,
    pub address_bits: u32,
    pub mask_bits: u32,
}

/// OpenRAM's sky130 SRAM, 256 × 64 bits, one read-write and one read port, byte write mask.
pub const SKY130_SRAM_1RW1R_64X256_8: TechMacro = TechMacro {
    name: sram::MACRO_NAME,
    liberty: "sky130_sram_1rw1r_64x256_8_TT_1p8V_25C.lib",
    orfs_lef:
        "$(PLATFORM_DIR)/../sky130ram/sky130_sram_1rw1r_64x256_8/sky130_sram_1rw1r_64x256_8.lef",
    depth: sram::MACRO_DEPTH,
    data_bits: sram::MACRO_WORD_BITS,
    address_bits: sram::MACRO_ADDRESS_BITS,
    mask_bits: sram::MACRO_MASK_BITS,
};

/// Every macro accelgen knows.
pub const KNOWN: &[TechMacro] = &[SKY130_SRAM_1RW1R_64X256_8];

impl TechMacro {
    /// Package-relative path of the liberty copy the Yosys script and the ORFS config read.
    pub fn liberty_path(&self) -> String {
        format!("flow/{}", self.liberty)
    }

    /// File name of the simulation model.
    pub fn sim_file_name(&self) -> String {
        format!("{}.v", self.name)
    }

    /// Package-relative path of the simulation model.
    pub fn sim_path(&self) -> String {
        format!("{SIM_DIR}/{}", self.sim_file_name())
    }
}

/// The known macros `design` instantiates (reachable from its top), in dependency order. An
/// external module accelgen does not know is left to whoever declared it.
pub fn used(design: &Design) -> Vec<TechMacro> {
    design
        .external_modules()
        .into_iter()
        .filter_map(|id| by_name(&design.module(id).name))
        .collect()
}

/// The known macro called `name`, if accelgen knows it.
pub fn by_name(name: &str) -> Option<TechMacro> {
    KNOWN.iter().find(|m| m.name == name).copied()
}

/// The package-relative liberties of the macros `design` uses, for the tools that read them
/// next to the standard cells' (Yosys, OpenSTA).
pub fn liberty_paths(design: &Design) -> Vec<String> {
    used(design).iter().map(TechMacro::liberty_path).collect()
}

#[derive(Template)]
#[template(path = "sim/openram_1rw1r.v", escape = "none")]
struct OpenRamTemplate {
    banner: Vec<String>,
    name: &'static str,
    depth: u64,
    data_bits: u32,
    data_range: String,
    address_range: String,
    mask_range: String,
    /// `{8{wmask0[7]}}, …, {8{wmask0[0]}}`
    bit_mask: String,
}

/// The behavioural Verilog model of `tech_macro`.
pub fn render_sim_model(tech_macro: &TechMacro, banner: &Banner) -> String {
    let byte_bits = tech_macro.data_bits / tech_macro.mask_bits;
    let bit_mask: Vec<String> = (0..tech_macro.mask_bits)
        .rev()
        .map(|i| format!("{{{byte_bits}{{wmask0[{i}]}}}}"))
        .collect();
    let range = |bits: u32| format!("[{}:0]", bits - 1);
    let template = OpenRamTemplate {
        banner: banner.lines(),
        name: tech_macro.name,
        depth: tech_macro.depth,
        data_bits: tech_macro.data_bits,
        data_range: range(tech_macro.data_bits),
        address_range: range(tech_macro.address_bits),
        mask_range: range(tech_macro.mask_bits),
        bit_mask: bit_mask.join(", "),
    };
    super::rendered(template.render())
}

/// The simulation models of the macros `design` uses (none for a design without macros).
pub fn sim_models(design: &Design, banner: &Banner) -> Vec<VerilogFile> {
    used(design)
        .iter()
        .map(|m| VerilogFile {
            file_name: m.sim_file_name(),
            contents: render_sim_model(m, banner),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdl::{ModuleBuilder, Type};

    fn banner() -> Banner {
        Banner {
            tool_version: "test".into(),
            config_name: "test".into(),
            config_hash: "0".into(),
        }
    }

    #[test]
    fn a_design_without_macros_emits_no_sim_model() {
        let mut design = Design::new();
        let mut m = ModuleBuilder::new("plain");
        let a = m.input("a", Type::unsigned(4));
        m.output("y", &a.not());
        let top = design.add(m.finish().unwrap()).unwrap();
        design.set_top(top);
        assert!(used(&design).is_empty());
        assert!(sim_models(&design, &banner()).is_empty());
    }

    #[test]
    fn a_design_with_the_sram_wrapper_emits_the_macro_model_and_no_macro_rtl() {
        let mut design = Design::new();
        let top = sram::build(16, 64, &mut design).unwrap();
        design.set_top(top);
        assert_eq!(used(&design), vec![SKY130_SRAM_1RW1R_64X256_8]);
        let models = sim_models(&design, &banner());
        assert_eq!(models.len(), 1);
        assert_eq!(models[0].file_name, "sky130_sram_1rw1r_64x256_8.v");
        let text = &models[0].contents;
        assert!(
            text.contains("module sky130_sram_1rw1r_64x256_8 ("),
            "{text}"
        );
        assert!(text.contains("{8{wmask0[7]}}, "), "{text}");
        assert!(text.contains("reg  [63:0] mem [0:255];"), "{text}");
        let rtl = crate::emit::render_design(&design, &banner());
        assert_eq!(rtl.len(), 1, "only the wrapper is RTL");
        assert_eq!(rtl[0].file_name, "sram_w16_d64_sky130.v");
    }
}
