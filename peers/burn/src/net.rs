//! A torchvision-shaped ResNet in burn: stem (conv 7×7/2 pad 3, BN, ReLU, max pool 3×3/2
//! pad 1), four stages of BasicBlocks (resnet18/34) or v1.5 Bottlenecks (resnet50/101/152:
//! the stride sits on the 3×3), adaptive average pool to 1×1, `fc`. The layout is read from the
//! tensors' keys (`layerS.I.conv3` present: Bottleneck; block counts from `layerS.I`), so any
//! plain torchvision ResNet depth loads. Inference only: the device has no autodiff, so every
//! BN takes its running statistics; with [`Params::fold`] there are no BNs, each conv having
//! its BN folded in (as our engine runs it).

use burn::nn::conv::Conv2d;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use resnet_wgpu::Tensor as Host;

use crate::load::Params;

/// conv → BN (or one conv with the BN folded in), the unit every block is made of.
struct ConvBn {
    conv: Conv2d,
    bn: Option<BatchNorm>,
}

impl ConvBn {
    fn load(p: &Params, conv: &str, bn: &str, stride: usize, pad: usize) -> Self {
        match p.fold {
            true => ConvBn {
                conv: p.conv_folded(conv, bn, stride, pad),
                bn: None,
            },
            false => ConvBn {
                conv: p.conv(conv, stride, pad),
                bn: Some(p.bn(bn)),
            },
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.conv.forward(x);
        match &self.bn {
            Some(bn) => bn.forward(y),
            None => y,
        }
    }
}

/// A residual block: its convs in order (ReLU between them), then the shortcut add and ReLU.
struct Block {
    convs: Vec<ConvBn>,
    downsample: Option<ConvBn>,
}

impl Block {
    /// Block `key` (`layerS.I`) with `stride` on its first 3×3 (BasicBlock: conv1;
    /// Bottleneck: conv2).
    fn load(p: &Params, key: &str, stride: usize) -> Self {
        let unit = |i: usize, s: usize, pad: usize| {
            ConvBn::load(
                p,
                &format!("{key}.conv{i}"),
                &format!("{key}.bn{i}"),
                s,
                pad,
            )
        };
        let convs = if p.has(&format!("{key}.conv3.weight")) {
            vec![unit(1, 1, 0), unit(2, stride, 1), unit(3, 1, 0)]
        } else {
            vec![unit(1, stride, 1), unit(2, 1, 1)]
        };
        let downsample = p.has(&format!("{key}.downsample.0.weight")).then(|| {
            let (c, b) = (format!("{key}.downsample.0"), format!("{key}.downsample.1"));
            ConvBn::load(p, &c, &b, stride, 0)
        });
        Block { convs, downsample }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let shortcut = match &self.downsample {
            Some(d) => d.forward(x.clone()),
            None => x.clone(),
        };
        let last = self.convs.len() - 1;
        let mut y = x;
        for (i, c) in self.convs.iter().enumerate() {
            y = c.forward(y);
            if i < last {
                y = relu(y);
            }
        }
        relu(y + shortcut)
    }
}

/// The whole network on one burn device.
pub struct ResNet {
    stem: ConvBn,
    maxpool: MaxPool2d,
    blocks: Vec<Block>,
    avgpool: AdaptiveAvgPool2d,
    fc: Linear,
    device: Device,
}

impl ResNet {
    /// Loads the network the tensors describe onto `p.device`.
    pub fn load(p: &Params) -> Self {
        let mut blocks = Vec::new();
        for stage in 1..=4 {
            for i in 0.. {
                let key = format!("layer{stage}.{i}");
                if !p.has(&format!("{key}.conv1.weight")) {
                    break;
                }
                let stride = if stage > 1 && i == 0 { 2 } else { 1 };
                blocks.push(Block::load(p, &key, stride));
            }
        }
        let pad = PaddingConfig2d::Explicit(1, 1, 1, 1);
        ResNet {
            stem: ConvBn::load(p, "conv1", "bn1", 2, 3),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(pad)
                .init(),
            blocks,
            avgpool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: p.linear("fc"),
            device: p.device.clone(),
        }
    }

    /// Logits `[N, classes]` of an NCHW batch already on the device.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = self.maxpool.forward(relu(self.stem.forward(x)));
        for b in &self.blocks {
            x = b.forward(x);
        }
        self.fc.forward(self.avgpool.forward(x).flatten(1, 3))
    }

    /// End to end: upload `data` (NCHW), run, read the logits back.
    pub fn infer(&self, data: TensorData) -> Host {
        let x = Tensor::<4>::from_data(data, &self.device);
        let out = self.forward(x).into_data();
        let shape = out.shape().to_vec();
        let values = out.try_into_vec::<f32>().expect("f32 logits");
        Host::new(shape, values)
    }
}
