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

use super::tensors::{Const, NodeCtx};
use crate::error::Result;
use crate::model::ir::GraphBuilder;
use crate::model::{oihw_to_hwio, BuildOptions, Conv2d, Op, ShortcutA, ValueId};

/// What an ONNX tensor name refers to.
#[derive(Clone)]
pub(super) enum Val {
    Const(Rc<Const>),
    /// Index into [`Importer::acts`].
    Act(usize),
    /// A 1-D integer tensor computed from a shape (`Shape`, `Gather`, `Concat`, ...), as in
    /// `x.view(x.size(0), -1)`.
    Dims(Rc<Vec<Dim>>),
}

/// One entry of a computed shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Dim {
    Known(i64),
    /// The batch size.
    Batch,
    /// A height or width the model does not fix.
    Unknown,
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
    /// `x[:, :, ::sh, ::sw]` with `stride = [sh, sw]` (exporters may slice one axis at a
    /// time; the option-A shortcut needs `sh = sw` in the end).
    Slice {
        name: String,
        x: ValueId,
        stride: [usize; 2],
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
    pub boundary: bool,
    pub in_head: bool,
    /// The graph's output name, and whether a final Softmax was dropped.
    pub output: String,
    pub softmax: bool,
    /// The graph only holds for the declared input size.
    pub fixed_input: bool,
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
            Some(Val::Const(_) | Val::Dims(_)) => Err(ctx.unsupported(format_args!(
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
            Some(Val::Act(_) | Val::Dims(_)) => Err(ctx.unsupported(format_args!(
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
                if stride[0] != stride[1] {
                    self.acts[a].kind = Kind::Slice { name, x, stride };
                    return Err(ctx.unsupported(format_args!(
                        "input `{}` is strided by {stride:?} on height and width; only equal steps are supported",
                        self.acts[a].name
                    )));
                }
                let s = ShortcutA {
                    stride: stride[0],
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
