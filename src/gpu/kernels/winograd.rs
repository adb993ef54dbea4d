//! Winograd F(2×2, 3×3) (shaders/winograd.wgsl) for 3×3 stride-1 convs: the weight transform
//! `U = G g Gᵀ` (done once, in f64, at load time), and the parameters and grids of the three
//! passes (input transform, 16 GEMMs, output transform with the fused write step).

use bytemuck::{Pod, Zeroable};

use super::conv::padded_out_c;
use super::grid_1d;
use crate::model::Conv2d;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct WinoParams {
    pub batch: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub in_c4: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub out_c: u32,
    pub out_c4: u32,
    pub tiles_h: u32,
    pub tiles_w: u32,
    pub tiles: u32,
    pub pad_t: u32,
    pub pad_l: u32,
    pub has_residual: u32,
    pub relu: u32,
    pub _pad: u32,
}

/// Whether a conv can run as Winograd F(2,3) here: 3×3, stride 1, channels multiples of 4 and
/// at least 16 (below that the transforms cost more than they save); neither grouped nor
/// dilated.
pub fn eligible(conv: &Conv2d) -> bool {
    conv.is_plain()
        && conv.kernel == [3, 3]
        && conv.stride == [1, 1]
        && conv.in_c.is_multiple_of(4)
        && conv.in_c >= 16
        && conv.out_c >= 16
}

/// `U[e][ci][co]` (Cout padded to 16) from HWIO weights, `U = G g Gᵀ` per (ci, co).
pub fn transform_weights(conv: &Conv2d, hwio: &[f32]) -> Vec<f32> {
    const G: [[f64; 3]; 4] = [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.5, -0.5, 0.5],
        [0.0, 0.0, 1.0],
    ];
    let (cin, cout) = (conv.in_c, conv.out_c);
    let cp = padded_out_c(cout);
    let mut u = vec![0.0f32; 16 * cin * cp];
    for ci in 0..cin {
        for co in 0..cout {
            let g = |ky: usize, kx: usize| hwio[((ky * 3 + kx) * cin + ci) * cout + co] as f64;
            // Gg: 4×3
            let mut gg = [[0.0f64; 3]; 4];
            for (i, row) in gg.iter_mut().enumerate() {
                for (kx, v) in row.iter_mut().enumerate() {
                    *v = (0..3).map(|ky| G[i][ky] * g(ky, kx)).sum();
                }
            }
            for i in 0..4 {
                for j in 0..4 {
                    let v: f64 = (0..3).map(|kx| gg[i][kx] * G[j][kx]).sum();
                    u[((i * 4 + j) * cin + ci) * cp + co] = v as f32;
                }
            }
        }
    }
    u
}

/// Tiles of an `oh × ow` output: (rows, cols, total for the batch).
pub fn tiles(batch: usize, oh: usize, ow: usize) -> (usize, usize, usize) {
    let (th, tw) = (oh.div_ceil(2), ow.div_ceil(2));
    (th, tw, batch * th * tw)
}

/// Bytes of the transformed input V and the GEMM output M.
pub fn scratch_bytes(conv: &Conv2d, batch: usize, oh: usize, ow: usize) -> (u64, u64) {
    let (_, _, t) = tiles(batch, oh, ow);
    (
        (16 * t * conv.in_c * 4) as u64,
        (16 * t * padded_out_c(conv.out_c) * 4) as u64,
    )
}

/// Parameters and the grids of the input, GEMM and output passes.
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
) -> (WinoParams, [[u32; 3]; 3]) {
    let (th, tw, t) = tiles(batch, out_h, out_w);
    let out_c4 = padded_out_c(conv.out_c) / 4;
    let p = WinoParams {
        batch: batch as u32,
        in_h: in_h as u32,
        in_w: in_w as u32,
        in_c4: (conv.in_c / 4) as u32,
        out_h: out_h as u32,
        out_w: out_w as u32,
        out_c: conv.out_c as u32,
        out_c4: out_c4 as u32,
        tiles_h: th as u32,
        tiles_w: tw as u32,
        tiles: t as u32,
        pad_t: conv.pad[0] as u32,
        pad_l: conv.pad[1] as u32,
        has_residual: residual as u32,
        relu: relu as u32,
        _pad: 0,
    };
    let input = grid_1d((t * conv.in_c / 4).div_ceil(64) as u32);
    // GEMM: x = groups of 8 × 16 channels, y = groups of 8 × 8 tiles, z = the 16 products.
    let gemm = [(out_c4 / 4).div_ceil(8) as u32, t.div_ceil(64) as u32, 16];
    let output = grid_1d((t * out_c4).div_ceil(64) as u32);
    (p, [input, gemm, output])
}
