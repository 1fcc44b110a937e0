//! Lowering checked steps to a petgraph DAG: cycle detection, topological
//! order, and the `dot` / `mermaid` renderings of `lotto graph`.

use crate::diag::{Code, Diagnostic};
use crate::program::Step;
use crate::source::Sources;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashSet;

/// Edges run from a step to the steps that read it.
pub fn build(steps: &[Step]) -> DiGraph<usize, ()> {
    let mut g = DiGraph::with_capacity(steps.len(), steps.len() * 2);
    let nodes: Vec<NodeIndex> = (0..steps.len()).map(|i| g.add_node(i)).collect();
    for (i, s) in steps.iter().enumerate() {
        for d in s.deps() {
            g.add_edge(nodes[d.step], nodes[i], ());
        }
    }
    g
}

/// Steps in an order where every step comes after its inputs.
pub fn topo_order(steps: &[Step]) -> Vec<usize> {
    let g = build(steps);
    toposort(&g, None)
        .map(|v| v.into_iter().map(|n| g[n]).collect())
        .unwrap_or_default()
}

/// Whether the steps form no cycle: an iterative depth-first search over
/// plain vectors, several times cheaper than building the petgraph graph,
/// which is only built to describe a cycle once one exists.
fn acyclic(steps: &[Step]) -> bool {
    let deps: Vec<Vec<usize>> = steps
        .iter()
        .map(|s| s.deps().iter().map(|r| r.step).collect())
        .collect();
    // 0: not seen, 1: on the current path, 2: finished.
    let mut state = vec![0u8; steps.len()];
    let mut stack: Vec<(usize, usize)> = vec![];
    for root in 0..steps.len() {
        if state[root] != 0 {
            continue;
        }
        state[root] = 1;
        stack.push((root, 0));
        while let Some((node, next)) = stack.pop() {
            match deps[node].get(next) {
                Some(&d) => {
                    stack.push((node, next + 1));
                    match state.get(d) {
                        Some(1) => return false,
                        Some(0) => {
                            state[d] = 1;
                            stack.push((d, 0));
                        }
                        _ => {}
                    }
                }
                None => state[node] = 2,
            }
        }
    }
    true
}

/// A cycle as `a -> b -> a`, reported at the first step's binding.
pub fn find_cycle(steps: &[Step], sources: &Sources) -> Result<(), Diagnostic> {
    if acyclic(steps) {
        return Ok(());
    }
    let g = build(steps);
    for scc in tarjan_scc(&g) {
        let self_loop = scc.len() == 1 && g.contains_edge(scc[0], scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let members: HashSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc.iter().min_by_key(|n| steps[g[**n]].span.start).unwrap();
        // Walk reads backwards (a reads b reads a) so the chain reads as
        // "a depends on b".
        let mut path = vec![start];
        let mut cur = start;
        loop {
            let next = g
                .neighbors_directed(cur, petgraph::Direction::Incoming)
                .filter(|n| members.contains(n))
                .min_by_key(|n| {
                    if *n == start {
                        0
                    } else {
                        1 + steps[g[*n]].span.start
                    }
                });
            let Some(n) = next else { break };
            path.push(n);
            if n == start || path.len() > scc.len() + 1 {
                break;
            }
            cur = n;
        }
        let names: Vec<String> = path.iter().map(|n| steps[g[*n]].name.clone()).collect();
        let s = &steps[g[start]];
        return Err(Diagnostic::new(
            Code::Cycle,
            s.span,
            format!("dependency cycle: {}", names.join(" -> ")),
        )
        .label("this step depends on itself through the cycle")
        .help(format!(
            "a step cannot use its own result; break the cycle (other steps in it: {})",
            names[1..names.len() - 1]
                .iter()
                .map(|n| format!(
                    "`{n}` at {}",
                    sources.locate(steps.iter().find(|s| &s.name == n).unwrap().span)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

fn node_label(s: &Step) -> String {
    format!("{}\\n{}", s.name, s.op)
}

/// Distinct steps a step reads (ports of one step are one edge).
fn dep_steps(s: &Step) -> Vec<usize> {
    let mut v: Vec<usize> = s.deps().into_iter().map(|r| r.step).collect();
    v.dedup();
    v
}

/// Graphviz text of the DAG.
pub fn to_dot(steps: &[Step]) -> String {
    let mut out = String::from(
        "digraph lotto {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (i, s) in steps.iter().enumerate() {
        out.push_str(&format!(
            "  s{i} [label=\"{}\"];\n",
            node_label(s).replace('"', "\\\"")
        ));
    }
    for (i, s) in steps.iter().enumerate() {
        for d in dep_steps(s) {
            out.push_str(&format!("  s{d} -> s{i};\n"));
        }
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart text of the DAG (renders in GitHub Markdown).
pub fn to_mermaid(steps: &[Step]) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, s) in steps.iter().enumerate() {
        let label = format!("{}<br/>{}", s.name, s.op).replace('"', "#quot;");
        out.push_str(&format!("  s{i}[\"{label}\"]\n"));
    }
    for (i, s) in steps.iter().enumerate() {
        for d in dep_steps(s) {
            out.push_str(&format!("  s{d} --> s{i}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_source, CheckOpts};
    use crate::test_registry::registry;

    fn steps(text: &str) -> Result<Vec<Step>, Vec<String>> {
        let ws = std::env::temp_dir();
        check_source("t.lotto", text, &ws, &registry(), &CheckOpts::default())
            .map(|c| c.steps)
            .map_err(|(d, _)| d.0.into_iter().map(|d| d.message).collect())
    }

    #[test]
    fn inputs_come_first_and_renderings_name_every_edge() {
        // Bound before use or not: the order follows the dependencies.
        let s =
            steps("data b = take(a)\ndata a = source(\"f\")\nmodel m = train([a, b])\n").unwrap();
        let order = topo_order(&s);
        let pos = |name: &str| order.iter().position(|&i| s[i].name == name).unwrap();
        assert!(pos("a") < pos("b") && pos("b") < pos("m"));
        let dot = to_dot(&s);
        assert!(
            dot.contains("s1 -> s0;") && dot.contains("s0 -> s2;"),
            "{dot}"
        );
        let mermaid = to_mermaid(&s);
        assert!(mermaid.starts_with("flowchart LR") && mermaid.contains("s1 --> s2"));
    }

    #[test]
    fn a_cycle_is_named_step_by_step() {
        let errs = steps("data a = take(c)\ndata b = take(a)\ndata c = take(b)\n").unwrap_err();
        assert_eq!(errs, ["dependency cycle: a -> c -> b -> a"]);
        let errs = steps("data a = take(a)\n").unwrap_err();
        assert_eq!(errs, ["dependency cycle: a -> a"]);
    }
}
