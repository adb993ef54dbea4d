//! The importer's state: ONNX tensor names bound to constants or to activations, and
//! activations kept *pending* (not yet emitted as graph nodes) while a later node may still
//! fuse into them: a conv waits for its batch norm, residual add and ReLU, a matrix product for
//! its bias, a zero pad for the conv or pool it pads. A pending value is emitted when a node
//! reads it in a way that cannot fuse; fusing needs the value to have exactly one reader.
//!
//! Segments (command buffers) follow the residual blocks: a new one opens at the first node
//! after a residual add (a ReLU right after the add stays with it) or after a value that
//! several nodes read (the fork of a residual block), and the head opens at the global pool.

use std::collections::HashMap;
use std::rc::Rc;

use prost::Message;

use super::proto::{tensor_proto::DataType, ModelProto};
use super::tensors::{decode_tensor, Const, NodeCtx};
use super::OnnxModel;
use crate::error::{Error, Result};
use crate::model::ir::GraphBuilder;
use crate::model::{oihw_to_hwio, BuildOptions, Conv2d, Op, ShortcutA, ValueId};

/// What an ONNX tensor name refers to.
#[derive(Clone)]
pub(super) enum Val {
    Const(Rc<Const>),
    /// Index into [`Importer::acts`].
    Act(usize),
}

/// A conv waiting for a batch norm, residual and ReLU to fuse.
pub(super) struct PendingConv {
    pub name: String,
    pub x: ValueId,
    pub conv: Conv2d,
    /// OIHW, as in the file (BN folding scales whole output channels).
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub residual: Option<ValueId>,
    pub relu: bool,
}

pub(super) enum Kind {
    /// Emitted: a graph value.
    Value(ValueId),
    Conv(PendingConv),
    Affine {
        name: String,
        x: ValueId,
        scale: Vec<f32>,
        shift: Vec<f32>,
        relu: bool,
    },
    Add {
        name: String,
        a: ValueId,
        b: ValueId,
        relu: bool,
    },
    Linear {
        name: String,
        x: ValueId,
        in_f: usize,
        weight: Vec<f32>,
        bias: Vec<f32>,
    },
    /// `x[:, :, ::stride, ::stride]`.
    Slice {
        name: String,
        x: ValueId,
        stride: usize,
    },
    /// Zero padding (top, left, bottom, right) that only a conv or max pool may absorb;
    /// `nonneg` says whether the padded values are all ≥ 0.
    Pad {
        node: String,
        x: ValueId,
        pad: [usize; 4],
        nonneg: bool,
    },
}

/// An activation: `N × c × h × w`.
pub(super) struct Act {
    pub kind: Kind,
    /// The ONNX tensor name, for messages.
    pub name: String,
    pub c: usize,
    /// Height and width when the model's input declares a fixed size.
    pub hw: Option<(usize, usize)>,
    /// 1×1 whatever the input size (after a global pool): may be flattened to `[N, C]`.
    pub unit: bool,
    /// Every value is ≥ 0 (the output of a ReLU).
    pub nonneg: bool,
    /// How many node inputs (and graph outputs) read it.
    pub uses: usize,
}

pub(super) struct Importer {
    pub opts: BuildOptions,
    /// Version of the default (`ai.onnx`) operator set.
    pub opset: i64,
    pub g: GraphBuilder,
    pub names: HashMap<String, Val>,
    pub acts: Vec<Act>,
    pub uses: HashMap<String, usize>,
    /// The last emitted node ended a residual block.
    boundary: bool,
    in_head: bool,
    /// The graph's output name, and whether a final Softmax was dropped.
    pub output: String,
    pub softmax: bool,
    /// The graph only holds for the declared input size.
    pub fixed_input: bool,
}

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

impl Importer {
    /// Registers a new activation under `name`.
    pub fn new_act(
        &mut self,
        name: &str,
        kind: Kind,
        c: usize,
        hw: Option<(usize, usize)>,
        unit: bool,
        nonneg: bool,
    ) -> usize {
        let uses = self.uses.get(name).copied().unwrap_or(0);
        self.acts.push(Act {
            kind,
            name: name.to_string(),
            c,
            hw,
            unit,
            nonneg,
            uses,
        });
        let a = self.acts.len() - 1;
        self.names.insert(name.to_string(), Val::Act(a));
        self.mark_fork(a);
        a
    }

    /// An emitted value that several nodes read (a residual fork) ends a block.
    fn mark_fork(&mut self, a: usize) {
        if matches!(self.acts[a].kind, Kind::Value(_)) && self.acts[a].uses >= 2 {
            self.boundary = true;
        }
    }

    /// Binds `name` to activation `a` as well (Identity, Flatten, ...), consuming one read of it.
    pub fn alias(&mut self, name: &str, a: usize) {
        let extra = self.uses.get(name).copied().unwrap_or(0);
        let act = &mut self.acts[a];
        act.uses = (act.uses + extra).saturating_sub(1);
        self.names.insert(name.to_string(), Val::Act(a));
    }

    /// Binds `name` to `a` after a node fused into it (the node was `a`'s only reader).
    pub fn rebind(&mut self, name: &str, a: usize) {
        self.acts[a].uses = self.uses.get(name).copied().unwrap_or(0);
        self.acts[a].name = name.to_string();
        self.names.insert(name.to_string(), Val::Act(a));
    }

    /// A node may fuse into `a`: fused mode, and the node is `a`'s only reader.
    pub fn fusable(&self, a: usize) -> bool {
        !self.opts.unfused && self.acts[a].uses == 1
    }

    /// Input `k` as an activation.
    pub fn act_input(&self, ctx: &NodeCtx, k: usize) -> Result<usize> {
        let name = ctx
            .input(k)
            .ok_or_else(|| ctx.invalid(format_args!("input {k} is missing")))?;
        match self.names.get(name) {
            Some(Val::Act(a)) => Ok(*a),
            Some(Val::Const(_)) => Err(ctx.unsupported(format_args!(
                "input {k} `{name}` is a constant; expected an activation"
            ))),
            None => Err(ctx.invalid(format_args!("input {k} `{name}` is not defined"))),
        }
    }

    /// Input `k` as a constant, or `None` when the optional input is absent.
    pub fn const_input(&self, ctx: &NodeCtx, k: usize) -> Result<Option<Rc<Const>>> {
        let Some(name) = ctx.input(k) else {
            return Ok(None);
        };
        match self.names.get(name) {
            Some(Val::Const(c)) => Ok(Some(c.clone())),
            Some(Val::Act(_)) => Err(ctx.unsupported(format_args!(
                "input {k} `{name}` is computed by the graph; only a constant (initializer) is supported there"
            ))),
            None => Err(ctx.invalid(format_args!("input {k} `{name}` is not defined"))),
        }
    }

    /// A required constant input.
    pub fn need_const(&self, ctx: &NodeCtx, k: usize) -> Result<Rc<Const>> {
        self.const_input(ctx, k)?
            .ok_or_else(|| ctx.invalid(format_args!("input {k} is missing")))
    }

    /// Output 0's name.
    pub fn out_name(&self, ctx: &NodeCtx) -> Result<String> {
        ctx.output(0)
            .map(str::to_string)
            .ok_or_else(|| ctx.invalid("it has no output"))
    }

    /// Appends a graph node, opening segments at residual-block boundaries.
    pub fn emit(&mut self, name: &str, op: Op, inputs: Vec<ValueId>, c: usize) -> ValueId {
        if matches!(op, Op::GlobalAvgPool) && !self.in_head {
            self.g.segment("head");
            self.in_head = true;
        } else if self.boundary && !self.in_head && !matches!(op, Op::Relu) {
            self.g.segment(name);
            self.boundary = false;
        }
        let residual =
            matches!(op, Op::Add { .. }) || (matches!(op, Op::Conv { .. }) && inputs.len() > 1);
        let v = self.g.push(name, op, inputs, c);
        if residual {
            self.boundary = true;
        }
        v
    }

    /// Activation `a` as a graph value, emitting it if it is pending. `ctx` is the reader.
    pub fn value(&mut self, a: usize, ctx: &NodeCtx) -> Result<ValueId> {
        let c = self.acts[a].c;
        let kind = std::mem::replace(&mut self.acts[a].kind, Kind::Value(0));
        let v = match kind {
            Kind::Value(v) => {
                self.acts[a].kind = Kind::Value(v);
                return Ok(v);
            }
            Kind::Conv(p) => {
                let op = Op::Conv {
                    conv: p.conv,
                    weight: oihw_to_hwio(&p.weight, &p.conv),
                    bias: p.bias,
                    relu: p.relu,
                };
                let mut inputs = vec![p.x];
                inputs.extend(p.residual);
                self.emit(&p.name, op, inputs, c)
            }
            Kind::Affine {
                name,
                x,
                scale,
                shift,
                relu,
            } => self.emit(&name, Op::Affine { scale, shift, relu }, vec![x], c),
            Kind::Add { name, a, b, relu } => self.emit(&name, Op::Add { relu }, vec![a, b], c),
            Kind::Linear {
                name,
                x,
                in_f,
                weight,
                bias,
            } => {
                let op = Op::Linear {
                    in_f,
                    out_f: c,
                    weight,
                    bias,
                };
                self.emit(&name, op, vec![x], c)
            }
            Kind::Slice { name, x, stride } => {
                let s = ShortcutA {
                    stride,
                    pad_before: 0,
                    in_c: c,
                    out_c: c,
                };
                self.emit(&name, Op::ShortcutA(s), vec![x], c)
            }
            Kind::Pad {
                node,
                x,
                pad,
                nonneg,
            } => {
                let msg = format!(
                    "input `{}` is zero-padded in height/width by Pad node {node}; such a Pad is supported only right before a Conv or a MaxPool",
                    self.acts[a].name
                );
                self.acts[a].kind = Kind::Pad {
                    node,
                    x,
                    pad,
                    nonneg,
                };
                return Err(ctx.unsupported(msg));
            }
        };
        self.acts[a].kind = Kind::Value(v);
        self.mark_fork(a);
        Ok(v)
    }
}
