//! Structure-aware edits: each reads the file's layout (safetensors header, protobuf fields,
//! PNG chunks, JPEG segments) and changes one field to a boundary value; `None` when the
//! layout cannot be read (the caller then edits blindly).

mod images;
mod protobuf;
mod safetensors;

pub use images::{jpeg, png};
pub use protobuf::protobuf;
pub use safetensors::safetensors;

use super::Mutant;

/// `bytes` with `range` replaced by `with`.
fn splice(bytes: &[u8], range: std::ops::Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b.splice(range, with.iter().copied());
    b
}

fn mutant(bytes: Vec<u8>, what: String) -> Option<Mutant> {
    Some(Mutant { bytes, what })
}
