//! The subgroup kernels at 16 lanes. They use lanes 0..7 of a subgroup as loaders and
//! broadcast from them, so they must be correct for every subgroup of at least 8 invocations
//! (README: 8, 16, 32 or 64), yet lavapipe's default 256-bit build runs subgroups of 8 only.
//! llvmpipe builds 512-bit vectors, subgroups of 16, when `LP_NATIVE_VECTOR_WIDTH=512` (on
//! hosts without AVX-512 too: LLVM splits the vectors). The test checks with `resnet info`
//! that the setting gives subgroups of 16 here, then runs every other test of this binary
//! again in a child process with it.

use std::process::Command;

use super::common::cli::stdout_of;
use super::common::engine;

const WIDTH: (&str, Option<&str>) = ("LP_NATIVE_VECTOR_WIDTH", Some("512"));
const THIS_TEST: &str = "lanes::every_kernel_test_at_16_lanes";

#[test]
fn every_kernel_test_at_16_lanes() {
    let info = engine().adapter_info();
    if !(engine().conv_caps().subgroups
        && info.backend == wgpu::Backend::Vulkan
        && info.name.contains("llvmpipe"))
    {
        eprintln!(
            "note: {THIS_TEST} skipped: it needs lavapipe with subgroups (the adapter is {}, \
             {:?})",
            info.name, info.backend
        );
        return;
    }
    let adapter = stdout_of(&["info"], &[WIDTH, ("WGPU_BACKEND", Some("vulkan"))]);
    assert!(
        adapter.contains("subgroup sizes:     16 to 16 invocations"),
        "LP_NATIVE_VECTOR_WIDTH=512 should give lavapipe subgroups of 16; resnet info says:\n\
         {adapter}"
    );
    let exe = std::env::current_exe().expect("the test binary's path");
    let list = Command::new(&exe)
        .args(["--list", "--format", "terse"])
        .output()
        .unwrap_or_else(|e| panic!("listing the tests of {}: {e}", exe.display()));
    let others = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|l| l.ends_with(": test") && !l.starts_with(THIS_TEST))
        .count();
    assert!(others > 0, "{} lists no other tests", exe.display());
    let out = Command::new(&exe)
        .args(["--skip", THIS_TEST])
        .env(WIDTH.0, WIDTH.1.unwrap())
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // `N passed; 0 failed; M ignored; ...`: every test listed either passed or is ignored.
    let count = |rest: &str, what: &str| -> Option<usize> {
        let before = rest.split(&format!(" {what}")).next()?;
        before.rsplit(' ').next()?.parse().ok()
    };
    let passed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("test result: ok. "))
        .and_then(|rest| Some(count(rest, "passed")? + count(rest, "ignored")?));
    assert!(
        out.status.success() && passed == Some(others),
        "the kernel tests at 16 lanes ({} --skip {THIS_TEST}, LP_NATIVE_VECTOR_WIDTH=512) \
         failed or did not run all {others} ({}):\n{stdout}\n{}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
