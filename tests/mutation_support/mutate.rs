//! Mutations of any file: truncations, bit flips, bytes set to boundary values, deleted and
//! repeated ranges; and the mix of these with the format-aware edits of [`super::formats`]
//! that each corpus uses.

use super::formats;
use super::{Mutant, Rng};

/// Bytes that sit on boundaries of the fields they land in.
const BYTES: [u8; 8] = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, b'"', b'9'];

/// A cut at a random length, biased towards the two ends of the file.
pub fn truncate(rng: &mut Rng, bytes: &[u8]) -> Mutant {
    let len = bytes.len();
    let keep = match rng.below(4) {
        0 => rng.below(len.min(64)),
        1 => len.saturating_sub(1 + rng.below(len.min(64))),
        _ => rng.below(len),
    };
    Mutant {
        bytes: bytes[..keep].to_vec(),
        what: format!("truncated to {keep} of {len} bytes"),
    }
}

/// One of the blind edits, anywhere in the file.
pub fn blind(rng: &mut Rng, bytes: &[u8]) -> Mutant {
    let mut b = bytes.to_vec();
    let len = b.len().max(1);
    match rng.below(5) {
        0 => truncate(rng, bytes),
        1 => {
            let n = 1 + rng.below(8);
            let mut at = Vec::new();
            for _ in 0..n {
                let (i, bit) = (rng.below(len), rng.below(8));
                if let Some(v) = b.get_mut(i) {
                    *v ^= 1 << bit;
                    at.push(i);
                }
            }
            Mutant {
                bytes: b,
                what: format!("bits flipped at offsets {at:?}"),
            }
        }
        2 => {
            let n = 1 + rng.below(4);
            let mut at = Vec::new();
            for _ in 0..n {
                let (i, v) = (rng.below(len), *rng.pick(&BYTES));
                if let Some(x) = b.get_mut(i) {
                    *x = v;
                    at.push((i, v));
                }
            }
            Mutant {
                bytes: b,
                what: format!("bytes set (offset, value) {at:?}"),
            }
        }
        3 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(b.len());
            b.drain(start.min(end)..end);
            Mutant {
                bytes: b,
                what: format!("bytes {start}..{end} deleted"),
            }
        }
        _ => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(b.len());
            let copy = b[start.min(end)..end].to_vec();
            let at = rng.below(len);
            b.splice(at..at, copy);
            Mutant {
                bytes: b,
                what: format!("bytes {start}..{end} repeated at {at}"),
            }
        }
    }
}

/// Which structure-aware editor a corpus uses.
#[derive(Clone, Copy, Debug)]
pub enum Format {
    Safetensors,
    Onnx,
    Png,
    Jpeg,
}

/// A mutant of a `format` file: a structure-aware edit three times in five (falling back to a
/// blind one where the structure cannot be read), a blind edit otherwise.
pub fn mutant(format: Format, rng: &mut Rng, bytes: &[u8]) -> Mutant {
    if rng.below(5) < 2 {
        return blind(rng, bytes);
    }
    let edited = match format {
        Format::Safetensors => formats::safetensors(rng, bytes),
        Format::Onnx => formats::protobuf(rng, bytes),
        Format::Png => formats::png(rng, bytes),
        Format::Jpeg => formats::jpeg(rng, bytes),
    };
    edited.unwrap_or_else(|| blind(rng, bytes))
}
