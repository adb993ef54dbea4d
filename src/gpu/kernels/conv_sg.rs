//! Subgroup implicit GEMM (shaders/conv_sg.wgsl) for any conv with Cin % 4 == 0 — 1×1 (also
//! strided, as in the down-sampling shortcuts), 3×3, the 7×7 stem padded to 4 channels:
//!
//! ```text
//! acc[m][co] = Σ_(ky,kx,ci) x[n, oy·sh + ky − pt, ox·sw + kx − pl, ci] · w[ky][kx][ci][co]
//! y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)
//! ```
//!
//! A workgroup of [`WG`] invocations owns [`CHANNELS`] output channels × `WG · rows` output
//! pixels; each invocation `rows` pixels ([`ROWS`], or [`ROWS_SMALL`] for small maps) × all
//! 64 channels. The 4 × 64 weights of every
//! 4 input channels are loaded once per subgroup (lane l: vec4 columns l and l + 8) and passed
//! around with `subgroupBroadcast`, so per 4 input channels an invocation issues ROWS + 8
//! loads for ROWS · 256 FMAs (today's direct kernels: 8 + 16 for 512). Lanes 0..7 of each
//! subgroup load, so the kernel is correct for any subgroup size ≥ [`MIN_SUBGROUP`]
//! (8, 16, 32, 64, ...); where the adapter reports smaller subgroups, or has no `SUBGROUP`,
//! the variant is not offered and the other kernels run.

use super::grid_yz;
use crate::model::Conv2d;

/// Invocations per workgroup (one lavapipe subgroup; lanes 0..7 of a larger subgroup).
pub const WG: usize = 8;
/// Output pixels per invocation of the large tile (`sg_gemm`) and of the small one
/// (`sg_gemm8`, entry `main8`).
pub const ROWS: usize = 16;
pub const ROWS_SMALL: usize = 8;
/// Output channels per workgroup (16 vec4 columns).
pub const CHANNELS: usize = 64;
/// Smallest subgroup the kernel is correct for (its 8 loader lanes).
pub const MIN_SUBGROUP: u32 = 8;

/// Whether the kernel computes `conv` (vec4 loads along Cin; neither grouped nor dilated).
pub fn eligible(conv: &Conv2d) -> bool {
    conv.is_plain() && conv.in_c.is_multiple_of(4)
}

/// Workgroup grid for `m` output pixels, `out_c4` (padded) output vec4 columns and `rows`
/// pixels per invocation.
pub fn grid(m: usize, out_c4: usize, rows: usize) -> [u32; 3] {
    let x = (out_c4 * 4).div_ceil(CHANNELS);
    grid_yz(x as u32, m.div_ceil(WG * rows) as u32)
}

/// Whether the small tile computes fewer padded pixels than the large one by a fifth or
/// more (maps too small for 128-pixel blocks: 7 × 7 at batch 1 computes 128 rows for 49
/// with the large tile, 64 with the small one). Elsewhere the large tile's fewer loads per
/// FMA win.
pub fn prefers_small(m: usize) -> bool {
    let padded = |rows: usize| m.div_ceil(WG * rows) * WG * rows;
    5 * padded(ROWS_SMALL) <= 4 * padded(ROWS)
}
