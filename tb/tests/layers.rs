//! Real layers of real networks through the RTL: every TFLite Micro bundle in `../shared/vectors`
//! (ResNet-8 and DS-CNN, int8) lowered to GEMMs must equal TFLite Micro's output exactly, run on
//! the datapath (the PE array of each dataflow and the post-process unit) and on the buffered
//! core (from its buffers, with K-fold accumulation and requantization inside, reductions split
//! over several runs when the buffers are small); the RTL cycles must equal the cycle model's.

use std::path::{Path, PathBuf};

use accelgen::config::{AcceleratorSpec, Dataflow, OperandSpec};
use accelgen::golden::layer::PerChannel;
use accelgen::golden::{self, compare, Dtype, LayerBundle, RequantMode, Tensor};
use accelgen::report::schedule::Scope;
use accelgen::report::traffic;
use accelgen::report::workload;
use accelgen_tb::array::{array_spec, int8_spec};
use accelgen_tb::checks::narrowed;
use accelgen_tb::core::{
    bit_serial, core_spec, core_spec_for, double_buffered, pragmatic, weight_skipping, zero_gating,
    zero_skipping,
};
use accelgen_tb::dram::{DramTiming, Jitter};
use accelgen_tb::layer::{CoreBench, DatapathBench, Lowering};
use accelgen_tb::Traffic;

const I8: OperandSpec = OperandSpec {
    bits: 8,
    signed: true,
};
const U8: OperandSpec = OperandSpec {
    bits: 8,
    signed: false,
};

fn bundles() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/tflm");
    let mut directories: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .flat_map(|model| std::fs::read_dir(model.unwrap().path()).unwrap())
        .map(|layer| layer.unwrap().path())
        .filter(|path| path.join("layer.yaml").is_file())
        .collect();
    directories.sort();
    assert!(
        directories.len() >= 20,
        "found {} bundles",
        directories.len()
    );
    directories
}

/// Runs every bundle on `dataflow`'s 8×8 array with `traffic`; panics listing each layer that
/// differs from TFLite Micro (with its first mismatches) or whose cycles miss the model.
fn every_layer_matches_tflite_micro(dataflow: Dataflow, traffic: &Traffic) {
    let spec = int8_spec(dataflow, 8, 8);
    let mut bench = DatapathBench::new(&spec).unwrap();
    let mut failures = Vec::new();
    for directory in bundles() {
        let bundle = LayerBundle::load(&directory).unwrap();
        let run = bench
            .run(&bundle, traffic)
            .unwrap_or_else(|e| panic!("{}: {e}", directory.display()));
        let expected = bundle
            .expected
            .as_ref()
            .expect("TFLM bundles carry expected.npy");
        let comparison = compare(expected, &run.output).unwrap();
        if !comparison.is_exact() {
            failures.push(format!("{}: {comparison}", bundle.name));
        }
        if *traffic == Traffic::full_rate() && run.rtl_cycles != run.model_cycles {
            failures.push(format!(
                "{}: array took {} cycles, the model predicts {}",
                bundle.name, run.rtl_cycles, run.model_cycles
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_tflm_layer_matches_tflite_micro_exactly_on_the_weight_stationary_datapath() {
    every_layer_matches_tflite_micro(Dataflow::WeightStationary, &Traffic::full_rate());
}

#[test]
fn every_tflm_layer_matches_tflite_micro_exactly_on_the_output_stationary_datapath() {
    every_layer_matches_tflite_micro(Dataflow::OutputStationary, &Traffic::full_rate());
}

#[test]
fn every_tflm_layer_matches_tflite_micro_exactly_on_the_input_stationary_datapath() {
    every_layer_matches_tflite_micro(Dataflow::InputStationary, &Traffic::full_rate());
}

#[test]
fn every_tflm_layer_still_matches_under_random_back_pressure() {
    every_layer_matches_tflite_micro(
        Dataflow::WeightStationary,
        &Traffic::random(77, 0.7, 0.8, 0.6),
    );
}

/// `resnet8/op06_conv_2d` (a strided 1×1 conv) changed to raw int32 outputs with per-channel
/// weight zero points and, if `unsigned_input`, uint8 activations (x + 128, zero point + 128).
fn raw_variant(unsigned_input: bool) -> LayerBundle {
    let directory = bundles()
        .into_iter()
        .find(|d| d.ends_with("resnet8/op06_conv_2d"))
        .unwrap();
    let mut bundle = LayerBundle::load(&directory).unwrap();
    let channels = *bundle.output_shape.last().unwrap();
    bundle.params.weight_zero_point =
        PerChannel::PerChannel((0..channels).map(|c| (c as i32 % 7) - 3).collect());
    bundle.params.requant = RequantMode::None;
    bundle.params.output = None;
    bundle.output_dtype = Dtype::Int32;
    if unsigned_input {
        let shifted: Vec<i32> = bundle.input.as_slice().iter().map(|x| x + 128).collect();
        bundle.input = Tensor::from_vec(Dtype::Uint8, bundle.input.shape(), shifted).unwrap();
        bundle.params.input_zero_point += 128;
    }
    bundle.expected = None;
    bundle
}

#[test]
fn weight_zero_points_raw_int32_outputs_and_uint8_inputs_match_golden_on_the_datapath() {
    for (unsigned_input, act) in [(false, I8), (true, U8)] {
        let bundle = raw_variant(unsigned_input);
        let expected = golden::run_layer(&bundle).unwrap();
        assert_eq!(expected.dtype(), Dtype::Int32);
        let spec = array_spec(Dataflow::WeightStationary, 4, 4, act, I8, 32);
        let run = DatapathBench::new(&spec)
            .unwrap()
            .run(&bundle, &Traffic::random(3, 0.8, 0.8, 0.7))
            .unwrap();
        let comparison = compare(&expected, &run.output).unwrap();
        assert!(
            comparison.is_exact(),
            "uint8 input {unsigned_input}: {comparison}"
        );
    }
}

#[test]
fn weight_zero_points_fold_into_the_weights_on_ws_and_os_cores_with_uint8_inputs_and_raw_outputs() {
    // w − w_zp needs a ninth bit in general: 9-bit signed weights hold it for any zero point.
    let i9 = OperandSpec {
        bits: 9,
        signed: true,
    };
    for dataflow in [Dataflow::WeightStationary, Dataflow::OutputStationary] {
        for (unsigned_input, act) in [(false, I8), (true, U8)] {
            let bundle = raw_variant(unsigned_input);
            let expected = golden::run_layer(&bundle).unwrap();
            let mut spec = core_spec_for(dataflow, 4, 4, 1024, 1024, 256);
            spec.name = format!("{}_{}_w9", spec.name, act.tag());
            spec.pe.act = act;
            spec.pe.weight = i9;
            let buffers = spec.buffers.as_mut().unwrap();
            buffers.ifmap.word_bits = 4 * act.bits;
            buffers.weight.word_bits = 4 * i9.bits;
            let run = CoreBench::new(&spec)
                .unwrap()
                .run(&bundle, DETERMINISTIC)
                .unwrap();
            let comparison = compare(&expected, &run.output).unwrap();
            assert!(
                comparison.is_exact(),
                "{dataflow:?}, uint8 input {unsigned_input}: {comparison}"
            );
            assert_eq!(run.rtl_cycles, run.model_cycles, "{dataflow:?}");
        }
    }
}

#[test]
fn a_core_with_8_bit_weights_refuses_zero_points_whose_folded_weights_need_9_bits() {
    let mut bundle = raw_variant(false);
    bundle.params.weight_zero_point = PerChannel::PerTensor(-128);
    let spec = core_spec(4, 4, 1024, 1024, 256);
    let error = CoreBench::new(&spec)
        .unwrap()
        .run(&bundle, DETERMINISTIC)
        .unwrap_err()
        .to_string();
    assert!(error.contains("w − w_zp"), "{error}");
    assert!(error.contains("8-bit signed weights"), "{error}");
    assert!(error.contains("9 signed bits"), "{error}");
}

/// Runs every bundle on the buffered core of `spec`; panics listing each layer that differs
/// from TFLite Micro or whose cycles miss `golden::cycles`. Returns the layers that ran in
/// window mode.
fn every_layer_matches_tflite_micro_on_the_core(spec: &AcceleratorSpec) -> Vec<String> {
    every_layer_on_the_core(spec).windowed
}

/// What [`every_layer_on_the_core`] saw besides the checks it makes.
struct Seen {
    /// Layers that ran in window mode.
    windowed: Vec<String>,
    /// Over all layers: activation beats into the array, psum reads (accumulating runs) and
    /// gated MACs.
    act_beats: u64,
    psum_reads: u64,
    gated_macs: u64,
}

/// Runs every TFLM layer on `spec`'s core and checks it against TFLite Micro, the cycle model
/// and the traffic model.
fn every_layer_on_the_core(spec: &AcceleratorSpec) -> Seen {
    let mut bench = CoreBench::new(spec).unwrap();
    let mut failures = Vec::new();
    let mut windowed = Vec::new();
    let (mut act_beats, mut psum_reads, mut gated_macs) = (0, 0, 0);
    for directory in bundles() {
        let bundle = LayerBundle::load(&directory).unwrap();
        let run = bench
            .run(&bundle, DETERMINISTIC)
            .unwrap_or_else(|e| panic!("{}: {e}", directory.display()));
        let comparison = compare(bundle.expected.as_ref().unwrap(), &run.output).unwrap();
        if !comparison.is_exact() {
            failures.push(format!("{}: {comparison}", bundle.name));
        }
        if run.lowering == Lowering::Window {
            windowed.push(bundle.name.clone());
        }
        if run.rtl_cycles != run.model_cycles {
            failures.push(format!(
                "{}: core took {} cycles, the model predicts {}",
                bundle.name, run.rtl_cycles, run.model_cycles
            ));
        }
        // The traffic (so the energy) the report models is what the core's counters measure.
        let shape = workload::from_bundle(&directory, spec.pe_array.cols as usize).unwrap();
        let model = traffic::layer_traffic(spec, Scope::Core, &shape).unwrap();
        let counter = |name: &str| {
            run.counters
                .iter()
                .find(|(counter, _)| *counter == name)
                .unwrap()
                .1
        };
        act_beats += counter("perf_act_beats");
        gated_macs += counter("perf_gated_macs");
        psum_reads += counter("perf_psum_reads");
        let measured = traffic::from_counters(spec, &counter, &model);
        if measured != model {
            failures.push(format!(
                "{}: counters measure {measured:?}, the model has {model:?}",
                bundle.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Seen {
        windowed,
        act_beats,
        psum_reads,
        gated_macs,
    }
}

#[test]
fn every_tflm_layer_matches_tflite_micro_on_a_tiny_core_that_splits_every_reduction() {
    // 32 ifmap, 16 weight words: reductions over 8 folds of 2 run as accumulating runs.
    every_layer_matches_tflite_micro_on_the_core(&core_spec(2, 2, 32, 16, 16));
}

#[test]
fn every_tflm_layer_matches_tflite_micro_on_an_8x8_core_walking_input_tiles_where_that_is_quicker()
{
    let windowed = every_layer_matches_tflite_micro_on_the_core(&core_spec(8, 8, 4096, 2048, 1024));
    // The 3×3 and depthwise convolutions walk input tiles (im2col in the core); the 1-channel
    // first layer, the strided 1×1s and the fully connected layers stay im2col GEMMs.
    for layer in ["kws_dscnn/op01_depthwise_conv_2d", "resnet8/op01_conv_2d"] {
        assert!(
            windowed.iter().any(|w| w == layer),
            "{layer} not in {windowed:?}"
        );
    }
    assert!(
        !windowed.iter().any(|w| w.contains("fully_connected")),
        "{windowed:?}"
    );
}

#[test]
fn every_tflm_layer_matches_tflite_micro_on_a_tiny_output_stationary_core_with_3_row_blocks() {
    // 3×2 (row blocks of 3: ceil(M/3) by the reciprocal) with 32 ifmap and 16 weight words:
    // every reduction longer than 16 runs as accumulating runs through the psum buffer.
    let spec = core_spec_for(Dataflow::OutputStationary, 3, 2, 32, 16, 16);
    every_layer_matches_tflite_micro_on_the_core(&spec);
}

#[test]
fn every_tflm_layer_matches_tflite_micro_on_a_double_buffered_8x8_output_stationary_core() {
    // Each run computes while the DMA prefetches the next run's operands and drains the
    // previous run's results; the model predicts every overlapped run exactly.
    let spec = core_spec_for(Dataflow::OutputStationary, 8, 8, 4096, 2048, 1024);
    every_layer_matches_tflite_micro_on_the_core(&double_buffered(&spec));
}

#[test]
fn every_tflm_layer_matches_tflite_micro_on_a_double_buffered_zero_skipping_core_that_splits_reductions(
) {
    // Activation skipping on real ReLU data: each row block streams its kept columns, and the
    // cycles follow the data exactly. Halves of 96 ifmap and 64 weight words split the long
    // reductions into accumulating runs, whose finishing run gets the zero point's share of the
    // bias back from the host.
    let spec = zero_skipping(&core_spec_for(
        Dataflow::OutputStationary,
        4,
        4,
        192,
        128,
        64,
    ));
    let seen = every_layer_on_the_core(&double_buffered(&spec));
    // The pairs a dense output-stationary core streams: every reduction step of every row block
    // for every N-fold.
    let dense: u64 = bundles()
        .iter()
        .flat_map(|directory| workload::from_bundle(directory, 4).unwrap().gemms)
        .map(|gemm| gemm.m.div_ceil(4) * gemm.k * gemm.n.div_ceil(4))
        .sum();
    assert!(
        (seen.act_beats as f64) < 0.97 * dense as f64,
        "{} beats streamed, {dense} dense: nothing skipped?",
        seen.act_beats
    );
    assert!(seen.psum_reads > 0, "no reduction was split over runs");
}

#[test]
fn every_tflm_layer_matches_tflite_micro_on_a_zero_gating_core_that_counts_the_gated_macs() {
    // Zero-gating on real data: the core centres its activations (a padding row is the zero
    // point), holds a PE's accumulator on a zero operand and counts it; the traffic check
    // compares the counted gated MACs with the model's. Most MACs of a ReLU layer have a zero
    // activation, so a good part must be gated.
    let spec = zero_gating(&core_spec_for(
        Dataflow::OutputStationary,
        4,
        4,
        192,
        128,
        64,
    ));
    let seen = every_layer_on_the_core(&double_buffered(&spec));
    assert!(
        seen.gated_macs * 4 > seen.act_beats * 16,
        "{} of {} MACs gated: fewer than a quarter?",
        seen.gated_macs,
        seen.act_beats * 16
    );
}

#[test]
fn every_tflm_layer_matches_tflite_micro_on_a_weight_skipping_gating_core_that_splits_reductions() {
    // Weight skipping on real layers: each N-fold's weights are compacted to the steps with a
    // non-zero weight (the shared networks hold few: their depthwise layers' block-diagonal B
    // has one live weight per step, so a zero weight there drops its step), every row block
    // replays them, and the cycles, the gated MACs and the traffic equal the model's. Halves of
    // 96 ifmap and 64 weight words split the long reductions into accumulating runs.
    let spec = zero_gating(&weight_skipping(&core_spec_for(
        Dataflow::OutputStationary,
        4,
        4,
        192,
        128,
        64,
    )));
    let seen = every_layer_on_the_core(&double_buffered(&spec));
    assert!(seen.psum_reads > 0, "no reduction was split over runs");
    assert!(seen.gated_macs > 0, "nothing gated");
}

#[test]
fn every_tflm_layer_matches_tflite_micro_on_a_double_buffered_pragmatic_core_with_model_cycles() {
    // Bit-Pragmatic over zero skipping on real data: each kept brick takes its busiest lane's
    // one-bits, and the core's cycles equal the model's terms over the kept bricks exactly.
    let spec = pragmatic(&core_spec_for(
        Dataflow::OutputStationary,
        4,
        4,
        192,
        128,
        64,
    ));
    let seen = every_layer_on_the_core(&double_buffered(&spec));
    assert!(seen.psum_reads > 0, "no reduction was split over runs");
}

#[test]
fn every_tflm_layer_matches_tflite_micro_on_a_double_buffered_4x4_core_that_splits_reductions() {
    // Halves of 64 ifmap and 32 weight words: reductions over 8 folds of 4 run as accumulating
    // runs, whose sums stay in the one psum buffer while the halves alternate.
    let spec = core_spec(4, 4, 128, 64, 32);
    every_layer_matches_tflite_micro_on_the_core(&double_buffered(&spec));
}

#[test]
fn every_tflm_layer_matches_tflite_micro_on_a_double_buffered_8x8_bit_serial_core_at_its_precision()
{
    // Stripes PEs: each layer streams the bits its stored activations need (all 8 for these
    // int8 layers after ReLU), in window mode where that is quicker, as run-layer does.
    let spec = bit_serial(&double_buffered(&core_spec(8, 8, 4096, 2048, 1024)));
    let windowed = every_layer_matches_tflite_micro_on_the_core(&spec);
    assert!(
        windowed.iter().any(|w| w == "resnet8/op01_conv_2d"),
        "{windowed:?}"
    );
}

#[test]
fn tflm_layers_narrowed_to_3_bits_run_bit_exactly_on_a_bit_serial_core_in_3_8_of_the_compute() {
    // The TFLM layers need all 8 bits; narrowed to 3 (an arithmetic shift of the stored
    // activations and zero point) they must run at 3 bits, window mode included, bit-exact
    // against the golden model of the narrowed layer and with the model's cycles.
    let spec = bit_serial(&core_spec(8, 8, 4096, 2048, 1024));
    let mut bench = CoreBench::new(&spec).unwrap();
    let compute = |run: &accelgen_tb::layer::LayerRun| {
        run.counters
            .iter()
            .find(|(name, _)| *name == "perf_compute_cycles")
            .unwrap()
            .1
    };
    for layer in [
        "resnet8/op01_conv_2d",
        "kws_dscnn/op01_depthwise_conv_2d",
        "resnet8/op14_fully_connected",
    ] {
        let directory = bundles().into_iter().find(|d| d.ends_with(layer)).unwrap();
        let bundle = LayerBundle::load(&directory).unwrap();
        let full = bench.run(&bundle, DETERMINISTIC).unwrap();
        let narrow = narrowed(&bundle, 8, 3);
        let golden = golden::run_layer(&narrow).unwrap();
        let run = bench.run(&narrow, DETERMINISTIC).unwrap();
        let comparison = compare(&golden, &run.output).unwrap();
        assert!(comparison.is_exact(), "{layer} at 3 bits: {comparison}");
        assert_eq!(run.rtl_cycles, run.model_cycles, "{layer} at 3 bits");
        if !layer.contains("fully_connected") {
            assert_eq!(run.lowering, Lowering::Window, "{layer}");
        }
        let ratio = compute(&run) as f64 / compute(&full) as f64;
        assert!(
            (ratio - 3.0 / 8.0).abs() < 0.02,
            "{layer}: 3-bit compute is {ratio:.3} of the 8-bit run's"
        );
    }
}

/// The configs' default DRAM: 20 cycles to the first beat, a beat per cycle.
const DETERMINISTIC: DramTiming = DramTiming {
    latency: 20,
    cycles_per_beat: 1,
    jitter: None,
};

#[test]
fn a_layer_on_a_core_with_a_slow_irregular_dram_still_matches() {
    let directory = bundles()
        .into_iter()
        .find(|d| d.ends_with("kws_dscnn/op02_conv_2d"))
        .unwrap();
    let bundle = LayerBundle::load(&directory).unwrap();
    let run = CoreBench::new(&core_spec(4, 4, 256, 256, 64))
        .unwrap()
        .run(
            &bundle,
            DramTiming {
                latency: 80,
                cycles_per_beat: 3,
                jitter: Some(Jitter {
                    seed: 9,
                    max_extra_latency: 200,
                    ready_chance: 0.3,
                }),
            },
        )
        .unwrap();
    let comparison = compare(bundle.expected.as_ref().unwrap(), &run.output).unwrap();
    assert!(comparison.is_exact(), "{comparison}");
    assert!(
        run.rtl_cycles > run.model_cycles,
        "slower than the 20-cycle DRAM"
    );
}
