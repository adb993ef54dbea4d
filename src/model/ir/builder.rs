//! [`GraphBuilder`]: appends nodes to a [`Graph`] one segment at a time; each node's output is
//! a new value, numbered in creation order after the input (value 0).

use super::{Graph, Node, Op, Segment, ValueId};

/// Appends nodes to a graph, one segment at a time.
pub struct GraphBuilder {
    pub graph: Graph,
    current: Option<Segment>,
}

impl GraphBuilder {
    pub fn new(name: &str, input_channels: usize) -> Self {
        GraphBuilder {
            graph: Graph::new(name, input_channels),
            current: None,
        }
    }

    /// Closes the open segment (if any) and opens a new one.
    pub fn segment(&mut self, name: &str) {
        self.close();
        self.current = Some(Segment {
            name: name.to_string(),
            nodes: Vec::new(),
        });
    }

    fn close(&mut self) {
        if let Some(s) = self.current.take() {
            if !s.nodes.is_empty() {
                self.graph.segments.push(s);
            }
        }
    }

    /// Channels of a value.
    pub fn channels(&self, v: ValueId) -> usize {
        self.graph.value_channels[v]
    }

    /// Appends a node producing a new value of `out_c` channels; returns the value.
    pub fn push(&mut self, name: &str, op: Op, inputs: Vec<ValueId>, out_c: usize) -> ValueId {
        let output = self.graph.value_channels.len();
        self.graph.value_channels.push(out_c);
        if self.current.is_none() {
            self.segment("main");
        }
        if let Some(seg) = self.current.as_mut() {
            seg.nodes.push(Node {
                name: name.to_string(),
                op,
                inputs,
                output,
            });
        }
        output
    }

    /// Finishes the graph with `output` as its result.
    pub fn finish(mut self, output: ValueId) -> Graph {
        self.close();
        self.graph.output = output;
        self.graph
    }
}
