//! The command line, declared with clap's derive API. Parsing only: `main.rs` acts on it.

use std::path::PathBuf;

use accelgen::report::ablate::Toggle;
use clap::{Args, Parser, Subcommand};

/// accelgen turns a YAML description of an edge DNN inference accelerator into synthesizable,
/// lint-clean Verilog-2005 and the files the next engineer needs.
///
/// Generate:   accelgen --config configs/edge_tpu.yaml -o out/
/// Validate:   accelgen check --config configs/edge_tpu.yaml
/// Measure:    accelgen bench gemm --config configs/edge_tpu.yaml --m 64 --k 64 --n 64
///             accelgen bench precision --config configs/stripes_like.yaml BUNDLE_DIR...
///             accelgen bench zero-skip --config configs/cnvlutin_like.yaml BUNDLE_DIR...
///             accelgen bench zero-skip --config configs/cnvlutin_pragmatic.yaml BUNDLE_DIR...
/// Layers:     accelgen run-layer --config configs/edge_tpu.yaml ../shared/vectors/tflm/*/*
/// Profile:    accelgen profile ../shared/vectors/tflm/*/*
/// Synthesise: accelgen synth --config configs/edge_tpu.yaml
/// Report:     accelgen report --config configs/edge_tpu.yaml --topology resnet18.csv --format html -o r.html
/// Ablate:     accelgen ablate --config configs/edge_tpu.yaml ../shared/vectors/tflm/*/* --format html -o a.html
#[derive(Debug, Parser)]
#[command(
    name = "accelgen",
    version,
    args_conflicts_with_subcommands = true,
    verbatim_doc_comment
)]
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
    /// Run a workload on the configured RTL in Verilator and print measurements as JSON.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Synthesise the design in Yosys (sky130hd) and time it in OpenSTA: area per block, clock.
    ///
    /// Generates the package into a temporary directory and runs its flow/synth.ys against a
    /// sky130hd liberty, then, when OpenSTA (`sta`) is installed, times the netlist against
    /// flow/constraint.sdc. Reports area and cells per module (per instance and multiplied out),
    /// flip-flops, area per MAC, worst slack and the achievable clock. Needs Yosys
    /// (`sudo apt-get install yosys`); OpenSTA is `sudo apt-get install opensta`.
    Synth(SynthArgs),
    /// Run layer bundles through the golden model and the RTL, compare both with TFLite
    /// Micro's expected output, and report mismatches, MACs and cycles per layer. Exits
    /// non-zero on any mismatch or bad bundle.
    RunLayer(RunLayerArgs),
    /// Profile the ineffectual computation in layer bundles' real tensors: per layer, the
    /// fraction of zero activations and weights, the precision each needs, the average
    /// one-bits per activation, and the ideal speedups of zero skipping (Cnvlutin bricks,
    /// both operands), Stripes, Loom and Bit-Pragmatic on that data. Needs no config.
    ///
    /// "Zero" means equal to the zero point (the real value 0); activations are measured on the
    /// lowered (im2col) matrix the array streams, padding included. Speedups are ideal: dense
    /// work over remaining work, 8-bit operands as the baseline; the total line weights layers
    /// by their MACs. The exact definitions are in the doc of `accelgen::golden::profile`.
    /// Exits non-zero if any bundle cannot be loaded.
    Profile(ProfileArgs),
    /// Report MACs, cycles, utilization, ideal and SCALE-Sim cycles, memory traffic and energy
    /// per level (and area with --area) for a set of layers, per layer and in total.
    ///
    /// Layers come from layer bundles (--layers) or a SCALE-Sim topology CSV (--topology; no
    /// padding, as SCALE-Sim computes it). Cycles are the cycle model's unless --simulate runs
    /// the bundles on the RTL in Verilator, as run-layer does. Energy uses the config's
    /// `energy:` table (defaults: Horowitz's 45 nm figures and Sze et al.'s relative costs).
    Report(ReportArgs),
    /// Switch optimizations on and off one at a time and print each one's effect on cycles,
    /// traffic, energy and area relative to the base config, side by side (with plots in HTML).
    ///
    /// Each --toggle makes one variant of the base config: dataflow=ws|os|is|rs (another
    /// dataflow), half_buffers / double_capacity (every global-buffer region at half / twice its
    /// words; not double buffering), double_buffering (ifmap, weight and ofmap in halves so the
    /// DMA overlaps compute, or back to single), precision=N (N-bit activations and weights),
    /// bit_serial (Stripes PEs instead of parallel ones, or back; each layer streams the bits
    /// its activations need), zero_skip (activation zero-skipping on the output-stationary
    /// core; on another dataflow the variant is output-stationary too), weight_skip (weight
    /// zero-skipping, likewise; on the layers' own weights), zero_gating (zero operands gated,
    /// their MACs' energy saved). Without
    /// --toggle, every toggle that applies to the base. A variant goes through the same
    /// validation as a config file; one it fails is listed with the reason. Numbers come from the
    /// cycle model and the tiling, as in `accelgen report`; --area synthesises every variant
    /// (about a minute each for an 8×8 array).
    Ablate(AblateArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("workload").required(true).args(["layers", "topology"])))]
pub struct AblateArgs {
    /// The base accelerator description (YAML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// Layer bundle directories (layer.yaml + .npy files).
    #[arg(value_name = "BUNDLE_DIR")]
    pub layers: Vec<PathBuf>,

    /// A SCALE-Sim topology CSV (convolution or M,N,K format) instead of bundles.
    #[arg(long, value_name = "CSV")]
    pub topology: Option<PathBuf>,

    /// An optimization to toggle (repeatable): dataflow=ws|os|is|rs, half_buffers,
    /// double_capacity, double_buffering, precision=N, zero_skip, zero_gating, bit_serial.
    /// Default: every one that applies.
    #[arg(long = "toggle", short = 't', value_name = "NAME", value_parser = clap::value_parser!(Toggle))]
    pub toggles: Vec<Toggle>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,

    /// Write the result to FILE instead of standard output.
    #[arg(long = "output", short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Synthesise the base and every variant with Yosys (sky130hd) and compare their areas.
    #[arg(long)]
    pub area: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("workload").required(true).args(["layers", "topology"])))]
pub struct ReportArgs {
    /// The accelerator description (YAML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// Layer bundle directories (layer.yaml + .npy files).
    #[arg(long, value_name = "BUNDLE_DIR", num_args = 1..)]
    pub layers: Vec<PathBuf>,

    /// A SCALE-Sim topology CSV (convolution or M,N,K format).
    #[arg(long, value_name = "CSV")]
    pub topology: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(long = "output", short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Run the bundles on the RTL in Verilator and report its cycles (needs --layers).
    #[arg(long, conflicts_with = "topology")]
    pub simulate: bool,

    /// Synthesise the design with Yosys (sky130hd) and report its area (about a minute for an
    /// 8×8 array).
    #[arg(long)]
    pub area: bool,
}

/// `accelgen report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Markdown tables.
    Md,
    /// The whole report as JSON.
    Json,
    /// One offline HTML page with SVG plots and the block diagram.
    Html,
}

#[derive(Debug, Args)]
pub struct RunLayerArgs {
    /// The accelerator description (YAML) whose RTL runs the layers.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// Layer bundle directories (layer.yaml + .npy files; see ../shared/vectors/README.md).
    #[arg(value_name = "BUNDLE_DIR", required = true)]
    pub bundles: Vec<PathBuf>,

    /// Run the golden model only (no Verilator).
    #[arg(long)]
    pub golden_only: bool,

    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Write each layer's output (RTL, or golden with --golden-only) as `<OUT>/<model>__<op>.npy`.
    #[arg(long = "output", short = 'o', value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Buffered cores only: run against a slow, irregular DRAM drawn from SEED (up to 4x the
    /// configured latency more per burst, each handshake ready half the time) instead of the
    /// configured deterministic one. Outputs must still match; cycles then exceed the model.
    #[arg(long, value_name = "SEED")]
    pub random_dram: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Layer bundle directories (layer.yaml + .npy files; see ../shared/vectors/README.md).
    #[arg(value_name = "BUNDLE_DIR", required = true)]
    pub bundles: Vec<PathBuf>,

    /// Zero-skipping brick sizes: a brick of G consecutive activations along the reduction
    /// dimension is skipped only if all G are zero (comma-separated or repeated).
    #[arg(
        long = "granularity",
        short = 'g',
        value_name = "G",
        value_delimiter = ',',
        default_value = "1,16",
        value_parser = clap::value_parser!(u64).range(1..=65536)
    )]
    pub granularities: Vec<u64>,

    /// Print the profile as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// One random M×K×N GEMM on the configured PE array at full rate: RTL cycles next to the
    /// cycle model, the ideal count and SCALE-Sim's, and the element mismatches against the
    /// golden model. Exits non-zero on any mismatch or if the model misses the RTL count.
    Gemm(GemmArgs),
    /// A bit-serial core's cycles against the activation precision, on real layers: each
    /// bundle's stored activations narrowed to p bits (an arithmetic shift), run through the
    /// RTL core at every p, bit-exact against the golden model, with the cycle model's count and
    /// each run's cycles over the full-width run's. Exits non-zero on any mismatch or model miss.
    Precision(PrecisionArgs),
    /// What activation zero-skipping buys on real layers: each bundle runs through the RTL of a
    /// skipping core and of its twin without skipping, both bit-exact against the golden model
    /// and equal to the cycle model, with their compute and whole-run speedups next to the
    /// profiler's ideal for the skipped brick. A Bit-Pragmatic config also runs on its own core,
    /// measured against the one-bits its bricks hold and against an 8-bit serial baseline.
    /// Exits non-zero on any mismatch or model miss.
    ZeroSkip(ZeroSkipArgs),
    /// What weight zero-skipping buys on real layers pruned to a chosen sparsity (the shared
    /// networks are barely sparse): each bundle's weights are pruned by magnitude (in bricks of
    /// the array's output channels, or element by element), and each pruned layer runs through
    /// the RTL of a weight-skipping core and of its twin without skipping, both bit-exact against
    /// the golden model of the pruned layer and equal to the cycle model, with their speedups
    /// next to the profiler's ideal for the skipped brick. Exits non-zero on any mismatch or
    /// model miss.
    WeightSkip(WeightSkipArgs),
}

/// How `bench weight-skip` prunes (`golden::prune::Pruning`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PruneGranularity {
    /// Whole bricks: the array's C output channels at one reduction step (Cambricon-S's
    /// coarse-grained pruning; what the core skips).
    Bricks,
    /// Each weight on its own (unstructured).
    Elements,
}

#[derive(Debug, Args)]
pub struct WeightSkipArgs {
    /// The accelerator description (YAML): a buffered core with `zero_skip.weights: true`.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// Fractions of each layer's weights to prune (comma-separated or repeated), each in 0..=1.
    #[arg(
        long,
        value_name = "P",
        value_delimiter = ',',
        default_value = "0.5,0.75,0.9"
    )]
    pub prune: Vec<f64>,

    /// What is pruned as a whole.
    #[arg(long, value_enum, default_value = "bricks")]
    pub pruning: PruneGranularity,

    /// Layer bundle directories (`../shared/vectors/README.md`).
    #[arg(required = true, value_name = "BUNDLE_DIR")]
    pub bundles: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ZeroSkipArgs {
    /// The accelerator description (YAML): a buffered core with `zero_skip.activations: true`
    /// (parallel or Bit-Pragmatic PEs).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// Layer bundle directories (`../shared/vectors/README.md`).
    #[arg(required = true, value_name = "BUNDLE_DIR")]
    pub bundles: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PrecisionArgs {
    /// The accelerator description (YAML): a buffered core with `pe.kind: bit_serial`.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// The precisions to run, comma-separated (default: 2 up to the activation width); the full
    /// width always runs, as the reference.
    #[arg(long, value_delimiter = ',', value_name = "P,...")]
    pub bits: Option<Vec<u32>>,

    /// Layer bundle directories (`../shared/vectors/README.md`).
    #[arg(required = true, value_name = "BUNDLE_DIR")]
    pub bundles: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GemmArgs {
    /// The accelerator description (YAML) whose PE array runs the GEMM.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// Rows of A and C.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub m: u64,

    /// Columns of A, rows of B: the reduction length.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub k: u64,

    /// Columns of B and C.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub n: u64,

    /// Seed of the random operands (uniform over each operand's range).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Run the GEMM this many times on the one built model and report the median simulation
    /// time (the machines are noisy).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub repeat: u64,
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
pub struct SynthArgs {
    /// The accelerator description (YAML) to synthesise.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// The standard-cell liberty (.lib or .lib.gz). Default: sky130_fd_sc_hd__tt_025C_1v80.lib.gz
    /// in $ACCELGEN_PDK, or in ../shared/pdk/sky130 next to the accelgen checkout.
    #[arg(long, value_name = "PATH")]
    pub liberty: Option<PathBuf>,

    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The accelerator description (YAML) to validate.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
}
