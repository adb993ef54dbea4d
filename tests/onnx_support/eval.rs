//! ONNX semantics on row-major NCHW tensors, written from the operator definitions: the
//! reference the imports are checked against. Slow and simple; it panics on anything it
//! does not know (only tests call it, on graphs they built).

use std::collections::HashMap;

use resnet_wgpu::onnx::proto::{NodeProto, TensorProto};

use super::Net;

/// A float tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct T {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(Clone, Debug)]
pub(super) enum V {
    F(T),
    I(Vec<i64>),
}

fn decode(t: &TensorProto) -> V {
    let shape: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
    let raw = &t.raw_data;
    match t.data_type {
        1 if raw.is_empty() => V::F(T {
            shape,
            data: t.float_data.clone(),
        }),
        1 => V::F(T {
            shape,
            data: raw
                .chunks(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        }),
        11 => V::F(T {
            shape,
            data: t.double_data.iter().map(|&v| v as f32).collect(),
        }),
        10 => V::F(T {
            shape,
            data: raw
                .chunks(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        }),
        7 if raw.is_empty() => V::I(t.int64_data.clone()),
        7 => V::I(
            raw.chunks(8)
                .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
                .collect(),
        ),
        d => panic!("eval: tensor type {d}"),
    }
}

fn attr_i(n: &NodeProto, name: &str, default: i64) -> i64 {
    n.attribute
        .iter()
        .find(|a| a.name == name)
        .map_or(default, |a| a.i)
}
fn attr_f(n: &NodeProto, name: &str, default: f32) -> f32 {
    n.attribute
        .iter()
        .find(|a| a.name == name)
        .map_or(default, |a| a.f)
}
pub(super) fn attr_is(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    n.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.ints.clone())
}

/// Row-major strides of a shape.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Output height and width of a window op (floor rounding).
fn window_shape(x: &T, k: [usize; 2], s: [usize; 2], p: [usize; 4]) -> (usize, usize) {
    let oh = (x.shape[2] + p[0] + p[2] - k[0]) / s[0] + 1;
    let ow = (x.shape[3] + p[1] + p[3] - k[1]) / s[1] + 1;
    (oh, ow)
}

fn get_pads(n: &NodeProto) -> [usize; 4] {
    let p = attr_is(n, "pads").unwrap_or(vec![0; 4]);
    [p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize]
}

fn pair(n: &NodeProto, name: &str, default: usize) -> [usize; 2] {
    attr_is(n, name).map_or([default; 2], |v| [v[0] as usize, v[1] as usize])
}

fn conv(x: &T, w: &T, b: Option<&T>, node: &NodeProto) -> T {
    let (nb, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
    let (m, kh, kw) = (w.shape[0], w.shape[2], w.shape[3]);
    let (s, mut p) = (pair(node, "strides", 1), get_pads(node));
    // `group` G: output o reads input channels (o / (M/G))·C/G + ci, ci < C/G = w.shape[1];
    // `dilations` d: tap k reads input offset k·d.
    let d = pair(node, "dilations", 1);
    let g = node
        .attribute
        .iter()
        .find(|a| a.name == "group")
        .map_or(1, |a| a.i as usize);
    let cg = w.shape[1];
    assert_eq!(
        cg * g,
        c,
        "eval: group {g} with {cg} channels per group on {c} inputs"
    );
    let auto = node.attribute.iter().find(|a| a.name == "auto_pad");
    if auto.is_some_and(|a| a.s == b"SAME_UPPER") {
        // Output ⌈in/s⌉; total padding (⌈in/s⌉ − 1)·s + k − in, the extra pixel at the end.
        for (axis, (n, k)) in [(h, kh), (wd, kw)].into_iter().enumerate() {
            let total = ((n.div_ceil(s[axis]) - 1) * s[axis] + k).saturating_sub(n);
            p[axis] = total / 2;
            p[axis + 2] = total - total / 2;
        }
    }
    let (oh, ow) = window_shape(x, [d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1], s, p);
    let mut y = vec![0.0f32; nb * m * oh * ow];
    for n in 0..nb {
        for o in 0..m {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = b.map_or(0.0, |b| b.data[o] as f64);
                    let c0 = o / (m / g) * cg;
                    for ci in 0..cg {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * s[0] + ky * d[0]) as isize - p[0] as isize;
                                let ix = (ox * s[1] + kx * d[1]) as isize - p[1] as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let xv = x.data
                                    [((n * c + c0 + ci) * h + iy as usize) * wd + ix as usize];
                                let wv = w.data[((o * cg + ci) * kh + ky) * kw + kx];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y[((n * m + o) * oh + oy) * ow + ox] = acc as f32;
                }
            }
        }
    }
    T {
        shape: vec![nb, m, oh, ow],
        data: y,
    }
}

fn pool(x: &T, node: &NodeProto, max: bool) -> T {
    let (nb, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
    let k = pair(node, "kernel_shape", 1);
    let (s, p) = (pair(node, "strides", 1), get_pads(node));
    let (oh, ow) = window_shape(x, k, s, p);
    let mut y = Vec::with_capacity(nb * c * oh * ow);
    for plane in x.data.chunks(h * w) {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = if max { f32::NEG_INFINITY } else { 0.0 };
                for ky in 0..k[0] {
                    for kx in 0..k[1] {
                        let iy = (oy * s[0] + ky) as isize - p[0] as isize;
                        let ix = (ox * s[1] + kx) as isize - p[1] as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue; // max pool padding never wins; avg pools here have none
                        }
                        let v = plane[iy as usize * w + ix as usize];
                        acc = if max { acc.max(v) } else { acc + v };
                    }
                }
                y.push(if max { acc } else { acc / (k[0] * k[1]) as f32 });
            }
        }
    }
    T {
        shape: vec![nb, c, oh, ow],
        data: y,
    }
}

/// Runs `net` on `input` and returns tensor `output`.
pub fn run(net: &Net, input: &T, output: &str) -> T {
    let mut env: HashMap<String, V> = HashMap::new();
    for t in &net.inits {
        env.insert(t.name.clone(), decode(t));
    }
    env.insert("input".into(), V::F(input.clone()));
    for node in &net.nodes {
        if let Some(v) = super::eval_shape::shape_op(node, &env) {
            env.insert(node.output[0].clone(), v);
            continue;
        }
        let f = |k: usize| -> T {
            match env.get(&node.input[k]) {
                Some(V::F(t)) => t.clone(),
                other => panic!("eval: {} input {k}: {other:?}", node.name),
            }
        };
        let ints = |k: usize| -> Vec<i64> {
            match env.get(&node.input[k]) {
                Some(V::I(v)) => v.clone(),
                other => panic!("eval: {} input {k}: {other:?}", node.name),
            }
        };
        let map = |x: T, g: &dyn Fn(usize, f32) -> f32| -> T {
            let per = x.shape[2..].iter().product::<usize>().max(1);
            let c = x.shape[1];
            let data = x
                .data
                .iter()
                .enumerate()
                .map(|(i, &v)| g(i / per % c, v))
                .collect();
            T {
                shape: x.shape,
                data,
            }
        };
        let has = |k: usize| node.input.get(k).is_some_and(|s| !s.is_empty());
        let y = match node.op_type.as_str() {
            "Conv" => conv(&f(0), &f(1), has(2).then(|| f(2)).as_ref(), node),
            "BatchNormalization" => {
                let (g, b, m, v) = (f(1), f(2), f(3), f(4));
                let eps = attr_f(node, "epsilon", 1e-5) as f64;
                map(f(0), &|c, x| {
                    (g.data[c] as f64 * (x as f64 - m.data[c] as f64)
                        / (v.data[c] as f64 + eps).sqrt()
                        + b.data[c] as f64) as f32
                })
            }
            "Relu" => map(f(0), &|_, x| x.max(0.0)),
            "Add" | "Sum" => {
                let mut acc = f(0);
                for k in 1..node.input.len() {
                    let b = f(k);
                    let bl = b.data.len();
                    assert!(
                        bl == acc.data.len() || acc.data.len() % bl == 0,
                        "eval: broadcast"
                    );
                    for (i, v) in acc.data.iter_mut().enumerate() {
                        *v += b.data[i % bl];
                    }
                }
                acc
            }
            "MaxPool" => pool(&f(0), node, true),
            "AveragePool" => pool(&f(0), node, false),
            "GlobalAveragePool" => {
                let x = f(0);
                let hw = x.shape[2] * x.shape[3];
                let data = x
                    .data
                    .chunks(hw)
                    .map(|p| p.iter().sum::<f32>() / hw as f32)
                    .collect();
                T {
                    shape: vec![x.shape[0], x.shape[1], 1, 1],
                    data,
                }
            }
            "Pad" => {
                let (x, p) = (f(0), ints(1));
                let r = x.shape.len();
                let shape: Vec<usize> = (0..r)
                    .map(|i| x.shape[i] + p[i] as usize + p[i + r] as usize)
                    .collect();
                let (si, so) = (strides(&x.shape), strides(&shape));
                let mut data = vec![0.0; shape.iter().product()];
                for (i, &v) in x.data.iter().enumerate() {
                    let o: usize = (0..r)
                        .map(|d| (i / si[d] % x.shape[d] + p[d] as usize) * so[d])
                        .sum();
                    data[o] = v;
                }
                T { shape, data }
            }
            "Slice" => {
                let x = f(0);
                let r = x.shape.len();
                let (st, en, ax, sp) = (ints(1), ints(2), ints(3), ints(4));
                let mut range: Vec<(usize, usize, usize)> =
                    x.shape.iter().map(|&d| (0, d, 1)).collect();
                for i in 0..ax.len() {
                    let d = x.shape[ax[i] as usize];
                    range[ax[i] as usize] = (
                        st[i] as usize,
                        (en[i].min(d as i64)) as usize,
                        sp[i] as usize,
                    );
                }
                let shape: Vec<usize> =
                    range.iter().map(|&(a, b, s)| (b - a).div_ceil(s)).collect();
                let si = strides(&x.shape);
                let so = strides(&shape);
                let data = (0..shape.iter().product())
                    .map(|o| {
                        let i: usize = (0..r)
                            .map(|d| (range[d].0 + (o / so[d] % shape[d]) * range[d].2) * si[d])
                            .sum();
                        x.data[i]
                    })
                    .collect();
                T { shape, data }
            }
            "Flatten" => {
                let x = f(0);
                T {
                    shape: vec![x.shape[0], x.data.len() / x.shape[0]],
                    data: x.data,
                }
            }
            "Reshape" => {
                let (x, s) = (f(0), ints(1));
                let mut shape: Vec<i64> = s
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| if d == 0 { x.shape[i] as i64 } else { d })
                    .collect();
                let known: i64 = shape.iter().filter(|&&d| d > 0).product();
                for d in shape.iter_mut().filter(|d| **d == -1) {
                    *d = x.data.len() as i64 / known;
                }
                T {
                    shape: shape.iter().map(|&d| d as usize).collect(),
                    data: x.data,
                }
            }
            "Gemm" | "MatMul" => {
                let (a, b) = (f(0), f(1));
                let tb = attr_i(node, "transB", 0) == 1;
                let (alpha, beta) = (attr_f(node, "alpha", 1.0), attr_f(node, "beta", 1.0));
                let (n, k) = (a.shape[0], a.shape[1]);
                let m = if tb { b.shape[0] } else { b.shape[1] };
                let c = (node.op_type == "Gemm" && has(2)).then(|| f(2));
                let mut data = vec![0.0; n * m];
                for i in 0..n {
                    for j in 0..m {
                        let dot: f64 = (0..k)
                            .map(|l| {
                                a.data[i * k + l] as f64
                                    * if tb {
                                        b.data[j * k + l]
                                    } else {
                                        b.data[l * m + j]
                                    } as f64
                            })
                            .sum();
                        let cv = c
                            .as_ref()
                            .map_or(0.0, |c| c.data[if c.data.len() == 1 { 0 } else { j }]);
                        data[i * m + j] = (alpha as f64 * dot + beta as f64 * cv as f64) as f32;
                    }
                }
                T {
                    shape: vec![n, m],
                    data,
                }
            }
            "Identity" | "Dropout" => f(0),
            "Softmax" => {
                let x = f(0);
                let c = *x.shape.last().unwrap();
                let mut data = Vec::new();
                for row in x.data.chunks(c) {
                    let mx = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let e: Vec<f64> = row.iter().map(|&v| ((v - mx) as f64).exp()).collect();
                    let s: f64 = e.iter().sum();
                    data.extend(e.iter().map(|v| (v / s) as f32));
                }
                T {
                    shape: x.shape,
                    data,
                }
            }
            "Constant" => {
                let t = node.attribute[0].t.as_ref().unwrap();
                env.insert(node.output[0].clone(), decode(t));
                continue;
            }
            op => panic!("eval: op {op}"),
        };
        env.insert(node.output[0].clone(), V::F(y));
    }
    match env.remove(output) {
        Some(V::F(t)) => t,
        other => panic!("eval: output {output}: {other:?}"),
    }
}
