//! The construction DSL's contract: widths are checked when a design is built, every design rule
//! fires on a design that breaks it, identical modules are emitted once, and the emitted Verilog of
//! a PE is stable (snapshots at two parameter points).

use accelgen::blocks::pe;
use accelgen::config::{Dataflow, OperandSpec, PeKind, PeSpec};
use accelgen::emit::{render_module, Banner};
use accelgen::hdl::{Design, Expr, Fsm, HdlError, ModuleBuilder, Type};

fn problems(result: Result<accelgen::hdl::ModuleId, HdlError>) -> Vec<String> {
    match result {
        Err(HdlError::DesignRules { problems, .. }) => problems,
        other => panic!("expected design-rule problems, got {other:?}"),
    }
}

fn add(builder: ModuleBuilder) -> Result<accelgen::hdl::ModuleId, HdlError> {
    let mut design = Design::new();
    design.add(builder.finish()?)
}

#[test]
fn width_mismatch_names_module_signal_and_both_widths() {
    let mut m = ModuleBuilder::new("adder");
    let a = m.input("a", Type::unsigned(8));
    let b = m.input("b", Type::unsigned(8));
    m.output_port("sum", Type::unsigned(8), None);
    let sum = m.wire_decl("sum_narrow", Type::unsigned(8));
    m.assign(&sum, &(&a + &b));
    let error = add(m).unwrap_err().to_string();
    assert!(error.contains("module `adder`"), "{error}");
    assert!(error.contains("`sum_narrow` is u8"), "{error}");
    assert!(error.contains("u9"), "{error}");
}

#[test]
fn mixed_signedness_is_rejected_with_both_operands_named() {
    let mut m = ModuleBuilder::new("mixed");
    let a = m.input("a", Type::signed(8));
    let b = m.input("b", Type::unsigned(8));
    m.output("p", &(&a * &b));
    let error = add(m).unwrap_err().to_string();
    assert!(
        error.contains("`a` (s8)") && error.contains("`b` (u8)"),
        "{error}"
    );
}

#[test]
fn undriven_wire_is_reported() {
    let mut m = ModuleBuilder::new("undriven");
    let w = m.wire_decl("floating", Type::unsigned(4));
    m.output("y", &w.value());
    let found = problems(add(m));
    assert!(
        found
            .iter()
            .any(|p| p.contains("`floating` (u4) is never driven")),
        "{found:?}"
    );
}

#[test]
fn multiply_driven_wire_is_reported() {
    let mut m = ModuleBuilder::new("multi");
    let a = m.input("a", Type::bit());
    let w = m.wire_decl("w", Type::bit());
    m.assign(&w, &a);
    m.assign(&w, &a.not());
    m.output("y", &w.value());
    let found = problems(add(m));
    assert!(
        found.iter().any(|p| p.contains("`w` is driven 2 times")),
        "{found:?}"
    );
}

#[test]
fn register_without_next_value_is_reported() {
    let mut m = ModuleBuilder::new("stuck");
    let r = m.reg("state", Type::unsigned(2));
    m.output("y", &r.q());
    let found = problems(add(m));
    assert!(
        found
            .iter()
            .any(|p| p.contains("`state_q` has no next value")),
        "{found:?}"
    );
}

#[test]
fn unread_input_and_unread_bits_are_reported() {
    let mut m = ModuleBuilder::new("unread");
    let _ignored = m.input("ignored", Type::bit());
    let half = m.input("half", Type::unsigned(8));
    m.output("y", &half.slice(3, 0));
    let found = problems(add(m));
    assert!(
        found.iter().any(|p| p.contains("`ignored` is never read")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("`half` has bits never read: [7:4]")),
        "{found:?}"
    );
}

#[test]
fn sinking_a_value_satisfies_the_read_check() {
    let mut m = ModuleBuilder::new("sunk");
    let a = m.input("a", Type::unsigned(8));
    m.output("y", &a.slice(3, 0));
    m.sink(&a.slice(7, 4), "upper nibble reserved");
    assert!(add(m).is_ok());
}

#[test]
fn unconnected_instance_port_is_reported() {
    let mut design = Design::new();
    let mut child = ModuleBuilder::new("child");
    let a = child.input("a", Type::bit());
    let b = child.input("b", Type::bit());
    child.output("y", &a.and(&b));
    let child_id = design.add(child.finish().unwrap()).unwrap();
    let mut parent = ModuleBuilder::new("parent");
    let x = parent.input("x", Type::bit());
    let instance = parent.instance("u_child", &design, child_id);
    parent.connect(instance, "a", &x);
    let y = parent.connect_output(instance, "y");
    parent.output("y", &y);
    match parent.finish() {
        Err(HdlError::DesignRules { problems, .. }) => assert!(
            problems
                .iter()
                .any(|p| p.contains("port `b` of instance `u_child` is not connected")),
            "{problems:?}"
        ),
        other => panic!("expected an unconnected-port error, got {other:?}"),
    }
}

#[test]
fn instance_port_width_mismatch_is_reported() {
    let mut design = Design::new();
    let mut child = ModuleBuilder::new("child8");
    let a = child.input("a", Type::unsigned(8));
    child.output("y", &a);
    let child_id = design.add(child.finish().unwrap()).unwrap();
    let mut parent = ModuleBuilder::new("parent");
    let x = parent.input("x", Type::unsigned(4));
    let instance = parent.instance("u_child", &design, child_id);
    parent.connect(instance, "a", &x);
    let y = parent.connect_output(instance, "y");
    parent.output("y", &y);
    let error = parent.finish().unwrap_err().to_string();
    assert!(
        error.contains("`u_child.a` is u8 but is driven by `x` (u4)"),
        "{error}"
    );
}

#[test]
fn combinational_loop_within_a_module_is_reported() {
    let mut m = ModuleBuilder::new("ring");
    let a = m.input("a", Type::bit());
    let p = m.wire_decl("p", Type::bit());
    let q = m.wire_decl("q", Type::bit());
    m.assign(&p, &q.value().xor(&a));
    m.assign(&q, &p.value().not());
    m.output("y", &q.value());
    let found = problems(add(m));
    assert!(
        found.iter().any(|p| p.starts_with("combinational loop:")),
        "{found:?}"
    );
}

#[test]
fn combinational_loop_through_a_child_is_reported() {
    let mut design = Design::new();
    let mut child = ModuleBuilder::new("inverter");
    let a = child.input("a", Type::bit());
    child.output("y", &a.not());
    let child_id = design.add(child.finish().unwrap()).unwrap();
    let mut parent = ModuleBuilder::new("loop_parent");
    let feedback = parent.wire_decl("feedback", Type::bit());
    let instance = parent.instance("u_inv", &design, child_id);
    parent.connect(instance, "a", &feedback.value());
    let y = parent.connect_output(instance, "y");
    parent.assign(&feedback, &y);
    parent.output("out", &y);
    let found = problems(design.add(parent.finish().unwrap()));
    assert!(
        found.iter().any(|p| p.contains("combinational loop")),
        "{found:?}"
    );
}

#[test]
fn a_register_breaks_a_feedback_path() {
    let mut m = ModuleBuilder::new("counter");
    let count = m.reg_reset("count", Type::unsigned(4), 0);
    let next = (count.q() + Expr::constant(1, Type::unsigned(4))).truncate(4);
    m.next(&count, &next);
    m.output("count", &count.q());
    assert!(add(m).is_ok());
}

#[test]
fn identical_modules_are_kept_once_and_name_collisions_are_errors() {
    let build = |width: u32| {
        let mut m = ModuleBuilder::new("passthrough");
        let a = m.input("a", Type::unsigned(width));
        m.output("y", &a);
        m.finish().unwrap()
    };
    let mut design = Design::new();
    let first = design.add(build(8)).unwrap();
    let second = design.add(build(8)).unwrap();
    assert_eq!(first, second);
    assert_eq!(design.modules().count(), 1);
    let error = design.add(build(9)).unwrap_err();
    assert!(matches!(error, HdlError::NameCollision { ref module } if module == "passthrough"));
}

/// Builds the PE of a stationary-operand dataflow (WS or IS).
fn stationary_pe(
    dataflow: Dataflow,
    spec: &PeSpec,
    design: &mut Design,
) -> accelgen::hdl::ModuleId {
    let roles = pe::Roles::of(dataflow, spec).unwrap();
    pe::stationary::build(&roles, spec, design).unwrap()
}

#[test]
fn pe_modules_are_shared_between_identical_parameter_points() {
    let spec = pe_spec(8, true, 8, true, 32);
    let mut design = Design::new();
    let ws = Dataflow::WeightStationary;
    let first = stationary_pe(ws, &spec, &mut design);
    let second = stationary_pe(ws, &spec, &mut design);
    assert_eq!(first, second);
    let other = stationary_pe(ws, &pe_spec(4, false, 8, true, 20), &mut design);
    assert_ne!(first, other);
    assert_eq!(design.module(other).name, "pe_ws_au4_wi8_acc20");
    let input_stationary = stationary_pe(Dataflow::InputStationary, &spec, &mut design);
    assert_eq!(design.module(input_stationary).name, "pe_is_ai8_wi8_acc32");
    let output_stationary = pe::output_stationary::build(&spec, false, &mut design).unwrap();
    assert_eq!(design.module(output_stationary).name, "pe_os_ai8_wi8_acc32");
}

#[test]
fn reserved_words_and_duplicate_names_are_rejected() {
    let mut m = ModuleBuilder::new("module");
    let a = m.input("wire", Type::bit());
    let b = m.input("dup", Type::bit());
    let c = m.input("dup", Type::bit());
    m.output("y", &a.and(&b).and(&c));
    let error = m.finish().unwrap_err().to_string();
    assert!(
        error.contains("`module` is a Verilog reserved word"),
        "{error}"
    );
    assert!(
        error.contains("`wire` is a Verilog reserved word"),
        "{error}"
    );
    assert!(error.contains("`dup` is declared twice"), "{error}");
}

#[test]
fn fsm_transitions_take_priority_in_declaration_order() {
    let mut m = ModuleBuilder::new("handshake");
    let start = m.input("start", Type::bit());
    let done = m.input("done", Type::bit());
    let mut fsm = Fsm::new(&mut m, "state", &["idle", "busy", "flush"]);
    fsm.transition("idle", &start, "busy")
        .transition("busy", &done, "flush")
        .transition("flush", &Expr::bit(true), "idle");
    let busy = fsm.is("busy");
    fsm.finish(&mut m);
    m.output("busy", &busy);
    let mut design = Design::new();
    let id = design.add(m.finish().unwrap()).unwrap();
    let text = render_module(design.module(id), &design, &banner());
    assert!(
        text.contains("localparam [1:0] STATE_BUSY = 2'd1;"),
        "{text}"
    );
    assert!(text.contains("STATE_FLUSH"), "{text}");
}

fn pe_spec(
    act_bits: u32,
    act_signed: bool,
    weight_bits: u32,
    weight_signed: bool,
    acc_bits: u32,
) -> PeSpec {
    PeSpec {
        kind: PeKind::Parallel,
        act: OperandSpec {
            bits: act_bits,
            signed: act_signed,
        },
        weight: OperandSpec {
            bits: weight_bits,
            signed: weight_signed,
        },
        acc_bits,
    }
}

fn banner() -> Banner {
    Banner {
        tool_version: "test".into(),
        config_name: "snapshot".into(),
        config_hash: "0000000000000000".into(),
    }
}

fn emitted_pe(spec: &PeSpec) -> String {
    emitted_pe_of(Dataflow::WeightStationary, spec)
}

fn emitted_pe_of(dataflow: Dataflow, spec: &PeSpec) -> String {
    let mut design = Design::new();
    let id = match dataflow {
        Dataflow::OutputStationary => {
            pe::output_stationary::build(spec, false, &mut design).unwrap()
        }
        _ => stationary_pe(dataflow, spec, &mut design),
    };
    render_module(design.module(id), &design, &banner())
}

#[test]
fn pe_verilog_int8_signed_acc32_snapshot() {
    insta::assert_snapshot!(emitted_pe(&pe_spec(8, true, 8, true, 32)));
}

#[test]
fn pe_verilog_uint4_act_int8_weight_acc20_snapshot() {
    insta::assert_snapshot!(emitted_pe(&pe_spec(4, false, 8, true, 20)));
}

#[test]
fn output_stationary_pe_verilog_int8_acc32_snapshot() {
    insta::assert_snapshot!(emitted_pe_of(
        Dataflow::OutputStationary,
        &pe_spec(8, true, 8, true, 32)
    ));
}

#[test]
fn input_stationary_pe_verilog_uint8_act_int8_weight_acc24_snapshot() {
    insta::assert_snapshot!(emitted_pe_of(
        Dataflow::InputStationary,
        &pe_spec(8, false, 8, true, 24)
    ));
}
