//! Split K for the workgroup-memory tiled GEMM ([`ConvVariant::TiledSplitK`],
//! shaders/conv2d_tiled.wgsl `partial` and `reduce`): where a layer's grid of 64 × 64 tiles is
//! too small to occupy a GPU (resnet50 at batch 1: 8 tiles for a 7 × 7 map of 512 channels,
//! against 100+ compute units), K = KH·KW·Cin is cut into S slices of whole 16-deep chunks that
//! run as separate workgroups, and a second pass sums them:
//!
//! ```text
//! part[s][m][co] = Σ_(k in slice s) A[m][k] · B[k][co]          (grid: tiles × S workgroups)
//! y[m][co]       = Σ_s part[s][m][co] + bias[co] (+ residual) (ReLU)
//! ```
//!
//! Slice s holds chunks `s·⌈n/S⌉ .. min((s+1)·⌈n/S⌉, n)` of the n chunks; [`k_splits`] picks S
//! so that none is empty. The partial sums are f32 in both precisions, `S × M × Cout/4` vec4 in
//! the workspace's products scratch (which Winograd's GEMM uses too).
//!
//! [`ConvVariant::TiledSplitK`]: super::conv::ConvVariant::TiledSplitK

use super::grid_1d;
use crate::model::Conv2d;

/// Depth of one chunk of K (the tiled GEMM's workgroup-memory tile).
pub const CHUNK: usize = 16;
/// Output pixels and channels of one tile.
pub const TILE: usize = 64;
/// Workgroups the split grid aims for: a few per compute unit of a large GPU (an H100 has
/// 132), so that every unit has work while one waits on memory.
pub const TARGET_WORKGROUPS: usize = 256;
/// Chunks of one slice at least (a K of 64): fewer would spend more on the partial sums'
/// traffic than they save.
pub const MIN_CHUNKS: usize = 4;
/// Invocations of one `reduce` workgroup.
pub const REDUCE_WG: usize = 64;

/// The 64 × 64 tiles of `m` output pixels and `out_c` output channels.
pub fn tiles(out_c: usize, m: usize) -> usize {
    out_c.div_ceil(TILE) * m.div_ceil(TILE)
}

/// Chunks of K of `conv`, the last one padded with zeros (as `tiled_conv.wgsl`'s `chunks`).
pub fn chunks(conv: &Conv2d) -> usize {
    (conv.kernel[0] * conv.kernel[1] * conv.in_c).div_ceil(CHUNK)
}

/// The slices of K for `conv` over `m` output pixels: enough for [`TARGET_WORKGROUPS`]
/// workgroups, each slice at least [`MIN_CHUNKS`] deep (1 where K is too shallow), and no
/// slice empty.
pub fn k_splits(conv: &Conv2d, m: usize) -> usize {
    let n = chunks(conv).max(1);
    let want = TARGET_WORKGROUPS.div_ceil(tiles(conv.out_c, m));
    let s = want.min(n / MIN_CHUNKS).max(1);
    n.div_ceil(n.div_ceil(s))
}

/// Whether splitting K should beat the plain tiled GEMM on a GPU: the plain grid fills at most
/// half of [`TARGET_WORKGROUPS`] and K splits at least in two.
pub fn pays(conv: &Conv2d, m: usize) -> bool {
    2 * tiles(conv.out_c, m) <= TARGET_WORKGROUPS && k_splits(conv, m) >= 2
}

/// Bytes of the partial sums of `conv` over `m` output pixels (`out_c4`: the padded Cout in
/// vec4s).
pub fn scratch_bytes(conv: &Conv2d, m: usize, out_c4: usize) -> u64 {
    (k_splits(conv, m) * m * out_c4 * 16) as u64
}

/// The `reduce` grid: one invocation per output vec4.
pub fn reduce_grid(m: usize, out_c4: usize) -> [u32; 3] {
    grid_1d((m * out_c4).div_ceil(REDUCE_WG) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_grids_split_k_into_non_empty_slices() {
        // resnet50 at batch 1: layer4's 3×3 (K 4,608: 288 chunks) on 8 tiles splits 32 ways;
        // its 1×1 2048 → 512 (128 chunks) 32 ways of 4 chunks; layer1's 1×1 64 → 256 on a
        // 56² map (196 tiles, 4 chunks) not at all.
        let c3 = Conv2d::square(512, 512, 3, 1, 1);
        assert_eq!(k_splits(&c3, 49), 32);
        assert!(pays(&c3, 49));
        let reduce = Conv2d::square(2048, 512, 1, 1, 0);
        assert_eq!(k_splits(&reduce, 49), 32);
        let expand = Conv2d::square(64, 256, 1, 1, 0);
        assert_eq!(k_splits(&expand, 56 * 56), 1);
        assert!(!pays(&expand, 56 * 56));
        // A large grid is not split even where K is deep (resnet50 batch 64, layer3 3×3).
        let c256 = Conv2d::square(256, 256, 3, 1, 1);
        assert!(!pays(&c256, 64 * 14 * 14));
        // Every slice count leaves no slice empty and covers every chunk.
        for cin in [4, 16, 20, 48, 144, 272, 1024] {
            for m in [1, 49, 196, 3136] {
                let conv = Conv2d::square(cin, 64, 1, 1, 0);
                let n = chunks(&conv);
                let s = k_splits(&conv, m);
                let per = n.div_ceil(s);
                assert!(
                    s >= 1 && (s - 1) * per < n && s * per >= n,
                    "{cin} {m}: {s} of {n}"
                );
            }
        }
    }
}
