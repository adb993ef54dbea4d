//! Real images through preprocessing and the GPU engine against onnxruntime's logits in the
//! shared data: a spread-out subset of the 10,000 CIFAR-10 test JPEGs (every 20th, so all
//! classes) with both model formats, and the first ImageNet samples with the Keras ResNet-50.
//! (The whole set is run by hand with `resnet eval`; see the README.)

mod common;

use std::path::Path;

use resnet_wgpu::preprocess::{collect_images, BatchReader, Preprocess};
use resnet_wgpu::weights::read_tensor;
use resnet_wgpu::{argmax, load_model_file, Architecture, BuildOptions, Model, Tensor};

fn ok<T>(r: resnet_wgpu::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `files` through `model` in batches; the logits in file order.
fn run(model: &Model, files: Vec<std::path::PathBuf>, pre: Preprocess, batch: usize) -> Vec<f32> {
    let mut out = Vec::new();
    for b in BatchReader::new(files, pre, batch, 2) {
        if let Some((p, e)) = b.skipped.first() {
            panic!("{}: {e}", p.display());
        }
        out.extend(ok(model.infer(&b.tensor)).data);
    }
    out
}

/// Rows `rows` of a `[N, classes]` tensor.
fn pick(t: &Tensor, rows: &[usize]) -> Vec<f32> {
    let c = t.shape[1];
    rows.iter()
        .flat_map(|&r| t.data[r * c..(r + 1) * c].to_vec())
        .collect()
}

fn agreement(got: &[f32], want: &[f32], classes: usize) -> (usize, usize) {
    let agree = got
        .chunks(classes)
        .zip(want.chunks(classes))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    (agree, want.len() / classes)
}

fn cifar_subset(data: &Path, file: &str, arch: &str) {
    let files = ok(collect_images(&[data.join("data/cifar10/test-jpeg")]));
    assert_eq!(files.len(), 10_000, "test-jpeg should hold 10,000 JPEGs");
    let rows: Vec<usize> = (0..500).map(|i| i * 20).collect();
    let subset = rows.iter().map(|&r| files[r].clone()).collect();
    let path = common::require(&data.join("models/cifar10").join(file));
    // An ONNX file holds its own architecture; safetensors weights need it named.
    let named = (!file.ends_with(".onnx")).then(|| ok(Architecture::parse(arch)));
    let loaded = ok(load_model_file(&path, named, BuildOptions::default()));
    let model = ok(Model::new(common::engine(), loaded.graph));
    let got = run(&model, subset, Preprocess::cifar(), 100);
    let reference = common::require(&data.join("data/cifar10/test-jpeg-reference.safetensors"));
    let want = pick(
        &ok(read_tensor(&reference, &format!("logits_{arch}"))),
        &rows,
    );
    let (agree, n) = agreement(&got, &want, 10);
    let (err, scale) = common::max_err(&got, &want);
    eprintln!(
        "{file}: top-1 agreement {agree}/{n}, max |Δ logit| {err:.2e} (max |logit| {scale:.1})"
    );
    // JPEG decoding is libjpeg's, as in the reference: the inputs are the same, so the logits
    // agree to float rounding, not only the predictions.
    assert!(
        agree as f64 >= 0.995 * n as f64,
        "top-1 agreement {agree}/{n}"
    );
    assert!(err <= 1e-3 * scale, "max |Δ| {err} vs max |logit| {scale}");
}

#[test]
fn cifar_test_jpegs_match_onnxruntime_with_safetensors_weights() {
    let Some(data) =
        common::testdata("cifar_test_jpegs_match_onnxruntime_with_safetensors_weights")
    else {
        return;
    };
    cifar_subset(&data, "resnet20-12fca82f.safetensors", "resnet20");
}

#[test]
fn cifar_test_jpegs_match_onnxruntime_with_the_onnx_model() {
    let Some(data) = common::testdata("cifar_test_jpegs_match_onnxruntime_with_the_onnx_model")
    else {
        return;
    };
    cifar_subset(&data, "resnet32-d509ac18.onnx", "resnet32");
}

#[test]
fn imagenet_samples_match_onnxruntime_with_the_keras_resnet50() {
    let Some(data) = common::testdata("imagenet_samples_match_onnxruntime_with_the_keras_resnet50")
    else {
        return;
    };
    let files = ok(collect_images(&[data.join("data/imagenet/samples")]));
    assert_eq!(files.len(), 100, "samples should hold 100 images");
    let n = 3;
    let path = common::require(&data.join("models/imagenet/resnet50-keras.onnx"));
    let loaded = ok(load_model_file(&path, None, BuildOptions::default()));
    let model = ok(Model::new(common::engine(), loaded.graph));
    let got = run(&model, files[..n].to_vec(), Preprocess::caffe(), n);
    let reference = common::require(&data.join("data/imagenet/samples-reference.safetensors"));
    let rows: Vec<usize> = (0..n).collect();
    let want = pick(&ok(read_tensor(&reference, "logits")), &rows);
    let (agree, _) = agreement(&got, &want, 1000);
    let (err, scale) = common::max_err(&got, &want);
    eprintln!("resnet50-keras: top-1 agreement {agree}/{n}, max |Δ logit| {err:.3} (max |logit| {scale:.1})");
    assert_eq!(agree, n);
    // The resize rounds a few values differently from Pillow (±1 level), hence not 1e-3.
    assert!(err <= 0.05 * scale, "max |Δ| {err} vs max |logit| {scale}");
}
