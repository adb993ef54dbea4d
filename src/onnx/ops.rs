//! Convolution, batch norm, ReLU, residual add and pooling nodes.
//!
//! ONNX `pads` of a 2-D window are `[top, left, bottom, right]`, the order of
//! [`Conv2d::pad`]; `auto_pad = SAME_*` pads `(⌈n/s⌉ − 1)·s + k − n` in total, the odd pixel
//! at the end (UPPER) or the start (LOWER).

use super::import::{Importer, Kind, PendingConv, Val};
use super::tensors::{Const, ConstData, NodeCtx};
use crate::error::Result;
use crate::model::ir::window_out;
use crate::model::{Conv2d, Op, Pool2d};
use crate::weights::{fold_bn, BatchNorm};

const SUPPORTED: &str = "Conv, BatchNormalization, Relu, Add, Sum, MaxPool, Pad, GlobalAveragePool, AveragePool (global), Flatten, Reshape, Gemm, MatMul, Identity, Dropout, Softmax (last), Slice, Constant";

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

fn add4(a: [usize; 4], b: [usize; 4]) -> [usize; 4] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
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
            other => Err(ctx.unsupported(format_args!(
                "op type {other} is not supported by the ResNet importer (supported: {SUPPORTED})"
            ))),
        }
    }

    /// A window's padding from `pads` or `auto_pad`.
    fn window_pads(
        &mut self,
        ctx: &NodeCtx,
        kernel: [usize; 2],
        stride: [usize; 2],
        hw: Option<(usize, usize)>,
    ) -> Result<[usize; 4]> {
        let auto = ctx.string("auto_pad")?.unwrap_or_default();
        match auto.as_str() {
            "" | "NOTSET" => {
                let p = ctx.usizes("pads", 4, 0)?;
                Ok([p[0], p[1], p[2], p[3]])
            }
            "VALID" => Ok([0; 4]),
            "SAME_UPPER" | "SAME_LOWER" => {
                let mut out = [0; 4];
                for axis in 0..2 {
                    let (k, s) = (kernel[axis], stride[axis]);
                    let total = if s == 1 {
                        k - 1
                    } else {
                        // The padding depends on the input size: only valid for the declared one.
                        let Some((h, w)) = hw else {
                            return Err(ctx.unsupported(format_args!(
                                "auto_pad = {auto} with stride {s} needs a fixed input size, and the model's input declares none"
                            )));
                        };
                        self.fixed_input = true;
                        let n = if axis == 0 { h } else { w };
                        ((n.div_ceil(s) - 1) * s + k).saturating_sub(n)
                    };
                    let (small, big) = (total / 2, total - total / 2);
                    let (begin, end) = if auto == "SAME_UPPER" {
                        (small, big)
                    } else {
                        (big, small)
                    };
                    out[axis] = begin;
                    out[axis + 2] = end;
                }
                Ok(out)
            }
            other => Err(ctx.unsupported(format_args!(
                "attribute auto_pad = {other} is not supported"
            ))),
        }
    }

    /// Strides and kernel of a window op, both positive.
    fn window(
        &self,
        ctx: &NodeCtx,
        kernel: Option<[usize; 2]>,
    ) -> Result<([usize; 2], [usize; 2])> {
        let kernel = match kernel {
            Some(k) => k,
            None => {
                if !ctx.has("kernel_shape") {
                    return Err(ctx.invalid("attribute kernel_shape is missing"));
                }
                let k = ctx.usizes("kernel_shape", 2, 1)?;
                [k[0], k[1]]
            }
        };
        let s = ctx.usizes("strides", 2, 1)?;
        let d = ctx.usizes("dilations", 2, 1)?;
        if d != [1, 1] {
            return Err(ctx.unsupported(format_args!(
                "attribute dilations = {d:?} is not supported (only [1, 1])"
            )));
        }
        if kernel.contains(&0) || s.contains(&0) {
            return Err(ctx.invalid(format_args!(
                "kernel {kernel:?} and strides {s:?} must be positive"
            )));
        }
        Ok((kernel, [s[0], s[1]]))
    }

    fn out_hw(
        &self,
        ctx: &NodeCtx,
        hw: Option<(usize, usize)>,
        k: [usize; 2],
        s: [usize; 2],
        p: [usize; 4],
    ) -> Result<Option<(usize, usize)>> {
        let Some((h, w)) = hw else { return Ok(None) };
        match (
            window_out(h, k[0], s[0], p[0], p[2]),
            window_out(w, k[1], s[1], p[1], p[3]),
        ) {
            (Some(oh), Some(ow)) => Ok(Some((oh, ow))),
            _ => Err(ctx.invalid(format_args!(
                "its {h}x{w} input (padded by {p:?}) is smaller than the {}x{} window",
                k[0], k[1]
            ))),
        }
    }

    fn conv(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&[
            "auto_pad",
            "dilations",
            "group",
            "kernel_shape",
            "pads",
            "strides",
        ])?;
        let x = self.act_input(ctx, 0)?;
        let w = self.need_const(ctx, 1)?;
        let group = ctx.int("group", 1)?;
        if group != 1 {
            return Err(ctx.unsupported(format_args!(
                "attribute group = {group} is not supported (grouped or depthwise convolution; only group = 1)"
            )));
        }
        let &[m, cin, kh, kw] = w.dims.as_slice() else {
            return Err(ctx.unsupported(format_args!(
                "weight `{}` has shape {:?}; only 2-D convolutions ([M, C, kH, kW] weights) are supported",
                ctx.input(1).unwrap_or(""),
                w.dims
            )));
        };
        let c = self.acts[x].c;
        if cin != c {
            return Err(ctx.invalid(format_args!(
                "weight shape {:?} expects {cin} input channels, but input `{}` has {c}",
                w.dims, self.acts[x].name
            )));
        }
        if let Some(ks) = ctx.ints("kernel_shape")? {
            if ks != [kh as i64, kw as i64] {
                return Err(ctx.invalid(format_args!(
                    "kernel_shape {ks:?} disagrees with the weight shape {:?}",
                    w.dims
                )));
            }
        }
        let (kernel, stride) = self.window(ctx, Some([kh, kw]))?;
        let hw_in = self.acts[x].hw;
        let pads = self.window_pads(ctx, kernel, stride, hw_in)?;
        let hw = self.out_hw(ctx, hw_in, kernel, stride, pads)?;
        let weight = float_data(ctx, &w, 1)?.to_vec();
        let bias = match self.const_input(ctx, 2)? {
            Some(b) if b.len() == m => float_data(ctx, &b, 2)?.to_vec(),
            Some(b) => {
                return Err(ctx.invalid(format_args!("bias has shape {:?}; expected [{m}]", b.dims)))
            }
            None => vec![0.0; m],
        };
        // A zero Pad right before the conv becomes part of its padding.
        let (xv, extra) = match &self.acts[x].kind {
            Kind::Pad { x: inner, pad, .. } => (*inner, *pad),
            _ => (self.value(x, ctx)?, [0; 4]),
        };
        let conv = Conv2d {
            in_c: c,
            out_c: m,
            kernel,
            stride,
            pad: add4(pads, extra),
        };
        let out = self.out_name(ctx)?;
        let pending = PendingConv {
            name: ctx.ir_name(),
            x: xv,
            conv,
            weight,
            bias,
            residual: None,
            relu: false,
        };
        self.new_act(&out, Kind::Conv(pending), m, hw, false, false);
        Ok(())
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
            Val::Const(c) if n == 1 => {
                self.names.insert(out, Val::Const(c));
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
            (Val::Const(_), Val::Const(_)) => {
                return Err(ctx.unsupported("adding two constants is not supported"))
            }
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

    fn max_pool(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&[
            "auto_pad",
            "ceil_mode",
            "dilations",
            "kernel_shape",
            "pads",
            "storage_order",
            "strides",
        ])?;
        if ctx.output(1).is_some() {
            return Err(ctx.unsupported("output 1 (the indices of the maxima) is not supported"));
        }
        let ceil = ctx.int("ceil_mode", 0)?;
        if ceil != 0 {
            return Err(ctx.unsupported(format_args!(
                "attribute ceil_mode = {ceil} is not supported (only 0, floor rounding)"
            )));
        }
        let (kernel, stride) = self.window(ctx, None)?;
        let x = self.act_input(ctx, 0)?;
        let hw_in = self.acts[x].hw;
        let pads = self.window_pads(ctx, kernel, stride, hw_in)?;
        let hw = self.out_hw(ctx, hw_in, kernel, stride, pads)?;
        let (xv, pad) = match &self.acts[x].kind {
            Kind::Pad {
                node,
                x: inner,
                pad,
                nonneg,
            } => {
                // The pool's own padding never wins the max (it acts as −∞), while a Pad adds
                // zeros. The two agree when every padded value is ≥ 0 (a ReLU's output) and
                // every window still holds a real pixel (padding smaller than the kernel).
                let total = add4(pads, *pad);
                if !nonneg {
                    return Err(ctx.unsupported(format_args!(
                        "its input is zero-padded by Pad node {node}, and the padded values may be negative, so the zeros could win the max; a Pad is folded into a max pool only when its input comes from a Relu"
                    )));
                }
                if total[0] >= kernel[0]
                    || total[2] >= kernel[0]
                    || total[1] >= kernel[1]
                    || total[3] >= kernel[1]
                {
                    return Err(ctx.unsupported(format_args!(
                        "padding {total:?} (with Pad node {node}) is not smaller than the {}x{} window",
                        kernel[0], kernel[1]
                    )));
                }
                (*inner, total)
            }
            _ => (self.value(x, ctx)?, pads),
        };
        let p = Pool2d {
            kernel,
            stride,
            pad,
        };
        let (c, nonneg) = (self.acts[x].c, self.acts[x].nonneg);
        let v = self.emit(&ctx.ir_name(), Op::MaxPool(p), vec![xv], c);
        let out = self.out_name(ctx)?;
        self.new_act(&out, Kind::Value(v), c, hw, false, nonneg);
        Ok(())
    }

    fn global_avg_pool(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&[])?;
        let x = self.act_input(ctx, 0)?;
        self.emit_global_pool(ctx, x)
    }

    fn emit_global_pool(&mut self, ctx: &NodeCtx, x: usize) -> Result<()> {
        let xv = self.value(x, ctx)?;
        let (c, nonneg) = (self.acts[x].c, self.acts[x].nonneg);
        let v = self.emit(&ctx.ir_name(), Op::GlobalAvgPool, vec![xv], c);
        let out = self.out_name(ctx)?;
        self.new_act(&out, Kind::Value(v), c, Some((1, 1)), true, nonneg);
        Ok(())
    }

    /// An average pool whose window is its whole input: a global average pool, valid only
    /// for the declared input size.
    fn avg_pool(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&[
            "auto_pad",
            "ceil_mode",
            "count_include_pad",
            "dilations",
            "kernel_shape",
            "pads",
            "strides",
        ])?;
        let (kernel, stride) = self.window(ctx, None)?;
        let x = self.act_input(ctx, 0)?;
        let hw = self.acts[x].hw;
        let pads = self.window_pads(ctx, kernel, stride, hw)?;
        if pads != [0; 4] {
            return Err(ctx.unsupported(format_args!(
                "padding {pads:?}: only an unpadded average pool over the whole input (a global one) is supported"
            )));
        }
        if self.acts[x].unit && kernel == [1, 1] {
            let out = self.out_name(ctx)?;
            self.alias(&out, x);
            return Ok(());
        }
        match hw {
            Some((h, w)) if [h, w] == kernel => {
                if !self.acts[x].unit {
                    self.fixed_input = true;
                }
                self.emit_global_pool(ctx, x)
            }
            Some((h, w)) => Err(ctx.unsupported(format_args!(
                "kernel {}x{} on a {h}x{w} input: only an average pool over the whole input (a global one) is supported",
                kernel[0], kernel[1]
            ))),
            None => Err(ctx.unsupported(format_args!(
                "kernel {}x{}: only a global average pool is supported, and the model's input declares no fixed height and width to tell",
                kernel[0], kernel[1]
            ))),
        }
    }
}
