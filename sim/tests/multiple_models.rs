//! Several models in one process: different tops side by side, independent instances of one
//! top, and models moved to other threads.

mod common;

use accelgen_sim::Model;

#[test]
fn two_different_tops_run_side_by_side() {
    let mut counter = Model::build(&common::counter_spec()).unwrap();
    let mut adder = Model::build(&common::adder_spec()).unwrap();
    let clock = counter.port("clk").unwrap();
    let enable = counter.port("enable").unwrap();
    let count = counter.port("count").unwrap();
    let (a, b, sum) = (
        adder.port("a").unwrap(),
        adder.port("b").unwrap(),
        adder.port("sum").unwrap(),
    );
    counter.poke(enable, 1);
    for i in 0..20u64 {
        counter.step(clock);
        adder.poke(a, i);
        adder.poke(b, counter.peek(count));
        adder.eval();
        assert_eq!(adder.peek_wide(sum), vec![(2 * i + 1) as u32, 0, 0, 0]);
    }
}

#[test]
fn instances_of_the_same_top_keep_independent_state() {
    let mut first = Model::build(&common::counter_spec()).unwrap();
    let mut second = Model::build(&common::counter_spec()).unwrap();
    let mut third = first.new_instance().unwrap();
    let clock = first.port("clk").unwrap();
    let enable = first.port("enable").unwrap();
    let count = first.port("count").unwrap();
    for model in [&mut first, &mut second, &mut third] {
        model.poke(enable, 1);
    }
    first.step_n(clock, 3);
    second.step_n(clock, 11);
    third.step_n(clock, 7);
    assert_eq!(first.peek(count), 3);
    assert_eq!(second.peek(count), 11);
    assert_eq!(third.peek(count), 7);
    assert_eq!(
        (first.time(), second.time()),
        (6, 22),
        "each instance has its own time"
    );
}

#[test]
fn models_can_move_to_and_run_on_other_threads() {
    let model = Model::build(&common::counter_spec()).unwrap();
    let handles: Vec<_> = (0..2u64)
        .map(|offset| {
            let mut model = model.new_instance().unwrap();
            std::thread::spawn(move || {
                let clock = model.port("clk").unwrap();
                model.poke_by_name("enable", 1).unwrap();
                model.step_n(clock, 1000 + offset);
                model.peek_by_name("count").unwrap()
            })
        })
        .collect();
    let counts: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(counts, vec![1000 % 256, 1001 % 256]);
}
