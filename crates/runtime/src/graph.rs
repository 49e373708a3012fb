//! The pipeline graph: adjacency, sources, sinks and the deterministic topological
//! order (Kahn's algorithm, ties broken by manifest order).

use std::collections::HashMap;

use crate::manifest::Manifest;

/// Adjacency of a manifest's nodes, by index into `manifest.nodes`.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Node ids in manifest order.
    pub ids: Vec<String>,
    /// For each node, the indices of its parents, in connection order.
    pub parents: Vec<Vec<usize>>,
    /// For each node, the indices of its children, in connection order.
    pub children: Vec<Vec<usize>>,
    /// Node indices in topological order.
    pub order: Vec<usize>,
}

/// A graph that cannot be ordered: `cycle` lists node ids around one cycle, the
/// first repeated at the end (`["a", "b", "a"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleError {
    /// Ids around the cycle.
    pub cycle: Vec<String>,
}

impl Graph {
    /// Builds the graph. Connections naming unknown ids are skipped (validation
    /// reports them); duplicate connections count once.
    ///
    /// Errors with one cycle when the graph is not a DAG.
    pub fn build(manifest: &Manifest) -> Result<Graph, CycleError> {
        let ids: Vec<String> = manifest.nodes.iter().map(|n| n.id.clone()).collect();
        let edges = manifest
            .connections
            .iter()
            .map(|c| (c.from.as_str(), c.to.as_str()));
        Graph::from_edges(ids, edges)
    }

    /// Builds the graph from node ids (manifest order) and `(from, to)` id pairs;
    /// pairs naming unknown ids are skipped. Errors with one cycle, as [`Graph::build`].
    pub fn from_edges<'a>(
        ids: Vec<String>,
        edges: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Graph, CycleError> {
        let index: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let n = ids.len();
        let mut parents = vec![Vec::new(); n];
        let mut children = vec![Vec::new(); n];
        for (from, to) in edges {
            let (Some(&from), Some(&to)) = (index.get(from), index.get(to)) else {
                continue;
            };
            if !children[from].contains(&to) {
                children[from].push(to);
                parents[to].push(from);
            }
        }
        let order = topological_order(&parents, &children).ok_or_else(|| CycleError {
            cycle: find_cycle(&children)
                .into_iter()
                .map(|i| ids[i].clone())
                .collect(),
        })?;
        // Fan-in delivers parents' items in topological order of the parents.
        let rank: Vec<usize> = {
            let mut rank = vec![0; n];
            for (pos, &node) in order.iter().enumerate() {
                rank[node] = pos;
            }
            rank
        };
        for p in &mut parents {
            p.sort_by_key(|&i| rank[i]);
        }
        Ok(Graph {
            ids,
            parents,
            children,
            order,
        })
    }

    /// Nodes with no parents, in manifest order.
    pub fn sources(&self) -> Vec<usize> {
        (0..self.ids.len())
            .filter(|&i| self.parents[i].is_empty())
            .collect()
    }

    /// Nodes with no children, in topological order.
    pub fn sinks(&self) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|&i| self.children[i].is_empty())
            .collect()
    }
}

/// Kahn's algorithm; among ready nodes the lowest manifest index goes first.
/// `None` if there is a cycle.
fn topological_order(parents: &[Vec<usize>], children: &[Vec<usize>]) -> Option<Vec<usize>> {
    let n = parents.len();
    let mut pending: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut ready = std::collections::BTreeSet::new();
    ready.extend((0..n).filter(|&i| pending[i] == 0));
    let mut order = Vec::with_capacity(n);
    while let Some(next) = ready.pop_first() {
        order.push(next);
        for &child in &children[next] {
            pending[child] -= 1;
            if pending[child] == 0 {
                ready.insert(child);
            }
        }
    }
    (order.len() == n).then_some(order)
}

/// One cycle (as node indices, first repeated at the end) found by depth-first search.
fn find_cycle(children: &[Vec<usize>]) -> Vec<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let n = children.len();
    let mut mark = vec![Mark::New; n];
    for start in 0..n {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative DFS: stack of (node, next child position).
        let mut stack = vec![(start, 0usize)];
        mark[start] = Mark::OnStack;
        while let Some(&mut (node, ref mut pos)) = stack.last_mut() {
            if let Some(&child) = children[node].get(*pos) {
                *pos += 1;
                match mark[child] {
                    Mark::New => {
                        mark[child] = Mark::OnStack;
                        stack.push((child, 0));
                    }
                    Mark::OnStack => {
                        let from = stack.iter().position(|&(n, _)| n == child).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(child);
                        return cycle;
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    Vec::new()
}
