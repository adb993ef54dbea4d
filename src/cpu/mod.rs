//! The CPU reference: every op as plain loops over NHWC tensors, and a runner for a whole
//! [`Graph`]. It is the oracle of the tests and of `resnet verify`, so it favours code anyone
//! can check by eye over speed (the conv splits its output rows across threads, nothing more).
//!
//! The op functions take slices of the lengths their shapes imply and panic on others, as
//! slice indexing does; [`run`] takes a graph that [`Graph::validate`] accepts. [`CpuModel`]
//! checks both (the graph when it is made, each input when it runs), so it is the entry point
//! for graphs and inputs from outside.

mod model;

pub use model::CpuModel;

use crate::error::{Error, Result};
use crate::model::{Conv2d, Graph, Op, Pool2d, Shape, ShortcutA};

/// NCHW → NHWC with `out_c ≥ c` channels (the extra ones zero).
pub fn nchw_to_nhwc(x: &[f32], n: usize, c: usize, h: usize, w: usize, out_c: usize) -> Vec<f32> {
    let mut y = vec![0.0; n * h * w * out_c];
    for b in 0..n {
        for ch in 0..c {
            for i in 0..h {
                for j in 0..w {
                    y[((b * h + i) * w + j) * out_c + ch] = x[((b * c + ch) * h + i) * w + j];
                }
            }
        }
    }
    y
}

/// NHWC → NCHW.
pub fn nhwc_to_nchw(x: &[f32], n: usize, c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    for b in 0..n {
        for ch in 0..c {
            for i in 0..h {
                for j in 0..w {
                    y[((b * c + ch) * h + i) * w + j] = x[((b * h + i) * w + j) * c + ch];
                }
            }
        }
    }
    y
}

/// `y = conv(x, W) + bias (+ residual) (ReLU)` with `x` NHWC `n × h × w × Cin` and `W` HWIO
/// (per-group input channels for a grouped conv, see [`Conv2d`]), any groups and dilation.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    conv: &Conv2d,
    weight: &[f32],
    bias: &[f32],
    residual: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let Some((oh, ow)) = conv.out_hw(h, w) else {
        return Vec::new();
    };
    let (cin, cout) = (conv.in_c, conv.out_c);
    // Per group: Cin/G input channels feed Cout/G output channels (see `Conv2d`).
    let groups = conv.groups.max(1);
    let (cin_g, cout_g) = (cin / groups, cout / groups);
    let [kh, kw] = conv.kernel;
    let [dh, dw] = conv.dilation;
    let mut y = vec![0.0f32; n * oh * ow * cout];
    let row_len = ow * cout;
    // One output row (fixed image and oy) per task.
    let conv_row = |row: usize, out: &mut [f32]| {
        let (b, oy) = (row / oh, row % oh);
        for ox in 0..ow {
            let acc = &mut out[ox * cout..(ox + 1) * cout];
            acc.copy_from_slice(bias);
            for ky in 0..kh {
                let iy = (oy * conv.stride[0] + ky * dh) as isize - conv.pad[0] as isize;
                if iy < 0 || iy >= h as isize {
                    continue;
                }
                for kx in 0..kw {
                    let ix = (ox * conv.stride[1] + kx * dw) as isize - conv.pad[1] as isize;
                    if ix < 0 || ix >= w as isize {
                        continue;
                    }
                    let pixel = ((b * h + iy as usize) * w + ix as usize) * cin;
                    for g in 0..groups {
                        let acc_g = &mut acc[g * cout_g..(g + 1) * cout_g];
                        for ci in 0..cin_g {
                            let v = x[pixel + g * cin_g + ci];
                            let row = ((ky * kw + kx) * cin_g + ci) * cout + g * cout_g;
                            for (a, &wv) in acc_g.iter_mut().zip(&weight[row..row + cout_g]) {
                                *a += v * wv;
                            }
                        }
                    }
                }
            }
            let base = ((b * oh + oy) * ow + ox) * cout;
            for (co, a) in acc.iter_mut().enumerate() {
                if let Some(r) = residual {
                    *a += r[base + co];
                }
                if relu {
                    *a = a.max(0.0);
                }
            }
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let rows = n * oh;
    let per = rows.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (t, chunk) in y.chunks_mut(per * row_len).enumerate() {
            let conv_row = &conv_row;
            s.spawn(move || {
                for (i, out) in chunk.chunks_mut(row_len).enumerate() {
                    conv_row(t * per + i, out);
                }
            });
        }
    });
    y
}

/// Per-channel `y = x·scale + shift (ReLU)` on NHWC.
pub fn affine(x: &[f32], scale: &[f32], shift: &[f32], relu: bool) -> Vec<f32> {
    let c = scale.len();
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let y = v * scale[i % c] + shift[i % c];
            if relu {
                y.max(0.0)
            } else {
                y
            }
        })
        .collect()
}

/// Max pool over NHWC; padded positions are skipped, so padding never wins.
pub fn max_pool(x: &[f32], n: usize, h: usize, w: usize, c: usize, p: &Pool2d) -> Vec<f32> {
    let Some((oh, ow)) = p.out_hw(h, w) else {
        return Vec::new();
    };
    let mut y = vec![f32::NEG_INFINITY; n * oh * ow * c];
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for ky in 0..p.kernel[0] {
                    for kx in 0..p.kernel[1] {
                        let iy = (oy * p.stride[0] + ky) as isize - p.pad[0] as isize;
                        let ix = (ox * p.stride[1] + kx) as isize - p.pad[1] as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        for ch in 0..c {
                            let v = x[((b * h + iy as usize) * w + ix as usize) * c + ch];
                            let o = &mut y[((b * oh + oy) * ow + ox) * c + ch];
                            *o = o.max(v);
                        }
                    }
                }
            }
        }
    }
    y
}

/// Mean over H and W: NHWC → N × C.
pub fn global_avg_pool(x: &[f32], n: usize, h: usize, w: usize, c: usize) -> Vec<f32> {
    let mut y = vec![0.0f32; n * c];
    for b in 0..n {
        for ch in 0..c {
            let mut s = 0.0f64;
            for p in 0..h * w {
                s += x[(b * h * w + p) * c + ch] as f64;
            }
            y[b * c + ch] = (s / (h * w) as f64) as f32;
        }
    }
    y
}

/// `y = x·Wᵀ + b` with `W` as `[out][in]`.
pub fn linear(
    x: &[f32],
    n: usize,
    in_f: usize,
    out_f: usize,
    weight: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    let mut y = vec![0.0f32; n * out_f];
    for b in 0..n {
        for o in 0..out_f {
            let mut s = bias[o];
            for i in 0..in_f {
                s += x[b * in_f + i] * weight[o * in_f + i];
            }
            y[b * out_f + o] = s;
        }
    }
    y
}

/// CIFAR option-A shortcut: every `stride`-th pixel, channels zero-padded on both sides.
pub fn shortcut_a(x: &[f32], n: usize, h: usize, w: usize, s: &ShortcutA) -> Vec<f32> {
    let (oh, ow) = s.out_hw(h, w);
    let mut y = vec![0.0f32; n * oh * ow * s.out_c];
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for ci in 0..s.in_c {
                    y[((b * oh + oy) * ow + ox) * s.out_c + s.pad_before + ci] =
                        x[((b * h + oy * s.stride) * w + ox * s.stride) * s.in_c + ci];
                }
            }
        }
    }
    y
}

/// `y = a + b (ReLU)`.
pub fn add(a: &[f32], b: &[f32], relu: bool) -> Vec<f32> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| if relu { (x + y).max(0.0) } else { x + y })
        .collect()
}

/// `y = max(x, 0)`.
pub fn relu(x: &[f32]) -> Vec<f32> {
    x.iter().map(|v| v.max(0.0)).collect()
}

/// Runs `graph` on an NCHW input of `batch × C × h × w`; returns the logits, `batch × classes`.
pub fn run(graph: &Graph, input: &[f32], batch: usize, h: usize, w: usize) -> Result<Vec<f32>> {
    let expected = batch * graph.input_channels * h * w;
    if input.len() != expected || batch == 0 {
        return Err(Error::InvalidInput(format!(
            "input has {} values, expected {batch}×{}×{h}×{w} = {expected}",
            input.len(),
            graph.input_channels
        )));
    }
    let shapes = graph.shapes(h, w)?;
    let mut values: Vec<Option<Vec<f32>>> = vec![None; shapes.len()];
    values[0] = Some(input.to_vec());
    for node in graph.nodes() {
        let x = values[node.inputs[0]].as_deref().unwrap_or(&[]);
        let second = node.inputs.get(1).and_then(|&v| values[v].as_deref());
        let Shape { c, h, w } = shapes[node.inputs[0]];
        let y = match &node.op {
            Op::InputToNhwc => nchw_to_nhwc(x, batch, c, h, w, shapes[node.output].c),
            Op::Conv {
                conv,
                weight,
                bias,
                relu,
            } => conv2d(x, batch, h, w, conv, weight, bias, second, *relu),
            Op::Affine { scale, shift, relu } => affine(x, scale, shift, *relu),
            Op::MaxPool(p) => max_pool(x, batch, h, w, c, p),
            Op::GlobalAvgPool => global_avg_pool(x, batch, h, w, c),
            Op::Linear {
                in_f,
                out_f,
                weight,
                bias,
            } => linear(x, batch, *in_f, *out_f, weight, bias),
            Op::ShortcutA(s) => shortcut_a(x, batch, h, w, s),
            Op::Add { relu } => add(x, second.unwrap_or(&[]), *relu),
            Op::Relu => relu(x),
        };
        values[node.output] = Some(y);
    }
    Ok(values[graph.output].take().unwrap_or_default())
}
