//! Direct conv2d (shaders/conv2d.wgsl for any Cin, shaders/conv2d_vec4.wgsl for Cin % 4 == 0):
//! register-tiled, 8 output pixels × 16 output channels per invocation, with bias, residual and
//! ReLU fused into the write step. The conv parameters and variant choice of every conv kernel
//! live here too; grouped and dilated convs only run on shaders/conv_grouped.wgsl
//! ([`ConvVariant::Grouped`]: one pixel × 4 output channels per invocation).

use bytemuck::{Pod, Zeroable};

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
    pub _pad: u32,
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
        _pad: 0,
    };
    let m = batch * out_h * out_w;
    let c4 = padded_out_c(conv.out_c) / 4;
    // (channel vec4s per workgroup, pixels per workgroup)
    let (c4_per_group, pixels_per_group) = match variant {
        ConvVariant::Tiled => (16, 64),
        ConvVariant::Small => (2 * WG, 4 * WG),
        ConvVariant::Grouped => (16, 4),
        _ => (CO_BLOCK / 4 * WG, PIXELS * WG),
    };
    if let Some(tile) = super::conv_sg::Tile::of(variant) {
        return (p, tile.grid(m, c4));
    }
    if let Some(grid) = super::conv_grouped_sg::grid(variant, m, c4) {
        return (p, grid);
    }
    if let Some(strip) = super::conv_strip::Strip::of(variant) {
        return (p, strip.grid(batch, out_h, out_w, c4));
    }
    let x_groups = c4.div_ceil(c4_per_group);
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
    /// Implicit GEMM with workgroup-memory tiles.
    Tiled,
    /// Direct conv with small register tiles (more invocations for small layers).
    Small,
    /// Implicit GEMM with the weights shared across a subgroup (needs `SUBGROUP`), 16 pixels
    /// per invocation.
    Subgroup,
    /// The same with 8 pixels per invocation (maps too small for the large tile).
    Subgroup8,
    /// The same with 14 and 7 pixels per invocation (blocks of 112 and 56 pixels, which
    /// divide maps of 7 · 2^k pixels a side).
    Subgroup14,
    Subgroup7,
    /// The 16- and 14-pixel tiles over 128-channel blocks, the 8- and 7-pixel ones over
    /// 256-channel blocks (each input load and weight broadcast feeds more FMAs).
    SubgroupC128,
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
}

impl ConvVariant {
    pub const ALL: [ConvVariant; 23] = [
        ConvVariant::Direct,
        ConvVariant::DirectVec4,
        ConvVariant::Gemm1x1,
        ConvVariant::Winograd,
        ConvVariant::WinogradSubgroup,
        ConvVariant::Winograd4,
        ConvVariant::Tiled,
        ConvVariant::Small,
        ConvVariant::Subgroup,
        ConvVariant::Subgroup8,
        ConvVariant::Subgroup14,
        ConvVariant::Subgroup7,
        ConvVariant::SubgroupC128,
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
            ConvVariant::Tiled => "tiled_gemm",
            ConvVariant::Small => "direct_small",
            ConvVariant::Subgroup => "sg_gemm",
            ConvVariant::Subgroup8 => "sg_gemm8",
            ConvVariant::Subgroup14 => "sg_gemm14",
            ConvVariant::Subgroup7 => "sg_gemm7",
            ConvVariant::SubgroupC128 => "sg_gemm_c128",
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
        if self != ConvVariant::Grouped && !conv.is_plain() {
            return false;
        }
        match self {
            ConvVariant::Grouped | ConvVariant::GroupedSubgroup | ConvVariant::GroupedSubgroup8 => {
                true
            }
            ConvVariant::Direct => true,
            ConvVariant::DirectVec4 => conv.in_c.is_multiple_of(4),
            ConvVariant::Gemm1x1 => {
                conv.kernel == [1, 1] && conv.pad == [0; 4] && conv.in_c.is_multiple_of(4)
            }
            ConvVariant::Winograd | ConvVariant::WinogradSubgroup => {
                super::winograd::eligible(conv)
            }
            ConvVariant::Winograd4 => super::winograd::eligible_f4(conv),
            ConvVariant::Tiled => conv.in_c.is_multiple_of(16),
            ConvVariant::Small => true,
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
            | ConvVariant::Subgroup14C256
            | ConvVariant::Subgroup8C256
            | ConvVariant::Subgroup7C256 => {
                super::conv_sg::eligible(conv)
                    && conv.out_c.is_multiple_of(super::conv_sg::CHANNELS)
            }
            ConvVariant::Strip16 | ConvVariant::Strip32 => super::conv_strip::eligible(conv),
        }
    }

    /// Whether the variant is a grouped subgroup GEMM ([`super::conv_grouped_sg`]).
    pub fn is_grouped_subgroup(self) -> bool {
        super::conv_grouped_sg::pixels_per_group(self).is_some()
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
            ConvVariant::Winograd | ConvVariant::WinogradSubgroup => Some(Form::F2),
            ConvVariant::Winograd4 => Some(Form::F4),
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

    /// Whether the variant's pipelines take a CPU driver about a second each to create (the
    /// 14-pixel tile over 256 channels: 3,584 accumulators per invocation, fully unrolled),
    /// which the heuristic leaves out for models that compile quickly
    /// ([`crate::gpu::options::Compile::Quick`]; [`super::conv_sg::lighter`] has the
    /// replacement).
    pub fn compiles_slowly(self) -> bool {
        self == ConvVariant::Subgroup14C256
    }

    /// Whether this variant can compute `conv` on a device with `caps` (the caps of the
    /// model's precision, [`DeviceCaps::for_precision`]).
    pub fn runs_on(self, conv: &Conv2d, caps: DeviceCaps) -> bool {
        self.supports(conv)
            && (caps.subgroups || !self.needs_subgroups())
            && (caps.u64_pairs || !self.needs_u64_pairs())
    }
}

/// The heuristic choice for `conv` on `batch` output maps of `out_hw`.
/// On CPU adapters (lavapipe, SwiftShader), where workgroup memory and barriers are expensive,
/// invocations run as SIMD lanes and every storage load is costly: the subgroup GEMM wherever
/// Cin % 4 == 0 and the adapter has subgroups (the channel block that pads Cout least, and the
/// small tile where the map is too small for the large one: [`conv_sg::choose`]; for 3×3
/// stride-1 convs in 16- or 32-channel blocks the row strips, [`conv_strip::choose`]), and for
/// Winograd-eligible 3×3 stride-1 convs whose block is 64 channels Winograd with the subgroup
/// GEMM (1.1–1.8× faster than `sg_gemm` per layer of resnet50 on lavapipe), as F(4,3) where
/// that is offered and its tiles fill the GEMM ([`winograd::prefer_f4`]); without subgroups
/// Winograd for eligible 3×3 stride-1 convs, the GEMM for 1×1 convs, the vec4 direct kernel
/// where Cin allows it. On GPUs: the workgroup-memory tiled
/// GEMM where Cin % 16 == 0, else the direct kernels. Grouped convs: on CPU adapters with
/// subgroups the grouped subgroup GEMM where it is eligible ([`conv_grouped_sg::choose`]),
/// else (and dilated convs everywhere) the one-pixel grouped kernel. `--tune` replaces this
/// with measurements.
///
/// [`conv_sg::choose`]: super::conv_sg::choose
/// [`conv_grouped_sg::choose`]: super::conv_grouped_sg::choose
/// [`conv_strip::choose`]: super::conv_strip::choose
/// [`winograd::prefer_f4`]: super::winograd::prefer_f4
pub fn choose(
    conv: &Conv2d,
    batch: usize,
    out_hw: (usize, usize),
    caps: DeviceCaps,
) -> ConvVariant {
    let (out_h, out_w) = out_hw;
    let pixels = batch * out_h * out_w;
    if !conv.is_plain() {
        let sg = super::conv_grouped_sg::choose(pixels);
        if caps.device_type == wgpu::DeviceType::Cpu && sg.runs_on(conv, caps) {
            return sg;
        }
        return ConvVariant::Grouped;
    }
    let sg = super::conv_strip::choose(conv, super::conv_sg::choose(conv.out_c, pixels), out_w);
    // Winograd's subgroup GEMM works in 64-channel blocks too: where those pad Cout least.
    let wide = super::conv_sg::wider(sg).is_some();
    let sg = match super::conv_sg::widen(sg, conv.out_c, pixels, caps.threads, caps.slow_compiles) {
        wide if wide.runs_on(conv, caps) => wide,
        _ => sg,
    };
    let wino_sg = if wide {
        ConvVariant::WinogradSubgroup
    } else {
        sg
    };
    let wino4 = if wide && super::winograd::prefer_f4(batch, out_h, out_w) {
        ConvVariant::Winograd4
    } else {
        wino_sg
    };
    let cpu = [
        wino4,
        wino_sg,
        sg,
        ConvVariant::Winograd,
        ConvVariant::Gemm1x1,
        ConvVariant::DirectVec4,
    ];
    let order: &[ConvVariant] = if caps.device_type == wgpu::DeviceType::Cpu {
        &cpu
    } else {
        &[ConvVariant::Tiled, ConvVariant::DirectVec4]
    };
    order
        .iter()
        .copied()
        .find(|v| v.runs_on(conv, caps))
        .unwrap_or(ConvVariant::Direct)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(device_type: wgpu::DeviceType, subgroups: bool) -> DeviceCaps {
        DeviceCaps {
            device_type,
            subgroups,
            u64_pairs: false,
            threads: 2,
            slow_compiles: true,
        }
    }

    #[test]
    fn the_heuristic_follows_the_device_class() {
        let cpu_sg = DeviceCaps {
            u64_pairs: true,
            ..caps(wgpu::DeviceType::Cpu, true)
        };
        let cpu = caps(wgpu::DeviceType::Cpu, false);
        let gpu = caps(wgpu::DeviceType::DiscreteGpu, true);
        let c3 = |c| Conv2d::square(c, c, 3, 1, 1);
        // Winograd-eligible 3×3 with 64-channel blocks: Winograd with the subgroup GEMM, as
        // F(4,3) where it is offered (at most 256 channels) and its padded GEMM work is small.
        assert_eq!(choose(&c3(64), 1, (56, 56), cpu_sg), ConvVariant::Winograd4);
        assert_eq!(
            choose(&c3(128), 1, (28, 28), cpu_sg),
            ConvVariant::Winograd4
        );
        assert_eq!(
            choose(&c3(64), 1, (8, 8), cpu_sg),
            ConvVariant::WinogradSubgroup
        );
        assert_eq!(
            choose(&c3(256), 1, (14, 14), cpu_sg),
            ConvVariant::Winograd4
        );
        assert_eq!(
            choose(&c3(512), 1, (7, 7), cpu_sg),
            ConvVariant::WinogradSubgroup
        );
        // 16 and 32 channels pad least in the narrow blocks: row strips for 3×3 stride 1 on
        // rows that fit them, else the narrow implicit GEMM.
        assert_eq!(choose(&c3(16), 1, (32, 32), cpu_sg), ConvVariant::Strip16);
        assert_eq!(choose(&c3(32), 1, (16, 16), cpu_sg), ConvVariant::Strip32);
        assert_eq!(
            choose(&c3(16), 1, (20, 20), cpu_sg),
            ConvVariant::Subgroup16
        );
        let s2_16 = Conv2d::square(16, 32, 3, 2, 1);
        assert_eq!(choose(&s2_16, 1, (16, 16), cpu_sg), ConvVariant::Subgroup32);
        // Strided 3×3 and 1×1: the subgroup implicit GEMM, over the wider channel block where
        // Cout is a multiple of it and every thread still gets a workgroup.
        let s2 = Conv2d::square(128, 128, 3, 2, 1);
        assert_eq!(choose(&s2, 1, (28, 28), cpu_sg), ConvVariant::Subgroup14);
        let pw = Conv2d::square(1024, 256, 1, 1, 0);
        assert_eq!(
            choose(&pw, 1, (14, 14), cpu_sg),
            ConvVariant::Subgroup14C256
        );
        // Not in f16 (the wide tiles need u64-pair weights).
        assert_eq!(
            choose(
                &pw,
                1,
                (14, 14),
                cpu_sg.for_precision(crate::gpu::kernels::Precision::F16)
            ),
            ConvVariant::Subgroup14
        );
        let many_threads = DeviceCaps {
            threads: 4,
            ..cpu_sg
        };
        assert_eq!(
            choose(&pw, 1, (14, 14), many_threads),
            ConvVariant::Subgroup14
        );
        assert_eq!(choose(&pw, 1, (56, 56), cpu_sg), ConvVariant::Subgroup);
        // A model that compiles quickly: the 7-pixel 256-channel tile instead.
        let quick = cpu_sg.for_compile(crate::gpu::Compile::Quick);
        assert_eq!(choose(&pw, 1, (14, 14), quick), ConvVariant::Subgroup7C256);
        let expand = Conv2d::square(512, 2048, 1, 1, 0);
        assert_eq!(
            choose(&expand, 1, (7, 7), cpu_sg),
            ConvVariant::Subgroup7C256
        );
        let down = Conv2d::square(64, 64, 1, 1, 0);
        assert_eq!(choose(&down, 1, (56, 56), cpu_sg), ConvVariant::Subgroup);
        // Without subgroups: Winograd, the 1×1 GEMM, the vec4 direct conv.
        assert_eq!(choose(&c3(64), 1, (56, 56), cpu), ConvVariant::Winograd);
        assert_eq!(choose(&pw, 1, (14, 14), cpu), ConvVariant::Gemm1x1);
        assert_eq!(choose(&s2, 1, (28, 28), cpu), ConvVariant::DirectVec4);
        // GPUs: the workgroup-memory tiles.
        assert_eq!(choose(&c3(64), 1, (56, 56), gpu), ConvVariant::Tiled);
        // Grouped convs: the grouped subgroup GEMM on CPU adapters with subgroups, the
        // one-pixel kernel elsewhere and for what the GEMM cannot take.
        let g = Conv2d::square(128, 128, 3, 1, 1).grouped(32);
        assert_eq!(
            choose(&g, 1, (56, 56), cpu_sg),
            ConvVariant::GroupedSubgroup
        );
        assert_eq!(
            choose(&g, 1, (28, 28), cpu_sg),
            ConvVariant::GroupedSubgroup8
        );
        assert_eq!(choose(&g, 1, (56, 56), cpu), ConvVariant::Grouped);
        assert_eq!(choose(&g, 1, (56, 56), gpu), ConvVariant::Grouped);
        let depthwise = Conv2d::square(64, 64, 3, 1, 1).grouped(64);
        assert_eq!(
            choose(&depthwise, 1, (56, 56), cpu_sg),
            ConvVariant::Grouped
        );
    }
}
