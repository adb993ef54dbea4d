//! The classifier (shaders/linear.wgsl): `y = x·Wᵀ + b`, one output per invocation.

use bytemuck::{Pod, Zeroable};

use super::grid_1d;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct LinearParams {
    pub batch: u32,
    pub in_f: u32,
    pub out_f: u32,
    pub _pad: u32,
}

pub fn params(batch: usize, in_f: usize, out_f: usize) -> (LinearParams, [u32; 3]) {
    let p = LinearParams {
        batch: batch as u32,
        in_f: in_f as u32,
        out_f: out_f as u32,
        _pad: 0,
    };
    (p, grid_1d((batch * out_f).div_ceil(64) as u32))
}
