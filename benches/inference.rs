//! End-to-end inference: resnet18 and resnet50 (random weights, 224×224) at batch 1 and 8.
//! One iteration = `Model::infer`: input upload, every dispatch, waiting for the GPU and
//! reading the logits back. Throughput is reported in images per second.
//!
//! On a software adapter one resnet50 batch-8 inference takes seconds, so samples are few
//! (criterion's minimum of 10, flat sampling); run a subset with e.g.
//! `cargo bench --bench inference -- resnet18`.

mod common;

use std::cell::OnceCell;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use resnet_wgpu::bench::random_tensor;
use resnet_wgpu::{Architecture, BuildOptions, Model, ModelOptions, Weights};

fn inference(c: &mut Criterion) {
    let engine = common::engine();
    for depth in [18, 50] {
        let arch = Architecture::ImageNet(depth);
        // Loaded on first use, so that a filter that skips the network skips loading it too.
        let model = OnceCell::new();
        let load = || {
            common::or_exit(
                Model::load(
                    &engine,
                    arch,
                    &Weights::Random(1),
                    BuildOptions::default(),
                    ModelOptions::default(),
                ),
                "loading the model",
            )
        };
        let mut group = c.benchmark_group(format!("inference/{arch}"));
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(3));
        for batch in [1, 8] {
            let input = OnceCell::new();
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_function(format!("b{batch}"), |b| {
                let model = model.get_or_init(load);
                let input = input.get_or_init(|| {
                    let x = random_tensor(7, batch, 3, 224, 224);
                    // Builds the plan for this batch outside the measurement.
                    common::or_exit(model.infer(&x), "the first inference");
                    x
                });
                b.iter(|| common::or_exit(model.infer(input), "inference"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, inference);
criterion_main!(benches);
