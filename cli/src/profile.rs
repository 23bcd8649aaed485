//! `accelgen profile`: the ineffectual computation in layer bundles' real tensors (zeros, needed
//! precision, one-bits) and the ideal speedups of zero skipping and bit-serial PEs, per layer and
//! MAC-weighted over all of them, as a Markdown table or JSON. The numbers and their definitions
//! are `accelgen::golden::profile`'s; this file loads, formats and reports errors.

use std::path::PathBuf;

use accelgen::golden::profile::{self, LayerProfile, Precision, Work, BASELINE_BITS};
use accelgen::golden::LayerBundle;
use miette::{miette, Report};
use serde::Serialize;

use crate::cli::ProfileArgs;

/// A precision as JSON.
#[derive(Debug, Serialize)]
struct PrecisionJson {
    bits: u32,
    signed: bool,
}

impl From<Precision> for PrecisionJson {
    fn from(p: Precision) -> PrecisionJson {
        PrecisionJson {
            bits: p.bits,
            signed: p.signed,
        }
    }
}

/// Zero skipping at one brick size.
#[derive(Debug, Serialize)]
struct ZeroSkip {
    granularity: usize,
    /// Bricks whose activations are all zero (weighted by the columns they feed).
    zero_brick_fraction: f64,
    /// `None` (null) when every brick is zero.
    speedup: Option<f64>,
    /// The same for bricks of `granularity` output pixels at one reduction index.
    pixel_zero_brick_fraction: f64,
    pixel_speedup: Option<f64>,
    /// Bit-Pragmatic with its lanes synchronised per brick of `granularity` channels.
    pragmatic_speedup: Option<f64>,
    /// Bit-Pragmatic over skipped bricks of `granularity` output pixels (the lanes of an
    /// output-stationary array of that many rows, `configs/cnvlutin_pragmatic.yaml`).
    pixel_pragmatic_speedup: Option<f64>,
    /// The same for bricks of `granularity` output channels' weights at one reduction index
    /// (weight skipping on an output-stationary array of that many columns).
    weight_zero_brick_fraction: f64,
    weight_speedup: Option<f64>,
}

/// Ideal speedups over the dense 8-bit array; `None` (null) when no work remains.
#[derive(Debug, Serialize)]
struct Speedups {
    zero_skip: Vec<ZeroSkip>,
    zero_skip_both: Option<f64>,
    stripes: Option<f64>,
    loom: Option<f64>,
    pragmatic: Option<f64>,
    zero_skip_stripes: Option<f64>,
}

/// One layer's numbers (or the total's, without precisions).
#[derive(Debug, Serialize)]
struct Stats {
    /// MACs of the lowered GEMMs, padding included.
    macs: u64,
    /// The layer's own MACs, taps in the padding not counted.
    layer_macs: u64,
    input_zero_fraction: f64,
    streamed_zero_fraction: f64,
    padding_fraction: f64,
    weight_zero_fraction: f64,
    mac_zero_fraction: f64,
    activation_precision: Option<PrecisionJson>,
    weight_precision: Option<PrecisionJson>,
    average_one_bits: f64,
    speedup: Speedups,
}

/// What every layer adds to the total line.
#[derive(Debug, Default)]
struct Total {
    layer_macs: u64,
    input_values: u64,
    input_zeros: u64,
    weight_values: u64,
    weight_zeros: u64,
    work: Work,
}

impl Total {
    fn add(&mut self, profile: &LayerProfile) {
        self.layer_macs += profile.layer_macs;
        self.input_values += profile.input_values;
        self.input_zeros += profile.input_zeros;
        self.weight_values += profile.weight_values;
        self.weight_zeros += profile.weight_zeros;
        self.work.add(&profile.work);
    }
}

fn fraction(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The statistics of a layer (with its precisions) or of the total (without).
fn stats(
    counts: &Total,
    precisions: Option<(Precision, Precision)>,
    granularities: &[usize],
) -> Stats {
    let work = &counts.work;
    Stats {
        macs: work.macs,
        layer_macs: counts.layer_macs,
        input_zero_fraction: fraction(counts.input_zeros, counts.input_values),
        streamed_zero_fraction: work.streamed_zero_fraction(),
        padding_fraction: work.padding_fraction(),
        weight_zero_fraction: fraction(counts.weight_zeros, counts.weight_values),
        mac_zero_fraction: work.mac_zero_fraction(),
        activation_precision: precisions.map(|(a, _)| a.into()),
        weight_precision: precisions.map(|(_, w)| w.into()),
        average_one_bits: work.average_one_bits(),
        speedup: Speedups {
            zero_skip: granularities
                .iter()
                .map(|&granularity| ZeroSkip {
                    granularity,
                    zero_brick_fraction: work
                        .zero_brick_fraction(granularity)
                        .expect("every granularity is profiled"),
                    speedup: work
                        .zero_skip_speedup(granularity)
                        .expect("every granularity is profiled"),
                    pixel_zero_brick_fraction: work
                        .pixel_zero_brick_fraction(granularity)
                        .expect("every granularity is profiled"),
                    pixel_speedup: work
                        .pixel_zero_skip_speedup(granularity)
                        .expect("every granularity is profiled"),
                    pragmatic_speedup: work
                        .pragmatic_brick_speedup(granularity)
                        .expect("every granularity is profiled"),
                    pixel_pragmatic_speedup: work
                        .pixel_pragmatic_speedup(granularity)
                        .expect("every granularity is profiled"),
                    weight_zero_brick_fraction: work
                        .weight_zero_brick_fraction(granularity)
                        .expect("every granularity is profiled"),
                    weight_speedup: work
                        .weight_zero_skip_speedup(granularity)
                        .expect("every granularity is profiled"),
                })
                .collect(),
            zero_skip_both: work.zero_skip_both_speedup(),
            stripes: work.stripes_speedup(),
            loom: work.loom_speedup(),
            pragmatic: work.pragmatic_speedup(),
            zero_skip_stripes: work.zero_skip_stripes_speedup(),
        },
    }
}

/// One line of the report: a layer's numbers, or the error that kept it from being profiled.
#[derive(Debug, Serialize)]
struct LayerLine {
    layer: String,
    directory: PathBuf,
    op: &'static str,
    #[serde(flatten)]
    stats: Option<Stats>,
    error: Option<String>,
}

pub fn run_profile(args: ProfileArgs) -> Result<(), Report> {
    let mut granularities: Vec<usize> = Vec::new();
    for g in &args.granularities {
        let g = *g as usize;
        if !granularities.contains(&g) {
            granularities.push(g);
        }
    }
    let mut lines = Vec::new();
    let mut total = Total::default();
    for directory in &args.bundles {
        let mut line = LayerLine {
            layer: directory.display().to_string(),
            directory: directory.clone(),
            op: "?",
            stats: None,
            error: None,
        };
        match LayerBundle::load(directory) {
            Err(error) => line.error = Some(error.to_string()),
            Ok(bundle) => {
                line.layer = bundle.name.clone();
                line.op = bundle.params.op.name();
                match profile::profile(
                    &bundle.params,
                    &bundle.input,
                    &bundle.weight,
                    &granularities,
                ) {
                    Err(error) => line.error = Some(format!("{}: {error}", directory.display())),
                    Ok(profile) => {
                        let mut own = Total::default();
                        own.add(&profile);
                        total.add(&profile);
                        line.stats = Some(stats(
                            &own,
                            Some((profile.activation_precision, profile.weight_precision)),
                            &granularities,
                        ));
                    }
                }
            }
        }
        lines.push(line);
    }
    let profiled = lines.iter().filter(|l| l.stats.is_some()).count();
    let total_stats = (profiled > 0).then(|| stats(&total, None, &granularities));
    if args.json {
        let json = serde_json::json!({
            "baseline_bits": BASELINE_BITS,
            "granularities": granularities,
            "layers": lines,
            "total": total_stats,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("the profile serializes")
        );
    } else {
        print!("{}", table(&lines, total_stats.as_ref(), &granularities));
    }
    let failed: Vec<&str> = lines
        .iter()
        .filter(|l| l.error.is_some())
        .map(|l| l.layer.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(miette!(
            "{} of {} layers could not be profiled: {}",
            failed.len(),
            lines.len(),
            failed.join(", ")
        ))
    }
}

fn speedup_cell(value: Option<f64>) -> String {
    value.map_or_else(|| "inf".to_string(), |s| format!("{s:.2}"))
}

fn precision_cell(precision: &Option<PrecisionJson>) -> String {
    precision.as_ref().map_or_else(
        || "-".to_string(),
        |p| format!("{}{}", p.bits, if p.signed { "s" } else { "u" }),
    )
}

fn cells(name: &str, op: &str, s: &Stats) -> Vec<String> {
    let mut row = vec![
        name.to_string(),
        op.to_string(),
        s.macs.to_string(),
        format!("{:.3}", s.input_zero_fraction),
        format!("{:.3}", s.streamed_zero_fraction),
        format!("{:.3}", s.padding_fraction),
        format!("{:.3}", s.weight_zero_fraction),
        precision_cell(&s.activation_precision),
        precision_cell(&s.weight_precision),
        format!("{:.2}", s.average_one_bits),
    ];
    row.extend(s.speedup.zero_skip.iter().map(|z| speedup_cell(z.speedup)));
    row.extend(
        s.speedup
            .zero_skip
            .iter()
            .map(|z| speedup_cell(z.pixel_speedup)),
    );
    row.extend(
        s.speedup
            .zero_skip
            .iter()
            .map(|z| speedup_cell(z.weight_speedup)),
    );
    row.extend(
        [
            s.speedup.zero_skip_both,
            s.speedup.stripes,
            s.speedup.loom,
            s.speedup.pragmatic,
        ]
        .map(speedup_cell),
    );
    row.extend(
        s.speedup
            .zero_skip
            .iter()
            .map(|z| speedup_cell(z.pragmatic_speedup)),
    );
    row.extend(
        s.speedup
            .zero_skip
            .iter()
            .map(|z| speedup_cell(z.pixel_pragmatic_speedup)),
    );
    row.push(speedup_cell(s.speedup.zero_skip_stripes));
    row
}

/// The profile as an aligned Markdown table (layers, then the MAC-weighted total), the errors of
/// the bundles that could not be profiled, and a legend.
fn table(lines: &[LayerLine], total: Option<&Stats>, granularities: &[usize]) -> String {
    let mut header: Vec<String> = [
        "layer", "op", "MACs", "act 0", "A 0", "pad", "w 0", "a bits", "w bits", "a 1s",
    ]
    .map(String::from)
    .to_vec();
    header.extend(granularities.iter().map(|g| format!("zs g={g}")));
    header.extend(granularities.iter().map(|g| format!("zs {g} px")));
    header.extend(granularities.iter().map(|g| format!("zs {g} w")));
    header.extend(["zs both", "Stripes", "Loom", "Pragmatic"].map(String::from));
    header.extend(granularities.iter().map(|g| format!("Prag g={g}")));
    header.extend(granularities.iter().map(|g| format!("zs+Prag {g} px")));
    header.push("zs+Stripes".into());
    let mut rows: Vec<Vec<String>> = lines
        .iter()
        .filter_map(|l| l.stats.as_ref().map(|s| cells(&l.layer, l.op, s)))
        .collect();
    if let Some(total) = total {
        rows.push(cells("total", "", total));
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count(), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    // The layer and op columns read left to right; numbers line up on the right.
    let render = |row: &[String]| {
        let padded: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c < 2 {
                    format!("{cell:<width$}", width = widths[c])
                } else {
                    format!("{cell:>width$}", width = widths[c])
                }
            })
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(c, &w)| {
            if c < 2 {
                "-".repeat(w)
            } else {
                format!("{}:", "-".repeat(w - 1))
            }
        })
        .collect();
    let mut out = vec![render(&header), format!("| {} |", rule.join(" | "))];
    out.extend(rows.iter().map(|r| render(r)));
    out.push(String::new());
    for line in lines {
        if let Some(error) = &line.error {
            out.push(format!("error: {error}"));
        }
    }
    let failed = lines.iter().filter(|l| l.error.is_some()).count();
    out.push(format!(
        "{} layers, {failed} failed. Zero = equal to the zero point (the real 0).",
        lines.len()
    ));
    out.push(
        "act 0: input values that are zero; A 0: MACs whose streamed (im2col) activation is zero, \
         padding included; pad: MACs on padding; w 0: weights that are zero; a/w bits: precision \
         of a - a_zp / w - w_zp (u unsigned, s two's complement); a 1s: one-bits of |a - a_zp| \
         per MAC."
            .to_string(),
    );
    out.push(format!(
        "Ideal speedups over a dense {BASELINE_BITS}-bit array (inf: nothing left to do): zs g=G \
         skips bricks of G activations that are all zero (G channels of a pixel); zs G px skips \
         bricks of G output pixels at one reduction index (an output-stationary array of G rows); \
         zs G w skips bricks of G output channels' weights that are all zero at one reduction \
         index (weight skipping on an output-stationary array of G columns); zs both skips MACs \
         with either operand zero; Stripes {BASELINE_BITS}/a bits; Loom {}/(a bits * w bits); Pragmatic \
         {BASELINE_BITS}/a 1s (each activation takes as many steps as it has one-bits); Prag g=G: \
         Pragmatic lanes that wait for each other at the end of every brick of G channels \
         (the brick takes the most one-bits of its activations); zs+Prag G px: Pragmatic over \
         bricks of G output pixels, all-zero bricks skipped (cnvlutin_pragmatic's design); \
         zs+Stripes skips zeros and streams a bits. total: MAC-weighted.",
        BASELINE_BITS * BASELINE_BITS
    ));
    out.join("\n") + "\n"
}
