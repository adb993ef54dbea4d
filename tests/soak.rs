//! A soak: 2,000 calls from 4 threads on one shared model give the same logits every time and
//! keep the process's resident memory flat. Alone in its test binary, so that no other test
//! allocates while the resident set is measured.

mod common;

use std::sync::Arc;

use common::engine;
use resnet_wgpu::weights::random_input;
use resnet_wgpu::{load_graph, Architecture, BuildOptions, Model, ModelOptions, Tensor, Weights};

fn input(seed: u64, n: usize, h: usize, w: usize) -> Tensor {
    Tensor::new(vec![n, 3, h, w], random_input(seed, n * 3 * h * w))
}

/// Resident set size in bytes, from /proc/self/statm.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            panic!("cannot read the resident size from /proc/self/statm: {statm:?}")
        });
    pages * 4096
}

#[test]
fn a_soak_of_2000_calls_keeps_logits_and_memory() {
    let opts = BuildOptions {
        blocks: Some(1),
        ..Default::default()
    };
    let g = load_graph(Architecture::Simple, &Weights::Random(3), opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let model = Arc::new(Model::new(engine(), g).unwrap_or_else(|e| panic!("{e}")));
    let inputs = Arc::new([input(40, 1, 24, 24), input(41, 2, 24, 24)]);
    let first: Vec<Tensor> = inputs
        .iter()
        .map(|x| model.infer(x).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let first = Arc::new(first);
    let run = |calls: usize| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (model, inputs, first) = (model.clone(), inputs.clone(), first.clone());
                std::thread::spawn(move || {
                    for c in 0..calls {
                        let k = (t + c) % 2;
                        let got = model.infer(&inputs[k]).unwrap_or_else(|e| panic!("{e}"));
                        assert!(
                            got.data == first[k].data,
                            "thread {t} call {c}: logits changed"
                        );
                    }
                })
            })
            .collect();
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    };
    run(50); // warm-up: workspaces, allocator pools, driver caches
    let before = resident_bytes();
    run(500); // 4 threads × 500 = 2,000 calls
    let after = resident_bytes();
    let growth = after.saturating_sub(before);
    eprintln!("soak: resident {before} → {after} bytes (+{growth})");
    // Stated bound: 2,000 calls may grow the resident set by at most 32 MiB (a leak of even
    // one small logits buffer per call would pass it only if under 16 KiB per call).
    assert!(
        growth < 32 << 20,
        "resident memory grew by {growth} bytes over 2,000 calls"
    );
    assert!(model.workspace_count() <= 2 * ModelOptions::default().workspaces_per_shape);
}
