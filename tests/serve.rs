//! `resnet serve` end to end, on loopback only, every wait bounded:
//! - stock `tritonclient` (HTTP and gRPC; the Python of `$RESNET_PYTHON`, which `.ci/run`
//!   sets to its venv) against the shared CIFAR ResNet-20 ONNX model and a generated
//!   resnet18: health, metadata, config, binary and JSON inference, classification, raw
//!   images, logits equal to onnxruntime's (≤ 1e-3 × max |logit|); 16 client threads of
//!   mixed batch sizes with an average batch size > 1 in `/metrics`; bad requests of each
//!   kind; SIGTERM during load (in-flight requests complete, exit status 0);
//! - without Python, plain HTTP/1.1 over a TcpStream: health, metadata, a JSON inference
//!   against the reference, bad requests, metrics, SIGTERM.

mod common;
mod serve_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{generated, require, testdata, TempDir};
use resnet_wgpu::weights::read_tensor;
use serve_support::{
    binary_request, cifar_files, clients_dir, http, infer_json, json, json_floats, python, run_py,
    stdout_lines, Server,
};

#[test]
fn plain_http_inference_errors_metrics_and_sigterm() {
    let Some(data) = testdata("plain_http_inference_errors_metrics_and_sigterm") else {
        return;
    };
    let (model, reference) = cifar_files(&data);
    let mut server = Server::start(&[format!("--model=cifar={}", model.display())]);
    let addr = server.http.clone();
    assert_eq!(http(&addr, "GET", "/v2/health/live", &[], b"").0, 200);
    assert_eq!(http(&addr, "GET", "/v2/health/ready", &[], b"").0, 200);
    let (st, body) = http(&addr, "GET", "/v2/models/cifar", &[], b"");
    let md = json(&body);
    assert_eq!(st, 200);
    assert_eq!(md["inputs"][0]["shape"], serde_json::json!([-1, 3, -1, -1]));
    assert_eq!(md["outputs"][0]["shape"], serde_json::json!([-1, 10]));

    let input = read_tensor(&reference, "input_nchw").unwrap_or_else(|e| panic!("{e}"));
    let want = read_tensor(&reference, "logits_resnet20").unwrap_or_else(|e| panic!("{e}"));
    let per = 3 * 32 * 32;
    let req = serde_json::json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [2, 3, 32, 32], "data": input.data[..2 * per]}],
                                 "outputs": [{"name": "logits"}]});
    let (st, body) = infer_json(&addr, "cifar", &req);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    let got = json_floats(&body);
    common::assert_close("logits over HTTP/JSON", &got, &want.data[..20], 1e-3);

    // Binary input, binary output.
    let header = serde_json::json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 32, 32], "parameters": {"binary_data_size": per * 4}}],
                                    "outputs": [{"name": "logits", "parameters": {"binary_data": true}}]});
    let payload = input.data[..per].iter().flat_map(|v| v.to_le_bytes());
    let (body, length) = binary_request(&header, payload);
    let (st, resp) = http(
        &addr,
        "POST",
        "/v2/models/cifar/versions/1/infer",
        &length,
        &body,
    );
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&resp));
    let tail = &resp[resp.len() - 40..];
    let got: Vec<f32> = tail
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    common::assert_close("logits over HTTP/binary", &got, &want.data[..10], 1e-3);

    // An input too large for the device (its first activations over the binding limit) is
    // the request's fault: 400 naming the limit, and the next requests are served.
    let (h, w) = (2000, 2500);
    let header = serde_json::json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, h, w], "parameters": {"binary_data_size": 3 * h * w * 4}}]});
    let (body, length) = binary_request(&header, std::iter::repeat_n(0, 3 * h * w * 4));
    let (st, resp) = http(&addr, "POST", "/v2/models/cifar/infer", &length, &body);
    let text = String::from_utf8_lossy(&resp);
    assert_eq!(st, 400, "{text}");
    assert!(
        text.contains("[1, 3, 2000, 2500]") && text.contains("limit"),
        "{text}"
    );

    // Two PNG files as base64 BYTES in plain JSON, preprocessed by the server (the reference's
    // `input_nchw` holds the same files, preprocessed, in file-name order).
    let pngs = ["cifar10_00_3.png", "cifar10_01_8.png"].map(|f| {
        let path = require(&data.join("data/cifar10/first20").join(f));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        base64::engine::general_purpose::STANDARD.encode(bytes)
    });
    let req = serde_json::json!({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [2],
                                             "parameters": {"content_type": "base64"}, "data": pngs}],
                                 "outputs": [{"name": "logits"}]});
    let (st, body) = infer_json(&addr, "cifar", &req);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    let got = json_floats(&body);
    common::assert_close(
        "logits of base64 PNGs in JSON",
        &got,
        &want.data[..20],
        1e-3,
    );
    // Text that is not base64 is refused, naming the element.
    let req = serde_json::json!({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                             "parameters": {"content_type": "base64"}, "data": ["not base64!"]}]});
    let (st, body) = infer_json(&addr, "cifar", &req);
    assert_eq!(st, 400);
    assert!(json(&body)["error"]
        .as_str()
        .is_some_and(|e| e.contains("BYTES element 0 is not valid base64")));

    // A value beyond f32 (1e39 reads as infinity) is refused, named.
    let mut values = vec![0.0f64; 3 * 32 * 32];
    values[7] = 1e39;
    let req = serde_json::json!({"inputs": [{"name": "input", "datatype": "FP32",
                                             "shape": [1, 3, 32, 32], "data": values}]});
    let (st, body) = infer_json(&addr, "cifar", &req);
    assert_eq!(st, 400, "{}", String::from_utf8_lossy(&body));
    assert!(json(&body)["error"]
        .as_str()
        .is_some_and(|e| e.contains("expected finite values, found inf at index 7")));

    // The wrong method is a JSON error too.
    let (st, body) = http(&addr, "GET", "/v2/models/cifar/infer", &[], b"");
    assert_eq!(st, 405, "{}", String::from_utf8_lossy(&body));
    assert!(json(&body)["error"]
        .as_str()
        .is_some_and(|e| e.contains("GET /v2/models/cifar/infer: wrong method")));
    let (st, body) = http(&addr, "POST", "/v2/models/cifar/infer", &[], b"{oops");
    assert_eq!(st, 400);
    assert!(json(&body)["error"]
        .as_str()
        .is_some_and(|e| e.contains("malformed JSON")));
    let (st, body) = http(&addr, "GET", "/v2/models/other/config", &[], b"");
    assert_eq!(st, 404);
    assert!(json(&body)["error"]
        .as_str()
        .is_some_and(|e| e.contains("unknown model `other`")));

    let (st, body) = http(&addr, "GET", "/metrics", &[], b"");
    let text = String::from_utf8_lossy(&body);
    assert_eq!(st, 200);
    assert!(
        text.contains("nv_inference_request_success{model=\"cifar\",version=\"1\"} 3"),
        "{text}"
    );
    assert!(
        text.contains(
            "nv_inference_request_failure{model=\"cifar\",version=\"1\",reason=\"bad_request\"} 4"
        ),
        "{text}"
    );
    let status = server.stop();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[test]
fn tritonclient_http_and_grpc() {
    let Some(python) = python() else { return };
    let Some(data) = testdata("tritonclient_http_and_grpc") else {
        return;
    };
    let (model, reference) = cifar_files(&data);
    let r18 =
        generated("tritonclient_http_and_grpc (resnet18)").map(|g| g.join("resnet18-64x80-b2"));
    let repo = TempDir::new("serve-repo");
    let tiny = repo.join("tiny");
    std::fs::create_dir_all(&tiny).unwrap_or_else(|e| panic!("{e}"));
    let cfg = serde_json::json!({"file": model, "max_queue_size": 1, "in_flight": 1, "dynamic_batching": false});
    std::fs::write(tiny.join("config.json"), cfg.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let max_body = 4 << 20;
    let args = vec![
        format!("--model=cifar={}", model.display()),
        format!("--model-repository={}", repo.path().display()),
        format!("--max-body-bytes={max_body}"),
    ];
    if let Some(dir) = &r18 {
        // A small max batch keeps the warm-up (every batch size it runs) short on lavapipe.
        let folder = repo.join("r18");
        std::fs::create_dir_all(&folder).unwrap_or_else(|e| panic!("{e}"));
        let cfg =
            serde_json::json!({"file": require(&dir.join("resnet18.onnx")), "max_batch_size": 4});
        std::fs::write(folder.join("config.json"), cfg.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut server = Server::start(&args);
    let dir = clients_dir();
    let repo_root = env!("CARGO_MANIFEST_DIR").to_string();
    let base = |m: &str| {
        vec![
            format!("--http={}", server.http),
            format!("--grpc={}", server.grpc),
            format!("--model={m}"),
        ]
    };

    let mut a = base("cifar");
    a.extend([
        format!("--reference={}", reference.display()),
        "--logits-tensor=logits_resnet20".into(),
        "--labels=cifar".into(),
        format!("--repo={repo_root}"),
        format!("--images={}", data.join("data/cifar10/first20").display()),
    ]);
    let r = run_py(&python, &dir.join("check_models.py"), &a);
    eprintln!("cifar: {r}");
    if let Some(d) = &r18 {
        let mut a = base("r18");
        a.extend([
            format!(
                "--reference={}",
                require(&d.join("resnet18-reference.safetensors")).display()
            ),
            "--labels=imagenet".into(),
            format!("--repo={repo_root}"),
            "--batch=2".into(),
        ]);
        let r = run_py(&python, &dir.join("check_models.py"), &a);
        eprintln!("resnet18: {r}");
    }

    let mut a = base("cifar");
    a.extend([
        format!("--reference={}", reference.display()),
        "--logits-tensor=logits_resnet20".into(),
    ]);
    let r = run_py(&python, &dir.join("concurrency.py"), &a);
    eprintln!("concurrency: {r}");
    let avg = r["avg_batch"].as_f64().unwrap_or(0.0);
    assert!(
        avg > 1.0,
        "average batch size {avg} with dynamic batching on: {r}"
    );

    let mut a = base("cifar");
    a.extend([
        "--small-queue-model=tiny".into(),
        format!("--reference={}", reference.display()),
        "--logits-tensor=logits_resnet20".into(),
        format!("--max-body={max_body}"),
    ]);
    let r = run_py(&python, &dir.join("bad_requests.py"), &a);
    eprintln!("bad requests: {r}");

    // SIGTERM under load: the load script runs until the server is gone.
    let load = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/serve-load.py");
    let mut child = Command::new(&python)
        .arg(&load)
        .args([
            format!("--url={}", server.http),
            "--model=cifar".into(),
            "--until-stopped".into(),
            format!("--reference={}", reference.display()),
            "--logits-tensor=logits_resnet20".into(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", load.display()));
    let lines = stdout_lines(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
    let first = lines.recv_timeout(Duration::from_secs(180));
    assert!(
        first.as_deref().is_ok_and(|l| l == "started"),
        "the load script did not start: {first:?}"
    );
    let status = server.stop();
    assert!(
        status.success(),
        "exit status after SIGTERM under load: {status}"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let st = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                panic!("the load script did not end after the server stopped");
            }
        }
    };
    let report: Vec<String> =
        std::iter::from_fn(|| lines.recv_timeout(Duration::from_secs(5)).ok()).collect();
    let report = json(report.last().map(|s| s.as_bytes()).unwrap_or(b""));
    eprintln!("load during SIGTERM: {report}");
    assert!(
        st.success(),
        "the load saw wrong answers or error statuses: {report}"
    );
    assert!(report["requests"].as_u64().unwrap_or(0) > 0, "{report}");
    assert_eq!(report["wrong"], 0, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
}

/// Requests that wait in the queue past `--timeout-ms` are answered 503 with the reason and
/// never run; the ones before them, and the next request, are answered normally. One batch at
/// a time of single-image 160 × 160 requests (each far longer than the timeout on any device
/// this runs on) makes every request behind the first wait past 50 ms.
#[test]
fn requests_queued_past_their_timeout_are_dropped() {
    let Some(data) = testdata("requests_queued_past_their_timeout_are_dropped") else {
        return;
    };
    let (model, reference) = cifar_files(&data);
    let server = Server::start(&[
        format!("--model=cifar={}", model.display()),
        "--timeout-ms=50".into(),
        "--in-flight=1".into(),
        "--no-dynamic-batching".into(),
    ]);
    let addr = server.http.clone();
    let side = 160;
    let per = 3 * side * side;
    let header = serde_json::json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, side, side], "parameters": {"binary_data_size": per * 4}}]});
    let payload = (0..per).flat_map(|i| ((i % 7) as f32 * 0.1).to_le_bytes());
    let (body, length) = binary_request(&header, payload);
    let answers: Vec<(u16, Vec<u8>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| http(&addr, "POST", "/v2/models/cifar/infer", &length, &body)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("client thread panicked"))
            })
            .collect()
    });
    let ok = answers.iter().filter(|(st, _)| *st == 200).count();
    let timed_out: Vec<String> = answers
        .iter()
        .filter(|(st, _)| *st == 503)
        .map(|(_, b)| json(b)["error"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        ok + timed_out.len(),
        answers.len(),
        "statuses: {:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(ok >= 1, "the first request must run: {timed_out:?}");
    assert!(!timed_out.is_empty(), "no request timed out: {ok} answered");
    for e in &timed_out {
        assert!(e.contains("past its timeout of 50 ms"), "{e}");
    }

    // The next request, alone in the queue, runs and is right.
    let input = read_tensor(&reference, "input_nchw").unwrap_or_else(|e| panic!("{e}"));
    let want = read_tensor(&reference, "logits_resnet20").unwrap_or_else(|e| panic!("{e}"));
    let req = serde_json::json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 32, 32], "data": input.data[..3 * 32 * 32]}]});
    let (st, body) = infer_json(&addr, "cifar", &req);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    let got = json_floats(&body);
    common::assert_close("logits after the timeouts", &got, &want.data[..10], 1e-3);

    let (_, metrics) = http(&addr, "GET", "/metrics", &[], b"");
    let text = String::from_utf8_lossy(&metrics);
    let line = format!(
        "nv_inference_request_failure{{model=\"cifar\",version=\"1\",reason=\"timeout\"}} {}",
        timed_out.len()
    );
    assert!(text.contains(&line), "want `{line}` in:\n{text}");
}

/// A batch that holds a preferred size goes at once, without waiting out the delay: with a
/// delay of 120 s, a one-image request to a model whose preferred batch size is 1 (and whose
/// max batch is 2, so that it is not full) is answered long before the delay would end, and
/// `/config` lists the preferred size. Without the rule the answer would take 120 s.
#[test]
fn a_preferred_batch_size_goes_without_waiting_out_the_delay() {
    let Some(data) = testdata("a_preferred_batch_size_goes_without_waiting_out_the_delay") else {
        return;
    };
    let (model, _) = cifar_files(&data);
    let mut server = Server::start(&[
        format!("--model=cifar={}", model.display()),
        "--max-batch-size=2".into(),
        "--preferred-batch-size=1".into(),
        "--max-queue-delay-us=120000000".into(),
    ]);
    let (status, body) = http(&server.http, "GET", "/v2/models/cifar/config", &[], b"");
    assert_eq!(status, 200);
    let config = json(&body);
    assert_eq!(
        config["dynamic_batching"]["preferred_batch_size"],
        serde_json::json!([1]),
        "{config}"
    );
    let n = 3 * 32 * 32;
    let req = serde_json::json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 32, 32], "data": vec![0.25f32; n]}]});
    let started = Instant::now();
    let (status, body) = infer_json(&server.http, "cifar", &req);
    let took = started.elapsed();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json_floats(&body).len(), 10);
    assert!(
        took < Duration::from_secs(60),
        "a preferred-size batch waited {took:?}, as if for the 120 s delay"
    );
    assert!(server.stop().success());
}
