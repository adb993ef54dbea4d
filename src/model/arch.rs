//! Architecture specs → graph IR. One builder for every family; its parameters come from a
//! [`ParamSource`] (a weights file or a seed) under torchvision/timm key names:
//!
//! - `simple`: conv 7×7/2 (bias) + BN + ReLU, max pool 3/2 pad 1, N BasicBlocks of 64 channels
//!   with conv biases and identity shortcuts (`res_blocks.I.*`), global average pool, `fc`;
//! - torchvision `resnet18/34` (BasicBlock) and `resnet50/101/152` (Bottleneck, v1.5: the
//!   stride sits on the 3×3), projection shortcuts `downsample.0` (conv) + `downsample.1` (BN);
//! - torchvision `resnext50_32x4d`, `resnext101_32x8d`, `resnext101_64x4d`, `wide_resnet50_2`
//!   and `wide_resnet101_2`: the ResNet-50/101 layout and key names, with each bottleneck's
//!   width `⌊planes · width_per_group / 64⌋ · groups` (conv1 and conv2 have that many
//!   channels, conv3 still `4 · planes`) and its 3×3 `conv2` in `groups` groups (weights
//!   `[width, width/groups, 3, 3]`);
//! - CIFAR `resnet20/32/44/56/110`: conv 3×3 (16), 3 stages of 16/32/64 channels, option-A
//!   shortcuts, `linear` classifier.
//!
//! Fused mode folds every BN into its conv and fuses the residual add and ReLU into the write
//! step of the block's last conv; unfused mode emits conv, batch norm, add and ReLU separately.

use super::ir::{Conv2d, Graph, GraphBuilder, Op, Pool2d};
use crate::error::{Error, Result};
use crate::weights::{ParamKind, ParamSource};

mod builder;
use builder::{Bottleneck, Builder};

/// A supported network family and depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Architecture {
    /// The small 7×7-stem network of N 64-channel BasicBlocks.
    Simple,
    /// torchvision ResNet-18/34/50/101/152.
    ImageNet(usize),
    /// CIFAR ResNet-20/32/44/56/110.
    Cifar(usize),
    /// torchvision ResNeXt / Wide ResNet: Bottleneck ResNet-`depth` whose 3×3 convs have
    /// `groups` groups, bottleneck width `⌊planes · width_per_group / 64⌋ · groups`.
    Grouped {
        depth: usize,
        groups: usize,
        width_per_group: usize,
    },
}

const NAMES: &str = "simple, resnet18, resnet34, resnet50, resnet101, resnet152, resnext50_32x4d, resnext101_32x8d, resnext101_64x4d, wide_resnet50_2, wide_resnet101_2, resnet20, resnet32, resnet44, resnet56, resnet110";

/// (name, depth, groups, width_per_group) of the grouped / wide family, as torchvision defines
/// them.
const GROUPED: [(&str, usize, usize, usize); 5] = [
    ("resnext50_32x4d", 50, 32, 4),
    ("resnext101_32x8d", 101, 32, 8),
    ("resnext101_64x4d", 101, 64, 4),
    ("wide_resnet50_2", 50, 1, 128),
    ("wide_resnet101_2", 101, 1, 128),
];

impl Architecture {
    /// Parses `simple`, `resnet18`, ..., `resnet110`, `resnext50_32x4d`, ...,
    /// `wide_resnet101_2`.
    pub fn parse(name: &str) -> Result<Self> {
        let lower = name.to_ascii_lowercase();
        let grouped = GROUPED.iter().find(|g| g.0 == lower);
        let arch = match lower.as_str() {
            "simple" => Some(Architecture::Simple),
            _ if grouped.is_some() => {
                grouped.map(
                    |&(_, depth, groups, width_per_group)| Architecture::Grouped {
                        depth,
                        groups,
                        width_per_group,
                    },
                )
            }
            _ => lower
                .strip_prefix("resnet")
                .and_then(|d| d.parse::<usize>().ok())
                .and_then(|d| match d {
                    18 | 34 | 50 | 101 | 152 => Some(Architecture::ImageNet(d)),
                    20 | 32 | 44 | 56 | 110 => Some(Architecture::Cifar(d)),
                    _ => None,
                }),
        };
        arch.ok_or_else(|| Error::UnknownArchitecture {
            found: name.to_string(),
            expected: NAMES.to_string(),
        })
    }

    /// The canonical name.
    pub fn name(&self) -> String {
        match self {
            Architecture::Simple => "simple".to_string(),
            Architecture::ImageNet(d) | Architecture::Cifar(d) => format!("resnet{d}"),
            Architecture::Grouped {
                depth,
                groups,
                width_per_group,
            } => GROUPED
                .iter()
                .find(|g| (g.1, g.2, g.3) == (*depth, *groups, *width_per_group))
                .map_or_else(
                    || format!("resnext{depth}_{groups}x{width_per_group}d"),
                    |g| g.0.to_string(),
                ),
        }
    }

    /// Checks a value built by hand (rather than by [`Architecture::parse`]): an ImageNet
    /// depth of 18, 34, 50, 101 or 152, a CIFAR depth of 20, 32, 44, 56 or 110, a grouped
    /// network of depth 50, 101 or 152 with at least one group of at least one channel.
    pub fn check(&self) -> Result<()> {
        let bad = |why: String| {
            Err(Error::UnknownArchitecture {
                found: format!("{self:?} ({why})"),
                expected: NAMES.to_string(),
            })
        };
        match *self {
            Architecture::Simple => Ok(()),
            Architecture::ImageNet(d) if ![18, 34, 50, 101, 152].contains(&d) => bad(format!(
                "ImageNet depth {d}; expected 18, 34, 50, 101 or 152"
            )),
            Architecture::Cifar(d) if ![20, 32, 44, 56, 110].contains(&d) => {
                bad(format!("CIFAR depth {d}; expected 20, 32, 44, 56 or 110"))
            }
            Architecture::Grouped { depth, .. } if ![50, 101, 152].contains(&depth) => bad(
                format!("grouped depth {depth}; expected 50, 101 or 152 (bottleneck networks)"),
            ),
            Architecture::Grouped {
                groups,
                width_per_group,
                ..
            } if groups == 0 || width_per_group == 0 => bad(format!(
                "{groups} groups of width {width_per_group}; expected at least 1 of each"
            )),
            _ => Ok(()),
        }
    }

    /// Classes when nothing else says: 1000 for ImageNet networks, 10 otherwise.
    pub fn default_classes(&self) -> usize {
        match self {
            Architecture::ImageNet(_) | Architecture::Grouped { .. } => 1000,
            _ => 10,
        }
    }

    /// The input size the network was designed for (224, or 32 for CIFAR).
    pub fn default_input(&self) -> usize {
        match self {
            Architecture::Cifar(_) => 32,
            _ => 224,
        }
    }

    /// (depth, groups, width_per_group) of a torchvision ImageNet network (plain ResNets:
    /// groups 1, width 64 per group; the others report their depth the same way).
    fn torchvision_spec(&self) -> (usize, usize, usize) {
        match *self {
            Architecture::Grouped {
                depth,
                groups,
                width_per_group,
            } => (depth, groups, width_per_group),
            Architecture::ImageNet(d) | Architecture::Cifar(d) => (d, 1, 64),
            Architecture::Simple => (0, 1, 64),
        }
    }

    fn classifier_key(&self) -> &'static str {
        match self {
            Architecture::Cifar(_) => "linear",
            _ => "fc",
        }
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl std::str::FromStr for Architecture {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Architecture::parse(s)
    }
}

/// How to build a graph.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuildOptions {
    /// Run every BN, residual add and ReLU as its own op instead of fusing them into convs.
    pub unfused: bool,
    /// Number of classes when the source does not say (random weights).
    pub classes: Option<usize>,
    /// Number of blocks of the `simple` architecture when the source does not say.
    pub blocks: Option<usize>,
}

/// Builds the graph of `arch` with parameters from `src`, checking every tensor.
pub fn build_graph(
    arch: Architecture,
    src: &mut dyn ParamSource,
    opts: BuildOptions,
) -> Result<Graph> {
    arch.check()?;
    let fc_key = format!("{}.weight", arch.classifier_key());
    let classes = match src.shape_of(&fc_key) {
        Some(shape) if shape.len() == 2 => {
            // A class count asked for must be the one the weights hold, not silently another.
            if let Some(c) = opts.classes.filter(|&c| c != shape[0]) {
                return Err(Error::InvalidInput(format!(
                    "{arch}: {c} classes asked for, but the weights' `{fc_key}` {shape:?} has {}",
                    shape[0]
                )));
            }
            shape[0]
        }
        _ => opts.classes.unwrap_or_else(|| arch.default_classes()),
    };
    if classes == 0 {
        return Err(Error::InvalidInput(format!(
            "{arch}: the number of classes must be at least 1"
        )));
    }
    let mut b = Builder {
        g: GraphBuilder::new(&arch.name(), 3),
        src,
        unfused: opts.unfused,
    };
    b.g.segment("stem");
    let x = b.g.push("input", Op::InputToNhwc, vec![0], 3);
    let (mut x, mut c) = match arch {
        Architecture::Cifar(_) => (
            b.conv_bn(
                x,
                "conv1",
                "bn1",
                Conv2d::square(3, 16, 3, 1, 1),
                false,
                1.0,
                None,
                true,
            )?,
            16,
        ),
        _ => {
            let stem = Conv2d::square(3, 64, 7, 2, 3);
            let y = b.conv_bn(
                x,
                "conv1",
                "bn1",
                stem,
                arch == Architecture::Simple,
                1.0,
                None,
                true,
            )?;
            let pool = Pool2d {
                kernel: [3, 3],
                stride: [2, 2],
                pad: [1; 4],
            };
            (b.g.push("maxpool", Op::MaxPool(pool), vec![y], 64), 64)
        }
    };
    match arch {
        Architecture::Simple => {
            let blocks = match (count_simple_blocks(b.src), opts.blocks) {
                (Some(n), Some(asked)) if n != asked => {
                    return Err(Error::InvalidInput(format!(
                        "{arch}: {asked} blocks asked for, but the weights hold {n}"
                    )))
                }
                (found, asked) => found.or(asked).unwrap_or(2),
            };
            for i in 0..blocks {
                x = b.basic_block(x, &format!("res_blocks.{i}"), c, 64, 1, true, false)?;
            }
        }
        Architecture::ImageNet(_) | Architecture::Grouped { .. } => {
            let (depth, groups, width_per_group) = arch.torchvision_spec();
            let (bottleneck, layers) = match depth {
                18 => (false, [2, 2, 2, 2]),
                34 => (false, [3, 4, 6, 3]),
                50 => (true, [3, 4, 6, 3]),
                101 => (true, [3, 4, 23, 3]),
                _ => (true, [3, 8, 36, 3]),
            };
            let shape = Bottleneck {
                groups,
                width_per_group,
            };
            for (stage, (&n, planes)) in layers.iter().zip([64, 128, 256, 512]).enumerate() {
                for i in 0..n {
                    let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                    let key = format!("layer{}.{i}", stage + 1);
                    if bottleneck {
                        x = b.bottleneck(x, &key, c, planes, stride, shape)?;
                        c = planes * 4;
                    } else {
                        x = b.basic_block(x, &key, c, planes, stride, false, false)?;
                        c = planes;
                    }
                }
            }
        }
        Architecture::Cifar(depth) => {
            let n = (depth - 2) / 6;
            for (stage, planes) in [16, 32, 64].into_iter().enumerate() {
                for i in 0..n {
                    let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                    x = b.basic_block(
                        x,
                        &format!("layer{}.{i}", stage + 1),
                        c,
                        planes,
                        stride,
                        false,
                        true,
                    )?;
                    c = planes;
                }
            }
        }
    }
    b.g.segment("head");
    let pooled = b.g.push("avgpool", Op::GlobalAvgPool, vec![x], c);
    let key = arch.classifier_key();
    let weight = b.src.take(
        &format!("{key}.weight"),
        &[classes, c],
        ParamKind::LinearWeight { fan_in: c },
    )?;
    let bias = b
        .src
        .take(&format!("{key}.bias"), &[classes], ParamKind::LinearBias)?;
    let op = Op::Linear {
        in_f: c,
        out_f: classes,
        weight,
        bias,
    };
    let logits = b.g.push(key, op, vec![pooled], classes);
    b.src.finish(&arch.name())?;
    Ok(b.g.finish(logits))
}

/// Number of `res_blocks.I` blocks a file holds, if it holds any.
fn count_simple_blocks(src: &dyn ParamSource) -> Option<usize> {
    let n = src
        .keys()
        .iter()
        .filter_map(|k| {
            k.strip_prefix("res_blocks.")?
                .split('.')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .map(|i| i + 1)
        .max()?;
    Some(n)
}

/// OIHW (PyTorch, `[Cout, Cin/G, KH, KW]`) → HWIO (the kernels' layout,
/// `[KH][KW][Cin/G][Cout]`, see [`crate::model::ir`]).
pub fn oihw_to_hwio(w: &[f32], conv: &Conv2d) -> Vec<f32> {
    let [kh, kw] = conv.kernel;
    let (ci_n, co_n) = (conv.group_in_c(), conv.out_c);
    let mut out = vec![0.0; w.len()];
    for co in 0..co_n {
        for ci in 0..ci_n {
            for y in 0..kh {
                for x in 0..kw {
                    out[((y * kw + x) * ci_n + ci) * co_n + co] =
                        w[((co * ci_n + ci) * kh + y) * kw + x];
                }
            }
        }
    }
    out
}
