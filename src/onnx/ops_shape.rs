//! The classifier head (Flatten, Reshape, Gemm, MatMul, Softmax) and value plumbing
//! (Identity, Dropout, Constant).
//!
//! - `Gemm`: `Y = α·A·op(B) + β·C` with `op(B) = B` (`B` is `[K, M]`, transB 0) or `Bᵀ`
//!   (`B` is `[M, K]`, transB 1); the linear layer gets `W[m][k] = α·op(B)[k][m]`, `b = β·C`.
//!   `MatMul(A, B)` is the same with α = 1, transB 0 and no bias until an `Add` brings one.
//! - Flatten/Reshape are accepted only where the value is 1×1 for any input size (after a
//!   global pool), so `[N, C, 1, 1]` and `[N, C]` hold the same numbers in the same order.

use std::rc::Rc;

use super::ops::{float_data, int_data};
use super::state::{Importer, Kind, Val};
use super::tensors::{decode_tensor, Const, ConstData, NodeCtx};
use crate::error::Result;

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
