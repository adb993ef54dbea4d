//! The classifier (shaders/linear.wgsl): `y = x·Wᵀ + b`, one output per invocation; and the
//! global average pool fused with it (workgroups of [`POOL_LINEAR_OUTPUTS`] classes × images,
//! each averaging its image first).

use bytemuck::{Pod, Zeroable};

use super::grid_1d;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct LinearParams {
    pub batch: u32,
    pub in_f: u32,
    pub out_f: u32,
    /// Pixels per image, for the fused pool.
    pub hw: u32,
}

/// Largest channel count the fused pool + classifier keeps in workgroup memory.
pub const POOL_LINEAR_MAX_IN: usize = 2048;

/// Classes per workgroup of the fused pool + classifier (64 invocations × 4).
pub const POOL_LINEAR_OUTPUTS: usize = 256;

/// Parameters and grid of the classifier; with `pool_hw = Some(h·w)` of the fused global
/// average pool + classifier (x: blocks of [`POOL_LINEAR_OUTPUTS`] classes, y: images).
pub fn params(
    batch: usize,
    in_f: usize,
    out_f: usize,
    pool_hw: Option<usize>,
) -> (LinearParams, [u32; 3]) {
    let p = LinearParams {
        batch: batch as u32,
        in_f: in_f as u32,
        out_f: out_f as u32,
        hw: pool_hw.unwrap_or(1) as u32,
    };
    let grid = match pool_hw {
        Some(_) => [out_f.div_ceil(POOL_LINEAR_OUTPUTS) as u32, batch as u32, 1],
        None => grid_1d((batch * out_f).div_ceil(64) as u32),
    };
    (p, grid)
}
