//! The note a CPU adapter on wgpu's GL backend gets when no Vulkan driver exists (Mesa's GL
//! drivers without `mesa-vulkan-drivers`): `resnet` prints it on stderr unless the user chose GL,
//! and `resnet info` names the plan without subgroups that such an adapter runs. The Vulkan
//! driver is hidden from a run by pointing the Vulkan loader at a driver list that does not
//! exist. Where the machine's own adapter is a CPU one (lavapipe, as in CI, which also installs
//! Mesa's GL drivers), the hidden-Vulkan run must land on llvmpipe through GL, so the note's
//! positive case always runs there.

mod common;

use common::{cli, engine};

/// The Vulkan loader's driver list variables (older and newer name), pointed at nothing.
const NO_VULKAN: &str = "/nonexistent/resnet-test-no-vulkan-driver.json";

/// `resnet info` (with `args`) with Vulkan hidden or not and no backend or adapter chosen by
/// the environment: (stdout, stderr).
fn info(args: &[&str], hide_vulkan: bool) -> (String, String) {
    let mut env = vec![
        ("WGPU_BACKEND", None),
        ("WGPU_ADAPTER_NAME", None),
        ("RESNET_SUBGROUPS", None),
        ("RESNET_DEVICE_TYPE", None),
    ];
    // Otherwise the loader's variables stay as the test process has them (a developer's
    // choice of driver included).
    if hide_vulkan {
        env.extend([
            ("VK_ICD_FILENAMES", Some(NO_VULKAN)),
            ("VK_DRIVER_FILES", Some(NO_VULKAN)),
        ]);
    }
    let all = [&["info"][..], args].concat();
    let out = cli::run(&all, &env);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stderr}",
        cli::shell(&all, &env),
        out.status
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// The value of `resnet info`'s line `key: value`.
fn field<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{key}:` line in\n{stdout}"))
}

/// Whether `resnet info`'s stdout names a CPU adapter reached through GL (llvmpipe).
fn on_gl_cpu(stdout: &str) -> bool {
    field(stdout, "backend") == "Gl" && field(stdout, "type") == "Cpu"
}

const NOTE: &str = "mesa-vulkan-drivers";

#[test]
fn a_cpu_adapter_on_gl_without_vulkan_is_noted() {
    let (stdout, stderr) = info(&[], true);
    let gl_cpu = on_gl_cpu(&stdout);
    if engine().adapter_info().device_type == wgpu::DeviceType::Cpu {
        assert!(
            gl_cpu,
            "with Vulkan hidden, expected llvmpipe through GL (Mesa's GL drivers, libegl-mesa0 \
             and libgl1-mesa-dri); found:\n{stdout}"
        );
    }
    assert_eq!(
        stderr.contains(NOTE),
        gl_cpu,
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    if gl_cpu {
        let plan = field(&stdout, "kernel plan");
        assert!(plan.contains("without subgroups"), "{plan}");
        // The user chose GL: no note, same adapter.
        let (chosen, stderr) = info(&["--backend", "gl"], true);
        assert_eq!(field(&chosen, "backend"), "Gl");
        assert!(!stderr.contains(NOTE), "{stderr}");
    }
    // The machine's own adapter, Vulkan visible: a note only if that is llvmpipe on GL.
    let (stdout, stderr) = info(&[], false);
    let gl_cpu = on_gl_cpu(&stdout);
    assert_eq!(
        stderr.contains(NOTE),
        gl_cpu,
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

/// A CPU adapter with the subgroup kernels turned off runs the plan without subgroups, and
/// `resnet info` says so.
#[test]
fn info_names_the_plan_without_subgroups() {
    if engine().adapter_info().device_type != wgpu::DeviceType::Cpu {
        return; // a GPU runs the tiles' plan, with or without subgroups
    }
    let env = [
        ("RESNET_SUBGROUPS", Some("0")),
        ("RESNET_DEVICE_TYPE", None),
    ];
    let stdout = cli::stdout_of(&["info"], &env);
    assert_eq!(field(&stdout, "subgroup GEMMs"), "off");
    let plan = field(&stdout, "kernel plan");
    assert!(plan.contains("CPU adapter without subgroups"), "{plan}");
    let (stdout, _) = info(&[], false);
    let subgroups = field(&stdout, "subgroup GEMMs") != "off";
    assert_eq!(
        field(&stdout, "kernel plan").contains("without subgroups"),
        !subgroups,
        "{stdout}"
    );
}
