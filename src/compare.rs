//! Comparing logits against a reference: max |a − b|, max |a − b| / max |b| and the fraction
//! of rows whose argmax agrees.

use crate::weights::Tensor;

/// How two sets of logits `[N, classes]` differ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// max |a − b|
    pub max_abs_err: f64,
    /// max |b|
    pub max_abs_ref: f64,
    /// max |a − b| / max |b|
    pub max_rel_err: f64,
    /// Fraction of rows whose argmax agrees (0..1).
    pub top1_agreement: f64,
}

/// Index of the largest value (the first on ties).
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// Compares `got` against the reference `want` (same shape `[N, classes]`).
pub fn compare(got: &Tensor, want: &Tensor) -> Comparison {
    let classes = want.shape.last().copied().unwrap_or(1).max(1);
    let max_abs_err = got
        .data
        .iter()
        .zip(&want.data)
        .map(|(a, b)| (*a as f64 - *b as f64).abs())
        .fold(0.0, f64::max);
    let max_abs_ref = want.data.iter().map(|v| v.abs() as f64).fold(0.0, f64::max);
    let rows = want.data.len() / classes;
    let agree = got
        .data
        .chunks(classes)
        .zip(want.data.chunks(classes))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    Comparison {
        max_abs_err,
        max_abs_ref,
        max_rel_err: if max_abs_ref > 0.0 {
            max_abs_err / max_abs_ref
        } else {
            max_abs_err
        },
        top1_agreement: if rows > 0 {
            agree as f64 / rows as f64
        } else {
            0.0
        },
    }
}
