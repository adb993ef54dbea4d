//! Conv2d with the fused write step (bias, optional residual, optional ReLU); plain, grouped
//! (ResNeXt's 32 × 4 and 32 × 8, 64 × 4, depthwise, odd group sizes) and dilated.

use super::{check, convs_as_run, graph, randn};
use resnet_wgpu::model::{Conv2d, Op};
use resnet_wgpu::weights::random_input;

/// Where the residual operand comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Residual {
    /// No residual.
    Plain,
    /// The conv's own input (needs stride 1, same channels and a same-size output).
    Identity,
    /// A second conv of the same geometry, like a projection shortcut.
    Projection,
}
use Residual::*;

/// (batch, height, width, conv, residual, relu)
type Case = (usize, usize, usize, Conv2d, Residual, bool);

/// A conv op with He-scaled random HWIO weights and small random biases.
fn conv_op(conv: Conv2d, relu: bool, seed: u64) -> Op {
    let fan_in = conv.group_in_c() * conv.kernel[0] * conv.kernel[1];
    Op::Conv {
        conv,
        weight: randn(seed, conv.weight_len(), (2.0 / fan_in as f32).sqrt()),
        bias: randn(seed + 1, conv.out_c, 0.1),
        relu,
    }
}

fn sq(in_c: usize, out_c: usize, k: usize, stride: usize, pad: usize) -> Conv2d {
    Conv2d::square(in_c, out_c, k, stride, pad)
}

/// A conv with separate (h, w) kernel and stride and (top, left, bottom, right) padding.
fn rect(
    in_c: usize,
    out_c: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    pad: [usize; 4],
) -> Conv2d {
    Conv2d {
        in_c,
        out_c,
        kernel,
        stride,
        pad,
        groups: 1,
        dilation: [1, 1],
    }
}

fn run(cases: &[Case]) {
    for (i, &(n, h, w, conv, residual, relu)) in cases.iter().enumerate() {
        let name = format!(
            "conv {}->{} k{:?} s{:?} pad{:?} g{} d{:?} on {n}x{h}x{w} {residual:?}{}",
            conv.in_c,
            conv.out_c,
            conv.kernel,
            conv.stride,
            conv.pad,
            conv.groups,
            conv.dilation,
            if relu { " relu" } else { "" }
        );
        let seed = 100 + 10 * i as u64;
        let g = graph(conv.in_c, |g, x| {
            let r = match residual {
                Plain => None,
                Identity => Some(x),
                Projection => {
                    Some(g.push("proj", conv_op(conv, false, seed + 5), vec![x], conv.out_c))
                }
            };
            let mut inputs = vec![x];
            inputs.extend(r);
            g.push("conv", conv_op(conv, relu, seed), inputs, conv.out_c)
        });
        let input = random_input(seed + 7, n * conv.in_c * h * w);
        let out = check(&name, g, n, h, w, input);
        if relu {
            assert!(out.iter().all(|&v| v >= 0.0), "{name}: ReLU output < 0");
            assert!(out.contains(&0.0), "{name}: ReLU never clipped");
        }
    }
}

/// The conv layers of ResNet-18/50 and the CIFAR ResNets at their real sizes.
#[test]
fn conv_resnet_layers() {
    run(&[
        // Stem 7×7/2, ResNet-50 layer1 (3×3, 1×1 expand with its projection).
        (1, 224, 224, sq(3, 64, 7, 2, 3), Plain, true),
        (1, 56, 56, sq(64, 64, 3, 1, 1), Identity, true),
        (1, 56, 56, sq(64, 256, 1, 1, 0), Projection, true),
        // 28² 3×3s: F(4,3)'s 49 tiles (one of the Winograd GEMM's 56-tile blocks) and, at
        // batch 3, 147 (three), F(2,3)'s 196 (two 112-tile blocks).
        (1, 28, 28, sq(32, 64, 3, 1, 1), Plain, true),
        (3, 28, 28, sq(16, 64, 3, 1, 1), Plain, false),
        // v1.5 stride on the 3×3; the 1×1/2 downsample.
        (1, 56, 56, sq(128, 128, 3, 2, 1), Plain, true),
        (1, 56, 56, sq(256, 512, 1, 2, 0), Plain, false),
        // layer3 1×1 reduce; layer4 BasicBlock conv2 with its identity; layer4 1×1 expand.
        (1, 14, 14, sq(1024, 256, 1, 1, 0), Plain, true),
        (3, 7, 7, sq(512, 512, 3, 1, 1), Identity, true),
        (1, 7, 7, sq(512, 2048, 1, 1, 0), Projection, true),
        // CIFAR: stem, a block conv with its identity, the stride-2 conv of stage 2.
        (3, 32, 32, sq(3, 16, 3, 1, 1), Plain, true),
        (1, 32, 32, sq(16, 16, 3, 1, 1), Identity, true),
        (1, 32, 32, sq(16, 32, 3, 2, 1), Plain, true),
    ]);
}

/// Channels 3 and 13, odd sizes, stride 2 on odd sizes, asymmetric padding and strides,
/// non-square kernels, inputs no bigger than the kernel, batch 3; channels that are multiples
/// of 4 but not of 8 beside ones that are.
#[test]
fn conv_awkward_shapes() {
    run(&[
        (3, 15, 15, sq(3, 13, 3, 1, 1), Plain, true),
        (3, 15, 15, sq(13, 13, 3, 1, 1), Identity, true),
        (1, 15, 15, sq(13, 13, 3, 2, 1), Projection, true),
        (1, 97, 131, sq(13, 16, 7, 2, 3), Plain, true),
        (3, 97, 131, sq(3, 8, 1, 2, 0), Plain, false),
        (3, 97, 131, sq(3, 64, 7, 2, 3), Plain, true),
        (3, 7, 7, sq(13, 64, 3, 1, 1), Projection, true),
        (1, 7, 7, sq(64, 13, 3, 2, 1), Plain, false),
        (1, 15, 15, sq(67, 35, 3, 1, 1), Plain, true),
        // Winograd F(4,3) with one transform over 8 channels (u64 pairs) and the other over
        // vec4s: Cin a multiple of 8 and Cout not, and the other way round.
        (3, 15, 15, sq(24, 20, 3, 1, 1), Plain, true),
        (1, 15, 15, sq(20, 24, 3, 1, 1), Projection, true),
        (3, 7, 7, sq(13, 1, 3, 1, 1), Plain, false),
        (1, 7, 7, sq(3, 13, 7, 1, 3), Plain, true),
        (3, 1, 1, sq(13, 13, 3, 1, 1), Identity, true),
        (
            1,
            15,
            16,
            rect(13, 16, [3, 3], [2, 2], [0, 1, 2, 1]),
            Projection,
            true,
        ),
        (
            3,
            7,
            15,
            rect(3, 13, [3, 3], [1, 1], [2, 0, 0, 1]),
            Plain,
            true,
        ),
        (
            1,
            15,
            7,
            rect(13, 16, [1, 3], [2, 1], [0, 1, 0, 1]),
            Plain,
            true,
        ),
        (
            3,
            15,
            97,
            rect(3, 13, [3, 1], [1, 2], [1, 0, 1, 0]),
            Projection,
            true,
        ),
    ]);
}

/// Maps of a few pixels in all (small inputs' late layers, where CPU adapters run the
/// channel-parallel tile): a 2 × 2 map, 1 × 1 maps whose 3 × 3 window reaches the image only
/// at its centre (one image and two), a strided 3 × 3 onto 2 × 2 whose pixels reach different
/// taps, 3 pixels of a 1×1 conv with Cout 13, and Cout not a multiple of 8.
#[test]
fn conv_few_pixels() {
    run(&[
        (1, 2, 2, sq(64, 64, 3, 1, 1), Identity, true),
        (1, 1, 1, sq(32, 32, 3, 1, 1), Identity, true),
        (2, 1, 1, sq(128, 20, 3, 1, 1), Projection, false),
        (1, 3, 3, sq(16, 40, 3, 2, 1), Plain, true),
        (3, 1, 1, sq(8, 13, 1, 1, 0), Plain, true),
        (1, 4, 3, sq(32, 24, 3, 2, 1), Projection, true),
    ]);
}

/// Grouped and dilated convs (the grouped kernel takes them all, the grouped subgroup GEMMs
/// those with Cin/G % 4 == 0): ResNeXt's 3×3s (32 groups of 4, 8, 16 and 32 channels, 64 of 4,
/// stride 1 and 2), depthwise with and without a channel multiplier, 2 groups of 13 channels,
/// groups with 3 inputs and 5 outputs, groups with more outputs than inputs and fewer, grouped
/// 1×1s, dilation 2 and a non-square grouped dilation with asymmetric padding, odd sizes,
/// batch 3.
#[test]
fn conv_grouped_and_dilated() {
    run(&[
        (1, 15, 15, sq(128, 128, 3, 1, 1).grouped(32), Identity, true),
        (3, 13, 13, sq(256, 256, 3, 2, 1).grouped(32), Plain, true),
        (1, 7, 9, sq(256, 256, 3, 1, 1).grouped(64), Projection, true),
        (3, 15, 15, sq(13, 13, 3, 1, 1).grouped(13), Identity, true),
        (1, 15, 13, sq(8, 16, 3, 2, 1).grouped(8), Plain, false),
        (1, 15, 15, sq(26, 26, 3, 1, 1).grouped(2), Projection, true),
        (3, 9, 11, sq(12, 20, 3, 2, 1).grouped(4), Plain, true),
        (1, 7, 7, sq(64, 64, 1, 1, 0).grouped(8), Identity, true),
        // Groups of 16 and 32 outputs (ResNeXt-50's last stages); 2 and 8 outputs from 4
        // inputs, 4 from 8, 16 from 12; a grouped 1×1 of 16 inputs and 32 outputs; several
        // pixel blocks at batch 3.
        (1, 17, 17, sq(128, 64, 3, 1, 1).grouped(16), Plain, true),
        (2, 9, 9, sq(48, 64, 3, 2, 1).grouped(4), Plain, true),
        (1, 9, 9, sq(512, 512, 3, 1, 1).grouped(32), Identity, true),
        (1, 5, 5, sq(1024, 1024, 3, 2, 1).grouped(32), Plain, true),
        (2, 11, 11, sq(64, 32, 3, 1, 1).grouped(16), Plain, true),
        (
            3,
            12,
            12,
            sq(64, 128, 3, 1, 1).grouped(16),
            Projection,
            true,
        ),
        (2, 20, 20, sq(32, 64, 1, 1, 0).grouped(2), Plain, true),
        (
            1,
            15,
            15,
            sq(16, 16, 3, 1, 2).dilated([2, 2]),
            Identity,
            true,
        ),
        (
            3,
            17,
            19,
            rect(16, 8, [3, 3], [1, 2], [2, 1, 2, 3])
                .grouped(4)
                .dilated([2, 3]),
            Plain,
            true,
        ),
    ]);
}

/// The CPU reference's grouped conv equals `G` plain convs, one per group, over the group's
/// input channels, concatenated along the output channels.
#[test]
fn cpu_grouped_conv_is_per_group_convs() {
    use resnet_wgpu::cpu;
    let (n, h, w, g) = (2, 9, 7, 4);
    let conv = sq(12, 8, 3, 2, 1).grouped(g).dilated([1, 2]);
    let (cig, cog) = (conv.group_in_c(), conv.out_c / g);
    let x = randn(1, n * h * w * conv.in_c, 1.0);
    let weight = randn(2, conv.weight_len(), 0.3);
    let bias = randn(3, conv.out_c, 0.1);
    let y = cpu::conv2d(&x, n, h, w, &conv, &weight, &bias, None, false);
    let (oh, ow) = conv.out_hw(h, w).expect("fits");
    assert_eq!(y.len(), n * oh * ow * conv.out_c);
    let plain = sq(cig, cog, 3, 2, 1).dilated([1, 2]);
    for grp in 0..g {
        let xs: Vec<f32> = x
            .chunks(conv.in_c)
            .flat_map(|px| px[grp * cig..(grp + 1) * cig].to_vec())
            .collect();
        // HWIO rows of Cout: this group's output columns.
        let ws: Vec<f32> = weight
            .chunks(conv.out_c)
            .flat_map(|row| row[grp * cog..(grp + 1) * cog].to_vec())
            .collect();
        let ys = cpu::conv2d(
            &xs,
            n,
            h,
            w,
            &plain,
            &ws,
            &bias[grp * cog..(grp + 1) * cog],
            None,
            false,
        );
        for (p, px) in y.chunks(conv.out_c).enumerate() {
            for c in 0..cog {
                let (a, b) = (px[grp * cog + c], ys[p * cog + c]);
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "group {grp} pixel {p} channel {c}: {a} vs {b}"
                );
            }
        }
    }
}

/// Shapes that stress the subgroup GEMM's tiling (64 channels × 128 pixels per workgroup, 16
/// pixels per invocation): Cout not a multiple of 64 or of 16, pixel counts that leave partial
/// tiles and idle lanes, strided 1×1 and 3×3 on odd sizes, the stem padded to 4 channels, a
/// 97×131 map, batches 1 and 3 (every variant that supports the shape runs, as everywhere);
/// and the tile blocks of Winograd's subgroup GEMM.
#[test]
fn conv_subgroup_tiling() {
    run(&[
        (3, 15, 15, sq(16, 13, 3, 1, 1), Plain, true),
        (1, 97, 131, sq(4, 16, 7, 2, 3), Plain, true),
        (3, 15, 15, sq(20, 40, 1, 2, 0), Plain, false),
        (1, 7, 7, sq(64, 72, 1, 1, 0), Projection, true),
        (3, 13, 13, sq(32, 32, 3, 2, 1), Plain, true),
        (1, 97, 131, sq(8, 12, 3, 1, 1), Projection, true),
        (3, 7, 7, sq(136, 136, 3, 1, 1), Identity, true),
        (1, 15, 15, sq(12, 200, 1, 1, 0), Plain, true),
        // Winograd's subgroup GEMM in its three blocks: 49 tiles (8 per invocation), 60 tiles
        // with Cout 100 (a partial second channel block), 4 tiles (16 shared by the
        // workgroup's lanes, most of them idle).
        (1, 14, 14, sq(256, 256, 3, 1, 1), Identity, true),
        (2, 9, 11, sq(20, 100, 3, 1, 1), Plain, true),
        (1, 3, 4, sq(64, 64, 3, 1, 1), Identity, false),
        // 16 tiles (7 × 7 at batch 1): `gemm_t16`, lanes along the channels, with Cout 100
        // leaving the last lane of the 128-channel block without channels.
        (1, 7, 7, sq(20, 100, 3, 1, 1), Plain, true),
        // F(4,3) (the cases above of at most 128 channels run it too: 9 × 11 maps in partial
        // 4 × 4 tiles, a 3 × 4 map in one): asymmetric padding, 10 × 8 outputs.
        (
            2,
            10,
            9,
            rect(16, 24, [3, 3], [1, 1], [2, 0, 0, 1]),
            Plain,
            true,
        ),
        // Row strips (32 pixels × 16 channels, 16 × 32): 33-pixel rows (a last strip of one
        // pixel, or of two past a partial one), asymmetric padding with Cout 40 (a partial
        // channel block in both), rows narrower than a strip, a 4-channel input.
        (2, 5, 33, sq(16, 16, 3, 1, 1), Identity, true),
        (
            1,
            9,
            17,
            rect(8, 40, [3, 3], [1, 1], [0, 2, 2, 0]),
            Plain,
            true,
        ),
        (3, 6, 5, sq(4, 32, 3, 1, 1), Plain, true),
    ]);
}

/// Every conv variant with f16 storage against the f32 reference (f16 keeps ~3 significant
/// digits per stored value, so the tolerance is 1e-2 of the largest output).
#[test]
fn every_variant_in_f16() {
    use resnet_wgpu::gpu::{ConvVariant, Precision};
    use resnet_wgpu::{cpu, Model, Tensor};
    let engine = super::common::engine();
    if !engine
        .features()
        .contains(resnet_wgpu::gpu::wgpu_features::SHADER_F16)
    {
        eprintln!("note: f16 skipped: the adapter has no SHADER_F16");
        return;
    }
    for (conv, residual) in [
        (sq(32, 32, 3, 1, 1), true),
        (sq(16, 40, 1, 2, 0), false),
        (sq(3, 16, 7, 2, 3), false),
        (sq(4, 16, 7, 2, 3), false),
        (sq(12, 13, 3, 2, 1), false),
        (sq(64, 72, 1, 1, 0), false),
        (sq(20, 20, 3, 1, 1), true),
        (sq(128, 128, 3, 1, 1).grouped(32), true),
        (sq(64, 64, 3, 2, 1).grouped(8), false),
        (sq(64, 64, 3, 1, 1).grouped(4), true),
        (sq(13, 13, 3, 2, 1).grouped(13), false),
        (sq(16, 16, 3, 1, 2).dilated([2, 2]), true),
    ] {
        let (n, h, w) = (3, 15, 13);
        let g = graph(conv.in_c, |g, x| {
            let mut inputs = vec![x];
            if residual {
                inputs.push(x);
            }
            g.push("conv", conv_op(conv, true, 3), inputs, conv.out_c)
        });
        if residual && conv.in_c != conv.out_c {
            continue;
        }
        let input = random_input(9, n * conv.in_c * h * w);
        let want = cpu::run(&g, &input, n, h, w).expect("reference");
        let tensor = Tensor::new(vec![n, conv.in_c, h, w], input);
        // As the model runs it (a 3-channel stem padded to 4 channels).
        let run = convs_as_run(&g)[0];
        for v in ConvVariant::ALL
            .into_iter()
            .filter(|v| v.runs_on(&run, engine.conv_caps()))
        {
            let mut model = Model::with_precision(engine, g.clone(), Precision::F16).expect("load");
            model.force_variant(v);
            let got = model.infer(&tensor).expect("gpu");
            super::common::assert_close(&format!("f16 {conv:?} {v:?}"), &got.data, &want, 1e-2);
        }
    }
}

/// A model that compiles quickly (`Compile::Quick`) never runs a variant that compiles
/// slowly, runs the 64-channel tile where a full one takes the wide one (on adapters with
/// u64 pairs: resnet50's 1×1 reduce at 14²), and computes the same convs.
#[test]
fn quick_compiles_leave_out_the_slow_kernels() {
    use resnet_wgpu::gpu::{Compile, ConvVariant};
    use resnet_wgpu::{cpu, Model, ModelOptions, Tensor};
    let engine = super::common::engine();
    let (n, h, w) = (1, 14, 14);
    let conv = sq(1024, 256, 1, 1, 0);
    let g = graph(conv.in_c, |g, x| {
        g.push("conv", conv_op(conv, true, 21), vec![x], conv.out_c)
    });
    let input = random_input(23, n * conv.in_c * h * w);
    let want = cpu::run(&g, &input, n, h, w).expect("reference");
    let tensor = Tensor::new(vec![n, conv.in_c, h, w], input);
    let run = |compile| {
        let options = ModelOptions {
            compile,
            ..Default::default()
        };
        let model = Model::with_options(engine, g.clone(), options).expect("load");
        let variants = model.conv_variants(n, h, w).expect("plan");
        let got = model.infer(&tensor).expect("gpu");
        super::common::assert_close(&format!("{compile:?}"), &got.data, &want, 1e-4);
        variants[0].1
    };
    let full = run(Compile::Full);
    let quick = run(Compile::Quick);
    assert!(!quick.compiles_slowly(), "quick ran {quick:?}");
    if full.compiles_slowly() {
        assert_eq!(quick, ConvVariant::Subgroup14);
    } else {
        assert_eq!(quick, full, "only a slow kernel gives way");
    }
}
