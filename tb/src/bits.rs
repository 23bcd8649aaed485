//! Lanes on a wide port: packing signed values into the u32 words `accelgen-sim` exchanges, and
//! reading them back.

use accelgen::golden::gemm::wrap_signed;

use crate::rng::Rng;

/// Packs `values` as consecutive `bits`-wide two's-complement lanes, lane 0 in the low bits.
pub fn pack(values: impl Iterator<Item = i64>, bits: u32, words: &mut [u32]) {
    words.fill(0);
    for (lane, value) in values.enumerate() {
        set_bits(words, lane as u32 * bits, bits, value as u64);
    }
}

/// Packs consecutive fields, each a run of lanes of its own width, from the low bits up: what a
/// word holding several lane-packed fields (e.g. biases, then multipliers, then shifts) looks like.
pub fn pack_fields(fields: &[(&[i64], u32)], words: &mut [u32]) {
    words.fill(0);
    let mut offset = 0;
    for (lanes, bits) in fields {
        for value in lanes.iter() {
            set_bits(words, offset, *bits, *value as u64);
            offset += bits;
        }
    }
}

/// Lane `lane` of `bits`-wide lanes, as a signed value when `signed`.
pub fn unpack(words: &[u32], lane: u32, bits: u32, signed: bool) -> i64 {
    let raw = get_bits(words, lane * bits, bits) as i64;
    if signed {
        wrap_signed(raw, bits)
    } else {
        raw
    }
}

/// Random bits in the low `width` bits: what a data bus carries while valid is low.
pub fn garbage(rng: &mut Rng, width: u32, words: &mut [u32]) {
    for word in words.iter_mut() {
        *word = rng.next_u32();
    }
    if !width.is_multiple_of(32) {
        *words.last_mut().unwrap() &= (1u32 << (width % 32)) - 1;
    }
}

fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

fn set_bits(words: &mut [u32], offset: u32, len: u32, value: u64) {
    let value = value & low_mask(len);
    let mut done = 0;
    while done < len {
        let bit = offset + done;
        let take = (32 - bit % 32).min(len - done);
        let chunk = ((value >> done) & low_mask(take)) as u32;
        words[(bit / 32) as usize] |= chunk << (bit % 32);
        done += take;
    }
}

fn get_bits(words: &[u32], offset: u32, len: u32) -> u64 {
    let mut value = 0u64;
    let mut done = 0;
    while done < len {
        let bit = offset + done;
        let take = (32 - bit % 32).min(len - done);
        let chunk = (u64::from(words[(bit / 32) as usize]) >> (bit % 32)) & low_mask(take);
        value |= chunk << done;
        done += take;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_lanes_read_back_across_word_boundaries() {
        let values = [-128i64, 127, -1, 0, 5, -77, 100];
        for bits in [4u32, 8, 13, 32] {
            let mut words = vec![0u32; (values.len() as u32 * bits).div_ceil(32) as usize];
            let lanes: Vec<i64> = values.iter().map(|v| wrap_signed(*v, bits)).collect();
            pack(lanes.iter().copied(), bits, &mut words);
            for (lane, value) in lanes.iter().enumerate() {
                assert_eq!(
                    unpack(&words, lane as u32, bits, true),
                    *value,
                    "bits {bits} lane {lane}"
                );
            }
        }
    }

    #[test]
    fn lane_zero_sits_in_the_low_bits_and_unsigned_lanes_stay_positive() {
        let mut words = [0u32; 1];
        pack([1i64, 2, 255].into_iter(), 8, &mut words);
        assert_eq!(words[0], 0x00ff_0201);
        assert_eq!(unpack(&words, 2, 8, false), 255);
        assert_eq!(unpack(&words, 2, 8, true), -1);
    }

    #[test]
    fn fields_follow_each_other_from_the_low_bits() {
        let mut words = [0u32; 2];
        pack_fields(&[(&[1, -1], 4), (&[0x2a], 8)], &mut words);
        assert_eq!(words[0], 0x2a_f1);
        assert_eq!(unpack(&words, 1, 4, true), -1);
    }

    #[test]
    fn garbage_stays_inside_the_port_width() {
        let mut rng = Rng::new(1);
        let mut words = [0u32; 2];
        for _ in 0..32 {
            garbage(&mut rng, 37, &mut words);
            assert_eq!(words[1] >> 5, 0);
        }
    }
}
