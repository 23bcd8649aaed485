//! Failures are clear errors (or, for Verilog `$fatal`, a panic with the message), never an
//! abort of the test process and never a silent pass.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use accelgen_sim::{Model, ModelSpec, SimError};

#[test]
fn missing_verilator_names_the_install_command() {
    let cache = tempfile::tempdir().unwrap();
    let spec = common::counter_spec()
        .cache_dir(cache.path())
        .verilator_binary("/nonexistent/bin/verilator");
    let error = Model::build(&spec).unwrap_err();
    assert!(
        matches!(error, SimError::VerilatorNotFound { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with("verilator not found on PATH"),
        "{message}"
    );
    assert!(
        message
            .contains("install it with `sudo apt-get install verilator` (or run scripts/setup.sh)"),
        "{message}"
    );
    assert!(message.contains("/nonexistent/bin/verilator"), "{message}");
}

#[test]
fn unknown_port_error_lists_the_ports() {
    let model = Model::build(&common::counter_spec()).unwrap();
    let message = model.port("cnt").unwrap_err().to_string();
    assert_eq!(
        message,
        "top `counter` has no port `cnt`; its ports are: input clk [1], input reset [1], \
         input enable [1], output count [8]"
    );
}

#[test]
fn port_list_that_disagrees_with_the_verilog_is_refused_before_compiling() {
    let cache = tempfile::tempdir().unwrap();
    let mut spec = common::counter_spec().cache_dir(cache.path());
    spec.ports[3].width = 16;
    let message = Model::build(&spec).unwrap_err().to_string();
    assert!(
        message.contains("spec says `count` is a 16-bit output, the Verilog has a 8-bit output"),
        "{message}"
    );
}

#[test]
fn verilator_syntax_error_reports_command_output_and_log() {
    let cache = tempfile::tempdir().unwrap();
    let spec = ModelSpec::new("broken")
        .source(common::fixture("broken.v"))
        .input("a", 1)
        .output("y", 1)
        .cache_dir(cache.path());
    let error = Model::build(&spec).unwrap_err();
    let SimError::CommandFailed {
        step,
        command,
        tail,
        log,
        ..
    } = &error
    else {
        panic!("expected CommandFailed, got {error:?}");
    };
    assert_eq!(*step, "verilator");
    assert!(command.contains("--top-module broken"), "{command}");
    assert!(tail.contains("broken.v"), "{tail}");
    assert!(log.is_file(), "log {} must be kept", log.display());
}

#[test]
fn missing_source_file_is_named() {
    let spec = ModelSpec::new("counter").source("/no/such/counter.v");
    let message = Model::build(&spec).unwrap_err().to_string();
    assert_eq!(
        message,
        "Verilog source `/no/such/counter.v` does not exist or is not a file"
    );
}

#[test]
fn verilog_finish_sets_finished() {
    let mut model = Model::build(&common::stopper_spec()).unwrap();
    let clock = model.port("clk").unwrap();
    model.step(clock);
    assert!(!model.finished());
    model.poke_by_name("finish", 1).unwrap();
    model.step(clock);
    assert!(model.finished());
    model.step(clock); // a second $finish must not exit the process
}

#[test]
fn verilog_fatal_panics_with_its_message_instead_of_aborting() {
    let mut model = Model::build(&common::stopper_spec()).unwrap();
    let clock = model.port("clk").unwrap();
    model.poke_by_name("fail", 1).unwrap();
    let panic = catch_unwind(AssertUnwindSafe(|| model.step(clock))).unwrap_err();
    let message = panic.downcast::<String>().unwrap();
    assert!(
        message.contains("Verilog model `stopper` stopped at cycle 1"),
        "{message}"
    );
    assert!(message.contains("stopper.v"), "{message}");
}
