//! `accelgen`: parse the command line, call the library, map errors to exit codes (0 success,
//! 1 a reported error, 2 a usage error from clap).

mod cli;
mod run_layer;

use std::process::ExitCode;

use clap::Parser;
use miette::Report;

use accelgen::config::AcceleratorSpec;
use accelgen::generate::{self, GenerateError};
use accelgen::golden::cycles::GemmShape;
use accelgen_tb::gemm_bench::{self, GemmBench};
use cli::{BenchCommand, CheckArgs, Cli, Command, GemmArgs, GenerateArgs, RunLayerArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Generate(args)) => run_generate(args),
        Some(Command::Check(args)) => run_check(args),
        Some(Command::Bench(BenchCommand::Gemm(args))) => run_bench_gemm(args),
        Some(Command::RunLayer(args)) => run_layers(args),
        None => run_generate(cli.generate),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}

fn run_generate(args: GenerateArgs) -> Result<(), Report> {
    let (Some(config), Some(output)) = (args.config, args.output) else {
        return Err(miette::miette!(
            help = "for example: accelgen --config configs/edge_tpu.yaml -o out/",
            "generating needs both --config FILE and -o DIR (see accelgen --help)"
        ));
    };
    let files = generate::generate(&config, &output, args.force).map_err(report)?;
    let rtl = files
        .iter()
        .filter(|f| f.path.extension().is_some_and(|e| e == "v"))
        .count();
    println!(
        "wrote {} files ({rtl} Verilog modules) to {}",
        files.len(),
        output.display()
    );
    Ok(())
}

fn run_check(args: CheckArgs) -> Result<(), Report> {
    let (spec, design, _) = generate::build(&args.config).map_err(report)?;
    let top = design.module(design.top().expect("build sets the top"));
    println!(
        "{}: ok — {}x{} {} array, {} x {} -> {}-bit accumulators, {} MHz; top `{}`, {} modules",
        args.config.display(),
        spec.pe_array.rows,
        spec.pe_array.cols,
        spec.pe_array.dataflow.config_name(),
        spec.pe.act.tag(),
        spec.pe.weight.tag(),
        spec.pe.acc_bits,
        spec.clock.frequency_mhz,
        top.name,
        design.dependency_order().len()
    );
    Ok(())
}

fn run_bench_gemm(args: GemmArgs) -> Result<(), Report> {
    let (spec, _, _) = generate::build(&args.config).map_err(report)?;
    let shape = GemmShape {
        m: args.m,
        k: args.k,
        n: args.n,
    };
    let bench = gemm_bench::run(&spec, shape, args.seed, args.repeat as usize)
        .map_err(|e| miette::miette!("{e}"))?;
    let report = GemmReport::new(&spec, args.seed, &bench);
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("the report serializes")
    );
    if bench.mismatches > 0 {
        let first: Vec<String> = bench
            .first_mismatches
            .iter()
            .map(|(row, col, expected, actual)| {
                format!("C[{row}, {col}]: expected {expected}, actual {actual}")
            })
            .collect();
        return Err(miette::miette!(
            "{} of {} outputs differ from the golden model; first: {}",
            bench.mismatches,
            shape.m * shape.n,
            first.join("; ")
        ));
    }
    if bench.rtl_cycles != bench.model_cycles {
        return Err(miette::miette!(
            "the cycle model predicts {} cycles but the RTL took {}",
            bench.model_cycles,
            bench.rtl_cycles
        ));
    }
    Ok(())
}

fn run_layers(args: RunLayerArgs) -> Result<(), Report> {
    let (spec, _, _) = generate::build(&args.config).map_err(report)?;
    let reports = run_layer::run(
        &spec,
        &args.bundles,
        args.golden_only,
        args.output.as_deref(),
    )?;
    if args.json {
        let json = serde_json::json!({
            "config": spec.name,
            "scope": if args.golden_only { "golden" } else { run_layer::SCOPE },
            "layers": reports,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("the report serializes")
        );
    } else {
        println!("{}", run_layer::table(&reports, args.golden_only));
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| r.failed())
        .map(|r| r.layer.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(miette::miette!(
            "{} of {} layers failed: {}",
            failed.len(),
            reports.len(),
            failed.join(", ")
        ))
    }
}

/// The JSON `accelgen bench gemm` prints, in this field order. Ratios are rounded to 4 decimals,
/// times to the microsecond and rates to whole units: the machines are noisy beyond that. The
/// simulation time and the rates are medians over `repeats` runs.
#[derive(serde::Serialize)]
struct GemmReport {
    config: String,
    dataflow: &'static str,
    rows: u64,
    cols: u64,
    m: u64,
    k: u64,
    n: u64,
    seed: u64,
    macs: u64,
    rtl_cycles: u64,
    model_cycles: u64,
    scalesim_cycles: u64,
    ideal_cycles: u64,
    utilization: f64,
    rtl_over_ideal: f64,
    rtl_over_scalesim: f64,
    mismatches: usize,
    verilator_cache_hit: bool,
    verilator_build_seconds: f64,
    simulation_seconds: f64,
    repeats: usize,
    cycles_per_second: u64,
    macs_per_second: u64,
}

impl GemmReport {
    fn new(spec: &AcceleratorSpec, seed: u64, bench: &GemmBench) -> GemmReport {
        let round = |value: f64, decimals: i32| {
            let scale = 10f64.powi(decimals);
            (value * scale).round() / scale
        };
        let ratio = |a: u64, b: u64| round(a as f64 / b as f64, 4);
        GemmReport {
            config: spec.name.clone(),
            dataflow: spec.pe_array.dataflow.config_name(),
            rows: bench.array.rows,
            cols: bench.array.cols,
            m: bench.shape.m,
            k: bench.shape.k,
            n: bench.shape.n,
            seed,
            macs: bench.shape.macs(),
            rtl_cycles: bench.rtl_cycles,
            model_cycles: bench.model_cycles,
            scalesim_cycles: bench.scalesim_cycles,
            ideal_cycles: bench.ideal_cycles,
            utilization: round(bench.utilization, 4),
            rtl_over_ideal: ratio(bench.rtl_cycles, bench.ideal_cycles),
            rtl_over_scalesim: ratio(bench.rtl_cycles, bench.scalesim_cycles),
            mismatches: bench.mismatches,
            verilator_cache_hit: bench.build_cache_hit,
            verilator_build_seconds: round(bench.build_seconds, 6),
            simulation_seconds: round(bench.simulation_seconds, 6),
            repeats: bench.repeats,
            cycles_per_second: bench.cycles_per_second().round() as u64,
            macs_per_second: bench.macs_per_second().round() as u64,
        }
    }
}

fn report(error: GenerateError) -> Report {
    Report::new(error)
}
