//! The subgroup GEMMs' 128- and 256-channel blocks follow `RESNET_WIDE_BLOCKS`: `resnet info`
//! reports the choice, `resnet profile` shows the wide kernels only where it is on, and any
//! value but `0` or `1` is refused. (Which drivers get them by default is a unit test of
//! `device_caps`.) resnet50 at 64 × 64 with 2 llvmpipe threads has wide-block layers at 8²
//! and 2² maps.

mod common;

use std::collections::BTreeSet;

use common::cli;
use serde_json::Value;

const VAR: &str = "RESNET_WIDE_BLOCKS";

/// `RESNET_WIDE_BLOCKS=wide` and 2 llvmpipe threads.
fn env(wide: &str) -> [cli::EnvVar<'_>; 2] {
    [(VAR, Some(wide)), ("LP_NUM_THREADS", Some("2"))]
}

fn stdout_of(wide: &str, args: &[&str]) -> String {
    cli::stdout_of(args, &env(wide))
}

/// The `wide GEMM blocks:` line of `resnet info`, if it has one.
fn info_line(wide: &str) -> Option<String> {
    stdout_of(wide, &["info"])
        .lines()
        .find(|l| l.starts_with("wide GEMM blocks:"))
        .map(str::to_string)
}

/// The kernels `resnet profile` ran resnet50 at 64 × 64 with.
fn kernels(wide: &str) -> BTreeSet<String> {
    let args = [
        "profile",
        "--arch",
        "resnet50",
        "--height",
        "64",
        "--width",
        "64",
        "--runs",
        "1",
        "--no-peak",
        "--json",
    ];
    let out = stdout_of(wide, &args);
    let v: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("resnet {args:?}: not JSON ({e}): {out}"));
    v["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("no layers in {v}"))
        .iter()
        .map(|l| l["kernel"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn is_wide(kernel: &str) -> bool {
    kernel.contains("C128") || kernel.contains("C256")
}

#[test]
fn wide_blocks_follow_the_variable() {
    let stderr = cli::error_of(&["info"], &env("2"));
    assert!(
        stderr.contains("RESNET_WIDE_BLOCKS=`2`") && stderr.contains("`0` or `1`"),
        "{stderr}"
    );

    let info = stdout_of("1", &["info"]);
    let sg_gemms = info.contains("Cpu") && info.contains("subgroup GEMMs:     on");
    let (off, on) = (info_line("0"), info_line("1"));
    if !sg_gemms {
        // No subgroup GEMMs on this adapter: nothing to widen, and no line about it.
        assert_eq!((off, on), (None, None), "{info}");
        return;
    }
    // The line names the variable as what decided, not the driver.
    assert!(
        off.as_deref()
            .is_some_and(|l| l.contains("off (RESNET_WIDE_BLOCKS=0)")),
        "{off:?}"
    );
    assert!(
        on.as_deref()
            .is_some_and(|l| l.contains("on (") && l.contains("RESNET_WIDE_BLOCKS=1)")),
        "{on:?}"
    );

    let narrow = kernels("0");
    assert!(!narrow.iter().any(|k| is_wide(k)), "{VAR}=0 ran {narrow:?}");
    assert!(narrow.contains("ConvSubgroup8"), "{narrow:?}");
    if info.contains("u64 pairs") {
        // The wide blocks are built only with u64-pair weights.
        let wide = kernels("1");
        assert!(wide.iter().any(|k| is_wide(k)), "{VAR}=1 ran {wide:?}");
    }
}
