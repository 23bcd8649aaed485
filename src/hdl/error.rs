//! Errors raised while building a design: every one names the module and the signal at fault.

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum HdlError {
    /// The design-rule checks found problems; each line names a signal and what is wrong.
    #[error("module `{module}` breaks {} design rule(s):\n{}", problems.len(), bullet_list(problems))]
    DesignRules {
        module: String,
        problems: Vec<String>,
    },
    /// Two different modules were given one name: the name fails to encode a parameter.
    #[error(
        "two different modules are named `{module}`: a module name must encode every parameter that changes its RTL"
    )]
    NameCollision { module: String },
    /// A block was asked for a variant it does not build (the config layer should have refused it).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

fn bullet_list(problems: &[String]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}
