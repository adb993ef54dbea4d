//! `resnet_wgpu::gpu::tune::tune` on a layer whose batch runs in chunks (its output is over
//! the device's storage-binding limit at the whole batch, under it per image): every candidate
//! is checked and timed, and one that agreed with the CPU reference is chosen. With timestamp
//! queries the candidates are timed by one chunk's GPU time, scaled to the batch.
//!
//! One test in this file: it sets `RESNET_TUNE_CACHE` for its own process.

use resnet_wgpu::gpu::tune::tune;
use resnet_wgpu::model::ir::{GraphBuilder, Op};
use resnet_wgpu::model::Conv2d;
use resnet_wgpu::{Engine, Model};

#[test]
fn a_layer_whose_batch_runs_in_chunks_is_tuned() {
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
    std::env::set_var("RESNET_TUNE_CACHE", dir.path().join("tune.json"));
    let layers = tune(&engine, &graph, 2, side, side, 1).expect("tuning a chunked batch");
    assert_eq!(layers.len(), 1);
    let layer = &layers[0];
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
}
