//! [`Graph::check_input`] (an input's shape, length and values) and [`Graph::validate`] (the
//! checks a graph needs before it runs, run whenever a model is made from one: graphs built or
//! edited by hand, and weights the loaders did not check, such as an ONNX file's conv and
//! linear initializers). Every value is defined once, by the input or by one node, before any
//! node reads it; only the input layout op reads the NCHW input, and the output is a node's;
//! every op's channel counts agree with the values it reads and writes; every weight and bias
//! vector has the length its op implies (a conv `KH·KW·(Cin/G)·Cout` weights and `Cout` biases,
//! a linear layer `in·out` and `out`, an affine op one scale and shift per channel) and holds
//! finite values only. Inputs and weights must be finite because the WGSL kernels may assume
//! there are no NaNs and infinities: a NaN would give the GPU and the CPU reference different,
//! meaningless outputs.

use super::ir::{Graph, Node, Op};
use crate::error::{Error, Result};
use crate::weights::{first_non_finite, Tensor};

impl Graph {
    /// Checks an NCHW input against the graph, values included (NaN and infinities are
    /// refused: the kernels may assume there are none); returns (batch, height, width).
    pub fn check_input(&self, input: &Tensor) -> Result<(usize, usize, usize)> {
        let s = &input.shape;
        if s.len() != 4 || s[0] == 0 || s[1] != self.input_channels || s[2] == 0 || s[3] == 0 {
            return Err(Error::InvalidInput(format!(
                "{}: expected an NCHW tensor [N ≥ 1, {}, H, W], found shape {:?}",
                self.name, self.input_channels, s
            )));
        }
        if !input.fills_shape() {
            return Err(Error::InvalidInput(format!(
                "{}: input tensor has {} values for shape {:?}",
                self.name,
                input.data.len(),
                s
            )));
        }
        if let Some(i) = first_non_finite(&input.data) {
            let (plane, chw) = (s[2] * s[3], s[1] * s[2] * s[3]);
            return Err(Error::InvalidInput(format!(
                "{}: input value {i} (image {}, channel {}, row {}, column {}) is {}; expected \
                 finite values",
                self.name,
                i / chw,
                i % chw / plane,
                i % plane / s[3],
                i % s[3],
                input.data[i]
            )));
        }
        Ok((s[0], s[2], s[3]))
    }

    /// Checks the graph's structure, channel counts, weight lengths and weight values (see the
    /// module docs); the error names the layer, what was expected and what was found.
    pub fn validate(&self) -> Result<()> {
        let fail = |what: String| Err(Error::InvalidInput(format!("{}: {what}", self.name)));
        let values = self.value_channels.len();
        if self.input_channels == 0 || self.value_channels.first() != Some(&self.input_channels) {
            let found = self
                .value_channels
                .first()
                .map_or_else(|| "no value 0".to_string(), |c| format!("{c} channels"));
            return fail(format!(
                "the graph takes {} input channels and value 0 (the input) has {found}; expected \
                 the same count, at least 1",
                self.input_channels
            ));
        }
        let mut defined = vec![false; values];
        defined[0] = true;
        for node in self.nodes() {
            let arity = match node.op {
                Op::Conv { .. } => 1..=2,
                Op::Add { .. } => 2..=2,
                _ => 1..=1,
            };
            if !arity.contains(&node.inputs.len()) {
                return fail(format!(
                    "layer `{}` ({}) has {} inputs; expected {}",
                    node.name,
                    node.op.kind(),
                    node.inputs.len(),
                    if arity.start() == arity.end() {
                        format!("{}", arity.start())
                    } else {
                        format!("{} to {}", arity.start(), arity.end())
                    }
                ));
            }
            for &v in &node.inputs {
                // Value 0 is NCHW; every other op reads NHWC, so only the layout op may read it.
                if v == 0 && !matches!(node.op, Op::InputToNhwc) {
                    return fail(format!(
                        "layer `{}` ({}) reads value 0, the NCHW input; expected only the input \
                         layout op to read it",
                        node.name,
                        node.op.kind()
                    ));
                }
                if v >= values || !defined[v] {
                    return fail(format!(
                        "layer `{}` reads value {v}, which {}; expected a value defined before \
                         the layer",
                        node.name,
                        if v >= values {
                            format!("does not exist (the graph has {values})")
                        } else {
                            "no earlier layer writes".to_string()
                        }
                    ));
                }
            }
            if node.output >= values || defined[node.output] {
                return fail(format!(
                    "layer `{}` writes value {}, which {}; expected a new value below {values}",
                    node.name,
                    node.output,
                    if node.output >= values {
                        "does not exist"
                    } else {
                        "is already defined"
                    }
                ));
            }
            self.check_op(node)
                .or_else(|e| fail(format!("layer `{}`: {e}", node.name)))?;
            defined[node.output] = true;
        }
        if self.output == 0 || self.output >= values || !defined[self.output] {
            return fail(format!(
                "the output is value {}, which no layer writes; expected one of the {values} \
                 values a layer defines",
                self.output
            ));
        }
        Ok(())
    }

    /// One node's channel counts, weight lengths and values against the values it reads and
    /// writes (already known to exist).
    fn check_op(&self, node: &Node) -> std::result::Result<(), String> {
        let c_in = self.value_channels[node.inputs[0]];
        let c_out = self.value_channels[node.output];
        let channels = |what: &str, want: usize, found: usize| {
            if want == found {
                Ok(())
            } else {
                Err(format!("{what}: expected {want}, found {found}"))
            }
        };
        match &node.op {
            Op::InputToNhwc => {
                if node.inputs[0] != 0 || c_out < c_in {
                    return Err(format!(
                        "reads value {} into {c_out} channels; expected the input (value 0) \
                         into at least its {c_in} channels",
                        node.inputs[0]
                    ));
                }
            }
            Op::Conv {
                conv, weight, bias, ..
            } => {
                conv.check()?;
                if conv.kernel.contains(&0) || conv.stride.contains(&0) {
                    return Err(format!(
                        "kernel {:?} and stride {:?}; expected at least 1 on both axes",
                        conv.kernel, conv.stride
                    ));
                }
                channels("input channels of the conv", c_in, conv.in_c)?;
                channels("output channels of the conv", c_out, conv.out_c)?;
                if let Some(&r) = node.inputs.get(1) {
                    channels(
                        "channels of the residual",
                        conv.out_c,
                        self.value_channels[r],
                    )?;
                }
                let len = conv.checked_weight_len().ok_or_else(|| {
                    format!("{conv:?} has more weights than fit in memory; expected fewer")
                })?;
                values("weight", weight, len)?;
                values("bias", bias, conv.out_c)?;
            }
            Op::Affine { scale, shift, .. } => {
                channels("output channels", c_in, c_out)?;
                values("scale", scale, c_in)?;
                values("shift", shift, c_in)?;
            }
            Op::MaxPool(p) => {
                if p.kernel.contains(&0) || p.stride.contains(&0) {
                    return Err(format!(
                        "kernel {:?} and stride {:?}; expected at least 1 on both axes",
                        p.kernel, p.stride
                    ));
                }
                channels("output channels", c_in, c_out)?;
            }
            Op::GlobalAvgPool | Op::Relu => channels("output channels", c_in, c_out)?,
            Op::Linear {
                in_f,
                out_f,
                weight,
                bias,
            } => {
                channels("input features of the linear layer", c_in, *in_f)?;
                channels("output features of the linear layer", c_out, *out_f)?;
                let len = in_f.checked_mul(*out_f).ok_or_else(|| {
                    format!("{in_f} x {out_f} weights; expected a size that fits in memory")
                })?;
                values("weight", weight, len)?;
                values("bias", bias, *out_f)?;
            }
            Op::ShortcutA(s) => {
                channels("input channels of the shortcut", c_in, s.in_c)?;
                channels("output channels of the shortcut", c_out, s.out_c)?;
                if s.stride == 0 || s.pad_before.saturating_add(s.in_c) > s.out_c {
                    return Err(format!(
                        "stride {} placing {} channels after {} of {}; expected a stride of at \
                         least 1 and the channels inside the output",
                        s.stride, s.in_c, s.pad_before, s.out_c
                    ));
                }
            }
            Op::Add { .. } => {
                channels("output channels", c_in, c_out)?;
                channels(
                    "channels of the second operand",
                    c_in,
                    self.value_channels[node.inputs[1]],
                )?;
            }
        }
        Ok(())
    }
}

/// Checks that a weight or bias vector has `len` values, all finite.
fn values(what: &str, v: &[f32], len: usize) -> std::result::Result<(), String> {
    if v.len() != len {
        return Err(format!("{what} has {} values; expected {len}", v.len()));
    }
    match first_non_finite(v) {
        Some(i) => Err(format!("{what}[{i}] is {}; expected a finite value", v[i])),
        None => Ok(()),
    }
}
