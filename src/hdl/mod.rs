//! The hardware-construction DSL: types, expressions, the module IR, its builder, FSMs and the
//! design-rule checks.
//!
//! Blocks describe hardware with [`ModuleBuilder`]; [`Design::add`] checks each module (widths,
//! drivers, reads, loops) so that what reaches the emitter is known-good. Nothing here knows about
//! accelerators or Verilog text.

pub mod builder;
pub mod check;
pub mod error;
pub mod expr;
pub mod fsm;
pub mod ir;
pub mod naming;
pub mod types;

pub use builder::{add_module, InstanceHandle, Mem, ModuleBuilder, Reg, Wire, CLOCK, RESET};
pub use error::HdlError;
pub use expr::{lane, pack_lanes, Expr, ExprKind, SignalId};
pub use fsm::Fsm;
pub use ir::{Design, Module, ModuleId, SignalKind};
pub use types::{bits_for, clog2, Type};
