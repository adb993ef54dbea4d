//! Decoding a model file and walking its graph: the one NCHW f32 input (batch size free), the
//! constants, every node in order (see `ops*.rs`), and the one output, which must be the
//! `[N, classes]` logits.

use std::collections::HashMap;
use std::rc::Rc;

use prost::Message;

use super::proto::{tensor_proto::DataType, ModelProto};
use super::state::{Importer, Kind, Val};
use super::tensors::{decode_tensor, NodeCtx};
use super::OnnxModel;
use crate::error::{Error, Result};
use crate::model::ir::GraphBuilder;
use crate::model::{BuildOptions, Op};

fn bad(origin: &str, reason: impl Into<String>) -> Error {
    Error::BadOnnx {
        path: origin.to_string(),
        reason: reason.into(),
    }
}

/// Decodes and imports a model; `origin` names it in messages, `name` names the graph.
pub(super) fn import(
    bytes: &[u8],
    origin: &str,
    name: &str,
    opts: BuildOptions,
) -> Result<OnnxModel> {
    let model = ModelProto::decode(bytes)
        .map_err(|e| bad(origin, format!("protobuf decoding failed ({e})")))?;
    if model.ir_version <= 0 {
        return Err(bad(origin, "no ir_version field: not an ONNX model file"));
    }
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| bad(origin, "the model holds no graph"))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(17, |o| o.version);

    // Constants.
    let mut names = HashMap::new();
    for t in &graph.initializer {
        let c =
            decode_tensor(t).map_err(|e| bad(origin, format!("initializer `{}`: {e}", t.name)))?;
        names.insert(t.name.clone(), Val::Const(Rc::new(c)));
    }

    // The one real input (files from older exporters also list initializers as inputs).
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !names.contains_key(&i.name))
        .collect();
    let [input] = inputs.as_slice() else {
        let list: Vec<_> = inputs.iter().map(|i| i.name.as_str()).collect();
        return Err(Error::Unsupported(format!(
            "{origin}: expected one graph input (the NCHW image batch), found {}: {list:?}",
            inputs.len()
        )));
    };
    let [output] = graph.output.as_slice() else {
        let list: Vec<_> = graph.output.iter().map(|o| o.name.as_str()).collect();
        return Err(Error::Unsupported(format!(
            "{origin}: expected one graph output (the logits), found {}: {list:?}",
            list.len()
        )));
    };
    let tensor_type = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(super::proto::type_proto::Value::TensorType(t)) => t,
        None => {
            return Err(bad(
                origin,
                format!("input `{}` declares no tensor type", input.name),
            ))
        }
    };
    if tensor_type.elem_type != DataType::Float as i32 {
        let found =
            DataType::try_from(tensor_type.elem_type).map_or("unknown", |d| d.as_str_name());
        return Err(Error::Unsupported(format!(
            "{origin}: input `{}` has element type {found}; expected FLOAT (f32)",
            input.name
        )));
    }
    use super::proto::tensor_shape_proto::dimension::Value as Dim;
    let dims: Vec<Option<usize>> = tensor_type
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(Dim::DimValue(v)) if v > 0 => Some(v as usize),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if dims.len() != 4 {
        return Err(Error::Unsupported(format!(
            "{origin}: input `{}` has rank {} (dims {dims:?}); expected rank 4, [N, C, H, W]",
            input.name,
            dims.len()
        )));
    }
    let channels = dims[1].ok_or_else(|| {
        Error::Unsupported(format!(
            "{origin}: input `{}` has no fixed channel count (dims {dims:?})",
            input.name
        ))
    })?;
    let input_hw = dims[2].zip(dims[3]);

    let mut uses: HashMap<String, usize> = HashMap::new();
    for n in &graph.node {
        for i in n.input.iter().filter(|i| !i.is_empty()) {
            *uses.entry(i.clone()).or_default() += 1;
        }
    }
    *uses.entry(output.name.clone()).or_default() += 1;

    let graph_name = if name.is_empty() {
        if graph.name.is_empty() {
            "onnx"
        } else {
            graph.name.as_str()
        }
    } else {
        name
    };
    let mut im = Importer {
        opts,
        opset,
        g: GraphBuilder::new(graph_name, channels),
        names,
        acts: Vec::new(),
        uses,
        boundary: false,
        in_head: false,
        output: output.name.clone(),
        softmax: false,
        fixed_input: false,
    };
    im.g.segment("stem");
    let v = im.g.push("input", Op::InputToNhwc, vec![0], channels);
    im.new_act(
        &input.name,
        Kind::Value(v),
        channels,
        input_hw,
        false,
        false,
    );

    for (index, node) in graph.node.iter().enumerate() {
        let ctx = NodeCtx {
            node,
            index,
            origin,
        };
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(ctx.unsupported(format_args!(
                "operator domain `{}` is not supported (only the default ONNX domain)",
                node.domain
            )));
        }
        for i in node.input.iter().filter(|i| !i.is_empty()) {
            if !im.names.contains_key(i) {
                return Err(ctx.invalid(format_args!(
                    "input `{i}` is not a graph input, an initializer or the output of an earlier node"
                )));
            }
        }
        im.node(&ctx)?;
    }

    let out = match im.names.get(&output.name).cloned() {
        Some(Val::Act(a)) => a,
        Some(Val::Const(_)) => {
            return Err(Error::Unsupported(format!(
                "{origin}: output `{}` is a constant",
                output.name
            )))
        }
        None => {
            return Err(bad(
                origin,
                format!("output `{}` is produced by no node", output.name),
            ))
        }
    };
    if !im.acts[out].unit {
        return Err(Error::Unsupported(format!(
            "{origin}: output `{}` is a {}-channel feature map, not [N, classes] logits (the graph needs a global pool)",
            output.name, im.acts[out].c
        )));
    }
    let no_node = super::proto::NodeProto::default();
    let end = NodeCtx {
        node: graph.node.last().unwrap_or(&no_node),
        index: graph.node.len().saturating_sub(1),
        origin,
    };
    let v = im.value(out, &end)?;
    let mut g = im.g.finish(v);
    if im.fixed_input {
        g.fixed_input = input_hw;
    }
    Ok(OnnxModel {
        graph: g,
        softmax: im.softmax,
        input_name: input.name.clone(),
        output_name: output.name.clone(),
        input_hw,
    })
}
