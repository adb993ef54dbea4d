//! Convolution and pooling windows.
//!
//! ONNX `pads` of a 2-D window are `[top, left, bottom, right]`, the order of
//! [`Conv2d::pad`]; `auto_pad = SAME_*` pads `(⌈n/s⌉ − 1)·s + k − n` in total, the odd pixel
//! at the end (UPPER) or the start (LOWER). A zero `Pad` node right before a conv adds to its
//! padding; before a max pool only under the conditions explained in `max_pool`.

use super::ops::float_data;
use super::state::{Importer, Kind, PendingConv};
use super::tensors::NodeCtx;
use crate::error::Result;
use crate::model::ir::window_out;
use crate::model::{Conv2d, Op, Pool2d};

fn add4(a: [usize; 4], b: [usize; 4]) -> [usize; 4] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
}

impl Importer {
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

    /// Strides and kernel of a window op, both positive; `dilations` other than 1 are an
    /// error (pools; a conv reads them with [`Importer::dilations`] first).
    fn window(
        &self,
        ctx: &NodeCtx,
        kernel: Option<[usize; 2]>,
    ) -> Result<([usize; 2], [usize; 2])> {
        self.window_dilated(ctx, kernel, false)
    }

    /// A conv's `dilations`, each at least 1.
    fn dilations(&self, ctx: &NodeCtx) -> Result<[usize; 2]> {
        let d = ctx.usizes("dilations", 2, 1)?;
        if d.contains(&0) {
            return Err(ctx.invalid(format_args!(
                "attribute dilations = {d:?}: expected values of at least 1"
            )));
        }
        Ok([d[0], d[1]])
    }

    fn window_dilated(
        &self,
        ctx: &NodeCtx,
        kernel: Option<[usize; 2]>,
        dilation_ok: bool,
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
        if !dilation_ok && d != [1, 1] {
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

    pub(super) fn conv(&mut self, ctx: &NodeCtx) -> Result<()> {
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
        let &[m, cin, kh, kw] = w.dims.as_slice() else {
            return Err(ctx.unsupported(format_args!(
                "weight `{}` has shape {:?}; only 2-D convolutions ([M, C, kH, kW] weights) are supported",
                ctx.input(1).unwrap_or(""),
                w.dims
            )));
        };
        let c = self.acts[x].c;
        let groups = usize::try_from(group)
            .ok()
            .filter(|&g| g >= 1 && c.is_multiple_of(g) && m.is_multiple_of(g))
            .ok_or_else(|| {
                ctx.invalid(format_args!(
                    "attribute group = {group}: expected a positive divisor of both the {c} input channels of `{}` and the {m} output channels",
                    self.acts[x].name
                ))
            })?;
        if cin * groups != c {
            return Err(ctx.invalid(format_args!(
                "weight shape {:?} expects {cin} input channels per group ({} in all for group = {groups}), but input `{}` has {c}",
                w.dims,
                cin * groups,
                self.acts[x].name
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
        let dilation = self.dilations(ctx)?;
        let (kernel, stride) = self.window_dilated(ctx, Some([kh, kw]), true)?;
        // Padding and output size follow the dilated window, d·(k − 1) + 1 per axis.
        let extent = [0, 1].map(|a| dilation[a] * (kernel[a] - 1) + 1);
        let hw_in = self.acts[x].hw;
        let pads = self.window_pads(ctx, extent, stride, hw_in)?;
        let hw = self.out_hw(ctx, hw_in, extent, stride, pads)?;
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
            groups,
            dilation,
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

    pub(super) fn max_pool(&mut self, ctx: &NodeCtx) -> Result<()> {
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

    pub(super) fn global_avg_pool(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&[])?;
        let x = self.act_input(ctx, 0)?;
        self.emit_global_pool(ctx, x)
    }

    pub(super) fn emit_global_pool(&mut self, ctx: &NodeCtx, x: usize) -> Result<()> {
        let xv = self.value(x, ctx)?;
        let (c, nonneg) = (self.acts[x].c, self.acts[x].nonneg);
        let v = self.emit(&ctx.ir_name(), Op::GlobalAvgPool, vec![xv], c);
        let out = self.out_name(ctx)?;
        self.new_act(&out, Kind::Value(v), c, Some((1, 1)), true, nonneg);
        Ok(())
    }

    /// An average pool whose window is its whole input: a global average pool, valid only
    /// for the declared input size.
    pub(super) fn avg_pool(&mut self, ctx: &NodeCtx) -> Result<()> {
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
