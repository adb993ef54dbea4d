//! The layer builder behind [`super::build_graph`]: each method takes one layer's parameters
//! from the [`ParamSource`] under its torchvision/timm key and appends the layer to the graph,
//! fused (every batch norm folded into its conv, `w' = w · γ/√(σ² + ε)`,
//! `b' = (b − μ) · γ/√(σ² + ε) + β`; the residual add and ReLU in the write step of the
//! block's last conv) or unfused (conv, batch norm, add and ReLU as separate ops).

use super::super::ir::{Conv2d, GraphBuilder, Op, ShortcutA, ValueId};
use super::oihw_to_hwio;
use crate::error::{Error, Result};
use crate::weights::{fold_bn, BatchNorm, ParamKind, ParamSource};

/// A bottleneck's grouping: `groups` groups in its 3×3, width
/// `⌊planes · width_per_group / 64⌋ · groups` (torchvision's `Bottleneck`).
#[derive(Clone, Copy)]
pub(super) struct Bottleneck {
    pub groups: usize,
    pub width_per_group: usize,
}

pub(super) struct Builder<'a> {
    pub g: GraphBuilder,
    pub src: &'a mut dyn ParamSource,
    pub unfused: bool,
}

impl Builder<'_> {
    pub(super) fn bn(&mut self, key: &str, c: usize, gamma_scale: f32) -> Result<BatchNorm> {
        let bn = BatchNorm {
            gamma: self.src.take(
                &format!("{key}.weight"),
                &[c],
                ParamKind::BnGamma { scale: gamma_scale },
            )?,
            beta: self
                .src
                .take(&format!("{key}.bias"), &[c], ParamKind::BnBeta)?,
            mean: self
                .src
                .take(&format!("{key}.running_mean"), &[c], ParamKind::BnMean)?,
            var: self
                .src
                .take(&format!("{key}.running_var"), &[c], ParamKind::BnVar)?,
            eps: 1e-5,
        };
        bn.check(key).map_err(Error::InvalidInput)?;
        Ok(bn)
    }

    /// conv (+ bias) → BN (+ residual) (+ ReLU), fused into one conv op or emitted op by op.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn conv_bn(
        &mut self,
        x: ValueId,
        conv_key: &str,
        bn_key: &str,
        conv: Conv2d,
        conv_bias: bool,
        gamma_scale: f32,
        residual: Option<ValueId>,
        relu: bool,
    ) -> Result<ValueId> {
        let [kh, kw] = conv.kernel;
        let shape = [conv.out_c, conv.group_in_c(), kh, kw];
        let fan_in = conv.group_in_c() * kh * kw;
        let w = self.src.take(
            &format!("{conv_key}.weight"),
            &shape,
            ParamKind::ConvWeight { fan_in },
        )?;
        let b = if conv_bias {
            Some(self.src.take(
                &format!("{conv_key}.bias"),
                &[conv.out_c],
                ParamKind::ConvBias,
            )?)
        } else {
            None
        };
        let bn = self.bn(bn_key, conv.out_c, gamma_scale)?;
        let c = conv.out_c;
        if !self.unfused {
            let (wf, bf) = fold_bn(&w, b.as_deref(), &bn);
            let op = Op::Conv {
                conv,
                weight: oihw_to_hwio(&wf, &conv),
                bias: bf,
                relu,
            };
            let mut inputs = vec![x];
            inputs.extend(residual);
            return Ok(self.g.push(conv_key, op, inputs, c));
        }
        let op = Op::Conv {
            conv,
            weight: oihw_to_hwio(&w, &conv),
            bias: b.unwrap_or_else(|| vec![0.0; c]),
            relu: false,
        };
        let mut y = self.g.push(conv_key, op, vec![x], c);
        let (scale, shift) = bn.scale_shift();
        y = self.g.push(
            bn_key,
            Op::Affine {
                scale,
                shift,
                relu: false,
            },
            vec![y],
            c,
        );
        if let Some(r) = residual {
            y = self.g.push(
                &format!("{bn_key}.add"),
                Op::Add { relu: false },
                vec![y, r],
                c,
            );
        }
        if relu {
            y = self.g.push(&format!("{bn_key}.relu"), Op::Relu, vec![y], c);
        }
        Ok(y)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn basic_block(
        &mut self,
        x: ValueId,
        key: &str,
        cin: usize,
        planes: usize,
        stride: usize,
        conv_bias: bool,
        option_a: bool,
    ) -> Result<ValueId> {
        self.g.segment(key);
        let mut shortcut = x;
        if stride != 1 || cin != planes {
            shortcut = if option_a {
                let s = ShortcutA {
                    stride,
                    pad_before: planes / 4,
                    in_c: cin,
                    out_c: planes,
                };
                if cin + 2 * (planes / 4) != planes {
                    return Err(Error::Unsupported(format!(
                        "{key}: option-A shortcut from {cin} to {planes} channels (needs planes = 2·in)"
                    )));
                }
                self.g.push(
                    &format!("{key}.shortcut"),
                    Op::ShortcutA(s),
                    vec![x],
                    planes,
                )
            } else {
                let conv = Conv2d::square(cin, planes, 1, stride, 0);
                let (ck, bk) = (format!("{key}.downsample.0"), format!("{key}.downsample.1"));
                self.conv_bn(x, &ck, &bk, conv, false, 0.5, None, false)?
            };
        }
        let c1 = Conv2d::square(cin, planes, 3, stride, 1);
        let y = self.conv_bn(
            x,
            &format!("{key}.conv1"),
            &format!("{key}.bn1"),
            c1,
            conv_bias,
            0.5,
            None,
            true,
        )?;
        let c2 = Conv2d::square(planes, planes, 3, 1, 1);
        self.conv_bn(
            y,
            &format!("{key}.conv2"),
            &format!("{key}.bn2"),
            c2,
            conv_bias,
            0.2,
            Some(shortcut),
            true,
        )
    }

    pub(super) fn bottleneck(
        &mut self,
        x: ValueId,
        key: &str,
        cin: usize,
        planes: usize,
        stride: usize,
        shape: Bottleneck,
    ) -> Result<ValueId> {
        self.g.segment(key);
        let out = planes * 4;
        let width = planes * shape.width_per_group / 64 * shape.groups;
        let mut shortcut = x;
        if stride != 1 || cin != out {
            let conv = Conv2d::square(cin, out, 1, stride, 0);
            let (ck, bk) = (format!("{key}.downsample.0"), format!("{key}.downsample.1"));
            shortcut = self.conv_bn(x, &ck, &bk, conv, false, 0.5, None, false)?;
        }
        let k = |s: &str| format!("{key}.{s}");
        let y = self.conv_bn(
            x,
            &k("conv1"),
            &k("bn1"),
            Conv2d::square(cin, width, 1, 1, 0),
            false,
            0.5,
            None,
            true,
        )?;
        let y = self.conv_bn(
            y,
            &k("conv2"),
            &k("bn2"),
            Conv2d::square(width, width, 3, stride, 1).grouped(shape.groups),
            false,
            0.5,
            None,
            true,
        )?;
        self.conv_bn(
            y,
            &k("conv3"),
            &k("bn3"),
            Conv2d::square(width, out, 1, 1, 0),
            false,
            0.2,
            Some(shortcut),
            true,
        )
    }
}
