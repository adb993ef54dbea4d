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

impl Tensor {
    /// A tensor of the given shape; `data.len()` must equal the product of the shape.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor { shape, data }
    }
}

/// Tensors by name, as found in a file (with any `module.` prefix removed).
#[derive(Clone, Debug, Default)]
pub struct NamedTensors {
    /// Where the tensors came from, for messages.
    pub origin: String,
    pub tensors: BTreeMap<String, Tensor>,
}
