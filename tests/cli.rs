//! The `resnet` binary end to end: `verify --json` reports the documented keys and small
//! errors, `verify` fails above its tolerance, failures exit non-zero with a one-line error,
//! and `logits` writes what the CPU reference computes for the same weights and input.

mod common;

use common::{assert_close, cli, TempDir};
use resnet_wgpu::weights::{random_input, read_tensor, write_safetensors};
use resnet_wgpu::{Architecture, BuildOptions, CpuModel, Tensor, Weights};

/// Runs a command that must succeed; returns its stdout.
fn ok(args: &[&str]) -> String {
    cli::stdout_of(args, &[])
}

/// Runs a command that must fail; returns its error lines (other than wgpu's own notices).
fn fails(args: &[&str]) -> Vec<String> {
    cli::error_lines_of(args, &[])
}

#[test]
fn verify_json_reports_small_errors() {
    for args in [
        &[
            "verify", "--arch", "simple", "--height", "64", "--width", "48", "--json",
        ][..],
        &["verify", "--arch", "resnet20", "--batch", "3", "--json"][..],
        &[
            "verify",
            "--arch",
            "resnet20",
            "--unfused",
            "--runs",
            "2",
            "--json",
        ][..],
    ] {
        let stdout = ok(args);
        let v: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{args:?}: not one JSON object: {e}\n{stdout}"));
        let num = |key: &str| {
            v.get(key)
                .and_then(|x| x.as_f64())
                .unwrap_or_else(|| panic!("{args:?}: no numeric `{key}` in {v}"))
        };
        assert!(num("max_rel_err") <= 1e-4, "{args:?}: {v}");
        assert!(num("max_abs_err") <= 1e-4 * num("max_abs_logit"), "{v}");
        assert_eq!(num("top1_agreement"), 1.0, "{v}");
        assert!(num("gpu_ms") > 0.0 && num("cpu_ms") > 0.0, "{v}");
        let runs = if args.contains(&"--runs") { 2.0 } else { 3.0 };
        assert_eq!(num("runs"), runs, "{args:?}: {v}");
        // The settings that say which run it was.
        assert_eq!(v["precision"], "f32", "{v}");
        assert_eq!(v["weights"], "random:1", "{v}");
        assert_eq!(num("seed"), 7.0, "{v}");
        assert_eq!(
            num("tolerance"),
            1e-4,
            "{args:?}: f32's default tolerance: {v}"
        );
        assert_eq!(v["agrees"], true, "{args:?}: {v}");
    }
}

/// `verify` fails (exit 1, after its report) when the GPU's error is above `--tolerance`, so
/// that a script or CI job can rely on its status; the tolerance must be a number above 0.
#[test]
fn verify_fails_above_its_tolerance() {
    let base = ["verify", "--arch", "resnet20", "--runs", "1"];
    let json = |extra: &[&str]| -> serde_json::Value {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let stdout = ok(&args);
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}\n{stdout}"))
    };
    let v = json(&["--json"]);
    let err = v["max_rel_err"].as_f64().expect("max_rel_err");
    // Winograd and the kernels' summation orders differ from the reference's.
    assert!(
        err > 0.0,
        "resnet20's GPU logits equal the reference's bit for bit: {v}"
    );
    let half = format!("{:e}", err / 2.0);
    let args: Vec<&str> = base.iter().copied().chain(["--tolerance", &half]).collect();
    let out = cli::run(&args, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("max |Δ| / max|logit|"),
        "{args:?}: the report comes before the error"
    );
    assert!(
        stderr.contains("error: resnet20 batch 1 32x32 f32 on ")
            && stderr.contains("the GPU and the CPU reference disagree")
            && stderr.contains(&format!("expected at most {half}")),
        "{args:?}: {stderr}"
    );
    // The tolerance passes through to the JSON; f16 has its own default.
    let twice = format!("{:e}", err * 2.0);
    let v = json(&["--json", "--tolerance", &twice]);
    assert_eq!(v["agrees"], true, "{v}");
    assert_eq!(v["tolerance"].as_f64(), Some(err * 2.0), "{v}");
    if common::engine()
        .features()
        .contains(wgpu::Features::SHADER_F16)
    {
        let v = json(&["--json", "--precision", "f16"]);
        assert_eq!(v["tolerance"].as_f64(), Some(2e-2), "{v}");
    }
    for bad in ["0", "-1e-4", "nan", "inf", "x"] {
        let flag = format!("--tolerance={bad}");
        let args: Vec<&str> = base.iter().copied().chain([flag.as_str()]).collect();
        let out = cli::run(&args, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("--tolerance") && stderr.contains("expected a number above 0"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn bad_weights_path_is_a_one_line_error() {
    let dir = TempDir::new("cli-missing");
    let missing = dir.join("no-such-weights.safetensors");
    let path = missing.to_string_lossy().into_owned();
    let lines = fails(&["verify", "--arch", "resnet20", "--weights", &path]);
    assert_eq!(lines.len(), 1, "expected one error line, got {lines:?}");
    assert!(lines[0].starts_with("error:"), "{lines:?}");
    assert!(
        lines[0].contains("no-such-weights.safetensors"),
        "{lines:?}"
    );
}

/// Output piped into a reader that stops early (`| head -1`): the command ends on SIGPIPE as
/// Unix tools do, with no panic. The pipe is closed before `info` prints its first line.
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_resnet"))
        .args(["info", "--arch", "resnet20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting resnet: {e}"));
    drop(child.stdout.take());
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for resnet: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(13), "{}: {stderr}", out.status);
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let lines = fails(&["verify", "--arch", "resnet19"]);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("resnet19") && l.contains("resnet50")),
        "{lines:?}"
    );
    let lines = fails(&["verify", "--arch", "resnet20", "--runs", "0"]);
    assert!(lines.iter().any(|l| l.contains("--runs")), "{lines:?}");
    // An empty input names the size it found.
    let lines = fails(&["verify", "--arch", "resnet20", "--height", "0"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("error:") && lines[0].contains("input 0x32: expected"),
        "{lines:?}"
    );
    // Counts of zero, and inputs too large to index or to allocate, are one-line errors found
    // before any work (no panic, no abort, no minutes spent filling the host's memory).
    let dir = TempDir::new("cli-bad-args");
    let under_a_file = dir.join("a-file");
    std::fs::write(&under_a_file, "").expect("write");
    let out = under_a_file.join("chart.svg");
    let out = out.to_str().expect("utf-8 path");
    let folder = dir.path().to_str().expect("utf-8 path");
    let noext = under_a_file.to_str().expect("utf-8 path");
    // (args, text the error must contain, exit code: 2 for clap's usage errors)
    let weights_only = dir.join("w.safetensors");
    let weights_only = format!("x={}", weights_only.to_str().expect("utf-8 path"));
    let serve_weights_only = [
        "serve",
        "--http-port",
        "0",
        "--grpc-port",
        "0",
        "--no-metrics-port",
        "--model",
        &weights_only,
    ];
    let cases: [(&[&str], &str, i32); 12] = [
        (
            &["info", "--arch", "resnet20", "--batch", "0"],
            "--batch",
            2,
        ),
        (&["tune", "--arch", "simple", "--batch", "0"], "--batch", 2),
        (&["tune", "--arch", "simple", "--iters", "0"], "--iters", 2),
        (
            &[
                "verify", "--arch", "resnet20", "--height", "100000", "--width", "100000",
            ],
            "pixels per image",
            1,
        ),
        (
            &[
                "info",
                "--arch",
                "resnet20",
                "--height",
                "4294967296",
                "--width",
                "4294967296",
            ],
            "pixels per image",
            1,
        ),
        (
            &[
                "verify",
                "--arch",
                "resnet20",
                "--batch",
                "18446744073709551615",
            ],
            "overflows",
            1,
        ),
        (&["info", "--backend", "bogus"], "found `bogus`", 1),
        // An output that cannot be written fails before the profile is run.
        (
            &["profile", "--arch", "resnet50", "--out", out],
            "expected a file that can be written",
            1,
        ),
        // A model path that is a folder, or a file without an extension, says which.
        (
            &["logits", "--model", folder, "--input", "x", "--output", "y"],
            "found a directory",
            1,
        ),
        (
            &["logits", "--model", noext, "--input", "x", "--output", "y"],
            "found no extension",
            1,
        ),
        // A name no adapter has lists those found (no install hint: adapters exist).
        (
            &["info", "--adapter", "no-such-gpu"],
            "whose name contains `no-such-gpu`; found: ",
            1,
        ),
        // serve says how to name a safetensors file's architecture in its own terms, once.
        (
            &serve_weights_only,
            "error: serve: model `x`: invalid input: ",
            1,
        ),
    ];
    // On/off switches take 0 or 1: another value is an error naming it, not silently on.
    for var in [
        "RESNET_SUBGROUPS",
        "RESNET_SUBMIT_GROUPS",
        "RESNET_TIMESTAMPS",
        "RESNET_LOOP_BOUNDING",
        "RESNET_TILE_SWIZZLE",
    ] {
        let err = common::cli::error_of(&["info"], &[(var, Some("off"))]);
        assert!(
            err.contains(&format!("{var}=`off`: expected `0` or `1`")),
            "{err}"
        );
    }
    for (args, want, code) in cases {
        let run = common::cli::run(args, &[]);
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(code), "{args:?}: {err}");
        assert!(
            err.contains(want) && !err.contains("panicked"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("mesa-vulkan-drivers") && err.matches("invalid input").count() <= 1,
            "{args:?}: {err}"
        );
    }
    let err = common::cli::error_of(&serve_weights_only, &[]);
    assert!(
        err.contains("--model NAME=FILE:A") && err.contains("config.json"),
        "{err}"
    );
}

/// The u64-pairs builds of the subgroup GEMMs (weights loaded and 8-channel outputs and
/// residuals moved as `vec4<u64>`) compute the same logits as the vec4 builds, bit for bit (the
/// same products summed in the same order; only the memory accesses differ), and both agree
/// with the CPU reference: `RESNET_U64_PAIRS=0` builds vec4, the default u64 pairs where the
/// adapter allows (a CPU adapter with SHADER_INT64, as lavapipe; `resnet info` says which).
/// resnet50 at 64 × 64 runs the implicit GEMM with and without a residual, and Winograd.
#[test]
fn u64_pair_builds_give_identical_logits() {
    let dir = TempDir::new("cli-u64-pairs");
    let input = Tensor::new(vec![1, 3, 64, 64], random_input(5, 3 * 64 * 64));
    let in_path = dir.join("input.safetensors");
    write_safetensors(&in_path, &[("input_nchw", &input)]).unwrap_or_else(|e| panic!("{e}"));
    let arch = Architecture::parse("resnet50").unwrap_or_else(|e| panic!("{e}"));
    let want = CpuModel::load(arch, &Weights::Random(4), BuildOptions::default())
        .and_then(|m| m.infer(&input))
        .unwrap_or_else(|e| panic!("{e}"));
    let run = |pairs: &str| {
        let env = [("RESNET_U64_PAIRS", Some(pairs))];
        let info = cli::stdout_of(&["info"], &env);
        let out_path = dir.join(&format!("logits-{pairs}.safetensors"));
        let (i, o) = (in_path.to_string_lossy(), out_path.to_string_lossy());
        let args = [
            "logits",
            "--arch",
            "resnet50",
            "--weights",
            "random:4",
            "--input",
            &i,
            "--output",
            &o,
        ];
        cli::stdout_of(&args, &env);
        let got = read_tensor(&out_path, "logits").unwrap_or_else(|e| panic!("{e}"));
        (info, got)
    };
    let (info_vec4, vec4) = run("0");
    let (info_pairs, pairs) = run("1");
    assert!(!info_vec4.contains("u64 pairs"), "{info_vec4}");
    if info_pairs.contains("Cpu") && info_pairs.contains("SHADER_INT64") {
        assert!(info_pairs.contains("u64 pairs"), "{info_pairs}");
    }
    assert_eq!(vec4.shape, vec![1, 1000]);
    assert_close("vec4 build", &vec4.data, &want.data, 1e-4);
    assert_eq!(pairs.data, vec4.data, "the u64-pairs build differs");
}

/// `logits` on a tensor written to a file equals the CPU reference on the same input, with a
/// custom tensor name and with the default one.
#[test]
fn logits_round_trip() {
    let dir = TempDir::new("cli-logits");
    let input = Tensor::new(vec![2, 3, 32, 32], random_input(77, 2 * 3 * 32 * 32));
    let in_path = dir.join("input.safetensors");
    write_safetensors(&in_path, &[("images", &input), ("input_nchw", &input)])
        .unwrap_or_else(|e| panic!("{e}"));
    let arch = Architecture::parse("resnet20").unwrap_or_else(|e| panic!("{e}"));
    let want = CpuModel::load(arch, &Weights::Random(9), BuildOptions::default())
        .and_then(|m| m.infer(&input))
        .unwrap_or_else(|e| panic!("{e}"));
    for tensor in [Some("images"), None] {
        let out_path = dir.join("logits.safetensors");
        let (i, o) = (in_path.to_string_lossy(), out_path.to_string_lossy());
        let mut args = vec![
            "logits",
            "--arch",
            "resnet20",
            "--weights",
            "random:9",
            "--input",
            &i,
            "--output",
            &o,
        ];
        if let Some(t) = tensor {
            args.extend(["--tensor", t]);
        }
        ok(&args);
        let got = read_tensor(&out_path, "logits").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.shape, vec![2, 10]);
        assert_close("resnet logits", &got.data, &want.data, 1e-4);
    }
    // A tensor name the file does not hold is named in the error.
    let i = in_path.to_string_lossy();
    let lines = fails(&[
        "logits", "--arch", "resnet20", "--input", &i, "--tensor", "nope", "--output", "x",
    ]);
    assert!(lines.iter().any(|l| l.contains("`nope`")), "{lines:?}");
    // Without --weights the logits are a random network's, and the run says so.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("note: no --weights: random:1")),
        "{lines:?}"
    );
    // A non-finite input value is refused, named, before the GPU runs.
    let mut bad = input.clone();
    bad.data[5] = f32::NAN;
    let bad_path = dir.join("nan.safetensors");
    write_safetensors(&bad_path, &[("input_nchw", &bad)]).unwrap_or_else(|e| panic!("{e}"));
    let b = bad_path.to_string_lossy();
    let lines = fails(&[
        "logits", "--arch", "resnet20", "--input", &b, "--output", "y",
    ]);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("expected finite values, found NaN at index 5")),
        "{lines:?}"
    );
}
