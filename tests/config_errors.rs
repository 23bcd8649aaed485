//! Config-error fixtures: every file in `tests/config_errors/` holds one fault, must fail to load,
//! and must render a report that names the file and a `line:column` with the offending snippet.
//! The rendered reports are snapshot-tested, one snapshot per fixture, so a change in any message
//! shows up in review.

use std::path::{Path, PathBuf};

use accelgen::config::{self, ConfigError};
use miette::{GraphicalReportHandler, GraphicalTheme};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The fixtures, sorted by file name so failures and snapshots come in a stable order.
fn fixtures() -> Vec<PathBuf> {
    let directory = Path::new(MANIFEST_DIR).join("tests/config_errors");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", directory.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect();
    paths.sort();
    paths
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("fixture has a file name")
        .to_string_lossy()
        .into_owned()
}

/// Renders as the CLI does, without colour and at a fixed width so snapshots are stable; the
/// checkout directory is stripped so they do not depend on where the repository lives.
fn render(error: &ConfigError) -> String {
    let mut rendered = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false)
        .render_report(&mut rendered, error)
        .expect("rendering into a String cannot fail");
    rendered.replace(&format!("{MANIFEST_DIR}/"), "")
}

/// Loads a fixture under its repository-relative name, so that rendered reports (and where
/// miette wraps their lines) do not depend on where the checkout lives.
fn load_fixture(path: &Path) -> Result<config::AcceleratorSpec, ConfigError> {
    let source = std::fs::read_to_string(path).expect("fixtures are readable");
    let relative = path
        .strip_prefix(MANIFEST_DIR)
        .expect("fixtures live in the repository");
    config::load_str(&source, &relative.display().to_string())
}

/// True if `text` contains `needle:LINE:COLUMN` with both numbers present.
fn mentions_line_column(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(start, _)| {
        let rest = &text[start + needle.len()..];
        let mut parts = rest.splitn(3, ':');
        let empty = parts.next();
        let line = parts.next().unwrap_or_default();
        let column: String = parts
            .next()
            .unwrap_or_default()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        empty == Some("")
            && !line.is_empty()
            && line.chars().all(|character| character.is_ascii_digit())
            && !column.is_empty()
    })
}

#[test]
fn there_are_at_least_18_fixtures() {
    let count = fixtures().len();
    assert!(count >= 18, "expected at least 18 fixtures, found {count}");
}

#[test]
fn every_fixture_fails_with_a_report_naming_the_file_and_a_line_column() {
    let mut problems = Vec::new();
    for path in fixtures() {
        let file_name = format!("tests/config_errors/{}.yaml", stem(&path));
        match load_fixture(&path) {
            Ok(spec) => problems.push(format!("{file_name}: loaded, but should fail: {spec:?}")),
            Err(error) => {
                let rendered = render(&error);
                if !mentions_line_column(&rendered, &file_name) {
                    problems.push(format!(
                        "{file_name}: report does not mention `{file_name}:LINE:COLUMN`:\n{rendered}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_fixture_report_matches_its_snapshot() {
    for path in fixtures() {
        let name = stem(&path);
        let error = load_fixture(&path).expect_err(&format!("{name} should fail to load"));
        insta::assert_snapshot!(name, render(&error));
    }
}

/// Expected key path, line and column for fixtures whose location matters most.
#[test]
fn fixtures_point_at_the_faulty_key_or_value() {
    let expectations: &[(&str, Option<&str>, usize, usize)] = &[
        // (fixture, key path, line, column); line 1 of every fixture is its `# Fault:` comment.
        ("rows_zero", Some("pe_array.rows"), 6, 9),
        ("rows_absurd_100000", Some("pe_array.rows"), 6, 9),
        ("cols_negative", Some("pe_array.cols"), 7, 9),
        ("wrong_type_rows_string", Some("pe_array.rows"), 6, 9),
        ("unknown_key", Some("clock.frequncy"), 5, 3),
        ("act_bits_1_unsupported", Some("pe.act.bits"), 11, 15),
        ("weight_bits_17", Some("pe.weight.bits"), 12, 18),
        (
            "accumulator_too_narrow",
            Some("pe.accumulator_bits"),
            13,
            21,
        ),
        (
            "unimplemented_dataflow_row_stationary",
            Some("pe_array.dataflow"),
            8,
            13,
        ),
        ("unknown_dataflow", Some("pe_array.dataflow"), 8, 13),
        ("name_verilog_keyword", Some("name"), 2, 7),
        ("frequency_zero", Some("clock.frequency_mhz"), 4, 18),
        ("missing_name", Some("name"), 2, 1),
        ("duplicate_key", None, 7, 3),
        (
            "zero_skip_activations_without_buffers",
            Some("zero_skip.activations"),
            14,
            16,
        ),
        (
            "zero_skip_activations_on_weight_stationary",
            Some("zero_skip.activations"),
            14,
            16,
        ),
        (
            "zero_skip_activations_on_bit_serial_pe",
            Some("zero_skip.activations"),
            14,
            16,
        ),
        ("zero_skip_unknown_key", Some("zero_skip.activation"), 14, 3),
        ("pragmatic_on_weight_stationary", Some("pe.kind"), 10, 9),
        (
            "zero_skip_gating_on_bit_serial_pe",
            Some("zero_skip.gating"),
            14,
            11,
        ),
        (
            "pragmatic_without_zero_skip",
            Some("pe.serial.mode"),
            11,
            18,
        ),
        (
            "zero_skip_weights_with_activations",
            Some("zero_skip.weights"),
            15,
            12,
        ),
        (
            "zero_skip_weights_on_weight_stationary",
            Some("zero_skip.weights"),
            14,
            12,
        ),
    ];
    let mut problems = Vec::new();
    for (fixture, key_path, line, column) in expectations {
        let path = Path::new(MANIFEST_DIR)
            .join("tests/config_errors")
            .join(format!("{fixture}.yaml"));
        let error = match load_fixture(&path) {
            Ok(_) => {
                problems.push(format!("{fixture}: loaded, but should fail"));
                continue;
            }
            Err(error) => error,
        };
        if error.key_path() != *key_path {
            problems.push(format!(
                "{fixture}: key path {:?}, expected {key_path:?}",
                error.key_path()
            ));
        }
        if error.line_column() != Some((*line, *column)) {
            problems.push(format!(
                "{fixture}: location {:?}, expected line {line} column {column}",
                error.line_column()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn unreadable_file_is_an_io_error_naming_the_path() {
    let path = Path::new(MANIFEST_DIR).join("tests/config_errors/no_such_file.yml");
    let error = config::load(&path).expect_err("a missing file cannot load");
    assert!(
        matches!(error, ConfigError::Io { .. }),
        "expected ConfigError::Io, got {error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("no_such_file.yml"),
        "message does not name the path: {message}"
    );
}
