//! [`ConfigError`]: everything that can go wrong turning a config file into an `AcceleratorSpec`.
//!
//! Every variant except `Io` carries the file's text (as a [`NamedSource`]) and a labelled span,
//! so `miette` renders `file:line:column`, the offending line, and a caret under the key or value at
//! fault. Every message names the key path (`pe_array.rows`), and the help text says what was
//! expected.

use std::path::PathBuf;

use miette::{Diagnostic, NamedSource, SourceSpan};

/// Key path shown for errors in the document's top-level mapping.
pub const TOP_LEVEL_KEY_PATH: &str = "(top level)";

/// A config file that could not be read, parsed or validated.
///
/// The variants that carry the file's text are boxed: the error travels up through every `?` on
/// the way to the CLI, and a few hundred bytes of `Err` would bloat every `Result` in between.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read config file `{}`: {source}", path.display())]
    #[diagnostic(
        code(accelgen::config::io),
        help("check that the path is right and the file is readable")
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The text is not well-formed YAML (tab indentation, duplicate key, unclosed bracket, ...).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(Box<SyntaxError>),

    /// Well-formed YAML without the config's shape: an unknown key, a missing key, a value of the
    /// wrong type or an unknown spelling of a mode.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Schema(Box<SchemaError>),

    /// A value of the right type that breaks a validation rule.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(Box<InvalidValue>),
}

/// See [`ConfigError::Syntax`].
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file_name} is not valid YAML: {message}")]
#[diagnostic(code(accelgen::config::syntax))]
pub struct SyntaxError {
    pub file_name: String,
    /// What the YAML parser objected to.
    pub message: String,
    #[help]
    pub help: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[label("{label}")]
    pub span: SourceSpan,
    pub label: String,
}

/// See [`ConfigError::Schema`].
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(accelgen::config::schema))]
pub struct SchemaError {
    /// Dotted path of the key or value at fault (for a missing key, the key that should be there),
    /// or [`TOP_LEVEL_KEY_PATH`].
    pub key_path: String,
    /// The whole message; it names `key_path`.
    pub message: String,
    #[help]
    pub help: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[label("{label}")]
    pub span: SourceSpan,
    pub label: String,
}

/// See [`ConfigError::Invalid`].
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("`{key_path}` = {value} {rule}")]
#[diagnostic(code(accelgen::config::invalid))]
pub struct InvalidValue {
    /// Dotted path of the offending key, e.g. `pe_array.rows`.
    pub key_path: String,
    /// The offending value as written in the file.
    pub value: String,
    /// The rule, phrased to follow "`key` = value", e.g. "must be at least 1 and at most 256".
    pub rule: String,
    /// Why the rule exists and what to write instead.
    #[help]
    pub reason: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[label("{label}")]
    pub span: SourceSpan,
    pub label: String,
}

impl ConfigError {
    /// The dotted key path the error is about, if it is about one (`Io` and `Syntax` are about the
    /// file as text).
    pub fn key_path(&self) -> Option<&str> {
        match self {
            ConfigError::Io { .. } | ConfigError::Syntax(_) => None,
            ConfigError::Schema(error) => Some(&error.key_path),
            ConfigError::Invalid(error) => Some(&error.key_path),
        }
    }

    /// 1-based line and column of the labelled span, as miette prints them; `None` for `Io`.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        let (source_code, span) = match self {
            ConfigError::Io { .. } => return None,
            ConfigError::Syntax(error) => (&error.source_code, error.span),
            ConfigError::Schema(error) => (&error.source_code, error.span),
            ConfigError::Invalid(error) => (&error.source_code, error.span),
        };
        Some(line_column_at(source_code.inner(), span.offset()))
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`; an offset past the end or
/// inside a character is clamped to the nearest character boundary before it.
pub(crate) fn line_column_at(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

impl ConfigError {
    /// Converts a serde-saphyr error into `Syntax` or `Schema`. `path` is the key path the
    /// deserializer had reached: the value at fault, the unknown key itself, or for a missing key
    /// the mapping that lacks it.
    pub(crate) fn from_yaml(
        error: &serde_saphyr::Error,
        path: Vec<String>,
        source: &str,
        file_name: &str,
    ) -> ConfigError {
        use serde_saphyr::Error as YamlError;

        let error = error.without_snippet();
        let mut span = error
            .location()
            .map_or(SourceSpan::new(0.into(), 0), |location| {
                location_to_span(&location, source)
            });
        let found = describe_found(source, span);
        let key_path = dotted(&path);
        let (key_path, message, help, label) = match error {
            YamlError::SerdeUnknownField {
                field, expected, ..
            } => {
                // The tracked path ends with the unknown key; its parent says where it was found.
                let parent = match path.split_last() {
                    Some((last, parent)) if last == field => parent,
                    _ => &path[..],
                };
                let mut help = format!(
                    "keys allowed in {}: {}",
                    mapping_phrase(parent),
                    backticked(expected)
                );
                if let Some(suggestion) = closest_spelling(field, expected) {
                    help = format!("did you mean `{suggestion}`? {help}");
                }
                let key_path = dotted_with(parent, field);
                (
                    key_path.clone(),
                    format!("unknown key `{key_path}`"),
                    help,
                    "unknown key".to_owned(),
                )
            }
            YamlError::SerdeMissingField { field, .. } => {
                // serde notices a missing key at the end of its mapping; point at the mapping's own
                // key (or the document's first key) instead of whatever key happened to be last.
                if let Some(parent_span) = mapping_key_span(source, &path, span) {
                    span = parent_span;
                }
                let key_path = dotted_with(&path, field);
                (
                    key_path.clone(),
                    format!("missing required key `{key_path}`"),
                    match stray_key_line(source, field) {
                        // The key is in the file but did not land in this mapping: indentation.
                        Some(line) => format!(
                            "the `{field}:` on line {line} is not read as part of {}; indent it \
                             like the other keys of that mapping",
                            mapping_phrase(&path)
                        ),
                        None => format!("add `{field}:` to {}", mapping_phrase(&path)),
                    },
                    format!("{} has no `{field}`", mapping_phrase(&path)),
                )
            }
            YamlError::SerdeInvalidType { expected, .. }
            | YamlError::SerdeInvalidValue { expected, .. } => {
                wrong_type(&key_path, expected, &found)
            }
            YamlError::InvalidScalar { ty, .. } => wrong_type(&key_path, ty, &found),
            YamlError::Unexpected { expected, .. } => wrong_type(&key_path, expected, &found),
            YamlError::InvalidBooleanStrict { .. } => wrong_type(&key_path, "a boolean", &found),
            YamlError::NullIntoString { .. } => wrong_type(&key_path, "a string", &found),
            YamlError::SerdeUnknownVariant {
                variant, expected, ..
            } => {
                let mut help = format!("expected one of: {}", backticked(expected));
                if let Some(suggestion) = closest_spelling(variant, expected) {
                    help = format!("did you mean `{suggestion}`? {help}");
                }
                (
                    key_path.clone(),
                    format!("`{key_path}` = {variant} is not a known value"),
                    help,
                    "unknown value".to_owned(),
                )
            }
            YamlError::Eof { .. } if source.lines().all(is_blank_or_comment) => {
                // Point at the start of the file: the end of a comment-only file has no line to show.
                span = SourceSpan::new(0.into(), 0);
                (
                    TOP_LEVEL_KEY_PATH.to_owned(),
                    "the config file is empty".to_owned(),
                    "a config is a mapping with the keys `name`, `clock`, `pe_array` and `pe`; \
                 see configs/tiny_2x2.yaml"
                        .to_owned(),
                    "expected a config here".to_owned(),
                )
            }
            other => {
                let message = serde_saphyr::MessageFormatter::format_message(
                    &serde_saphyr::UserMessageFormatter,
                    other,
                )
                .into_owned();
                let help = match other {
                    YamlError::DuplicateMappingKey { key, .. } => format!(
                        "each key may appear only once in a mapping; remove one of the {} entries",
                        key.as_deref()
                            .map_or("repeated".to_owned(), |key| format!("`{key}`"))
                    ),
                    _ => "check the indentation (spaces, not tabs; nested keys indented under \
                          their parent), the `:` after each key and matching brackets, near the \
                          marked spot"
                        .to_owned(),
                };
                let label = match other {
                    YamlError::DuplicateMappingKey { .. } => "repeated key",
                    _ => "here",
                };
                return ConfigError::Syntax(Box::new(SyntaxError {
                    file_name: file_name.to_owned(),
                    message,
                    help,
                    source_code: NamedSource::new(file_name, source.to_owned()),
                    span,
                    label: label.to_owned(),
                }));
            }
        };
        ConfigError::Schema(Box::new(SchemaError {
            key_path,
            message,
            help,
            source_code: NamedSource::new(file_name, source.to_owned()),
            span,
            label,
        }))
    }
}

/// Message parts for a value of the wrong YAML type. A found value spanning several lines is
/// almost always a slip: an unclosed `{`/`[`, or a more-indented line continuing the value above.
fn wrong_type(key_path: &str, expected: &str, found: &Found) -> (String, String, String, String) {
    let expected = describe_expected(expected);
    let subject = if key_path == TOP_LEVEL_KEY_PATH {
        "the document".to_owned()
    } else {
        format!("`{key_path}`")
    };
    let help = match (found.spans_lines, found.unclosed_bracket) {
        (true, Some(bracket)) => format!(
            "the `{bracket}` on this line is never closed, so the next line is read as part of \
             this value; close it on the same line. {subject} must be {expected}"
        ),
        (true, None) => format!(
            "the value runs onto the next line, because that line is indented more than the key \
             above it; give sibling keys the same indentation. {subject} must be {expected}"
        ),
        _ if expected == "a boolean" => "write `true` or `false` (YAML 1.1 spellings such as \
                                         `yes`/`no` are not accepted)"
            .to_owned(),
        _ => format!("write {expected} here"),
    };
    (
        key_path.to_owned(),
        format!(
            "{subject} has the wrong type: expected {expected}, found {}",
            found.description
        ),
        help,
        format!("expected {expected}"),
    )
}

/// 1-based number of the first line that starts (after indentation) with the block key `key:`.
fn stray_key_line(source: &str, key: &str) -> Option<usize> {
    source
        .lines()
        .position(|line| {
            line.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|index| index + 1)
}

/// What a wrongly typed value looks like, for "found …".
struct Found {
    description: String,
    spans_lines: bool,
    /// A `{` or `[` opened earlier on the value's line and not closed before the value.
    unclosed_bracket: Option<char>,
}

fn describe_found(source: &str, span: SourceSpan) -> Found {
    let text = source
        .get(span.offset()..span.offset() + span.len())
        .unwrap_or_default()
        .trim();
    let description = if text.is_empty() {
        "nothing".to_owned()
    } else if text.starts_with('[') || text.starts_with("- ") || text == "-" {
        "a list".to_owned()
    } else if text.starts_with('{') {
        "a mapping".to_owned()
    } else {
        // One line is enough to recognise the value; the snippet shows the rest.
        let first_line = text.lines().next().unwrap_or_default().trim();
        let ellipsis = if text.contains('\n') { " …" } else { "" };
        format!("`{first_line}{ellipsis}`")
    };
    let line_start = source[..span.offset().min(source.len())]
        .rfind('\n')
        .map_or(0, |newline| newline + 1);
    let before = source.get(line_start..span.offset()).unwrap_or_default();
    let depth = |open: char, close: char| {
        before.matches(open).count() as isize - before.matches(close).count() as isize
    };
    let unclosed_bracket = if depth('{', '}') > 0 {
        Some('{')
    } else if depth('[', ']') > 0 {
        Some('[')
    } else {
        None
    };
    Found {
        description,
        spans_lines: text.contains('\n'),
        unclosed_bracket,
    }
}

/// The span of the key that opens the mapping at `path` (`pe_array:`), found by walking back from
/// `near` to the closest line that starts with that key; for the top-level mapping, the document's
/// first key. `None` if no such line is found (e.g. the mapping is written in flow style).
fn mapping_key_span(source: &str, path: &[String], near: SourceSpan) -> Option<SourceSpan> {
    let mut line_start = 0;
    let mut lines = Vec::new();
    for line in source.split_inclusive('\n') {
        lines.push((line_start, line));
        line_start += line.len();
    }
    let key_span = |(start, line): (usize, &str), key: Option<&str>| {
        let indent = line.len() - line.trim_start().len();
        let content = line.trim();
        let key_length = content.find(':')?;
        match key {
            Some(key) if content[..key_length].trim_end() != key => None,
            _ => Some(SourceSpan::new((start + indent).into(), key_length)),
        }
    };
    match path.last() {
        None => lines
            .into_iter()
            .find(|(_, line)| !is_blank_or_comment(line) && line.trim() != "---")
            .and_then(|line| key_span(line, None)),
        Some(key) => lines
            .into_iter()
            .take_while(|(start, _)| *start <= near.offset())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .find_map(|line| key_span(line, Some(key))),
    }
}

fn is_blank_or_comment(line: &str) -> bool {
    let line = line.trim();
    line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
}

/// "the top-level mapping" or "`pe_array`", for help texts.
fn mapping_phrase(path: &[String]) -> String {
    if path.is_empty() {
        "the top-level mapping".to_owned()
    } else {
        format!("`{}`", path.join("."))
    }
}

/// `pe_array.rows`, or [`TOP_LEVEL_KEY_PATH`] for the empty path.
fn dotted(path: &[String]) -> String {
    if path.is_empty() {
        TOP_LEVEL_KEY_PATH.to_owned()
    } else {
        path.join(".")
    }
}

fn dotted_with(parent: &[String], key: &str) -> String {
    parent
        .iter()
        .map(String::as_str)
        .chain([key])
        .collect::<Vec<_>>()
        .join(".")
}

fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Serde names Rust types in "expected" messages; a config author thinks in YAML types.
fn describe_expected(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" => "an integer".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "mapping start" | "a map" => "a mapping of keys to values".to_owned(),
        "sequence start" | "a sequence" => "a list".to_owned(),
        other if other.starts_with("struct ") => "a mapping of keys to values".to_owned(),
        other => other.to_owned(),
    }
}

/// The allowed spelling `given` abbreviates (`frequency` for `frequency_mhz`), or else the one
/// closest to it (edit distance at most 2, or a third of its length), to suggest for a typo.
fn closest_spelling<'a>(given: &str, allowed: &[&'a str]) -> Option<&'a str> {
    if let Some(extension) = allowed
        .iter()
        .find(|candidate| given.len() >= 3 && candidate.starts_with(given))
    {
        return Some(extension);
    }
    let limit = (given.chars().count() / 3).max(2);
    allowed
        .iter()
        .map(|candidate| (edit_distance(given, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance in characters.
fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (i, left_char) in left.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, right_char) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_char != *right_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[right.len()]
}

/// A serde-saphyr location (1-based line/column, character span) as a miette byte span.
pub(crate) fn location_to_span(location: &serde_saphyr::Location, source: &str) -> SourceSpan {
    let span = location.span();
    let (offset, length) = match (span.byte_offset(), span.byte_len()) {
        (Some(offset), Some(length)) => (offset as usize, length as usize),
        // Reader sources carry only character offsets; convert them.
        _ => {
            let start = char_to_byte_offset(source, span.offset() as usize);
            let end = char_to_byte_offset(source, (span.offset() + span.len()) as usize);
            (start, end - start)
        }
    };
    let offset = offset.min(source.len());
    SourceSpan::new(offset.into(), length.min(source.len() - offset))
}

fn char_to_byte_offset(source: &str, char_offset: usize) -> usize {
    source
        .char_indices()
        .nth(char_offset)
        .map_or(source.len(), |(byte_offset, _)| byte_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_not_bytes() {
        let text = "a: µ\nbc: dé\n";
        assert_eq!(line_column_at(text, 0), (1, 1));
        assert_eq!(line_column_at(text, text.find("bc").unwrap()), (2, 1));
        assert_eq!(line_column_at(text, text.find('é').unwrap()), (2, 6));
        // An offset inside a multi-byte character is clamped back to its start.
        assert_eq!(line_column_at(text, text.find('é').unwrap() + 1), (2, 6));
        assert_eq!(line_column_at(text, 10_000), (3, 1));
    }

    #[test]
    fn closest_spelling_suggests_typos_and_abbreviations_only() {
        let keys = ["rows", "cols", "dataflow"];
        assert_eq!(closest_spelling("rosw", &keys), Some("rows"));
        assert_eq!(closest_spelling("dataflw", &keys), Some("dataflow"));
        assert_eq!(closest_spelling("data", &keys), Some("dataflow"));
        assert_eq!(closest_spelling("buffers", &keys), None);
        assert_eq!(
            closest_spelling("frequency", &["frequency_mhz"]),
            Some("frequency_mhz")
        );
    }

    #[test]
    fn edit_distance_is_levenshtein() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
