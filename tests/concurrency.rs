//! One model, many callers: an `Arc<Model>` shared by many threads gives exactly the serial
//! results; `submit` several calls before waiting on any, waited in any order; batches split
//! into chunks equal the unsplit run and the CPU reference; a failed or abandoned call leaves
//! the model working; a lost device says so. (The soak is in `tests/soak.rs`, alone in its
//! process so that its resident-memory measure sees no other test.)

mod common;

use std::sync::Arc;

use common::{assert_close, engine};
use resnet_wgpu::weights::random_input;
use resnet_wgpu::{
    load_graph, Architecture, BuildOptions, CpuModel, Engine, EngineOptions, Error, Graph, Model,
    ModelOptions, Tensor, Weights,
};

const REL: f64 = 1e-4;

fn input(seed: u64, n: usize, h: usize, w: usize) -> Tensor {
    Tensor::new(vec![n, 3, h, w], random_input(seed, n * 3 * h * w))
}

fn graph(arch: &str, seed: u64) -> Graph {
    let arch = Architecture::parse(arch).unwrap_or_else(|e| panic!("{e}"));
    load_graph(arch, &Weights::Random(seed), BuildOptions::default())
        .unwrap_or_else(|e| panic!("{arch}: {e}"))
}

#[test]
fn model_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Model>();
    assert_send_sync::<resnet_wgpu::Pending>();
}

/// `threads` threads share one model and run `calls` calls each over `inputs` (chosen per call
/// by thread and index); every result must equal, bit for bit, the serial result of the same
/// input, which must itself match the CPU reference.
fn shared_model_matches_serial(arch: &str, inputs: Vec<Tensor>, threads: usize, calls: usize) {
    shared_model_on_matches_serial(engine(), arch, inputs, threads, calls);
}

/// [`shared_model_matches_serial`] on the engine `e`.
fn shared_model_on_matches_serial(
    e: &Engine,
    arch: &str,
    inputs: Vec<Tensor>,
    threads: usize,
    calls: usize,
) {
    let g = graph(arch, 31);
    let model = Arc::new(Model::new(e, g.clone()).unwrap_or_else(|e| panic!("{e}")));
    let cpu = CpuModel::new(g).unwrap_or_else(|e| panic!("cpu reference: {e}"));
    let serial: Vec<Tensor> = inputs
        .iter()
        .map(|x| {
            model
                .infer(x)
                .unwrap_or_else(|e| panic!("{arch} serial: {e}"))
        })
        .collect();
    for (i, (x, got)) in inputs.iter().zip(&serial).enumerate() {
        let want = cpu.infer(x).unwrap_or_else(|e| panic!("{e}"));
        assert_close(
            &format!("{arch} input {i} serial"),
            &got.data,
            &want.data,
            REL,
        );
    }
    let inputs = Arc::new(inputs);
    let serial = Arc::new(serial);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (model, inputs, serial) = (model.clone(), inputs.clone(), serial.clone());
            let arch = arch.to_string();
            std::thread::spawn(move || {
                for c in 0..calls {
                    let k = (t * 7 + c * 3) % inputs.len();
                    let got = model
                        .infer(&inputs[k])
                        .unwrap_or_else(|e| panic!("{arch} thread {t} call {c}: {e}"));
                    assert_eq!(got.shape, serial[k].shape, "{arch} thread {t} call {c}");
                    assert!(
                        got.data == serial[k].data,
                        "{arch} thread {t} call {c} (input {k}): differs from the serial result"
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
    assert!(e.uncaptured_errors().is_empty());
}

#[test]
fn eight_threads_share_a_resnet20() {
    // Batches 1 and 2 mixed, two input sizes: four shapes, each with its own workspaces.
    let inputs = vec![
        input(1, 1, 32, 32),
        input(2, 2, 32, 32),
        input(3, 1, 40, 36),
        input(4, 2, 40, 36),
        input(5, 1, 32, 32),
        input(6, 2, 40, 36),
    ];
    shared_model_matches_serial("resnet20", inputs, 8, 30);
}

/// The same with each call submitted in groups as it is recorded (what GPUs do by default),
/// so that the groups of concurrent calls interleave in the queue.
#[test]
fn eight_threads_share_a_resnet20_submitted_in_groups() {
    let e = Engine::with_options(&EngineOptions {
        submit_groups: Some(true),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(e.submits_in_groups());
    let inputs = vec![
        input(7, 1, 32, 32),
        input(8, 2, 32, 32),
        input(9, 1, 40, 36),
    ];
    shared_model_on_matches_serial(&e, "resnet20", inputs, 8, 12);
}

#[test]
fn eight_threads_share_a_resnet18() {
    let inputs = vec![
        input(11, 1, 48, 48),
        input(12, 2, 48, 48),
        input(13, 1, 40, 56),
        input(14, 2, 40, 56),
    ];
    shared_model_matches_serial("resnet18", inputs, 8, 8);
}

#[test]
fn submitted_calls_can_be_waited_in_any_order() {
    let g = graph("resnet20", 5);
    let model = Model::new(engine(), g.clone()).unwrap_or_else(|e| panic!("{e}"));
    let cpu = CpuModel::new(g).unwrap_or_else(|e| panic!("cpu reference: {e}"));
    // More calls than the pool has workspaces: submit must recycle finished ones itself.
    let inputs: Vec<Tensor> = (0..7)
        .map(|i| input(100 + i, 1 + (i as usize % 2), 32, 32))
        .collect();
    let pending: Vec<_> = inputs
        .iter()
        .map(|x| model.submit(x).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    for (i, p) in pending.into_iter().enumerate().rev() {
        let got = p.wait().unwrap_or_else(|e| panic!("call {i}: {e}"));
        let want = cpu.infer(&inputs[i]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.shape, want.shape);
        assert_close(&format!("call {i}"), &got.data, &want.data, REL);
    }
    // A Pending dropped unread gives its workspace back too.
    for i in 0..5 {
        drop(
            model
                .submit(&inputs[i % 2])
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let got = model.infer(&inputs[0]).unwrap_or_else(|e| panic!("{e}"));
    let want = cpu.infer(&inputs[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_close("after dropped calls", &got.data, &want.data, REL);
    assert!(model.workspace_count() <= 2 * ModelOptions::default().workspaces_per_shape);
}

#[test]
fn many_input_sizes_do_not_accumulate_workspaces() {
    let g = graph("resnet20", 18);
    let model = Model::new(engine(), g.clone()).unwrap_or_else(|e| panic!("{e}"));
    let cpu = CpuModel::new(g).unwrap_or_else(|e| panic!("cpu reference: {e}"));
    for side in 20..40 {
        let x = input(side as u64, 1, side, side);
        let got = model.infer(&x).unwrap_or_else(|e| panic!("{side}: {e}"));
        let want = cpu.infer(&x).unwrap_or_else(|e| panic!("{e}"));
        assert_close(&format!("{side}×{side}"), &got.data, &want.data, REL);
    }
    // 20 sizes were run; idle shapes past the 16 kept are forgotten with their workspaces.
    assert!(
        model.workspace_count() <= 17,
        "{} workspaces",
        model.workspace_count()
    );
}

#[test]
fn split_batches_equal_unsplit_runs_and_the_reference() {
    let g = graph("resnet20", 8);
    let x = input(9, 5, 32, 36);
    let whole = Model::new(engine(), g.clone()).unwrap_or_else(|e| panic!("{e}"));
    let opts = ModelOptions {
        max_chunk: Some(2),
        ..Default::default()
    };
    let split = Model::with_options(engine(), g.clone(), opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(split.chunk_size(5, 32, 36).unwrap_or(0), 2);
    let report = split.memory(5, 32, 36).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.chunk, report.chunks), (2, 3));
    let got = split.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    let unsplit = whole.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    let want = CpuModel::new(g)
        .unwrap_or_else(|e| panic!("cpu reference: {e}"))
        .infer(&x)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.shape, vec![5, 10]);
    assert_close("split vs cpu", &got.data, &want.data, REL);
    assert_close("split vs unsplit", &got.data, &unsplit.data, 1e-6);
    // Each chunk on its own gives the same rows.
    let per = 3 * 32 * 36;
    for (start, len) in [(0, 2), (2, 2), (4, 1)] {
        let chunk = Tensor::new(
            vec![len, 3, 32, 36],
            x.data[start * per..(start + len) * per].to_vec(),
        );
        let rows = whole.infer(&chunk).unwrap_or_else(|e| panic!("{e}"));
        assert_close(
            &format!("chunk at {start}"),
            &got.data[start * 10..(start + len) * 10],
            &rows.data,
            1e-6,
        );
    }
}

#[test]
fn a_memory_budget_splits_batches_and_bounds_workspaces() {
    let g = graph("resnet20", 12);
    let probe = Model::new(engine(), g.clone()).unwrap_or_else(|e| panic!("{e}"));
    let one = probe.memory(1, 32, 32).unwrap_or_else(|e| panic!("{e}"));
    let full = probe.memory(8, 32, 32).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((full.chunk, full.chunks), (8, 1));
    assert!(full.workspace > 4 * one.workspace && one.weights == full.weights);
    assert!(one.live_peak <= one.activations && one.activation_buffers >= 2);
    // A budget of about three single-image workspaces: a batch of 8 runs in chunks.
    let opts = ModelOptions {
        memory_budget: Some(3 * one.workspace),
        ..Default::default()
    };
    let model = Model::with_options(engine(), g.clone(), opts).unwrap_or_else(|e| panic!("{e}"));
    let report = model.memory(8, 32, 32).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.chunks > 1, "{report:?}");
    let x = input(13, 8, 32, 32);
    let got = model.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    let want = CpuModel::new(g)
        .unwrap_or_else(|e| panic!("cpu reference: {e}"))
        .infer(&x)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_close("budgeted", &got.data, &want.data, REL);
}

#[test]
fn failed_and_abandoned_calls_leave_the_model_working() {
    let g = graph("resnet20", 14);
    let model = Model::new(engine(), g.clone()).unwrap_or_else(|e| panic!("{e}"));
    let x = input(15, 1, 32, 32);
    let want = CpuModel::new(g)
        .unwrap_or_else(|e| panic!("cpu reference: {e}"))
        .infer(&x)
        .unwrap_or_else(|e| panic!("{e}"));
    // An impossible plan: one image whose first activation (16 f32 channels) is four times
    // the largest binding the adapter allows.
    let limit = engine().limits().max_storage_buffer_binding_size as f64;
    let side = 2 * (limit / 64.0).sqrt().ceil() as usize;
    let huge = Tensor::new(vec![1, 3, side, side], vec![0.0; 3 * side * side]);
    let e = model
        .infer(&huge)
        .expect_err("an image over the binding limit cannot fit");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("{side}×{side}")) && msg.contains("fit"),
        "{msg}"
    );
    drop(huge);
    // A wrong shape.
    let bad = Tensor::new(vec![1, 4, 32, 32], vec![0.0; 4 * 32 * 32]);
    assert!(matches!(model.infer(&bad), Err(Error::InvalidInput(_))));
    let got = model
        .infer(&x)
        .unwrap_or_else(|e| panic!("after errors: {e}"));
    assert_close("after errors", &got.data, &want.data, REL);
    // A caller that panics while its call is in flight.
    let model = Arc::new(model);
    let m = model.clone();
    let x2 = x.clone();
    let r = std::thread::spawn(move || {
        let _pending = m.submit(&x2).unwrap_or_else(|e| panic!("{e}"));
        panic!("caller panics while holding a workspace");
    })
    .join();
    assert!(r.is_err());
    for _ in 0..5 {
        let got = model
            .infer(&x)
            .unwrap_or_else(|e| panic!("after a panic: {e}"));
        assert_close("after a panic", &got.data, &want.data, REL);
    }
}

#[test]
fn a_lost_device_is_an_error_and_a_new_engine_works() {
    let g = graph("resnet20", 16);
    let x = input(17, 1, 32, 32);
    let lost = Engine::new().unwrap_or_else(|e| panic!("{e}"));
    let model = Model::new(&lost, g.clone()).unwrap_or_else(|e| panic!("{e}"));
    model.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    lost.destroy_device();
    let mut saw_lost = false;
    for _ in 0..50 {
        match model.infer(&x) {
            Err(Error::DeviceLost { .. }) => {
                saw_lost = true;
                break;
            }
            Err(e) => panic!("expected a lost-device error, got {e}"),
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    assert!(saw_lost, "inference on a destroyed device kept succeeding");
    // Loading a model onto the lost device is the same error, not a panic inside wgpu.
    match Model::new(&lost, g.clone()) {
        Err(Error::DeviceLost { .. }) => {}
        Err(e) => panic!("loading onto a lost device: expected a lost-device error, got {e}"),
        Ok(_) => panic!("loaded a model onto a lost device"),
    }
    let fresh = Engine::new().unwrap_or_else(|e| panic!("{e}"));
    let got = Model::new(&fresh, g.clone())
        .and_then(|m| m.infer(&x))
        .unwrap_or_else(|e| panic!("new engine: {e}"));
    let want = CpuModel::new(g)
        .unwrap_or_else(|e| panic!("cpu reference: {e}"))
        .infer(&x)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_close("new engine", &got.data, &want.data, REL);
}

/// Calls in flight in several threads when the device goes: every call that fails says the
/// device was lost (not a readback error), none panics or hangs.
#[test]
fn calls_in_flight_when_the_device_goes_say_it_was_lost() {
    let g = graph("resnet20", 19);
    let lost = Engine::new().unwrap_or_else(|e| panic!("{e}"));
    let model = Model::new(&lost, g).unwrap_or_else(|e| panic!("{e}"));
    let x = input(20, 2, 32, 32);
    model.infer(&x).unwrap_or_else(|e| panic!("{e}"));
    let started = std::sync::Barrier::new(5);
    let errors: Vec<Error> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (model, x, started) = (&model, &x, &started);
                s.spawn(move || {
                    let mut errors = Vec::new();
                    started.wait();
                    // Two calls in flight at a time, until the device is gone (or 60 s).
                    let start = std::time::Instant::now();
                    while start.elapsed() < std::time::Duration::from_secs(60) {
                        let first = model.submit(x);
                        let second = model.submit(x);
                        for call in [first, second] {
                            if let Err(e) = call.and_then(|p| p.wait()) {
                                errors.push(e);
                            }
                        }
                        if !errors.is_empty() {
                            break;
                        }
                    }
                    errors
                })
            })
            .collect();
        started.wait();
        std::thread::sleep(std::time::Duration::from_millis(300));
        lost.destroy_device();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    assert!(
        !errors.is_empty(),
        "no call failed after the device was destroyed"
    );
    for e in &errors {
        assert!(
            matches!(e, Error::DeviceLost { .. }),
            "expected a lost-device error, got {e}"
        );
    }
}
