//! The node dispatch, and the nodes that fuse into a pending conv: batch norm, ReLU and the
//! residual add.
//!
//! - BN: `y = γ·(x − μ)/√(σ² + ε) + β`, folded into the conv when only the BN reads the conv
//!   (see [`fold_bn`]), else a per-channel affine `y = x·s + (β − μ·s)`, `s = γ/√(σ² + ε)`.
//! - `Add(a, b)` where `a` is a pending conv read only by the add: `a`'s write step adds `b`.
//!   `Sum(a, b, c, ...)` is `((a + b) + c) + ...`.

use super::state::{Importer, Kind, Val};
use super::tensors::{Const, ConstData, NodeCtx};
use crate::error::Result;
use crate::model::Op;
use crate::weights::{fold_bn, BatchNorm};

const SUPPORTED: &str = "Conv, BatchNormalization, Relu, Add, Sum, MaxPool, Pad, GlobalAveragePool, AveragePool (global), ReduceMean (over H, W), Flatten, Reshape, Squeeze, Unsqueeze, Gemm, MatMul, Identity, Dropout, Softmax (last), Slice, Constant, and Shape/Gather/Concat/Cast on shapes";

/// Input `k`'s values as floats.
pub(super) fn float_data<'c>(ctx: &NodeCtx, c: &'c Const, k: usize) -> Result<&'c [f32]> {
    match &c.data {
        ConstData::Float(v) => Ok(v),
        ConstData::Int(_) => Err(ctx.invalid(format_args!(
            "input {k} `{}` holds integers; expected floating-point values",
            ctx.input(k).unwrap_or("")
        ))),
    }
}

/// Input `k`'s values as integers.
pub(super) fn int_data(ctx: &NodeCtx, c: &Const, k: usize) -> Result<Vec<i64>> {
    match &c.data {
        ConstData::Int(v) => Ok(v.clone()),
        ConstData::Float(_) => Err(ctx.invalid(format_args!(
            "input {k} `{}` holds floating-point values; expected integers",
            ctx.input(k).unwrap_or("")
        ))),
    }
}

impl Importer {
    /// Converts one node.
    pub(super) fn node(&mut self, ctx: &NodeCtx) -> Result<()> {
        match ctx.node.op_type.as_str() {
            "Conv" => self.conv(ctx),
            "BatchNormalization" => self.batch_norm(ctx),
            "Relu" => self.relu(ctx),
            "Add" | "Sum" => self.add(ctx),
            "MaxPool" => self.max_pool(ctx),
            "GlobalAveragePool" => self.global_avg_pool(ctx),
            "AveragePool" => self.avg_pool(ctx),
            "Flatten" => self.flatten(ctx),
            "Reshape" => self.reshape(ctx),
            "Gemm" => self.gemm(ctx),
            "MatMul" => self.matmul(ctx),
            "Identity" | "Dropout" => self.identity(ctx),
            "Softmax" => self.softmax(ctx),
            "Slice" => self.slice(ctx),
            "Pad" => self.pad(ctx),
            "Constant" => self.constant(ctx),
            "Shape" => self.shape(ctx),
            "Gather" => self.gather(ctx),
            "Unsqueeze" | "Squeeze" => self.squeeze(ctx),
            "Concat" => self.concat(ctx),
            "Cast" => self.cast(ctx),
            "ReduceMean" => self.reduce_mean(ctx),
            other => Err(ctx.unsupported(format_args!(
                "op type {other} is not supported by the ResNet importer (supported: {SUPPORTED})"
            ))),
        }
    }

    fn batch_norm(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["epsilon", "momentum", "spatial", "training_mode"])?;
        for (attr, want) in [("spatial", 1), ("training_mode", 0)] {
            let v = ctx.int(attr, want)?;
            if v != want {
                return Err(ctx.unsupported(format_args!(
                    "attribute {attr} = {v} is not supported (only {want}: inference with per-channel statistics)"
                )));
            }
        }
        if ctx.output(1).is_some() {
            return Err(ctx.unsupported(
                "outputs beyond the first (training-mode running statistics) are not supported",
            ));
        }
        let x = self.act_input(ctx, 0)?;
        let c = self.acts[x].c;
        let mut p: Vec<Vec<f32>> = Vec::with_capacity(4);
        for k in 1..=4 {
            let t = self.need_const(ctx, k)?;
            if t.len() != c {
                return Err(ctx.invalid(format_args!(
                    "input {k} has shape {:?}; expected [{c}] for the {c} channels of `{}`",
                    t.dims, self.acts[x].name
                )));
            }
            p.push(float_data(ctx, &t, k)?.to_vec());
        }
        let (var, mean, beta, gamma) = (p.remove(3), p.remove(2), p.remove(1), p.remove(0));
        let bn = BatchNorm {
            gamma,
            beta,
            mean,
            var,
            eps: ctx.float("epsilon", 1e-5)? as f64,
        };
        bn.check(&ctx.ir_name())
            .map_err(|e| ctx.invalid(format_args!("{e}")))?;
        let out = self.out_name(ctx)?;
        if self.fusable(x) {
            if let Kind::Conv(pc) = &mut self.acts[x].kind {
                if pc.residual.is_none() && !pc.relu {
                    let (w, b) = fold_bn(&pc.weight, Some(&pc.bias), &bn);
                    pc.weight = w;
                    pc.bias = b;
                    self.rebind(&out, x);
                    return Ok(());
                }
            }
        }
        let (scale, shift) = bn.scale_shift();
        let xv = self.value(x, ctx)?;
        let (hw, unit) = (self.acts[x].hw, self.acts[x].unit);
        let kind = Kind::Affine {
            name: ctx.ir_name(),
            x: xv,
            scale,
            shift,
            relu: false,
        };
        self.new_act(&out, kind, c, hw, unit, false);
        Ok(())
    }

    fn relu(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&[])?;
        let x = self.act_input(ctx, 0)?;
        let out = self.out_name(ctx)?;
        if self.fusable(x) {
            let fused = match &mut self.acts[x].kind {
                Kind::Conv(pc) if !pc.relu => {
                    pc.relu = true;
                    true
                }
                Kind::Affine { relu, .. } | Kind::Add { relu, .. } if !*relu => {
                    *relu = true;
                    true
                }
                _ => false,
            };
            if fused {
                self.acts[x].nonneg = true;
                self.rebind(&out, x);
                return Ok(());
            }
        }
        let xv = self.value(x, ctx)?;
        let (c, hw, unit) = (self.acts[x].c, self.acts[x].hw, self.acts[x].unit);
        let v = self.emit(&ctx.ir_name(), Op::Relu, vec![xv], c);
        self.new_act(&out, Kind::Value(v), c, hw, unit, true);
        Ok(())
    }

    /// `Add` of two values, or `Sum` of one or more.
    fn add(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&[])?;
        let n = ctx.node.input.len();
        if (ctx.node.op_type == "Add" && n != 2) || n == 0 {
            return Err(ctx.invalid(format_args!("it has {n} inputs")));
        }
        let mut vals = Vec::with_capacity(n);
        for k in 0..n {
            let name = ctx
                .input(k)
                .ok_or_else(|| ctx.invalid(format_args!("input {k} is empty")))?;
            let v = self.names.get(name).cloned();
            vals.push(v.ok_or_else(|| ctx.invalid(format_args!("input `{name}` is not defined")))?);
        }
        let out = self.out_name(ctx)?;
        let mut acc = vals[0].clone();
        for (k, v) in vals.into_iter().enumerate().skip(1) {
            let name = if k + 1 == n {
                out.clone()
            } else {
                format!("{out}#{k}")
            };
            self.add_pair(ctx, acc, v, &name)?;
            acc = self
                .names
                .get(&name)
                .cloned()
                .ok_or_else(|| ctx.invalid("its sum was not defined"))?;
        }
        match acc {
            Val::Act(a) if n == 1 => self.alias(&out, a),
            v @ (Val::Const(_) | Val::Dims(_)) if n == 1 => {
                self.names.insert(out, v);
            }
            _ => {}
        }
        Ok(())
    }

    fn add_pair(&mut self, ctx: &NodeCtx, a: Val, b: Val, out: &str) -> Result<()> {
        let (a, b) = match (a, b) {
            (Val::Act(a), Val::Act(b)) => (a, b),
            (Val::Act(a), Val::Const(k)) | (Val::Const(k), Val::Act(a)) => {
                return self.add_bias(ctx, a, &k, out)
            }
            _ => return Err(ctx.unsupported("adding two constants is not supported")),
        };
        let (x, y) = (&self.acts[a], &self.acts[b]);
        let same_hw = match (x.hw, y.hw) {
            (Some(p), Some(q)) => p == q,
            _ => true,
        };
        if x.c != y.c || x.unit != y.unit || !same_hw {
            return Err(ctx.unsupported(format_args!(
                "`{}` ({} channels, {:?}) and `{}` ({} channels, {:?}) differ in shape; broadcasting is not supported",
                x.name, x.c, x.hw, y.name, y.c, y.hw
            )));
        }
        let (c, hw, unit) = (x.c, x.hw, x.unit);
        // Residual: the add becomes part of the write step of a conv that only it reads.
        for (p, q) in [(a, b), (b, a)] {
            let ok = p != q
                && self.fusable(p)
                && matches!(&self.acts[p].kind, Kind::Conv(pc) if pc.residual.is_none() && !pc.relu);
            if ok {
                let qv = self.value(q, ctx)?;
                if let Kind::Conv(pc) = &mut self.acts[p].kind {
                    pc.residual = Some(qv);
                }
                self.acts[p].nonneg = false;
                self.rebind(out, p);
                return Ok(());
            }
        }
        let av = self.value(a, ctx)?;
        let bv = self.value(b, ctx)?;
        let kind = Kind::Add {
            name: ctx.ir_name(),
            a: av,
            b: bv,
            relu: false,
        };
        self.new_act(out, kind, c, hw, unit, false);
        Ok(())
    }

    /// A constant added to a `MatMul`/`Gemm` output that only the add reads: its bias.
    fn add_bias(&mut self, ctx: &NodeCtx, a: usize, k: &Const, out: &str) -> Result<()> {
        let c = self.acts[a].c;
        let vector =
            k.len() == c && k.dims.len() <= 2 && k.dims.iter().rev().skip(1).all(|&d| d == 1);
        let only_reader = self.acts[a].uses == 1;
        if let (true, true, Kind::Linear { bias, .. }) = (vector, only_reader, &self.acts[a].kind) {
            let add = match &k.data {
                ConstData::Float(v) => v.clone(),
                ConstData::Int(_) => return Err(ctx.invalid("the added constant holds integers")),
            };
            let sum: Vec<f32> = bias.iter().zip(&add).map(|(b, v)| b + v).collect();
            if let Kind::Linear { bias, .. } = &mut self.acts[a].kind {
                *bias = sum;
            }
            self.rebind(out, a);
            return Ok(());
        }
        Err(ctx.unsupported(format_args!(
            "adding a constant of shape {:?} to `{}` is supported only as the bias of a MatMul or Gemm output that nothing else reads",
            k.dims, self.acts[a].name
        )))
    }
}
