//! Combinational expressions with widths and signedness computed as they are built.
//!
//! Arithmetic grows as it must (a + b gains a bit, a · b is the sum of the widths, a − b is signed)
//! and narrowing is always explicit (`truncate`, `resize`). Operands must agree in signedness: mixing
//! is the classic Verilog bug, so the designer converts with `as_signed` / `as_unsigned` instead.
//!
//! A width or signedness mismatch does not panic: the expression becomes [`ExprKind::Invalid`] with a
//! message naming the signals and both types, and the module builder reports it (with the module and
//! the signal being driven) when the module is added to the design. That keeps operators ergonomic
//! (`a + b`) while a width mismatch is still a Rust error, not a Verilator warning.

use std::ops;
use std::rc::Rc;

use super::types::Type;

/// Index of a signal (port, wire or register output) inside its module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignalId(pub usize);

/// Index of a memory inside its module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryId(pub usize);

/// Which module builder made a signal: catches a signal used in the wrong module while building.
/// It is construction bookkeeping, not structure: any two tags compare equal, so two modules built
/// the same way by different builders are equal (and emitted once).
#[derive(Debug, Clone, Copy, Eq)]
pub struct Owner(pub u32);

impl PartialEq for Owner {
    fn eq(&self, _: &Owner) -> bool {
        true
    }
}

/// A typed combinational expression. Cheap to clone (shared tree).
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    ty: Type,
    kind: Rc<ExprKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// Bitwise complement.
    Not,
    /// OR of all bits (`|x`): "is non-zero".
    ReduceOr,
    /// AND of all bits (`&x`): "is all ones".
    ReduceAnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Shift left by an unsigned amount; width unchanged.
    Shl,
    /// Shift right by an unsigned amount; arithmetic for signed operands.
    Shr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A signal of module builder `owner` (the owner tag catches signals used in the wrong module).
    Signal {
        owner: Owner,
        id: SignalId,
        name: Rc<str>,
    },
    /// A constant; the two's-complement bit pattern, zero-extended beyond 64 bits.
    Const(u64),
    /// A named constant (an FSM state): emitted as its `localparam` name.
    NamedConst {
        name: Rc<str>,
        value: u64,
    },
    Unary(UnaryOp, Expr),
    Binary(BinaryOp, Expr, Expr),
    Mux {
        select: Expr,
        when_true: Expr,
        when_false: Expr,
    },
    /// Most significant part first, as in Verilog.
    Concat(Vec<Expr>),
    /// Bits `low .. low + width` of the operand.
    Slice {
        base: Expr,
        low: u32,
    },
    /// Sign-extends signed operands and zero-extends unsigned ones to the expression's width.
    Extend(Expr),
    /// The same bits seen with another signedness.
    Reinterpret(Expr),
    /// Asynchronous read of a memory word.
    MemoryRead {
        owner: Owner,
        memory: MemoryId,
        name: Rc<str>,
        address: Expr,
    },
    /// A construction error, reported when the module is finished.
    Invalid(Rc<str>),
}

impl Expr {
    pub(crate) fn new(ty: Type, kind: ExprKind) -> Expr {
        Expr {
            ty,
            kind: Rc::new(kind),
        }
    }

    pub(crate) fn invalid(ty: Type, message: String) -> Expr {
        Expr::new(ty, ExprKind::Invalid(message.into()))
    }

    pub fn ty(&self) -> Type {
        self.ty
    }

    pub fn width(&self) -> u32 {
        self.ty.width
    }

    pub fn kind(&self) -> &ExprKind {
        &self.kind
    }

    /// A constant of type `ty`. Out-of-range values make an invalid expression.
    pub fn constant(value: i128, ty: Type) -> Expr {
        if value < ty.min_value() || value > ty.max_value() {
            return Expr::invalid(
                ty,
                format!(
                    "constant {value} does not fit in {ty} (range {}..={})",
                    ty.min_value(),
                    ty.max_value()
                ),
            );
        }
        let bits = if ty.width >= 64 {
            value as u64
        } else {
            (value as u64) & ((1u64 << ty.width) - 1)
        };
        Expr::new(ty, ExprKind::Const(bits))
    }

    /// Zero of any type.
    pub fn zero(ty: Type) -> Expr {
        Expr::new(ty, ExprKind::Const(0))
    }

    /// A one-bit constant.
    pub fn bit(value: bool) -> Expr {
        Expr::new(Type::bit(), ExprKind::Const(value as u64))
    }

    /// A short human description for error messages: the signal name, or the operation.
    pub fn describe(&self) -> String {
        match &*self.kind {
            ExprKind::Signal { name, .. } => format!("`{name}` ({})", self.ty),
            ExprKind::Const(_) | ExprKind::NamedConst { .. } => format!("a constant ({})", self.ty),
            ExprKind::MemoryRead { name, .. } => format!("a read of memory `{name}` ({})", self.ty),
            _ => format!("an expression of type {}", self.ty),
        }
    }

    /// The expression under any reinterpretations: the same bits, whatever signedness they are
    /// seen with.
    pub fn without_reinterpret(&self) -> &Expr {
        match &*self.kind {
            ExprKind::Reinterpret(inner) => inner.without_reinterpret(),
            _ => self,
        }
    }

    /// The first construction error inside this expression, if any.
    pub fn first_error(&self) -> Option<Rc<str>> {
        match &*self.kind {
            ExprKind::Invalid(message) => Some(message.clone()),
            ExprKind::Signal { .. } | ExprKind::Const(_) | ExprKind::NamedConst { .. } => None,
            ExprKind::Unary(_, a) | ExprKind::Slice { base: a, .. } => a.first_error(),
            ExprKind::Extend(a) | ExprKind::Reinterpret(a) => a.first_error(),
            ExprKind::Binary(_, a, b) => a.first_error().or_else(|| b.first_error()),
            ExprKind::Mux {
                select,
                when_true,
                when_false,
            } => select
                .first_error()
                .or_else(|| when_true.first_error())
                .or_else(|| when_false.first_error()),
            ExprKind::Concat(parts) => parts.iter().find_map(Expr::first_error),
            ExprKind::MemoryRead { address, .. } => address.first_error(),
        }
    }

    /// Calls `visit` on every signal read by this expression with the bit range read (low, width).
    pub fn for_each_read(&self, visit: &mut dyn FnMut(u32, SignalId, u32, u32)) {
        self.reads_within(0, self.ty.width, visit)
    }

    fn reads_within(&self, low: u32, width: u32, visit: &mut dyn FnMut(u32, SignalId, u32, u32)) {
        match &*self.kind {
            ExprKind::Signal { owner, id, .. } => visit(owner.0, *id, low, width),
            ExprKind::Const(_) | ExprKind::NamedConst { .. } | ExprKind::Invalid(_) => {}
            ExprKind::Slice {
                base,
                low: slice_low,
            } => base.reads_within(slice_low + low, width, visit),
            ExprKind::Reinterpret(a) => a.reads_within(low, width, visit),
            ExprKind::Unary(_, a) | ExprKind::Extend(a) => a.for_each_read(visit),
            ExprKind::Binary(_, a, b) => {
                a.for_each_read(visit);
                b.for_each_read(visit);
            }
            ExprKind::Mux {
                select,
                when_true,
                when_false,
            } => {
                select.for_each_read(visit);
                when_true.for_each_read(visit);
                when_false.for_each_read(visit);
            }
            ExprKind::Concat(parts) => parts.iter().for_each(|p| p.for_each_read(visit)),
            ExprKind::MemoryRead { address, .. } => address.for_each_read(visit),
        }
    }

    // ---- width changes -------------------------------------------------------------------

    /// Extends to `width` bits (sign-extension for signed values, zero-extension otherwise).
    pub fn extend(&self, width: u32) -> Expr {
        if width < self.width() {
            return Expr::invalid(
                self.ty.with_width(width),
                format!(
                    "cannot extend {} to {width} bits: it is wider; use truncate",
                    self.describe()
                ),
            );
        }
        if width == self.width() {
            return self.clone();
        }
        Expr::new(self.ty.with_width(width), ExprKind::Extend(self.clone()))
    }

    /// Keeps the `width` least significant bits (same signedness).
    pub fn truncate(&self, width: u32) -> Expr {
        if width > self.width() || width == 0 {
            return Expr::invalid(
                self.ty.with_width(width.max(1)),
                format!(
                    "cannot truncate {} to {width} bits: use extend to widen",
                    self.describe()
                ),
            );
        }
        if width == self.width() {
            return self.clone();
        }
        let sliced = self.slice(width - 1, 0);
        if self.ty.signed {
            sliced.as_signed()
        } else {
            sliced
        }
    }

    /// Extends or truncates to exactly `width` bits: modular (wrap-around) arithmetic.
    pub fn resize(&self, width: u32) -> Expr {
        if width >= self.width() {
            self.extend(width)
        } else {
            self.truncate(width)
        }
    }

    /// Bits `high..=low` as an unsigned value.
    pub fn slice(&self, high: u32, low: u32) -> Expr {
        if high < low || high >= self.width() {
            return Expr::invalid(
                Type::unsigned(high.saturating_sub(low) + 1),
                format!(
                    "slice [{high}:{low}] is outside {} (bits {}..0)",
                    self.describe(),
                    self.width() - 1
                ),
            );
        }
        if low == 0 && high + 1 == self.width() && !self.ty.signed {
            return self.clone();
        }
        // A slice of a slice (seen through reinterpretations) is one slice of the original.
        if let ExprKind::Slice {
            base,
            low: base_low,
        } = self.without_reinterpret().kind()
        {
            return Expr::new(
                Type::unsigned(high - low + 1),
                ExprKind::Slice {
                    base: base.clone(),
                    low: base_low + low,
                },
            );
        }
        Expr::new(
            Type::unsigned(high - low + 1),
            ExprKind::Slice {
                base: self.clone(),
                low,
            },
        )
    }

    /// One bit.
    pub fn bit_at(&self, index: u32) -> Expr {
        self.slice(index, index)
    }

    /// The most significant bit (the sign of a signed value).
    pub fn msb(&self) -> Expr {
        self.bit_at(self.width() - 1)
    }

    /// The same bits read as signed.
    pub fn as_signed(&self) -> Expr {
        if self.ty.signed {
            return self.clone();
        }
        Expr::new(
            Type::signed(self.width()),
            ExprKind::Reinterpret(self.clone()),
        )
    }

    /// The same bits read as unsigned.
    pub fn as_unsigned(&self) -> Expr {
        if !self.ty.signed {
            return self.clone();
        }
        Expr::new(
            Type::unsigned(self.width()),
            ExprKind::Reinterpret(self.clone()),
        )
    }

    /// The same value as a signed number: unsigned values gain a zero bit first.
    pub fn to_signed_value(&self) -> Expr {
        if self.ty.signed {
            self.clone()
        } else {
            self.extend(self.width() + 1).as_signed()
        }
    }

    // ---- operators ----------------------------------------------------------------------

    fn same_signedness(&self, other: &Expr, op: &str) -> Option<String> {
        (self.ty.signed != other.ty.signed).then(|| {
            format!(
                "`{op}` mixes signedness: {} and {}; convert one with as_signed/as_unsigned/to_signed_value",
                self.describe(),
                other.describe()
            )
        })
    }

    fn same_type(&self, other: &Expr, op: &str) -> Option<String> {
        (self.ty != other.ty).then(|| {
            format!(
                "`{op}` needs operands of one type: {} and {}",
                self.describe(),
                other.describe()
            )
        })
    }

    fn binary(op: BinaryOp, ty: Type, a: &Expr, b: &Expr, error: Option<String>) -> Expr {
        match error {
            Some(message) => Expr::invalid(ty, message),
            None => Expr::new(ty, ExprKind::Binary(op, a.clone(), b.clone())),
        }
    }

    /// a + b, one bit wider than the wider operand: never overflows.
    pub fn add(&self, other: &Expr) -> Expr {
        let ty = self.ty.with_width(self.width().max(other.width()) + 1);
        Expr::binary(
            BinaryOp::Add,
            ty,
            self,
            other,
            self.same_signedness(other, "+"),
        )
    }

    /// a − b, signed and one bit wider than the wider operand: never overflows.
    pub fn sub(&self, other: &Expr) -> Expr {
        let ty = Type::signed(self.width().max(other.width()) + 1);
        Expr::binary(
            BinaryOp::Sub,
            ty,
            self,
            other,
            self.same_signedness(other, "-"),
        )
    }

    /// self + 1 in self's own width, wrapping at the top: an unsigned counter's step up.
    pub fn wrapping_increment(&self) -> Expr {
        self.add(&Expr::constant(1, self.ty)).truncate(self.width())
    }

    /// self − 1 in self's own width, wrapping below zero: an unsigned counter's step down.
    pub fn wrapping_decrement(&self) -> Expr {
        self.sub(&Expr::constant(1, self.ty))
            .truncate(self.width())
            .as_unsigned()
    }

    /// a · b with the full product width (sum of the operand widths).
    pub fn widening_mul(&self, other: &Expr) -> Expr {
        let ty = self.ty.with_width(self.width() + other.width());
        Expr::binary(
            BinaryOp::Mul,
            ty,
            self,
            other,
            self.same_signedness(other, "*"),
        )
    }

    fn bitwise(&self, op: BinaryOp, symbol: &str, other: &Expr) -> Expr {
        Expr::binary(op, self.ty, self, other, self.same_type(other, symbol))
    }

    fn compare(&self, op: BinaryOp, symbol: &str, other: &Expr) -> Expr {
        let error = match op {
            BinaryOp::Eq | BinaryOp::Ne => self.same_type(other, symbol),
            _ => self.same_signedness(other, symbol),
        };
        Expr::binary(op, Type::bit(), self, other, error)
    }

    pub fn eq(&self, other: &Expr) -> Expr {
        self.compare(BinaryOp::Eq, "==", other)
    }
    pub fn ne(&self, other: &Expr) -> Expr {
        self.compare(BinaryOp::Ne, "!=", other)
    }
    pub fn lt(&self, other: &Expr) -> Expr {
        self.compare(BinaryOp::Lt, "<", other)
    }
    pub fn le(&self, other: &Expr) -> Expr {
        self.compare(BinaryOp::Le, "<=", other)
    }
    pub fn gt(&self, other: &Expr) -> Expr {
        self.compare(BinaryOp::Gt, ">", other)
    }
    pub fn ge(&self, other: &Expr) -> Expr {
        self.compare(BinaryOp::Ge, ">=", other)
    }

    /// Compares with a constant of this expression's type.
    pub fn eq_const(&self, value: i128) -> Expr {
        self.eq(&Expr::constant(value, self.ty))
    }

    fn shift(&self, op: BinaryOp, amount: &Expr) -> Expr {
        let error = amount
            .ty
            .signed
            .then(|| format!("shift amount {} must be unsigned", amount.describe()));
        Expr::binary(op, self.ty, self, amount, error)
    }

    /// Logical shift left by a run-time amount, keeping the width.
    pub fn shl(&self, amount: &Expr) -> Expr {
        self.shift(BinaryOp::Shl, amount)
    }

    /// Shift right by a run-time amount (arithmetic when signed), keeping the width.
    pub fn shr(&self, amount: &Expr) -> Expr {
        self.shift(BinaryOp::Shr, amount)
    }

    /// `self ? when_true : when_false`; `self` must be one bit.
    pub fn select(&self, when_true: &Expr, when_false: &Expr) -> Expr {
        let error = if self.ty != Type::bit() {
            Some(format!("mux select {} must be one bit", self.describe()))
        } else {
            when_true.same_type(when_false, "?:")
        };
        match error {
            Some(message) => Expr::invalid(when_true.ty, message),
            None => Expr::new(
                when_true.ty,
                ExprKind::Mux {
                    select: self.clone(),
                    when_true: when_true.clone(),
                    when_false: when_false.clone(),
                },
            ),
        }
    }

    /// `{parts[0], parts[1], …}`: most significant first; unsigned.
    pub fn concat(parts: &[Expr]) -> Expr {
        if parts.is_empty() {
            return Expr::invalid(Type::bit(), "concatenation of nothing".into());
        }
        if parts.len() == 1 {
            return parts[0].as_unsigned();
        }
        let width = parts.iter().map(Expr::width).sum();
        Expr::new(Type::unsigned(width), ExprKind::Concat(parts.to_vec()))
    }

    /// OR of all bits.
    pub fn any(&self) -> Expr {
        Expr::new(
            Type::bit(),
            ExprKind::Unary(UnaryOp::ReduceOr, self.clone()),
        )
    }

    /// AND of all bits.
    pub fn all(&self) -> Expr {
        Expr::new(
            Type::bit(),
            ExprKind::Unary(UnaryOp::ReduceAnd, self.clone()),
        )
    }

    /// Bitwise complement (logical NOT for one bit).
    pub fn not(&self) -> Expr {
        Expr::new(self.ty, ExprKind::Unary(UnaryOp::Not, self.clone()))
    }

    /// Logical AND of one-bit values (same as `&`, named for readability).
    pub fn and(&self, other: &Expr) -> Expr {
        self.bitwise(BinaryOp::And, "&", other)
    }

    /// Logical OR of one-bit values.
    pub fn or(&self, other: &Expr) -> Expr {
        self.bitwise(BinaryOp::Or, "|", other)
    }

    pub fn xor(&self, other: &Expr) -> Expr {
        self.bitwise(BinaryOp::Xor, "^", other)
    }
}

/// The lane `index` of a bus made of equal `lane_width` lanes, lane 0 in the least significant bits.
pub fn lane(bus: &Expr, index: u32, lane_width: u32) -> Expr {
    bus.slice((index + 1) * lane_width - 1, index * lane_width)
}

/// Packs lanes into a bus, lane 0 in the least significant bits (the inverse of [`lane`]).
pub fn pack_lanes(lanes: &[Expr]) -> Expr {
    let mut most_significant_first: Vec<Expr> = lanes.iter().map(Expr::as_unsigned).collect();
    most_significant_first.reverse();
    Expr::concat(&most_significant_first)
}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $call:ident) => {
        impl ops::$trait<&Expr> for &Expr {
            type Output = Expr;
            fn $method(self, rhs: &Expr) -> Expr {
                self.$call(rhs)
            }
        }
        impl ops::$trait<Expr> for Expr {
            type Output = Expr;
            fn $method(self, rhs: Expr) -> Expr {
                (&self).$call(&rhs)
            }
        }
        impl ops::$trait<&Expr> for Expr {
            type Output = Expr;
            fn $method(self, rhs: &Expr) -> Expr {
                (&self).$call(rhs)
            }
        }
    };
}

binary_operator!(Add, add, add);
binary_operator!(Sub, sub, sub);
binary_operator!(Mul, mul, widening_mul);
binary_operator!(BitAnd, bitand, and);
binary_operator!(BitOr, bitor, or);
binary_operator!(BitXor, bitxor, xor);

impl ops::Not for &Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::not(self)
    }
}

impl ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::not(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(name: &str, ty: Type) -> Expr {
        Expr::new(
            ty,
            ExprKind::Signal {
                owner: Owner(0),
                id: SignalId(0),
                name: name.into(),
            },
        )
    }

    #[test]
    fn add_grows_one_bit_and_mul_sums_widths() {
        let a = signal("a", Type::signed(8));
        let b = signal("b", Type::signed(5));
        assert_eq!((&a + &b).ty(), Type::signed(9));
        assert_eq!((&a * &b).ty(), Type::signed(13));
        assert_eq!(
            (signal("u", Type::unsigned(4)) - signal("v", Type::unsigned(4))).ty(),
            Type::signed(5)
        );
    }

    #[test]
    fn mixed_signedness_names_both_operands() {
        let a = signal("act", Type::signed(8));
        let w = signal("weight", Type::unsigned(8));
        let error = (&a * &w).first_error().expect("mixing must be an error");
        assert!(error.contains("`act` (s8)"), "{error}");
        assert!(error.contains("`weight` (u8)"), "{error}");
        assert!((&a * &w.to_signed_value()).first_error().is_none());
    }

    #[test]
    fn bitwise_and_mux_need_equal_types() {
        let a = signal("a", Type::unsigned(8));
        let b = signal("b", Type::unsigned(7));
        assert!((&a & &b).first_error().unwrap().contains("u7"));
        let sel = signal("sel", Type::unsigned(2));
        assert!(sel
            .select(&a, &a)
            .first_error()
            .unwrap()
            .contains("one bit"));
    }

    #[test]
    fn narrowing_is_explicit() {
        let a = signal("a", Type::signed(16));
        assert!(a.extend(8).first_error().unwrap().contains("truncate"));
        assert_eq!(a.truncate(8).ty(), Type::signed(8));
        assert!(a.truncate(20).first_error().is_some());
        assert_eq!(a.resize(32).ty(), Type::signed(32));
        assert_eq!(a.resize(4).ty(), Type::signed(4));
        assert!(a.slice(16, 0).first_error().unwrap().contains("outside"));
    }

    #[test]
    fn constants_must_fit_their_type() {
        assert!(Expr::constant(-129, Type::signed(8))
            .first_error()
            .is_some());
        assert!(Expr::constant(256, Type::unsigned(8))
            .first_error()
            .is_some());
        assert_eq!(
            *Expr::constant(-1, Type::signed(8)).kind(),
            ExprKind::Const(0xff)
        );
    }

    #[test]
    fn reads_report_bit_ranges_through_slices() {
        let a = signal("a", Type::unsigned(16));
        let mut reads = Vec::new();
        lane(&a, 1, 4).for_each_read(&mut |_, id, low, width| reads.push((id, low, width)));
        assert_eq!(reads, vec![(SignalId(0), 4, 4)]);
    }
}
