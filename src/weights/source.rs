//! Where a graph builder gets its parameters: a file's tensors (checked for name and shape) or
//! a seeded generator. One builder serves both, so random and real weights follow one path.

use std::collections::BTreeSet;

use super::NamedTensors;
use crate::error::{Error, Result};

/// What a parameter is, so that a generator can choose a sensible distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamKind {
    /// Conv weight with the given fan-in (Cin·KH·KW).
    ConvWeight {
        fan_in: usize,
    },
    ConvBias,
    /// BN γ; `scale` multiplies the generator's range (small on a block's last BN).
    BnGamma {
        scale: f32,
    },
    BnBeta,
    BnMean,
    BnVar,
    /// Classifier weight with the given fan-in.
    LinearWeight {
        fan_in: usize,
    },
    LinearBias,
}

/// A supplier of named parameters.
pub trait ParamSource {
    /// The tensor `key` of shape `shape`, row-major.
    fn take(&mut self, key: &str, shape: &[usize], kind: ParamKind) -> Result<Vec<f32>>;
    /// Called once the whole architecture has been built: reports what was left unused.
    fn finish(&self, arch: &str) -> Result<()>;
    /// Shape of a tensor if the source has one (used to read class and block counts).
    fn shape_of(&self, key: &str) -> Option<Vec<usize>>;
    /// All keys the source holds.
    fn keys(&self) -> Vec<String>;
}

/// Parameters from a file, checked against what the architecture expects.
pub struct FileSource {
    tensors: NamedTensors,
    used: BTreeSet<String>,
}

impl FileSource {
    pub fn new(tensors: NamedTensors) -> Self {
        FileSource {
            tensors,
            used: BTreeSet::new(),
        }
    }
}

impl ParamSource for FileSource {
    fn take(&mut self, key: &str, shape: &[usize], _kind: ParamKind) -> Result<Vec<f32>> {
        let t = self
            .tensors
            .tensors
            .get(key)
            .ok_or_else(|| Error::MissingTensor {
                origin: self.tensors.origin.clone(),
                key: key.to_string(),
                expected: shape.to_vec(),
            })?;
        if t.shape != shape {
            return Err(Error::ShapeMismatch {
                origin: self.tensors.origin.clone(),
                key: key.to_string(),
                expected: shape.to_vec(),
                found: t.shape.clone(),
            });
        }
        if let Some(i) = super::first_non_finite(&t.data) {
            return Err(Error::BadFile {
                path: self.tensors.origin.clone(),
                reason: format!(
                    "tensor `{key}` {:?}: value {i} is {}; expected finite values",
                    t.shape, t.data[i]
                ),
            });
        }
        self.used.insert(key.to_string());
        Ok(t.data.clone())
    }

    fn finish(&self, arch: &str) -> Result<()> {
        let unused: Vec<&str> = self
            .tensors
            .tensors
            .iter()
            .filter(|(k, _)| !self.used.contains(*k))
            .map(|(k, t)| (k.as_str(), t))
            .map(|(k, _)| k)
            .collect();
        if unused.is_empty() {
            return Ok(());
        }
        let mut keys: Vec<String> = unused
            .iter()
            .take(8)
            .map(|k| format!("`{k}` {:?}", self.tensors.tensors[*k].shape))
            .collect();
        if unused.len() > 8 {
            keys.push(format!("and {} more", unused.len() - 8));
        }
        Err(Error::UnexpectedTensors {
            arch: format!("{arch} (from {})", self.tensors.origin),
            keys: keys.join(", "),
        })
    }

    fn shape_of(&self, key: &str) -> Option<Vec<usize>> {
        self.tensors.tensors.get(key).map(|t| t.shape.clone())
    }

    fn keys(&self) -> Vec<String> {
        self.tensors.tensors.keys().cloned().collect()
    }
}
