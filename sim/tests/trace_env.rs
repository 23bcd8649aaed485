//! `ACCELGEN_TRACE=1` makes every new model write a VCD into `ACCELGEN_TRACE_DIR`. Alone in
//! its own test binary because it sets process-wide environment variables.

mod common;

use accelgen_sim::Model;

#[test]
fn accelgen_trace_environment_variable_writes_a_vcd_into_the_trace_dir() {
    let directory = tempfile::tempdir().unwrap();
    std::env::set_var("ACCELGEN_TRACE", "1");
    std::env::set_var("ACCELGEN_TRACE_DIR", directory.path());
    let mut model = Model::build(&common::counter_spec()).unwrap();
    let path = model
        .trace_path()
        .expect("tracing was requested")
        .to_path_buf();
    assert_eq!(path.parent(), Some(directory.path()));
    let clock = model.port("clk").unwrap();
    model.poke_by_name("enable", 1).unwrap();
    model.step_n(clock, 3);
    drop(model);
    std::env::remove_var("ACCELGEN_TRACE");
    std::env::remove_var("ACCELGEN_TRACE_DIR");

    let vcd = std::fs::read_to_string(&path).unwrap();
    assert!(vcd.contains("$enddefinitions"), "{vcd}");
    assert!(vcd.contains("b00000011 "), "count reaches 3: {vcd}");
}
