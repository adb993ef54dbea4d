//! Real ONNX files against onnxruntime's outputs, through the importer, on the GPU and the
//! CPU reference (same argmax everywhere, max |Δ| ≤ 1e-3 × max |logit|):
//! - the four pretrained CIFAR-10 ResNets of `$RESNET_TESTDATA/models/cifar10` on
//!   `data/cifar10/first20-reference.safetensors`, fused and (ResNet-20) unfused;
//! - the Keras ResNet-50 (`models/imagenet/resnet50-keras.onnx`: explicit Pad nodes, Sum,
//!   conv biases, BN eps 0.001) on `input_nchw_first4` of `data/imagenet/samples-reference`;
//! - the seeded `$RESNET_GENERATED/<case>/ARCH.onnx` models that `.ci/run` generates;
//! - `resnet logits --model FILE.onnx`.
//!
//! The shared reference inputs are stored in NCHW order, as their [N, 3, H, W] shape says.

mod common;

use std::path::{Path, PathBuf};

use common::{cli, engine, generated, require, testdata, TempDir};
use resnet_wgpu::weights::{read_tensor, write_safetensors};
use resnet_wgpu::{compare, onnx, BuildOptions, CpuModel, Model, Tensor};

const REL: f64 = 1e-3;

fn check(name: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape, want.shape, "{name}: logits shape");
    let c = compare(got, want).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(c.top1_agreement, 1.0, "{name}: argmax differs ({c:?})");
    assert!(
        c.max_abs_err <= REL * c.max_abs_ref,
        "{name}: max |Δ| {:.3e} > {REL:.0e} × max |logit| {:.3e}",
        c.max_abs_err,
        c.max_abs_ref
    );
}

/// The first `n` images (or rows) of a tensor.
fn first(t: &Tensor, n: usize) -> Tensor {
    let per: usize = t.shape[1..].iter().product();
    let mut shape = t.shape.clone();
    shape[0] = n;
    Tensor::new(shape, t.data[..n * per].to_vec())
}

/// Imports `model` and compares GPU and CPU logits with `want` (the GPU on the first
/// `gpu_batch` images only, to keep software-GPU time small).
fn against(
    name: &str,
    model: &Path,
    input: &Tensor,
    want: &Tensor,
    unfused: bool,
    gpu_batch: usize,
) {
    let opts = BuildOptions {
        unfused,
        ..Default::default()
    };
    let m = onnx::load_onnx(model, opts).unwrap_or_else(|e| panic!("{name}: import: {e}"));
    assert!(!m.softmax, "{name}: no final Softmax in this model");
    let n = gpu_batch.min(input.shape[0]);
    let gpu = Model::new(engine(), m.graph.clone())
        .and_then(|g| g.infer(&first(input, n)))
        .unwrap_or_else(|e| panic!("{name}: gpu: {e}"));
    check(&format!("{name} (GPU)"), &gpu, &first(want, n));
    let cpu = CpuModel::new(m.graph)
        .unwrap_or_else(|e| panic!("cpu reference: {e}"))
        .infer(input)
        .unwrap_or_else(|e| panic!("{name}: cpu: {e}"));
    check(&format!("{name} (CPU reference)"), &cpu, want);
}

fn cifar_model(data: &Path, depth: usize) -> PathBuf {
    let dir = data.join("models/cifar10");
    let prefix = format!("resnet{depth}-");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".onnx"))
        })
        .unwrap_or_else(|| panic!("no {prefix}*.onnx in {}", dir.display()))
}

#[test]
fn pretrained_cifar10_onnx_on_first20() {
    let Some(data) = testdata("pretrained_cifar10_onnx_on_first20") else {
        return;
    };
    let reference = require(&data.join("data/cifar10/first20-reference.safetensors"));
    let input = read_tensor(&reference, "input_nchw").unwrap_or_else(|e| panic!("{e}"));
    for depth in [20, 32, 44, 56] {
        let want = read_tensor(&reference, &format!("logits_resnet{depth}"))
            .unwrap_or_else(|e| panic!("{e}"));
        let model = cifar_model(&data, depth);
        against(
            &format!("resnet{depth}.onnx"),
            &model,
            &input,
            &want,
            false,
            20,
        );
        if depth == 20 {
            against("resnet20.onnx unfused", &model, &input, &want, true, 20);
        }
    }
}

#[test]
fn keras_resnet50_onnx_on_imagenet_samples() {
    let Some(data) = testdata("keras_resnet50_onnx_on_imagenet_samples") else {
        return;
    };
    let reference = require(&data.join("data/imagenet/samples-reference.safetensors"));
    let model = require(&data.join("models/imagenet/resnet50-keras.onnx"));
    let input = read_tensor(&reference, "input_nchw_first4").unwrap_or_else(|e| panic!("{e}"));
    let n = input.shape[0];
    let logits = read_tensor(&reference, "logits").unwrap_or_else(|e| panic!("{e}"));
    against(
        "resnet50-keras.onnx",
        &model,
        &input,
        &first(&logits, n),
        false,
        2,
    );
}

#[test]
fn generated_onnx_models() {
    let Some(dir) = generated("generated_onnx_models") else {
        return;
    };
    let mut models: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .flat_map(|case| std::fs::read_dir(case).into_iter().flatten())
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
        .collect();
    models.sort();
    assert!(
        !models.is_empty(),
        "no .onnx models under {}",
        dir.display()
    );
    for model in &models {
        let name = model.display().to_string();
        let stem = model
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let reference = require(&model.with_file_name(format!("{stem}-reference.safetensors")));
        let input = read_tensor(&reference, "input_nchw").unwrap_or_else(|e| panic!("{e}"));
        let want = read_tensor(&reference, "logits").unwrap_or_else(|e| panic!("{e}"));
        against(&name, model, &input, &want, false, input.shape[0]);
    }
    eprintln!("checked {} generated ONNX models", models.len());
}

/// `resnet logits --model FILE.onnx` writes the same logits as onnxruntime's.
#[test]
fn cli_logits_with_an_onnx_model() {
    let Some(data) = testdata("cli_logits_with_an_onnx_model") else {
        return;
    };
    let reference = require(&data.join("data/cifar10/first20-reference.safetensors"));
    let input = read_tensor(&reference, "input_nchw").unwrap_or_else(|e| panic!("{e}"));
    let want = read_tensor(&reference, "logits_resnet20").unwrap_or_else(|e| panic!("{e}"));
    let dir = TempDir::new("onnx-cli");
    let (in_path, out_path) = (
        dir.join("input.safetensors"),
        dir.join("logits.safetensors"),
    );
    write_safetensors(&in_path, &[("x", &first(&input, 4))]).unwrap_or_else(|e| panic!("{e}"));
    let model = cifar_model(&data, 20);
    let (m, i, o) = (
        model.to_string_lossy(),
        in_path.to_string_lossy(),
        out_path.to_string_lossy(),
    );
    cli::stdout_of(
        &[
            "logits", "--model", &m, "--tensor", "x", "--input", &i, "--output", &o,
        ],
        &[],
    );
    let got = read_tensor(&out_path, "logits").unwrap_or_else(|e| panic!("{e}"));
    check(
        "resnet logits --model resnet20.onnx",
        &got,
        &first(&want, 4),
    );
}
