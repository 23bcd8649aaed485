//! Wide (multi-word), 1-bit and 64-bit ports, and the width checks on poke and peek.

mod common;

use accelgen_sim::{Model, SimError};

fn to_words(value: u128, count: usize) -> Vec<u32> {
    (0..count).map(|i| (value >> (32 * i)) as u32).collect()
}

fn from_words(words: &[u32]) -> u128 {
    words
        .iter()
        .enumerate()
        .map(|(i, &word)| u128::from(word) << (32 * i))
        .sum()
}

#[test]
fn hundred_bit_adder_carries_across_every_word_boundary() {
    let mut model = Model::build(&common::adder_spec()).unwrap();
    let (a, b, sum) = (
        model.port("a").unwrap(),
        model.port("b").unwrap(),
        model.port("sum").unwrap(),
    );
    let max100 = (1u128 << 100) - 1;
    let cases = [
        (0u128, 0u128),
        (0xFFFF_FFFF, 1),       // carry out of word 0
        ((1u128 << 64) - 1, 1), // carry out of words 0 and 1
        ((1u128 << 96) - 1, 1), // carry into the top, partial word
        (max100, 1),            // carry into bit 100
        (max100, max100),       // largest sum
        (
            0x0001_2345_6789_ABCD_EF01_1223_3445,
            0x000F_EDCB_A987_6543_2100_FFEE_DDCC,
        ),
    ];
    for (left, right) in cases {
        model.poke_wide(a, &to_words(left, 4));
        model.poke_wide(b, &to_words(right, 4));
        model.eval();
        let got = from_words(&model.peek_wide(sum));
        assert_eq!(got, left + right, "{left:#x} + {right:#x}");
    }
}

#[test]
fn poke_of_a_u64_zero_extends_into_a_wide_port() {
    let mut model = Model::build(&common::adder_spec()).unwrap();
    let (a, b, sum) = (
        model.port("a").unwrap(),
        model.port("b").unwrap(),
        model.port("sum").unwrap(),
    );
    model.poke_wide(
        a,
        &[u32::MAX; 3]
            .iter()
            .copied()
            .chain([0xF])
            .collect::<Vec<_>>(),
    );
    model.poke(a, u64::MAX); // must clear words 2 and 3
    model.poke(b, 1);
    model.eval();
    assert_eq!(from_words(&model.peek_wide(sum)), 1u128 << 64);
}

#[test]
fn one_bit_and_sixty_four_bit_ports_round_trip() {
    let mut model = Model::build(&common::edge_widths_spec()).unwrap();
    let bit_in = model.port("bit_in").unwrap();
    let bit_out = model.port("bit_out").unwrap();
    let word_in = model.port("word_in").unwrap();
    let word_plus_one = model.port("word_plus_one").unwrap();

    model.poke(bit_in, 1);
    model.poke(word_in, 0xFFFF_FFFF);
    model.eval();
    assert_eq!(model.peek(bit_out), 0);
    assert_eq!(model.peek(word_plus_one), 0x1_0000_0000);

    model.poke(bit_in, 0);
    model.poke(word_in, u64::MAX);
    model.eval();
    assert_eq!(model.peek(bit_out), 1);
    assert_eq!(model.peek(word_plus_one), 0, "64-bit wrap");

    model.poke_wide(word_in, &[0xDEAD_BEEF, 0x0123_4567]);
    model.eval();
    assert_eq!(
        model.peek_wide(word_plus_one),
        vec![0xDEAD_BEF0, 0x0123_4567]
    );
}

#[test]
fn values_wider_than_the_port_are_rejected_with_port_and_width() {
    let mut model = Model::build(&common::edge_widths_spec()).unwrap();
    let bit_in = model.port("bit_in").unwrap();
    let error = model.try_poke(bit_in, 2).unwrap_err();
    assert!(matches!(
        error,
        SimError::ValueTooWide {
            width: 1,
            value: 2,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "value 0x2 does not fit port `bit_in` of top `edge_widths`, which is 1 bit(s) wide"
    );
    let message = *std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.poke(bit_in, 3)))
        .unwrap_err()
        .downcast::<String>()
        .unwrap();
    assert!(
        message.contains("value 0x3 does not fit port `bit_in`"),
        "{message}"
    );
}

#[test]
fn wide_pokes_check_word_count_and_top_word_bits() {
    let mut model = Model::build(&common::adder_spec()).unwrap();
    let a = model.port("a").unwrap();
    let wrong_count = model.try_poke_wide(a, &[1, 2, 3]).unwrap_err();
    assert!(
        wrong_count
            .to_string()
            .contains("needs 4 u32 word(s), got 3"),
        "{wrong_count}"
    );
    let too_wide = model.try_poke_wide(a, &[0, 0, 0, 0x10]).unwrap_err();
    assert!(
        matches!(too_wide, SimError::ValueTooWide { width: 100, .. }),
        "{too_wide}"
    );
}

#[test]
fn outputs_cannot_be_poked_and_wide_ports_cannot_be_peeked_as_u64() {
    let mut model = Model::build(&common::adder_spec()).unwrap();
    let poke_error = model.poke_by_name("sum", 1).unwrap_err();
    assert!(
        matches!(poke_error, SimError::PokeOutput { .. }),
        "{poke_error}"
    );
    let peek_error = model.peek_by_name("sum").unwrap_err();
    assert!(
        peek_error.to_string().contains("use peek_wide"),
        "{peek_error}"
    );
}
