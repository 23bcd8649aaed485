//! The command line, declared with clap's derive API. Parsing only: `main.rs` acts on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// accelgen turns a YAML description of an edge DNN inference accelerator into synthesizable,
/// lint-clean Verilog-2005 and the files the next engineer needs.
///
/// Generate:  accelgen --config configs/edge_tpu.yaml -o out/
/// Validate:  accelgen check --config configs/edge_tpu.yaml
#[derive(Debug, Parser)]
#[command(name = "accelgen", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub generate: GenerateArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the RTL package (the same as giving --config and -o without a subcommand).
    Generate(GenerateArgs),
    /// Validate a config and print a summary of what it describes, writing nothing.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The accelerator description (YAML), e.g. configs/edge_tpu.yaml.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Output directory. Written atomically: on any error it is left as it was. An existing
    /// directory is replaced only if it is empty or holds accelgen's own manifest.json.
    #[arg(long = "output", short = 'o', value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Replace the output directory even if it holds files accelgen did not write.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The accelerator description (YAML) to validate.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
}
