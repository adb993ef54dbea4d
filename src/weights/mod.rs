//! Weights: named f32 tensors read from safetensors files (or generated from a seed), checked
//! against an architecture, and batch norms folded into convs.

mod fold;
mod random;
mod safetensors_io;
mod source;

pub use fold::{fold_bn, BatchNorm};
pub use random::{random_images, random_input, RandomSource};
pub use safetensors_io::{load_safetensors, read_tensor, write_safetensors};
pub use source::{FileSource, ParamKind, ParamSource};

use std::collections::BTreeMap;

/// A dense row-major f32 tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl AsRef<Tensor> for Tensor {
    fn as_ref(&self) -> &Tensor {
        self
    }
}

/// The number of values a tensor of `shape` holds, or `None` where it overflows `usize`.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Index of the first NaN or infinity in `values`, if any. Scans blocks branch-free (the
/// compiler vectorizes the fold), so checking a batch of images costs about a copy of it.
pub fn first_non_finite(values: &[f32]) -> Option<usize> {
    const BLOCK: usize = 4096;
    values.chunks(BLOCK).enumerate().find_map(|(b, block)| {
        if block.iter().fold(true, |ok, v| ok & v.is_finite()) {
            None
        } else {
            block
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| b * BLOCK + i)
        }
    })
}

impl Tensor {
    /// Whether the data holds exactly the values the shape implies.
    pub fn fills_shape(&self) -> bool {
        element_count(&self.shape) == Some(self.data.len())
    }

    /// A tensor of the given shape.
    ///
    /// # Panics
    ///
    /// If `data.len()` is not the product of the shape ([`Tensor::try_new`] returns an error
    /// instead).
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self::try_new(shape, data).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A tensor of the given shape, or an error where `data.len()` is not the product of the
    /// shape.
    pub fn try_new(shape: Vec<usize>, data: Vec<f32>) -> crate::Result<Self> {
        let len = element_count(&shape);
        if len != Some(data.len()) {
            return Err(crate::Error::InvalidInput(format!(
                "tensor of shape {shape:?}: expected {} values, found {}",
                len.map_or_else(|| "more than usize::MAX".to_string(), |n| n.to_string()),
                data.len()
            )));
        }
        Ok(Tensor { shape, data })
    }

    /// A tensor of `shape` whose values `value` gives in order; an error, not an abort, where
    /// its size overflows or the host cannot allocate it (a batch or input size far too large
    /// for the machine).
    pub fn try_from_fn(shape: Vec<usize>, value: impl FnMut() -> f32) -> crate::Result<Self> {
        let too_large = |why: &str| {
            crate::Error::InvalidInput(format!(
                "input of shape {shape:?}: {why}; expected fewer images or smaller ones"
            ))
        };
        let n = element_count(&shape)
            .filter(|n| n.checked_mul(size_of::<f32>()).is_some())
            .ok_or_else(|| too_large("its size overflows the address space"))?;
        let mut data = Vec::new();
        data.try_reserve_exact(n).map_err(|_| {
            too_large(&format!(
                "its {:.1} GB could not be allocated on the host",
                (n * size_of::<f32>()) as f64 / 1e9
            ))
        })?;
        data.extend(std::iter::repeat_with(value).take(n));
        Ok(Tensor { shape, data })
    }
}

/// Tensors by name, as found in a file (with any `module.` prefix removed).
#[derive(Clone, Debug, Default)]
pub struct NamedTensors {
    /// Where the tensors came from, for messages.
    pub origin: String,
    pub tensors: BTreeMap<String, Tensor>,
}
