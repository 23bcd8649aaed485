//! Explicit VCD tracing with `trace_to`.

mod common;

use accelgen_sim::{Model, SimError};

#[test]
fn trace_to_writes_a_vcd_with_the_ports_and_their_changes() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("nested").join("counter.vcd");
    let mut model = Model::build(&common::counter_spec()).unwrap();
    model.trace_to(&path).unwrap();
    assert_eq!(model.trace_path(), Some(path.as_path()));
    let clock = model.port("clk").unwrap();
    model.poke_by_name("enable", 1).unwrap();
    model.step_n(clock, 4);
    drop(model); // closes and flushes the VCD

    let vcd = std::fs::read_to_string(&path).unwrap();
    assert!(vcd.contains("$enddefinitions"), "{vcd}");
    assert!(vcd.contains(" count [7:0]"), "{vcd}");
    assert!(vcd.contains("\n#7\n"), "last half-step time is 7: {vcd}");
    assert!(vcd.contains("b00000100 "), "count reaches 4: {vcd}");
}

#[test]
fn a_second_trace_on_one_instance_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let mut model = Model::build(&common::counter_spec()).unwrap();
    model.trace_to(&directory.path().join("a.vcd")).unwrap();
    let error = model.trace_to(&directory.path().join("b.vcd")).unwrap_err();
    assert!(
        matches!(error, SimError::TraceAlreadyOpen { .. }),
        "{error}"
    );
}
