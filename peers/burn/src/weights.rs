//! The seeded weights both engines run: our graph builder draws them from
//! [`RandomSource`] (exactly as `random:SEED` does) through [`Recording`], which keeps a copy of
//! every tensor under its torchvision key, unfolded (conv weights OIHW, BN γ/β/mean/var, `fc`
//! weight `[classes, features]`), for the burn model to load.

use std::collections::BTreeMap;

use resnet_wgpu::weights::{ParamKind, ParamSource, RandomSource};
use resnet_wgpu::{Architecture, BuildOptions, Graph, Result, Tensor};

/// A [`ParamSource`] that forwards to the seeded generator and records what it hands out.
pub struct Recording {
    inner: RandomSource,
    /// Every tensor taken so far, by key.
    pub tensors: BTreeMap<String, Tensor>,
}

impl Recording {
    pub fn new(seed: u64) -> Self {
        Recording {
            inner: RandomSource::new(seed),
            tensors: BTreeMap::new(),
        }
    }
}

impl ParamSource for Recording {
    fn take(&mut self, key: &str, shape: &[usize], kind: ParamKind) -> Result<Vec<f32>> {
        let data = self.inner.take(key, shape, kind)?;
        let tensor = Tensor::new(shape.to_vec(), data.clone());
        self.tensors.insert(key.to_string(), tensor);
        Ok(data)
    }

    fn finish(&self, arch: &str) -> Result<()> {
        self.inner.finish(arch)
    }

    fn shape_of(&self, key: &str) -> Option<Vec<usize>> {
        self.inner.shape_of(key)
    }

    fn keys(&self) -> Vec<String> {
        self.inner.keys()
    }
}

/// Our graph of `arch` (BN folded, as `random:SEED` builds it) and the unfolded tensors it was
/// built from.
pub fn seeded(arch: Architecture, seed: u64) -> Result<(Graph, BTreeMap<String, Tensor>)> {
    let mut src = Recording::new(seed);
    let graph = resnet_wgpu::model::build_graph(arch, &mut src, BuildOptions::default())?;
    Ok((graph, src.tensors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_what_the_generator_hands_out() {
        let kind = ParamKind::ConvWeight { fan_in: 27 };
        let mut rec = Recording::new(3);
        let got = rec.take("a.weight", &[4, 3, 3, 3], kind).unwrap();
        let want = RandomSource::new(3)
            .take("a.weight", &[4, 3, 3, 3], kind)
            .unwrap();
        assert_eq!(got, want);
        assert_eq!(rec.tensors["a.weight"], Tensor::new(vec![4, 3, 3, 3], want));
    }

    #[test]
    fn resnet18_has_torchvision_keys_unfolded() {
        let (_, t) = seeded(Architecture::ImageNet(18), 1).unwrap();
        // conv1 + bn1 (5), 8 blocks of 2 conv + 2 BN (80), 3 downsamples (15), fc (2).
        assert_eq!(t.len(), 102);
        assert_eq!(t["conv1.weight"].shape, [64, 3, 7, 7]);
        assert_eq!(t["layer2.0.downsample.1.running_var"].shape, [128]);
        assert_eq!(t["fc.weight"].shape, [1000, 512]);
    }
}
