//! `accelgen ablate`: turns the command line into a workload and a toggle list, runs the library's
//! ablation (`accelgen::report::ablate`) and prints it as Markdown, JSON or offline HTML.

use accelgen::flow::SynthOptions;
use accelgen::report::ablate::{self, Workload};
use miette::Report as Error;

use crate::cli::{AblateArgs, ReportFormat};
use crate::report::print_or_write;

pub fn run_ablate(args: AblateArgs) -> Result<(), Error> {
    let workload = match &args.topology {
        Some(csv) => Workload::Topology(csv.clone()),
        None => Workload::Bundles(args.layers.clone()),
    };
    let toggles = if args.toggles.is_empty() {
        let base = accelgen::config::load(&args.config).map_err(Error::new)?;
        ablate::default_toggles(&base)
    } else {
        args.toggles.clone()
    };
    let options = SynthOptions::default();
    let ablation = ablate::ablate(
        &args.config,
        &workload,
        &toggles,
        args.area.then_some(&options),
        &mut |line| eprintln!("{line}"),
    )
    .map_err(Error::new)?;
    let text = match args.format {
        ReportFormat::Md => ablate::markdown(&ablation),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&ablation).expect("the ablation serializes") + "\n"
        }
        ReportFormat::Html => ablate::html(&ablation),
    };
    print_or_write(args.output.as_deref(), &text)
}
