//! Against onnxruntime's outputs:
//! - the four pretrained CIFAR-10 ResNets of `$RESNET_TESTDATA/models/cifar10` on the 20 test
//!   images of `data/cifar10/first20-reference.safetensors`;
//! - the seeded models that `.ci/run` generates with `tools/make_resnet_onnx.py` into
//!   `$RESNET_GENERATED/<case>/` (`ARCH.safetensors` + `ARCH-reference.safetensors`).
//!
//! Same argmax on every image, and max |Δ| ≤ 1e-3 × max |logit|, for the GPU and for the CPU
//! reference. Each test is skipped (with a note) when its variable is unset and fails when
//! the variable is set but the data is missing.
//!
//! `input_nchw` of `first20-reference.safetensors` is stored in NCHW order, as its shape
//! [20, 3, 32, 32] says.

mod common;

use std::path::Path;

use common::{engine, generated, require, testdata};
use resnet_wgpu::gpu::Precision;
use resnet_wgpu::weights::read_tensor;
use resnet_wgpu::{
    compare, Architecture, BuildOptions, CpuModel, Model, ModelOptions, Tensor, Weights,
};

const REL: f64 = 1e-3;

fn check(name: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape, want.shape, "{name}: logits shape");
    let c = compare(got, want).unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!(
        "{name}: max |Δ| {:.2e} = {:.2e} × max |logit| {:.3}",
        c.max_abs_err, c.max_rel_err, c.max_abs_ref
    );
    assert_eq!(
        c.top1_agreement, 1.0,
        "{name}: argmax differs from onnxruntime on some images ({c:?})"
    );
    assert!(
        c.max_abs_err <= REL * c.max_abs_ref,
        "{name}: max |Δ| {:.3e} > {REL:.0e} × max |logit| {:.3e}",
        c.max_abs_err,
        c.max_abs_ref
    );
}

/// Runs `weights` for `arch` on GPU and CPU and compares both with onnxruntime's logits.
fn against_onnxruntime(
    name: &str,
    arch: Architecture,
    weights: &Path,
    input: &Tensor,
    want: &Tensor,
) {
    let weights = Weights::File(weights.to_path_buf());
    let gpu = Model::load(
        engine(),
        arch,
        &weights,
        BuildOptions::default(),
        ModelOptions::default(),
    )
    .and_then(|m| m.infer(input))
    .unwrap_or_else(|e| panic!("{name}: gpu: {e}"));
    check(&format!("{name} (GPU)"), &gpu, want);
    let cpu = CpuModel::load(arch, &weights, BuildOptions::default())
        .and_then(|m| m.infer(input))
        .unwrap_or_else(|e| panic!("{name}: cpu: {e}"));
    check(&format!("{name} (CPU reference)"), &cpu, want);
}

#[test]
fn pretrained_cifar10_on_first20() {
    let Some(data) = testdata("pretrained_cifar10_on_first20") else {
        return;
    };
    let reference = require(&data.join("data/cifar10/first20-reference.safetensors"));
    let input = read_tensor(&reference, "input_nchw").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(input.shape, vec![20, 3, 32, 32]);
    let models = data.join("models/cifar10");
    for depth in [20, 32, 44, 56] {
        let prefix = format!("resnet{depth}-");
        let file = std::fs::read_dir(&models)
            .unwrap_or_else(|e| panic!("{}: {e}", models.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".safetensors"))
            })
            .unwrap_or_else(|| panic!("no {prefix}*.safetensors in {}", models.display()));
        let want = read_tensor(&reference, &format!("logits_resnet{depth}"))
            .unwrap_or_else(|e| panic!("{e}"));
        let arch = Architecture::Cifar(depth);
        against_onnxruntime(&format!("resnet{depth}"), arch, &file, &input, &want);
        f16_against_onnxruntime(&format!("resnet{depth}"), arch, &file, &input, &want);
    }
}

/// f16 storage (where the adapter has SHADER_F16): the same top-1 as onnxruntime on at least
/// 19 of the 20 images, and logits within 3 % of the largest.
fn f16_against_onnxruntime(
    name: &str,
    arch: Architecture,
    weights: &Path,
    input: &Tensor,
    want: &Tensor,
) {
    if !engine()
        .features()
        .contains(resnet_wgpu::gpu::wgpu_features::SHADER_F16)
    {
        eprintln!("note: {name} f16 skipped: the adapter has no SHADER_F16");
        return;
    }
    let got = Model::load(
        engine(),
        arch,
        &Weights::File(weights.to_path_buf()),
        BuildOptions::default(),
        ModelOptions::precision(Precision::F16),
    )
    .and_then(|m| m.infer(input))
    .unwrap_or_else(|e| panic!("{name} f16: {e}"));
    let c = compare(&got, want).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "{name} f16: max |Δ| {:.2e} × max |logit|, top-1 agreement {:.3}",
        c.max_rel_err, c.top1_agreement
    );
    assert!(
        c.top1_agreement >= 0.95,
        "{name} f16: top-1 agreement {c:?}"
    );
    assert!(
        c.max_rel_err <= 3e-2,
        "{name} f16: logits too far from onnxruntime's: {c:?}"
    );
}

#[test]
fn generated_models() {
    let Some(dir) = generated("generated_models") else {
        return;
    };
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        !cases.is_empty(),
        "RESNET_GENERATED={} holds no generated models",
        dir.display()
    );
    let mut checked = 0;
    for case in cases {
        for entry in std::fs::read_dir(&case).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(arch_name) = file.strip_suffix("-reference.safetensors") else {
                continue;
            };
            let name = format!("{} ({arch_name})", case.display());
            let arch = Architecture::parse(arch_name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let weights = require(&case.join(format!("{arch_name}.safetensors")));
            let input = read_tensor(&path, "input_nchw").unwrap_or_else(|e| panic!("{e}"));
            let want = read_tensor(&path, "logits").unwrap_or_else(|e| panic!("{e}"));
            against_onnxruntime(&name, arch, &weights, &input, &want);
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "no *-reference.safetensors under {}",
        dir.display()
    );
    eprintln!("checked {checked} generated models against onnxruntime");
}
