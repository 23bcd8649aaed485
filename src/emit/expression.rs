//! Prints IR expressions as Verilog-2005 text whose meaning does not depend on Verilog's
//! context-determined width and signedness rules.
//!
//! Every net in the emitted RTL is declared unsigned. Operands of arithmetic are extended to the
//! result width explicitly (`{{8{a[7]}}, a}` for a signed `a`), so `+`, `-` and `*` compute exactly
//! the IR's two's-complement result and Verilator's WIDTH lint has nothing to say. Only comparisons
//! and arithmetic right shifts need `$signed`, and the latter is always given its own wire because
//! an unsigned neighbour would silently turn it into a logical shift.
//!
//! Verilog cannot index or extend a compound expression (`(a + b)[8]` is illegal), so such
//! operands are hoisted into helper wires named `_<target>_<n>`; user names never start with `_`.

use crate::hdl::expr::{BinaryOp, Expr, ExprKind, UnaryOp};
use crate::hdl::ir::Module;
use crate::hdl::types::Type;

/// A helper wire the printer introduced: name, width, and the text that drives it.
#[derive(Debug, Clone)]
pub struct HoistedWire {
    pub name: String,
    pub width: u32,
    pub value: String,
    /// A slice reads only part of it (the rest is intentionally unused).
    pub partially_read: bool,
}

/// Prints expressions of one module, collecting the helper wires they need.
pub struct ExpressionPrinter<'a> {
    module: &'a Module,
    pub hoisted: Vec<HoistedWire>,
}

impl<'a> ExpressionPrinter<'a> {
    pub fn new(module: &'a Module) -> Self {
        ExpressionPrinter {
            module,
            hoisted: Vec::new(),
        }
    }

    /// Prints `expr`, which drives something named `target` (used to name helper wires).
    pub fn print(&mut self, expr: &Expr, target: &str) -> String {
        self.print_inner(expr, target, true)
    }

    fn print_inner(&mut self, expr: &Expr, target: &str, top: bool) -> String {
        let text = match expr.kind() {
            ExprKind::Signal { name, .. } => return name.to_string(),
            ExprKind::Const(bits) => return constant(*bits, expr.ty()),
            ExprKind::NamedConst { name, .. } => return name.to_string(),
            ExprKind::Invalid(message) => {
                unreachable!("invalid expressions are rejected by the builder: {message}")
            }
            ExprKind::Reinterpret(inner) => return self.print_inner(inner, target, top),
            ExprKind::MemoryRead { name, address, .. } => {
                let address = self.print_inner(address, target, true);
                return format!("{name}[{address}]");
            }
            ExprKind::Slice { base, low } => {
                // The low k bits of a sum, difference or product depend only on the low k bits
                // of the operands: compute at width k instead of slicing a wider helper wire.
                if let (
                    0,
                    ExprKind::Binary(op @ (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul), a, b),
                ) = (*low, base.without_reinterpret().kind())
                {
                    let width = expr.width();
                    let a = self.fitted(a, width, target);
                    let b = self.fitted(b, width, target);
                    let text = format!("{a} {} {b}", arithmetic_symbol(*op));
                    return if top { text } else { format!("({text})") };
                }
                let hoisted_before = self.hoisted.len();
                let base_name = self.named(base, target);
                if self.hoisted.len() > hoisted_before && expr.width() < base.width() {
                    // Only some bits of this helper are read, by design: say so to the linter.
                    if let Some(helper) = self.hoisted.last_mut() {
                        helper.partially_read = true;
                    }
                }
                let high = low + expr.width() - 1;
                return if base.width() == 1 {
                    base_name
                } else if high == *low {
                    format!("{base_name}[{low}]")
                } else {
                    format!("{base_name}[{high}:{low}]")
                };
            }
            ExprKind::Extend(inner) => return self.extended(inner, expr.width(), target),
            ExprKind::Unary(op, inner) => {
                let operand = self.print_inner(inner, target, false);
                match op {
                    UnaryOp::Not => format!("~{operand}"),
                    UnaryOp::ReduceOr => format!("|{operand}"),
                    UnaryOp::ReduceAnd => format!("&{operand}"),
                }
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, expr.ty(), target),
            ExprKind::Mux {
                select,
                when_true,
                when_false,
            } => {
                let select = self.print_inner(select, target, false);
                let when_true = self.print_inner(when_true, target, false);
                // A chain of muxes reads best unparenthesised on the false side.
                let when_false = self.print_inner(when_false, target, true);
                format!("{select} ? {when_true} : {when_false}")
            }
            ExprKind::Concat(parts) => {
                let parts: Vec<String> = parts
                    .iter()
                    .map(|p| self.print_inner(p, target, true))
                    .collect();
                return format!("{{{}}}", parts.join(", "));
            }
        };
        if top {
            text
        } else {
            format!("({text})")
        }
    }

    fn binary(&mut self, op: BinaryOp, a: &Expr, b: &Expr, ty: Type, target: &str) -> String {
        let symbol = match op {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::And => "&",
            BinaryOp::Or => "|",
            BinaryOp::Xor => "^",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Shl => "<<",
            BinaryOp::Shr => ">>",
        };
        match op {
            BinaryOp::Mul => {
                // Operands at their own widths, in a wire of the product's width: Yosys then
                // builds an a×b multiplier (signed when both are), not one of the product's
                // width squared. The wire keeps the context self-determined, so an unsigned
                // neighbour can never turn the signed multiply into an unsigned one.
                let a_text = self.print_inner(a, target, false);
                let b_text = self.print_inner(b, target, false);
                let text = if ty.signed {
                    format!("$signed({a_text}) * $signed({b_text})")
                } else {
                    format!("{a_text} * {b_text}")
                };
                self.hoist(text, ty.width, target)
            }
            BinaryOp::Add | BinaryOp::Sub => {
                let a = self.extended(a, ty.width, target);
                let b = self.extended(b, ty.width, target);
                format!("{a} {symbol} {b}")
            }
            BinaryOp::And | BinaryOp::Or | BinaryOp::Xor | BinaryOp::Eq | BinaryOp::Ne => {
                let a = self.print_inner(a, target, false);
                let b = self.print_inner(b, target, false);
                format!("{a} {symbol} {b}")
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let width = a.width().max(b.width());
                let a_text = self.extended(a, width, target);
                let b_text = self.extended(b, width, target);
                if a.ty().signed {
                    format!("$signed({a_text}) {symbol} $signed({b_text})")
                } else {
                    format!("{a_text} {symbol} {b_text}")
                }
            }
            BinaryOp::Shl => {
                let a = self.print_inner(a, target, false);
                let b = self.print_inner(b, target, false);
                format!("{a} << {b}")
            }
            BinaryOp::Shr if ty.signed => {
                let a = self.print_inner(a, target, true);
                let b = self.print_inner(b, target, false);
                // Its own wire: in an unsigned context `>>>` would shift in zeros.
                let text = format!("$signed({a}) >>> {b}");
                self.hoist(text, ty.width, target)
            }
            BinaryOp::Shr => {
                let a = self.print_inner(a, target, false);
                let b = self.print_inner(b, target, false);
                format!("{a} >> {b}")
            }
        }
    }

    /// `expr` at exactly `width` bits: extended when narrower, its low bits when wider.
    fn fitted(&mut self, expr: &Expr, width: u32, target: &str) -> String {
        if expr.width() <= width {
            self.extended(expr, width, target)
        } else {
            self.print_inner(&expr.slice(width - 1, 0), target, false)
        }
    }

    /// `expr` extended to `width` bits per its signedness, as text.
    fn extended(&mut self, expr: &Expr, width: u32, target: &str) -> String {
        let extra = width - expr.width();
        if extra == 0 {
            return self.print_inner(expr, target, false);
        }
        if let ExprKind::Const(bits) = expr.kind() {
            return constant(
                sign_extend_bits(*bits, expr.ty(), width),
                Type::unsigned(width),
            );
        }
        // Extending an extension is one extension of the original, when the fill agrees: an
        // unsigned value's fill is zero however it is later reinterpreted.
        if let ExprKind::Extend(inner) = expr.without_reinterpret().kind() {
            if !inner.ty().signed || expr.ty().signed == inner.ty().signed {
                return self.extended(inner, width, target);
            }
        }
        let name = self.named(expr, target);
        let fill = if expr.ty().signed {
            if expr.width() == 1 {
                name.clone()
            } else {
                format!("{name}[{}]", expr.width() - 1)
            }
        } else {
            "1'b0".to_string()
        };
        format!("{{{{{extra}{{{fill}}}}}, {name}}}")
    }

    /// A name for `expr`: itself if it is a signal, otherwise a helper wire.
    fn named(&mut self, expr: &Expr, target: &str) -> String {
        match expr.kind() {
            ExprKind::Signal { name, .. } => name.to_string(),
            ExprKind::Reinterpret(inner) => self.named(inner, target),
            _ => {
                let text = self.print_inner(expr, target, true);
                self.hoist(text, expr.width(), target)
            }
        }
    }

    fn hoist(&mut self, value: String, width: u32, target: &str) -> String {
        let name = format!("_{}_{}", target.trim_start_matches('_'), self.hoisted.len());
        debug_assert!(self.module.signals.iter().all(|s| s.name != name));
        self.hoisted.push(HoistedWire {
            name: name.clone(),
            width,
            value,
            partially_read: false,
        });
        name
    }
}

fn arithmetic_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        _ => "*",
    }
}

fn sign_extend_bits(bits: u64, ty: Type, width: u32) -> u64 {
    if !ty.signed || ty.width >= 64 || bits >> (ty.width - 1) & 1 == 0 {
        return bits;
    }
    let filled = bits | (u64::MAX << ty.width);
    if width >= 64 {
        filled
    } else {
        filled & ((1u64 << width) - 1)
    }
}

/// A sized Verilog literal: decimal for small values, hex for wide or negative-looking ones.
pub fn constant(bits: u64, ty: Type) -> String {
    let width = ty.width;
    if ty.signed && width > 1 && width <= 64 && bits >> (width - 1) & 1 == 1 {
        return format!("{width}'h{bits:x}");
    }
    if bits < 1 << 16 {
        format!("{width}'d{bits}")
    } else {
        format!("{width}'h{bits:x}")
    }
}

/// `[7:0] ` for widths above one bit, nothing for one bit: the range part of a declaration.
pub fn range(width: u32) -> String {
    if width == 1 {
        String::new()
    } else {
        format!("[{}:0]", width - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_print_sized_in_decimal_or_hex() {
        assert_eq!(constant(5, Type::unsigned(8)), "8'd5");
        assert_eq!(constant(0xf6, Type::signed(8)), "8'hf6");
        assert_eq!(constant(0x12345, Type::unsigned(20)), "20'h12345");
    }

    #[test]
    fn sign_extension_of_constant_bits_fills_ones() {
        assert_eq!(sign_extend_bits(0xf6, Type::signed(8), 12), 0xff6);
        assert_eq!(sign_extend_bits(0x76, Type::signed(8), 12), 0x076);
        assert_eq!(sign_extend_bits(0xf6, Type::unsigned(8), 12), 0x0f6);
    }
}
