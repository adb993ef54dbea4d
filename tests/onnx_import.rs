//! Small ONNX graphs built here, one or more per supported op, imported and run on the GPU
//! and the CPU reference, fused and unfused, against a plain NCHW evaluation of the same
//! ONNX graph (`onnx_support::eval`), within 1e-4 × max |output|. Structural checks make
//! sure the fusions and foldings the importer promises actually happen.

mod common;
mod onnx_support;

use common::{assert_close, engine};
use onnx_support::eval::{run, T};
use onnx_support::{a_float, a_int, a_ints, a_str, a_tensor, int_tensor, values, Net, Store};
use resnet_wgpu::model::{Graph, Op, ShortcutA};
use resnet_wgpu::onnx::{self, OnnxModel};
use resnet_wgpu::{BuildOptions, CpuModel, Model, Tensor};

const REL: f64 = 1e-4;

fn input(n: usize, c: usize, h: usize, w: usize, seed: u64) -> T {
    T {
        shape: vec![n, c, h, w],
        data: values(seed, n * c * h * w, 1.0),
    }
}

fn import(net: &Net, out: &str, unfused: bool) -> OnnxModel {
    let opts = BuildOptions {
        unfused,
        ..Default::default()
    };
    onnx::from_bytes(&net.bytes(out), opts).unwrap_or_else(|e| panic!("import: {e}"))
}

/// Imports `net` fused and unfused, runs both on CPU and GPU and compares each with the
/// evaluation of tensor `want_name` (the logits); returns the fused import.
fn check(net: &Net, out: &str, want_name: &str, x: &T) -> OnnxModel {
    let want = run(net, x, want_name);
    let input = Tensor::new(x.shape.clone(), x.data.clone());
    let mut fused = None;
    for unfused in [false, true] {
        let m = import(net, out, unfused);
        let what = if unfused { "unfused" } else { "fused" };
        let cpu = CpuModel::new(m.graph.clone())
            .unwrap_or_else(|e| panic!("cpu reference: {e}"))
            .infer(&input)
            .unwrap_or_else(|e| panic!("{what} cpu: {e}"));
        assert_eq!(cpu.shape, want.shape, "{what}: logits shape");
        assert_close(&format!("{what} CPU reference"), &cpu.data, &want.data, REL);
        let gpu = Model::new(engine(), m.graph.clone())
            .and_then(|g| g.infer(&input))
            .unwrap_or_else(|e| panic!("{what} gpu: {e}"));
        assert_close(&format!("{what} GPU"), &gpu.data, &want.data, REL);
        if !unfused {
            fused = Some(m);
        }
    }
    fused.unwrap_or_else(|| unreachable!())
}

fn count(g: &Graph, kind: &str) -> usize {
    g.nodes().filter(|n| n.op.kind() == kind).count()
}

fn head(net: &mut Net, x: &str, c: usize, classes: usize) -> String {
    let gap = net.node("GlobalAveragePool", "gap", &[x], vec![]);
    let fl = net.node("Flatten", "flat", &[&gap], vec![a_int("axis", 1)]);
    let w = net.weight("fc.w", &[classes, c], 0.5);
    let b = net.weight("fc.b", &[classes], 0.5);
    net.node("Gemm", "fc", &[&fl, &w, &b], vec![a_int("transB", 1)])
}

/// Grouped (ResNeXt-like 4 groups), depthwise (stride 2) and dilated convs with BN folding and
/// a residual Add into the grouped conv, against the plain NCHW evaluation.
#[test]
fn grouped_depthwise_and_dilated_convs() {
    let mut net = Net::new(3, None, None);
    let c1 = net.conv("c1", "input", 3, 16, 3, 1, [1; 4], true);
    let r1 = net.node("Relu", "r1", &[&c1], vec![]);
    let conv = |net: &mut Net, name: &str, x: &str, cg: usize, attrs: Vec<_>| {
        let w = net.weight(&format!("{name}.w"), &[16, cg, 3, 3], 0.4);
        let b = net.weight(&format!("{name}.b"), &[16], 0.3);
        net.node("Conv", name, &[x, &w, &b], attrs)
    };
    let g4 = conv(
        &mut net,
        "grouped",
        &r1,
        4,
        vec![a_int("group", 4), a_ints("pads", &[1; 4])],
    );
    let bn = net.bn("bn", &g4, 16, 0.1);
    let add = net.node("Add", "add", &[&bn, &r1], vec![]);
    let r2 = net.node("Relu", "r2", &[&add], vec![]);
    let dw = conv(
        &mut net,
        "depthwise",
        &r2,
        1,
        vec![
            a_int("group", 16),
            a_ints("strides", &[2, 2]),
            a_ints("pads", &[1, 0, 1, 2]),
        ],
    );
    let dil = conv(
        &mut net,
        "dilated",
        &dw,
        16,
        vec![a_ints("dilations", &[2, 3]), a_ints("pads", &[2, 3, 2, 3])],
    );
    let out = head(&mut net, &dil, 16, 5);
    let m = check(&net, &out, &out, &input(2, 3, 15, 13, 41));
    let groups: Vec<(usize, [usize; 2])> = m
        .graph
        .nodes()
        .filter_map(|n| match &n.op {
            Op::Conv { conv, .. } => Some((conv.groups, conv.dilation)),
            _ => None,
        })
        .collect();
    assert_eq!(
        groups,
        [(1, [1, 1]), (4, [1, 1]), (16, [1, 1]), (1, [2, 3])]
    );
    assert_eq!(
        count(&m.graph, "batchnorm"),
        0,
        "the BN folds into the grouped conv"
    );
    assert_eq!(
        count(&m.graph, "add"),
        0,
        "the Add fuses into the grouped conv"
    );
}

/// Stem (conv with bias, asymmetric pads, stride 2; BN; ReLU; padded max pool), an identity
/// block (Add), a projection block (Sum with a 1×1 conv + BN shortcut), and a Gemm head with
/// alpha and beta.
#[test]
fn conv_bn_relu_add_sum_maxpool_gemm() {
    let mut net = Net::new(3, None, None);
    let c1 = net.conv("c1", "input", 3, 8, 3, 2, [1, 0, 2, 1], true);
    let b1 = net.bn("bn1", &c1, 8, 0.1);
    let r1 = net.node("Relu", "r1", &[&b1], vec![]);
    let pool = vec![
        a_ints("kernel_shape", &[3, 3]),
        a_ints("strides", &[2, 2]),
        a_ints("pads", &[1, 1, 1, 1]),
    ];
    let p1 = net.node("MaxPool", "pool", &[&r1], pool);
    let a1 = net.conv("a1", &p1, 8, 8, 3, 1, [1; 4], false);
    let a1 = net.bn("a1.bn", &a1, 8, 1e-2);
    let a1 = net.node("Relu", "a1.r", &[&a1], vec![]);
    let a2 = net.conv("a2", &a1, 8, 8, 3, 1, [1; 4], false);
    let a2 = net.bn("a2.bn", &a2, 8, 1e-5);
    let add = net.node("Add", "add", &[&a2, &p1], vec![]);
    let r2 = net.node("Relu", "r2", &[&add], vec![]);
    let b1 = net.conv("b1", &r2, 8, 16, 3, 2, [1; 4], false);
    let b1 = net.bn("b1.bn", &b1, 16, 1e-5);
    let b1 = net.node("Relu", "b1.r", &[&b1], vec![]);
    let b2 = net.conv("b2", &b1, 16, 16, 3, 1, [1; 4], true);
    let b2 = net.bn("b2.bn", &b2, 16, 1e-5);
    let sc = net.conv("sc", &r2, 8, 16, 1, 2, [0; 4], false);
    let sc = net.bn("sc.bn", &sc, 16, 1e-5);
    let sum = net.node("Sum", "sum", &[&b2, &sc], vec![]);
    let r3 = net.node("Relu", "r3", &[&sum], vec![]);
    let gap = net.node("GlobalAveragePool", "gap", &[&r3], vec![]);
    let fl = net.node("Flatten", "flat", &[&gap], vec![a_int("axis", 1)]);
    let w = net.weight("fc.w", &[5, 16], 0.5);
    let b = net.weight("fc.b", &[5], 0.5);
    let attrs = vec![
        a_int("transB", 1),
        a_float("alpha", 0.7),
        a_float("beta", 1.3),
    ];
    let fc = net.node("Gemm", "fc", &[&fl, &w, &b], attrs);
    let m = check(&net, &fc, &fc, &input(2, 3, 19, 17, 1));
    let g = &m.graph;
    assert!(!m.softmax);
    assert_eq!(count(g, "conv"), 6, "{g:#?}");
    for kind in ["batchnorm", "add", "relu"] {
        assert_eq!(count(g, kind), 0, "{kind} not fused");
    }
    // Both residual adds sit in a conv's write step.
    let residual = g
        .nodes()
        .filter(|n| matches!(n.op, Op::Conv { .. }) && n.inputs.len() == 2)
        .count();
    assert_eq!(residual, 2);
    let u = import(&net, &fc, true).graph;
    assert_eq!(
        (count(&u, "batchnorm"), count(&u, "add"), count(&u, "relu")),
        (6, 2, 5)
    );
}

/// Zero Pad nodes: before a conv (asymmetric) they join its padding; after a ReLU and before
/// a max pool they join the pool's padding. Gemm with transB = 0.
#[test]
fn pad_folds_into_conv_and_max_pool() {
    let mut net = Net::new(3, None, None);
    let pads = net.ints("pads0", &[0, 0, 3, 2, 0, 0, 1, 2]);
    let pd = net.node(
        "Pad",
        "pad0",
        &["input", &pads],
        vec![a_str("mode", "constant")],
    );
    let c = net.conv("conv", &pd, 3, 8, 5, 2, [0; 4], true);
    let r = net.node("Relu", "relu", &[&c], vec![]);
    let pads = net.ints("pads1", &[0, 0, 1, 1, 0, 0, 1, 1]);
    let pp = net.node("Pad", "pad1", &[&r, &pads], vec![]);
    let pool = vec![a_ints("kernel_shape", &[3, 3]), a_ints("strides", &[2, 2])];
    let mp = net.node("MaxPool", "pool", &[&pp], pool);
    let gap = net.node("GlobalAveragePool", "gap", &[&mp], vec![]);
    let fl = net.node("Flatten", "flat", &[&gap], vec![]);
    let w = net.weight("fc.w", &[8, 4], 0.5);
    let fc = net.node("Gemm", "fc", &[&fl, &w], vec![a_int("transB", 0)]);
    let m = check(&net, &fc, &fc, &input(2, 3, 21, 18, 2));
    let pads: Vec<[usize; 4]> = m
        .graph
        .nodes()
        .filter_map(|n| match &n.op {
            Op::Conv { conv, .. } => Some(conv.pad),
            Op::MaxPool(p) => Some(p.pad),
            _ => None,
        })
        .collect();
    assert_eq!(pads, vec![[3, 2, 1, 2], [1, 1, 1, 1]]);
}

/// The CIFAR option-A shortcut: x[:, :, ::2, ::2] (one Slice over both axes, or one per axis
/// as some exporters write it) then zero channels on both sides.
#[test]
fn slice_and_pad_become_the_option_a_shortcut() {
    for split in [false, true] {
        let mut net = Net::new(3, None, None);
        let c1 = net.conv("c1", "input", 3, 4, 3, 1, [1; 4], false);
        let c1 = net.bn("bn1", &c1, 4, 1e-5);
        let r1 = net.node("Relu", "r1", &[&c1], vec![]);
        let c2 = net.conv("c2", &r1, 4, 8, 3, 2, [1; 4], false);
        let c2 = net.bn("bn2", &c2, 8, 1e-5);
        let c2 = net.node("Relu", "r2", &[&c2], vec![]);
        let c3 = net.conv("c3", &c2, 8, 8, 3, 1, [1; 4], false);
        let c3 = net.bn("bn3", &c3, 8, 1e-5);
        let big = 1i64 << 62;
        let sl = if split {
            let (st, en) = (net.ints("st", &[0]), net.ints("en", &[big]));
            let (a2, a3, sp) = (
                net.ints("a2", &[2]),
                net.ints("a3", &[3]),
                net.ints("sp", &[2]),
            );
            let h = net.node("Slice", "slice_h", &[&r1, &st, &en, &a2, &sp], vec![]);
            net.node("Slice", "slice_w", &[&h, &st, &en, &a3, &sp], vec![])
        } else {
            let (st, en) = (net.ints("st", &[0, 0]), net.ints("en", &[big, big]));
            let (ax, sp) = (net.ints("ax", &[2, 3]), net.ints("sp", &[2, 2]));
            net.node("Slice", "slice", &[&r1, &st, &en, &ax, &sp], vec![])
        };
        let pads = net.ints("pads", &[0, 2, 0, 0, 0, 2, 0, 0]);
        let pd = net.node("Pad", "pad", &[&sl, &pads], vec![]);
        let add = net.node("Add", "add", &[&c3, &pd], vec![]);
        let r = net.node("Relu", "r3", &[&add], vec![]);
        let fc = head(&mut net, &r, 8, 3);
        let m = check(&net, &fc, &fc, &input(3, 3, 9, 7, 3));
        let shortcuts: Vec<ShortcutA> = m
            .graph
            .nodes()
            .filter_map(|n| match n.op {
                Op::ShortcutA(s) => Some(s),
                _ => None,
            })
            .collect();
        let want = ShortcutA {
            stride: 2,
            pad_before: 2,
            in_c: 4,
            out_c: 8,
        };
        assert_eq!(shortcuts, vec![want], "split slices: {split}");
    }
}

/// AveragePool over the whole declared 8×8 input, Reshape to [N, C] with its shape from a
/// Constant node, MatMul + Add as the classifier.
#[test]
fn global_average_pool_reshape_matmul_add() {
    let mut net = Net::new(3, Some(8), Some(8));
    let c = net.conv("conv", "input", 3, 6, 3, 1, [1; 4], true);
    let r = net.node("Relu", "relu", &[&c], vec![]);
    let ap = net.node(
        "AveragePool",
        "avg",
        &[&r],
        vec![a_ints("kernel_shape", &[8, 8])],
    );
    let shape = int_tensor("shape", &[2], &[0, -1], false);
    let s = net.node("Constant", "shape", &[], vec![a_tensor("value", shape)]);
    let rs = net.node("Reshape", "reshape", &[&ap, &s], vec![]);
    let w = net.weight("w", &[6, 5], 0.5);
    let mm = net.node("MatMul", "matmul", &[&rs, &w], vec![]);
    let b = net.weight("b", &[5], 0.5);
    let out = net.node("Add", "bias", &[&mm, &b], vec![]);
    let m = check(&net, &out, &out, &input(2, 3, 8, 8, 4));
    assert_eq!(m.graph.fixed_input, Some((8, 8)));
    assert_eq!(m.input_hw, Some((8, 8)));
    assert_eq!((count(&m.graph, "linear"), count(&m.graph, "add")), (1, 0));
    // The pool's window was sized for 8×8: another size is refused, not silently wrong.
    let other = Tensor::new(vec![1, 3, 9, 9], vec![0.0; 243]);
    let err = CpuModel::new(m.graph.clone())
        .unwrap_or_else(|e| panic!("cpu reference: {e}"))
        .infer(&other)
        .expect_err("a 9x9 input must be refused");
    assert!(err.to_string().contains("8x8"), "{err}");
}

/// Identity and Dropout pass values through; a final Softmax becomes the `softmax` flag and
/// the graph returns the logits before it.
#[test]
fn identity_dropout_and_final_softmax() {
    let mut net = Net::new(3, None, None);
    let c = net.conv("conv", "input", 3, 6, 3, 2, [1; 4], true);
    let id = net.node("Identity", "id", &[&c], vec![]);
    let r = net.node("Relu", "relu", &[&id], vec![]);
    let gap = net.node("GlobalAveragePool", "gap", &[&r], vec![]);
    let shape = net.ints("shape", &[-1, 6]);
    let rs = net.node("Reshape", "reshape", &[&gap, &shape], vec![]);
    let w = net.weight("w", &[6, 4], 0.8);
    let fc = net.node("Gemm", "fc", &[&rs, &w], vec![]);
    let dr = net.node("Dropout", "drop", &[&fc], vec![]);
    let sm = net.node("Softmax", "prob", &[&dr], vec![a_int("axis", -1)]);
    let x = input(3, 3, 10, 12, 5);
    let m = check(&net, &sm, &fc, &x);
    assert!(m.softmax, "the final Softmax must be reported");
    assert_eq!(m.output_name, "prob");
    let logits = CpuModel::new(m.graph.clone())
        .unwrap_or_else(|e| panic!("cpu reference: {e}"))
        .infer(&Tensor::new(x.shape.clone(), x.data.clone()))
        .unwrap_or_else(|e| panic!("{e}"));
    let probs = onnx::softmax_rows(&logits.data, 4);
    assert_close("softmax", &probs, &run(&net, &x, &sm).data, 1e-5);
}

/// The same network with float initializers in float_data, raw_data, double_data and as
/// float16: each import runs like the ONNX graph it came from.
#[test]
fn initializers_in_typed_raw_double_and_half_fields() {
    let mut graphs = Vec::new();
    for store in [Store::Typed, Store::Raw, Store::Double, Store::Half] {
        let mut net = Net::new(3, None, None);
        net.store = store;
        let c = net.conv("conv", "input", 3, 4, 3, 1, [1; 4], true);
        let b = net.bn("bn", &c, 4, 1e-5);
        let r = net.node("Relu", "relu", &[&b], vec![]);
        let fc = head(&mut net, &r, 4, 3);
        check(&net, &fc, &fc, &input(1, 3, 6, 5, 6));
        graphs.push(import(&net, &fc, false).graph);
    }
    let weights = |g: &Graph| -> Vec<f32> {
        g.nodes()
            .flat_map(|n| match &n.op {
                Op::Conv { weight, .. } | Op::Linear { weight, .. } => weight.clone(),
                _ => Vec::new(),
            })
            .collect()
    };
    assert_eq!(weights(&graphs[0]), weights(&graphs[1]), "typed vs raw");
    assert_eq!(weights(&graphs[0]), weights(&graphs[2]), "typed vs double");
}

/// A conv output read by several nodes keeps its BN and ReLU as separate ops; Sum of three;
/// a conv with auto_pad = SAME_UPPER.
#[test]
fn shared_conv_output_is_not_fused() {
    let mut net = Net::new(3, None, None);
    let c = net.conv("conv", "input", 3, 4, 3, 1, [1; 4], false);
    let bn = net.bn("bn", &c, 4, 1e-5);
    let r = net.node("Relu", "relu", &[&bn], vec![]);
    let rc = net.node("Relu", "relu_c", &[&c], vec![]);
    let sum = net.node("Sum", "sum", &[&r, &c, &rc], vec![]);
    let w = net.weight("same.w", &[4, 4, 4, 4], 0.3);
    let attrs = vec![
        a_ints("kernel_shape", &[4, 4]),
        a_str("auto_pad", "SAME_UPPER"),
    ];
    let same = net.node("Conv", "same", &[&sum, &w], attrs);
    let fc = head(&mut net, &same, 4, 3);
    let m = check(&net, &fc, &fc, &input(2, 3, 7, 6, 7));
    let g = &m.graph;
    assert_eq!(count(g, "batchnorm"), 1);
    assert_eq!(
        count(g, "relu"),
        1,
        "the ReLU of the shared conv output is separate"
    );
    assert_eq!(count(g, "add"), 2, "Sum of three is two adds");
    let same_pad = g.nodes().find_map(|n| match &n.op {
        Op::Conv { conv, .. } if conv.kernel == [4, 4] => Some(conv.pad),
        _ => None,
    });
    assert_eq!(same_pad, Some([1, 1, 2, 2]));
}

/// What exporters put around the head: ReduceMean over height and width, the Shape → Gather →
/// Unsqueeze → Concat chain of `x.view(x.size(0), -1)`, Squeeze and Unsqueeze of the 1×1 axes.
#[test]
fn exporter_head_patterns() {
    let mut net = Net::new(3, None, None);
    let c = net.conv("conv", "input", 3, 6, 3, 2, [1; 4], true);
    let r = net.node("Relu", "relu", &[&c], vec![]);
    let attrs = vec![a_ints("axes", &[2, 3]), a_int("keepdims", 1)];
    let mean = net.node("ReduceMean", "mean", &[&r], attrs);
    let shape = net.node("Shape", "shape", &[&mean], vec![]);
    net.inits.push(int_tensor("idx0", &[], &[0], true));
    let n = net.node("Gather", "batch", &[&shape, "idx0"], vec![a_int("axis", 0)]);
    let ax = net.ints("ax0", &[0]);
    let n1 = net.node("Unsqueeze", "batch1", &[&n, &ax], vec![]);
    let minus = net.ints("minus1", &[-1]);
    let target = net.node("Concat", "target", &[&n1, &minus], vec![a_int("axis", 0)]);
    let view = net.node("Reshape", "view", &[&mean, &target], vec![]);
    let ax23 = net.ints("ax23", &[2, 3]);
    let un = net.node("Unsqueeze", "unflat", &[&view, &ax23], vec![]);
    let sq = net.node("Squeeze", "flat", &[&un, &ax23], vec![]);
    let w = net.weight("w", &[6, 4], 0.5);
    let mm = net.node("MatMul", "matmul", &[&sq, &w], vec![]);
    let b = net.weight("b", &[4], 0.5);
    let out = net.node("Add", "bias", &[&mm, &b], vec![]);
    let m = check(&net, &out, &out, &input(3, 3, 11, 9, 8));
    let kinds: Vec<&str> = m.graph.nodes().map(|n| n.op.kind()).collect();
    assert_eq!(kinds, ["input", "conv", "avgpool", "linear"]);
}
