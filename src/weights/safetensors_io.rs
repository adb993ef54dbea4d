//! safetensors reading and writing. Floating tensors (F32, F16, BF16, F64) are read as f32;
//! `num_batches_tracked` counters are ignored; a leading `module.` (DataParallel) is removed.

use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use super::{NamedTensors, Tensor};
use crate::error::{Error, Result};

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes).map_err(|e| Error::BadFile {
        path: path.display().to_string(),
        reason: format!("{e} (the file has {} bytes)", bytes.len()),
    })
}

/// Converts one tensor view of the file `path` to f32, or says which dtype it has.
fn to_f32(path: &Path, key: &str, view: &TensorView<'_>) -> Result<Vec<f32>> {
    let data = view.data();
    let out = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
        other => {
            return Err(Error::DtypeMismatch {
                origin: path.display().to_string(),
                key: key.to_string(),
                expected: "F32 (or F16, BF16, F64)".to_string(),
                found: format!("{other:?}"),
            })
        }
    };
    Ok(out)
}

/// Loads every floating tensor of a safetensors weights file.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<NamedTensors> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let st = parse(path, &bytes)?;
    let mut out = NamedTensors {
        origin: path.display().to_string(),
        ..Default::default()
    };
    for (name, view) in st.tensors() {
        let key = name.strip_prefix("module.").unwrap_or(&name).to_string();
        if key.ends_with("num_batches_tracked") {
            continue;
        }
        let data = to_f32(path, &key, &view)?;
        // `x` and `module.x` name the same parameter: two copies leave no way to tell which
        // one is meant.
        if out.tensors.contains_key(&key) {
            return Err(Error::BadFile {
                path: path.display().to_string(),
                reason: format!(
                    "tensors `{key}` and `module.{key}` both name parameter `{key}`; expected one"
                ),
            });
        }
        out.tensors
            .insert(key, Tensor::new(view.shape().to_vec(), data));
    }
    Ok(out)
}

/// Reads the tensor `name` of a safetensors file as f32.
pub fn read_tensor(path: impl AsRef<Path>, name: &str) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let st = parse(path, &bytes)?;
    let view = st.tensor(name).map_err(|_| {
        let names = st
            .names()
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Error::InvalidInput(format!(
            "{}: no tensor named `{name}` (found: {names})",
            path.display()
        ))
    })?;
    Ok(Tensor::new(
        view.shape().to_vec(),
        to_f32(path, name, &view)?,
    ))
}

/// Writes f32 tensors to a safetensors file.
pub fn write_safetensors(path: impl AsRef<Path>, tensors: &[(&str, &Tensor)]) -> Result<()> {
    let path = path.as_ref();
    for (i, (name, _)) in tensors.iter().enumerate() {
        if tensors[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::InvalidInput(format!(
                "{}: tensor name `{name}` given twice; expected each name once",
                path.display()
            )));
        }
    }
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, t)| t.data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let mut views = Vec::new();
    for ((name, t), b) in tensors.iter().zip(&bytes) {
        let view = TensorView::new(Dtype::F32, t.shape.clone(), b)
            .map_err(|e| Error::InvalidInput(format!("tensor `{name}` {:?}: {e}", t.shape)))?;
        views.push((name.to_string(), view));
    }
    let out = safetensors::serialize(views, None).map_err(|e| Error::BadFile {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    std::fs::write(path, out).map_err(|e| Error::io(path, e))
}
