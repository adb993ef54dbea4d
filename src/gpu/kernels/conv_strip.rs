//! Row-strip convs (`shaders/conv_sg_strip.wgsl`) for 3×3 stride-1 convs with few output
//! channels (ResNet-20's 16 and 32):
//!
//! ```text
//! acc[ox][co] = Σ_(ky,kx,ci) x[n, oy + ky − pt, ox + kx − pl, ci] · w[ky][kx][ci][co]
//! y[ox][co]   = acc + bias[co] (+ residual) (ReLU)
//! ```
//!
//! Each invocation computes a strip of [`Strip::width`] consecutive output pixels of one output
//! row, and [`Strip::channels`] output channels. The three taps of a kernel row read
//! overlapping input columns, so per kernel row and 4 input channels it loads the strip's
//! `width + 2` input vec4s once and reuses each for up to three outputs; the weights are
//! shared across the subgroup as in the implicit GEMM ([`super::conv_sg`]). Per kernel row and
//! 4 input channels that is 34 + 6 loads for 6,144 FMAs (`sg_strip_c16`) and 18 + 12
//! (`sg_strip_c32`), where the implicit GEMM's `sg_gemm_c16` / `_c32` issue 102 and 60.
//!
//! Strips do not cross output rows: a row of `out_w` pixels takes `⌈out_w / width⌉` strips and
//! the last one's columns past the row's end compute zeros that are not stored, so the
//! variants pay off where `out_w` is near a multiple of the width ([`fits`]).

use super::conv::ConvVariant;
use super::conv_sg::WG;
use super::grid_yz;
use crate::model::Conv2d;

/// The tiling of one row-strip variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strip {
    /// Output channels per workgroup.
    pub channels: usize,
    /// Output pixels of one row per invocation.
    pub width: usize,
}

impl Strip {
    /// `sg_strip_c16` (entry `s16`).
    pub const C16: Strip = Strip {
        channels: 16,
        width: 32,
    };
    /// `sg_strip_c32` (entry `s32`).
    pub const C32: Strip = Strip {
        channels: 32,
        width: 16,
    };

    /// The tiling of `variant`, or `None` when it is not a row-strip conv.
    pub fn of(variant: ConvVariant) -> Option<Strip> {
        match variant {
            ConvVariant::Strip16 | ConvVariant::GroupedStrip => Some(Strip::C16),
            ConvVariant::Strip32 => Some(Strip::C32),
            _ => None,
        }
    }

    /// Strips of a dispatch: `width`-pixel pieces of each of the `batch · out_h` output rows.
    pub fn strips(self, batch: usize, out_h: usize, out_w: usize) -> usize {
        batch * out_h * out_w.div_ceil(self.width)
    }

    /// Workgroup grid: x = channel blocks of the padded `out_c4` vec4 columns, (y, z) = blocks
    /// of [`WG`] strips.
    pub fn grid(self, batch: usize, out_h: usize, out_w: usize, out_c4: usize) -> [u32; 3] {
        let x = (out_c4 * 4).div_ceil(self.channels);
        grid_yz(
            x as u32,
            self.strips(batch, out_h, out_w).div_ceil(WG) as u32,
        )
    }
}

/// Whether the kernel computes `conv`: 3×3, stride 1, neither grouped nor dilated,
/// Cin % 4 == 0 (any padding).
pub fn eligible(conv: &Conv2d) -> bool {
    conv.is_plain() && conv.kernel == [3, 3] && conv.stride == [1, 1] && conv.in_c.is_multiple_of(4)
}

/// Whether strips of `strip`'s width waste at most a sixth of their columns on rows of
/// `out_w` pixels (padded ≤ 1.2 × `out_w`: 32 × 32 and 16 × 16 maps waste none, 28-pixel rows
/// in 32-pixel strips 12.5 %, 20-pixel rows 37.5 %).
pub fn fits(strip: Strip, out_w: usize) -> bool {
    5 * out_w.div_ceil(strip.width) * strip.width <= 6 * out_w
}

/// The row-strip counterpart of the implicit GEMM's narrow blocks, for a conv whose
/// [`super::conv_sg::choose`] is `sg`, with output rows of `out_w` pixels: `sg_strip_c16` for
/// `sg_gemm_c16`, `sg_strip_c32` for `sg_gemm_c32`, where the conv is eligible and the strips
/// [`fits`]; otherwise `sg` itself. That includes a stem of one vec4 of input channels
/// (ResNet-20's, 4 → 16 channels on 32 × 32, on lavapipe: 0.18–0.19 against 0.24–0.26 ms for
/// `sg_gemm_c16` at batch 1, 0.95–1.2 against 1.35–1.37 ms at batch 16).
pub fn choose(conv: &Conv2d, sg: ConvVariant, out_w: usize) -> ConvVariant {
    let (variant, strip) = match sg {
        ConvVariant::Subgroup16 => (ConvVariant::Strip16, Strip::C16),
        ConvVariant::Subgroup32 => (ConvVariant::Strip32, Strip::C32),
        _ => return sg,
    };
    if eligible(conv) && fits(strip, out_w) {
        variant
    } else {
        sg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(k: usize, stride: usize, in_c: usize) -> Conv2d {
        Conv2d::square(in_c, 16, k, stride, k / 2)
    }

    #[test]
    fn strips_cover_every_row_and_the_grid_every_strip() {
        assert_eq!(Strip::C16.strips(2, 32, 32), 64);
        // A 33-pixel row needs a second, nearly empty strip.
        assert_eq!(Strip::C16.strips(1, 4, 33), 8);
        assert_eq!(Strip::C32.strips(3, 16, 16), 48);
        // 64 strips → 8 workgroups; 48 channels → 3 blocks of 16.
        assert_eq!(Strip::C16.grid(2, 32, 32, 12), [3, 8, 1]);
        // 9 strips need two workgroups, the second with one strip.
        assert_eq!(Strip::C32.grid(1, 9, 16, 8), [1, 2, 1]);
    }

    #[test]
    fn only_plain_3x3_stride_1_convs_with_vec4_inputs_are_eligible() {
        assert!(eligible(&conv(3, 1, 16)));
        assert!(!eligible(&conv(3, 2, 16)));
        assert!(!eligible(&conv(1, 1, 16)));
        assert!(!eligible(&conv(3, 1, 3)));
        let dilated = Conv2d {
            dilation: [2, 2],
            ..conv(3, 1, 16)
        };
        assert!(!eligible(&dilated));
    }

    #[test]
    fn the_strip_replaces_the_narrow_block_where_the_rows_fit() {
        let c = conv(3, 1, 16);
        assert_eq!(
            choose(&c, ConvVariant::Subgroup16, 32),
            ConvVariant::Strip16
        );
        assert_eq!(
            choose(&c, ConvVariant::Subgroup32, 16),
            ConvVariant::Strip32
        );
        // 20-pixel rows waste 37 % of 32-pixel strips; 28-pixel rows waste 12.5 %.
        assert_eq!(
            choose(&c, ConvVariant::Subgroup16, 20),
            ConvVariant::Subgroup16
        );
        assert_eq!(
            choose(&c, ConvVariant::Subgroup16, 28),
            ConvVariant::Strip16
        );
        // A stem of one vec4 of input channels takes the strips too.
        assert_eq!(
            choose(&conv(3, 1, 4), ConvVariant::Subgroup16, 32),
            ConvVariant::Strip16
        );
        // 64-channel blocks and strided convs keep their kernels.
        assert_eq!(choose(&c, ConvVariant::Subgroup, 32), ConvVariant::Subgroup);
        let strided = conv(3, 2, 16);
        assert_eq!(
            choose(&strided, ConvVariant::Subgroup16, 32),
            ConvVariant::Subgroup16
        );
    }
}
