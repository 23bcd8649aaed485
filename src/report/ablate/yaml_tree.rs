//! The base config as an order-preserving YAML tree ([`Node`]): read with serde-saphyr, edited
//! key by key by the toggles, and printed back as block YAML for `config::load_str`.
//!
//! Hand-written because nothing in the dependency tree does it: serde-saphyr is built without its
//! `serialize` feature, and `serde_json::Value` sorts keys unless `preserve_order` (indexmap) is
//! on. Keeping the config's key order and this printer's exact quoting also keeps the variant
//! YAML (`config_yaml` in the JSON) and the change lines (`key: old → new`) readable and stable.

use std::fmt::{self, Write};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A YAML document as a tree that keeps key order, so a variant can be edited and printed back.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    pub(super) fn get(&self, path: &[&str]) -> Option<&Node> {
        match path.split_first() {
            None => Some(self),
            Some((key, rest)) => match self {
                Node::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| k == key)
                    .and_then(|(_, v)| v.get(rest)),
                _ => None,
            },
        }
    }

    /// Sets the value at `path`, creating maps on the way, and records `path: old → new`.
    pub(super) fn set(&mut self, path: &[&str], value: Node, changes: &mut Vec<String>) {
        let mut node = self;
        for key in path {
            if !matches!(node, Node::Map(_)) {
                *node = Node::Map(Vec::new());
            }
            let Node::Map(entries) = node else {
                unreachable!("made a map above")
            };
            let index = match entries.iter().position(|(k, _)| k == key) {
                Some(index) => index,
                None => {
                    entries.push(((*key).to_owned(), Node::Null));
                    entries.len() - 1
                }
            };
            node = &mut entries[index].1;
        }
        // An absent key (or an explicit null) means the config's default.
        let old = match &*node {
            Node::Null => "(default)".to_owned(),
            other => other.scalar(),
        };
        changes.push(format!("{}: {old} → {}", path.join("."), value.scalar()));
        *node = value;
    }

    fn scalar(&self) -> String {
        match self {
            Node::Null => "null".into(),
            Node::Bool(b) => b.to_string(),
            Node::Int(i) => i.to_string(),
            Node::Float(f) if f.is_nan() => ".nan".into(),
            Node::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.into(),
            Node::Float(f) => format!("{f:?}"),
            Node::Str(s) => quote(s),
            Node::Seq(items) if items.is_empty() => "[]".into(),
            Node::Map(entries) if entries.is_empty() => "{}".into(),
            Node::Seq(_) | Node::Map(_) => "…".into(),
        }
    }

    /// Block-style YAML; strings are plain when they cannot be read as anything else, else
    /// double-quoted.
    pub(super) fn to_yaml(&self) -> String {
        let mut out = String::new();
        match self {
            Node::Map(entries) if !entries.is_empty() => write_map(entries, 0, &mut out),
            other => {
                let _ = writeln!(out, "{}", other.scalar());
            }
        }
        out
    }
}

fn is_block(node: &Node) -> bool {
    matches!(node, Node::Map(e) if !e.is_empty()) || matches!(node, Node::Seq(s) if !s.is_empty())
}

fn write_block(node: &Node, indent: usize, out: &mut String) {
    match node {
        Node::Map(entries) => write_map(entries, indent, out),
        Node::Seq(items) => {
            for item in items {
                if is_block(item) {
                    let _ = writeln!(out, "{:indent$}-", "");
                    write_block(item, indent + 2, out);
                } else {
                    let _ = writeln!(out, "{:indent$}- {}", "", item.scalar());
                }
            }
        }
        _ => unreachable!("only blocks"),
    }
}

fn write_map(entries: &[(String, Node)], indent: usize, out: &mut String) {
    for (key, value) in entries {
        if is_block(value) {
            let _ = writeln!(out, "{:indent$}{}:", "", quote(key));
            write_block(value, indent + 2, out);
        } else {
            let _ = writeln!(out, "{:indent$}{}: {}", "", quote(key), value.scalar());
        }
    }
}

/// `s` plain if it is an identifier YAML cannot read as a boolean or null, else double-quoted
/// (JSON's escapes are YAML's).
fn quote(s: &str) -> String {
    let identifier = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let reserved = ["true", "false", "null", "yes", "no", "on", "off", "y", "n"]
        .contains(&s.to_ascii_lowercase().as_str());
    if identifier && !reserved {
        s.to_owned()
    } else {
        serde_json::to_string(s).expect("strings serialize")
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(Node::Int)
            .map_err(|_| E::custom(format!("{v} is too large")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Node, Node>()? {
            let key = match key {
                Node::Str(s) => s,
                Node::Int(i) => i.to_string(),
                Node::Bool(b) => b.to_string(),
                other => {
                    return Err(de::Error::custom(format!(
                        "unsupported mapping key {}",
                        other.scalar()
                    )))
                }
            };
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, AcceleratorSpec};

    const TINY_CORE: &str = include_str!("../../../configs/tiny_core.yaml");
    const EDGE_TPU: &str = include_str!("../../../configs/edge_tpu.yaml");
    const EDGE_WS: &str = include_str!("../../../configs/edge_ws.yaml");
    const CNVLUTIN_LIKE: &str = include_str!("../../../configs/cnvlutin_like.yaml");

    fn tree(text: &str) -> Node {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn printed_trees_load_back_to_the_same_spec() {
        for text in [TINY_CORE, EDGE_TPU, EDGE_WS, CNVLUTIN_LIKE] {
            let spec = config::load_str(text, "base.yaml").unwrap();
            let printed = tree(text).to_yaml();
            let again = config::load_str(&printed, "printed.yaml").unwrap();
            assert_eq!(
                AcceleratorSpec {
                    config_hash: spec.config_hash.clone(),
                    ..again
                },
                spec,
                "{printed}"
            );
        }
    }

    #[test]
    fn the_zero_skip_section_is_printed_and_loads_back_with_activations_on() {
        let spec = config::load_str(CNVLUTIN_LIKE, "base.yaml").unwrap();
        assert!(spec.zero_skip.activations);
        let printed = tree(CNVLUTIN_LIKE).to_yaml();
        assert!(
            printed.contains("zero_skip:\n  activations: true\n"),
            "{printed}"
        );
        let again = config::load_str(&printed, "printed.yaml").unwrap();
        assert_eq!(again.zero_skip, spec.zero_skip);
        assert_eq!(again.buffers, spec.buffers, "the 81-bit ifmap word too");
    }

    #[test]
    fn awkward_strings_are_quoted() {
        assert_eq!(quote("edge_tpu"), "edge_tpu");
        assert_eq!(quote("64 kib"), "\"64 kib\"");
        assert_eq!(quote("no"), "\"no\"");
        assert_eq!(quote("8"), "\"8\"");
        assert_eq!(quote("a: b"), "\"a: b\"");
    }
}
