//! The tune cache as a file the user owns: `resnet tune` never writes over a cache it cannot
//! read (a malformed file, a directory, a folder that cannot be made) and says so before it
//! spends its time; every command that loads a model, `serve` included, refuses a malformed
//! cache or an unknown variant of this adapter with an error that names the file; another
//! adapter's entries are left alone; and an empty `RESNET_TUNE_CACHE` counts as unset.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{cli, TempDir};
use resnet_wgpu::gpu::tune::adapter_key;

/// A tune of `simple` at 16 × 16 (the cheapest network with convs).
#[rustfmt::skip]
const TUNE: [&str; 9] =
    ["tune", "--arch", "simple", "--height", "16", "--width", "16", "--iters", "1"];
/// A profile of the same network (loads a model, so reads the cache).
#[rustfmt::skip]
const PROFILE: [&str; 10] =
    ["profile", "--arch", "simple", "--height", "16", "--width", "16", "--runs", "1", "--no-peak"];

#[test]
fn tune_leaves_a_cache_it_cannot_read_as_it_was_and_says_so_first() {
    let dir = TempDir::new("tune-cache-bad");
    let bad = dir.join("bad.json");
    // Another adapter's entry with a trailing comma: not JSON.
    let text = "{\"other adapter\": {\"cin4_cout64\": \"sg_gemm\",}}\n";
    std::fs::write(&bad, text).expect("write");
    let sub = dir.join("a-file");
    std::fs::write(&sub, "").expect("write");
    let cases = [
        (bad.clone(), "fix or delete the file"),
        (
            dir.path().to_path_buf(),
            "expected a file, found a directory",
        ),
        (sub.join("tune.json"), "expected its folder"),
    ];
    for (path, want) in cases {
        let p = path.to_str().expect("utf-8 path");
        let start = Instant::now();
        let err = cli::error_of(&TUNE, &[("RESNET_TUNE_CACHE", Some(p))]);
        assert!(err.contains(p) && err.contains(want), "{p}: {err}");
        // Refused before any candidate was timed (a full tune of `simple` takes seconds).
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{p}: refused only after {:?}",
            start.elapsed()
        );
    }
    let after = std::fs::read_to_string(&bad).expect("read");
    assert_eq!(after, text, "the unreadable cache was changed");
}

#[test]
fn every_command_refuses_a_malformed_cache_or_an_unknown_variant() {
    let dir = TempDir::new("tune-cache-load");
    let adapter = adapter_key(common::engine());
    let key = "cin4_cout64_k7x7_s2x2_p3-3-3-3_n1_16x16";
    let cases = [
        ("{\"x\": ".to_string(), "fix or delete the file"),
        ("[1, 2]".to_string(), "fix or delete the file"),
        (
            serde_json::json!({ &adapter: { key: 7 } }).to_string(),
            "fix or delete the file",
        ),
        (
            serde_json::json!({ &adapter: { key: "no_such_kernel" } }).to_string(),
            "the unknown conv variant \"no_such_kernel\"",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = dir.join(&format!("cache{i}.json"));
        std::fs::write(&path, text).expect("write");
        let p = path.to_str().expect("utf-8 path");
        let err = cli::error_of(&PROFILE, &[("RESNET_TUNE_CACHE", Some(p))]);
        assert!(err.contains(p) && err.contains(want), "{text}: {err}");
    }
    // Another adapter's entries are that adapter's business (another build may know them), and
    // a variant this build knows but that cannot run the layer gives way to the heuristic.
    let path = dir.join("other.json");
    let other = serde_json::json!({
        "another adapter": { key: "no_such_kernel" },
        &adapter: { key: "gemm1x1" },
    });
    std::fs::write(&path, other.to_string()).expect("write");
    let p = path.to_str().expect("utf-8 path");
    let out = cli::stdout_of(&PROFILE, &[("RESNET_TUNE_CACHE", Some(p))]);
    assert!(out.contains("conv1"), "{out}");
}

/// A tune under a kernel override (`RESNET_DEVICE_TYPE`, ...) keys its choices apart: runs
/// without the override do not read them.
#[test]
fn an_override_keeps_its_choices_apart() {
    let dir = TempDir::new("tune-cache-override");
    let path = dir.join("cache.json");
    let p = path.to_str().expect("utf-8 path");
    let env = [
        ("RESNET_TUNE_CACHE", Some(p)),
        ("RESNET_DEVICE_TYPE", Some("cpu")),
    ];
    cli::stdout_of(&TUNE, &env);
    let text = std::fs::read_to_string(&path).expect("read the cache");
    let cache: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let plain = adapter_key(common::engine());
    let keys: Vec<&String> = cache.as_object().expect("an object").keys().collect();
    assert_eq!(
        keys,
        [&format!("{plain} | RESNET_DEVICE_TYPE=cpu")],
        "{text}"
    );
}

#[test]
fn an_empty_cache_variable_counts_as_unset() {
    let dir = TempDir::new("tune-cache-empty-var");
    let home = dir.path().to_str().expect("utf-8 path");
    // Mesa keeps its shader cache under XDG_CACHE_HOME too: pointed at its usual folder, so
    // that the run does not compile every candidate from scratch (minutes on lavapipe).
    let mesa = std::env::var("MESA_SHADER_CACHE_DIR")
        .ok()
        .filter(|d| !d.is_empty())
        .or_else(|| {
            std::env::var("XDG_CACHE_HOME")
                .ok()
                .filter(|d| !d.is_empty())
        })
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cache")))
        .unwrap_or_default();
    let env = [
        ("RESNET_TUNE_CACHE", Some("")),
        ("XDG_CACHE_HOME", Some(home)),
        ("MESA_SHADER_CACHE_DIR", Some(mesa.as_str())),
    ];
    cli::stdout_of(&TUNE, &env);
    let written = dir.join("resnet-wgpu").join("tune.json");
    let text =
        std::fs::read_to_string(&written).unwrap_or_else(|e| panic!("{}: {e}", written.display()));
    assert!(text.contains("_n1_16x16"), "{text}");
}

/// A server on free loopback ports (its model follows).
#[rustfmt::skip]
const SERVE: [&str; 6] = ["serve", "--http-port", "0", "--grpc-port", "0", "--no-metrics-port"];

/// `resnet serve` loads its models with the cache too: a malformed one stops it at start-up,
/// named, instead of serving without the tuned kernels. (Bounded: a server that starts anyway
/// is killed after two minutes and the test fails.)
#[test]
fn serve_reads_the_cache() {
    let Some(data) = common::testdata("serve_reads_the_cache") else {
        return;
    };
    let onnx = common::require(&data.join("models/cifar10/resnet20-12fca82f.onnx"));
    let dir = TempDir::new("tune-cache-serve");
    let path = dir.join("bad.json");
    std::fs::write(&path, "not json").expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_resnet"))
        .args(SERVE)
        .arg("--model")
        .arg(format!("r={}", onnx.display()))
        .env("RESNET_TUNE_CACHE", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start resnet serve");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("resnet serve started with a malformed tune cache");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert!(!status.success(), "{err}");
    let p = path.to_str().expect("utf-8 path");
    assert!(
        err.contains(p) && err.contains("fix or delete the file"),
        "{err}"
    );
}
