//! The heuristic choice of conv variant per layer ([`choose`]), by device class, the conv's
//! shape and the output map; `resnet tune` replaces it with measurements.

use super::conv::{ConvVariant, DeviceCaps};
use crate::model::Conv2d;

/// The heuristic choice for `conv` on `batch` output maps of `out_hw`.
/// On CPU adapters (lavapipe, SwiftShader), where workgroup memory and barriers are expensive,
/// invocations run as SIMD lanes and every storage load is costly: the subgroup GEMM wherever
/// Cin % 4 == 0 and the adapter has subgroups (the channel block that pads Cout least, and the
/// small tile where the map is too small for the large one: [`conv_sg::choose`], over a wider
/// channel block where [`conv_sg::widen`] and [`DeviceCaps::wide_blocks`] allow; for 3×3
/// stride-1 convs in 16- or 32-channel blocks the row strips, [`conv_strip::choose`]), and for
/// Winograd-eligible 3×3 stride-1 convs whose block is 64 channels Winograd with the subgroup
/// GEMM (1.1–1.8× faster than `sg_gemm` per layer of resnet50 on lavapipe), as F(4,3) where
/// that is offered and its tiles fill the GEMM ([`winograd::prefer_f4`]); without subgroups
/// Winograd for eligible 3×3 stride-1 convs, the GEMM for 1×1 convs, the vec4 direct kernel
/// where Cin allows it. On GPUs: the workgroup-memory tiled GEMMs ([`gpu_tiles`]), else the
/// direct kernels. Grouped convs: on CPU adapters with
/// subgroups the grouped row strip or subgroup GEMM where they are eligible
/// ([`conv_grouped_sg::choose`]), else (and dilated convs everywhere) the one-pixel grouped
/// kernel. On CPU adapters a conv of at most [`FEW_PIXELS`] output pixels in all (a map of
/// 2 × 2 or 1 × 1 at batch 1: small inputs' late layers) takes
/// [`ConvVariant::ChannelLanes`] wherever Cin % 4 == 0, before all of the above. `--tune`
/// replaces this with measurements.
///
/// [`conv_sg::choose`]: super::conv_sg::choose
/// [`conv_sg::widen`]: super::conv_sg::widen
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
        let sg = super::conv_grouped_sg::choose(conv, pixels, out_w);
        if caps.device_type == wgpu::DeviceType::Cpu && sg.runs_on(conv, caps) {
            return sg;
        }
        return ConvVariant::Grouped;
    }
    if caps.device_type == wgpu::DeviceType::Cpu
        && pixels <= FEW_PIXELS
        && ConvVariant::ChannelLanes.runs_on(conv, caps)
    {
        return ConvVariant::ChannelLanes;
    }
    let sg = super::conv_strip::choose(conv, super::conv_sg::choose(conv.out_c, pixels), out_w);
    // Winograd's subgroup GEMM works in 64-channel blocks too: where those pad Cout least.
    let wide = super::conv_sg::wider(sg).is_some();
    let k = conv.kernel[0] * conv.kernel[1] * conv.in_c;
    let sg =
        match super::conv_sg::widen(sg, conv.out_c, pixels, k, caps.threads, caps.slow_compiles) {
            wide if caps.wide_blocks && wide.runs_on(conv, caps) => wide,
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
    let tiled = gpu_tiles(conv, pixels);
    let order: &[ConvVariant] = if caps.device_type == wgpu::DeviceType::Cpu {
        &cpu
    } else {
        &[tiled, ConvVariant::Tiled, ConvVariant::DirectVec4]
    };
    order
        .iter()
        .copied()
        .find(|v| v.runs_on(conv, caps))
        .unwrap_or(ConvVariant::Direct)
}

/// Output pixels (batch × height × width) up to which CPU adapters run
/// [`ConvVariant::ChannelLanes`]: its one block of 4 pixels keeps all 8 lanes at work where
/// the pixel-major kernels leave 7 idle. `resnet tune` on lavapipe (resnet18, batch 1): at
/// 64² (layer4 on 2 × 2 maps) the 3 × 3 took 3.47 ms against Winograd's 4.62, the strided
/// 3 × 3 2.92 against 4.93 (`sg_gemm7_c256`); at 32² (layer3 on 2 × 2) 1.11 against 2.55.
/// At 8 pixels (batch 2) it was no faster (5.48 against 5.16 ms), at 16 slower (1.89 against
/// 1.36 for `sg_gemm7`).
pub const FEW_PIXELS: usize = 4;

/// The workgroup-memory tiles on GPUs for `conv` (Cin % 4 == 0, the stem's padded RGB
/// included) over `m` output pixels: 64 × 64 with K split where its grid is small
/// ([`split_k::pays`]: resnet50 at batch 1), else 128 × 128 where that grid still has
/// [`split_k::TARGET_WORKGROUPS`] workgroups (batches), Cin % 8 == 0 and its 128-channel
/// blocks pad Cout no more than 64-channel ones (a 64-channel layer would compute as many
/// padding channels as real ones), else 64 × 64.
/// Chosen by workgroup counts alone: no GPU has timed them yet (`resnet tune` does, per
/// adapter, with Winograd's tiled GEMM among the candidates).
///
/// [`split_k::TARGET_WORKGROUPS`]: super::split_k::TARGET_WORKGROUPS
/// [`split_k::pays`]: super::split_k::pays
pub fn gpu_tiles(conv: &Conv2d, m: usize) -> ConvVariant {
    let large = conv.out_c.div_ceil(128) * m.div_ceil(128);
    if super::split_k::pays(conv, m) {
        ConvVariant::TiledSplitK
    } else if large >= super::split_k::TARGET_WORKGROUPS
        && conv.in_c.is_multiple_of(8)
        && conv.out_c.div_ceil(128) * 128 <= conv.out_c.div_ceil(64) * 64
    {
        ConvVariant::Tiled128
    } else {
        ConvVariant::Tiled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(device_type: wgpu::DeviceType, subgroups: bool) -> DeviceCaps {
        DeviceCaps {
            device_type,
            subgroups,
            u64_pairs: false,
            wide_blocks: true,
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
        // Maps of a few pixels in all: the channel-parallel tile, with or without subgroups;
        // from 8 pixels on, the kernels above.
        for (batch, hw) in [(1, (2, 2)), (1, (1, 1)), (3, (1, 1))] {
            assert_eq!(
                choose(&c3(512), batch, hw, cpu_sg),
                ConvVariant::ChannelLanes
            );
            assert_eq!(choose(&c3(512), batch, hw, cpu), ConvVariant::ChannelLanes);
        }
        assert_eq!(
            choose(&c3(512), 2, (2, 2), cpu_sg),
            ConvVariant::WinogradSubgroup
        );
        assert_eq!(
            choose(&Conv2d::square(13, 16, 3, 1, 1), 1, (2, 2), cpu_sg),
            ConvVariant::Direct
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
        // The 16-pixel tile of a large map takes the 14-pixel 256-channel block where K ≥ 128,
        // and keeps its 64 channels below (resnet50's 56² expansions, K 64).
        assert_eq!(
            choose(&pw, 1, (56, 56), cpu_sg),
            ConvVariant::Subgroup14C256
        );
        let expand56 = Conv2d::square(64, 256, 1, 1, 0);
        assert_eq!(
            choose(&expand56, 1, (56, 56), cpu_sg),
            ConvVariant::Subgroup
        );
        // A model that compiles quickly, or an adapter where the wide blocks do not pay: the
        // 64-channel tiles instead of the wide ones.
        let quick = cpu_sg.for_compile(crate::gpu::Compile::Quick);
        assert_eq!(choose(&pw, 1, (14, 14), quick), ConvVariant::Subgroup14);
        let narrow = DeviceCaps {
            wide_blocks: false,
            ..cpu_sg
        };
        assert_eq!(choose(&pw, 1, (14, 14), narrow), ConvVariant::Subgroup14);
        assert_eq!(choose(&pw, 1, (56, 56), narrow), ConvVariant::Subgroup);
        let expand = Conv2d::square(512, 2048, 1, 1, 0);
        assert_eq!(choose(&expand, 1, (7, 7), quick), ConvVariant::Subgroup7);
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
        // GPUs: the workgroup-memory tiles, with K split where the grid is small (resnet50 at
        // batch 1: 49 tiles of a 56² map, 8 of a 7² one; 100 of a 14² map at batch 8), 128 × 128
        // where even those make 256 workgroups (batch 64); the stem (4 channels, K = 196) the
        // 64 × 64 tiles (128 × 128 needs Cin % 8); 13 channels: the scalar direct kernel.
        assert_eq!(choose(&c3(64), 1, (56, 56), gpu), ConvVariant::TiledSplitK);
        assert_eq!(choose(&c3(64), 8, (56, 56), gpu), ConvVariant::Tiled);
        assert_eq!(choose(&c3(256), 8, (14, 14), gpu), ConvVariant::TiledSplitK);
        assert_eq!(choose(&c3(512), 1, (7, 7), gpu), ConvVariant::TiledSplitK);
        assert_eq!(choose(&pw, 1, (14, 14), gpu), ConvVariant::TiledSplitK);
        assert_eq!(choose(&c3(512), 64, (7, 7), gpu), ConvVariant::Tiled);
        // The channel-parallel tile is for CPU adapters' lanes only.
        assert_ne!(choose(&c3(512), 1, (1, 1), gpu), ConvVariant::ChannelLanes);
        // 64 output channels: half of a 128-channel block would be padding.
        assert_eq!(choose(&c3(64), 64, (56, 56), gpu), ConvVariant::Tiled);
        assert_eq!(choose(&c3(128), 64, (28, 28), gpu), ConvVariant::Tiled128);
        assert_eq!(choose(&pw, 64, (14, 14), gpu), ConvVariant::Tiled);
        let expand14 = Conv2d::square(256, 1024, 1, 1, 0);
        assert_eq!(choose(&expand14, 64, (14, 14), gpu), ConvVariant::Tiled128);
        let stem = Conv2d::square(4, 64, 7, 2, 3);
        assert_eq!(choose(&stem, 1, (112, 112), gpu), ConvVariant::Tiled);
        assert_eq!(choose(&stem, 64, (112, 112), gpu), ConvVariant::Tiled);
        let odd = Conv2d::square(13, 16, 3, 1, 1);
        assert_eq!(choose(&odd, 1, (15, 15), gpu), ConvVariant::Direct);
        // Grouped convs: on CPU adapters with subgroups the grouped row strip (4 channels per
        // group, 3×3 stride 1) or the grouped subgroup GEMM, the one-pixel kernel elsewhere and
        // for what those cannot take.
        let g = Conv2d::square(128, 128, 3, 1, 1).grouped(32);
        assert_eq!(choose(&g, 1, (56, 56), cpu_sg), ConvVariant::GroupedStrip);
        let g8 = Conv2d::square(256, 256, 3, 1, 1).grouped(32);
        assert_eq!(
            choose(&g8, 1, (14, 14), cpu_sg),
            ConvVariant::GroupedSubgroup
        );
        assert_eq!(
            choose(&g8, 1, (28, 28), cpu_sg),
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
