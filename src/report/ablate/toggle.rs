//! The toggles of `accelgen ablate`: what each one is called on the command line, what it means
//! for people, and how it edits the base config's YAML tree into a variant, or why it cannot
//! (nothing to change for this base, or hardware not built yet). Also the default set: every
//! toggle that applies to a base.

use std::fmt;
use std::str::FromStr;

use super::yaml_tree::Node;
use crate::config::validate::IMPLEMENTED_DATAFLOWS;
use crate::config::{AcceleratorSpec, Dataflow, Im2col};

/// One optimization to switch relative to the base. Adding an optimization is one variant here,
/// one arm in `Toggle::apply` and one in [`Toggle::from_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toggle {
    /// Another dataflow for the same array (`dataflow=ws|os|is|rs`).
    Dataflow(Dataflow),
    /// Every global-buffer region at half its words (`half_buffers`).
    HalfBuffers,
    /// Every global-buffer region at twice its words (`double_capacity`). Only the capacity
    /// doubles: this is not double buffering, which is [`Toggle::DoubleBuffering`].
    DoubleCapacity,
    /// Double buffering switched (`double_buffering`): on for a single-buffered base, off for a
    /// double-buffered one. The same words, split in halves so the DMA prefetches and drains
    /// while the array computes (`blocks::gemm_core`).
    DoubleBuffering,
    /// Who does im2col switched (`im2col`): the host instead of the core's window mode, or the
    /// other way round (`buffers.im2col`, weight-stationary cores).
    Im2col,
    /// Activations and weights both `N` bits (`precision=N`); the accumulator stays as in the base.
    Precision(u32),
    /// Activation zero-skipping switched (`zero_skip`, `zero_skip.activations`): built into
    /// the output-stationary core, so on another dataflow the variant is also output-stationary.
    ZeroSkip,
    /// Weight zero-skipping switched (`weight_skip`, `zero_skip.weights`): built into the
    /// output-stationary core like activation skipping, and excluding it.
    WeightSkip,
    /// Zero-gating switched (`zero_gating`, `zero_skip.gating`): PEs that hold their
    /// accumulators on a zero operand, and the MACs they gate cost no energy; built into the
    /// output-stationary core, so on another dataflow the variant is also output-stationary.
    ZeroGating,
    /// Bit-serial PEs switched (`bit_serial`): Stripes PEs instead of parallel multipliers, or
    /// the other way round (`pe.kind`; weight-stationary arrays).
    BitSerial,
}

/// The spellings [`Toggle::from_str`] accepts, for messages and `--help`.
pub const TOGGLE_SYNTAX: &str =
    "dataflow=ws|os|is|rs, half_buffers, double_capacity, double_buffering, im2col, \
     precision=N, zero_skip, weight_skip, zero_gating, bit_serial";

impl fmt::Display for Toggle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Toggle::Dataflow(dataflow) => write!(f, "dataflow={}", dataflow.tag()),
            Toggle::HalfBuffers => f.write_str("half_buffers"),
            Toggle::DoubleCapacity => f.write_str("double_capacity"),
            Toggle::DoubleBuffering => f.write_str("double_buffering"),
            Toggle::Im2col => f.write_str("im2col"),
            Toggle::Precision(bits) => write!(f, "precision={bits}"),
            Toggle::ZeroSkip => f.write_str("zero_skip"),
            Toggle::WeightSkip => f.write_str("weight_skip"),
            Toggle::ZeroGating => f.write_str("zero_gating"),
            Toggle::BitSerial => f.write_str("bit_serial"),
        }
    }
}

impl FromStr for Toggle {
    type Err = String;

    fn from_str(text: &str) -> Result<Toggle, String> {
        let text = text.trim();
        let unknown = || format!("unknown toggle `{text}`; available: {TOGGLE_SYNTAX}");
        match text.split_once('=') {
            None => match text {
                "half_buffers" => Ok(Toggle::HalfBuffers),
                "double_capacity" => Ok(Toggle::DoubleCapacity),
                "double_buffering" => Ok(Toggle::DoubleBuffering),
                "im2col" => Ok(Toggle::Im2col),
                "double_buffers" => Err(format!(
                    "toggle `double_buffers` is now `double_capacity` (it doubles every \
                     global-buffer region's words; it is not double buffering); available: \
                     {TOGGLE_SYNTAX}"
                )),
                "zero_skip" => Ok(Toggle::ZeroSkip),
                "weight_skip" => Ok(Toggle::WeightSkip),
                "zero_gating" => Ok(Toggle::ZeroGating),
                "bit_serial" => Ok(Toggle::BitSerial),
                "dataflow" | "precision" => Err(format!(
                    "toggle `{text}` needs a value, e.g. `dataflow=os` or `precision=4`; \
                     available: {TOGGLE_SYNTAX}"
                )),
                _ => Err(unknown()),
            },
            Some(("dataflow", value)) => [
                Dataflow::WeightStationary,
                Dataflow::OutputStationary,
                Dataflow::InputStationary,
                Dataflow::RowStationary,
            ]
            .into_iter()
            .find(|d| d.tag() == value || d.config_name() == value)
            .map(Toggle::Dataflow)
            .ok_or_else(|| format!("unknown dataflow `{value}` in `{text}`; use ws, os, is or rs")),
            Some(("precision", value)) => {
                value.parse::<u32>().map(Toggle::Precision).map_err(|_| {
                    format!("`{text}`: the precision is a whole number of bits, e.g. precision=4")
                })
            }
            Some(_) => Err(unknown()),
        }
    }
}

/// Why a toggle was not measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Skip {
    NotApplicable(String),
}

impl Toggle {
    /// What the variant is, for people.
    pub fn description(&self) -> String {
        match self {
            Toggle::Dataflow(dataflow) => format!("{} dataflow", dataflow.config_name()),
            Toggle::HalfBuffers => "every global-buffer region halved".into(),
            Toggle::DoubleCapacity => "every global-buffer region doubled".into(),
            Toggle::DoubleBuffering => {
                "double buffering of ifmap, weight and ofmap switched (same words; halves \
                 overlap the DMA with compute)"
                    .into()
            }
            Toggle::Im2col => "im2col switched between the core (window mode: it walks input \
                               tiles) and the host (it sends the lowered GEMMs)"
                .into(),
            Toggle::Precision(bits) => format!(
                "{bits}-bit activations and weights (accumulator as in the base; the layers' \
                 shapes at the new widths, values not requantized)"
            ),
            Toggle::ZeroSkip => "activation zero-skipping switched (bricks of R output pixels at \
                                 one reduction step; built into the output-stationary core, so \
                                 on another dataflow compare it with dataflow=os too)"
                .into(),
            Toggle::WeightSkip => "weight zero-skipping switched (bricks of C output channels \
                                   at one reduction step, on the layers' own weights, which are \
                                   barely sparse unless pruned; built into the \
                                   output-stationary core)"
                .into(),
            Toggle::ZeroGating => "zero-gating switched (a PE holds its accumulator on a zero \
                                   activation or weight, saving that MAC's energy, not its \
                                   cycle; built into the output-stationary core)"
                .into(),
            Toggle::BitSerial => "PEs switched between parallel multipliers and bit-serial \
                                  (Stripes: each layer streams the bits its activations need; \
                                  Bit-Pragmatic on a zero-skipping core: each brick takes its \
                                  one-bits)"
                .into(),
        }
    }

    /// Edits the base's YAML tree into the variant; returns the edits as `key: old → new`.
    pub(super) fn apply(
        &self,
        base: &AcceleratorSpec,
        tree: &mut Node,
    ) -> Result<Vec<String>, Skip> {
        let mut changes = Vec::new();
        match *self {
            Toggle::Dataflow(dataflow) => {
                if dataflow == base.pe_array.dataflow {
                    return Err(Skip::NotApplicable(format!(
                        "the base already is {}",
                        dataflow.config_name()
                    )));
                }
                if base.pe.kind.is_pragmatic() {
                    return Err(Skip::NotApplicable(
                        "the base's Bit-Pragmatic PEs are built into the output-stationary \
                         array only; toggle bit_serial to compare with parallel PEs"
                            .into(),
                    ));
                }
                tree.set(
                    &["pe_array", "dataflow"],
                    Node::Str(dataflow.config_name().into()),
                    &mut changes,
                );
                // Only the output-stationary core skips zero activations and gates zeros.
                if base.zero_skip.activations && dataflow != Dataflow::OutputStationary {
                    stop_skipping(base, tree, &mut changes);
                }
                if base.zero_skip.weights && dataflow != Dataflow::OutputStationary {
                    stop_weight_skipping(base, tree, &mut changes);
                }
                if base.zero_skip.gating && dataflow != Dataflow::OutputStationary {
                    tree.set(&["zero_skip", "gating"], Node::Bool(false), &mut changes);
                }
                // Only a weight-stationary core walks input tiles.
                let hardware = Im2col::Hardware.config_name();
                if dataflow != Dataflow::WeightStationary
                    && matches!(tree.get(&["buffers", "im2col"]), Some(Node::Str(s)) if s == hardware)
                {
                    tree.set(
                        &["buffers", "im2col"],
                        Node::Str(Im2col::Host.config_name().into()),
                        &mut changes,
                    );
                }
            }
            Toggle::Precision(bits) => {
                if base.pe.act.bits == bits && base.pe.weight.bits == bits {
                    return Err(Skip::NotApplicable(format!(
                        "the base already has {bits}-bit activations and weights"
                    )));
                }
                for operand in ["act", "weight"] {
                    tree.set(
                        &["pe", operand, "bits"],
                        Node::Int(i64::from(bits)),
                        &mut changes,
                    );
                }
            }
            Toggle::HalfBuffers | Toggle::DoubleCapacity => {
                let Some(buffers) = &base.buffers else {
                    return Err(Skip::NotApplicable(
                        "the base config has no `buffers:` (a bare PE array fed from DRAM), so \
                         there is no global buffer to resize"
                            .into(),
                    ));
                };
                let resize = |depth: u64| {
                    if *self == Toggle::HalfBuffers {
                        depth / 2
                    } else {
                        depth * 2
                    }
                };
                let regions: Vec<String> = match tree.get(&["buffers"]) {
                    Some(Node::Map(entries)) => entries
                        .iter()
                        .filter(|(_, value)| value.get(&["capacity"]).is_some())
                        .map(|(key, _)| key.clone())
                        .collect(),
                    _ => Vec::new(),
                };
                for region in regions {
                    let Some((_, spec)) = buffers.regions().into_iter().find(|(n, _)| *n == region)
                    else {
                        return Err(Skip::NotApplicable(format!(
                            "buffer region `{region}` is not one this version sizes"
                        )));
                    };
                    tree.set(
                        &["buffers", &region, "capacity"],
                        Node::Str(format!("{} words", resize(spec.depth))),
                        &mut changes,
                    );
                }
            }
            Toggle::DoubleBuffering => {
                let Some(buffers) = &base.buffers else {
                    return Err(Skip::NotApplicable(
                        "the base config has no `buffers:` (a bare PE array fed from DRAM), so \
                         there is nothing to double-buffer"
                            .into(),
                    ));
                };
                // The core double-buffers these three together (`blocks::gemm_core`).
                let double = !buffers.ifmap.double_buffered;
                for region in ["ifmap", "weight", "ofmap"] {
                    tree.set(
                        &["buffers", region, "double_buffered"],
                        Node::Bool(double),
                        &mut changes,
                    );
                }
            }
            Toggle::Im2col => {
                let Some(buffers) = &base.buffers else {
                    return Err(Skip::NotApplicable(
                        "the base config has no `buffers:`, so the host feeds the array".into(),
                    ));
                };
                if base.pe_array.dataflow != Dataflow::WeightStationary {
                    return Err(Skip::NotApplicable(format!(
                        "only a weight-stationary core walks input tiles, not {}",
                        base.pe_array.dataflow.config_name()
                    )));
                }
                let flipped = match buffers.im2col {
                    Im2col::Hardware => Im2col::Host,
                    Im2col::Host => Im2col::Hardware,
                };
                tree.set(
                    &["buffers", "im2col"],
                    Node::Str(flipped.config_name().into()),
                    &mut changes,
                );
            }
            Toggle::BitSerial => {
                if base.pe.kind.is_bit_serial() {
                    tree.set(&["pe", "kind"], Node::Str("parallel".into()), &mut changes);
                    if tree.get(&["pe", "serial"]).is_some() {
                        tree.set(&["pe", "serial"], Node::Null, &mut changes);
                    }
                } else {
                    // Stripes on a weight-stationary base; Bit-Pragmatic on a skipping
                    // output-stationary one (it walks the skipping core's centred activations).
                    let pragmatic = base.pe_array.dataflow == Dataflow::OutputStationary
                        && base.zero_skip.activations;
                    if base.pe_array.dataflow != Dataflow::WeightStationary && !pragmatic {
                        return Err(Skip::NotApplicable(format!(
                            "bit-serial PEs are built into the weight-stationary array \
                             (Stripes) and the zero-skipping output-stationary one \
                             (Bit-Pragmatic), not {}{}",
                            base.pe_array.dataflow.config_name(),
                            if base.zero_skip.activations {
                                ""
                            } else {
                                " without zero_skip"
                            }
                        )));
                    }
                    tree.set(
                        &["pe", "kind"],
                        Node::Str("bit_serial".into()),
                        &mut changes,
                    );
                    if pragmatic {
                        tree.set(
                            &["pe", "serial", "mode"],
                            Node::Str("pragmatic".into()),
                            &mut changes,
                        );
                        // Pragmatic PEs have no product to gate.
                        if base.zero_skip.gating {
                            tree.set(&["zero_skip", "gating"], Node::Bool(false), &mut changes);
                        }
                    }
                }
            }
            Toggle::ZeroGating => {
                if base.zero_skip.gating {
                    tree.set(&["zero_skip", "gating"], Node::Bool(false), &mut changes);
                    return Ok(changes);
                }
                if base.buffers.is_none() {
                    return Err(Skip::NotApplicable(
                        "the base config has no `buffers:`; the core centres the activations \
                         and counts the gated MACs"
                            .into(),
                    ));
                }
                if base.pe.kind.is_bit_serial() {
                    return Err(Skip::NotApplicable(
                        "zero-gating is built into the parallel output-stationary PE, and the \
                         base's PEs are bit-serial"
                            .into(),
                    ));
                }
                if base.pe_array.dataflow != Dataflow::OutputStationary {
                    changes = Toggle::Dataflow(Dataflow::OutputStationary).apply(base, tree)?;
                }
                tree.set(&["zero_skip", "gating"], Node::Bool(true), &mut changes);
            }
            Toggle::ZeroSkip => {
                if base.pe.kind.is_pragmatic() {
                    return Err(Skip::NotApplicable(
                        "the base's Bit-Pragmatic PEs walk the skipping core's centred \
                         activations, so they need zero-skipping; toggle bit_serial to compare \
                         with parallel PEs"
                            .into(),
                    ));
                }
                if base.zero_skip.activations {
                    stop_skipping(base, tree, &mut changes);
                    return Ok(changes);
                }
                if base.buffers.is_none() {
                    return Err(Skip::NotApplicable(
                        "the base config has no `buffers:`; the core's feeders do the skipping"
                            .into(),
                    ));
                }
                if base.pe.kind.is_bit_serial() {
                    return Err(Skip::NotApplicable(
                        "zero-skipping is built for parallel and Bit-Pragmatic PEs, and the \
                         base's are Stripes"
                            .into(),
                    ));
                }
                if base.zero_skip.weights {
                    return Err(Skip::NotApplicable(
                        "the base skips zero weights, and the core compacts one operand only; \
                         toggle weight_skip to compare with the dense core"
                            .into(),
                    ));
                }
                if base.pe_array.dataflow != Dataflow::OutputStationary {
                    changes = Toggle::Dataflow(Dataflow::OutputStationary).apply(base, tree)?;
                }
                tree.set(
                    &["zero_skip", "activations"],
                    Node::Bool(true),
                    &mut changes,
                );
                keep_words(base, "ifmap", tree, &mut changes);
            }
            Toggle::WeightSkip => {
                if base.zero_skip.weights {
                    stop_weight_skipping(base, tree, &mut changes);
                    return Ok(changes);
                }
                if base.buffers.is_none() {
                    return Err(Skip::NotApplicable(
                        "the base config has no `buffers:`; the core's feeders do the skipping"
                            .into(),
                    ));
                }
                if base.pe.kind.is_bit_serial() {
                    return Err(Skip::NotApplicable(
                        "weight skipping is built for the parallel output-stationary array, and \
                         the base's PEs are bit-serial"
                            .into(),
                    ));
                }
                if base.zero_skip.activations {
                    return Err(Skip::NotApplicable(
                        "the base skips zero activations, and the core compacts one operand \
                         only; toggle zero_skip to compare with the dense core"
                            .into(),
                    ));
                }
                if base.pe_array.dataflow != Dataflow::OutputStationary {
                    changes = Toggle::Dataflow(Dataflow::OutputStationary).apply(base, tree)?;
                }
                tree.set(&["zero_skip", "weights"], Node::Bool(true), &mut changes);
                keep_words(base, "weight", tree, &mut changes);
            }
        }
        Ok(changes)
    }
}

/// Switches activation skipping off in `tree`, keeping the ifmap's words.
fn stop_skipping(base: &AcceleratorSpec, tree: &mut Node, changes: &mut Vec<String>) {
    tree.set(&["zero_skip", "activations"], Node::Bool(false), changes);
    keep_words(base, "ifmap", tree, changes);
}

/// Switches weight skipping off in `tree`, keeping the weight buffer's words.
fn stop_weight_skipping(base: &AcceleratorSpec, tree: &mut Node, changes: &mut Vec<String>) {
    tree.set(&["zero_skip", "weights"], Node::Bool(false), changes);
    keep_words(base, "weight", tree, changes);
}

/// Pins `region`'s capacity (ifmap or weight) to the base's words: switching skipping changes
/// the word's width (the index), not what the buffer holds.
fn keep_words(base: &AcceleratorSpec, region: &str, tree: &mut Node, changes: &mut Vec<String>) {
    let Some(buffers) = &base.buffers else { return };
    let depth = if region == "ifmap" {
        buffers.ifmap.depth
    } else {
        buffers.weight.depth
    };
    tree.set(
        &["buffers", region, "capacity"],
        Node::Str(format!("{depth} words")),
        changes,
    );
}

/// Every toggle that applies to `base`: each other implemented dataflow, halving and doubling the
/// buffers when there are any, 4-bit operands (8-bit when the base is already 4-bit), the other
/// PE kind on a weight-stationary array, and the toggles not built yet, so the output says they
/// are missing.
pub fn default_toggles(base: &AcceleratorSpec) -> Vec<Toggle> {
    let mut toggles: Vec<Toggle> = IMPLEMENTED_DATAFLOWS
        .iter()
        .filter(|d| **d != base.pe_array.dataflow)
        .map(|d| Toggle::Dataflow(*d))
        .collect();
    if base.buffers.is_some() {
        toggles.extend([
            Toggle::HalfBuffers,
            Toggle::DoubleCapacity,
            Toggle::DoubleBuffering,
        ]);
        if base.pe_array.dataflow == Dataflow::WeightStationary {
            toggles.push(Toggle::Im2col);
        }
    }
    let narrow = if base.pe.act.bits == 4 && base.pe.weight.bits == 4 {
        8
    } else {
        4
    };
    toggles.extend([
        Toggle::Precision(narrow),
        Toggle::ZeroSkip,
        Toggle::WeightSkip,
        Toggle::ZeroGating,
    ]);
    // Stripes on a weight-stationary base, Bit-Pragmatic on a skipping output-stationary one.
    if base.pe_array.dataflow == Dataflow::WeightStationary || base.zero_skip.activations {
        toggles.push(Toggle::BitSerial);
    }
    toggles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    const TINY_CORE: &str = include_str!("../../../configs/tiny_core.yaml");
    const EDGE_WS: &str = include_str!("../../../configs/edge_ws.yaml");
    const EDGE_TPU: &str = include_str!("../../../configs/edge_tpu.yaml");
    const CNVLUTIN: &str = include_str!("../../../configs/cnvlutin_like.yaml");
    const CAMBRICON: &str = include_str!("../../../configs/cambricon_like.yaml");

    fn tree(text: &str) -> Node {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn toggles_parse_and_print_back_and_bad_names_list_the_choices() {
        for text in [
            "dataflow=os",
            "dataflow=ws",
            "dataflow=is",
            "dataflow=rs",
            "half_buffers",
            "double_capacity",
            "double_buffering",
            "im2col",
            "precision=4",
            "zero_skip",
            "weight_skip",
            "zero_gating",
            "bit_serial",
        ] {
            assert_eq!(text.parse::<Toggle>().unwrap().to_string(), text);
        }
        assert_eq!(
            "dataflow=output_stationary".parse::<Toggle>(),
            Ok(Toggle::Dataflow(Dataflow::OutputStationary))
        );
        let error = "zero_skipping".parse::<Toggle>().unwrap_err();
        assert!(error.contains("unknown toggle `zero_skipping`"), "{error}");
        assert!(error.contains(TOGGLE_SYNTAX), "{error}");
        assert!("dataflow=xs"
            .parse::<Toggle>()
            .unwrap_err()
            .contains("ws, os, is or rs"));
        let renamed = "double_buffers".parse::<Toggle>().unwrap_err();
        assert!(renamed.contains("now `double_capacity`"), "{renamed}");
        assert!("precision=four".parse::<Toggle>().is_err());
        assert!("precision"
            .parse::<Toggle>()
            .unwrap_err()
            .contains("needs a value"));
    }

    #[test]
    fn variants_edit_the_keys_their_toggle_names() {
        let base = config::load_str(TINY_CORE, "tiny_core.yaml").unwrap();
        let mut edited = tree(TINY_CORE);
        let changes = Toggle::HalfBuffers.apply(&base, &mut edited).unwrap();
        assert_eq!(
            changes,
            [
                "buffers.ifmap.capacity: \"128 words\" → \"64 words\"",
                "buffers.weight.capacity: \"64 words\" → \"32 words\"",
                "buffers.psum.capacity: \"32 words\" → \"16 words\"",
                "buffers.ofmap.capacity: \"128 words\" → \"64 words\"",
            ]
        );
        let half = config::load_str(&edited.to_yaml(), "half.yaml").unwrap();
        let buffers = half.buffers.unwrap();
        assert_eq!(
            (
                buffers.ifmap.depth,
                buffers.weight.depth,
                buffers.psum.depth
            ),
            (64, 32, 16)
        );

        let mut edited = tree(TINY_CORE);
        let changes = Toggle::Dataflow(Dataflow::OutputStationary)
            .apply(&base, &mut edited)
            .unwrap();
        assert_eq!(
            changes,
            ["pe_array.dataflow: weight_stationary → output_stationary"]
        );
        assert_eq!(
            Toggle::Dataflow(Dataflow::WeightStationary).apply(&base, &mut tree(TINY_CORE)),
            Err(Skip::NotApplicable(
                "the base already is weight_stationary".into()
            ))
        );

        let mut edited = tree(TINY_CORE);
        let changes = Toggle::DoubleBuffering.apply(&base, &mut edited).unwrap();
        assert_eq!(
            changes,
            [
                "buffers.ifmap.double_buffered: (default) → true",
                "buffers.weight.double_buffered: (default) → true",
                "buffers.ofmap.double_buffered: (default) → true",
            ]
        );
        let double = config::load_str(&edited.to_yaml(), "double.yaml").unwrap();
        let buffers = double.buffers.as_ref().unwrap();
        assert!(buffers.ifmap.double_buffered && buffers.ofmap.double_buffered);
        assert_eq!(buffers.ifmap.depth, 128, "the same words, in two halves");
        let mut back = edited.clone();
        let changes = Toggle::DoubleBuffering.apply(&double, &mut back).unwrap();
        assert_eq!(changes[0], "buffers.ifmap.double_buffered: true → false");

        // tiny_core walks input tiles (im2col's default); the variant leaves im2col to the
        // host, and switching the dataflow away from weight-stationary takes window mode along.
        let mut edited = tree(TINY_CORE);
        let changes = Toggle::Im2col.apply(&base, &mut edited).unwrap();
        assert_eq!(changes, ["buffers.im2col: (default) → host"]);
        let host = config::load_str(&edited.to_yaml(), "host.yaml").unwrap();
        assert_eq!(host.buffers.as_ref().unwrap().im2col, Im2col::Host);
        let mut explicit = tree(&TINY_CORE.replace("buffers:\n", "buffers:\n  im2col: hardware\n"));
        let changes = Toggle::Dataflow(Dataflow::OutputStationary)
            .apply(&base, &mut explicit)
            .unwrap();
        assert_eq!(changes[1], "buffers.im2col: hardware → host");
        let os = config::load_str(&explicit.to_yaml(), "os.yaml").unwrap();
        assert!(matches!(
            Toggle::Im2col.apply(&os, &mut edited),
            Err(Skip::NotApplicable(_))
        ));

        let edge = config::load_str(EDGE_WS, "edge_ws.yaml").unwrap();
        assert!(matches!(
            Toggle::HalfBuffers.apply(&edge, &mut tree(EDGE_WS)),
            Err(Skip::NotApplicable(_))
        ));
        // zero_skip needs a core; on a weight-stationary one it also makes it
        // output-stationary, and back.
        assert!(matches!(
            Toggle::ZeroSkip.apply(&edge, &mut tree(EDGE_WS)),
            Err(Skip::NotApplicable(_))
        ));
        let edge_tpu = config::load_str(EDGE_TPU, "edge_tpu.yaml").unwrap();
        let mut edited = tree(EDGE_TPU);
        let changes = Toggle::ZeroSkip.apply(&edge_tpu, &mut edited).unwrap();
        assert!(
            changes.contains(&"zero_skip.activations: (default) → true".to_owned()),
            "{changes:?}"
        );
        let skipping = config::load_str(&edited.to_yaml(), "zs.yaml").unwrap();
        assert!(skipping.zero_skip.activations);
        assert_eq!(skipping.pe_array.dataflow, Dataflow::OutputStationary);
        let mut back = edited.clone();
        Toggle::ZeroSkip.apply(&skipping, &mut back).unwrap();
        assert!(
            !config::load_str(&back.to_yaml(), "back.yaml")
                .unwrap()
                .zero_skip
                .activations
        );
        let mut ws = edited.clone();
        Toggle::Dataflow(Dataflow::WeightStationary)
            .apply(&skipping, &mut ws)
            .unwrap();
        assert!(config::load_str(&ws.to_yaml(), "ws.yaml").is_ok());
        // bit_serial makes the PEs Stripes PEs and back, dropping the `serial:` section.
        let mut edited = tree(EDGE_WS);
        let changes = Toggle::BitSerial.apply(&edge, &mut edited).unwrap();
        assert_eq!(changes, ["pe.kind: parallel → bit_serial"]);
        let serial = config::load_str(&edited.to_yaml(), "bs.yaml").unwrap();
        assert!(serial.pe.kind.is_bit_serial());
        edited.set(
            &["pe", "serial", "mode"],
            Node::Str("stripes".into()),
            &mut Vec::new(),
        );
        let serial = config::load_str(&edited.to_yaml(), "bs.yaml").unwrap();
        let mut back = edited.clone();
        Toggle::BitSerial.apply(&serial, &mut back).unwrap();
        let parallel = config::load_str(&back.to_yaml(), "back.yaml").unwrap();
        assert_eq!(parallel.pe, edge.pe);
        assert!(matches!(
            Toggle::BitSerial.apply(&os, &mut tree(TINY_CORE)),
            Err(Skip::NotApplicable(_))
        ));
        // On a zero-skipping output-stationary core bit_serial means Bit-Pragmatic, and back;
        // a Pragmatic base keeps its dataflow and its skipping.
        let cnvlutin = config::load_str(CNVLUTIN, "cnvlutin_like.yaml").unwrap();
        let mut edited = tree(CNVLUTIN);
        let changes = Toggle::BitSerial.apply(&cnvlutin, &mut edited).unwrap();
        assert_eq!(
            changes,
            [
                "pe.kind: parallel → bit_serial",
                "pe.serial.mode: (default) → pragmatic",
                "zero_skip.gating: true → false"
            ]
        );
        let pragmatic = config::load_str(&edited.to_yaml(), "pg.yaml").unwrap();
        assert!(pragmatic.pe.kind.is_pragmatic());
        let mut back = edited.clone();
        Toggle::BitSerial.apply(&pragmatic, &mut back).unwrap();
        let parallel = config::load_str(&back.to_yaml(), "back.yaml").unwrap();
        assert_eq!(parallel.pe, cnvlutin.pe);
        assert!(!parallel.zero_skip.gating, "the gating stays off");
        for toggle in [
            Toggle::ZeroSkip,
            Toggle::Dataflow(Dataflow::WeightStationary),
        ] {
            assert!(
                matches!(
                    toggle.apply(&pragmatic, &mut edited.clone()),
                    Err(Skip::NotApplicable(_))
                ),
                "{toggle}"
            );
        }
        // zero_gating: on a weight-stationary core also output-stationary; off again on a
        // gating base, and dropped when the dataflow leaves output-stationary.
        let mut edited = tree(EDGE_TPU);
        let changes = Toggle::ZeroGating.apply(&edge_tpu, &mut edited).unwrap();
        assert!(
            changes.contains(&"zero_skip.gating: (default) → true".to_owned()),
            "{changes:?}"
        );
        let gating = config::load_str(&edited.to_yaml(), "zg.yaml").unwrap();
        assert!(gating.zero_skip.gating);
        assert_eq!(gating.pe_array.dataflow, Dataflow::OutputStationary);
        let mut back = edited.clone();
        Toggle::ZeroGating.apply(&gating, &mut back).unwrap();
        assert!(
            !config::load_str(&back.to_yaml(), "back.yaml")
                .unwrap()
                .zero_skip
                .gating
        );
        let mut ws = edited.clone();
        Toggle::Dataflow(Dataflow::WeightStationary)
            .apply(&gating, &mut ws)
            .unwrap();
        assert!(
            !config::load_str(&ws.to_yaml(), "ws.yaml")
                .unwrap()
                .zero_skip
                .gating
        );
        assert!(matches!(
            Toggle::ZeroGating.apply(&edge, &mut tree(EDGE_WS)),
            Err(Skip::NotApplicable(_))
        ));
        let mut edited = tree(EDGE_WS);
        Toggle::Precision(4).apply(&edge, &mut edited).unwrap();
        let narrow = config::load_str(&edited.to_yaml(), "p4.yaml").unwrap();
        assert_eq!((narrow.pe.act.bits, narrow.pe.weight.bits), (4, 4));
        assert_eq!(narrow.pe.acc_bits, edge.pe.acc_bits);
    }

    #[test]
    fn weight_skip_switches_the_core_and_keeps_the_weight_words_and_refuses_skipping_both() {
        // On a weight-stationary base: output-stationary and skipping, the weight words kept.
        let edge_tpu = config::load_str(EDGE_TPU, "edge_tpu.yaml").unwrap();
        let mut edited = tree(EDGE_TPU);
        let changes = Toggle::WeightSkip.apply(&edge_tpu, &mut edited).unwrap();
        assert!(
            changes.contains(&"zero_skip.weights: (default) → true".to_owned()),
            "{changes:?}"
        );
        let skipping = config::load_str(&edited.to_yaml(), "zw.yaml").unwrap();
        assert!(skipping.zero_skip.weights);
        assert_eq!(skipping.pe_array.dataflow, Dataflow::OutputStationary);
        let depth = |spec: &AcceleratorSpec| spec.buffers.as_ref().unwrap().weight.depth;
        assert_eq!(depth(&skipping), depth(&edge_tpu));
        // Off again on a skipping base, and when the dataflow leaves output-stationary.
        let cambricon = config::load_str(CAMBRICON, "cambricon_like.yaml").unwrap();
        for toggle in [
            Toggle::WeightSkip,
            Toggle::Dataflow(Dataflow::WeightStationary),
        ] {
            let mut edited = tree(CAMBRICON);
            toggle.apply(&cambricon, &mut edited).unwrap();
            let variant = config::load_str(&edited.to_yaml(), "v.yaml").unwrap();
            assert!(!variant.zero_skip.weights, "{toggle}");
            assert_eq!(depth(&variant), depth(&cambricon), "{toggle}");
        }
        // One compacted operand per core.
        let cnvlutin = config::load_str(CNVLUTIN, "cnvlutin_like.yaml").unwrap();
        for (toggle, base, text) in [
            (Toggle::WeightSkip, &cnvlutin, CNVLUTIN),
            (Toggle::ZeroSkip, &cambricon, CAMBRICON),
        ] {
            assert!(
                matches!(
                    toggle.apply(base, &mut tree(text)),
                    Err(Skip::NotApplicable(_))
                ),
                "{toggle}"
            );
        }
    }

    #[test]
    fn defaults_cover_the_other_dataflows_buffers_precision_and_the_missing_units() {
        let edge = config::load_str(EDGE_WS, "edge_ws.yaml").unwrap();
        let names: Vec<String> = default_toggles(&edge)
            .iter()
            .map(Toggle::to_string)
            .collect();
        assert_eq!(
            names,
            [
                "dataflow=os",
                "dataflow=is",
                "precision=4",
                "zero_skip",
                "weight_skip",
                "zero_gating",
                "bit_serial"
            ]
        );
        let core = config::load_str(TINY_CORE, "tiny_core.yaml").unwrap();
        assert!(default_toggles(&core).contains(&Toggle::HalfBuffers));
    }
}
