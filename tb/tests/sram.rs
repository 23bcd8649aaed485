//! RTL-vs-reference tests of the sky130 SRAM wrapper (`blocks::sram`) simulated with the macro's
//! behavioural model: random writes and reads on several shapes (one macro; wide and deep with a
//! partly used last column and depth tile; exactly two macros wide) match a Rust memory, with a
//! read's data in the next cycle, and a read in the cycle of a write to its address returns the
//! old word.

use accelgen::blocks::sram;
use accelgen::hdl::Design;
use accelgen_sim::{Model, PortId};
use accelgen_tb::build::build_model;
use accelgen_tb::Rng;

/// A wrapper's model and its ports.
struct SramBench {
    model: Model,
    word_bits: u32,
    depth: u64,
    /// Scrambles the inputs after each edge, so rd_data is seen to depend on registered state only.
    scramble: Rng,
    clk: PortId,
    wr_en: PortId,
    wr_addr: PortId,
    wr_data: PortId,
    rd_en: PortId,
    rd_addr: PortId,
    rd_data: PortId,
}

/// One cycle's inputs.
#[derive(Debug, Clone, Copy)]
struct Cycle<'a> {
    write: Option<(u64, &'a [u32])>,
    read: Option<u64>,
}

impl SramBench {
    fn new(word_bits: u32, depth: u64) -> SramBench {
        let mut design = Design::new();
        let top = sram::build(word_bits, depth, &mut design).expect("the wrapper builds");
        design.set_top(top);
        let model = build_model(&design, "sram_test", "0")
            .unwrap_or_else(|e| panic!("building the model of {word_bits}x{depth}: {e}"));
        let port = |name: &str| model.port(name).unwrap();
        SramBench {
            clk: port("clk"),
            wr_en: port("wr_en"),
            wr_addr: port("wr_addr"),
            wr_data: port("wr_data"),
            rd_en: port("rd_en"),
            rd_addr: port("rd_addr"),
            rd_data: port("rd_data"),
            model,
            word_bits,
            depth,
            scramble: Rng::new(0x5eed),
        }
    }

    fn words(&self) -> usize {
        self.word_bits.div_ceil(32) as usize
    }

    fn random_word(&self, rng: &mut Rng) -> Vec<u32> {
        let mut word: Vec<u32> = (0..self.words()).map(|_| rng.next_u32()).collect();
        let top_bits = self.word_bits - 32 * (self.words() as u32 - 1);
        if top_bits < 32 {
            *word.last_mut().unwrap() &= (1u32 << top_bits) - 1;
        }
        word
    }

    /// Applies `cycle`'s inputs, steps the clock once and returns `rd_data` after the edge (with
    /// the inputs already changed to random values, as the next cycle's would be).
    fn cycle(&mut self, cycle: Cycle) -> Vec<u32> {
        let zero = vec![0; self.words()];
        let (wr_en, wr_addr, wr_data) = match cycle.write {
            Some((address, data)) => (1, address, data),
            None => (0, 0, zero.as_slice()),
        };
        self.model.poke(self.wr_en, wr_en);
        self.model.poke(self.wr_addr, wr_addr);
        self.model.poke_wide(self.wr_data, wr_data);
        self.model.poke(self.rd_en, u64::from(cycle.read.is_some()));
        self.model.poke(self.rd_addr, cycle.read.unwrap_or(0));
        self.model.step(self.clk);
        let address = self.scramble.next_u64() % self.depth;
        self.model.poke(self.rd_addr, address);
        self.model.poke(self.wr_addr, address);
        self.model
            .poke(self.rd_en, u64::from(self.scramble.chance(0.5)));
        self.model
            .poke(self.wr_en, u64::from(self.scramble.chance(0.5)));
        self.model.eval();
        self.model.peek_wide(self.rd_data)
    }
}

/// Random traffic against a reference memory: every read of a written address returns, one
/// cycle later, the word stored before that cycle's write.
fn random_traffic(word_bits: u32, depth: u64, cycles: usize, seed: u64) {
    let mut bench = SramBench::new(word_bits, depth);
    let mut rng = Rng::new(seed);
    let mut reference: Vec<Option<Vec<u32>>> = vec![None; depth as usize];
    let (mut checked, mut collisions) = (0, 0);
    for cycle in 0..cycles {
        let data = bench.random_word(&mut rng);
        let write_address = rng.next_u64() % depth;
        let write = rng.chance(0.6).then_some((write_address, data.as_slice()));
        let read = rng.chance(0.7).then(|| {
            // Often the address being written, to exercise the same-cycle collision; often a
            // neighbour of it (another depth tile's boundary is nearby for deep shapes).
            match rng.next_u32() % 4 {
                0 => write_address,
                1 => (write_address + 256) % depth,
                _ => rng.next_u64() % depth,
            }
        });
        let expected = read.and_then(|address| reference[address as usize].clone());
        let got = bench.cycle(Cycle { write, read });
        if let Some(expected) = expected {
            assert_eq!(
                got,
                expected,
                "{word_bits}x{depth}, cycle {cycle}: read of {} (write this cycle: {:?})",
                read.unwrap(),
                write.map(|(address, _)| address)
            );
            checked += 1;
            if write.is_some_and(|(address, _)| Some(address) == read) {
                collisions += 1;
            }
        }
        if let Some((address, data)) = write {
            reference[address as usize] = Some(data.to_vec());
        }
    }
    assert!(
        checked > cycles / 4 && collisions > 10,
        "{word_bits}x{depth}: only {checked} reads checked, {collisions} collisions"
    );
}

#[test]
fn one_macro_16_bits_by_64_words_matches_a_reference_memory_on_random_traffic() {
    random_traffic(16, 64, 2000, 1);
}

#[test]
fn two_by_three_macros_100_bits_by_600_words_match_a_reference_memory_on_random_traffic() {
    random_traffic(100, 600, 4000, 2);
}

#[test]
fn two_full_macros_128_bits_by_256_words_match_a_reference_memory_on_random_traffic() {
    random_traffic(128, 256, 2000, 3);
}

#[test]
fn a_read_in_the_cycle_of_a_write_to_its_address_returns_the_old_word_then_the_new_one() {
    let mut bench = SramBench::new(100, 600);
    let mut rng = Rng::new(4);
    for address in [0, 255, 256, 599] {
        let old = bench.random_word(&mut rng);
        let new = bench.random_word(&mut rng);
        bench.cycle(Cycle {
            write: Some((address, &old)),
            read: None,
        });
        let during = bench.cycle(Cycle {
            write: Some((address, &new)),
            read: Some(address),
        });
        assert_eq!(
            during, old,
            "address {address}: the read in the write's cycle"
        );
        let after = bench.cycle(Cycle {
            write: None,
            read: Some(address),
        });
        assert_eq!(after, new, "address {address}: the read after the write");
    }
}
