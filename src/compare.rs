//! Comparing logits against a reference: max |a − b|, max |a − b| / max |b| and the fraction
//! of rows whose argmax agrees. A NaN on either side makes the maxima NaN (an infinity, infinite),
//! so that no check of them can pass a non-finite output.

use crate::error::{Error, Result};
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

/// Index of the largest value (the first on ties); a NaN counts as larger than any number,
/// as in NumPy and PyTorch, so the first NaN wins (NaN rows never agree by accident).
pub fn argmax(row: &[f32]) -> usize {
    if let Some(i) = row.iter().position(|v| v.is_nan()) {
        return i;
    }
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

/// The larger of `a` and `b`, NaN where either is (`f64::max` would drop it).
fn max_or_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Compares `got` against the reference `want`; an error where their shapes differ or a
/// tensor's data does not fill its shape (a check must not pass on a cut-short output).
pub fn compare(got: &Tensor, want: &Tensor) -> Result<Comparison> {
    for (which, t) in [("output", got), ("reference", want)] {
        if !t.fills_shape() {
            return Err(Error::InvalidInput(format!(
                "comparing logits: the {which} has {} values for shape {:?}",
                t.data.len(),
                t.shape
            )));
        }
    }
    if got.shape != want.shape {
        return Err(Error::InvalidInput(format!(
            "comparing logits: the output has shape {:?}; expected the reference's {:?}",
            got.shape, want.shape
        )));
    }
    let classes = want.shape.last().copied().unwrap_or(1).max(1);
    let max_abs_err = got
        .data
        .iter()
        .zip(&want.data)
        .map(|(a, b)| (*a as f64 - *b as f64).abs())
        .fold(0.0, max_or_nan);
    let max_abs_ref = want
        .data
        .iter()
        .map(|v| v.abs() as f64)
        .fold(0.0, max_or_nan);
    let rows = want.data.len() / classes;
    let agree = got
        .data
        .chunks(classes)
        .zip(want.data.chunks(classes))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    Ok(Comparison {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits(data: &[f32]) -> Tensor {
        Tensor::new(vec![1, data.len()], data.to_vec())
    }

    fn compare_ok(got: &Tensor, want: &Tensor) -> Comparison {
        compare(got, want).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn differences_and_agreement() {
        let c = compare_ok(&logits(&[1.0, 3.5, -2.0]), &logits(&[1.5, 4.0, -2.0]));
        assert_eq!(c.max_abs_err, 0.5);
        assert_eq!(c.max_abs_ref, 4.0);
        assert_eq!(c.max_rel_err, 0.125);
        assert_eq!(c.top1_agreement, 1.0);
    }

    #[test]
    fn a_non_finite_output_never_compares_as_close() {
        // NaN anywhere (first, middle or last, where a fold from 0 with f64::max forgets it).
        for at in 0..3 {
            let mut got = [1.0, 2.0, 3.0];
            got[at] = f32::NAN;
            let c = compare_ok(&logits(&got), &logits(&[1.0, 2.0, 3.0]));
            assert!(c.max_abs_err.is_nan(), "NaN at {at}: {c:?}");
            assert!(c.max_rel_err.is_nan(), "NaN at {at}: {c:?}");
        }
        let c = compare_ok(&logits(&[f32::INFINITY, 0.0]), &logits(&[1.0, 0.0]));
        assert_eq!(c.max_abs_err, f64::INFINITY);
        let c = compare_ok(&logits(&[1.0, 0.0]), &logits(&[f32::NAN, 0.0]));
        assert!(c.max_abs_ref.is_nan() && c.max_rel_err.is_nan(), "{c:?}");
    }

    #[test]
    fn a_nan_row_never_agrees_by_accident() {
        assert_eq!(argmax(&[1.0, f32::NAN, 5.0]), 1);
        assert_eq!(argmax(&[f32::NAN, f32::NAN]), 0);
        assert_eq!(argmax(&[1.0, 5.0, 5.0]), 1);
        let c = compare_ok(&logits(&[f32::NAN, 0.0, 1.0]), &logits(&[0.0, 0.0, 1.0]));
        assert_eq!(c.top1_agreement, 0.0);
    }

    #[test]
    fn shapes_that_differ_are_an_error() {
        let want = Tensor::new(vec![1, 3], vec![1.0, 2.0, 3.0]);
        for got in [
            Tensor::new(vec![1, 0], vec![]),
            Tensor::new(vec![3, 1], vec![1.0, 2.0, 3.0]),
            Tensor::new(vec![2, 3], vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0]),
        ] {
            let e = compare(&got, &want).expect_err("shapes differ");
            assert!(e.to_string().contains(&format!("{:?}", got.shape)), "{e}");
        }
        let short = Tensor {
            shape: vec![1, 3],
            data: vec![1.0, 2.0],
        };
        let e = compare(&short, &want).expect_err("2 values for [1, 3]");
        assert!(e.to_string().contains("2 values"), "{e}");
    }
}
