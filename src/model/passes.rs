//! Graph-to-graph rewrites that change how a network runs, never what it computes.

use super::ir::{Graph, Op};

/// Pads the input conversion to a multiple of 4 channels (the extra ones zero) when every
/// consumer of the converted input is a conv, giving those convs zero weights for the new
/// channels. A 3-channel stem then reads its input as vec4s like every other conv.
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
    let consumers_are_convs = graph
        .nodes()
        .filter(|n| n.inputs.contains(&value))
        .all(|n| matches!(n.op, Op::Conv { .. }) && n.inputs[0] == value && n.inputs.get(1) != Some(&value));
    if !consumers_are_convs {
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
