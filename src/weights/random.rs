//! Seeded random weights, scaled so that even a 152-layer network keeps logits of order one:
//! He-normal convs `N(0, √(2/fan_in))`, conv biases `N(0, 0.05)`, BN `γ ~ U(0.5, 1.5)·scale`
//! (scale 0.2 on a block's last BN), `β ~ N(0, 0.05)`, `μ ~ N(0, 0.1)`, `σ² ~ U(0.5, 1.5)`,
//! classifier `N(0, 1/√fan_in)` with bias `N(0, 0.01)`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::{ParamKind, ParamSource, Tensor};
use crate::error::Result;

/// Parameters drawn from a seeded generator; every request succeeds.
pub struct RandomSource {
    rng: StdRng,
}

impl RandomSource {
    pub fn new(seed: u64) -> Self {
        RandomSource {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn normal(&mut self, n: usize, std: f64) -> Vec<f32> {
        let d =
            Normal::new(0.0, std).unwrap_or_else(|_| Normal::new(0.0, 1.0).expect("unit normal"));
        (0..n).map(|_| d.sample(&mut self.rng) as f32).collect()
    }

    fn uniform(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.rng.random_range(lo..hi)).collect()
    }
}

impl ParamSource for RandomSource {
    fn take(&mut self, _key: &str, shape: &[usize], kind: ParamKind) -> Result<Vec<f32>> {
        let n: usize = shape.iter().product();
        Ok(match kind {
            ParamKind::ConvWeight { fan_in } => self.normal(n, (2.0 / fan_in.max(1) as f64).sqrt()),
            ParamKind::ConvBias => self.normal(n, 0.05),
            ParamKind::BnGamma { scale } => self
                .uniform(n, 0.5, 1.5)
                .into_iter()
                .map(|g| g * scale)
                .collect(),
            ParamKind::BnBeta => self.normal(n, 0.05),
            ParamKind::BnMean => self.normal(n, 0.1),
            ParamKind::BnVar => self.uniform(n, 0.5, 1.5),
            ParamKind::LinearWeight { fan_in } => {
                self.normal(n, 1.0 / (fan_in.max(1) as f64).sqrt())
            }
            ParamKind::LinearBias => self.normal(n, 0.01),
        })
    }

    fn finish(&self, _arch: &str) -> Result<()> {
        Ok(())
    }

    fn shape_of(&self, _key: &str) -> Option<Vec<usize>> {
        None
    }

    fn keys(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A seeded standard-normal tensor (used for test and `verify` inputs).
pub fn random_input(seed: u64, n: usize) -> Vec<f32> {
    RandomSource::new(seed).normal(n, 1.0)
}

/// [`random_input`] as an NCHW tensor of `shape`, the same values for the same seed; an error,
/// not an abort, where the host cannot hold it ([`Tensor::try_from_fn`]).
pub fn random_images(seed: u64, shape: [usize; 4]) -> Result<Tensor> {
    let mut source = RandomSource::new(seed);
    let d = Normal::new(0.0, 1.0).expect("unit normal");
    Tensor::try_from_fn(shape.to_vec(), || d.sample(&mut source.rng) as f32)
}
