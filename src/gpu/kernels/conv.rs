//! Conv2d (shaders/conv2d.wgsl): register-tiled direct convolution, 4 pixels × 8 channels per
//! invocation, with bias, residual and ReLU fused into the write step.

use bytemuck::{Pod, Zeroable};

use super::grid_yz;
use crate::model::Conv2d;

/// Output channels per invocation; Cout is padded to a multiple of this in the packed weights.
pub const CO_BLOCK: usize = 8;
/// Output pixels per invocation.
pub const PIXELS: usize = 4;
/// Workgroup size (x = channel blocks, y = pixel blocks).
pub const WG: usize = 8;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct ConvParams {
    pub batch: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub in_c: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub out_c: u32,
    pub out_c4: u32,
    pub k_h: u32,
    pub k_w: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    pub pad_t: u32,
    pub pad_l: u32,
    pub has_residual: u32,
    pub relu: u32,
}

/// Cout rounded up to the channel block.
pub fn padded_out_c(out_c: usize) -> usize {
    out_c.div_ceil(CO_BLOCK) * CO_BLOCK
}

/// HWIO weights `[K][Cout]` → `[K][Cout padded]`, and the bias padded the same way.
pub fn pack(conv: &Conv2d, weight: &[f32], bias: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let cp = padded_out_c(conv.out_c);
    let k = conv.kernel[0] * conv.kernel[1] * conv.in_c;
    let mut w = vec![0.0f32; k * cp];
    for r in 0..k {
        w[r * cp..r * cp + conv.out_c]
            .copy_from_slice(&weight[r * conv.out_c..(r + 1) * conv.out_c]);
    }
    let mut b = vec![0.0f32; cp];
    b[..conv.out_c].copy_from_slice(bias);
    (w, b)
}

/// Parameters and workgroup grid of one conv dispatch.
#[allow(clippy::too_many_arguments)]
pub fn params(
    conv: &Conv2d,
    batch: usize,
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
    residual: bool,
    relu: bool,
) -> (ConvParams, [u32; 3]) {
    let p = ConvParams {
        batch: batch as u32,
        in_h: in_h as u32,
        in_w: in_w as u32,
        in_c: conv.in_c as u32,
        out_h: out_h as u32,
        out_w: out_w as u32,
        out_c: conv.out_c as u32,
        out_c4: (padded_out_c(conv.out_c) / 4) as u32,
        k_h: conv.kernel[0] as u32,
        k_w: conv.kernel[1] as u32,
        stride_h: conv.stride[0] as u32,
        stride_w: conv.stride[1] as u32,
        pad_t: conv.pad[0] as u32,
        pad_l: conv.pad[1] as u32,
        has_residual: residual as u32,
        relu: relu as u32,
    };
    let m = batch * out_h * out_w;
    let x_groups = (padded_out_c(conv.out_c) / CO_BLOCK).div_ceil(WG);
    let pixel_groups = m.div_ceil(PIXELS * WG);
    (p, grid_yz(x_groups as u32, pixel_groups as u32))
}
