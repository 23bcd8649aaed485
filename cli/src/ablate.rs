//! `accelgen ablate`: turns the command line into a workload and a toggle list, runs the library's
//! ablation (`accelgen::report::ablate`) and prints it as Markdown, JSON or offline HTML.

use std::path::Path;

use accelgen::flow::SynthOptions;
use accelgen::report::ablate::{self, Workload};
use miette::{IntoDiagnostic, Report as Error, WrapErr};

use crate::cli::{AblateArgs, ReportFormat};

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
    match &args.output {
        Some(path) => write(path, &text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))
}
