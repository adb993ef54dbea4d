//! Batch-norm folding, computed in f64.
//!
//! A conv followed by an inference-mode batch norm,
//! `y = γ·(conv(x, W) + b − μ)/√(σ² + ε) + β`, equals one conv with
//! `s = γ/√(σ² + ε)`, `W' = W·s` (per output channel), `b' = β − μ·s + s·b`.

/// Inference-mode batch-norm parameters, one entry per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
    pub eps: f64,
}

impl BatchNorm {
    /// Checks that every channel's parameters are finite and its `σ² + ε` positive (a
    /// negative or NaN variance would fold into NaN weights); the error names `name`, the
    /// channel and the value found.
    pub fn check(&self, name: &str) -> Result<(), String> {
        let params = [
            ("weight", &self.gamma),
            ("bias", &self.beta),
            ("running_mean", &self.mean),
            ("running_var", &self.var),
        ];
        for (what, values) in params {
            if let Some(c) = super::first_non_finite(values) {
                return Err(format!(
                    "batch norm `{name}`: {what}[{c}] is {}; expected a finite value",
                    values[c]
                ));
            }
        }
        if let Some(c) = self.var.iter().position(|&v| v as f64 + self.eps <= 0.0) {
            return Err(format!(
                "batch norm `{name}`: running_var[{c}] + eps = {} + {} is not positive; \
                 expected running_var + eps > 0",
                self.var[c], self.eps
            ));
        }
        Ok(())
    }

    /// The per-channel affine form `(scale, shift)` with `y = x·scale + shift`.
    pub fn scale_shift(&self) -> (Vec<f32>, Vec<f32>) {
        let s = self.scales();
        let shift = (0..s.len())
            .map(|c| (self.beta[c] as f64 - self.mean[c] as f64 * s[c]) as f32)
            .collect();
        (s.iter().map(|&v| v as f32).collect(), shift)
    }

    fn scales(&self) -> Vec<f64> {
        self.gamma
            .iter()
            .zip(&self.var)
            .map(|(&g, &v)| g as f64 / (v as f64 + self.eps).sqrt())
            .collect()
    }
}

/// Folds `bn` into a conv whose weights are `[Cout][rest]` (any layout whose outermost
/// dimension is the output channel, such as OIHW) and whose optional bias is `conv_bias`.
/// Returns `(W', b')`.
pub fn fold_bn(weight: &[f32], conv_bias: Option<&[f32]>, bn: &BatchNorm) -> (Vec<f32>, Vec<f32>) {
    let cout = bn.gamma.len();
    let per_out = weight.len() / cout.max(1);
    let s = bn.scales();
    let mut w = Vec::with_capacity(weight.len());
    for (co, chunk) in weight.chunks(per_out).enumerate() {
        w.extend(chunk.iter().map(|&v| (v as f64 * s[co]) as f32));
    }
    let b = (0..cout)
        .map(|co| {
            let conv_b = conv_bias.map_or(0.0, |b| b[co] as f64);
            (bn.beta[co] as f64 - bn.mean[co] as f64 * s[co] + s[co] * conv_b) as f32
        })
        .collect();
    (w, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Folded conv output equals conv → BN computed the long way, for a 1-pixel "conv".
    #[test]
    fn folded_equals_unfolded() {
        let bn = BatchNorm {
            gamma: vec![0.7, 1.3],
            beta: vec![0.1, -0.2],
            mean: vec![0.05, -0.3],
            var: vec![0.9, 1.4],
            eps: 1e-3,
        };
        let w = [0.5f32, -1.0, 2.0, 0.25, 0.75, -0.5]; // [2][3]
        let b = [0.3f32, -0.1];
        let x = [1.5f32, -0.5, 2.0];
        let (wf, bf) = fold_bn(&w, Some(&b), &bn);
        for co in 0..2 {
            let conv: f64 = (0..3)
                .map(|i| w[co * 3 + i] as f64 * x[i] as f64)
                .sum::<f64>()
                + b[co] as f64;
            let expect = bn.gamma[co] as f64 * (conv - bn.mean[co] as f64)
                / (bn.var[co] as f64 + bn.eps).sqrt()
                + bn.beta[co] as f64;
            let got: f64 = (0..3)
                .map(|i| wf[co * 3 + i] as f64 * x[i] as f64)
                .sum::<f64>()
                + bf[co] as f64;
            assert!(
                (got - expect).abs() < 1e-5,
                "channel {co}: {got} vs {expect}"
            );
        }
        let (wn, bn_only) = fold_bn(&w, None, &bn);
        assert_eq!(wn, wf);
        assert!((bn_only[0] - (bf[0] - 0.3 * 0.7 / (0.9f64 + 1e-3).sqrt() as f32)).abs() < 1e-6);
    }

    #[test]
    fn a_negative_or_non_finite_parameter_is_named() {
        let good = BatchNorm {
            gamma: vec![1.0, 1.0],
            beta: vec![0.0, 0.0],
            mean: vec![0.0, 0.0],
            var: vec![1.0, 0.0],
            eps: 1e-5,
        };
        assert_eq!(good.check("bn1"), Ok(()));
        let negative = BatchNorm {
            var: vec![1.0, -1.0],
            ..good.clone()
        };
        let e = negative.check("bn1").expect_err("a negative variance");
        assert!(e.contains("bn1") && e.contains("running_var[1]"), "{e}");
        let nan = BatchNorm {
            mean: vec![f32::NAN, 0.0],
            ..good
        };
        let e = nan.check("layer1.0.bn2").expect_err("a NaN mean");
        assert!(
            e.contains("layer1.0.bn2") && e.contains("running_mean[0] is NaN"),
            "{e}"
        );
    }

    #[test]
    fn scale_shift_matches_formula() {
        let bn = BatchNorm {
            gamma: vec![2.0],
            beta: vec![1.0],
            mean: vec![3.0],
            var: vec![3.0],
            eps: 1.0,
        };
        let (s, t) = bn.scale_shift();
        assert!((s[0] - 1.0).abs() < 1e-7);
        assert!((t[0] - (1.0 - 3.0)).abs() < 1e-7);
    }
}
