//! The evaluator's shape arithmetic (`Shape`, `Gather`, `Concat`, `Unsqueeze`, `Squeeze` on
//! integer lists) and axis ops on floats (`Squeeze`, `Unsqueeze`, `ReduceMean`).

use std::collections::HashMap;

use resnet_wgpu::onnx::proto::NodeProto;

use super::eval::{attr_is, T, V};

/// Evaluates `node` if it is one of the ops above; `None` otherwise.
pub(super) fn shape_op(node: &NodeProto, env: &HashMap<String, V>) -> Option<V> {
    let get = |k: usize| node.input.get(k).and_then(|i| env.get(i)).cloned();
    let ints = |k: usize| match get(k) {
        Some(V::I(v)) => v,
        other => panic!("eval: {} input {k}: {other:?}", node.name),
    };
    // Axes from the attribute or from input 1 (newer opsets).
    let axes = || attr_is(node, "axes").unwrap_or_else(|| ints(1));
    match (node.op_type.as_str(), get(0)) {
        ("Shape", Some(V::F(t))) => Some(V::I(t.shape.iter().map(|&d| d as i64).collect())),
        ("Gather", Some(V::I(v))) => Some(V::I(ints(1).iter().map(|&i| v[i as usize]).collect())),
        ("Unsqueeze" | "Squeeze" | "Cast", Some(V::I(v))) => Some(V::I(v)),
        ("Concat", Some(V::I(_))) => Some(V::I((0..node.input.len()).flat_map(ints).collect())),
        ("Squeeze", Some(V::F(t))) => {
            let ax: Vec<usize> = axes()
                .iter()
                .map(|&a| (a + t.shape.len() as i64) as usize % t.shape.len())
                .collect();
            let shape = t
                .shape
                .iter()
                .enumerate()
                .filter(|(i, _)| !ax.contains(i))
                .map(|(_, &d)| d)
                .collect();
            Some(V::F(T {
                shape,
                data: t.data,
            }))
        }
        ("Unsqueeze", Some(V::F(t))) => {
            let mut shape = t.shape.clone();
            for a in axes() {
                shape.insert(a as usize, 1);
            }
            Some(V::F(T {
                shape,
                data: t.data,
            }))
        }
        ("ReduceMean", Some(V::F(t))) => {
            assert_eq!(axes(), [2, 3], "eval: ReduceMean axes");
            let hw = t.shape[2] * t.shape[3];
            let data = t
                .data
                .chunks(hw)
                .map(|p| p.iter().sum::<f32>() / hw as f32)
                .collect();
            let keep = node
                .attribute
                .iter()
                .find(|a| a.name == "keepdims")
                .is_none_or(|a| a.i == 1);
            let shape = if keep {
                vec![t.shape[0], t.shape[1], 1, 1]
            } else {
                vec![t.shape[0], t.shape[1]]
            };
            Some(V::F(T { shape, data }))
        }
        _ => None,
    }
}
