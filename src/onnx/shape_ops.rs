//! Shape arithmetic and axis plumbing that exporters put around the classifier head:
//!
//! - `Shape` → `Gather` → `Unsqueeze` → `Concat` → `Reshape`, the export of
//!   `x.view(x.size(0), -1)`: shapes are followed as lists of [`Dim`] (known numbers, the
//!   batch size, or unknown), and a `Reshape` whose target starts with the batch size copies
//!   the batch dimension (as a 0 entry would);
//! - `Squeeze`/`Unsqueeze` of the 1×1 axes (2, 3) after a global pool, and of shape lists;
//! - `ReduceMean` over axes 2 and 3, which is a global average pool;
//! - `Cast` of shape lists and integer constants (a no-op here).

use std::rc::Rc;

use super::ops::int_data;
use super::state::{Dim, Importer, Val};
use super::tensors::{ConstData, NodeCtx};
use crate::error::Result;

/// Axes (from an attribute before `opset_input`, else from input 1) normalised for `rank`.
fn axes(im: &Importer, ctx: &NodeCtx, opset_input: i64, rank: i64) -> Result<Option<Vec<i64>>> {
    let raw = if im.opset < opset_input {
        ctx.ints("axes")?
    } else {
        match im.const_input(ctx, 1)? {
            Some(c) => Some(int_data(ctx, &c, 1)?),
            None => None,
        }
    };
    Ok(raw.map(|v| {
        v.into_iter()
            .map(|a| if a < 0 { a + rank } else { a })
            .collect()
    }))
}

impl Importer {
    /// Input `k` as a list of dims: a computed shape or an integer constant.
    fn dims_of(&self, ctx: &NodeCtx, k: usize) -> Result<Vec<Dim>> {
        let name = ctx
            .input(k)
            .ok_or_else(|| ctx.invalid(format_args!("input {k} is missing")))?;
        match self.names.get(name) {
            Some(Val::Dims(d)) => Ok(d.as_ref().clone()),
            Some(Val::Const(c)) => match &c.data {
                ConstData::Int(v) => Ok(v.iter().map(|&x| Dim::Known(x)).collect()),
                ConstData::Float(_) => Err(ctx.unsupported(format_args!(
                    "input {k} `{name}` holds floating-point values; only integer shape arithmetic is supported here"
                ))),
            },
            Some(Val::Act(_)) => Err(ctx.unsupported(format_args!(
                "input {k} `{name}` is an activation; {} is supported only on shapes and integer constants",
                ctx.node.op_type
            ))),
            None => Err(ctx.invalid(format_args!("input {k} `{name}` is not defined"))),
        }
    }

    fn set_dims(&mut self, ctx: &NodeCtx, dims: Vec<Dim>) -> Result<()> {
        let out = self.out_name(ctx)?;
        self.names.insert(out, Val::Dims(Rc::new(dims)));
        Ok(())
    }

    /// Input `k` as a Reshape target: the batch size in front becomes 0 (copy).
    pub(super) fn shape_input(&self, ctx: &NodeCtx, k: usize) -> Result<Vec<i64>> {
        let dims = self.dims_of(ctx, k)?;
        let mut out = Vec::with_capacity(dims.len());
        for (i, d) in dims.into_iter().enumerate() {
            out.push(match d {
                Dim::Known(v) => v,
                Dim::Batch if i == 0 => 0,
                _ => {
                    return Err(ctx.unsupported(format_args!(
                        "entry {i} of the target shape depends on the input size; only [N, C] targets are supported"
                    )))
                }
            });
        }
        Ok(out)
    }

    pub(super) fn shape(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["start", "end"])?;
        let x = self.act_input(ctx, 0)?;
        let a = &self.acts[x];
        let (h, w) = match a.hw {
            Some((h, w)) => (Dim::Known(h as i64), Dim::Known(w as i64)),
            None => (Dim::Unknown, Dim::Unknown),
        };
        let all = [Dim::Batch, Dim::Known(a.c as i64), h, w];
        let clamp = |v: i64| (if v < 0 { v + 4 } else { v }).clamp(0, 4) as usize;
        let (start, end) = (clamp(ctx.int("start", 0)?), clamp(ctx.int("end", 4)?));
        self.set_dims(ctx, all[start..end.max(start)].to_vec())
    }

    pub(super) fn gather(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["axis"])?;
        let axis = ctx.int("axis", 0)?;
        if axis != 0 && axis != -1 {
            return Err(ctx.unsupported(format_args!(
                "attribute axis = {axis} is not supported (only gathering from a shape)"
            )));
        }
        let data = self.dims_of(ctx, 0)?;
        let idx = self.need_const(ctx, 1)?;
        let mut out = Vec::new();
        for i in int_data(ctx, &idx, 1)? {
            let j = if i < 0 { i + data.len() as i64 } else { i };
            let d = usize::try_from(j).ok().and_then(|j| data.get(j).copied());
            out.push(d.ok_or_else(|| {
                ctx.invalid(format_args!(
                    "index {i} is out of range for {} values",
                    data.len()
                ))
            })?);
        }
        self.set_dims(ctx, out)
    }

    pub(super) fn concat(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["axis"])?;
        let axis = ctx.int("axis", 0)?;
        if axis != 0 && axis != -1 {
            return Err(ctx.unsupported(format_args!(
                "attribute axis = {axis}: only the concatenation of shape lists is supported"
            )));
        }
        let mut out = Vec::new();
        for k in 0..ctx.node.input.len() {
            out.extend(self.dims_of(ctx, k)?);
        }
        self.set_dims(ctx, out)
    }

    pub(super) fn cast(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["to", "saturate"])?;
        let dims = self.dims_of(ctx, 0)?;
        self.set_dims(ctx, dims)
    }

    /// `Squeeze` and `Unsqueeze`: of the 1×1 axes of a pooled value, or of a shape list.
    pub(super) fn squeeze(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["axes"])?;
        let name = ctx
            .input(0)
            .ok_or_else(|| ctx.invalid("input 0 is missing"))?;
        if !matches!(self.names.get(name), Some(Val::Act(_))) {
            // A scalar ↔ 1-element list: the same list of dims here.
            let dims = self.dims_of(ctx, 0)?;
            return self.set_dims(ctx, dims);
        }
        let axes = axes(self, ctx, 13, 4)?;
        let x = self.act_input(ctx, 0)?;
        let spatial = axes
            .as_ref()
            .is_none_or(|a| a.iter().all(|&a| a == 2 || a == 3));
        if !self.acts[x].unit || !spatial {
            return Err(ctx.unsupported(format_args!(
                "axes {axes:?} of `{}`: only the 1×1 height and width (axes 2, 3) after a global pool are supported",
                self.acts[x].name
            )));
        }
        let out = self.out_name(ctx)?;
        self.alias(&out, x);
        Ok(())
    }

    /// `ReduceMean` over height and width: a global average pool.
    pub(super) fn reduce_mean(&mut self, ctx: &NodeCtx) -> Result<()> {
        ctx.check_attrs(&["axes", "keepdims", "noop_with_empty_axes"])?;
        let mut axes = axes(self, ctx, 18, 4)?.unwrap_or_default();
        axes.sort_unstable();
        if axes != [2, 3] {
            return Err(ctx.unsupported(format_args!(
                "axes {axes:?}: only a mean over height and width (axes 2, 3) is supported"
            )));
        }
        let x = self.act_input(ctx, 0)?;
        self.emit_global_pool(ctx, x)
    }
}
