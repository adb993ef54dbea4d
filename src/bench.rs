//! Workloads for benchmarks: the distinct conv layers of a real network, grouped into the
//! families the kernels specialise on, and one-conv graphs to time them alone.
//!
//! A family is decided by the conv's geometry only: `stem` (3 input channels), `1x1`,
//! `1x1s2`, `3x3`, `3x3s2`, else `KxKsS`.

use crate::error::Result;
use crate::model::ir::GraphBuilder;
use crate::model::{Conv2d, Graph, Op, Shape};
use crate::weights::random_input;
use crate::{load_graph, Architecture, BuildOptions, Tensor, Weights};

/// One distinct conv layer of a network at its real input size.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvCase {
    /// The family (see the module docs).
    pub family: String,
    pub conv: Conv2d,
    /// Per-image input shape.
    pub input: Shape,
    /// Name of the first layer of the network with this geometry and input.
    pub layer: String,
    /// How many layers of the network share it.
    pub count: usize,
}

impl ConvCase {
    /// A short unique id: `family/CinxHxW-CoutkKsS`.
    pub fn id(&self) -> String {
        format!(
            "{}/{}x{}x{}-{}k{}s{}",
            self.family,
            self.input.c,
            self.input.h,
            self.input.w,
            self.conv.out_c,
            self.conv.kernel[0],
            self.conv.stride[0]
        )
    }

    /// Multiply-adds for a batch of `n`.
    pub fn macs(&self, n: usize) -> Result<u64> {
        Ok(single_conv_graph(self.conv, 0)?.macs(self.input.h, self.input.w)? * n as u64)
    }
}

/// The family of a conv geometry.
pub fn family(conv: &Conv2d) -> String {
    let [kh, kw] = conv.kernel;
    let [sh, sw] = conv.stride;
    match (conv.in_c, kh, kw, sh, sw) {
        (3, _, _, _, _) => "stem".into(),
        (_, 1, 1, 1, 1) => "1x1".into(),
        (_, 1, 1, 2, 2) => "1x1s2".into(),
        (_, 3, 3, 1, 1) => "3x3".into(),
        (_, 3, 3, 2, 2) => "3x3s2".into(),
        _ => format!("{kh}x{kw}s{sh}"),
    }
}

/// The distinct (geometry, input shape) convs of `arch` at `h × w`, in network order.
pub fn conv_cases(arch: Architecture, h: usize, w: usize) -> Result<Vec<ConvCase>> {
    // Weights do not change shapes; seed 0 random weights avoid needing a file.
    let graph = load_graph(arch, &Weights::Random(0), BuildOptions::default())?;
    let shapes = graph.shapes(h, w)?;
    let mut cases: Vec<ConvCase> = Vec::new();
    for node in graph.nodes() {
        if let Op::Conv { conv, .. } = &node.op {
            let input = shapes[node.inputs[0]];
            match cases
                .iter_mut()
                .find(|c| c.conv == *conv && c.input == input)
            {
                Some(c) => c.count += 1,
                None => cases.push(ConvCase {
                    family: family(conv),
                    conv: *conv,
                    input,
                    layer: node.name.clone(),
                    count: 1,
                }),
            }
        }
    }
    Ok(cases)
}

/// A graph of one conv (plus the NCHW → NHWC input step) with bias and ReLU, and seeded random
/// normal weights of the scale a real layer has (standard deviation 1/√fan-in).
pub fn single_conv_graph(conv: Conv2d, seed: u64) -> Result<Graph> {
    let mut b = GraphBuilder::new("conv", conv.in_c);
    let x = b.push("input", Op::InputToNhwc, vec![0], conv.in_c);
    let fan_in = (conv.kernel[0] * conv.kernel[1] * conv.in_c).max(1) as f32;
    let scale = 1.0 / fan_in.sqrt();
    let weight: Vec<f32> = random_input(seed, conv.weight_len())
        .into_iter()
        .map(|v| v * scale)
        .collect();
    let bias = random_input(seed + 1, conv.out_c);
    let y = b.push(
        "conv",
        Op::Conv {
            conv,
            weight,
            bias,
            relu: true,
        },
        vec![x],
        conv.out_c,
    );
    Ok(b.finish(y))
}

/// A seeded random NCHW input `[n, c, h, w]`.
pub fn random_tensor(seed: u64, n: usize, c: usize, h: usize, w: usize) -> Tensor {
    Tensor::new(vec![n, c, h, w], random_input(seed, n * c * h * w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resnet50_cases_cover_every_conv_once() {
        let cases = conv_cases(Architecture::ImageNet(50), 224, 224).unwrap();
        // torchvision ResNet-50: 1 stem + 16 blocks × 3 convs + 4 projection shortcuts.
        assert_eq!(cases.iter().map(|c| c.count).sum::<usize>(), 53);
        let families: Vec<&str> = cases.iter().map(|c| c.family.as_str()).collect();
        for f in ["stem", "1x1", "1x1s2", "3x3", "3x3s2"] {
            assert!(families.contains(&f), "no {f} in {families:?}");
        }
        let stem = &cases[0];
        assert_eq!((stem.family.as_str(), stem.input.h), ("stem", 224));
        // The graph's own MAC count agrees with the sum over cases (convs only: minus the fc).
        let graph = load_graph(
            Architecture::ImageNet(50),
            &Weights::Random(0),
            BuildOptions::default(),
        )
        .unwrap();
        let conv_macs: u64 = cases
            .iter()
            .map(|c| c.macs(1).unwrap() * c.count as u64)
            .sum();
        assert_eq!(conv_macs + 2048 * 1000, graph.macs(224, 224).unwrap());
    }
}
