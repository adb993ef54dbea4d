//! Element-wise kernels (shaders/eltwise.wgsl): unfolded batch norm, residual add, ReLU.

use bytemuck::{Pod, Zeroable};

use super::grid_1d;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct EltParams {
    pub count: u32,
    pub channels: u32,
    pub relu: u32,
    pub _pad: u32,
}

/// Parameters and grid for `count` elements of `channels` channels.
pub fn params(count: usize, channels: usize, relu: bool) -> (EltParams, [u32; 3]) {
    let p = EltParams {
        count: count as u32,
        channels: channels.max(1) as u32,
        relu: relu as u32,
        _pad: 0,
    };
    (p, grid_1d(count.div_ceil(256) as u32))
}
