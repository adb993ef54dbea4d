//! `resnet bench` and `resnet profile` through the binary, on tiny workloads: the JSON keys the
//! issue promises, figures that are positive and finite, and the relations between them that
//! follow from their definitions (images/s = batch / latency, fractions = figure / peak,
//! shares summing to 1, the chart naming every layer of the graph).

mod common;

use std::path::PathBuf;

use common::cli;
use resnet_wgpu::{load_graph, Architecture, BuildOptions, Engine, Weights};
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let stdout = cli::stdout_of(args, &[]);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("resnet {args:?}: not JSON ({e}): {stdout}"))
}

fn positive(v: &Value, key: &str) -> f64 {
    let x = v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {v}"));
    assert!(x.is_finite() && x > 0.0, "`{key}` = {x} in {v}");
    x
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-6 * a.abs().max(b.abs()),
        "{what}: {a} vs {b}"
    );
}

fn has_f16() -> bool {
    Engine::new()
        .unwrap_or_else(|e| panic!("these tests need a GPU adapter: {e}"))
        .features()
        .contains(wgpu::Features::SHADER_F16)
}

#[test]
fn bench_peak_json_reports_the_roofline() {
    let v = json(&["bench", "--peak", "--json"]);
    positive(&v, "f32_gflops");
    positive(&v, "bandwidth_gbs");
    if has_f16() {
        positive(&v, "f16_gflops");
    } else {
        assert!(v["f16_gflops"].is_null(), "{v}");
    }
}

/// In both precisions: the fractions are of the f32 peak, since every kernel multiply-adds in
/// f32 (f16 is a storage precision).
#[test]
fn bench_json_reports_consistent_figures() {
    bench_figures("f32");
    if has_f16() {
        bench_figures("f16");
    }
}

fn bench_figures(precision: &str) {
    let (batch, h, w) = (2.0, 48, 40);
    let v = json(&[
        "bench",
        "--precision",
        precision,
        "--arch",
        "simple",
        "--batch",
        "2",
        "--iters",
        "2",
        "--warmup",
        "1",
        "--profile-runs",
        "1",
        "--height",
        "48",
        "--width",
        "40",
        "--json",
    ]);
    let median = positive(&v, "latency_ms_median");
    let p90 = positive(&v, "latency_ms_p90");
    assert!(p90 >= median, "p90 {p90} < median {median}");
    // Each call's submit is part of its latency, so the medians keep that order.
    let submit = positive(&v, "submit_ms_median");
    assert!(submit <= median, "submit {submit} > latency {median}");
    assert!(positive(&v, "submissions_per_chunk") >= 1.0, "{v}");
    close(
        positive(&v, "images_per_s"),
        batch / (median / 1e3),
        "images/s",
    );
    let graph = load_graph(
        Architecture::Simple,
        &Weights::Random(1),
        BuildOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let macs = graph.macs(h, w).unwrap_or_else(|e| panic!("{e}")) as f64;
    let gflops = positive(&v, "gflops");
    close(gflops, 2.0 * macs * batch / (median / 1e3) / 1e9, "GFLOP/s");
    let conv = positive(&v, "conv_gflops");
    assert_eq!(v["precision"], precision, "{v}");
    let peak = positive(&v, "f32_gflops");
    close(
        positive(&v, "gflops_fraction_of_peak"),
        gflops / peak,
        "fraction",
    );
    close(
        positive(&v, "conv_fraction_of_peak"),
        conv / peak,
        "conv fraction",
    );
    // The convs are part of the GPU time; the span reaches from the first dispatch to the
    // last (checked against the passes in `profile_times_every_layer_and_draws_them`).
    assert!(positive(&v, "conv_gpu_ms") <= positive(&v, "gpu_ms"), "{v}");
    if v["layer_timing"] == "timestamps" {
        assert!(
            positive(&v, "gpu_span_ms") > 0.0 && v["gpu_gaps_ms"].is_f64(),
            "{v}"
        );
    }
}

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("resnet-wgpu-{}-{name}", std::process::id()))
}

#[test]
fn profile_times_every_layer_and_draws_them() {
    let svg = temp_file("profile.svg");
    let svg_arg = svg.to_string_lossy().into_owned();
    let v = json(&[
        "profile", "--arch", "simple", "--height", "48", "--width", "48", "--runs", "2", "--json",
        "--out", &svg_arg,
    ]);
    let graph = load_graph(
        Architecture::Simple,
        &Weights::Random(1),
        BuildOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = graph.nodes().map(|n| n.name.as_str()).collect();
    let layers = v["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("no layers in {v}"));
    let got: Vec<&str> = layers.iter().filter_map(|l| l["layer"].as_str()).collect();
    // One row per node that ran (a node fused into another has none), in graph order, and
    // every conv has its row.
    let mut rest = names.iter();
    for g in &got {
        assert!(
            rest.any(|n| n == g),
            "row `{g}` is not a node in graph order: {got:?}"
        );
    }
    for n in graph.nodes().filter(|n| n.op.kind() == "conv") {
        assert!(
            got.contains(&n.name.as_str()),
            "no row for conv `{}`",
            n.name
        );
    }
    let mut share = 0.0;
    let mut ms = 0.0;
    for l in layers {
        ms += positive(l, "ms");
        share += positive(l, "share");
        positive(l, "fraction_of_peak");
        assert!(l["kernel"].as_str().is_some_and(|k| !k.is_empty()), "{l}");
    }
    close(ms, positive(&v, "total_ms"), "total");
    assert!((share - 1.0).abs() < 1e-9, "shares sum to {share}");
    check_span(&v, layers);
    let text = std::fs::read_to_string(&svg).unwrap_or_else(|e| panic!("{}: {e}", svg.display()));
    let _ = std::fs::remove_file(&svg);
    assert!(
        text.starts_with("<svg"),
        "not an SVG: {}",
        &text[..text.len().min(80)]
    );
    for n in &got {
        assert!(text.contains(n), "the chart does not name layer `{n}`");
    }
}

/// With timestamps, the span from the first dispatch's start to the last one's end covers
/// every pass, and the time between dispatches is a number; where the adapter is a CPU one
/// (lavapipe runs its passes one after another) it is not negative. Without timestamps both
/// are null.
fn check_span(v: &Value, layers: &[Value]) {
    if v["timing"] != "timestamps" {
        assert!(v["span_ms"].is_null() && v["gaps_ms"].is_null(), "{v}");
        return;
    }
    let span = positive(v, "span_ms");
    for p in layers
        .iter()
        .flat_map(|l| l["passes"].as_array().into_iter().flatten())
    {
        assert!(span >= positive(p, "ms"), "span {span} ms < a pass: {p}");
    }
    let gaps = v["gaps_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("no gaps_ms in {v}"));
    assert!(gaps < span, "gaps {gaps} ms of a span of {span} ms");
    if common::engine().adapter_info().device_type == wgpu::DeviceType::Cpu {
        assert!(
            gaps >= -1e-6,
            "passes that ran one after another overlap by {gaps} ms"
        );
    }
}

/// The kernels of one layer row as the profile lists them (`a+b+c`, each kernel once).
fn distinct_kernels(passes: &[Value]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for p in passes {
        let k = p["kernel"]
            .as_str()
            .unwrap_or_else(|| panic!("a pass without a kernel: {p}"));
        if !names.contains(&k) {
            names.push(k);
        }
    }
    names.join("+")
}

#[test]
fn profile_times_each_kernel_of_a_layer() {
    // resnet18 at 32 × 32: layer1's 3×3s on 8 × 8 maps run Winograd on CPU adapters (input
    // transform, GEMM, output transform: three passes).
    let args = [
        "profile",
        "--arch",
        "resnet18",
        "--height",
        "32",
        "--width",
        "32",
        "--runs",
        "1",
        "--no-peak",
    ];
    let v = json(&[&args[..], &["--json"]].concat());
    let layers = v["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("no layers in {v}"));
    let mut multi = Vec::new();
    for l in layers {
        let passes = l["passes"]
            .as_array()
            .unwrap_or_else(|| panic!("no passes in {l}"));
        assert!(!passes.is_empty(), "{l}");
        assert_eq!(
            l["kernel"].as_str(),
            Some(distinct_kernels(passes).as_str()),
            "{l}"
        );
        // One run: the layer's time is the sum of its passes' times.
        let sum: f64 = passes.iter().map(|p| positive(p, "ms")).sum();
        close(sum, positive(l, "ms"), "passes against their layer");
        if passes.len() > 1 {
            multi.push(l["layer"].as_str().unwrap_or("?").to_string());
        }
    }
    let engine = Engine::new().unwrap_or_else(|e| panic!("these tests need a GPU adapter: {e}"));
    let cpu = engine.adapter_info().device_type == wgpu::DeviceType::Cpu;
    if cpu {
        assert!(
            multi.iter().any(|n| n.starts_with("layer1.")),
            "no layer1 conv ran several passes: {multi:?}"
        );
    }
    // On CPU adapters with subgroups the stem (RGB padded to 4 channels) runs the subgroup
    // GEMM that leaves the padding channel out.
    if cpu && engine.features().contains(wgpu::Features::SUBGROUP) {
        let stem = layers.iter().find(|l| l["layer"] == "conv1");
        assert_eq!(
            stem.and_then(|l| l["kernel"].as_str()),
            Some("ConvSubgroupRgb"),
            "{stem:?}"
        );
    }
    // The table prints one row per pass under each such layer, naming its kernel.
    let stdout = cli::stdout_of(&[&args[..], &["--passes"]].concat(), &[]);
    let pass_rows: Vec<&str> = stdout
        .lines()
        .filter(|line| line.split_whitespace().next() == Some("pass"))
        .collect();
    let expected: usize = layers
        .iter()
        .filter_map(|l| l["passes"].as_array())
        .filter(|p| p.len() > 1)
        .map(|p| p.len())
        .sum();
    assert_eq!(pass_rows.len(), expected, "{stdout}");
    if cpu {
        assert!(pass_rows.iter().any(|r| r.contains("Winograd")), "{stdout}");
    }
    // Without --passes there are none.
    let stdout = cli::stdout_of(&args, &[]);
    assert!(
        !stdout
            .lines()
            .any(|line| line.split_whitespace().next() == Some("pass")),
        "{stdout}"
    );
}

#[test]
fn profile_html_wraps_chart_and_table() {
    let html = temp_file("profile.html");
    let arg = html.to_string_lossy().into_owned();
    let stdout = cli::stdout_of(
        &[
            "profile",
            "--arch",
            "resnet20",
            "--height",
            "16",
            "--width",
            "16",
            "--runs",
            "1",
            "--no-peak",
            "--out",
            &arg,
        ],
        &[],
    );
    assert!(stdout.contains("layer3.2.conv2"), "{stdout}");
    let text = std::fs::read_to_string(&html).unwrap_or_else(|e| panic!("{}: {e}", html.display()));
    let _ = std::fs::remove_file(&html);
    assert!(text.contains("<svg") && text.contains("<table>"), "{text}");
    assert!(
        text.contains("<td>layer3.2.conv2</td>"),
        "the table lacks the last conv"
    );
}

#[test]
fn bad_arguments_are_named() {
    let stderr = cli::error_of(&["profile", "--arch", "simple", "--out", "chart.png"], &[]);
    assert!(
        stderr.contains("chart.png") && stderr.contains(".svg or .html"),
        "{stderr}"
    );
    for flag in ["--batch", "--iters", "--concurrency", "--profile-runs"] {
        let stderr = cli::error_of(&["bench", "--arch", "simple", flag, "0"], &[]);
        assert!(
            stderr.contains(flag) && stderr.contains("expected at least 1, found 0"),
            "{flag} 0: {stderr}"
        );
    }
    let stderr = cli::error_of(&["bench", "--json"], &[]);
    assert!(
        stderr.contains("--arch"),
        "bench needs --arch or --peak: {stderr}"
    );
}

#[test]
fn without_timestamps_layers_are_timed_one_submit_at_a_time() {
    let args = [
        "profile", "--arch", "resnet20", "--height", "16", "--width", "16", "--runs", "1",
    ];
    let no_timestamps = [("RESNET_TIMESTAMPS", Some("0"))];
    let stdout = cli::stdout_of(&args, &no_timestamps);
    assert!(
        stdout.contains("submit-and-wait") && stdout.contains("no timestamp queries"),
        "the fallback is not announced: {stdout}"
    );
    assert!(stdout.contains("layer3.2.conv2"), "{stdout}");
    // The roofline falls back to wall clock too and still measures something.
    let stdout = cli::stdout_of(&["bench", "--peak", "--json"], &no_timestamps);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(v["peak_timing"], "submit-and-wait", "{v}");
    positive(&v, "f32_gflops");
    positive(&v, "bandwidth_gbs");
}
