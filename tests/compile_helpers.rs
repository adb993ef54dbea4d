//! Lavapipe's compiles spread over helper devices (`src/gpu/kernels/compile_spread.rs`), with
//! an empty shader cache so that the driver really compiles: a model's first workspace
//! dispatches each distinct launch once before its first call, and helper devices take part
//! once a launch runs long; a launch dispatched once is not dispatched again; and the results
//! are bit for bit those of an engine without helpers, and match the CPU reference.
//!
//! One test in this file: it points Mesa's shader cache at a new folder before any engine
//! exists in the process.

mod common;

use common::assert_close;
use resnet_wgpu::weights::random_input;
use resnet_wgpu::{
    load_graph, Architecture, BuildOptions, CpuModel, Engine, EngineOptions, Graph, Model,
    Precision, Tensor, Weights,
};

fn engine(helpers: bool) -> Engine {
    Engine::with_options(&EngineOptions {
        compile_helpers: Some(helpers),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Stem, max pool, two 64-channel basic blocks and the classifier: a few kernels that
/// lavapipe compiles for seconds each.
fn network() -> Graph {
    let options = BuildOptions {
        blocks: Some(2),
        ..BuildOptions::default()
    };
    load_graph(Architecture::Simple, &Weights::Random(5), options).unwrap_or_else(|e| panic!("{e}"))
}

fn input(h: usize, w: usize) -> Tensor {
    Tensor::new(vec![1, 3, h, w], random_input(9, 3 * h * w))
}

fn lavapipe(engine: &Engine) -> bool {
    let info = engine.adapter_info();
    info.backend == wgpu::Backend::Vulkan && info.name.contains("llvmpipe")
}

#[test]
fn first_workspace_compiles_its_launches_once_on_helper_devices() {
    let cache = tempfile::tempdir().unwrap();
    std::env::set_var("MESA_SHADER_CACHE_DIR", cache.path());
    let helped = engine(true);
    let graph = network();
    let x = input(64, 64);
    assert_eq!(helped.compile_spread(Precision::F32), None, "no model yet");
    let model = Model::new(&helped, graph.clone()).unwrap_or_else(|e| panic!("{e}"));
    let got = model.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    let Some(first) = helped.compile_spread(Precision::F32) else {
        assert!(!lavapipe(&helped), "lavapipe without a spread");
        eprintln!("skipped: the spread applies only to lavapipe");
        return;
    };
    assert!(first.launches > 0, "{first:?}");
    assert_eq!(first.failed, 0, "{first:?}");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores >= 2 {
        // The first launch is a compile of seconds, so helpers start and take launches.
        assert!(first.helpers >= 1, "no helper on {cores} cores: {first:?}");
        assert!(first.queues >= 2, "one queue on {cores} cores: {first:?}");
    } else {
        assert_eq!((first.helpers, first.queues), (0, 1), "{first:?}");
    }

    // Another model of the same network and size on the engine: nothing new to dispatch.
    let again = Model::new(&helped, graph.clone()).unwrap_or_else(|e| panic!("{e}"));
    let got_again = again.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(helped.compile_spread(Precision::F32), Some(first));
    assert_eq!(got_again.data, got.data);

    // Another size: launches of other parameters.
    model
        .infer(&input(96, 96))
        .unwrap_or_else(|e| panic!("{e}"));
    let second = helped.compile_spread(Precision::F32).unwrap();
    assert!(
        second.launches > first.launches,
        "{first:?} then {second:?}"
    );
    assert_eq!(second.failed, 0, "{second:?}");

    // The same network on an engine without helpers: the same logits, bit for bit.
    let plain = engine(false);
    let reference = Model::new(&plain, graph.clone()).unwrap_or_else(|e| panic!("{e}"));
    let want = reference.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.compile_spread(Precision::F32), None);
    assert_eq!(got.data, want.data);
    let cpu = CpuModel::new(graph)
        .unwrap_or_else(|e| panic!("{e}"))
        .infer(&x)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_close("simple with compile helpers", &got.data, &cpu.data, 1e-4);
}
