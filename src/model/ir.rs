//! The graph IR: a list of segments (stem, one per residual block, head), each a list of nodes
//! over numbered activation values. Activations are NHWC; a value only records its channel
//! count, because heights and widths follow from the input size (see [`Graph::shapes`]).
//!
//! Weights are stored in the layouts the kernels read:
//! - conv weights as HWIO, `w[((kh * KW + kw) * Cin + ci) * Cout + co]` (the B matrix of the
//!   implicit GEMM, K = KH·KW·Cin rows by Cout columns); a grouped conv (G groups) keeps only
//!   the input channels of each output channel's group, `ci < Cin/G`, so its weights are
//!   `w[((kh * KW + kw) * (Cin/G) + ci) * Cout + co]`, where output channel `co` belongs to
//!   group `g = co / (Cout/G)` and `ci` stands for input channel `g·Cin/G + ci` (PyTorch's OIHW
//!   `[Cout, Cin/G, KH, KW]` transposed, see [`crate::model::oihw_to_hwio`]);
//! - linear weights as `[out][in]`, as PyTorch stores them.

use crate::error::{Error, Result};

mod builder;
pub use builder::GraphBuilder;

/// Index of an activation value in [`Graph::value_channels`] (0 is the input).
pub type ValueId = usize;

/// Shape arithmetic of a 2-D sliding window (conv or pool), in floor mode:
/// `out = (in + pad_before + pad_after − kernel) / stride + 1`; `None` when the window does
/// not fit (or the sizes overflow).
pub fn window_out(
    input: usize,
    kernel: usize,
    stride: usize,
    pad_before: usize,
    pad_after: usize,
) -> Option<usize> {
    let padded = input.checked_add(pad_before)?.checked_add(pad_after)?;
    if stride == 0 || kernel == 0 || padded < kernel {
        return None;
    }
    Some((padded - kernel) / stride + 1)
}

/// A convolution's geometry. Tap `(ky, kx)` of output pixel `(oy, ox)` reads input pixel
/// `(oy·sh + ky·dh − pad_t, ox·sw + kx·dw − pad_l)`; with `groups = G`, output channel `co`
/// sums only over the `Cin/G` input channels of its group `co / (Cout/G)` (depthwise:
/// `G = Cin = Cout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2d {
    pub in_c: usize,
    pub out_c: usize,
    /// (height, width)
    pub kernel: [usize; 2],
    /// (height, width)
    pub stride: [usize; 2],
    /// (top, left, bottom, right)
    pub pad: [usize; 4],
    /// Channel groups (1 for a plain conv); divides `in_c` and `out_c`.
    pub groups: usize,
    /// (height, width) spacing of the kernel taps (1 for a plain conv).
    pub dilation: [usize; 2],
}

impl Conv2d {
    /// A square conv with the same stride and padding on both axes.
    pub fn square(in_c: usize, out_c: usize, k: usize, stride: usize, pad: usize) -> Self {
        Conv2d {
            in_c,
            out_c,
            kernel: [k, k],
            stride: [stride, stride],
            pad: [pad; 4],
            groups: 1,
            dilation: [1, 1],
        }
    }

    /// The same conv with `groups` channel groups.
    pub fn grouped(self, groups: usize) -> Self {
        Conv2d { groups, ..self }
    }

    /// The same conv with taps `dilation` apart.
    pub fn dilated(self, dilation: [usize; 2]) -> Self {
        Conv2d { dilation, ..self }
    }

    /// Neither grouped nor dilated (what every kernel but the grouped one computes).
    pub fn is_plain(&self) -> bool {
        self.groups == 1 && self.dilation == [1, 1]
    }

    /// Input channels per group, Cin/G.
    pub fn group_in_c(&self) -> usize {
        self.in_c / self.groups.max(1)
    }

    /// The window's (height, width) on the input: `d·(k − 1) + 1` per axis.
    pub fn extent(&self) -> [usize; 2] {
        [0, 1].map(|a| self.dilation[a] * (self.kernel[a].max(1) - 1) + 1)
    }

    /// Checks the groups and dilation: `groups ≥ 1` dividing both channel counts,
    /// `dilation ≥ 1`. The error says what was found.
    pub fn check(&self) -> std::result::Result<(), String> {
        let g = self.groups;
        if g == 0 || !self.in_c.is_multiple_of(g) || !self.out_c.is_multiple_of(g) {
            return Err(format!(
                "groups = {g} must be at least 1 and divide both the {} input and the {} output channels",
                self.in_c, self.out_c
            ));
        }
        if self.dilation.contains(&0) {
            return Err(format!(
                "dilation {:?} must be at least 1 on both axes",
                self.dilation
            ));
        }
        Ok(())
    }

    /// Output (height, width) for an input of `h × w`, or `None` if the input is too small.
    pub fn out_hw(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let [eh, ew] = self.extent();
        Some((
            window_out(h, eh, self.stride[0], self.pad[0], self.pad[2])?,
            window_out(w, ew, self.stride[1], self.pad[1], self.pad[3])?,
        ))
    }

    /// Number of weights, KH·KW·(Cin/G)·Cout.
    pub fn weight_len(&self) -> usize {
        self.kernel[0] * self.kernel[1] * self.group_in_c() * self.out_c
    }

    /// [`Conv2d::weight_len`], or `None` where it overflows `usize` (a conv built by hand).
    pub fn checked_weight_len(&self) -> Option<usize> {
        crate::weights::element_count(&[
            self.kernel[0],
            self.kernel[1],
            self.group_in_c(),
            self.out_c,
        ])
    }
}

/// A pooling window's geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool2d {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// (top, left, bottom, right)
    pub pad: [usize; 4],
}

impl Pool2d {
    /// Output (height, width) for an input of `h × w`.
    pub fn out_hw(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        Some((
            window_out(h, self.kernel[0], self.stride[0], self.pad[0], self.pad[2])?,
            window_out(w, self.kernel[1], self.stride[1], self.pad[1], self.pad[3])?,
        ))
    }
}

/// The CIFAR "option A" shortcut: `y[n, oh, ow, c] = x[n, oh·s, ow·s, c − pad_before]` for
/// `pad_before ≤ c < pad_before + Cin`, else 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShortcutA {
    pub stride: usize,
    pub pad_before: usize,
    pub in_c: usize,
    pub out_c: usize,
}

impl ShortcutA {
    /// Output (height, width): every `stride`-th pixel starting at 0, i.e. ⌈in / stride⌉.
    pub fn out_hw(&self, h: usize, w: usize) -> (usize, usize) {
        (h.div_ceil(self.stride), w.div_ceil(self.stride))
    }
}

/// One operation of the graph.
#[derive(Clone, Debug)]
pub enum Op {
    /// NCHW f32 input → NHWC activation. Input 0 is the graph input. The output may have more
    /// channels than the input (see [`crate::model::passes::pad_input_channels`]); the extra
    /// channels are zero.
    InputToNhwc,
    /// `y = conv(x, W) + bias (+ residual) (ReLU)`; inputs: x, and the residual if any.
    Conv {
        conv: Conv2d,
        /// HWIO, see the module docs.
        weight: Vec<f32>,
        /// One per output channel (zeros when the conv had neither bias nor BN).
        bias: Vec<f32>,
        relu: bool,
    },
    /// Per-channel `y = x·scale + shift (ReLU)`: a batch norm that was not folded.
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
        relu: bool,
    },
    /// Max pool; padding never wins the max.
    MaxPool(Pool2d),
    /// Mean over H and W: N×H×W×C → N×1×1×C.
    GlobalAvgPool,
    /// `y = x·Wᵀ + b` on N×1×1×Cin.
    Linear {
        in_f: usize,
        out_f: usize,
        /// `[out][in]`
        weight: Vec<f32>,
        bias: Vec<f32>,
    },
    /// CIFAR option-A shortcut.
    ShortcutA(ShortcutA),
    /// `y = a + b (ReLU)`; inputs: a, b of the same shape.
    Add { relu: bool },
    /// `y = max(x, 0)`.
    Relu,
}

impl Op {
    /// Short name for tables and labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::InputToNhwc => "input",
            Op::Conv { .. } => "conv",
            Op::Affine { .. } => "batchnorm",
            Op::MaxPool(_) => "maxpool",
            Op::GlobalAvgPool => "avgpool",
            Op::Linear { .. } => "linear",
            Op::ShortcutA(_) => "shortcut_a",
            Op::Add { .. } => "add",
            Op::Relu => "relu",
        }
    }
}

/// One node: an op, its input values and its output value.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub op: Op,
    pub inputs: Vec<ValueId>,
    pub output: ValueId,
}

/// A run of nodes recorded into one command buffer (the stem, one residual block, the head).
#[derive(Clone, Debug)]
pub struct Segment {
    pub name: String,
    pub nodes: Vec<Node>,
}

/// Activation shape of one image: channels, height, width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    /// Elements per image.
    pub fn len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// True for a shape with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A whole network: value 0 is the NCHW input with `input_channels` channels.
#[derive(Clone, Debug)]
pub struct Graph {
    /// Architecture name, for messages.
    pub name: String,
    pub input_channels: usize,
    /// Channel count of every value; value 0 is the input.
    pub value_channels: Vec<usize>,
    pub segments: Vec<Segment>,
    pub output: ValueId,
    /// The only input (height, width) the graph is valid for, when it was built for one size
    /// (an imported ONNX average pool whose window was sized to the declared input).
    pub fixed_input: Option<(usize, usize)>,
}

impl Graph {
    /// A graph with only its input value.
    pub fn new(name: &str, input_channels: usize) -> Self {
        Graph {
            name: name.to_string(),
            input_channels,
            value_channels: vec![input_channels],
            segments: Vec::new(),
            output: 0,
            fixed_input: None,
        }
    }

    /// The number of classes (channels of the output).
    pub fn num_classes(&self) -> usize {
        self.value_channels[self.output]
    }

    /// All nodes in execution order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.segments.iter().flat_map(|s| s.nodes.iter())
    }

    /// Shape of the output for `n` inputs of `h × w`: `[N, classes]` for a classifier's
    /// logits (1 × 1 outputs), else `[N, H, W, C]` (NHWC, as the kernels store it).
    pub fn output_shape(&self, n: usize, h: usize, w: usize) -> Result<Vec<usize>> {
        let s = self.shapes(h, w)?[self.output];
        Ok(if s.h * s.w == 1 {
            vec![n, s.c]
        } else {
            vec![n, s.h, s.w, s.c]
        })
    }

    /// The same graph with every weight and bias vector emptied (for keeping the structure
    /// once the weights live elsewhere).
    pub fn without_weights(&self) -> Graph {
        let strip = |op: &Op| match op {
            Op::Conv { conv, relu, .. } => Op::Conv {
                conv: *conv,
                weight: Vec::new(),
                bias: Vec::new(),
                relu: *relu,
            },
            Op::Linear { in_f, out_f, .. } => Op::Linear {
                in_f: *in_f,
                out_f: *out_f,
                weight: Vec::new(),
                bias: Vec::new(),
            },
            Op::Affine { relu, .. } => Op::Affine {
                scale: Vec::new(),
                shift: Vec::new(),
                relu: *relu,
            },
            other => other.clone(),
        };
        Graph {
            name: self.name.clone(),
            input_channels: self.input_channels,
            value_channels: self.value_channels.clone(),
            segments: self
                .segments
                .iter()
                .map(|seg| Segment {
                    name: seg.name.clone(),
                    nodes: seg
                        .nodes
                        .iter()
                        .map(|n| Node {
                            name: n.name.clone(),
                            op: strip(&n.op),
                            inputs: n.inputs.clone(),
                            output: n.output,
                        })
                        .collect(),
                })
                .collect(),
            output: self.output,
            fixed_input: self.fixed_input,
        }
    }

    /// Shapes of every value for an input of `h × w`, checking each node's inputs; an error
    /// names the first node the input cannot pass through.
    pub fn shapes(&self, h: usize, w: usize) -> Result<Vec<Shape>> {
        if let Some((fh, fw)) = self.fixed_input {
            if (fh, fw) != (h, w) {
                return Err(Error::InvalidInput(format!(
                    "{}: this model only takes {fh}x{fw} inputs, found {h}x{w}",
                    self.name
                )));
            }
        }
        if h == 0 || w == 0 {
            return Err(Error::InvalidInput(format!(
                "{}: input {h}x{w}: expected a height and width of at least 1",
                self.name
            )));
        }
        // The shaders index an image's pixels in 32 bits; larger sides would also overflow the
        // layers' size arithmetic below.
        if h.checked_mul(w).is_none_or(|px| px > u32::MAX as usize) {
            return Err(Error::InvalidInput(format!(
                "{}: input {h}x{w}: expected at most {} pixels per image, found {}",
                self.name,
                u32::MAX,
                h as u128 * w as u128
            )));
        }
        let mut shapes: Vec<Option<Shape>> = vec![None; self.value_channels.len()];
        shapes[0] = Some(Shape {
            c: self.input_channels,
            h,
            w,
        });
        let too_small = |node: &Node, s: Shape| {
            Error::InvalidInput(format!(
                "{}: input {}x{} is too small for layer `{}` (its input would be {}x{})",
                self.name, h, w, node.name, s.h, s.w
            ))
        };
        for node in self.nodes() {
            let ins: Vec<Shape> = node
                .inputs
                .iter()
                .map(|&v| shapes[v].expect("graph values are defined before use"))
                .collect();
            let x = ins[0];
            let out = match &node.op {
                Op::InputToNhwc => Shape {
                    c: self.value_channels[node.output],
                    ..x
                },
                Op::Affine { .. } | Op::Relu => x,
                Op::Conv { conv, .. } => {
                    conv.check().map_err(|e| {
                        Error::InvalidInput(format!("{}: layer `{}`: {e}", self.name, node.name))
                    })?;
                    let (oh, ow) = conv.out_hw(x.h, x.w).ok_or_else(|| too_small(node, x))?;
                    Shape {
                        c: conv.out_c,
                        h: oh,
                        w: ow,
                    }
                }
                Op::MaxPool(p) => {
                    let (oh, ow) = p.out_hw(x.h, x.w).ok_or_else(|| too_small(node, x))?;
                    Shape {
                        c: x.c,
                        h: oh,
                        w: ow,
                    }
                }
                Op::GlobalAvgPool => Shape { c: x.c, h: 1, w: 1 },
                Op::Linear { out_f, .. } if x.h * x.w == 1 => Shape {
                    c: *out_f,
                    h: 1,
                    w: 1,
                },
                Op::Linear { .. } => {
                    return Err(Error::InvalidInput(format!(
                        "{}: layer `{}` (linear) reads a {}x{} map for input {h}x{w}; expected \
                         1x1 (pooled)",
                        self.name, node.name, x.h, x.w
                    )))
                }
                Op::ShortcutA(s) => {
                    let (oh, ow) = s.out_hw(x.h, x.w);
                    Shape {
                        c: s.out_c,
                        h: oh,
                        w: ow,
                    }
                }
                Op::Add { .. } => x,
            };
            // Residual operands (conv's second input, add's second input) must match.
            if node.inputs.len() > 1 && ins[1] != out {
                return Err(Error::InvalidInput(format!(
                    "{}: layer `{}` adds a residual of shape {:?} to an output of shape {:?} for input {}x{}",
                    self.name, node.name, ins[1], out, h, w
                )));
            }
            shapes[node.output] = Some(out);
        }
        Ok(shapes
            .into_iter()
            .map(|s| s.unwrap_or(Shape { c: 0, h: 0, w: 0 }))
            .collect())
    }

    /// Multiply-adds of the convs and the linear layer for one image of `h × w`.
    pub fn macs(&self, h: usize, w: usize) -> Result<u64> {
        let shapes = self.shapes(h, w)?;
        Ok(self
            .nodes()
            .map(|n| match &n.op {
                Op::Conv { conv, .. } => {
                    let s = shapes[n.output];
                    (s.h * s.w * conv.weight_len()) as u64
                }
                Op::Linear { in_f, out_f, .. } => (*in_f * *out_f) as u64,
                _ => 0,
            })
            .sum())
    }
}
