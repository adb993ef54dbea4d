//! The classifier head (Flatten, Reshape, Gemm, MatMul, Softmax), value plumbing (Identity,
//! Dropout, Constant) and the two data-movement ops of the CIFAR option-A shortcut.
//!
//! - `Gemm`: `Y = α·A·op(B) + β·C` with `op(B) = B` (`B` is `[K, M]`, transB 0) or `Bᵀ`
//!   (`B` is `[M, K]`, transB 1); the linear layer gets `W[m][k] = α·op(B)[k][m]`, `b = β·C`.
//! - Option A: `Slice(x, starts 0, ends ∞, axes [2, 3], steps [s, s])` then
//!   `Pad(pads [0, p, 0, 0, 0, q, 0, 0])` → `y[c] = x[::s, ::s, c − p]` for `p ≤ c < p + C`,
//!   else 0.
//! - `Pad` of height/width (`pads = [0, 0, t, l, 0, 0, b, r]`) waits for the conv or max pool
//!   that follows (see `ops.rs`).

use std::rc::Rc;

use super::import::{Importer, Kind, Val};
use super::ops::{float_data, int_data};
use super::tensors::{decode_tensor, Const, ConstData, NodeCtx};
use crate::error::Result;
use crate::model::{Op, ShortcutA};

impl Importer {
    /// Input 0 as an activation that is 1×1 for any input size.
    fn unit_input(&self, ctx: &NodeCtx, what: &str) -> Result<usize> {
        let x = self.act_input(ctx, 0)?;
        if !self.acts[x].unit {
            return Err(ctx.unsupported(format_args!(
                "input `{}` is a {}-channel feature map, not a [N, features] matrix; {what} is supported only after a global pool",
                self.acts[x].name, self.acts[x].c
            )));
        }
        Ok(x)
    }

    pub(super) fn flatten(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["axis"])?;
        let axis = ctx.int("axis", 1)?;
        if axis != 1 && axis != -3 {
            return Err(ctx.unsupported(format_args!(
                "attribute axis = {axis} is not supported (only 1: [N, C, 1, 1] → [N, C])"
            )));
        }
        let x = self.unit_input(ctx, "Flatten")?;
        let out = self.out_name(ctx)?;
        self.alias(&out, x);
        Ok(())
    }

    /// Reshape to `[N, C]` (or `[N, C, 1, 1]`) of a 1×1 map; the batch entry may be 0 (copy),
    /// −1 (infer) or a number (taken to be the batch size).
    pub(super) fn reshape(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["allowzero", "shape"])?;
        let shape = if self.opset < 5 {
            ctx.ints("shape")?
                .ok_or_else(|| ctx.invalid("attribute shape is missing"))?
        } else {
            let s = self.need_const(ctx, 1)?;
            int_data(ctx, &s, 1)?
        };
        let x = self.unit_input(ctx, "Reshape")?;
        let c = self.acts[x].c as i64;
        let ok = match shape.as_slice() {
            [n, k] | [n, k, 1, 1] => ((*k == c || *k == 0) && *n >= -1) || (*k == -1 && *n >= 0),
            _ => false,
        };
        if !ok {
            return Err(ctx.unsupported(format_args!(
                "target shape {shape:?} is not supported (only [N, {c}] or [N, {c}, 1, 1] of a [N, {c}, 1, 1] input)"
            )));
        }
        let out = self.out_name(ctx)?;
        self.alias(&out, x);
        Ok(())
    }

    /// `[out][in]` weights `α·op(B)` for an input of `in_f` features; returns (out, weights).
    fn linear_weight(
        &self,
        ctx: &NodeCtx,
        b: &Const,
        trans: bool,
        in_f: usize,
        alpha: f32,
    ) -> Result<(usize, Vec<f32>)> {
        let &[rows, cols] = b.dims.as_slice() else {
            return Err(ctx.unsupported(format_args!(
                "weight input 1 has shape {:?}; expected a matrix",
                b.dims
            )));
        };
        let data = float_data(ctx, b, 1)?;
        let (k, out_f) = if trans { (cols, rows) } else { (rows, cols) };
        if k != in_f {
            return Err(ctx.invalid(format_args!(
                "weight shape {:?} (transB = {}) expects {k} input features, found {in_f}",
                b.dims, trans as u8
            )));
        }
        let w = if trans {
            data.iter().map(|&v| alpha * v).collect()
        } else {
            let mut w = vec![0.0; data.len()];
            for i in 0..in_f {
                for o in 0..out_f {
                    w[o * in_f + i] = alpha * data[i * out_f + o];
                }
            }
            w
        };
        Ok((out_f, w))
    }

    fn push_linear(
        &mut self,
        ctx: &NodeCtx,
        x: usize,
        out_f: usize,
        weight: Vec<f32>,
        bias: Vec<f32>,
    ) -> Result<()> {
        let in_f = self.acts[x].c;
        let xv = self.value(x, ctx)?;
        let out = self.out_name(ctx)?;
        let kind = Kind::Linear {
            name: ctx.ir_name(),
            x: xv,
            in_f,
            weight,
            bias,
        };
        self.new_act(&out, kind, out_f, Some((1, 1)), true, false);
        Ok(())
    }

    pub(super) fn gemm(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["alpha", "beta", "transA", "transB"])?;
        let ta = ctx.int("transA", 0)?;
        if ta != 0 {
            return Err(ctx.unsupported(format_args!(
                "attribute transA = {ta} is not supported (only 0: activations as [N, K])"
            )));
        }
        let tb = ctx.int("transB", 0)?;
        if tb != 0 && tb != 1 {
            return Err(ctx.invalid(format_args!("attribute transB = {tb}; expected 0 or 1")));
        }
        let (alpha, beta) = (ctx.float("alpha", 1.0)?, ctx.float("beta", 1.0)?);
        let x = self.unit_input(ctx, "Gemm")?;
        let b = self.need_const(ctx, 1)?;
        let (out_f, weight) = self.linear_weight(ctx, &b, tb == 1, self.acts[x].c, alpha)?;
        let bias = match self.const_input(ctx, 2)? {
            None => vec![0.0; out_f],
            Some(cst) => {
                let data = float_data(ctx, &cst, 2)?;
                let vector = cst.len() == out_f
                    && cst.dims.len() <= 2
                    && cst.dims.iter().rev().skip(1).all(|&d| d == 1);
                if cst.len() == 1 {
                    vec![beta * data[0]; out_f]
                } else if vector {
                    data.iter().map(|&v| beta * v).collect()
                } else {
                    return Err(ctx.unsupported(format_args!(
                        "input 2 (C) of shape {:?}: only a bias of shape [{out_f}], [1, {out_f}] or a scalar is supported",
                        cst.dims
                    )));
                }
            }
        };
        self.push_linear(ctx, x, out_f, weight, bias)
    }

    pub(super) fn matmul(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&[])?;
        let x = self.unit_input(ctx, "MatMul")?;
        if let Some(Val::Act(_)) = ctx.input(1).and_then(|n| self.names.get(n)) {
            return Err(ctx.unsupported(format_args!(
                "input 1 `{}` is computed by the graph: a product of two activations (as in attention) is not supported, only one with a constant weight",
                ctx.input(1).unwrap_or("")
            )));
        }
        let b = self.need_const(ctx, 1)?;
        let (out_f, weight) = self.linear_weight(ctx, &b, false, self.acts[x].c, 1.0)?;
        self.push_linear(ctx, x, out_f, weight, vec![0.0; out_f])
    }

    /// `Identity`, and `Dropout` (the identity at inference).
    pub(super) fn identity(&mut self, ctx: &NodeCtx) -> Result<()> {
        if ctx.node.op_type == "Dropout" {
            ctx.check_attrs(&["ratio", "seed", "is_test"])?;
            if ctx.output(1).is_some() {
                return Err(ctx.unsupported("output 1 (the dropout mask) is not supported"));
            }
        } else {
            ctx.check_attrs(&[])?;
        }
        let out = self.out_name(ctx)?;
        let name = ctx
            .input(0)
            .ok_or_else(|| ctx.invalid("input 0 is missing"))?;
        match self.names.get(name).cloned() {
            Some(Val::Act(a)) => self.alias(&out, a),
            Some(c) => {
                self.names.insert(out, c);
            }
            None => return Err(ctx.invalid(format_args!("input `{name}` is not defined"))),
        }
        Ok(())
    }

    /// A final softmax over the classes: left out of the graph, reported as a flag.
    pub(super) fn softmax(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["axis"])?;
        let out = self.out_name(ctx)?;
        if out != self.output || self.uses.get(&out).copied() != Some(1) {
            return Err(ctx.unsupported(format_args!(
                "a Softmax is supported only as the graph's last node (its output `{out}` is read by other nodes or is not the graph output)"
            )));
        }
        let axis = ctx.int("axis", if self.opset >= 13 { -1 } else { 1 })?;
        if axis != 1 && axis != -1 {
            return Err(ctx.unsupported(format_args!(
                "attribute axis = {axis} is not supported (only the class axis, 1 or -1)"
            )));
        }
        let x = self.unit_input(ctx, "Softmax")?;
        self.softmax = true;
        self.alias(&out, x);
        Ok(())
    }

    /// `x[:, :, ::s, ::s]`: every s-th pixel, all channels.
    pub(super) fn slice(&mut self, ctx: &NodeCtx) -> Result<()> {
        let old = self.opset < 10;
        ctx.check_attrs(if old {
            &["starts", "ends", "axes"]
        } else {
            &[]
        })?;
        let list = |k: usize, attr: &str| -> Result<Option<Vec<i64>>> {
            if old {
                return ctx.ints(attr);
            }
            match self.const_input(ctx, k)? {
                Some(c) => Ok(Some(int_data(ctx, &c, k)?)),
                None => Ok(None),
            }
        };
        let starts = list(1, "starts")?.ok_or_else(|| ctx.invalid("starts are missing"))?;
        let ends = list(2, "ends")?.ok_or_else(|| ctx.invalid("ends are missing"))?;
        let axes = list(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps =
            if old { None } else { list(4, "steps")? }.unwrap_or_else(|| vec![1; starts.len()]);
        let n = starts.len();
        if ends.len() != n || axes.len() != n || steps.len() != n {
            return Err(ctx.invalid(format_args!(
                "starts {starts:?}, ends {ends:?}, axes {axes:?} and steps {steps:?} differ in length"
            )));
        }
        let x = self.act_input(ctx, 0)?;
        let (c, hw) = (self.acts[x].c, self.acts[x].hw);
        let mut stride = [1usize; 2];
        for i in 0..n {
            let axis = if axes[i] < 0 { axes[i] + 4 } else { axes[i] };
            let step = steps[i];
            let size = match axis {
                1 => Some(c),
                2 => hw.map(|s| s.0),
                3 => hw.map(|s| s.1),
                _ => None,
            };
            let to_end = ends[i] >= i32::MAX as i64 || size.is_some_and(|s| ends[i] >= s as i64);
            if !(0..4).contains(&axis) {
                return Err(
                    ctx.invalid(format_args!("axis {} is out of range for rank 4", axes[i]))
                );
            }
            if starts[i] != 0 || !to_end || step <= 0 {
                return Err(ctx.unsupported(format_args!(
                    "slice {}:{}:{step} of axis {axis} is not supported (only x[:, :, ::s, ::s], from 0 to the end with a positive step)",
                    starts[i], ends[i]
                )));
            }
            if axis >= 2 {
                stride[axis as usize - 2] = step as usize;
            } else if step != 1 {
                return Err(ctx.unsupported(format_args!(
                    "step {step} on axis {axis} is not supported (only height and width may be strided)"
                )));
            }
        }
        if stride[0] != stride[1] {
            return Err(ctx.unsupported(format_args!(
                "steps {stride:?} on height and width differ; only equal steps are supported"
            )));
        }
        let out = self.out_name(ctx)?;
        let s = stride[0];
        if s == 1 {
            self.alias(&out, x);
            return Ok(());
        }
        let xv = self.value(x, ctx)?;
        let (unit, nonneg) = (self.acts[x].unit, self.acts[x].nonneg);
        let hw = hw.map(|(h, w)| (h.div_ceil(s), w.div_ceil(s)));
        let kind = Kind::Slice {
            name: ctx.ir_name(),
            x: xv,
            stride: s,
        };
        self.new_act(&out, kind, c, hw, unit, nonneg);
        Ok(())
    }

    /// Constant zero padding: of channels → option-A shortcut; of height/width → pending.
    pub(super) fn pad(&mut self, ctx: &NodeCtx) -> Result<()> {
        let old = self.opset < 11;
        ctx.check_attrs(if old {
            &["mode", "pads", "value"]
        } else {
            &["mode"]
        })?;
        let mode = ctx.string("mode")?.unwrap_or_else(|| "constant".into());
        if mode != "constant" {
            return Err(ctx.unsupported(format_args!(
                "attribute mode = {mode} is not supported (only constant zero padding)"
            )));
        }
        let (pads, value) = if old {
            let p = ctx
                .ints("pads")?
                .ok_or_else(|| ctx.invalid("attribute pads is missing"))?;
            (p, ctx.float("value", 0.0)?)
        } else {
            let p = self.need_const(ctx, 1)?;
            let v = match self.const_input(ctx, 2)? {
                Some(v) => float_data(ctx, &v, 2)?.first().copied().unwrap_or(0.0),
                None => 0.0,
            };
            (int_data(ctx, &p, 1)?, v)
        };
        if value != 0.0 {
            return Err(ctx.unsupported(format_args!(
                "constant value {value} is not supported (only zero padding)"
            )));
        }
        let axes = match (old, self.const_input(ctx, 3)?) {
            (false, Some(a)) => int_data(ctx, &a, 3)?,
            _ => (0..4).collect(),
        };
        if pads.len() != 2 * axes.len() || axes.iter().any(|&a| !(-4..4).contains(&a)) {
            return Err(ctx.unsupported(format_args!(
                "pads {pads:?} for axes {axes:?}: expected two values per axis of a rank-4 input"
            )));
        }
        let mut full = [0i64; 8];
        for (j, &a) in axes.iter().enumerate() {
            let a = a.rem_euclid(4) as usize;
            full[a] = pads[j];
            full[a + 4] = pads[j + axes.len()];
        }
        if full.iter().any(|&p| p < 0) {
            return Err(ctx.unsupported(format_args!(
                "negative pads {full:?} (cropping) are not supported"
            )));
        }
        let [nb, cb, t, l, ne, ce, b, r] = full.map(|p| p as usize);
        if nb + ne > 0 {
            return Err(ctx.unsupported(format_args!("pads {full:?} pad the batch axis")));
        }
        let spatial = [t, l, b, r];
        if cb + ce > 0 && spatial != [0; 4] {
            return Err(ctx.unsupported(format_args!(
                "pads {full:?} pad both channels and height/width; only one of the two is supported"
            )));
        }
        let x = self.act_input(ctx, 0)?;
        let out = self.out_name(ctx)?;
        let (c, hw, unit, nonneg) = (
            self.acts[x].c,
            self.acts[x].hw,
            self.acts[x].unit,
            self.acts[x].nonneg,
        );
        if cb + ce > 0 {
            // The option-A shortcut: channel padding after an optional strided slice.
            let (xv, stride, in_c) = match &self.acts[x].kind {
                Kind::Slice {
                    x: inner, stride, ..
                } => (*inner, *stride, c),
                _ => (self.value(x, ctx)?, 1, c),
            };
            let s = ShortcutA {
                stride,
                pad_before: cb,
                in_c,
                out_c: in_c + cb + ce,
            };
            let v = self.emit(&ctx.ir_name(), Op::ShortcutA(s), vec![xv], s.out_c);
            self.new_act(&out, Kind::Value(v), s.out_c, hw, unit, nonneg);
            return Ok(());
        }
        if spatial == [0; 4] {
            self.alias(&out, x);
            return Ok(());
        }
        let (xv, pad) = match &self.acts[x].kind {
            Kind::Pad { x: inner, pad, .. } => {
                (*inner, [pad[0] + t, pad[1] + l, pad[2] + b, pad[3] + r])
            }
            _ => (self.value(x, ctx)?, spatial),
        };
        let hw = hw.map(|(h, w)| (h + t + b, w + l + r));
        let kind = Kind::Pad {
            node: ctx.label(),
            x: xv,
            pad,
            nonneg,
        };
        self.new_act(&out, kind, c, hw, false, nonneg);
        Ok(())
    }

    pub(super) fn constant(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&[
            "value",
            "value_float",
            "value_floats",
            "value_int",
            "value_ints",
        ])?;
        let c = if let Some(t) = ctx.tensor("value")? {
            decode_tensor(t).map_err(|e| ctx.invalid(format_args!("attribute value: {e}")))?
        } else if ctx.has("value_float") {
            Const {
                dims: vec![],
                data: ConstData::Float(vec![ctx.float("value_float", 0.0)?]),
            }
        } else if let Some(v) = ctx.floats("value_floats")? {
            Const {
                dims: vec![v.len()],
                data: ConstData::Float(v),
            }
        } else if ctx.has("value_int") {
            Const {
                dims: vec![],
                data: ConstData::Int(vec![ctx.int("value_int", 0)?]),
            }
        } else if let Some(v) = ctx.ints("value_ints")? {
            Const {
                dims: vec![v.len()],
                data: ConstData::Int(v),
            }
        } else {
            return Err(ctx.invalid("it has no value attribute"));
        };
        let out = self.out_name(ctx)?;
        self.names.insert(out, Val::Const(Rc::new(c)));
        Ok(())
    }
}
