//! Every construct of the DSL emits Verilog that Verilator's `-Wall` lint and Yosys accept: a
//! module exercising memories (with a registered read), an FSM, signed comparisons, arithmetic
//! shifts, wrap-around arithmetic, concatenation, muxes, sinks and an instance; and every block
//! variant whose optional logic depends on its parameters (arrays at degenerate shapes,
//! post-process units with narrow and wide accumulators, buffered cores with one bank or several
//! per region).

use std::fs;
use std::process::Command;

use accelgen::blocks::{build_design, pe_array, post_process};
use accelgen::config::{
    AcceleratorSpec, BufferSpec, BuffersSpec, Dataflow, OperandSpec, PeArraySpec, PeKind, PeSpec,
    SerialMode,
};
use accelgen::emit::{render_design, Banner};
use accelgen::hdl::{Design, Expr, Fsm, ModuleBuilder, Type};

fn kitchen_sink() -> Design {
    let mut design = Design::new();

    let mut child = ModuleBuilder::new("saturating_add_u8");
    let a = child.input("a", Type::unsigned(8));
    let b = child.input("b", Type::unsigned(8));
    let sum = child.wire("sum", &(&a + &b));
    let max = Expr::constant(255, Type::unsigned(8));
    child.output("y", &sum.msb().select(&max, &sum.truncate(8)));
    let child_id = design.add(child.finish().unwrap()).unwrap();

    let mut m = ModuleBuilder::new("dsl_kitchen_sink");
    m.doc("Exercises every DSL construct for the lint test.");
    m.parameter("DEPTH", 16);
    let write_enable = m.input("write_enable", Type::bit());
    let address = m.input("address", Type::unsigned(4));
    let data = m.input("data", Type::signed(12));
    let shift = m.input("shift", Type::unsigned(3));
    let start = m.input("start", Type::bit());

    let memory = m.memory("scratch", Type::signed(12), 16);
    m.write(&memory, &write_enable, &address, &data);
    let read = m.pipe("read", &memory.read(&address));

    let negative = m.wire("negative", &read.lt(&Expr::zero(Type::signed(12))));
    let shifted = m.wire("shifted", &read.shr(&shift));
    let difference = m.wire("difference", &(&read - &data));
    let wrapped = (&difference + &Expr::constant(-3, Type::signed(13))).truncate(13);

    let mut fsm = Fsm::new(&mut m, "phase", &["idle", "run", "drain"]);
    fsm.transition("idle", &start, "run")
        .transition("run", &negative, "drain")
        .transition("drain", &Expr::bit(true), "idle");
    let running = fsm.is("run");
    fsm.finish(&mut m);

    let instance = m.instance("u_add", &design, child_id);
    m.connect(instance, "a", &shifted.slice(7, 0));
    m.connect(instance, "b", &wrapped.slice(7, 0));
    let saturated = m.connect_output(instance, "y");

    m.output("running", &running);
    m.output("flags", &Expr::concat(&[negative.clone(), saturated]));
    m.sink(
        &Expr::concat(&[shifted.slice(11, 8), wrapped.slice(12, 8)]),
        "upper bits only matter to a wider consumer",
    );
    let top = design.add(m.finish().unwrap()).unwrap();
    design.set_top(top);
    design
}

/// Lints `design` with `verilator --lint-only -Wall` (zero warnings) and synthesizes it in Yosys
/// with `check -assert` and no latch; panics with the tool's log otherwise.
fn assert_lint_and_synth_clean(design: &Design, name: &str) {
    let top = design.module(design.top().unwrap()).name.clone();
    let banner = Banner {
        tool_version: "test".into(),
        config_name: name.into(),
        config_hash: "0".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for file in render_design(design, &banner) {
        let path = dir.path().join(&file.file_name);
        fs::write(&path, &file.contents).unwrap();
        paths.push(path.to_str().unwrap().to_owned());
    }
    let lint = Command::new("verilator")
        .args(["--lint-only", "-Wall", "--top-module", &top])
        .args(&paths)
        .output()
        .expect("verilator runs (install: sudo apt-get install verilator, or scripts/setup.sh)");
    let log = String::from_utf8_lossy(&lint.stderr);
    assert!(
        lint.status.success() && !log.contains("%Warning"),
        "{name}: {log}"
    );

    let script = format!(
        "read_verilog {}; synth -top {top}; check -assert; select -assert-none t:$_DLATCH*",
        paths.join(" ")
    );
    let synth = Command::new("yosys")
        .args(["-q", "-p", &script])
        .output()
        .expect("yosys runs (install: sudo apt-get install yosys, or scripts/setup.sh)");
    assert!(
        synth.status.success(),
        "{name}: {}{}",
        String::from_utf8_lossy(&synth.stdout),
        String::from_utf8_lossy(&synth.stderr)
    );
}

#[test]
fn every_dsl_construct_emits_verilog_clean_under_verilator_wall_and_yosys() {
    assert_lint_and_synth_clean(&kitchen_sink(), "kitchen_sink");
}

#[test]
fn arrays_of_every_dataflow_at_degenerate_shapes_lint_and_synthesize_clean() {
    // Shapes that switch optional logic on and off: one row (no OS tile spacing or drain
    // schedule), one column (no de-skew), two rows (the shortest drain).
    let i8 = OperandSpec {
        bits: 8,
        signed: true,
    };
    let u4 = OperandSpec {
        bits: 4,
        signed: false,
    };
    for dataflow in [
        Dataflow::WeightStationary,
        Dataflow::OutputStationary,
        Dataflow::InputStationary,
    ] {
        for (rows, cols, act) in [(1, 1, i8), (1, 3, u4), (2, 1, i8), (3, 2, u4)] {
            let array = PeArraySpec {
                rows,
                cols,
                dataflow,
            };
            let spec = AcceleratorSpec::for_array("lint_top", array, act, i8, 18);
            let design = build_design(&spec).unwrap();
            assert_lint_and_synth_clean(&design, &format!("{dataflow:?} {rows}x{cols}"));
        }
    }
}

#[test]
fn pragmatic_and_zero_gating_arrays_at_degenerate_shapes_lint_and_synthesize_clean() {
    // Both take centred activations (a − a_zp: one bit wider, signed); one row has no drain
    // to space, a 5-bit centred activation the narrowest Pragmatic shifts.
    let i8 = OperandSpec {
        bits: 8,
        signed: true,
    };
    let centred = |bits| OperandSpec { bits, signed: true };
    for (rows, cols, act) in [
        (1, 1, centred(9)),
        (1, 3, centred(5)),
        (2, 1, centred(9)),
        (3, 2, centred(5)),
    ] {
        let array = PeArraySpec {
            rows,
            cols,
            dataflow: Dataflow::OutputStationary,
        };
        for (kind, gate_zeros) in [
            (PeKind::BitSerial(SerialMode::Pragmatic), false),
            (PeKind::Parallel, true),
        ] {
            let pe = PeSpec {
                kind,
                act,
                weight: i8,
                acc_bits: 20,
            };
            let mut design = Design::new();
            let top = pe_array::build(&array, &pe, gate_zeros, &mut design).unwrap();
            design.set_top(top);
            assert_lint_and_synth_clean(
                &design,
                &format!("{kind:?} gating {gate_zeros} {rows}x{cols}"),
            );
        }
    }
}

#[test]
fn post_process_units_lint_and_synthesize_clean_for_narrow_and_wide_accumulators() {
    for (lanes, acc_bits) in [(1, 20), (2, 32), (3, 40)] {
        let mut design = Design::new();
        let top = post_process::build(lanes, acc_bits, &mut design).unwrap();
        design.set_top(top);
        assert_lint_and_synth_clean(&design, &post_process::module_name(lanes, acc_bits));
    }
}

#[test]
fn buffered_gemm_cores_lint_and_synthesize_clean() {
    let i8 = OperandSpec {
        bits: 8,
        signed: true,
    };
    // Power-of-two and odd buffer depths, one and several rows. Each core takes Yosys half a
    // minute, so they run side by side (the tools are single-threaded).
    let cores = [(2, 3, 16, 12, 8), (1, 1, 5, 3, 3), (4, 2, 64, 32, 17)];
    std::thread::scope(|scope| {
        let handles: Vec<_> = cores
            .into_iter()
            .map(|(rows, cols, ifmap, weight, psum)| {
                scope.spawn(move || {
                    let array = PeArraySpec {
                        rows,
                        cols,
                        dataflow: Dataflow::WeightStationary,
                    };
                    let mut spec = AcceleratorSpec::for_array("lint_core", array, i8, i8, 20);
                    let region = |word_bits: u32, depth: u64| BufferSpec {
                        word_bits,
                        depth,
                        banks: 1,
                        bank_depth: depth,
                        bank_address_bits: 1,
                        address_bits: 1,
                        double_buffered: false,
                    };
                    spec.buffers = Some(BuffersSpec {
                        ifmap: region(rows * 8, ifmap),
                        weight: region(cols * 8, weight),
                        psum: region(cols * 20, psum),
                        ofmap: region(cols * 32, psum),
                        memory: Default::default(),
                        // Window mode included: its walker must lint and synthesize cleanly.
                        im2col: accelgen::config::Im2col::Hardware,
                        dma: accelgen::config::DmaSpec::default(),
                        dram: accelgen::config::DramSpec::default(),
                    });
                    let design = build_design(&spec).unwrap();
                    assert_lint_and_synth_clean(&design, &format!("core {rows}x{cols}"));
                })
            })
            .collect();
        // Every core finishes; the first failure is the test's.
        let panics: Vec<_> = handles.into_iter().filter_map(|h| h.join().err()).collect();
        if let Some(panic) = panics.into_iter().next() {
            std::panic::resume_unwind(panic);
        }
    });
}

/// A region as config validation derives it: `depth` words in `banks` banks, maybe in halves.
fn region(word_bits: u32, depth: u64, banks: u32, double_buffered: bool) -> BufferSpec {
    let bits = |words: u64| (64 - (words - 1).leading_zeros()).max(1);
    let bank_depth = depth / u64::from(banks);
    BufferSpec {
        word_bits,
        depth,
        banks,
        bank_depth,
        bank_address_bits: bits(bank_depth),
        address_bits: bits(depth),
        double_buffered,
    }
}

#[test]
fn banked_gemm_cores_lint_and_synthesize_clean() {
    let i8 = OperandSpec {
        bits: 8,
        signed: true,
    };
    // (dataflow, rows, cols, (depth, banks) of ifmap, weight, psum and ofmap, double-buffered).
    // Power-of-two bank depths (top address bits), odd ones (comparisons), one-word banks
    // (registers), and halves whose boundary falls inside a bank.
    type Core = (Dataflow, u32, u32, [(u64, u32); 4], bool);
    let cores: [Core; 3] = [
        (
            Dataflow::WeightStationary,
            2,
            3,
            [(16, 2), (18, 3), (8, 2), (8, 2)],
            false,
        ),
        (
            Dataflow::WeightStationary,
            2,
            2,
            [(24, 3), (16, 4), (8, 1), (20, 2)],
            true,
        ),
        (
            Dataflow::OutputStationary,
            2,
            2,
            [(12, 2), (8, 4), (4, 4), (4, 4)],
            false,
        ),
    ];
    std::thread::scope(|scope| {
        let handles: Vec<_> = cores
            .into_iter()
            .map(|(dataflow, rows, cols, regions, double)| {
                scope.spawn(move || {
                    let array = PeArraySpec {
                        rows,
                        cols,
                        dataflow,
                    };
                    let mut spec = AcceleratorSpec::for_array("lint_banked", array, i8, i8, 20);
                    let [ifmap, weight, psum, ofmap] = regions;
                    spec.buffers = Some(BuffersSpec {
                        ifmap: region(rows * 8, ifmap.0, ifmap.1, double),
                        weight: region(cols * 8, weight.0, weight.1, double),
                        psum: region(cols * 20, psum.0, psum.1, false),
                        ofmap: region(cols * 32, ofmap.0, ofmap.1, double),
                        memory: Default::default(),
                        im2col: if dataflow == Dataflow::WeightStationary {
                            accelgen::config::Im2col::Hardware
                        } else {
                            accelgen::config::Im2col::Host
                        },
                        dma: accelgen::config::DmaSpec::default(),
                        dram: accelgen::config::DramSpec::default(),
                    });
                    let design = build_design(&spec).unwrap();
                    let what = format!("banked {dataflow:?} core {rows}x{cols} {regions:?}");
                    assert_lint_and_synth_clean(&design, &what);
                })
            })
            .collect();
        let panics: Vec<_> = handles.into_iter().filter_map(|h| h.join().err()).collect();
        if let Some(panic) = panics.into_iter().next() {
            std::panic::resume_unwind(panic);
        }
    });
}
