//! Graph-to-graph rewrites that change how a network runs, never what it computes.

use super::ir::{Graph, Op};

/// Pads the input conversion to a multiple of 4 channels (the extra ones zero) when every
/// consumer of the converted input is a conv, giving those convs zero weights for the new
/// channels. A 3-channel stem then reads its input as vec4s like every other conv. (Grouped
/// consumers keep the input as it is: padding would move channels between groups.)
/// Returns whether the graph changed.
pub fn pad_input_channels(graph: &mut Graph) -> bool {
    let Some(first) = graph.nodes().find(|n| matches!(n.op, Op::InputToNhwc)) else {
        return false;
    };
    let value = first.output;
    let c = graph.value_channels[value];
    let padded = c.div_ceil(4) * 4;
    if padded == c {
        return false;
    }
    let consumers: Vec<_> = graph
        .nodes()
        .filter(|n| n.inputs.contains(&value))
        .collect();
    let only_convs = consumers.iter().all(|n| {
        matches!(&n.op, Op::Conv { conv, .. } if conv.groups == 1)
            && n.inputs[0] == value
            && n.inputs.get(1) != Some(&value)
    });
    if consumers.is_empty() || !only_convs || graph.output == value {
        return false;
    }
    graph.value_channels[value] = padded;
    for seg in &mut graph.segments {
        for node in &mut seg.nodes {
            if node.inputs.first() != Some(&value) {
                continue;
            }
            if let Op::Conv { conv, weight, .. } = &mut node.op {
                // HWIO: insert (padded − c) zero rows after every tap's c input-channel rows.
                let cout = conv.out_c;
                let mut w = Vec::with_capacity(weight.len() / c * padded);
                for tap in weight.chunks(c * cout) {
                    w.extend_from_slice(tap);
                    w.resize(w.len() + (padded - c) * cout, 0.0);
                }
                *weight = w;
                conv.in_c = padded;
            }
        }
    }
    true
}

/// The converted input's value and how many of its channels carry data, where
/// [`pad_input_channels`] padded it (the channels past that count are always zero); `None`
/// where the input was not padded.
pub fn padded_input(graph: &Graph) -> Option<(usize, usize)> {
    let first = graph.nodes().find(|n| matches!(n.op, Op::InputToNhwc))?;
    let data = graph.input_channels;
    (graph.value_channels[first.output] > data).then_some((first.output, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ir::GraphBuilder;
    use crate::model::Conv2d;

    fn stem_graph() -> Graph {
        let mut g = GraphBuilder::new("t", 3);
        let x = g.push("input", Op::InputToNhwc, vec![0], 3);
        let conv = Conv2d::square(3, 2, 3, 2, 1);
        let weight: Vec<f32> = (0..conv.weight_len())
            .map(|i| i as f32 * 0.1 - 2.0)
            .collect();
        let op = Op::Conv {
            conv,
            weight,
            bias: vec![0.5, -0.5],
            relu: true,
        };
        let y = g.push("conv1", op, vec![x], 2);
        g.finish(y)
    }

    #[test]
    fn padded_stem_computes_the_same() {
        let g = stem_graph();
        let mut padded = g.clone();
        assert_eq!(padded_input(&padded), None);
        assert!(pad_input_channels(&mut padded));
        assert_eq!(padded.value_channels[1], 4);
        assert_eq!(padded_input(&padded), Some((1, 3)));
        let input: Vec<f32> = (0..2 * 3 * 9 * 7)
            .map(|i| ((i * 37) % 11) as f32 - 5.0)
            .collect();
        let a = crate::cpu::run(&g, &input, 2, 9, 7).expect("reference");
        let b = crate::cpu::run(&padded, &input, 2, 9, 7).expect("padded");
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-5 * x.abs().max(1.0), "{x} vs {y}");
        }
    }

    #[test]
    fn leaves_graphs_whose_input_feeds_other_ops() {
        let mut g = GraphBuilder::new("t", 3);
        let x = g.push("input", Op::InputToNhwc, vec![0], 3);
        let mut graph = g.finish(x);
        assert!(!pad_input_channels(&mut graph));
        assert_eq!(graph.value_channels[1], 3);
    }
}
