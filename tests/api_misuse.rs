//! The library API refuses what it cannot run, with an error that names the thing, instead of
//! a panic, a hang or plausible wrong logits: graphs built or edited by hand (a graph without
//! its weights, a bias cut short, a value that does not exist, a NaN weight, mismatched
//! channels), architecture values built by hand, inputs holding NaN or infinities, and a
//! memory budget smaller than one image. Each case goes through the GPU model and the CPU
//! reference alike, and a valid graph still runs after the refusals.

mod common;

use common::engine;
use resnet_wgpu::model::Op;
use resnet_wgpu::weights::random_input;
use resnet_wgpu::{
    load_graph, Architecture, BuildOptions, CpuModel, Error, Graph, Model, ModelOptions, Tensor,
    Weights,
};

fn resnet20() -> Graph {
    common::random_graph(Architecture::Cifar(20), 3)
}

fn input(n: usize) -> Tensor {
    Tensor::new(vec![n, 3, 32, 32], random_input(9, n * 3 * 32 * 32))
}

/// The messages of the GPU model's and the CPU reference's refusal of `g`.
fn refusals(g: &Graph) -> [String; 2] {
    let gpu = match Model::new(engine(), g.clone()) {
        Ok(_) => panic!("the GPU model accepted an invalid graph"),
        Err(e) => e.to_string(),
    };
    let cpu = match CpuModel::new(g.clone()) {
        Ok(_) => panic!("the CPU reference accepted an invalid graph"),
        Err(e) => e.to_string(),
    };
    [gpu, cpu]
}

/// A mutable reference to the op of the node called `name`.
fn op_of<'a>(g: &'a mut Graph, name: &str) -> &'a mut Op {
    g.segments
        .iter_mut()
        .flat_map(|s| s.nodes.iter_mut())
        .find(|n| n.name == name)
        .map(|n| &mut n.op)
        .unwrap_or_else(|| panic!("no layer `{name}`"))
}

#[test]
fn a_graph_without_its_weights_is_refused() {
    let g = resnet20();
    let model = Model::new(engine(), g.clone()).unwrap_or_else(|e| panic!("{e}"));
    // `Model::graph` keeps the structure only: running it again needs the weights.
    for msg in refusals(model.graph()) {
        assert!(
            msg.contains("conv1") && msg.contains("weight has 0 values; expected 432"),
            "{msg}"
        );
    }
    // The model that was made from the whole graph still runs.
    let got = model.infer(&input(1)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.shape, vec![1, 10]);
}

#[test]
fn edited_graphs_are_refused_with_the_layer_named() {
    let mut short_bias = resnet20();
    if let Op::Linear { bias, .. } = op_of(&mut short_bias, "linear") {
        bias.truncate(3);
    }
    for msg in refusals(&short_bias) {
        assert!(
            msg.contains("`linear`") && msg.contains("bias has 3 values; expected 10"),
            "{msg}"
        );
    }

    let mut nan_weight = resnet20();
    if let Op::Conv { weight, .. } = op_of(&mut nan_weight, "layer2.0.conv1") {
        weight[5] = f32::NAN;
    }
    for msg in refusals(&nan_weight) {
        assert!(
            msg.contains("`layer2.0.conv1`") && msg.contains("weight[5] is NaN"),
            "{msg}"
        );
    }

    let mut no_output = resnet20();
    no_output.output = 9999;
    for msg in refusals(&no_output) {
        assert!(msg.contains("output is value 9999"), "{msg}");
    }

    let mut one_channel = resnet20();
    one_channel.input_channels = 1;
    for msg in refusals(&one_channel) {
        assert!(msg.contains("takes 1 input channels"), "{msg}");
    }

    let mut wrong_channels = resnet20();
    if let Op::Conv { conv, .. } = op_of(&mut wrong_channels, "layer1.0.conv2") {
        conv.in_c = 32;
    }
    for msg in refusals(&wrong_channels) {
        assert!(
            msg.contains("`layer1.0.conv2`")
                && msg.contains("input channels of the conv: expected 16, found 32"),
            "{msg}"
        );
    }

    // A graph that is only its input: its output is the NCHW input, no layer's.
    for msg in refusals(&Graph::new("empty", 3)) {
        assert!(msg.contains("output is value 0"), "{msg}");
    }

    // Only the layout op reads the NCHW input.
    let mut reads_nchw = resnet20();
    reads_nchw.segments[0].nodes[1].inputs[0] = 0;
    for msg in refusals(&reads_nchw) {
        assert!(
            msg.contains("`conv1` (conv) reads value 0, the NCHW input"),
            "{msg}"
        );
    }

    let mut read_later = resnet20();
    let last = read_later.value_channels.len() - 1;
    read_later.segments[0].nodes[1].inputs[0] = last;
    for msg in refusals(&read_later) {
        assert!(msg.contains(&format!("reads value {last}")), "{msg}");
    }
}

/// A classifier that reads a feature map instead of the pooled vector is refused when the
/// input's sizes are known (the graph itself is consistent: 64 channels in, 10 out).
#[test]
fn a_linear_layer_on_an_unpooled_map_is_refused_at_run_time() {
    let mut g = resnet20();
    let pool_input = g
        .nodes()
        .find(|n| n.name == "avgpool")
        .map(|n| n.inputs[0])
        .unwrap_or_else(|| panic!("no avgpool"));
    g.segments
        .iter_mut()
        .flat_map(|s| s.nodes.iter_mut())
        .find(|n| n.name == "linear")
        .unwrap_or_else(|| panic!("no linear"))
        .inputs[0] = pool_input;
    let gpu = Model::new(engine(), g.clone()).unwrap_or_else(|e| panic!("{e}"));
    let cpu = CpuModel::new(g).unwrap_or_else(|e| panic!("{e}"));
    for (which, r) in [("gpu", gpu.infer(&input(1))), ("cpu", cpu.infer(&input(1)))] {
        let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("`linear` (linear) reads a 8x8 map") && msg.contains("expected 1x1"),
            "{which}: {msg}"
        );
    }
}

#[test]
fn architectures_built_by_hand_are_checked() {
    let cases = [
        (Architecture::Cifar(0), "CIFAR depth 0"),
        (Architecture::Cifar(21), "CIFAR depth 21"),
        (Architecture::ImageNet(7), "ImageNet depth 7"),
        (
            Architecture::Grouped {
                depth: 50,
                groups: 0,
                width_per_group: 4,
            },
            "0 groups",
        ),
        (
            Architecture::Grouped {
                depth: 18,
                groups: 2,
                width_per_group: 64,
            },
            "grouped depth 18",
        ),
    ];
    for (arch, why) in cases {
        match load_graph(arch, &Weights::Random(1), BuildOptions::default()) {
            Err(e @ Error::UnknownArchitecture { .. }) => {
                assert!(e.to_string().contains(why), "{arch:?}: {e}")
            }
            Err(e) => panic!("{arch:?}: expected an unknown-architecture error, got {e}"),
            Ok(_) => panic!("{arch:?} built a graph"),
        }
    }
    for name in ["resnet20", "resnet18", "resnext50_32x4d", "simple"] {
        let arch = Architecture::parse(name).unwrap_or_else(|e| panic!("{e}"));
        assert!(arch.check().is_ok(), "{name}");
    }
}

#[test]
fn inputs_with_nan_or_infinities_are_refused() {
    let g = resnet20();
    let gpu = Model::new(engine(), g.clone()).unwrap_or_else(|e| panic!("{e}"));
    let cpu = CpuModel::new(g).unwrap_or_else(|e| panic!("{e}"));
    // Image 1, channel 2, row 3, column 4 of a [2, 3, 32, 32] batch.
    let at = 3 * 32 * 32 + 2 * 32 * 32 + 3 * 32 + 4;
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut x = input(2);
        x.data[at] = bad;
        for (which, r) in [("gpu", gpu.infer(&x)), ("cpu", cpu.infer(&x))] {
            let msg = match r {
                Err(e) => e.to_string(),
                Ok(t) => panic!("{which}: {bad} in the input gave logits {:?}", &t.data[..3]),
            };
            assert!(
                msg.contains(&format!("input value {at}"))
                    && msg.contains("image 1, channel 2, row 3, column 4")
                    && msg.contains(&bad.to_string()),
                "{which}: {msg}"
            );
        }
    }
    // The refusals changed nothing: a finite input gives the reference's logits.
    let x = input(2);
    let got = gpu.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    let want = cpu.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    let c = resnet_wgpu::compare(&got, &want).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.max_rel_err < 1e-3 && c.top1_agreement == 1.0, "{c:?}");
}

#[test]
fn a_memory_budget_below_one_image_is_an_error() {
    let g = resnet20();
    let probe = Model::new(engine(), g.clone()).unwrap_or_else(|e| panic!("{e}"));
    let one = probe.memory(1, 32, 32).unwrap_or_else(|e| panic!("{e}"));
    let opts = ModelOptions {
        memory_budget: Some(one.workspace - 1),
        ..Default::default()
    };
    let model = Model::with_options(engine(), g, opts).unwrap_or_else(|e| panic!("{e}"));
    let msg = match model.infer(&input(1)) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("ran over its memory budget"),
    };
    assert!(
        msg.contains(&format!("needs {} bytes", one.workspace))
            && msg.contains(&format!("found {} bytes", one.workspace - 1)),
        "{msg}"
    );
}
