//! Grouped convs as the narrow subgroup implicit GEMM (shaders/conv_sg_grouped.wgsl) over
//! 16-output-channel blocks of whole groups (Cout/G = 4 or 8: 4 or 2 groups per block) or of
//! one group (Cout/G a multiple of 16):
//!
//! ```text
//! acc[m][co] = Σ_(ky,kx,c<Cin/G) x[n, oy·sh + ky − pt, ox·sw + kx − pl, g·Cin/G + c] · w[ky][kx][c][co]
//!              (g = co / (Cout/G))
//! ```
//!
//! over the packed HWIO weights, whose rows 4s .. 4s + 3 hold input channels 4k .. 4k + 3 of
//! every group at step s = (tap, k): per step a pixel loads one input vec4 per group of its
//! block and each output vec4 takes its own group's four rows, so only the nonzero products of
//! the block-diagonal weights are computed. The pipeline constant `block_groups` says how many
//! groups a block holds ([`block_groups`]; one kernel per count, [`kernel`]). For 4 channels
//! per group, 3×3 stride 1, the row strips of `conv_sg_strip.wgsl` (`g16`,
//! [`ConvVariant::GroupedStrip`]) do the same block-diagonal products and load each input
//! column once for its three taps ([`strip_eligible`], [`choose`]). The one-pixel grouped
//! kernel ([`ConvVariant::Grouped`]) takes every other grouped or dilated conv, and is the
//! choice on GPUs.

use super::conv::ConvVariant;
use super::conv_sg::{padded, Tile};
use super::Kernel;
use crate::model::Conv2d;

/// Output channels per workgroup.
pub const CHANNELS: usize = 16;
/// `sg_grouped8`'s tiling: 8 pixels per invocation (`sg_grouped` has the narrow GEMM's
/// [`Tile::C16`], 32).
const SMALL: Tile = Tile {
    channels: CHANNELS,
    rows: 8,
};

/// Whether the kernel computes `conv`: grouped, undilated, Cin/G % 4 == 0, Cout % 16 == 0 and
/// Cout/G of 4, 8 or a multiple of 16.
pub fn eligible(conv: &Conv2d) -> bool {
    let g = conv.groups.max(1);
    let cout_g = conv.out_c / g;
    g > 1
        && conv.dilation == [1, 1]
        && conv.in_c.is_multiple_of(g)
        && conv.out_c.is_multiple_of(g)
        && conv.group_in_c().is_multiple_of(4)
        && conv.out_c.is_multiple_of(CHANNELS)
        && (cout_g == 4 || cout_g == 8 || cout_g.is_multiple_of(CHANNELS))
}

/// Groups per 16-channel block of an [`eligible`] conv: 4, 2 or 1.
pub fn block_groups(conv: &Conv2d) -> usize {
    (CHANNELS / (conv.out_c / conv.groups.max(1))).max(1)
}

/// The kernel of `variant` (a grouped subgroup GEMM) for `conv`, or `None` for other variants.
pub fn kernel(variant: ConvVariant, conv: &Conv2d) -> Option<Kernel> {
    let large = match variant {
        ConvVariant::GroupedSubgroup => true,
        ConvVariant::GroupedSubgroup8 => false,
        _ => return None,
    };
    Some(match (block_groups(conv), large) {
        (4, true) => Kernel::ConvGroupedSgB4,
        (4, false) => Kernel::ConvGroupedSg8B4,
        (2, true) => Kernel::ConvGroupedSgB2,
        (2, false) => Kernel::ConvGroupedSg8B2,
        (_, true) => Kernel::ConvSubgroup16,
        (_, false) => Kernel::ConvGroupedSg8,
    })
}

/// The tiling of a variant of this kernel (workgroups of [`super::conv_sg::WG`] invocations
/// over 16-channel blocks, whose [`Tile::grid`] is the dispatch's), or `None` for other
/// variants.
pub fn tile(variant: ConvVariant) -> Option<Tile> {
    match variant {
        ConvVariant::GroupedSubgroup => Some(Tile::C16),
        ConvVariant::GroupedSubgroup8 => Some(SMALL),
        _ => None,
    }
}

/// Whether the grouped row strip ([`ConvVariant::GroupedStrip`], `conv_sg_strip.wgsl:g16`)
/// computes `conv`: [`eligible`] with 4 output channels per group, 3×3, stride 1. Per kernel
/// row and input vec4 of a group it loads the strip's 34 input vec4s once for 32 pixels × 3
/// taps, where the GEMM's block of four groups loads one vec4 per pixel and tap.
pub fn strip_eligible(conv: &Conv2d) -> bool {
    eligible(conv) && block_groups(conv) == 4 && conv.kernel == [3, 3] && conv.stride == [1, 1]
}

/// The variant for `conv` on `m` output pixels in rows of `out_w`: the row strip where it
/// takes the conv and its 32-pixel strips waste at most a sixth of a row
/// ([`super::conv_strip::fits`]: ResNeXt's 56² first stage); else 256-pixel blocks unless those
/// pad an eighth more than 64-pixel blocks do (ResNeXt at batch 1: 56² and 14² maps take 256,
/// 28² and 7² take 64).
pub fn choose(conv: &Conv2d, m: usize, out_w: usize) -> ConvVariant {
    use super::conv_strip::{fits, Strip};
    if strip_eligible(conv) && fits(Strip::C16, out_w) {
        return ConvVariant::GroupedStrip;
    }
    if 8 * padded(m, Tile::C16.rows) <= 9 * padded(m, SMALL.rows) {
        ConvVariant::GroupedSubgroup
    } else {
        ConvVariant::GroupedSubgroup8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grouped(c_in: usize, c_out: usize, g: usize) -> Conv2d {
        Conv2d::square(c_in, c_out, 3, 1, 1).grouped(g)
    }

    #[test]
    fn eligibility_and_block_groups() {
        // ResNeXt-50 32×4d: Cout/G = 4, 8, 16, 32.
        for (c, b) in [(128, 4), (256, 2), (512, 1), (1024, 1)] {
            assert!(eligible(&grouped(c, c, 32)), "{c}");
            assert_eq!(block_groups(&grouped(c, c, 32)), b, "{c}");
        }
        // 12 inputs and 16 outputs per group; 8 inputs and 4 outputs.
        assert!(eligible(&grouped(48, 64, 4)));
        assert_eq!(block_groups(&grouped(128, 64, 16)), 4);
        assert!(!eligible(&grouped(64, 64, 1)), "not grouped");
        assert!(!eligible(&grouped(13, 13, 13)), "Cin/G of 1");
        assert!(!eligible(&grouped(64, 32, 16)), "Cout/G of 2");
        assert!(!eligible(&grouped(96, 96, 4)), "Cout/G of 24");
        assert!(!eligible(&grouped(24, 24, 3)), "Cout of 24");
        assert!(!eligible(&grouped(64, 64, 16).dilated([2, 2])), "dilated");
    }

    #[test]
    fn each_group_count_has_its_kernels() {
        let g4 = grouped(128, 128, 32);
        let g1 = grouped(512, 512, 32);
        assert_eq!(
            kernel(ConvVariant::GroupedSubgroup, &g4),
            Some(Kernel::ConvGroupedSgB4)
        );
        assert_eq!(
            kernel(ConvVariant::GroupedSubgroup8, &grouped(256, 256, 32)),
            Some(Kernel::ConvGroupedSg8B2)
        );
        assert_eq!(
            kernel(ConvVariant::GroupedSubgroup8, &g1),
            Some(Kernel::ConvGroupedSg8)
        );
        assert_eq!(kernel(ConvVariant::Grouped, &g1), None);
        // Every kernel's pipeline constant is its conv's group count.
        for conv in [g4, g1, grouped(256, 256, 32)] {
            for v in [ConvVariant::GroupedSubgroup, ConvVariant::GroupedSubgroup8] {
                let k = kernel(v, &conv).expect("a grouped subgroup variant");
                assert_eq!(
                    k.constants(),
                    &[("block_groups", block_groups(&conv) as f64)],
                    "{k:?}"
                );
            }
        }
    }

    #[test]
    fn blocks_follow_the_map() {
        let g8 = grouped(256, 256, 32);
        assert_eq!(choose(&g8, 56 * 56, 56), ConvVariant::GroupedSubgroup);
        assert_eq!(choose(&g8, 28 * 28, 28), ConvVariant::GroupedSubgroup8);
        assert_eq!(choose(&g8, 14 * 14, 14), ConvVariant::GroupedSubgroup);
        assert_eq!(choose(&g8, 7 * 7, 7), ConvVariant::GroupedSubgroup8);
        // Four channels per group: the row strip where 32-pixel strips fit the rows.
        let g4 = grouped(128, 128, 32);
        assert_eq!(choose(&g4, 56 * 56, 56), ConvVariant::GroupedStrip);
        assert_eq!(choose(&g4, 2 * 32 * 32, 32), ConvVariant::GroupedStrip);
        assert_eq!(choose(&g4, 20 * 20, 20), ConvVariant::GroupedSubgroup8);
        let strided = Conv2d::square(128, 128, 3, 2, 1).grouped(32);
        assert!(!strip_eligible(&strided));
        assert!(strip_eligible(&g4));
        assert!(!strip_eligible(&g8), "8 channels per group");
    }
}
