//! Direct conv2d (shaders/conv2d.wgsl for any Cin, shaders/conv2d_vec4.wgsl for Cin % 4 == 0):
//! register-tiled, 8 output pixels × 16 output channels per invocation, with bias, residual and
//! ReLU fused into the write step. The conv parameters and variants of every conv kernel live
//! here too (the heuristic choice among them in [`super::conv_choice`]); dilated convs and
//! the grouped convs the subgroup kernels do not take run on shaders/conv_grouped.wgsl
//! ([`ConvVariant::Grouped`]: one pixel × 4 output channels per invocation).

use bytemuck::{Pod, Zeroable};

pub use super::conv_choice::choose;
pub use super::device_caps::DeviceCaps;
use super::grid_yz;
use crate::model::Conv2d;

/// Output channels per invocation; Cout is padded to a multiple of this in the packed weights.
pub const CO_BLOCK: usize = 16;
/// Output pixels per invocation.
pub const PIXELS: usize = 8;
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
    /// Unused (the residual add is the write step's pipeline constant `has_residual`); kept
    /// so the fields after it keep their offsets.
    pub _unused: u32,
    pub relu: u32,
    /// Channel groups (1 unless grouped); only the grouped kernel reads it and the dilation.
    pub groups: u32,
    pub dil_h: u32,
    pub dil_w: u32,
    /// Slices of K that [`ConvVariant::TiledSplitK`] sums separately (1 for every other
    /// variant; [`super::split_k::k_splits`]).
    pub k_splits: u32,
}

/// Cout rounded up to the channel block.
pub fn padded_out_c(out_c: usize) -> usize {
    out_c.div_ceil(CO_BLOCK) * CO_BLOCK
}

/// HWIO weights `[K][Cout]` → `[K][Cout padded]` (K = KH·KW·Cin/G), and the bias padded the
/// same way.
pub fn pack(conv: &Conv2d, weight: &[f32], bias: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let cp = padded_out_c(conv.out_c);
    let k = conv.kernel[0] * conv.kernel[1] * conv.group_in_c();
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
    relu: bool,
    variant: ConvVariant,
) -> (ConvParams, [u32; 3]) {
    let m = batch * out_h * out_w;
    let splits = match variant {
        ConvVariant::TiledSplitK => super::split_k::k_splits(conv, m),
        _ => 1,
    };
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
        _unused: 0,
        relu: relu as u32,
        groups: conv.groups as u32,
        dil_h: conv.dilation[0] as u32,
        dil_w: conv.dilation[1] as u32,
        k_splits: splits as u32,
    };
    let c4 = padded_out_c(conv.out_c) / 4;
    // (channel vec4s per workgroup, pixels per workgroup)
    let (c4_per_group, pixels_per_group) = match variant {
        ConvVariant::Tiled | ConvVariant::TiledSplitK => (16, 64),
        ConvVariant::Tiled128 => (32, 128),
        ConvVariant::Small | ConvVariant::ChannelLanes => (2 * WG, 4 * WG),
        ConvVariant::Grouped => (16, 4),
        _ => (CO_BLOCK / 4 * WG, PIXELS * WG),
    };
    let tile = super::conv_sg::Tile::of(variant).or_else(|| super::conv_grouped_sg::tile(variant));
    if let Some(tile) = tile {
        return (p, tile.grid(m, c4));
    }
    if let Some(strip) = super::conv_strip::Strip::of(variant) {
        return (p, strip.grid(batch, out_h, out_w, c4));
    }
    // Split K's `partial` pass: x = 64-channel tiles × slices.
    let x_groups = c4.div_ceil(c4_per_group) * splits;
    let pixel_groups = m.div_ceil(pixels_per_group);
    (p, grid_yz(x_groups as u32, pixel_groups as u32))
}

/// How a conv runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConvVariant {
    /// Direct conv reading one input channel at a time (any Cin).
    Direct,
    /// Direct conv with vec4 loads along Cin.
    DirectVec4,
    /// 1×1 conv as a plain GEMM.
    Gemm1x1,
    /// Winograd F(2,3) for 3×3 stride 1.
    Winograd,
    /// Winograd F(2,3) whose GEMM pass shares the weights across a subgroup (needs
    /// `SUBGROUP`).
    WinogradSubgroup,
    /// Winograd F(4,3) with the subgroup GEMM (needs `SUBGROUP`; convs of at most 256 × 256
    /// channels, see [`super::winograd::eligible_f4`]).
    Winograd4,
    /// Winograd F(2,3) and F(4,3) whose GEMM pass runs over 64 × 64 workgroup-memory tiles
    /// (for GPUs; F(4,3) as [`super::winograd::eligible_f4`] allows).
    WinogradTiled,
    Winograd4Tiled,
    /// Implicit GEMM with workgroup-memory tiles (Cin % 4 == 0).
    Tiled,
    /// The same over 128 × 128 tiles, 8 × 8 per invocation, for large grids (batches on GPUs).
    Tiled128,
    /// The 64 × 64 tiles with K split into slices summed by a second pass, for grids too small
    /// to fill a GPU ([`super::split_k`]).
    TiledSplitK,
    /// Implicit GEMM with small register tiles, 4 pixels × 8 channels (Cin % 4 == 0; more
    /// invocations for small layers).
    Small,
    /// The same tiles with consecutive invocations along the channels: every SIMD lane of a
    /// CPU driver busy on maps of a few pixels.
    ChannelLanes,
    /// Implicit GEMM with the weights shared across a subgroup (needs `SUBGROUP`), 16 pixels
    /// per invocation.
    Subgroup,
    /// The same with 8 pixels per invocation (maps too small for the large tile).
    Subgroup8,
    /// The same with 14 and 7 pixels per invocation (blocks of 112 and 56 pixels, which
    /// divide maps of 7 · 2^k pixels a side).
    Subgroup14,
    Subgroup7,
    /// The 16- and 14-pixel tiles over 128-channel blocks, the 14-, 8- and 7-pixel ones over
    /// 256-channel blocks (each input load and weight broadcast feeds more FMAs).
    SubgroupC128,
    Subgroup14C128,
    Subgroup14C256,
    Subgroup8C256,
    Subgroup7C256,
    /// The subgroup GEMM over 16-channel blocks, 32 pixels per invocation (Cout of 16, 48, ...).
    Subgroup16,
    /// The subgroup GEMM over 32-channel blocks, 16 pixels per invocation (Cout of 32, 96, ...).
    Subgroup32,
    /// 3×3 stride-1 conv over 16-channel blocks, a strip of 32 pixels of one output row per
    /// invocation, each input load reused by the three taps of a kernel row (needs `SUBGROUP`).
    Strip16,
    /// The same over 32-channel blocks and strips of 16 pixels.
    Strip32,
    /// Direct conv of one pixel × 4 output channels per invocation, any groups and dilation
    /// (the only variant for depthwise or dilated convs).
    Grouped,
    /// Grouped convs as the narrow subgroup GEMM over 16-channel blocks of whole groups (needs
    /// `SUBGROUP`; [`super::conv_grouped_sg::eligible`]), 32 pixels per invocation; and 8
    /// (small maps).
    GroupedSubgroup,
    GroupedSubgroup8,
    /// Grouped 3×3 stride-1 convs of 4 output channels per group as row strips of 32 pixels ×
    /// four groups per invocation (needs `SUBGROUP`; ResNeXt's first stage).
    GroupedStrip,
}

impl ConvVariant {
    pub const ALL: [ConvVariant; 30] = [
        ConvVariant::Direct,
        ConvVariant::DirectVec4,
        ConvVariant::Gemm1x1,
        ConvVariant::Winograd,
        ConvVariant::WinogradSubgroup,
        ConvVariant::Winograd4,
        ConvVariant::WinogradTiled,
        ConvVariant::Winograd4Tiled,
        ConvVariant::Tiled,
        ConvVariant::Tiled128,
        ConvVariant::TiledSplitK,
        ConvVariant::Small,
        ConvVariant::ChannelLanes,
        ConvVariant::Subgroup,
        ConvVariant::Subgroup8,
        ConvVariant::Subgroup14,
        ConvVariant::Subgroup7,
        ConvVariant::SubgroupC128,
        ConvVariant::Subgroup14C128,
        ConvVariant::Subgroup14C256,
        ConvVariant::Subgroup8C256,
        ConvVariant::Subgroup7C256,
        ConvVariant::Subgroup16,
        ConvVariant::Subgroup32,
        ConvVariant::Strip16,
        ConvVariant::Strip32,
        ConvVariant::Grouped,
        ConvVariant::GroupedSubgroup,
        ConvVariant::GroupedSubgroup8,
        ConvVariant::GroupedStrip,
    ];

    /// Short name used in profiles and the tuning cache.
    pub fn name(self) -> &'static str {
        match self {
            ConvVariant::Direct => "direct",
            ConvVariant::DirectVec4 => "direct_vec4",
            ConvVariant::Gemm1x1 => "gemm1x1",
            ConvVariant::Winograd => "winograd_f23",
            ConvVariant::WinogradSubgroup => "winograd_sg",
            ConvVariant::Winograd4 => "winograd_f43",
            ConvVariant::WinogradTiled => "winograd_f23_tiled",
            ConvVariant::Winograd4Tiled => "winograd_f43_tiled",
            ConvVariant::Tiled => "tiled_gemm",
            ConvVariant::Tiled128 => "tiled_gemm_128",
            ConvVariant::TiledSplitK => "tiled_split_k",
            ConvVariant::Small => "direct_small",
            ConvVariant::ChannelLanes => "channel_lanes",
            ConvVariant::Subgroup => "sg_gemm",
            ConvVariant::Subgroup8 => "sg_gemm8",
            ConvVariant::Subgroup14 => "sg_gemm14",
            ConvVariant::Subgroup7 => "sg_gemm7",
            ConvVariant::SubgroupC128 => "sg_gemm_c128",
            ConvVariant::Subgroup14C128 => "sg_gemm14_c128",
            ConvVariant::Subgroup14C256 => "sg_gemm14_c256",
            ConvVariant::Subgroup8C256 => "sg_gemm8_c256",
            ConvVariant::Subgroup7C256 => "sg_gemm7_c256",
            ConvVariant::Subgroup16 => "sg_gemm_c16",
            ConvVariant::Subgroup32 => "sg_gemm_c32",
            ConvVariant::Strip16 => "sg_strip_c16",
            ConvVariant::Strip32 => "sg_strip_c32",
            ConvVariant::Grouped => "grouped",
            ConvVariant::GroupedSubgroup => "sg_grouped",
            ConvVariant::GroupedSubgroup8 => "sg_grouped8",
            ConvVariant::GroupedStrip => "sg_grouped_strip",
        }
    }

    /// Parses a [`ConvVariant::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Whether this variant can compute `conv` at all: only [`ConvVariant::Grouped`] computes
    /// every grouped or dilated conv, the grouped subgroup GEMMs the grouped convs they are
    /// [eligible](super::conv_grouped_sg::eligible) for.
    pub fn supports(self, conv: &Conv2d) -> bool {
        if self.is_grouped_subgroup() {
            return super::conv_grouped_sg::eligible(conv);
        }
        if self == ConvVariant::GroupedStrip {
            return super::conv_grouped_sg::strip_eligible(conv);
        }
        if self != ConvVariant::Grouped && !conv.is_plain() {
            return false;
        }
        match self {
            ConvVariant::Grouped
            | ConvVariant::GroupedSubgroup
            | ConvVariant::GroupedSubgroup8
            | ConvVariant::GroupedStrip => true,
            ConvVariant::Direct => true,
            ConvVariant::DirectVec4 => conv.in_c.is_multiple_of(4),
            ConvVariant::Gemm1x1 => {
                conv.kernel == [1, 1] && conv.pad == [0; 4] && conv.in_c.is_multiple_of(4)
            }
            ConvVariant::Winograd | ConvVariant::WinogradSubgroup | ConvVariant::WinogradTiled => {
                super::winograd::eligible(conv)
            }
            ConvVariant::Winograd4 | ConvVariant::Winograd4Tiled => {
                super::winograd::eligible_f4(conv)
            }
            ConvVariant::Tiled | ConvVariant::TiledSplitK => conv.in_c.is_multiple_of(4),
            // Cin % 8 although its loads take Cin % 4: each of its pipelines compiles for up to
            // 100 s on lavapipe (its 8 × 8 block in a workgroup with barriers), and GPUs' few
            // such layers (the stem) run the 64 × 64 tiles.
            ConvVariant::Tiled128 => conv.in_c.is_multiple_of(8),
            ConvVariant::Small | ConvVariant::ChannelLanes => conv.in_c.is_multiple_of(4),
            ConvVariant::Subgroup
            | ConvVariant::Subgroup8
            | ConvVariant::Subgroup14
            | ConvVariant::Subgroup7
            | ConvVariant::Subgroup16
            | ConvVariant::Subgroup32 => super::conv_sg::eligible(conv),
            // Wide layers only: each variant then has two pipelines (u64-pair stores, with and
            // without a residual) where Cout % 4 or % 8 would add four more, each compiling
            // for seconds on lavapipe.
            ConvVariant::SubgroupC128
            | ConvVariant::Subgroup14C128
            | ConvVariant::Subgroup14C256
            | ConvVariant::Subgroup8C256
            | ConvVariant::Subgroup7C256 => {
                super::conv_sg::eligible(conv)
                    && conv.out_c.is_multiple_of(super::conv_sg::CHANNELS)
            }
            ConvVariant::Strip16 | ConvVariant::Strip32 => super::conv_strip::eligible(conv),
        }
    }

    /// Whether the variant is a grouped subgroup GEMM ([`super::conv_grouped_sg`]); the
    /// grouped row strip is not (it is a [`super::conv_strip::Strip`]).
    pub fn is_grouped_subgroup(self) -> bool {
        super::conv_grouped_sg::tile(self).is_some()
    }

    /// Whether the variant needs subgroup operations.
    pub fn needs_subgroups(self) -> bool {
        matches!(self, ConvVariant::WinogradSubgroup | ConvVariant::Winograd4)
            || self.is_grouped_subgroup()
            || super::conv_sg::Tile::of(self).is_some()
            || super::conv_strip::Strip::of(self).is_some()
    }

    /// Whether the variant runs as the three Winograd passes (and needs their scratch and
    /// transformed weights).
    pub fn is_winograd(self) -> bool {
        self.winograd_form().is_some()
    }

    /// The Winograd form of a Winograd variant.
    pub fn winograd_form(self) -> Option<super::winograd::Form> {
        use super::winograd::Form;
        match self {
            ConvVariant::Winograd | ConvVariant::WinogradSubgroup | ConvVariant::WinogradTiled => {
                Some(Form::F2)
            }
            ConvVariant::Winograd4 | ConvVariant::Winograd4Tiled => Some(Form::F4),
            _ => None,
        }
    }

    /// Whether the variant is offered only where the subgroup GEMMs read their weights as u64
    /// pairs: the wider channel blocks ([`super::conv_sg::wider`]). With a load per vec4 (f16
    /// storage, or no `SHADER_INT64`) llvmpipe compiled them for minutes (resnet50's set:
    /// 88–163 s against under a second in pairs; each storage load is a loop over the lanes,
    /// and their thousands of accumulators stay live across every such loop).
    pub fn needs_u64_pairs(self) -> bool {
        super::conv_sg::Tile::of(self).is_some_and(|t| t.channels > super::conv_sg::CHANNELS)
    }

    /// Whether a CPU driver takes tens of seconds to compile the variant's machine code: the
    /// subgroup GEMM's 128- and 256-channel tiles (up to 3,584 accumulators per invocation,
    /// fully unrolled). With an empty shader cache lavapipe compiled each 14 × 256 pipeline in
    /// 93–100 s at its first dispatch, each 7 × 256 one in 24–32 s, where the 64-channel
    /// tiles took 4–7 s (BENCHMARKS.md, fourteenth round). Models that compile quickly
    /// ([`crate::gpu::options::Compile::Quick`]) take the 64-channel tile instead.
    pub fn compiles_slowly(self) -> bool {
        self.needs_u64_pairs()
    }

    /// Whether this variant can compute `conv` on a device with `caps` (the caps of the
    /// model's precision, [`DeviceCaps::for_precision`]).
    pub fn runs_on(self, conv: &Conv2d, caps: DeviceCaps) -> bool {
        self.supports(conv)
            && (caps.subgroups || !self.needs_subgroups())
            && (caps.u64_pairs || !self.needs_u64_pairs())
    }
}
