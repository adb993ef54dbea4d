//! Layout kernels (shaders/layout.wgsl): NCHW input → NHWC, and the option-A shortcut; one
//! invocation per output pixel and group of four channels.

use bytemuck::{Pod, Zeroable};

use super::grid_1d;
use crate::model::{Shape, ShortcutA};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct LayoutParams {
    /// Output pixels × ceil(out_c / 4): the invocations.
    pub groups: u32,
    pub in_c: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_c: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub stride: u32,
    pub pad_before: u32,
    pub _p0: u32,
    pub _p1: u32,
    pub _p2: u32,
}

/// Parameters and grid for a layout op from `input` to `output` (per-image shapes).
pub fn params(
    batch: usize,
    input: Shape,
    output: Shape,
    shortcut: Option<&ShortcutA>,
) -> (LayoutParams, [u32; 3]) {
    let groups = batch * output.h * output.w * output.c.div_ceil(4);
    let p = LayoutParams {
        groups: groups as u32,
        in_c: input.c as u32,
        in_h: input.h as u32,
        in_w: input.w as u32,
        out_c: output.c as u32,
        out_h: output.h as u32,
        out_w: output.w as u32,
        stride: shortcut.map_or(1, |s| s.stride) as u32,
        pad_before: shortcut.map_or(0, |s| s.pad_before) as u32,
        _p0: 0,
        _p1: 0,
        _p2: 0,
    };
    (p, grid_1d(groups.div_ceil(256) as u32))
}
