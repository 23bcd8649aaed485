//! Design-rule checks run on every module as it enters a design: undriven and multiply-driven
//! signals, signals (or bits of them) never read, unused memories, and combinational loops
//! (through this module's wires and through its children's input-to-output paths).
//!
//! These are the checks Verilator's lint and Yosys's `check` would otherwise report late and far
//! from the Rust code that caused them; here they name the module and signal.

use std::collections::BTreeSet;

use super::error::HdlError;
use super::expr::{Expr, SignalId};
use super::ir::{Connection, Design, Module, SignalKind};

/// Runs every rule on `module` (its children are already in `design`) and records its
/// combinational input→output paths for the parents' loop checks.
pub fn check_module(module: &mut Module, design: &Design) -> Result<(), HdlError> {
    if module.external {
        // Only ports, no logic (the builder refuses any): nothing is driven or read here, and a
        // macro registers its outputs, so it has no combinational input-to-output path.
        module.combinational_paths.clear();
        return Ok(());
    }
    let mut problems = Vec::new();
    let edges = combinational_edges(module, design);
    check_drivers(module, &mut problems);
    check_reads(module, &mut problems);
    check_memories(module, &mut problems);
    check_loops(module, &edges, &mut problems);
    if !problems.is_empty() {
        return Err(HdlError::DesignRules {
            module: module.name.clone(),
            problems,
        });
    }
    module.combinational_paths = input_to_output_paths(module, &edges);
    Ok(())
}

fn name(module: &Module, id: SignalId) -> &str {
    &module.signal(id).name
}

fn check_drivers(module: &Module, problems: &mut Vec<String>) {
    let mut drivers = vec![0usize; module.signals.len()];
    for (target, _) in &module.assigns {
        drivers[target.0] += 1;
    }
    for instance in &module.instances {
        for (_, connection) in &instance.connections {
            if let Connection::Output(wire) = connection {
                drivers[wire.0] += 1;
            }
        }
    }
    for (index, signal) in module.signals.iter().enumerate() {
        let needs_driver = matches!(signal.kind, SignalKind::Wire | SignalKind::Output);
        match drivers[index] {
            0 if needs_driver => {
                problems.push(format!("`{}` ({}) is never driven", signal.name, signal.ty))
            }
            count if count > 1 => problems.push(format!(
                "`{}` is driven {count} times; a wire has exactly one driver",
                signal.name
            )),
            _ => {}
        }
    }
}

/// Does any expression of `module` read (a bit of) `signal`?
pub(crate) fn reads_signal(module: &Module, signal: SignalId) -> bool {
    let mut found = false;
    for expr in expressions(module) {
        expr.for_each_read(&mut |_, id, _, _| found |= id == signal);
    }
    found
}

/// Every expression the module evaluates, in one list.
fn expressions(module: &Module) -> Vec<&Expr> {
    let mut all: Vec<&Expr> = module.assigns.iter().map(|(_, value)| value).collect();
    for register in &module.registers {
        all.push(&register.next);
        all.extend(register.enable.iter());
    }
    for memory in &module.memories {
        for write in &memory.writes {
            all.extend([&write.enable, &write.address, &write.data]);
        }
    }
    for instance in &module.instances {
        for (_, connection) in &instance.connections {
            if let Connection::Input(value) = connection {
                all.push(value);
            }
        }
    }
    all.extend(module.sinks.iter().map(|s| &s.value));
    all
}

fn check_reads(module: &Module, problems: &mut Vec<String>) {
    // Bit masks of what is read, per signal (u128 words would cap widths; use a bool per bit).
    let mut read: Vec<Vec<bool>> = module
        .signals
        .iter()
        .map(|s| vec![false; s.ty.width as usize])
        .collect();
    for expr in expressions(module) {
        expr.for_each_read(&mut |_, id, low, width| {
            for bit in low..low + width {
                read[id.0][bit as usize] = true;
            }
        });
    }
    for (index, signal) in module.signals.iter().enumerate() {
        let id = SignalId(index);
        if signal.kind == SignalKind::Output || !module.is_present(id) || index < 2 {
            continue;
        }
        let unread: Vec<usize> = (0..read[index].len())
            .filter(|&b| !read[index][b])
            .collect();
        if unread.is_empty() {
            continue;
        }
        let what = if unread.len() == read[index].len() {
            "is never read".to_string()
        } else {
            format!("has bits never read: {}", bit_ranges(&unread))
        };
        problems.push(format!(
            "`{}` {what}; use it, narrow it, or sink it with the reason",
            signal.name
        ));
    }
}

/// `[7:4], [1]` from a sorted list of bit indices.
fn bit_ranges(bits: &[usize]) -> String {
    let mut ranges = Vec::new();
    let mut start = bits[0];
    let mut previous = bits[0];
    for &bit in &bits[1..] {
        if bit != previous + 1 {
            ranges.push((start, previous));
            start = bit;
        }
        previous = bit;
    }
    ranges.push((start, previous));
    ranges
        .iter()
        .rev()
        .map(|&(low, high)| {
            if low == high {
                format!("[{low}]")
            } else {
                format!("[{high}:{low}]")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_memories(module: &Module, problems: &mut Vec<String>) {
    let mut read = vec![false; module.memories.len()];
    for expr in expressions(module) {
        mark_memory_reads(expr, &mut read);
    }
    for (index, memory) in module.memories.iter().enumerate() {
        if memory.writes.is_empty() {
            problems.push(format!("memory `{}` is never written", memory.name));
        }
        if !read[index] {
            problems.push(format!("memory `{}` is never read", memory.name));
        }
    }
}

fn mark_memory_reads(expr: &Expr, read: &mut [bool]) {
    use super::expr::ExprKind::*;
    match expr.kind() {
        MemoryRead {
            memory, address, ..
        } => {
            read[memory.0] = true;
            mark_memory_reads(address, read);
        }
        Signal { .. } | Const(_) | NamedConst { .. } | Invalid(_) => {}
        Unary(_, a) | Slice { base: a, .. } | Extend(a) | Reinterpret(a) => {
            mark_memory_reads(a, read)
        }
        Binary(_, a, b) => {
            mark_memory_reads(a, read);
            mark_memory_reads(b, read);
        }
        Mux {
            select,
            when_true,
            when_false,
        } => {
            for e in [select, when_true, when_false] {
                mark_memory_reads(e, read);
            }
        }
        Concat(parts) => parts.iter().for_each(|p| mark_memory_reads(p, read)),
    }
}

/// For each signal, the signals it depends on combinationally (within one clock cycle).
fn combinational_edges(module: &Module, design: &Design) -> Vec<BTreeSet<SignalId>> {
    let mut depends_on = vec![BTreeSet::new(); module.signals.len()];
    for (target, value) in &module.assigns {
        value.for_each_read(&mut |_, source, _, _| {
            depends_on[target.0].insert(source);
        });
    }
    for instance in &module.instances {
        let child = design.module(instance.module);
        for (child_input, child_output) in &child.combinational_paths {
            let input_name = &child.signal(*child_input).name;
            let output_name = &child.signal(*child_output).name;
            let feeding = instance.connections.iter().find_map(|(port, c)| match c {
                Connection::Input(value) if port == input_name => Some(value),
                _ => None,
            });
            let driven = instance.connections.iter().find_map(|(port, c)| match c {
                Connection::Output(wire) if port == output_name => Some(*wire),
                _ => None,
            });
            if let (Some(value), Some(wire)) = (feeding, driven) {
                value.for_each_read(&mut |_, source, _, _| {
                    depends_on[wire.0].insert(source);
                });
            }
        }
    }
    depends_on
}

fn check_loops(module: &Module, edges: &[BTreeSet<SignalId>], problems: &mut Vec<String>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search; `path` holds the signals on the current path.
        let mut path: Vec<(usize, Vec<SignalId>)> =
            vec![(start, edges[start].iter().copied().collect())];
        marks[start] = Mark::OnPath;
        while let Some((node, pending)) = path.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(next) => match marks[next.0] {
                    Mark::New => {
                        marks[next.0] = Mark::OnPath;
                        path.push((next.0, edges[next.0].iter().copied().collect()));
                    }
                    Mark::OnPath => {
                        let position = path.iter().position(|(n, _)| *n == next.0).unwrap_or(0);
                        let cycle: Vec<&str> = path[position..]
                            .iter()
                            .map(|(n, _)| name(module, SignalId(*n)))
                            .collect();
                        problems.push(format!(
                            "combinational loop: {} -> {}",
                            cycle.join(" -> "),
                            name(module, next)
                        ));
                        return;
                    }
                    Mark::Done => {}
                },
                None => {
                    marks[node] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
}

fn input_to_output_paths(
    module: &Module,
    edges: &[BTreeSet<SignalId>],
) -> Vec<(SignalId, SignalId)> {
    let mut paths = Vec::new();
    for (output, signal) in module.ports() {
        if signal.kind != SignalKind::Output {
            continue;
        }
        let mut seen = vec![false; edges.len()];
        let mut stack = vec![output];
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id.0], true) {
                continue;
            }
            if module.signal(id).kind == SignalKind::Input {
                paths.push((id, output));
            }
            stack.extend(edges[id.0].iter().copied());
        }
    }
    paths.sort();
    paths
}

#[cfg(test)]
mod tests {
    use crate::hdl::{Design, ModuleBuilder, Type};

    fn black_box(design: &mut Design) -> crate::hdl::ModuleId {
        let mut m = ModuleBuilder::external("tech_ram");
        m.input_doc("clk0", Type::bit(), "clock");
        m.input("d", Type::unsigned(4));
        m.output_port("q", Type::unsigned(4), None);
        design.add(m.finish().unwrap()).unwrap()
    }

    #[test]
    fn external_modules_are_ports_only_and_instantiate_like_any_module() {
        let mut design = Design::new();
        let ram = black_box(&mut design);
        let module = design.module(ram);
        assert!(module.external && !module.has_clock && module.combinational_paths.is_empty());
        let names: Vec<_> = module.ports().map(|(_, s)| s.name.as_str()).collect();
        assert_eq!(names, ["clk0", "d", "q"]);

        let mut top = ModuleBuilder::new("uses_ram");
        let d = top.input("d", Type::unsigned(4));
        let u = top.instance("u_ram", &design, ram);
        let clock = top.clock();
        top.connect(u, "clk0", &clock);
        top.connect(u, "d", &d);
        let q = top.connect_output(u, "q");
        top.output("q", &q);
        let top = design.add(top.finish().unwrap()).unwrap();
        // Reading the clock makes it a port, although the parent holds no register.
        assert!(design.module(top).has_clock);
        design.set_top(top);
        assert_eq!(design.external_modules(), vec![ram]);
    }

    #[test]
    fn external_modules_refuse_logic() {
        let mut m = ModuleBuilder::external("tech_ram");
        let d = m.input("d", Type::unsigned(4));
        m.output("q", &d);
        let error = m.finish().unwrap_err().to_string();
        assert!(
            error.contains("external module holds assignments"),
            "{error}"
        );
    }
}
