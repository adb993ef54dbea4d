//! `resnet classify` and `resnet eval` end to end through the binary, on copies of a few shared
//! CIFAR-10 images, checked against the onnxruntime reference logits in the shared data.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use resnet_wgpu::argmax;
use resnet_wgpu::weights::read_tensor;

fn resnet(args: &[&str]) -> Output {
    common::cli::run(args, &[])
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn copy(from: &Path, to: &Path) {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("{} → {}: {e}", from.display(), to.display()));
}

fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn model(data: &Path, file: &str) -> String {
    common::require(&data.join("models/cifar10").join(file))
        .display()
        .to_string()
}

#[test]
fn classify_prints_top_k_and_skips_a_file_that_is_not_an_image() {
    let Some(data) =
        common::testdata("classify_prints_top_k_and_skips_a_file_that_is_not_an_image")
    else {
        return;
    };
    let dir = common::TempDir::new("classify");
    let first20 = data.join("data/cifar10/first20");
    for f in ["cifar10_00_3.png", "cifar10_01_8.png"] {
        copy(&first20.join(f), &dir.join(f));
    }
    std::fs::write(dir.join("notes.jpg"), "a text file").unwrap_or_else(|e| panic!("{e}"));
    let weights = model(&data, "resnet20-12fca82f.safetensors");
    let dir_arg = dir.path().display().to_string();
    let out = resnet(&[
        "classify", "--model", &weights, "--arch", "resnet20", "--json", "--top", "3", &dir_arg,
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("notes.jpg") && stderr.contains("skipped 1"),
        "{stderr}"
    );
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 2, "{stdout}");
    let reference = common::require(&data.join("data/cifar10/first20-reference.safetensors"));
    let logits = read_tensor(&reference, "logits_resnet20").unwrap_or_else(|e| panic!("{e}"));
    for (i, line) in lines.iter().enumerate() {
        assert!(line["path"]
            .as_str()
            .unwrap_or("")
            .ends_with(&format!("cifar10_0{i}_{}.png", [3, 8][i])));
        let top = line["top"].as_array().cloned().unwrap_or_default();
        assert_eq!(top.len(), 3, "{line}");
        let want = argmax(&logits.data[i * 10..(i + 1) * 10]);
        assert_eq!(top[0]["index"].as_u64(), Some(want as u64), "{line}");
        assert_eq!(
            top[0]["label"].as_str(),
            Some(resnet_wgpu::labels::CIFAR10[want])
        );
        let probs: Vec<f64> = top.iter().filter_map(|t| t["prob"].as_f64()).collect();
        assert!(probs.windows(2).all(|w| w[0] >= w[1]), "{line}");
        assert!(probs.iter().sum::<f64>() <= 1.0 + 1e-5, "{line}");
    }
    // Two images compile quickly by default (`--compile auto`); either setting classifies
    // them alike, and an unknown one is refused.
    for compile in ["quick", "full"] {
        let again = resnet(&[
            "classify",
            "--model",
            &weights,
            "--arch",
            "resnet20",
            "--json",
            "--top",
            "3",
            "--compile",
            compile,
            &dir_arg,
        ]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(text(&again.stdout), stdout, "--compile {compile}");
    }
    let bad = resnet(&[
        "classify",
        "--model",
        &weights,
        "--arch",
        "resnet20",
        "--compile",
        "slow",
        &dir_arg,
    ]);
    assert!(!bad.status.success() && text(&bad.stderr).contains("--compile"));
}

#[test]
fn a_directory_without_images_is_an_error() {
    let dir = common::TempDir::new("no-images");
    std::fs::write(dir.join("list.txt"), "x").unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().display().to_string();
    for args in [
        vec!["classify", "--model", "m.onnx", &d],
        vec!["eval", "--model", "m.onnx", "--labels-from", "dirname", &d],
    ] {
        let out = resnet(&args);
        let stderr = text(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains("no images") && stderr.contains(&d),
            "{stderr}"
        );
    }
}

/// Copies the first `per_class` test JPEGs of some classes into `dir/<class>/`; returns the
/// index of each copy in the reference's sorted order (class c's image i is row 1000·c + i).
fn cifar_tree(data: &Path, dir: &Path, classes: &[usize], per_class: usize) -> Vec<usize> {
    let mut rows = Vec::new();
    for &c in classes {
        let name = resnet_wgpu::labels::CIFAR10[c];
        for i in 0..per_class {
            let f = format!("{i:04}.jpg");
            let src: PathBuf = data.join("data/cifar10/test-jpeg").join(name).join(&f);
            copy(&common::require(&src), &dir.join(name).join(&f));
            rows.push(1000 * c + i);
        }
    }
    rows
}

#[test]
fn eval_counts_top1_as_the_reference_does_and_skips_broken_files() {
    let Some(data) = common::testdata("eval_counts_top1_as_the_reference_does") else {
        return;
    };
    let dir = common::TempDir::new("eval");
    let rows = cifar_tree(&data, dir.path(), &[3, 5, 8], 4);
    std::fs::write(dir.join("cat/broken.jpg"), "not a jpeg").unwrap_or_else(|e| panic!("{e}"));
    let reference = common::require(&data.join("data/cifar10/test-jpeg-reference.safetensors"));
    let logits = read_tensor(&reference, "logits_resnet20").unwrap_or_else(|e| panic!("{e}"));
    let (mut top1, mut top5) = (0, 0);
    for &r in &rows {
        let row = &logits.data[r * 10..(r + 1) * 10];
        // The folders sort in label order, 1000 images each.
        let label = r / 1000;
        top1 += usize::from(argmax(row) == label);
        top5 += usize::from(row.iter().filter(|&&v| v > row[label]).count() < 5);
    }
    let onnx = model(&data, "resnet20-12fca82f.onnx");
    let d = dir.path().display().to_string();
    let out = resnet(&[
        "eval",
        "--model",
        &onnx,
        "--labels-from",
        "dirname",
        "--json",
        &d,
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("broken.jpg"), "{stderr}");
    let v: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{stdout}: {e}"));
    assert_eq!(v["images"].as_u64(), Some(rows.len() as u64), "{v}");
    assert_eq!(v["skipped"].as_u64(), Some(1), "{v}");
    let n = rows.len() as f64;
    assert_eq!(v["top1"].as_f64(), Some(top1 as f64 / n), "{v}");
    assert_eq!(v["top5"].as_f64(), Some(top5 as f64 / n), "{v}");
    assert!(v["images_per_s"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    // The text report names the classes.
    let out = resnet(&["eval", "--model", &onnx, "--labels-from", "dirname", &d]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("top-1") && stdout.contains("cat"),
        "{stdout}"
    );
}

#[test]
fn eval_label_sources_are_checked() {
    let Some(data) = common::testdata("eval_label_sources_are_checked") else {
        return;
    };
    let dir = common::TempDir::new("eval-labels");
    cifar_tree(&data, dir.path(), &[0], 1);
    let onnx = model(&data, "resnet20-12fca82f.onnx");
    let d = dir.path().display().to_string();
    // WordNet ids need the 1000 ImageNet classes.
    let out = resnet(&[
        "eval",
        "--model",
        &onnx,
        "--labels-from",
        "imagenet-wnid",
        &d,
    ]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success() && stderr.contains("1000"), "{stderr}");
    // A folder name that is no class.
    let other = common::TempDir::new("eval-unknown");
    copy(
        &dir.join("airplane/0000.jpg"),
        &other.join("bicycle/0000.jpg"),
    );
    let o = other.path().display().to_string();
    let out = resnet(&["eval", "--model", &onnx, "--labels-from", "dirname", &o]);
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("bicycle")
            && stderr.contains("with --labels-from dirname"),
        "{stderr}"
    );
}
