//! Winograd F(2×2, 3×3) (shaders/winograd.wgsl) for 3×3 stride-1 convs: the weight transform
//! `U = G g Gᵀ` (done once, in f64, at load time), and the parameters and grids of the three
//! passes (input transform, 16 GEMMs, output transform with the fused write step). The GEMM
//! pass comes in two forms: `winograd.wgsl`'s `gemm` (8 tiles × 16 channels per invocation,
//! weights loaded by every lane) and `winograd_sg.wgsl` (64 channels × [`sg_rows`] tiles per
//! invocation, weights loaded once per subgroup and broadcast).

use bytemuck::{Pod, Zeroable};

use super::conv::padded_out_c;
use super::{grid_1d, Kernel};
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

/// Tiles per invocation of the subgroup GEMM's entry points `gemm16`, `gemm8`, `gemm2`.
pub const SG_ROWS: [usize; 3] = [16, 8, 2];

/// Tiles per invocation of the subgroup GEMM for `t` tiles: the most (each weight row then
/// feeds the most FMAs) whose padded tile count is within a quarter of the least padded one.
/// 7 × 7 maps at batch 1 have 16 tiles: 8 × 16 per workgroup would compute 112 of padding.
pub fn sg_rows(t: usize) -> usize {
    let padded = |rows: usize| t.div_ceil(8 * rows) * 8 * rows;
    let least = SG_ROWS.iter().map(|&r| padded(r)).min().unwrap_or(0);
    SG_ROWS
        .into_iter()
        .find(|&r| 4 * padded(r) <= 5 * least)
        .unwrap_or(2)
}

/// The subgroup GEMM's entry point and grid for `t` tiles and `out_c4` (padded) output vec4
/// columns: x = 64-channel blocks, y = blocks of 8 · rows tiles, z = the 16 products.
pub fn sg_gemm(t: usize, out_c4: usize) -> (Kernel, [u32; 3]) {
    let rows = sg_rows(t);
    let kernel = match rows {
        16 => Kernel::WinogradGemmSg16,
        8 => Kernel::WinogradGemmSg8,
        _ => Kernel::WinogradGemmSg2,
    };
    let grid = [out_c4.div_ceil(16) as u32, t.div_ceil(8 * rows) as u32, 16];
    (kernel, grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sg_rows_follow_the_tile_count() {
        // resnet50 at batch 1: 56², 28², 14², 7² maps.
        assert_eq!(sg_rows(28 * 28), 16);
        assert_eq!(sg_rows(14 * 14), 16);
        assert_eq!(sg_rows(7 * 7), 8);
        assert_eq!(sg_rows(4 * 4), 2);
        assert_eq!(sg_rows(1), 2);
        // A batch of 64 fills the large block.
        assert_eq!(sg_rows(64 * 16), 16);
    }

    #[test]
    fn sg_grid_covers_every_tile_and_channel_block() {
        for t in [1, 16, 49, 196, 784, 1000] {
            for out_c4 in [4, 16, 20, 128] {
                let (k, g) = sg_gemm(t, out_c4);
                let rows = match k {
                    Kernel::WinogradGemmSg16 => 16,
                    Kernel::WinogradGemmSg8 => 8,
                    Kernel::WinogradGemmSg2 => 2,
                    other => panic!("{other:?} is not a subgroup Winograd GEMM"),
                };
                assert_eq!(rows, sg_rows(t));
                assert!(g[0] as usize * 16 >= out_c4 && (g[0] as usize - 1) * 16 < out_c4);
                assert!(g[1] as usize * 8 * rows >= t && (g[1] as usize - 1) * 8 * rows < t);
                assert_eq!(g[2], 16);
            }
        }
    }
}
