//! Subgroup implicit GEMM (shaders/conv_sg.wgsl) for any conv with Cin % 4 == 0 — 1×1 (also
//! strided, as in the down-sampling shortcuts), 3×3, the 7×7 stem padded to 4 channels:
//!
//! ```text
//! acc[m][co] = Σ_(ky,kx,ci) x[n, oy·sh + ky − pt, ox·sw + kx − pl, ci] · w[ky][kx][ci][co]
//! y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)
//! ```
//!
//! A workgroup of [`WG`] invocations owns [`CHANNELS`] output channels × `WG · rows` output
//! pixels; each invocation `rows` pixels ([`ROWS`], 14, [`ROWS_SMALL`] or 7, by map size:
//! [`wide_tile`]) × all 64 channels. The 4 × 64 weights of every
//! 4 input channels are loaded once per subgroup (lane l: vec4 columns 2l and 2l + 1, one
//! `vec4<u64>` load per row in the u64-pairs builds) and passed around with
//! `subgroupBroadcast`, so per 4 input channels an invocation issues ROWS + 4 loads (ROWS + 8
//! in vec4s) for ROWS · 256 FMAs (today's direct kernels: 8 + 16 for 512). Lanes 0..7 of each
//! subgroup load, so the kernel is correct for any subgroup size ≥ [`MIN_SUBGROUP`]
//! (8, 16, 32, 64, ...); where the adapter reports smaller subgroups, or has no `SUBGROUP`,
//! the variant is not offered and the other kernels run.
//!
//! For few output channels (ResNet-20's 16 and 32) `shaders/conv_sg_grouped.wgsl` (a plain
//! conv as one group) and `shaders/conv_sg_narrow.wgsl` do the same over 16- and 32-channel
//! blocks with 32 and 16 pixels per invocation ([`Tile`]), instead of computing padding in
//! 64-channel blocks.

use super::conv::ConvVariant;
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

/// The tiling of one subgroup GEMM variant: output channels per workgroup and pixels per
/// invocation (workgroups are always [`WG`] invocations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    pub channels: usize,
    pub rows: usize,
}

impl Tile {
    /// `sg_gemm` (`conv_sg.wgsl` `main`).
    pub const LARGE: Tile = Tile {
        channels: CHANNELS,
        rows: ROWS,
    };
    /// `sg_gemm8` (`main8`).
    pub const SMALL: Tile = Tile {
        channels: CHANNELS,
        rows: ROWS_SMALL,
    };
    /// `sg_gemm14` (`main` with `group_rows` 7) and `sg_gemm7` (`main8` with it).
    pub const ROWS14: Tile = Tile {
        channels: CHANNELS,
        rows: 14,
    };
    pub const ROWS7: Tile = Tile {
        channels: CHANNELS,
        rows: 7,
    };
    /// The same over 128- and 256-channel blocks (`col_groups` 2 and 4): `sg_gemm_c128`,
    /// `sg_gemm14_c128`, `sg_gemm14_c256`, `sg_gemm8_c256`, `sg_gemm7_c256`.
    pub const C128: Tile = Tile {
        channels: 128,
        rows: ROWS,
    };
    pub const ROWS14_C128: Tile = Tile {
        channels: 128,
        rows: 14,
    };
    pub const ROWS14_C256: Tile = Tile {
        channels: 256,
        rows: 14,
    };
    pub const SMALL_C256: Tile = Tile {
        channels: 256,
        rows: ROWS_SMALL,
    };
    pub const ROWS7_C256: Tile = Tile {
        channels: 256,
        rows: 7,
    };
    /// `sg_gemm_c16` (`conv_sg_grouped.wgsl` `main` with one group per block).
    pub const C16: Tile = Tile {
        channels: 16,
        rows: 32,
    };
    /// `sg_gemm_c32` (`c32`).
    pub const C32: Tile = Tile {
        channels: 32,
        rows: 16,
    };

    /// The tiling of `variant`, or `None` when it is not a subgroup GEMM.
    pub fn of(variant: ConvVariant) -> Option<Tile> {
        match variant {
            ConvVariant::Subgroup => Some(Tile::LARGE),
            ConvVariant::Subgroup8 => Some(Tile::SMALL),
            ConvVariant::Subgroup14 => Some(Tile::ROWS14),
            ConvVariant::Subgroup7 => Some(Tile::ROWS7),
            ConvVariant::SubgroupC128 => Some(Tile::C128),
            ConvVariant::Subgroup14C128 => Some(Tile::ROWS14_C128),
            ConvVariant::Subgroup14C256 => Some(Tile::ROWS14_C256),
            ConvVariant::Subgroup8C256 => Some(Tile::SMALL_C256),
            ConvVariant::Subgroup7C256 => Some(Tile::ROWS7_C256),
            ConvVariant::Subgroup16 => Some(Tile::C16),
            ConvVariant::Subgroup32 => Some(Tile::C32),
            _ => None,
        }
    }

    /// Workgroup grid for `m` output pixels and `out_c4` (padded) output vec4 columns.
    pub fn grid(self, m: usize, out_c4: usize) -> [u32; 3] {
        let x = (out_c4 * 4).div_ceil(self.channels);
        grid_yz(x as u32, m.div_ceil(WG * self.rows) as u32)
    }
}

/// `m` pixels (or Winograd tiles) rounded up to whole workgroup blocks of [`WG`] · `rows`: what
/// a subgroup GEMM with `rows` per invocation computes, padding included.
pub fn padded(m: usize, rows: usize) -> usize {
    m.div_ceil(WG * rows) * WG * rows
}

/// The 64-channel variants, most pixels per invocation first: 128-, 112-, 64- and 56-pixel
/// blocks ([`Tile::of`] gives each one's tile).
pub const WIDE_VARIANTS: [ConvVariant; 4] = [
    ConvVariant::Subgroup,
    ConvVariant::Subgroup14,
    ConvVariant::Subgroup8,
    ConvVariant::Subgroup7,
];

/// The 64-channel tile for `m` output pixels: the one with the most pixels per invocation
/// (each weight broadcast then feeds the most FMAs) whose padded pixel count is within an
/// eighth of the least padded one. ResNet maps are 7 · 2^k pixels a side, so at batch 1:
/// 56² (3,136) the 128-pixel block (2 % padding), 28² and 14² the 112-pixel one (784 and
/// 196 pixels, where 128-pixel blocks pad 14 and 31 %), 7² the 56-pixel one (49; 64-pixel
/// blocks pad 31 %). On resnet50 at batch 1 on lavapipe the 112- and 56-pixel blocks took
/// 0.88–0.94 of the time per layer where they replaced the 128- and 64-pixel ones.
pub fn wide_tile(m: usize) -> ConvVariant {
    let padded = |v: ConvVariant| padded(m, Tile::of(v).map_or(ROWS, |t| t.rows));
    let least = WIDE_VARIANTS.into_iter().map(padded).min().unwrap_or(0);
    WIDE_VARIANTS
        .into_iter()
        .find(|&v| 8 * padded(v) <= 9 * least)
        .unwrap_or(ConvVariant::Subgroup)
}

/// The wider channel block of a 64-channel tile: 128 channels for the 16- and 14-pixel tiles,
/// 256 for the 8- and 7-pixel ones.
pub fn wider(tile: ConvVariant) -> Option<ConvVariant> {
    match tile {
        ConvVariant::Subgroup => Some(ConvVariant::SubgroupC128),
        ConvVariant::Subgroup14 => Some(ConvVariant::Subgroup14C256),
        ConvVariant::Subgroup8 => Some(ConvVariant::Subgroup8C256),
        ConvVariant::Subgroup7 => Some(ConvVariant::Subgroup7C256),
        _ => None,
    }
}

/// The GEMM depth (KH · KW · Cin) from which the 16-pixel tile takes a wider channel block.
pub const WIDE_MIN_K: usize = 128;

/// `tile` (a 64-channel tile for `m` output pixels of a conv with GEMM depth `k`) over a wider
/// channel block where that divides `out_c` and the grid still has a workgroup for each of the
/// device's `threads` (CPU drivers run each workgroup on one thread); else `tile`. Each input
/// load then feeds two or four times the FMAs.
/// - The 14-, 8- and 7-pixel tiles take their 256-channel blocks: on resnet50 at batch 1 on
///   lavapipe the 7-pixel tile took 0.80 of its time over 256 channels, the 14-pixel one
///   about 0.86 (0.91 over 128 channels; BENCHMARKS.md, twelfth round).
/// - The 16-pixel tile (large maps, or a batch) takes the 14-pixel tile's 256-channel block
///   where Cout allows it and 112-pixel blocks pad within an eighth of 128-pixel ones, else
///   its own 128-channel block, where K is at least [`WIDE_MIN_K`]: resnet50's layer2–4
///   convs at batch 8 took about 0.82 of their time (fifteenth round). Below that (K of 64,
///   resnet50's 56² 1×1 expansions) it keeps its 64 channels: over 128 those gained 0–7 % and
///   over 256 they were slower (twelfth round).
///
/// Without `slow_compiles` the wide blocks, which compile slowly
/// ([`ConvVariant::compiles_slowly`]), give way to `tile` itself.
pub fn widen(
    tile: ConvVariant,
    out_c: usize,
    m: usize,
    k: usize,
    threads: usize,
    slow_compiles: bool,
) -> ConvVariant {
    let padded = |rows: usize| padded(m, rows);
    let candidates: &[ConvVariant] = match tile {
        ConvVariant::Subgroup if k < WIDE_MIN_K => &[],
        ConvVariant::Subgroup if 8 * padded(14) <= 9 * padded(ROWS) => {
            &[ConvVariant::Subgroup14C256, ConvVariant::SubgroupC128]
        }
        ConvVariant::Subgroup => &[ConvVariant::SubgroupC128],
        ConvVariant::Subgroup14 => &[ConvVariant::Subgroup14C256],
        ConvVariant::Subgroup8 => &[ConvVariant::Subgroup8C256],
        ConvVariant::Subgroup7 => &[ConvVariant::Subgroup7C256],
        _ => &[],
    };
    let fits = |wide: ConvVariant| {
        Tile::of(wide).is_some_and(|t| {
            let workgroups = out_c.div_ceil(t.channels) * m.div_ceil(WG * t.rows);
            out_c.is_multiple_of(t.channels) && workgroups >= threads
        }) && (slow_compiles || !wide.compiles_slowly())
    };
    candidates
        .iter()
        .copied()
        .find(|&w| fits(w))
        .unwrap_or(tile)
}

/// The subgroup variant for a conv of `out_c` output channels and `m` output pixels: the
/// channel block (64, 32 or 16) that computes the fewest padded channels, the widest on a tie
/// (a wider block loads each input once for more FMAs); for 64-channel blocks the tile of
/// [`wide_tile`]. ResNet-20's 16- and 32-channel layers get the narrow blocks instead of
/// computing 48 or 32 channels of padding per 64.
pub fn choose(out_c: usize, m: usize) -> ConvVariant {
    let padded = |block: usize| out_c.div_ceil(block) * block;
    if padded(CHANNELS) <= padded(32) && padded(CHANNELS) <= padded(16) {
        wide_tile(m)
    } else if padded(32) <= padded(16) {
        ConvVariant::Subgroup32
    } else {
        ConvVariant::Subgroup16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_pads_cout_least() {
        assert_eq!(choose(16, 1024), ConvVariant::Subgroup16);
        assert_eq!(choose(32, 256), ConvVariant::Subgroup32);
        assert_eq!(choose(48, 256), ConvVariant::Subgroup16);
        assert_eq!(choose(96, 256), ConvVariant::Subgroup32);
        assert_eq!(choose(64, 3136), ConvVariant::Subgroup);
        assert_eq!(choose(2048, 49), ConvVariant::Subgroup7);
        assert_eq!(choose(13, 100), ConvVariant::Subgroup16);
    }

    #[test]
    fn the_wide_tile_pads_resnet_maps_least() {
        // resnet50 at batch 1: 112², 56², 28², 14², 7² maps.
        assert_eq!(wide_tile(112 * 112), ConvVariant::Subgroup);
        assert_eq!(wide_tile(56 * 56), ConvVariant::Subgroup);
        assert_eq!(wide_tile(28 * 28), ConvVariant::Subgroup14);
        assert_eq!(wide_tile(14 * 14), ConvVariant::Subgroup14);
        assert_eq!(wide_tile(7 * 7), ConvVariant::Subgroup7);
        // CIFAR's 8 × 8 maps: one 64-pixel block at batch 1, 128-pixel blocks at 16.
        assert_eq!(wide_tile(64), ConvVariant::Subgroup8);
        assert_eq!(wide_tile(16 * 64), ConvVariant::Subgroup);
    }

    #[test]
    fn the_wider_block_needs_a_divisible_cout_and_a_workgroup_per_thread() {
        use ConvVariant::*;
        // (tile, Cout, pixels, K, threads, expected)
        let cases = [
            // resnet50 at batch 1: 1×1 expansions to 256 (56², K 64: the 16-pixel tile stays
            // 64 channels wide), 1024 (14²) and 2048 (7²); an 8 × 8 map.
            (Subgroup, 256, 56 * 56, 64, 2, Subgroup),
            (Subgroup14, 1024, 14 * 14, 256, 2, Subgroup14C256),
            (Subgroup7, 2048, 7 * 7, 512, 2, Subgroup7C256),
            (Subgroup8, 512, 64, 512, 2, Subgroup8C256),
            // The 16-pixel tile with K ≥ 128: 256-channel blocks of 14 pixels (resnet50's
            // layer3 1×1s at batch 8), else 128-channel ones (its layer2 3×3s at batch 8, the
            // 256 → 128 reduction at batch 1), 64 channels where Cout allows neither.
            (Subgroup, 1024, 8 * 14 * 14, 256, 2, Subgroup14C256),
            (Subgroup, 128, 8 * 28 * 28, 1152, 2, SubgroupC128),
            (Subgroup, 128, 56 * 56, 256, 2, SubgroupC128),
            (Subgroup, 192, 56 * 56, 256, 2, Subgroup),
            // 112-pixel blocks padding more than an eighth over 128-pixel ones: 128 channels.
            (Subgroup, 256, 128, 256, 2, SubgroupC128),
            // Cout not a multiple of the wider block.
            (Subgroup14, 384, 14 * 14, 256, 2, Subgroup14),
            (Subgroup7, 384, 7 * 7, 256, 1, Subgroup7),
            // 512 channels of 49 pixels: two 256-channel workgroups, enough for 2 threads
            // only.
            (Subgroup7, 512, 7 * 7, 512, 2, Subgroup7C256),
            (Subgroup7, 512, 7 * 7, 512, 3, Subgroup7),
            // Only the 64-channel tiles have a wider block.
            (Subgroup16, 256, 1024, 256, 1, Subgroup16),
        ];
        for (tile, out_c, m, k, threads, want) in cases {
            assert_eq!(
                widen(tile, out_c, m, k, threads, true),
                want,
                "{tile:?} Cout {out_c}, {m} px, K {k}, {threads} threads"
            );
            // Without slow compiles never a wide block: the 64-channel tile itself.
            let quick = widen(tile, out_c, m, k, threads, false);
            assert_eq!(quick, tile, "{tile:?} Cout {out_c}, {m} px, quick");
            assert!(!quick.compiles_slowly(), "{quick:?}");
        }
        for v in WIDE_VARIANTS {
            assert!(!v.compiles_slowly(), "{v:?}");
            let wide = wider(v).expect("a wider tile");
            assert!(wide.compiles_slowly(), "{wide:?}");
        }
        for v in WIDE_VARIANTS {
            let wide = wider(v).and_then(Tile::of).expect("a wider tile");
            let base = Tile::of(v).expect("a tile");
            assert_eq!(wide.rows, base.rows, "{v:?}");
            assert!(wide.channels > base.channels, "{v:?}");
        }
    }

    #[test]
    fn grids_cover_every_pixel_and_channel() {
        for tile in [
            Tile::LARGE,
            Tile::ROWS14,
            Tile::SMALL,
            Tile::ROWS7,
            Tile::C128,
            Tile::ROWS14_C128,
            Tile::ROWS14_C256,
            Tile::SMALL_C256,
            Tile::ROWS7_C256,
            Tile::C16,
            Tile::C32,
        ] {
            for (m, c4) in [(1, 1), (49, 512), (1024, 4), (3136, 16), (1000, 8)] {
                let [x, y, z] = tile.grid(m, c4);
                assert!(x as usize * tile.channels >= c4 * 4, "{tile:?} {m} {c4}");
                assert!(
                    (y * z) as usize * WG * tile.rows >= m,
                    "{tile:?} {m} {c4}: {y} x {z}"
                );
            }
        }
    }
}
