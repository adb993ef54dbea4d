//! `resnet_wgpu::gpu::tune::tune` on a layer whose batch runs in chunks (its output is over
//! the device's storage-binding limit at the whole batch, under it per image). The executor
//! picks a chunk's kernels by the chunk's size, so tune must tune and key the layer at that
//! size: checked through the key, the tuning's batch, and a model's lookup (tune's choice, then
//! a cache rewritten by hand). The progress tune reports names the layer and its fastest
//! candidate.
//!
//! One test in this file: it sets `RESNET_TUNE_CACHE` for its own process.

mod common;

use std::collections::BTreeMap;

use resnet_wgpu::gpu::kernels::conv::ConvVariant;
use resnet_wgpu::gpu::tune::{adapter_key, tune, TuneProgress};
use resnet_wgpu::gpu::Precision;
use resnet_wgpu::model::ir::{GraphBuilder, Op};
use resnet_wgpu::model::Conv2d;
use resnet_wgpu::{Engine, Graph, Model};

/// The conv variant a model given the cache's choices runs for one image of `side`².
fn cached_variant(engine: &Engine, graph: &Graph, side: usize) -> ConvVariant {
    common::tuned_variants(engine, graph, 1, side, side)["conv"]
}

#[test]
fn a_batch_that_runs_in_chunks_is_tuned_at_its_chunk_size() {
    let engine = Engine::new().expect("these tests need a GPU adapter");
    // A 1×1 conv, 4 → 64 channels: little arithmetic, large output. Side s puts one image's
    // output (64 · s² f32) at about 0.6 of the binding limit, so a batch of 2 needs 2 chunks.
    let limit = engine.limits().max_storage_buffer_binding_size as f64;
    let side = (0.6 * limit / 256.0).sqrt() as usize;
    let conv = Conv2d::square(4, 64, 1, 1, 0);
    let mut g = GraphBuilder::new("chunked", 4);
    let x = g.push("input", Op::InputToNhwc, vec![0], 4);
    let op = Op::Conv {
        conv,
        weight: (0..conv.weight_len())
            .map(|i| ((i * 7) % 13) as f32 * 0.05 - 0.3)
            .collect(),
        bias: (0..64).map(|i| i as f32 * 0.01).collect(),
        relu: true,
    };
    let y = g.push("conv", op, vec![x], 64);
    let graph = g.finish(y);
    let model = Model::new(&engine, graph.clone()).expect("model");
    assert_eq!(
        model.chunk_size(2, side, side).expect("chunk size"),
        1,
        "a batch of 2 at {side}² should run in chunks of 1"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("tune.json");
    std::env::set_var("RESNET_TUNE_CACHE", &cache);
    // What the tune reported as it went: (index, total, layer, fastest) of each shape measured.
    let mut measured = Vec::new();
    let mut report = |step: TuneProgress<'_>| {
        if let TuneProgress::Measured {
            index,
            total,
            layer,
            fastest,
            ..
        } = step
        {
            measured.push((index, total, layer.to_string(), fastest));
        }
    };
    let layers = tune(
        &engine,
        &graph,
        2,
        side,
        side,
        1,
        Precision::F32,
        &mut report,
    )
    .expect("tuning a chunked batch");
    assert_eq!(layers.len(), 1);
    let layer = &layers[0];
    assert_eq!(
        measured,
        [(0, 1, layer.layer().to_string(), layer.fastest)],
        "the progress reported"
    );
    assert_eq!(layer.batch, 1);
    assert!(
        layer.key.ends_with(&format!("_n1_{side}x{side}")),
        "{}",
        layer.key
    );
    assert!(layer.candidates.len() >= 2, "{:?}", layer.candidates);
    for c in &layer.candidates {
        assert!(c.ms.is_finite() && c.ms > 0.0, "{c:?}");
    }
    let chosen = layer
        .candidates
        .iter()
        .find(|c| c.variant == layer.chosen)
        .expect("the chosen variant is a candidate");
    assert!(chosen.verified, "{chosen:?}");

    // The chunks of a call of 2 look the choice up under the key tune wrote ...
    assert_eq!(cached_variant(&engine, &graph, side), layer.chosen);
    // ... and follow that entry when it is rewritten.
    let text = std::fs::read_to_string(&cache).expect("tune wrote its cache");
    let mut file: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(&text).expect("cache is JSON");
    let entry = file
        .get_mut(&adapter_key(&engine))
        .and_then(|e| e.get_mut(&layer.key))
        .unwrap_or_else(|| panic!("no entry `{}` in {text}", layer.key));
    *entry = ConvVariant::Direct.name().to_string();
    std::fs::write(&cache, serde_json::to_string(&file).expect("JSON")).expect("rewrite cache");
    assert_eq!(cached_variant(&engine, &graph, side), ConvVariant::Direct);
}
