//! Grouped convs as the narrow subgroup implicit GEMM (shaders/conv_sg_grouped.wgsl), over
//! 16-output-channel blocks whose weights are made dense at load time:
//!
//! ```text
//! S        = Cin/G · max(1, 16 / (Cout/G))            input channels per block
//! first(b) = (16b / (Cout/G)) · Cin/G                 block b's first input channel
//! wb[(ky·KW + kx)·S + c][co] = w[ky][kx][first(b) + c − g·Cin/G][co]  if first(b) + c is in
//!                              co's group g (g = co / (Cout/G)), else 0   (b = co / 16)
//! acc[m][co] = Σ_(ky,kx,c<S) x[n, oy·sh + ky − pt, ox·sw + kx − pl, first(b) + c] · wb[..][co]
//! ```
//!
//! Where a group spans whole blocks (Cout/G = 16, 32, ...: ResNeXt-50's last two stages) S is
//! Cin/G and `wb` is the packed weights themselves; where a block holds several groups (Cout/G
//! = 4, 8) S covers all of theirs and the zeros between them cost FMAs (4× and 2× the useful
//! ones) but no extra loads, which are what a CPU driver's time follows. The one-pixel grouped
//! kernel ([`super::conv::ConvVariant::Grouped`]) still takes every other grouped or dilated
//! conv, and is the choice on GPUs.

use super::conv::{padded_out_c, ConvVariant};
use super::grid_yz;
use crate::model::Conv2d;

/// Output channels per workgroup.
pub const CHANNELS: usize = 16;
/// Invocations per workgroup (lanes 0..7 of a subgroup).
pub const WG: usize = 8;
/// Index of the block-dense weights among a grouped conv's weight buffers (packed weights,
/// bias, block-dense weights; grouped convs have no Winograd weights).
pub const WEIGHT_INDEX: usize = 2;

/// Whether the kernel computes `conv`: grouped, undilated, Cin/G % 4 == 0, Cout % 16 == 0 and
/// Cout/G dividing 16 or a multiple of it (so that blocks hold whole groups or groups whole
/// blocks).
pub fn eligible(conv: &Conv2d) -> bool {
    let g = conv.groups.max(1);
    let cout_g = conv.out_c / g;
    g > 1
        && conv.dilation == [1, 1]
        && conv.in_c.is_multiple_of(g)
        && conv.out_c.is_multiple_of(g)
        && conv.group_in_c().is_multiple_of(4)
        && conv.out_c.is_multiple_of(CHANNELS)
        && (CHANNELS.is_multiple_of(cout_g) || cout_g.is_multiple_of(CHANNELS))
}

/// S: the input channels each 16-channel block reads.
pub fn span(conv: &Conv2d) -> usize {
    let cout_g = conv.out_c / conv.groups.max(1);
    conv.group_in_c() * (CHANNELS / cout_g).max(1)
}

/// The block-dense weights `[KH·KW·S][Cout padded]` from HWIO `weight` (`[KH·KW·Cin/G][Cout]`);
/// `conv` must be [`eligible`].
pub fn pack_blocks(conv: &Conv2d, weight: &[f32]) -> Vec<f32> {
    let (cin_g, cout_g) = (conv.group_in_c(), conv.out_c / conv.groups.max(1));
    let (s, cp) = (span(conv), padded_out_c(conv.out_c));
    let taps = conv.kernel[0] * conv.kernel[1];
    let mut wb = vec![0.0f32; taps * s * cp];
    for tap in 0..taps {
        for co in 0..conv.out_c {
            let first = (co / CHANNELS * CHANNELS / cout_g) * cin_g;
            let group_first = co / cout_g * cin_g;
            for c in 0..cin_g {
                let row = tap * s + group_first + c - first;
                wb[row * cp + co] = weight[(tap * cin_g + c) * conv.out_c + co];
            }
        }
    }
    wb
}

/// Pixels per workgroup of a variant of this kernel, or `None` for other variants.
pub fn pixels_per_group(variant: ConvVariant) -> Option<usize> {
    match variant {
        ConvVariant::GroupedSubgroup => Some(WG * 32),
        ConvVariant::GroupedSubgroup8 => Some(WG * 8),
        _ => None,
    }
}

/// Workgroup grid of `variant` for `m` output pixels and `out_c4` (padded) output vec4 columns.
pub fn grid(variant: ConvVariant, m: usize, out_c4: usize) -> Option<[u32; 3]> {
    let pixels = pixels_per_group(variant)?;
    let x = (out_c4 * 4).div_ceil(CHANNELS);
    Some(grid_yz(x as u32, m.div_ceil(pixels) as u32))
}

/// The block for `m` output pixels: 256 pixels unless that pads an eighth more than 64-pixel
/// blocks do (ResNeXt at batch 1: 56² and 14² maps take 256, 28² and 7² take 64).
pub fn choose(m: usize) -> ConvVariant {
    let padded = |p: usize| m.div_ceil(p) * p;
    if 8 * padded(WG * 32) <= 9 * padded(WG * 8) {
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
    fn eligibility_and_spans() {
        // ResNeXt-50 32×4d: Cout/G = 4, 8, 16, 32.
        for (c, s) in [(128, 16), (256, 16), (512, 16), (1024, 32)] {
            assert!(eligible(&grouped(c, c, 32)), "{c}");
            assert_eq!(span(&grouped(c, c, 32)), s, "{c}");
        }
        // 4 inputs, 2 outputs per group: 8 groups per block.
        assert_eq!(span(&grouped(64, 32, 16)), 32);
        assert!(!eligible(&grouped(64, 64, 1)), "not grouped");
        assert!(!eligible(&grouped(13, 13, 13)), "Cin/G of 1");
        assert!(!eligible(&grouped(96, 96, 4)), "Cout/G of 24");
        assert!(!eligible(&grouped(24, 24, 3)), "Cout of 24");
        assert!(!eligible(&grouped(64, 64, 16).dilated([2, 2])), "dilated");
    }

    #[test]
    fn block_dense_weights_keep_each_weight_once_and_zeros_elsewhere() {
        for conv in [
            grouped(64, 64, 16),
            grouped(64, 32, 16),
            grouped(64, 128, 2),
        ] {
            let weight: Vec<f32> = (0..conv.weight_len()).map(|i| 1.0 + i as f32).collect();
            let wb = pack_blocks(&conv, &weight);
            let (s, cp) = (span(&conv), padded_out_c(conv.out_c));
            assert_eq!(wb.len(), 9 * s * cp);
            let mut got: Vec<f32> = wb.iter().copied().filter(|&v| v != 0.0).collect();
            got.sort_by(f32::total_cmp);
            assert_eq!(got, weight, "{conv:?}: every weight exactly once");
            // Each weight sits in the row of its own input channel within its block's span.
            let (cin_g, cout_g) = (conv.group_in_c(), conv.out_c / conv.groups);
            for (i, &v) in weight.iter().enumerate() {
                let (row, co) = (i / conv.out_c, i % conv.out_c);
                let (tap, c) = (row / cin_g, row % cin_g);
                let input = co / cout_g * cin_g + c;
                let first = (co / 16 * 16 / cout_g) * cin_g;
                assert!(input >= first && input < first + s, "{conv:?}");
                assert_eq!(wb[(tap * s + input - first) * cp + co], v, "{conv:?}");
            }
        }
    }

    #[test]
    fn blocks_follow_the_map() {
        assert_eq!(choose(56 * 56), ConvVariant::GroupedSubgroup);
        assert_eq!(choose(28 * 28), ConvVariant::GroupedSubgroup8);
        assert_eq!(choose(14 * 14), ConvVariant::GroupedSubgroup);
        assert_eq!(choose(7 * 7), ConvVariant::GroupedSubgroup8);
    }
}
