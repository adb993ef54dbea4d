//! ONNX files the importer must refuse with a clear error (never a panic): truncated and
//! corrupt files, unsupported ops and attributes (the message names the node, its op type
//! and what is unsupported), a transformer-like graph, inputs of the wrong rank or type, and
//! model files of the wrong kind given to `load_model_file`.

mod common;
mod onnx_support;

use std::path::Path;

use common::TempDir;
use onnx_support::{a_int, a_ints, a_str, Net};
use resnet_wgpu::onnx::proto::tensor_proto::{DataLocation, DataType};
use resnet_wgpu::onnx::proto::StringStringEntryProto;
use resnet_wgpu::onnx::{self, OnnxModel};
use resnet_wgpu::{load_model_file, Architecture, BuildOptions, Error, Result};

fn import(bytes: &[u8]) -> Result<OnnxModel> {
    onnx::from_bytes(bytes, BuildOptions::default())
}

/// The error's message, which must contain every one of `parts`.
fn fails_with(r: Result<OnnxModel>, parts: &[&str]) -> Error {
    let e = match r {
        Ok(m) => panic!(
            "expected an error, imported {} nodes",
            m.graph.nodes().count()
        ),
        Err(e) => e,
    };
    let msg = e.to_string();
    eprintln!("{msg}");
    for p in parts {
        assert!(msg.contains(p), "error `{msg}` does not mention `{p}`");
    }
    e
}

/// conv → relu → global pool → flatten → gemm, with `extra` inserted after the relu.
fn small_net(extra: impl FnOnce(&mut Net, &str) -> String) -> (Net, String) {
    let mut net = Net::new(3, None, None);
    let c = net.conv("conv", "input", 3, 4, 3, 1, [1; 4], true);
    let r = net.node("Relu", "relu", &[&c], vec![]);
    let x = extra(&mut net, &r);
    let gap = net.node("GlobalAveragePool", "gap", &[&x], vec![]);
    let fl = net.node("Flatten", "flat", &[&gap], vec![]);
    let w = net.weight("fc.w", &[3, 4], 0.5);
    let fc = net.node("Gemm", "fc", &[&fl, &w], vec![a_int("transB", 1)]);
    (net, fc)
}

#[test]
fn truncated_and_corrupt_files() {
    let (net, out) = small_net(|_, x| x.to_string());
    let bytes = net.bytes(&out);
    assert!(import(&bytes).is_ok(), "the intact model imports");
    // Every cut either fails to decode or leaves a graph that does not hold together.
    for cut in [1, 7, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let e = import(&bytes[..cut]).expect_err("a truncated file must not import");
        assert!(
            matches!(e, Error::BadOnnx { .. } | Error::Unsupported(_)),
            "cut at {cut}: {e}"
        );
    }
    fails_with(import(&[]), &["not an ONNX model"]);
    let garbage: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    fails_with(import(&garbage), &["not a valid ONNX model"]);
    // A safetensors-looking file: 8-byte header length then JSON.
    let mut st = 20u64.to_le_bytes().to_vec();
    st.extend_from_slice(br#"{"__metadata__":{}}  "#);
    fails_with(import(&st), &["not a valid ONNX model"]);
    // The file reader names the path.
    let dir = TempDir::new("onnx-truncated");
    let path = dir.join("cut.onnx");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    let e = onnx::load_onnx(&path, BuildOptions::default()).expect_err("truncated file");
    assert!(e.to_string().contains("cut.onnx"), "{e}");
    let e = onnx::load_onnx(&dir.join("missing.onnx"), BuildOptions::default())
        .expect_err("missing file");
    assert!(e.to_string().contains("missing.onnx"), "{e}");
}

#[test]
fn unsupported_op_names_node_and_op() {
    let (net, out) = small_net(|net, x| {
        net.node(
            "LeakyRelu",
            "act_leaky",
            &[x],
            vec![onnx_support::a_float("alpha", 0.1)],
        )
    });
    fails_with(
        import(&net.bytes(&out)),
        &["act_leaky", "LeakyRelu", "not supported"],
    );
}

#[test]
fn grouped_dilated_and_ceil_mode_windows() {
    // Grouped and dilated convs import; a group that does not divide the 4 channels, or
    // weights whose per-group channels disagree with it, do not.
    let (net, out) = small_net(|net, x| {
        let w = net.weight("g.w", &[4, 2, 3, 3], 0.3);
        let attrs = vec![
            a_ints("kernel_shape", &[3, 3]),
            a_int("group", 2),
            a_ints("dilations", &[2, 1]),
        ];
        net.node("Conv", "grouped", &[x, &w], attrs)
    });
    assert!(
        import(&net.bytes(&out)).is_ok(),
        "group 2, dilations [2, 1]"
    );
    let (net, out) = small_net(|net, x| {
        let w = net.weight("g.w", &[3, 1, 3, 3], 0.3);
        let attrs = vec![a_ints("kernel_shape", &[3, 3]), a_int("group", 3)];
        net.node("Conv", "grouped", &[x, &w], attrs)
    });
    fails_with(
        import(&net.bytes(&out)),
        &["grouped", "(Conv)", "group = 3", "divisor"],
    );
    let (net, out) = small_net(|net, x| {
        let w = net.weight("g.w", &[4, 1, 3, 3], 0.3);
        let attrs = vec![a_ints("kernel_shape", &[3, 3]), a_int("group", 2)];
        net.node("Conv", "grouped", &[x, &w], attrs)
    });
    fails_with(
        import(&net.bytes(&out)),
        &["grouped", "per group", "group = 2"],
    );
    let (net, out) = small_net(|net, x| {
        let attrs = vec![
            a_ints("kernel_shape", &[3, 3]),
            a_ints("dilations", &[2, 2]),
        ];
        net.node("MaxPool", "dilated", &[x], attrs)
    });
    fails_with(import(&net.bytes(&out)), &["dilated", "dilations"]);
    let (net, out) = small_net(|net, x| {
        let attrs = vec![a_ints("kernel_shape", &[3, 3]), a_int("ceil_mode", 1)];
        net.node("MaxPool", "ceil_pool", &[x], attrs)
    });
    fails_with(
        import(&net.bytes(&out)),
        &["ceil_pool", "MaxPool", "ceil_mode"],
    );
    let (net, out) = small_net(|net, x| {
        let attrs = vec![a_ints("kernel_shape", &[3, 3])];
        net.node("AveragePool", "local_avg", &[x], attrs)
    });
    fails_with(
        import(&net.bytes(&out)),
        &["local_avg", "AveragePool", "global"],
    );
}

/// A zero Pad cannot join a max pool's padding when the padded values may be negative, nor
/// stand alone before another op.
#[test]
fn pads_that_cannot_fold() {
    let mut net = Net::new(3, None, None);
    let c = net.conv("conv", "input", 3, 4, 3, 1, [1; 4], true);
    let pads = net.ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1]);
    let pd = net.node("Pad", "pad_signed", &[&c, &pads], vec![]);
    let attrs = vec![a_ints("kernel_shape", &[3, 3]), a_ints("strides", &[2, 2])];
    let mp = net.node("MaxPool", "pool", &[&pd], attrs);
    let gap = net.node("GlobalAveragePool", "gap", &[&mp], vec![]);
    fails_with(
        import(&net.bytes(&gap)),
        &["pool", "pad_signed", "negative"],
    );

    let (net, out) = small_net(|net, x| {
        let pads = net.ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1]);
        let pd = net.node("Pad", "pad_alone", &[x, &pads], vec![]);
        net.node("Relu", "after_pad", &[&pd], vec![])
    });
    fails_with(
        import(&net.bytes(&out)),
        &["after_pad", "pad_alone", "Conv or a MaxPool"],
    );
    let (net, out) = small_net(|net, x| {
        let pads = net.ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1]);
        let pd = net.node(
            "Pad",
            "pad_reflect",
            &[x, &pads],
            vec![a_str("mode", "reflect")],
        );
        net.node("Relu", "r", &[&pd], vec![])
    });
    fails_with(import(&net.bytes(&out)), &["pad_reflect", "mode = reflect"]);
}

/// Patch embedding, then tokens: the first node that is not a ResNet op is named.
#[test]
fn transformer_like_graph_names_the_first_unsupported_node() {
    let mut net = Net::new(3, Some(32), Some(32));
    let w = net.weight("patch.w", &[16, 3, 8, 8], 0.1);
    let attrs = vec![a_ints("kernel_shape", &[8, 8]), a_ints("strides", &[8, 8])];
    let patches = net.node("Conv", "patch_embed", &["input", &w], attrs);
    let shape = net.ints("tok_shape", &[0, 16, -1]);
    let tokens = net.node("Reshape", "to_tokens", &[&patches, &shape], vec![]);
    let t = net.node(
        "Transpose",
        "tokens_t",
        &[&tokens],
        vec![a_ints("perm", &[0, 2, 1])],
    );
    let g = net.weight("ln.g", &[16], 1.0);
    let ln = net.node("LayerNormalization", "ln1", &[&t, &g], vec![]);
    let q = net.node("MatMul", "attn_qk", &[&ln, &ln], vec![]);
    let out = net.node("Softmax", "attn", &[&q], vec![]);
    fails_with(
        import(&net.bytes(&out)),
        &["to_tokens", "Reshape", "global pool"],
    );
    // Without the reshape, the next culprit is named instead.
    let mut net2 = Net::new(3, Some(32), Some(32));
    net2.inits = net.inits.clone();
    net2.nodes = net.nodes.clone();
    net2.nodes.retain(|n| n.name != "to_tokens");
    net2.nodes[1].input[0] = patches.clone();
    fails_with(
        import(&net2.bytes(&out)),
        &["tokens_t", "Transpose", "not supported"],
    );
}

#[test]
fn wrong_input_rank_or_type() {
    let (mut net, out) = small_net(|_, x| x.to_string());
    net.input_dims = vec![None, Some(3)];
    fails_with(
        import(&net.bytes(&out)),
        &["input `input`", "rank 2", "rank 4"],
    );
    let (mut net, out) = small_net(|_, x| x.to_string());
    net.input_type = DataType::Int64;
    fails_with(import(&net.bytes(&out)), &["INT64", "FLOAT"]);
    let (mut net, out) = small_net(|_, x| x.to_string());
    net.input_dims[1] = Some(5);
    fails_with(
        import(&net.bytes(&out)),
        &["conv", "3 input channels", "has 5"],
    );
}

#[test]
fn malformed_graphs() {
    // A node reading a tensor nobody defines.
    let (net, out) = small_net(|net, x| net.node("Add", "add_ghost", &[x, "ghost"], vec![]));
    fails_with(import(&net.bytes(&out)), &["add_ghost", "ghost"]);
    // Weights stored outside the file.
    let (mut net, out) = small_net(|_, x| x.to_string());
    let t = &mut net.inits[0];
    t.raw_data.clear();
    t.data_location = DataLocation::External as i32;
    t.external_data.push(StringStringEntryProto {
        key: "location".into(),
        value: "weights.bin".into(),
    });
    fails_with(
        import(&net.bytes(&out)),
        &["conv.w", "external", "weights.bin"],
    );
    // Data shorter than the dims say.
    let (mut net, out) = small_net(|_, x| x.to_string());
    net.inits[0].raw_data.truncate(12);
    fails_with(
        import(&net.bytes(&out)),
        &["conv.w", "need 108 elements, found 3"],
    );
    // A softmax in the middle.
    let (net, out) = small_net(|net, x| net.node("Softmax", "mid_softmax", &[x], vec![]));
    fails_with(import(&net.bytes(&out)), &["mid_softmax", "last node"]);
    // Logits that are still a feature map.
    let (net, _) = small_net(|_, x| x.to_string());
    fails_with(import(&net.bytes("relu")), &["relu", "feature map"]);
}

#[test]
fn model_file_kinds() {
    let dir = TempDir::new("onnx-model-files");
    let (net, out) = small_net(|_, x| x.to_string());
    let good = dir.join("small.onnx");
    std::fs::write(&good, net.bytes(&out)).unwrap_or_else(|e| panic!("{e}"));
    let m = load_model_file(&good, None, BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((m.graph.num_classes(), m.softmax), (3, false));
    // An ONNX file given as weights says where ONNX models go.
    let e = resnet_wgpu::load_graph(
        Architecture::Cifar(20),
        &resnet_wgpu::Weights::File(good.clone()),
        BuildOptions::default(),
    )
    .expect_err("ONNX as weights");
    assert!(
        e.to_string().contains("found an ONNX model") && e.to_string().contains("--model"),
        "{e}"
    );
    // An architecture given with an ONNX file is refused, not silently ignored.
    let resnet20 = Architecture::parse("resnet20").ok();
    let e = load_model_file(&good, resnet20, BuildOptions::default()).expect_err("an arch");
    assert!(
        e.to_string().contains("small.onnx") && e.to_string().contains("found resnet20"),
        "{e}"
    );
    let st = dir.join("weights.safetensors");
    std::fs::write(&st, b"whatever").unwrap_or_else(|e| panic!("{e}"));
    let e = load_model_file(&st, None, BuildOptions::default()).expect_err("needs an arch");
    assert!(e.to_string().contains("--arch"), "{e}");
    let arch = Architecture::parse("resnet20").ok();
    let e = load_model_file(&st, arch, BuildOptions::default()).expect_err("corrupt");
    assert!(e.to_string().contains("weights.safetensors"), "{e}");
    let e = load_model_file(Path::new("model.pt"), None, BuildOptions::default())
        .expect_err("unknown kind");
    assert!(e.to_string().contains(".onnx or .safetensors"), "{e}");
    // A safetensors file renamed to .onnx.
    let renamed = dir.join("renamed.onnx");
    let mut bytes = 30u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(br#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#);
    std::fs::write(&renamed, bytes).unwrap_or_else(|e| panic!("{e}"));
    let e = load_model_file(&renamed, None, BuildOptions::default()).expect_err("not ONNX");
    assert!(e.to_string().contains("renamed.onnx"), "{e}");
}
