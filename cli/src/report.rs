//! `accelgen report`: gathers the layers (bundles or a SCALE-Sim CSV), simulates the bundles when
//! asked (through run-layer's own code, so the cycles are the ones run-layer prints), synthesises
//! when asked, and prints the library's report (`accelgen::report`) as Markdown, JSON or HTML.

use std::path::Path;

use accelgen::flow::{self, SynthOptions};
use accelgen::generate;
use accelgen::report::{diagram, html, table, workload, LayerInput, Report};
use miette::{miette, IntoDiagnostic, Report as Error, WrapErr};

use crate::cli::{ReportArgs, ReportFormat};
use crate::run_layer;

pub fn run_report(args: ReportArgs) -> Result<(), Error> {
    let (spec, design, _) = generate::build(&args.config).map_err(Error::new)?;
    let shapes = match &args.topology {
        Some(csv) => workload::from_topology_csv(csv).map_err(Error::new)?,
        None => args
            .layers
            .iter()
            .map(|dir| workload::from_bundle(dir, spec.pe_array.cols as usize))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::new)?,
    };
    let measured = if args.simulate {
        simulate(&spec, &args.layers)?
    } else {
        vec![(None, None); shapes.len()]
    };
    let layers: Vec<LayerInput> = shapes
        .into_iter()
        .zip(measured)
        .map(|(shape, (rtl_cycles, rtl_counters))| LayerInput {
            shape,
            rtl_cycles,
            rtl_counters,
        })
        .collect();
    let area = if args.area {
        let synth = flow::synth(&args.config, &SynthOptions::default(), &mut |line| {
            eprintln!("{line}")
        })
        .map_err(Error::new)?;
        Some(synth)
    } else {
        None
    };
    let report = Report::build(&spec, &layers, area).map_err(Error::new)?;
    let text = match args.format {
        ReportFormat::Md => table::markdown(&report),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&report).expect("the report serializes") + "\n"
        }
        ReportFormat::Html => {
            let drawn = diagram::hierarchy(&design).map(|root| diagram::svg(&root));
            html::page(&report, drawn.as_deref())
        }
    };
    print_or_write(args.output.as_deref(), &text)
}

/// RTL cycles and (on a core) the summed performance counters per bundle, from run-layer's
/// runner: an error or a mismatch fails the report (its numbers would be of a wrong design), a
/// layer the RTL does not run (ONNX requantization) keeps the model's cycles and traffic.
type Measured = (Option<u64>, Option<Vec<(&'static str, u64)>>);

fn simulate(
    spec: &accelgen::config::AcceleratorSpec,
    bundles: &[std::path::PathBuf],
) -> Result<Vec<Measured>, Error> {
    let reports = run_layer::run(
        spec,
        bundles,
        false,
        None,
        run_layer::dram_timing(spec, None),
    )?;
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| r.failed())
        .map(|r| match &r.error {
            Some(error) => format!("{}: {error}", r.layer),
            None => format!("{}: RTL mismatches or cycles off the model", r.layer),
        })
        .collect();
    if !failed.is_empty() {
        return Err(miette!(
            help = "run `accelgen run-layer` on these layers for the details",
            "{} of {} layers failed on the RTL: {}",
            failed.len(),
            reports.len(),
            failed.join("; ")
        ));
    }
    for r in reports.iter().filter(|r| r.rtl_skipped.is_some()) {
        eprintln!(
            "{}: not run on the RTL ({}); reporting the cycle model",
            r.layer,
            r.rtl_skipped.as_deref().unwrap_or_default()
        );
    }
    Ok(reports
        .iter()
        .map(|r| {
            let counters = r.counters.as_ref().map(|counters| {
                counters
                    .iter()
                    .map(|(name, value)| (*name, *value))
                    .collect()
            });
            (r.rtl_cycles, counters)
        })
        .collect())
}

/// Prints `text`, or writes it to `output` (creating its directory) when given.
pub(crate) fn print_or_write(output: Option<&Path>, text: &str) -> Result<(), Error> {
    match output {
        Some(path) => write(path, text),
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
