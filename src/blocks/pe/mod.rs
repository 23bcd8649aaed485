//! Processing elements: one multiply-accumulate per enabled cycle, in the flavour each dataflow
//! needs. [`stationary`] holds one operand (weight- and input-stationary); [`output_stationary`]
//! holds the output; [`pragmatic`] holds the output and adds one shifted weight per one-bit of
//! its activation. This file owns what they share: operand roles, types, the exact product and
//! module naming.

pub mod bit_serial;
pub mod output_stationary;
pub mod pragmatic;
pub mod stationary;

use crate::config::{Dataflow, OperandSpec, PeSpec};
use crate::hdl::{Expr, Type};

/// Type of an operand format.
pub fn operand_type(operand: OperandSpec) -> Type {
    Type {
        width: operand.bits,
        signed: operand.signed,
    }
}

/// `pe_ws_ai8_wi8_acc32`: the dataflow, the PE kind (`_bs` when bit-serial), both operand
/// formats and the accumulator width.
pub fn module_name(dataflow: Dataflow, spec: &PeSpec) -> String {
    format!(
        "pe_{}{}_a{}_w{}_acc{}",
        dataflow.tag(),
        spec.kind.tag(),
        spec.act.tag(),
        spec.weight.tag(),
        spec.acc_bits
    )
}

/// The product of an activation and a weight as a signed value, whatever their signedness: mixed
/// operands are both widened to signed first, so the product is exact.
pub fn signed_product(act: &Expr, weight: &Expr) -> Expr {
    let product = if act.ty().signed == weight.ty().signed {
        act * weight
    } else {
        act.to_signed_value() * weight.to_signed_value()
    };
    product.to_signed_value()
}

/// Which GEMM operand: the activations (A) or the weights (B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperandKind {
    Act,
    Weight,
}

impl OperandKind {
    /// `act` or `weight`: the prefix of every port and register that carries it.
    pub fn prefix(self) -> &'static str {
        match self {
            OperandKind::Act => "act",
            OperandKind::Weight => "weight",
        }
    }

    /// The word in port descriptions: "activation" or "weight".
    pub fn noun(self) -> &'static str {
        match self {
            OperandKind::Act => "activation",
            OperandKind::Weight => "weight",
        }
    }
}

/// One GEMM operand and its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operand {
    pub kind: OperandKind,
    pub spec: OperandSpec,
}

impl Operand {
    /// The prefix of its ports and registers (`act`, `weight`).
    pub fn name(&self) -> &'static str {
        self.kind.prefix()
    }
}

/// Which operand a stationary-operand array holds in its PEs and which streams through them.
/// Weight-stationary holds weights and streams activations; input-stationary is the same
/// structure with the roles swapped (it computes the transposed product).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub dataflow: Dataflow,
    pub stationary: Operand,
    pub stream: Operand,
}

impl Roles {
    /// The roles of a stationary-operand dataflow; `None` for output- and row-stationary.
    pub fn of(dataflow: Dataflow, pe: &PeSpec) -> Option<Roles> {
        let act = Operand {
            kind: OperandKind::Act,
            spec: pe.act,
        };
        let weight = Operand {
            kind: OperandKind::Weight,
            spec: pe.weight,
        };
        match dataflow {
            Dataflow::WeightStationary => Some(Roles {
                dataflow,
                stationary: weight,
                stream: act,
            }),
            Dataflow::InputStationary => Some(Roles {
                dataflow,
                stationary: act,
                stream: weight,
            }),
            Dataflow::OutputStationary | Dataflow::RowStationary => None,
        }
    }

    /// The product of the two operands, whichever of them is stationary.
    pub fn product(&self, stationary: &Expr, stream: &Expr) -> Expr {
        if self.stationary.kind == OperandKind::Act {
            signed_product(stationary, stream)
        } else {
            signed_product(stream, stationary)
        }
    }
}
