//! The energy model: cost per event at each level of the hierarchy (the config's `energy:` table,
//! [`EnergySpec`], whose defaults and sources are documented there), applied to the traffic
//! counts of `report::traffic`: energy = Σ events × cost, per level.
//!
//! - MAC: an a×w-bit multiply costs `multiply_8x8_pj · a·w/64` and a p-bit accumulate
//!   `add_32_pj · p/32` (Horowitz's 8-bit multiply and 32-bit add, scaled by width: an array
//!   multiplier's cells grow with the product of the widths, a ripple adder's with its width).
//!   A bit-serial PE (Stripes) has no multiplier: each activation bit it streams is one
//!   (a+w+1)-bit Horner add, `add_32_pj · (a+w+1)/32` per bit step, and the product then joins
//!   the partial sum in one accumulate, so a p-bit MAC costs p Horner adds and an accumulate.
//!   A Bit-Pragmatic PE has neither: on each term cycle it adds a shifted weight into its
//!   accumulator, one accumulate per PE per term cycle (`Traffic::mac_bit_steps`), the
//!   shifter's muxes not charged; a MAC as such costs nothing more.
//!   A MAC a zero-gating PE gates (`Traffic::macs_gated`) costs nothing: its operands and
//!   accumulator do not switch (the zero detection, two comparators per PE, is not charged).
//! - register file and PE-to-PE: per byte moved.
//! - global buffer: per 64-bit access, by the region's size along Horowitz's SRAM curve
//!   ([`sram_pj_per_64_bits`]) unless the config fixes one cost for every region.
//! - DRAM: per 64 bits.

use serde::Serialize;

use super::traffic::Traffic;
use crate::config::{AcceleratorSpec, EnergySpec};

/// Horowitz's 45 nm SRAM read energies: (capacity in bytes, pJ per 64-bit access).
pub const SRAM_POINTS: [(f64, f64); 3] = [
    (8.0 * 1024.0, 10.0),
    (32.0 * 1024.0, 20.0),
    (1024.0 * 1024.0, 100.0),
];

/// pJ per 64-bit access of an SRAM of `bytes`: piecewise linear in log(size)–log(energy) through
/// [`SRAM_POINTS`], extended beyond them with the slope of the nearest segment (8→32 KB: energy ∝
/// size^0.5, the bit-line length growing with the square root of the array; 32 KB→1 MB: ∝
/// size^0.46).
pub fn sram_pj_per_64_bits(bytes: u64) -> f64 {
    let size = (bytes.max(1)) as f64;
    let segment = if size <= SRAM_POINTS[1].0 { 0 } else { 1 };
    let (low, high) = (SRAM_POINTS[segment], SRAM_POINTS[segment + 1]);
    let slope = (high.1 / low.1).ln() / (high.0 / low.0).ln();
    low.1 * (size / low.0).powf(slope)
}

/// The costs one config pays, resolved from its [`EnergySpec`] and its widths and buffer sizes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EnergyTable {
    /// One MAC of the configured widths (a bit-serial PE: its accumulate only).
    pub mac_pj: f64,
    /// One bit step of a bit-serial PE (its Horner add); 0 for parallel PEs.
    pub mac_bit_step_pj: f64,
    pub register_file_pj_per_bit: f64,
    pub pe_to_pe_pj_per_bit: f64,
    /// Per region; 0 without buffers (the level does not exist).
    pub ifmap_buffer_pj_per_bit: f64,
    pub weight_buffer_pj_per_bit: f64,
    pub psum_buffer_pj_per_bit: f64,
    pub ofmap_buffer_pj_per_bit: f64,
    pub dram_pj_per_bit: f64,
}

impl EnergyTable {
    pub fn new(spec: &AcceleratorSpec) -> EnergyTable {
        let energy: &EnergySpec = &spec.energy;
        let pe = &spec.pe;
        let accumulate_pj = energy.add_32_pj * f64::from(pe.acc_bits) / 32.0;
        let (mac_pj, mac_bit_step_pj) = if pe.kind.is_pragmatic() {
            (0.0, accumulate_pj)
        } else if pe.kind.is_bit_serial() {
            let horner_bits = pe.act.bits + pe.weight.bits + 1;
            (
                accumulate_pj,
                energy.add_32_pj * f64::from(horner_bits) / 32.0,
            )
        } else {
            let multiply_pj =
                energy.multiply_8x8_pj * f64::from(pe.act.bits * pe.weight.bits) / 64.0;
            (multiply_pj + accumulate_pj, 0.0)
        };
        let region = |bytes: Option<u64>| match bytes {
            None => 0.0,
            Some(bytes) => {
                energy
                    .global_buffer_pj_per_64_bits
                    .unwrap_or_else(|| sram_pj_per_64_bits(bytes))
                    / 64.0
            }
        };
        let buffers = spec.buffers.as_ref();
        EnergyTable {
            mac_pj,
            mac_bit_step_pj,
            register_file_pj_per_bit: energy.register_file_pj_per_byte / 8.0,
            pe_to_pe_pj_per_bit: energy.pe_to_pe_pj_per_byte / 8.0,
            ifmap_buffer_pj_per_bit: region(buffers.map(|b| b.ifmap.bytes())),
            weight_buffer_pj_per_bit: region(buffers.map(|b| b.weight.bytes())),
            psum_buffer_pj_per_bit: region(buffers.map(|b| b.psum.bytes())),
            ofmap_buffer_pj_per_bit: region(buffers.map(|b| b.ofmap.bytes())),
            dram_pj_per_bit: energy.dram_pj_per_64_bits / 64.0,
        }
    }

    /// The energy of `traffic`, per level.
    pub fn energy(&self, traffic: &Traffic) -> Energy {
        let bits = |count: u64, cost: f64| count as f64 * cost;
        Energy {
            mac_pj: bits(traffic.macs_issued - traffic.macs_gated, self.mac_pj)
                + bits(traffic.mac_bit_steps, self.mac_bit_step_pj),
            register_file_pj: bits(traffic.register_file_bits, self.register_file_pj_per_bit),
            pe_to_pe_pj: bits(traffic.pe_to_pe_bits, self.pe_to_pe_pj_per_bit),
            global_buffer_pj: bits(traffic.ifmap_buffer_bits, self.ifmap_buffer_pj_per_bit)
                + bits(traffic.weight_buffer_bits, self.weight_buffer_pj_per_bit)
                + bits(traffic.psum_buffer_bits, self.psum_buffer_pj_per_bit)
                + bits(traffic.ofmap_buffer_bits, self.ofmap_buffer_pj_per_bit),
            dram_pj: bits(traffic.dram_bits(), self.dram_pj_per_bit),
        }
    }
}

/// Energy per level, in pJ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Energy {
    pub mac_pj: f64,
    pub register_file_pj: f64,
    pub pe_to_pe_pj: f64,
    pub global_buffer_pj: f64,
    pub dram_pj: f64,
}

impl Energy {
    /// The levels with their names, in hierarchy order (for tables and plots).
    pub fn levels(&self) -> [(&'static str, f64); 5] {
        [
            ("MAC", self.mac_pj),
            ("RF", self.register_file_pj),
            ("PE-to-PE", self.pe_to_pe_pj),
            ("GLB", self.global_buffer_pj),
            ("DRAM", self.dram_pj),
        ]
    }

    pub fn total_pj(&self) -> f64 {
        self.levels().iter().map(|(_, pj)| pj).sum()
    }

    pub fn add(&self, other: &Energy) -> Energy {
        Energy {
            mac_pj: self.mac_pj + other.mac_pj,
            register_file_pj: self.register_file_pj + other.register_file_pj,
            pe_to_pe_pj: self.pe_to_pe_pj + other.pe_to_pe_pj,
            global_buffer_pj: self.global_buffer_pj + other.global_buffer_pj,
            dram_pj: self.dram_pj + other.dram_pj,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Dataflow, OperandSpec, PeArraySpec};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    fn spec(act_bits: u32, weight_bits: u32, acc_bits: u32) -> AcceleratorSpec {
        let operand = |bits| OperandSpec { bits, signed: true };
        let array = PeArraySpec {
            rows: 2,
            cols: 2,
            dataflow: Dataflow::WeightStationary,
        };
        AcceleratorSpec::for_array(
            "t",
            array,
            operand(act_bits),
            operand(weight_bits),
            acc_bits,
        )
    }

    #[test]
    fn the_sram_curve_passes_through_horowitz_points_and_extends_their_slopes() {
        assert!(close(sram_pj_per_64_bits(8 * 1024), 10.0));
        assert!(close(sram_pj_per_64_bits(32 * 1024), 20.0));
        assert!(close(sram_pj_per_64_bits(1024 * 1024), 100.0));
        // Below 8 KB: √ scaling, so 2 KB costs half of 8 KB.
        assert!(close(sram_pj_per_64_bits(2 * 1024), 5.0));
        // Between 8 and 32 KB: 16 KB is 10·√2.
        assert!(close(sram_pj_per_64_bits(16 * 1024), 10.0 * 2f64.sqrt()));
        // Beyond 1 MB: the 32 KB→1 MB slope, so 32 MB costs 100·5.
        assert!(close(sram_pj_per_64_bits(32 * 1024 * 1024), 500.0));
    }

    #[test]
    fn the_mac_scales_with_operand_and_accumulator_widths() {
        // int8×int8→32: 0.2 + 0.1 (Horowitz).
        assert!(close(EnergyTable::new(&spec(8, 8, 32)).mac_pj, 0.3));
        // int4×int4→16: 0.2·16/64 + 0.1·16/32.
        assert!(close(EnergyTable::new(&spec(4, 4, 16)).mac_pj, 0.05 + 0.05));
        // int16×8→40.
        assert!(close(
            EnergyTable::new(&spec(16, 8, 40)).mac_pj,
            0.4 + 0.125
        ));
    }

    #[test]
    fn a_bit_serial_mac_is_a_horner_add_per_bit_and_one_accumulate() {
        let mut serial = spec(8, 8, 32);
        serial.pe.kind = crate::config::PeKind::BitSerial(crate::config::SerialMode::Stripes);
        let table = EnergyTable::new(&serial);
        // Accumulate 0.1; a 17-bit Horner add 0.1·17/32 per bit step.
        assert!(close(table.mac_pj, 0.1));
        assert!(close(table.mac_bit_step_pj, 0.1 * 17.0 / 32.0));
        // 10 MACs at 4 bits: 40 steps.
        let traffic = Traffic {
            macs_issued: 10,
            mac_bit_steps: 40,
            ..Traffic::default()
        };
        assert!(close(
            table.energy(&traffic).mac_pj,
            1.0 + 40.0 * 0.1 * 17.0 / 32.0
        ));
        // A parallel PE has no bit steps.
        assert!(close(
            EnergyTable::new(&spec(8, 8, 32)).mac_bit_step_pj,
            0.0
        ));
    }

    #[test]
    fn energy_is_events_times_costs_per_level() {
        let table = EnergyTable::new(&spec(8, 8, 32));
        let traffic = Traffic {
            macs_issued: 10,
            register_file_bits: 80,
            pe_to_pe_bits: 16,
            dram_read_bits: 64,
            dram_write_bits: 64,
            ..Traffic::default()
        };
        let energy = table.energy(&traffic);
        assert!(close(energy.mac_pj, 3.0));
        // Gated MACs cost nothing.
        let gated = Traffic {
            macs_gated: 4,
            ..traffic
        };
        assert!(close(table.energy(&gated).mac_pj, 1.8));
        // 10 bytes at 0.3 pJ, 2 bytes at 0.6 pJ, two 64-bit DRAM accesses at 1300 pJ.
        assert!(close(energy.register_file_pj, 3.0));
        assert!(close(energy.pe_to_pe_pj, 1.2));
        assert!(close(energy.dram_pj, 2600.0));
        assert_eq!(energy.global_buffer_pj, 0.0);
        assert!(close(energy.total_pj(), 3.0 + 3.0 + 1.2 + 2600.0));
    }

    #[test]
    fn buffer_regions_cost_by_size_unless_the_config_fixes_one_cost() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/tiny_core.yaml"
        ))
        .unwrap();
        let core = load_str(&text, "tiny_core.yaml").unwrap();
        let table = EnergyTable::new(&core);
        // ifmap: 128 words of 16 bits = 256 bytes; psum: 32 words of 64 bits = 256 bytes.
        let expected = sram_pj_per_64_bits(256) / 64.0;
        assert!(close(table.ifmap_buffer_pj_per_bit, expected));
        assert!(close(table.psum_buffer_pj_per_bit, expected));
        let fixed = load_str(
            &format!("{text}energy:\n  global_buffer_pj_per_64_bits: 32\n"),
            "t.yaml",
        )
        .unwrap();
        assert!(close(
            EnergyTable::new(&fixed).weight_buffer_pj_per_bit,
            0.5
        ));
        // No buffers: the level does not exist.
        assert_eq!(
            EnergyTable::new(&spec(8, 8, 32)).ifmap_buffer_pj_per_bit,
            0.0
        );
    }
}
