//! Every op alone on the GPU against the CPU reference (`cpu::run` on the same one-op graph),
//! on ResNet's real layer shapes and on awkward ones: channels 3 and 13, spatial 7, 15 and
//! 97×131, stride 2 on odd sizes, batch 1 and 3, conv kernels 1/3/7 with asymmetric padding,
//! with and without the fused residual and ReLU.
//!
//! Each graph is `InputToNhwc` followed by the op (a residual operand comes from the input
//! itself where the shapes allow, else from a second conv of the same geometry). The outputs
//! are NHWC; they must agree to `1e-4 × max |reference|`.

#[path = "../common/mod.rs"]
mod common;
mod conv;
mod lanes;
mod ops;

use common::{assert_close, engine};
use resnet_wgpu::gpu::ConvVariant;
use resnet_wgpu::model::ir::GraphBuilder;
use resnet_wgpu::model::passes::pad_input_channels;
use resnet_wgpu::model::{Conv2d, Graph, Op, ValueId};
use resnet_wgpu::weights::random_input;
use resnet_wgpu::{cpu, Model, Tensor};

const REL: f64 = 1e-4;

/// Runs `graph` on GPU and CPU for an NCHW input of `n × c × h × w`, compares, and returns
/// the reference output (NHWC).
fn check(name: &str, graph: Graph, n: usize, h: usize, w: usize, input: Vec<f32>) -> Vec<f32> {
    let c = graph.input_channels;
    assert_eq!(input.len(), n * c * h * w, "{name}: input size");
    let want = cpu::run(&graph, &input, n, h, w).unwrap_or_else(|e| panic!("{name}: cpu: {e}"));
    let tensor = Tensor {
        shape: vec![n, c, h, w],
        data: input,
    };
    // Every conv variant that supports every conv of the graph as the model runs it, or the
    // default choice when the graph has no conv.
    let convs = convs_as_run(&graph);
    let variants: Vec<Option<ConvVariant>> = if convs.is_empty() {
        vec![None]
    } else {
        // Variants this adapter cannot run (the subgroup GEMM without `SUBGROUP`) are left
        // out: the executor never picks them there.
        ConvVariant::ALL
            .into_iter()
            .filter(|v| convs.iter().all(|c| v.runs_on(c, engine().conv_caps())))
            .map(Some)
            .collect()
    };
    for variant in variants {
        let model = match variant {
            Some(v) => Model::with_variant(engine(), graph.clone(), v),
            None => Model::new(engine(), graph.clone()),
        }
        .unwrap_or_else(|e| panic!("{name}: load: {e}"));
        if let Some(v) = variant {
            // The forced variant really runs (nothing fell back to the heuristic).
            let used = model
                .conv_variants(n, h, w)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                used.iter().all(|(_, u)| *u == v),
                "{name}: forced {v:?}, ran {used:?}"
            );
        }
        let got = model
            .infer(&tensor)
            .unwrap_or_else(|e| panic!("{name} {variant:?}: gpu: {e}"));
        assert_close(&format!("{name} [{variant:?}]"), &got.data, &want, REL);
    }
    want
}

/// The convs of `graph` as a `Model` runs them: after the input of a 3-channel graph is padded
/// to 4 channels (the stem's weights with it).
fn convs_as_run(graph: &Graph) -> Vec<Conv2d> {
    let mut padded = graph.clone();
    pad_input_channels(&mut padded);
    padded
        .nodes()
        .filter_map(|node| match &node.op {
            Op::Conv { conv, .. } => Some(*conv),
            _ => None,
        })
        .collect()
}

/// A graph of the input conversion and whatever `body` appends.
fn graph(c: usize, body: impl FnOnce(&mut GraphBuilder, ValueId) -> ValueId) -> Graph {
    let mut g = GraphBuilder::new("kernel test", c);
    let x = g.push("input", Op::InputToNhwc, vec![0], c);
    let y = body(&mut g, x);
    g.finish(y)
}

/// `n` seeded normal values with standard deviation `std`.
fn randn(seed: u64, n: usize, std: f32) -> Vec<f32> {
    random_input(seed, n).into_iter().map(|v| v * std).collect()
}
