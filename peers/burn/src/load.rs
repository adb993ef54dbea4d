//! burn modules from named host tensors: each helper takes the tensors under one torchvision key
//! prefix and builds the matching `burn::nn` module on the device with them as parameters
//! (conv weights stay OIHW, as burn stores them; the `fc` weight is transposed to burn's
//! `[d_input, d_output]`). With `fold`, a conv takes its batch norm folded into its weights and
//! a bias (our own folding, as our engine runs it) instead.

use std::collections::BTreeMap;

use burn::module::{Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, PaddingConfig2d};
use burn::tensor::{Device, Tensor, TensorData};
use resnet_wgpu::weights::fold_bn;
use resnet_wgpu::Tensor as Host;

/// The recorded tensors and the device their modules go to.
pub struct Params<'a> {
    pub tensors: &'a BTreeMap<String, Host>,
    pub device: &'a Device,
    /// Fold each batch norm into its conv ([`Params::conv_folded`]).
    pub fold: bool,
}

impl Params<'_> {
    /// Whether the tensors hold `key`.
    pub fn has(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    fn host(&self, key: &str) -> &Host {
        self.tensors
            .get(key)
            .unwrap_or_else(|| panic!("the recorded weights hold no `{key}`"))
    }

    fn tensor<const D: usize>(&self, key: &str) -> Tensor<D> {
        let t = self.host(key);
        assert_eq!(t.shape.len(), D, "`{key}` has shape {:?}", t.shape);
        Tensor::from_data(
            TensorData::new(t.data.clone(), t.shape.clone()),
            self.device,
        )
    }

    /// A bias-free square conv `key.weight` (OIHW) with `stride` and symmetric `pad`.
    pub fn conv(&self, key: &str, stride: usize, pad: usize) -> Conv2d {
        conv2d(self.tensor(&format!("{key}.weight")), None, stride, pad)
    }

    /// The conv `conv.weight` with the batch norm `bn` folded in: weights `W·s` and bias
    /// `β − μ·s` per output channel, `s = γ/√(σ² + ε)`.
    pub fn conv_folded(&self, conv: &str, bn: &str, stride: usize, pad: usize) -> Conv2d {
        let w = self.host(&format!("{conv}.weight"));
        let v = |name: &str| self.host(&format!("{bn}.{name}")).data.clone();
        let norm = resnet_wgpu::weights::BatchNorm {
            gamma: v("weight"),
            beta: v("bias"),
            mean: v("running_mean"),
            var: v("running_var"),
            eps: 1e-5,
        };
        let (wf, bf) = fold_bn(&w.data, None, &norm);
        let weight = Tensor::<4>::from_data(TensorData::new(wf, w.shape.clone()), self.device);
        let bias = Tensor::<1>::from_data(TensorData::new(bf, [w.shape[0]]), self.device);
        conv2d(weight, Some(bias), stride, pad)
    }

    /// The batch norm `key.{weight,bias,running_mean,running_var}` (ε = 1e-5, as torchvision).
    pub fn bn(&self, key: &str) -> BatchNorm {
        let gamma: Tensor<1> = self.tensor(&format!("{key}.weight"));
        let mut bn = BatchNormConfig::new(gamma.dims()[0]).init(self.device);
        bn.gamma = Param::from_tensor(gamma);
        bn.beta = Param::from_tensor(self.tensor(&format!("{key}.bias")));
        bn.running_mean = RunningState::new(self.tensor(&format!("{key}.running_mean")));
        bn.running_var = RunningState::new(self.tensor(&format!("{key}.running_var")));
        bn
    }

    /// The classifier `key.weight` `[out, in]` (transposed here) and `key.bias`.
    pub fn linear(&self, key: &str) -> Linear {
        let w = self.host(&format!("{key}.weight"));
        let (out_f, in_f) = (w.shape[0], w.shape[1]);
        let mut t = vec![0.0f32; w.data.len()];
        for o in 0..out_f {
            for i in 0..in_f {
                t[i * out_f + o] = w.data[o * in_f + i];
            }
        }
        let weight = Tensor::<2>::from_data(TensorData::new(t, [in_f, out_f]), self.device);
        Linear {
            weight: Param::from_tensor(weight),
            bias: Some(Param::from_tensor(self.tensor(&format!("{key}.bias")))),
        }
    }
}

/// A square conv module around `weight` (OIHW) and an optional `bias`.
fn conv2d(weight: Tensor<4>, bias: Option<Tensor<1>>, stride: usize, pad: usize) -> Conv2d {
    let [_, _, kh, kw] = weight.dims();
    Conv2d {
        weight: Param::from_tensor(weight),
        bias: bias.map(Param::from_tensor),
        stride: [stride; 2],
        kernel_size: [kh, kw],
        dilation: [1, 1],
        groups: 1,
        padding: PaddingConfig2d::Explicit(pad, pad, pad, pad),
    }
}
