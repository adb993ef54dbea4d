//! Pooling kernels (shaders/pool.wgsl, and pool_pairs.wgsl in u64-pairs builds): max pool and
//! global average pool.

use bytemuck::{Pod, Zeroable};

use super::{grid_1d, Kernel};
use crate::model::{Pool2d, Shape};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct PoolParams {
    pub count: u32,
    pub c: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub k_h: u32,
    pub k_w: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    pub pad_t: u32,
    pub pad_l: u32,
}

/// The max pool kernel for `input` and the channels each invocation takes: eight as u64 pairs
/// in u64-pairs builds (`pairs`) where C % 8 == 0 (`max_pool8`: resnet50's pool on lavapipe
/// took about half the time of `max_pool4`), four where C % 4 == 0, else one.
pub fn max_pool_kernel(input: Shape, pairs: bool) -> (Kernel, usize) {
    if pairs && input.c.is_multiple_of(8) {
        (Kernel::MaxPool8, 8)
    } else if input.c.is_multiple_of(4) {
        (Kernel::MaxPool4, 4)
    } else {
        (Kernel::MaxPool, 1)
    }
}

/// Parameters and grid; `pool` is `None` for the global average pool. A max pool's `count`
/// and `c` are in units of the channels its kernel takes per invocation
/// ([`max_pool_kernel`] with `pairs`).
pub fn params(
    batch: usize,
    input: Shape,
    output: Shape,
    pool: Option<&Pool2d>,
    pairs: bool,
) -> (PoolParams, [u32; 3]) {
    let lanes = if pool.is_some() {
        max_pool_kernel(input, pairs).1
    } else {
        1
    };
    let count = batch * output.len() / lanes;
    let (k, s, pad) = pool.map_or(([1, 1], [1, 1], [0; 4]), |p| (p.kernel, p.stride, p.pad));
    let p = PoolParams {
        count: count as u32,
        c: (input.c / lanes) as u32,
        in_h: input.h as u32,
        in_w: input.w as u32,
        out_h: output.h as u32,
        out_w: output.w as u32,
        k_h: k[0] as u32,
        k_w: k[1] as u32,
        stride_h: s[0] as u32,
        stride_w: s[1] as u32,
        pad_t: pad[0] as u32,
        pad_l: pad[1] as u32,
    };
    (p, grid_1d(count.div_ceil(256) as u32))
}
