//! A block diagram of a generated design, drawn from the IR as SVG: the instance hierarchy under
//! the top, one box per instance, with repeated instances of one module collapsed into one box
//! (`8×8 × pe_ws_…` when their names are a `_r<row>_c<col>` grid, else `N × module`), and each
//! module's memories listed in its box. Boxes are laid out as an indented tree, children below
//! and to the right of their parent.

use std::fmt::Write;

use super::html::escape;
use crate::hdl::{Design, ModuleId};

/// One box of the diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Instance name (`pe_array`), or the shared prefix of a collapsed group (`pe`); `top` for
    /// the top.
    pub instance: String,
    pub module: String,
    /// How many instances the box stands for, and their grid when their names form one.
    pub count: u64,
    pub grid: Option<(u64, u64)>,
    /// `name: depth × width` of each memory of the module.
    pub memories: Vec<String>,
    pub children: Vec<Block>,
}

impl Block {
    /// `8×8 × ` or `3 × ` before the module name; empty for a single instance.
    fn multiplicity(&self) -> String {
        match (self.count, self.grid) {
            (1, _) => String::new(),
            (_, Some((rows, cols))) => format!("{rows}×{cols} × "),
            (count, None) => format!("{count} × "),
        }
    }
}

/// The hierarchy under the design's top; `None` for a design without a top.
pub fn hierarchy(design: &Design) -> Option<Block> {
    let top = design.top()?;
    Some(block(design, top, "top".into(), 1, None))
}

fn block(
    design: &Design,
    id: ModuleId,
    instance: String,
    count: u64,
    grid: Option<(u64, u64)>,
) -> Block {
    let module = design.module(id);
    // Group the instances by module, in the order they first appear.
    let mut groups: Vec<(ModuleId, Vec<&str>)> = Vec::new();
    for child in &module.instances {
        match groups
            .iter_mut()
            .find(|(module, _)| *module == child.module)
        {
            Some((_, names)) => names.push(&child.name),
            None => groups.push((child.module, vec![&child.name])),
        }
    }
    let children = groups
        .into_iter()
        .map(|(child, names)| {
            let (name, grid) = match names.as_slice() {
                [single] => ((*single).to_owned(), None),
                many => group_name(many),
            };
            block(design, child, name, names.len() as u64, grid)
        })
        .collect();
    Block {
        instance,
        module: module.name.clone(),
        count,
        grid,
        memories: module
            .memories
            .iter()
            .map(|m| format!("{}: {} × {} bits", m.name, m.depth, m.ty.width))
            .collect(),
        children,
    }
}

/// The shared prefix of a group's instance names and, when every name is `<prefix>_r<i>_c<j>`
/// and together they fill a rows×cols grid, that grid.
fn group_name(names: &[&str]) -> (String, Option<(u64, u64)>) {
    let parse = |name: &str| -> Option<(String, u64, u64)> {
        let (rest, col) = name.rsplit_once("_c")?;
        let (prefix, row) = rest.rsplit_once("_r")?;
        Some((prefix.to_owned(), row.parse().ok()?, col.parse().ok()?))
    };
    let parsed: Option<Vec<_>> = names.iter().map(|n| parse(n)).collect();
    if let Some(parsed) = parsed {
        let prefix = &parsed[0].0;
        let rows = parsed.iter().map(|p| p.1).max().unwrap_or(0) + 1;
        let cols = parsed.iter().map(|p| p.2).max().unwrap_or(0) + 1;
        if parsed.iter().all(|p| &p.0 == prefix) && rows * cols == names.len() as u64 {
            return (prefix.clone(), Some((rows, cols)));
        }
    }
    let first = names[0];
    let common = names.iter().fold(first.len(), |length, name| {
        first
            .bytes()
            .zip(name.bytes())
            .take(length)
            .take_while(|(a, b)| a == b)
            .count()
    });
    let prefix = first[..common].trim_end_matches(|c: char| c == '_' || c.is_ascii_digit());
    (
        if prefix.is_empty() { first } else { prefix }.to_owned(),
        None,
    )
}

const ROW_HEIGHT: f64 = 18.0;
const CHAR_WIDTH: f64 = 7.2;
const INDENT: f64 = 28.0;

/// The hierarchy as an SVG element, for inlining in HTML.
pub fn svg(root: &Block) -> String {
    // Lay out depth-first: each box at (depth·INDENT, running y).
    let mut boxes = Vec::new();
    layout(root, 0, &mut 10.0, None, &mut boxes);
    let width = boxes.iter().map(|b| b.x + b.width).fold(0.0, f64::max) + 10.0;
    let height = boxes.iter().map(|b| b.y + b.height).fold(0.0, f64::max) + 10.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg class=\"diagram\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         role=\"img\" aria-label=\"block diagram of {}\">",
        escape(&root.module)
    );
    for placed in &boxes {
        if let Some((px, py)) = placed.parent {
            // An elbow from the parent's left edge down to the child's left middle.
            let (x0, y_mid) = (px + INDENT / 2.0, placed.y + ROW_HEIGHT);
            let _ = writeln!(
                out,
                "<path d=\"M{x0:.1} {py:.1} V{y_mid:.1} H{:.1}\" fill=\"none\" stroke=\"#888\"/>",
                placed.x
            );
        }
        let _ = writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"4\" fill=\"{}\" stroke=\"#555\"/>",
            placed.x,
            placed.y,
            placed.width,
            placed.height,
            if placed.count > 1 { "#e8f0fa" } else { "#fafafa" }
        );
        for (line, text) in placed.lines.iter().enumerate() {
            let weight = if line == 0 {
                " font-weight=\"bold\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\"{weight}>{}</text>",
                placed.x + 8.0,
                placed.y + ROW_HEIGHT * (line as f64 + 1.0) - 4.0,
                escape(text)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

struct Placed {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    count: u64,
    lines: Vec<String>,
    /// The parent box's left x and bottom y.
    parent: Option<(f64, f64)>,
}

fn layout(
    block: &Block,
    depth: usize,
    y: &mut f64,
    parent: Option<(f64, f64)>,
    out: &mut Vec<Placed>,
) {
    let mut lines = vec![
        format!("{}{}", block.multiplicity(), block.instance),
        block.module.clone(),
    ];
    lines.extend(block.memories.iter().cloned());
    let width =
        lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64 * CHAR_WIDTH + 16.0;
    let height = ROW_HEIGHT * lines.len() as f64 + 6.0;
    let x = 10.0 + INDENT * depth as f64;
    let top = *y;
    out.push(Placed {
        x,
        y: top,
        width,
        height,
        count: block.count,
        lines,
        parent,
    });
    *y += height + 8.0;
    for child in &block.children {
        layout(child, depth + 1, y, Some((x, top + height)), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::build_design;
    use crate::blocks::test_specs::int8;

    #[test]
    fn a_pe_grid_collapses_into_one_box_with_its_shape() {
        let spec = int8(3, 4);
        let design = build_design(&spec).unwrap();
        let root = hierarchy(&design).unwrap();
        fn find(block: &Block, count: u64) -> Option<&Block> {
            if block.count == count {
                return Some(block);
            }
            block.children.iter().find_map(|c| find(c, count))
        }
        let grid = find(&root, 12).expect("a box standing for the 12 PEs");
        assert_eq!(grid.grid, Some((3, 4)));
        assert!(grid.module.starts_with("pe_ws"), "{}", grid.module);
        let drawn = svg(&root);
        assert!(drawn.contains("3×4 × "), "{drawn}");
        assert!(drawn.starts_with("<svg") && drawn.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn names_without_a_grid_keep_their_common_prefix() {
        assert_eq!(
            group_name(&["bank_0", "bank_1", "bank_2"]),
            ("bank".into(), None)
        );
        assert_eq!(
            group_name(&["x_r0_c0", "x_r0_c1"]),
            ("x".into(), Some((1, 2)))
        );
        // An incomplete grid is just a count.
        assert_eq!(group_name(&["x_r0_c0", "x_r1_c1"]).1, None);
    }
}
