//! `accelgen`: parse the command line, call the library, map errors to exit codes (0 success,
//! 1 a reported error, 2 a usage error from clap).

mod cli;

use std::process::ExitCode;

use clap::Parser;
use miette::Report;

use accelgen::generate::{self, GenerateError};
use cli::{CheckArgs, Cli, Command, GenerateArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Generate(args)) => run_generate(args),
        Some(Command::Check(args)) => run_check(args),
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

fn report(error: GenerateError) -> Report {
    Report::new(error)
}
