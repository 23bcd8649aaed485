//! Hardware value types: a bit width and a signedness.
//!
//! Every expression, port, wire and register carries a [`Type`]. Signedness lives in the IR, not in
//! the emitted Verilog: the emitter extends operands explicitly, so the Verilog never depends on the
//! language's context-determined signedness rules.

use std::fmt;

/// A fixed-width two's-complement (signed) or plain binary (unsigned) value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Type {
    pub width: u32,
    pub signed: bool,
}

impl Type {
    /// A single unsigned bit: enables, valids, selects.
    pub const fn bit() -> Type {
        Type {
            width: 1,
            signed: false,
        }
    }

    pub const fn unsigned(width: u32) -> Type {
        Type {
            width,
            signed: false,
        }
    }

    pub const fn signed(width: u32) -> Type {
        Type {
            width,
            signed: true,
        }
    }

    /// The same signedness at another width.
    pub const fn with_width(self, width: u32) -> Type {
        Type {
            width,
            signed: self.signed,
        }
    }

    /// Smallest representable value, as i128 so that 64-bit types fit.
    pub fn min_value(self) -> i128 {
        if self.signed {
            -(1i128 << (self.width - 1))
        } else {
            0
        }
    }

    /// Largest representable value.
    pub fn max_value(self) -> i128 {
        if self.signed {
            (1i128 << (self.width - 1)) - 1
        } else {
            (1i128 << self.width) - 1
        }
    }
}

impl fmt::Display for Type {
    /// `u8`, `s32`, `bit`: the spelling used in every error message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.width == 1 && !self.signed {
            write!(f, "bit")
        } else {
            write!(f, "{}{}", if self.signed { "s" } else { "u" }, self.width)
        }
    }
}

/// Bits needed to hold the unsigned numbers 0..count-1 (at least 1): the address width of a
/// memory of `count` words.
pub fn clog2(count: u64) -> u32 {
    if count <= 2 {
        1
    } else {
        64 - (count - 1).leading_zeros()
    }
}

/// Bits needed to hold the unsigned number `value` itself (at least 1): the width of a counter
/// that must reach `value`.
pub fn bits_for(value: u64) -> u32 {
    (64 - value.leading_zeros()).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_ranges_follow_twos_complement() {
        assert_eq!(Type::signed(8).min_value(), -128);
        assert_eq!(Type::signed(8).max_value(), 127);
        assert_eq!(Type::unsigned(8).max_value(), 255);
        assert_eq!(Type::unsigned(64).max_value(), u64::MAX as i128);
    }

    #[test]
    fn clog2_and_bits_for_give_address_and_counter_widths() {
        assert_eq!(clog2(1), 1);
        assert_eq!(clog2(2), 1);
        assert_eq!(clog2(3), 2);
        assert_eq!(clog2(256), 8);
        assert_eq!(clog2(257), 9);
        assert_eq!(bits_for(0), 1);
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(8), 4);
        assert_eq!(bits_for(255), 8);
    }

    #[test]
    fn types_display_as_in_error_messages() {
        assert_eq!(Type::bit().to_string(), "bit");
        assert_eq!(Type::signed(32).to_string(), "s32");
        assert_eq!(Type::unsigned(9).to_string(), "u9");
    }
}
