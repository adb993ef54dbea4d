//! Every conv family on ResNet-50's distinct layer shapes (224×224 input), batch 1 and 8, each
//! as a one-conv network (`resnet_wgpu::bench::single_conv_graph`: bias + ReLU fused).
//!
//! The measured time of one iteration is the conv's GPU time from timestamp queries around its
//! dispatch (where the adapter has none: wall clock around submitting that dispatch alone and
//! waiting for it), so the input layout step, the upload and the readback are left out.
//! Throughput is reported in FLOP/s (criterion's "elem/s"): 2 per multiply-add.
//!
//! Run one family with e.g. `cargo bench --bench conv -- 3x3s2`.

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use resnet_wgpu::bench::{conv_cases, random_tensor, single_conv_graph};
use resnet_wgpu::{Architecture, Model};

fn conv(c: &mut Criterion) {
    let engine = common::engine();
    let cases = common::or_exit(
        conv_cases(Architecture::ImageNet(50), 224, 224),
        "listing resnet50's convs",
    );
    for batch in [1, 8] {
        let mut group = c.benchmark_group(format!("conv/b{batch}"));
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(1));
        for case in &cases {
            let model = common::or_exit(
                Model::new(
                    &engine,
                    common::or_exit(single_conv_graph(case.conv, 1), "graph"),
                ),
                "uploading the conv",
            );
            let s = case.input;
            let input = random_tensor(2, batch, s.c, s.h, s.w);
            common::or_exit(model.infer(&input), "the first run");
            let flops = 2 * common::or_exit(case.macs(batch), "counting MACs");
            group.throughput(Throughput::Elements(flops));
            group.bench_function(case.id(), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let p = common::or_exit(model.profile(&input, 1), "timing the conv");
                        total += Duration::from_secs_f64(p.conv_work().1);
                    }
                    total
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, conv);
criterion_main!(benches);
