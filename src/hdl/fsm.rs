//! Finite-state machines: a state register with named states and prioritised transitions.
//!
//! The states become `localparam`s (`<FSM>_<STATE>`) in the RTL, so the emitted next-state logic
//! reads in state names, and the reset state is the first one listed.

use std::rc::Rc;

use super::builder::{ModuleBuilder, Reg};
use super::expr::{Expr, ExprKind};
use super::types::{clog2, Type};

/// An FSM under construction: declare transitions, then [`Fsm::finish`].
pub struct Fsm {
    register: Reg,
    ty: Type,
    states: Vec<(String, u64)>,
    transitions: Vec<(usize, Expr, usize)>,
    prefix: String,
}

impl Fsm {
    /// Declares `<name>_q` with one binary-encoded value per state; it resets to `states[0]`.
    pub fn new(builder: &mut ModuleBuilder, name: &str, states: &[&str]) -> Fsm {
        let ty = Type::unsigned(clog2(states.len().max(2) as u64));
        let register = builder.reg_reset(name, ty, 0);
        let prefix = name.to_ascii_uppercase();
        let states: Vec<(String, u64)> = states
            .iter()
            .enumerate()
            .map(|(index, state)| {
                (
                    format!("{prefix}_{}", state.to_ascii_uppercase()),
                    index as u64,
                )
            })
            .collect();
        builder.state_encoding(&register, states.clone());
        Fsm {
            register,
            ty,
            states,
            transitions: Vec::new(),
            prefix,
        }
    }

    fn index(&self, state: &str) -> usize {
        let full = format!("{}_{}", self.prefix, state.to_ascii_uppercase());
        self.states
            .iter()
            .position(|(name, _)| *name == full)
            .unwrap_or_else(|| panic!("FSM `{}` has no state `{state}`", self.prefix))
    }

    fn constant(&self, index: usize) -> Expr {
        let (name, value) = &self.states[index];
        Expr::new(
            self.ty,
            ExprKind::NamedConst {
                name: Rc::from(name.as_str()),
                value: *value,
            },
        )
    }

    /// The current state register.
    pub fn q(&self) -> Expr {
        self.register.q()
    }

    /// One bit: the FSM is in `state`.
    pub fn is(&self, state: &str) -> Expr {
        self.q().eq(&self.constant(self.index(state)))
    }

    /// From `from`, go to `to` when `condition` holds. Earlier transitions take priority.
    pub fn transition(&mut self, from: &str, condition: &Expr, to: &str) -> &mut Self {
        let (from, to) = (self.index(from), self.index(to));
        self.transitions.push((from, condition.clone(), to));
        self
    }

    /// Drives the state register: the first transition whose source is current and whose
    /// condition holds wins; otherwise the state holds.
    pub fn finish(self, builder: &mut ModuleBuilder) -> Expr {
        let mut next = self.q();
        for (from, condition, to) in self.transitions.iter().rev() {
            let taken = self.q().eq(&self.constant(*from)).and(condition);
            next = taken.select(&self.constant(*to), &next);
        }
        builder.next(&self.register, &next);
        self.q()
    }
}
