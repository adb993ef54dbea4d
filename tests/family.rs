//! The grouped and wide torchvision ResNets (ResNeXt, Wide ResNet): their structure (the 3×3
//! of each bottleneck grouped, torchvision's widths and key names), and whole networks with
//! random weights on the GPU against the CPU reference at small and odd sizes, fused and
//! unfused (to 1e-4 × max |logit|, the same top-1).

mod common;

use common::{assert_close, engine};
use resnet_wgpu::model::Op;
use resnet_wgpu::weights::random_input;
use resnet_wgpu::{
    compare, load_graph, Architecture, BuildOptions, CpuModel, Graph, Model, Tensor, Weights,
};

const REL: f64 = 1e-4;

fn graph(arch: &str, opts: BuildOptions, seed: u64) -> Graph {
    let a = Architecture::parse(arch).unwrap_or_else(|e| panic!("{arch}: {e}"));
    assert_eq!(a.name(), arch, "the canonical name round-trips");
    load_graph(a, &Weights::Random(seed), opts).unwrap_or_else(|e| panic!("{arch}: {e}"))
}

/// GPU vs CPU for `arch` with random weights on an `n × 3 × h × w` input.
fn gpu_vs_cpu(arch: &str, opts: BuildOptions, seed: u64, n: usize, h: usize, w: usize) {
    let name = format!("{arch} b{n} {h}x{w} unfused={}", opts.unfused);
    let g = graph(arch, opts, seed);
    let grouped_convs = g
        .nodes()
        .filter(|n| matches!(&n.op, Op::Conv { conv, .. } if conv.groups > 1))
        .count();
    let x = Tensor::new(vec![n, 3, h, w], random_input(seed + 1000, n * 3 * h * w));
    let want = CpuModel::new(g.clone())
        .unwrap_or_else(|e| panic!("cpu reference: {e}"))
        .infer(&x)
        .unwrap_or_else(|e| panic!("{name}: cpu: {e}"));
    let model = Model::new(engine(), g).unwrap_or_else(|e| panic!("{name}: load: {e}"));
    let variants = model
        .conv_variants(n, h, w)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let got = model
        .infer(&x)
        .unwrap_or_else(|e| panic!("{name}: gpu: {e}"));
    assert_eq!(got.shape, vec![n, 1000], "{name}: logits shape");
    assert_close(&name, &got.data, &want.data, REL);
    let c = compare(&got, &want).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(c.top1_agreement, 1.0, "{name}: top-1 differs: {c:?}");
    // Random weights keep the logits of order one, and not all equal.
    assert!(
        c.max_abs_ref > 1e-2 && c.max_abs_ref < 1e2,
        "{name}: max |logit| {}",
        c.max_abs_ref
    );
    assert!(
        want.data.iter().any(|&v| v != want.data[0]),
        "{name}: constant logits"
    );
    use resnet_wgpu::gpu::ConvVariant::{self, *};
    let count = |of: &[ConvVariant]| variants.iter().filter(|(_, v)| of.contains(v)).count();
    let subgroup = [GroupedSubgroup, GroupedSubgroup8, GroupedStrip];
    // Every grouped conv (ResNeXt: one 3×3 per bottleneck) runs a grouped kernel: on CPU
    // adapters with subgroups a subgroup one, which takes all of ResNeXt's.
    let grouped = count(&[Grouped]) + count(&subgroup);
    assert_eq!(grouped, grouped_convs, "{name}: grouped kernel launches");
    let caps = engine().conv_caps();
    if caps.subgroups && caps.device_type == wgpu::DeviceType::Cpu {
        assert_eq!(
            count(&subgroup),
            grouped_convs,
            "{name}: grouped subgroup kernel launches"
        );
    }
    assert_eq!(
        grouped_convs > 0,
        arch.starts_with("resnext"),
        "{name}: grouped convs"
    );
}

/// (groups, in_c, out_c) of the conv node called `name`.
fn conv_of(g: &Graph, name: &str) -> (usize, usize, usize) {
    g.nodes()
        .find_map(|n| match &n.op {
            Op::Conv { conv, weight, .. } if n.name == name => {
                assert_eq!(weight.len(), conv.weight_len(), "{name}: weight length");
                Some((conv.groups, conv.in_c, conv.out_c))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no conv `{name}`"))
}

#[test]
fn structure_follows_torchvision() {
    let opts = BuildOptions::default();
    // (arch, layer1.0.conv2 (groups, in, out), layer4.2.conv2, convs)
    for (arch, l1, l4, convs) in [
        ("resnext50_32x4d", (32, 128, 128), (32, 1024, 1024), 53),
        ("resnext101_32x8d", (32, 256, 256), (32, 2048, 2048), 104),
        ("resnext101_64x4d", (64, 256, 256), (64, 2048, 2048), 104),
        ("wide_resnet50_2", (1, 128, 128), (1, 1024, 1024), 53),
        ("wide_resnet101_2", (1, 128, 128), (1, 1024, 1024), 104),
    ] {
        let g = graph(arch, opts, 1);
        assert_eq!(conv_of(&g, "layer1.0.conv2"), l1, "{arch}");
        assert_eq!(conv_of(&g, "layer4.2.conv2"), l4, "{arch}");
        // conv3 expands to 4 · planes whatever the width; conv1 reduces to the width.
        assert_eq!(conv_of(&g, "layer4.2.conv3").2, 2048, "{arch}");
        assert_eq!(conv_of(&g, "layer1.0.conv1"), (1, 64, l1.1), "{arch}");
        let n = g
            .nodes()
            .filter(|n| matches!(n.op, Op::Conv { .. }))
            .count();
        assert_eq!(n, convs, "{arch}: conv count");
    }
    let e = Architecture::parse("resnext50_32x8d").expect_err("not a torchvision network");
    assert!(
        e.to_string().contains("resnext50_32x4d"),
        "the error lists the names: {e}"
    );
}

#[test]
fn resnext50_32x4d() {
    gpu_vs_cpu("resnext50_32x4d", BuildOptions::default(), 3, 1, 48, 48);
}

#[test]
fn resnext50_32x4d_odd_batch2_unfused() {
    let opts = BuildOptions {
        unfused: true,
        ..Default::default()
    };
    gpu_vs_cpu("resnext50_32x4d", opts, 4, 2, 33, 37);
}

#[test]
fn resnext101_64x4d_odd() {
    gpu_vs_cpu("resnext101_64x4d", BuildOptions::default(), 5, 1, 33, 35);
}

#[test]
fn wide_resnet50_2() {
    gpu_vs_cpu("wide_resnet50_2", BuildOptions::default(), 6, 1, 40, 40);
}
