//! Whole networks, GPU against the CPU reference on the same graph: simple, resnet18 and
//! resnet50 (at reduced resolutions, one of them odd, to keep CI fast), the CIFAR resnet20;
//! batch 1 and 3; and fused against unfused (every BN, add and ReLU as its own pass), which
//! must give the same logits.

mod common;

use common::{assert_close, engine};
use resnet_wgpu::weights::random_input;
use resnet_wgpu::{
    compare, load_graph, Architecture, BuildOptions, CpuModel, Model, ModelOptions, Tensor, Weights,
};

const REL: f64 = 1e-4;

fn input(seed: u64, n: usize, h: usize, w: usize) -> Tensor {
    Tensor::new(vec![n, 3, h, w], random_input(seed, n * 3 * h * w))
}

/// GPU vs CPU for `arch` with random weights on an `n × 3 × h × w` input; returns the logits.
fn gpu_vs_cpu(arch: &str, opts: BuildOptions, seed: u64, n: usize, h: usize, w: usize) -> Tensor {
    let name = format!(
        "{arch} b{n} {h}x{w}{}",
        if opts.unfused { " unfused" } else { "" }
    );
    let arch = Architecture::parse(arch).unwrap_or_else(|e| panic!("{name}: {e}"));
    let graph = load_graph(arch, &Weights::Random(seed), opts)
        .unwrap_or_else(|e| panic!("{name}: building: {e}"));
    let x = input(seed + 1000, n, h, w);
    let want = CpuModel::new(graph.clone())
        .unwrap_or_else(|e| panic!("cpu reference: {e}"))
        .infer(&x)
        .unwrap_or_else(|e| panic!("{name}: cpu: {e}"));
    let got = Model::new(engine(), graph)
        .and_then(|m| m.infer(&x))
        .unwrap_or_else(|e| panic!("{name}: gpu: {e}"));
    assert_eq!(got.shape, want.shape, "{name}: logits shape");
    assert_eq!(got.shape[0], n, "{name}: batch of the logits");
    assert_close(&name, &got.data, &want.data, REL);
    let c = compare(&got, &want).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(c.top1_agreement, 1.0, "{name}: top-1 differs: {c:?}");
    // Logits of order one, and not all equal (a dead network would agree trivially).
    assert!(
        c.max_abs_ref > 1e-3 && c.max_abs_ref < 1e3,
        "{name}: max |logit| {}",
        c.max_abs_ref
    );
    let first = want.data[0];
    assert!(
        want.data.iter().any(|&v| v != first),
        "{name}: constant logits"
    );
    got
}

#[test]
fn simple_network() {
    let opts = BuildOptions {
        blocks: Some(3),
        ..Default::default()
    };
    gpu_vs_cpu("simple", BuildOptions::default(), 1, 1, 64, 64);
    gpu_vs_cpu("simple", opts, 2, 3, 97, 131);
}

#[test]
fn resnet18() {
    gpu_vs_cpu("resnet18", BuildOptions::default(), 3, 1, 64, 64);
    gpu_vs_cpu("resnet18", BuildOptions::default(), 4, 3, 75, 53);
}

#[test]
fn resnet50() {
    gpu_vs_cpu("resnet50", BuildOptions::default(), 5, 1, 64, 64);
    gpu_vs_cpu("resnet50", BuildOptions::default(), 6, 3, 97, 71);
}

#[test]
fn resnet20_cifar() {
    gpu_vs_cpu("resnet20", BuildOptions::default(), 7, 1, 32, 32);
    gpu_vs_cpu("resnet20", BuildOptions::default(), 8, 3, 33, 31);
}

/// Fused and unfused graphs compute the same function: the GPU logits of both agree, and
/// each agrees with the CPU reference on its own graph.
#[test]
fn fused_and_unfused_agree() {
    for (arch, classes, n, h, w) in [
        ("simple", None, 3, 64, 48),
        ("resnet20", None, 3, 32, 32),
        ("resnet50", Some(100), 1, 64, 64),
    ] {
        let fused = BuildOptions {
            classes,
            ..Default::default()
        };
        let unfused = BuildOptions {
            unfused: true,
            ..fused
        };
        let a = gpu_vs_cpu(arch, fused, 11, n, h, w);
        let b = gpu_vs_cpu(arch, unfused, 11, n, h, w);
        assert_close(&format!("{arch} fused vs unfused"), &a.data, &b.data, REL);
    }
}

/// The unfused graph really runs BN, add and ReLU as separate ops (otherwise the test above
/// would compare a graph with itself).
#[test]
fn unfused_graph_has_separate_ops() {
    let arch = Architecture::parse("resnet20").unwrap_or_else(|e| panic!("{e}"));
    let count = |unfused: bool, kind: &str| {
        let opts = BuildOptions {
            unfused,
            ..Default::default()
        };
        let g = load_graph(arch, &Weights::Random(1), opts).unwrap_or_else(|e| panic!("{e}"));
        g.nodes().filter(|n| n.op.kind() == kind).count()
    };
    for kind in ["batchnorm", "add", "relu"] {
        assert_eq!(count(false, kind), 0, "fused resnet20 has {kind} ops");
    }
    // 19 convs, each followed by its BN; 9 blocks, each with an add; 19 ReLUs.
    assert_eq!(count(true, "batchnorm"), 19);
    assert_eq!(count(true, "add"), 9);
    assert_eq!(count(true, "relu"), 19);
}

/// One model serves several batch sizes and input sizes; each row of a batch equals that
/// image run alone.
#[test]
fn batch_rows_are_independent() {
    let arch = Architecture::parse("resnet18").unwrap_or_else(|e| panic!("{e}"));
    let model = Model::load(
        engine(),
        arch,
        &Weights::Random(21),
        BuildOptions::default(),
        ModelOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let x = input(22, 3, 64, 64);
    let batch = model.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    let per = 3 * 64 * 64;
    for i in 0..3 {
        let one = Tensor::new(vec![1, 3, 64, 64], x.data[i * per..(i + 1) * per].to_vec());
        let row = model.infer(&one).unwrap_or_else(|e| panic!("{e}"));
        assert_close(
            &format!("row {i}"),
            &batch.data[i * 1000..(i + 1) * 1000],
            &row.data,
            REL,
        );
    }
    let other = model.infer(&input(23, 2, 40, 56));
    assert_eq!(other.map(|t| t.shape).ok(), Some(vec![2, 1000]));
}
