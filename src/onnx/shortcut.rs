//! The two data-movement ops of the CIFAR option-A shortcut, and zero padding.
//!
//! - Option A: `Slice(x, starts 0, ends ∞, axes [2, 3], steps [s, s])` then
//!   `Pad(pads [0, p, 0, 0, 0, q, 0, 0])` → `y[c] = x[::s, ::s, c − p]` for `p ≤ c < p + C`,
//!   else 0 (a slice alone is the same with p = q = 0, a channel pad alone with s = 1).
//! - `Pad` of height/width (`pads = [0, 0, t, l, 0, 0, b, r]`) stays pending until the conv or
//!   max pool that follows absorbs it (see `window.rs`). Pads above 65536 are refused.

use super::ops::{float_data, int_data};
use super::state::{Importer, Kind};
use super::tensors::NodeCtx;

/// The largest pad a `Pad` node may ask for on one side of one axis (larger ones would only
/// come from corrupt files).
const MAX_PAD: i64 = 1 << 16;
use crate::error::Result;
use crate::model::{Op, ShortcutA};

impl Importer {
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
        let out = self.out_name(ctx)?;
        if stride == [1, 1] {
            self.alias(&out, x);
            return Ok(());
        }
        let hw = hw.map(|(h, w)| (h.div_ceil(stride[0]), w.div_ceil(stride[1])));
        // x[::a][::b] = x[::a·b]: a slice of a slice is one slice.
        let (xv, stride) = match &self.acts[x].kind {
            Kind::Slice {
                x: inner,
                stride: s,
                ..
            } => (*inner, [s[0] * stride[0], s[1] * stride[1]]),
            _ => (self.value(x, ctx)?, stride),
        };
        let (unit, nonneg) = (self.acts[x].unit, self.acts[x].nonneg);
        let kind = Kind::Slice {
            name: ctx.ir_name(),
            x: xv,
            stride,
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
        if full.iter().any(|&p| p > MAX_PAD) {
            return Err(ctx.invalid(format_args!(
                "pads {full:?}: expected each at most {MAX_PAD}"
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
                } if stride[0] == stride[1] => (*inner, stride[0], c),
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
}
