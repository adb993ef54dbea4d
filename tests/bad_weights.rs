//! Weights files that must be rejected with the right [`Error`] variant and a message naming
//! the key, the expected and the found (truncated, corrupt header, wrong shape, missing key,
//! unexpected key, wrong dtype), and variants that must be accepted (`module.` prefixes,
//! `num_batches_tracked` counters, F64 tensors). CPU only: loading never touches the GPU.
//!
//! The files are built in a temporary directory from the tensors that the graph builder
//! requests for the `simple` architecture (1 block, 7 classes), with seeded values.

mod common;

use std::path::Path;

use common::TempDir;
use resnet_wgpu::model::build_graph;
use resnet_wgpu::weights::{random_input, ParamKind, ParamSource, RandomSource};
use resnet_wgpu::{Architecture, BuildOptions, CpuModel, Error, Result, Tensor, Weights};
use safetensors::tensor::{Dtype, TensorView};

/// A random source that records every tensor it hands out, in request order.
struct Recorder {
    inner: RandomSource,
    taken: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl ParamSource for Recorder {
    fn take(&mut self, key: &str, shape: &[usize], kind: ParamKind) -> Result<Vec<f32>> {
        let v = self.inner.take(key, shape, kind)?;
        self.taken
            .push((key.to_string(), shape.to_vec(), v.clone()));
        Ok(v)
    }
    fn finish(&self, arch: &str) -> Result<()> {
        self.inner.finish(arch)
    }
    fn shape_of(&self, key: &str) -> Option<Vec<usize>> {
        self.inner.shape_of(key)
    }
    fn keys(&self) -> Vec<String> {
        self.inner.keys()
    }
}

/// One tensor of a file being built: name, dtype, shape, little-endian bytes.
type Raw = (String, Dtype, Vec<usize>, Vec<u8>);

fn simple() -> Architecture {
    Architecture::Simple
}

/// The tensors of a valid `simple` file (1 block, 7 classes) as F32.
fn valid_tensors() -> Vec<Raw> {
    let mut rec = Recorder {
        inner: RandomSource::new(42),
        taken: Vec::new(),
    };
    let opts = BuildOptions {
        blocks: Some(1),
        classes: Some(7),
        unfused: false,
    };
    build_graph(simple(), &mut rec, opts).unwrap_or_else(|e| panic!("{e}"));
    rec.taken
        .into_iter()
        .map(|(k, shape, v)| {
            let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            (k, Dtype::F32, shape, bytes)
        })
        .collect()
}

/// The tensor `key` of a file being built.
fn entry<'a>(tensors: &'a mut [Raw], key: &str) -> &'a mut Raw {
    tensors
        .iter_mut()
        .find(|e| e.0 == key)
        .unwrap_or_else(|| panic!("no tensor {key}"))
}

fn write(path: &Path, tensors: &[Raw]) {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(k, dtype, shape, bytes)| {
            let view = TensorView::new(*dtype, shape.clone(), bytes)
                .unwrap_or_else(|e| panic!("{k}: {e}"));
            (k.clone(), view)
        })
        .collect();
    let bytes = safetensors::serialize(views, None).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn load(path: &Path) -> Result<CpuModel> {
    CpuModel::load(
        simple(),
        &Weights::File(path.to_path_buf()),
        BuildOptions::default(),
    )
}

/// Writes `tensors`, loads them as `simple`, and returns the error.
fn load_err(dir: &TempDir, file: &str, tensors: &[Raw]) -> (Error, String) {
    let path = dir.join(file);
    write(&path, tensors);
    match load(&path) {
        Ok(_) => panic!("{file}: loaded without an error"),
        Err(e) => {
            let msg = e.to_string();
            (e, msg)
        }
    }
}

fn logits(model: &CpuModel) -> Tensor {
    let x = Tensor::new(vec![1, 3, 40, 40], random_input(5, 3 * 40 * 40));
    model.infer(&x).unwrap_or_else(|e| panic!("{e}"))
}

/// The valid file loads, reads its block and class counts from the tensors, and gives the
/// same logits as the random weights it was made from.
#[test]
fn valid_file_matches_its_random_weights() {
    let dir = TempDir::new("valid");
    let path = dir.join("simple.safetensors");
    write(&path, &valid_tensors());
    let model = load(&path).unwrap_or_else(|e| panic!("{e}"));
    let blocks = model
        .graph()
        .segments
        .iter()
        .filter(|s| s.name.starts_with("res_blocks."))
        .count();
    assert_eq!(blocks, 1, "block count should come from the file");
    let opts = BuildOptions {
        blocks: Some(1),
        classes: Some(7),
        unfused: false,
    };
    let random =
        CpuModel::load(simple(), &Weights::Random(42), opts).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (logits(&model), logits(&random));
    assert_eq!(a.shape, vec![1, 7]);
    assert_eq!(a, b);
    // Counts asked for are checked against the file's, not silently replaced by them.
    let file = Weights::File(path.clone());
    let same = CpuModel::load(simple(), &file, opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(logits(&same), a);
    for (asked, want) in [
        (
            BuildOptions {
                classes: Some(5),
                ..opts
            },
            "5 classes asked for, but the weights' `fc.weight` [7, 64] has 7",
        ),
        (
            BuildOptions {
                blocks: Some(3),
                ..opts
            },
            "3 blocks asked for, but the weights hold 1",
        ),
    ] {
        let e = CpuModel::load(simple(), &file, asked)
            .err()
            .unwrap_or_else(|| panic!("{want}: loaded"));
        assert!(e.to_string().contains(want), "{e}");
    }
}

#[test]
fn truncated_file() {
    let dir = TempDir::new("truncated");
    let good = dir.join("good.safetensors");
    write(&good, &valid_tensors());
    let bytes = std::fs::read(&good).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("truncated.safetensors");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    let err = load(&path)
        .err()
        .unwrap_or_else(|| panic!("loaded a truncated file"));
    assert!(matches!(err, Error::BadFile { .. }), "{err:?}");
    assert!(err.to_string().contains("truncated.safetensors"), "{err}");
}

#[test]
fn corrupt_header() {
    let dir = TempDir::new("corrupt");
    let good = dir.join("good.safetensors");
    write(&good, &valid_tensors());
    let bytes = std::fs::read(&good).unwrap_or_else(|e| panic!("{e}"));
    // The JSON header starts after its 8-byte length: break its syntax.
    let mut broken = bytes.clone();
    broken[8..12].copy_from_slice(b"}{!#");
    // A header length far beyond the file.
    let mut huge = bytes;
    huge[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    for (file, data) in [("json.safetensors", broken), ("length.safetensors", huge)] {
        let path = dir.join(file);
        std::fs::write(&path, data).unwrap_or_else(|e| panic!("{e}"));
        let err = load(&path)
            .err()
            .unwrap_or_else(|| panic!("{file}: loaded"));
        assert!(matches!(err, Error::BadFile { .. }), "{file}: {err:?}");
        assert!(err.to_string().contains(file), "{err}");
    }
}

#[test]
fn wrong_shape() {
    let dir = TempDir::new("shape");
    let mut t = valid_tensors();
    let key = "res_blocks.0.conv1.weight";
    let entry = entry(&mut t, key);
    assert_eq!(entry.2, vec![64, 64, 3, 3]);
    entry.2 = vec![64, 64, 3, 1];
    entry.3.truncate(64 * 64 * 3 * 4);
    let (err, msg) = load_err(&dir, "shape.safetensors", &t);
    match err {
        Error::ShapeMismatch {
            key: k,
            expected,
            found,
            ..
        } => {
            assert_eq!(k, key);
            assert_eq!(expected, vec![64, 64, 3, 3]);
            assert_eq!(found, vec![64, 64, 3, 1]);
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    for part in [key, "[64, 64, 3, 3]", "[64, 64, 3, 1]"] {
        assert!(msg.contains(part), "`{msg}` does not mention {part}");
    }
}

#[test]
fn missing_key() {
    let dir = TempDir::new("missing");
    let mut t = valid_tensors();
    t.retain(|e| e.0 != "res_blocks.0.bn2.running_var");
    let (err, msg) = load_err(&dir, "missing.safetensors", &t);
    assert!(
        matches!(&err, Error::MissingTensor { key, expected, .. }
            if key == "res_blocks.0.bn2.running_var" && expected == &vec![64]),
        "{err:?}"
    );
    assert!(
        msg.contains("res_blocks.0.bn2.running_var") && msg.contains("[64]"),
        "{msg}"
    );
}

#[test]
fn unexpected_key() {
    let dir = TempDir::new("unexpected");
    let mut t = valid_tensors();
    t.push(("extra.weight".into(), Dtype::F32, vec![2, 3], vec![0; 24]));
    let (err, msg) = load_err(&dir, "unexpected.safetensors", &t);
    assert!(matches!(err, Error::UnexpectedTensors { .. }), "{err:?}");
    assert!(
        msg.contains("extra.weight") && msg.contains("[2, 3]"),
        "{msg}"
    );
}

#[test]
fn wrong_dtype() {
    let dir = TempDir::new("dtype");
    let mut t = valid_tensors();
    entry(&mut t, "conv1.weight").1 = Dtype::I32;
    let (err, msg) = load_err(&dir, "dtype.safetensors", &t);
    assert!(
        matches!(&err, Error::DtypeMismatch { key, found, .. } if key == "conv1.weight" && found == "I32"),
        "{err:?}"
    );
    assert!(
        msg.contains("conv1.weight") && msg.contains("F32") && msg.contains("I32"),
        "{msg}"
    );
}

/// Weights for another architecture name the first tensor that does not fit.
#[test]
fn wrong_architecture() {
    let dir = TempDir::new("arch");
    let path = dir.join("simple.safetensors");
    write(&path, &valid_tensors());
    let arch = Architecture::parse("resnet18").unwrap_or_else(|e| panic!("{e}"));
    let err = CpuModel::load(arch, &Weights::File(path), BuildOptions::default())
        .err()
        .unwrap_or_else(|| panic!("simple weights loaded as resnet18"));
    assert!(
        matches!(&err, Error::MissingTensor { key, .. } if key == "layer1.0.conv1.weight"),
        "{err:?}"
    );
}

#[test]
fn missing_file() {
    let dir = TempDir::new("nofile");
    let path = dir.join("nothing-here.safetensors");
    let err = load(&path)
        .err()
        .unwrap_or_else(|| panic!("loaded a missing file"));
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("nothing-here.safetensors"),
        "{err}"
    );
}

/// `module.` prefixes (DataParallel), `num_batches_tracked` counters (I64) and F64 tensors are
/// accepted and give the same logits as the plain file.
#[test]
fn accepted_variants() {
    let dir = TempDir::new("variants");
    let plain = valid_tensors();
    let path = dir.join("plain.safetensors");
    write(&path, &plain);
    let want = logits(&load(&path).unwrap_or_else(|e| panic!("{e}")));

    let prefixed: Vec<Raw> = plain
        .iter()
        .map(|(k, d, s, b)| (format!("module.{k}"), *d, s.clone(), b.clone()))
        .collect();
    let mut counted = plain.clone();
    for bn in ["bn1", "res_blocks.0.bn1", "res_blocks.0.bn2"] {
        counted.push((
            format!("{bn}.num_batches_tracked"),
            Dtype::I64,
            vec![],
            vec![0; 8],
        ));
    }
    let wide: Vec<Raw> = plain
        .iter()
        .map(|(k, _, s, b)| {
            let v: Vec<u8> = b
                .chunks_exact(4)
                .flat_map(|c| (f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).to_le_bytes())
                .collect();
            (k.clone(), Dtype::F64, s.clone(), v)
        })
        .collect();
    for (file, tensors) in [
        ("module.safetensors", prefixed),
        ("counted.safetensors", counted),
        ("f64.safetensors", wide),
    ] {
        let path = dir.join(file);
        write(&path, &tensors);
        let model = load(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(logits(&model), want, "{file}");
    }
}

/// Overwrites value `i` of tensor `key` (F32) with `v`.
fn set_value(tensors: &mut [Raw], key: &str, i: usize, v: f32) {
    entry(tensors, key).3[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
}

/// A NaN weight or a negative variance would fold into NaN weights: both are refused with
/// the tensor and the value named.
#[test]
fn non_finite_weights_and_negative_variances() {
    let dir = TempDir::new("values");
    let mut t = valid_tensors();
    set_value(&mut t, "res_blocks.0.conv2.weight", 7, f32::NAN);
    let (err, msg) = load_err(&dir, "nan.safetensors", &t);
    assert!(matches!(err, Error::BadFile { .. }), "{err:?}");
    assert!(
        msg.contains("nan.safetensors")
            && msg.contains("`res_blocks.0.conv2.weight` [64, 64, 3, 3]: value 7 is NaN"),
        "{msg}"
    );

    let mut t = valid_tensors();
    set_value(&mut t, "res_blocks.0.bn1.running_var", 3, -1.0);
    let (_, msg) = load_err(&dir, "var.safetensors", &t);
    assert!(
        msg.contains("res_blocks.0.bn1") && msg.contains("running_var[3]"),
        "{msg}"
    );

    let mut t = valid_tensors();
    set_value(&mut t, "bn1.bias", 0, f32::INFINITY);
    let (_, msg) = load_err(&dir, "inf.safetensors", &t);
    assert!(msg.contains("`bn1.bias` [64]: value 0 is inf"), "{msg}");
}

/// `x` and `module.x` in one file name the same parameter twice: refused, not one of them
/// silently winning.
#[test]
fn a_parameter_given_with_and_without_module_prefix() {
    let dir = TempDir::new("twice");
    let mut t = valid_tensors();
    let bias = t
        .iter()
        .find(|e| e.0 == "bn1.bias")
        .cloned()
        .unwrap_or_else(|| panic!("bn1.bias"));
    t.push(("module.bn1.bias".into(), bias.1, bias.2, bias.3));
    let (err, msg) = load_err(&dir, "twice.safetensors", &t);
    assert!(matches!(err, Error::BadFile { .. }), "{err:?}");
    assert!(msg.contains("`bn1.bias` and `module.bn1.bias`"), "{msg}");
}

#[test]
fn writing_one_name_twice_is_an_error() {
    let dir = TempDir::new("write");
    let path = dir.join("twice.safetensors");
    let a = Tensor::new(vec![2], vec![1.0, 2.0]);
    let b = Tensor::new(vec![1], vec![3.0]);
    let err = resnet_wgpu::weights::write_safetensors(&path, &[("a", &a), ("a", &b)])
        .expect_err("two tensors named a");
    assert!(err.to_string().contains("`a` given twice"), "{err}");
    assert!(!path.exists(), "a file was written");
}
