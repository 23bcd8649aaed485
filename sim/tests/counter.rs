//! The counter fixture: stepping, enable and synchronous reset behave as the Verilog says.

mod common;

use accelgen_sim::Model;

#[test]
fn counter_counts_one_per_enabled_step_and_holds_when_disabled() {
    let mut model = Model::build(&common::counter_spec()).unwrap();
    let clock = model.port("clk").unwrap();
    let enable = model.port("enable").unwrap();
    let count = model.port("count").unwrap();

    model.poke(enable, 1);
    model.step_n(clock, 37);
    assert_eq!(model.peek(count), 37);
    assert_eq!(model.cycles(), 37);
    assert_eq!(model.time(), 74, "each step is two time units");

    model.poke(enable, 0);
    model.step_n(clock, 5);
    assert_eq!(model.peek(count), 37);

    model.poke(enable, 1);
    model.step_n(clock, 300 - 37);
    assert_eq!(model.peek(count), 300 % 256, "8-bit count wraps");
}

#[test]
fn synchronous_reset_clears_on_the_next_edge_and_wins_over_enable() {
    let mut model = Model::build(&common::counter_spec()).unwrap();
    let clock = model.port("clk").unwrap();
    let reset = model.port("reset").unwrap();
    let enable = model.port("enable").unwrap();
    let count = model.port("count").unwrap();

    model.poke(enable, 1);
    model.step_n(clock, 10);
    model.poke(reset, 1);
    model.eval();
    assert_eq!(
        model.peek(count),
        10,
        "reset is synchronous: no effect before the edge"
    );
    model.step(clock);
    assert_eq!(model.peek(count), 0);
    model.step(clock);
    assert_eq!(
        model.peek(count),
        0,
        "reset held with enable high keeps the count at 0"
    );
    model.poke(reset, 0);
    model.step_n(clock, 3);
    assert_eq!(model.peek(count), 3);
}

#[test]
fn ports_can_be_driven_by_name() {
    let mut model = Model::build(&common::counter_spec()).unwrap();
    let clock = model.port("clk").unwrap();
    model.poke_by_name("enable", 1).unwrap();
    model.step_n(clock, 4);
    assert_eq!(model.peek_by_name("count").unwrap(), 4);
    assert_eq!(model.peek_by_name("enable").unwrap(), 1, "inputs read back");
}
