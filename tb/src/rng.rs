//! A small deterministic PRNG (SplitMix64) for testbench traffic patterns and test data: seeded,
//! reproducible across platforms and Rust versions, no dependency.

/// SplitMix64: good enough statistics for valid/ready patterns and random operands.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// True with probability `p` (p ≤ 0 never, p ≥ 1 always).
    pub fn chance(&mut self, p: f64) -> bool {
        if p >= 1.0 {
            return true;
        }
        if p <= 0.0 {
            return false;
        }
        // 53 random bits as a uniform float in [0, 1).
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// Uniform in `low..=high`.
    ///
    /// # Panics
    /// If `low > high`.
    pub fn range_inclusive(&mut self, low: i64, high: i64) -> i64 {
        assert!(low <= high, "range_inclusive: {low} > {high}");
        let span = (high as i128 - low as i128 + 1) as u128;
        (low as i128 + (self.next_u64() as u128 % span) as i128) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_gives_same_sequence_and_different_seeds_differ() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let sa: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let sb: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let sc: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(sa, sb);
        assert_ne!(sa, sc);
    }

    #[test]
    fn range_inclusive_hits_both_ends_and_stays_inside() {
        let mut rng = Rng::new(1);
        let draws: Vec<i64> = (0..2000).map(|_| rng.range_inclusive(-3, 4)).collect();
        assert!(draws.iter().all(|v| (-3..=4).contains(v)));
        assert!(draws.contains(&-3) && draws.contains(&4));
    }

    #[test]
    fn chance_frequency_tracks_probability() {
        let mut rng = Rng::new(3);
        let hits = (0..10_000).filter(|_| rng.chance(0.25)).count();
        assert!(
            (2200..2800).contains(&hits),
            "{hits} hits of 10000 at p=0.25"
        );
        assert!((0..100).all(|_| rng.chance(1.0)));
        assert!((0..100).all(|_| !rng.chance(0.0)));
    }
}
