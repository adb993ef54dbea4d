//! The kernel plan of a discrete GPU (workgroup-memory tiles, split K for small grids, vec4
//! weights), run on whatever adapter this machine has: `RESNET_DEVICE_TYPE=gpu` makes the
//! kernel choice treat it as one, so CI's CPU driver checks the plan GPU users get. The whole
//! network must agree with the CPU reference (also with the tiles' column swizzle off,
//! `RESNET_TILE_SWIZZLE=0`), and the profile must show the kernels the GPU
//! heuristic picks: split K where a layer's tiles are few, the plain tiles where K is too
//! shallow to split or where 128-channel blocks would be mostly padding, no CPU-only kernel
//! anywhere. (The 128 × 128 tiles take batches of wide layers, too slow to run here whole:
//! `conv_choice`'s unit test checks that choice, the kernel tests its output.)

mod common;

use common::{cli, engine};
use serde_json::Value;

const DEVICE_TYPE: &str = "RESNET_DEVICE_TYPE";
const SUBMIT_GROUPS: &str = "RESNET_SUBMIT_GROUPS";

/// `RESNET_DEVICE_TYPE` and `RESNET_SUBMIT_GROUPS` for one run, each removed where `None`.
fn env<'a>(device_type: Option<&'a str>, submit_groups: Option<&'a str>) -> [cli::EnvVar<'a>; 2] {
    [(DEVICE_TYPE, device_type), (SUBMIT_GROUPS, submit_groups)]
}

/// Runs `resnet args --json` as on a GPU and parses its one JSON object.
fn json_as_gpu(args: &[&str]) -> Value {
    let stdout = cli::stdout_of(&[args, &["--json"]].concat(), &env(Some("gpu"), None));
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("resnet {args:?}: not JSON ({e}): {stdout}"))
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no numeric `{key}` in {v}"))
}

// resnet50 at 64 × 64: every map is small (16² down to 2²), so most layers split K; layer1's
// 1×1 convs over 64 channels (K = 64, four chunks) are too shallow to split.
const NET: [&str; 6] = ["--arch", "resnet50", "--height", "64", "--width", "64"];

#[test]
fn the_gpu_plan_agrees_with_the_cpu_reference() {
    for precision in ["f32", "f16"] {
        let args = [
            &["verify"][..],
            &NET,
            &["--runs", "1", "--precision", precision],
        ]
        .concat();
        if precision == "f16" && !has_f16() {
            continue;
        }
        let v = json_as_gpu(&args);
        let tolerance = if precision == "f16" { 2e-2 } else { 1e-4 };
        assert!(num(&v, "max_rel_err") <= tolerance, "{precision}: {v}");
        assert_eq!(num(&v, "top1_agreement"), 1.0, "{precision}: {v}");
    }
    // A batch whose large grids run the plain tiles (and whose small ones split K).
    let v = json_as_gpu(&BATCH64_VERIFY);
    assert!(num(&v, "max_rel_err") <= 1e-4, "{v}");
    assert_eq!(num(&v, "top1_agreement"), 1.0, "{v}");
    // The tiles without their column swizzle (`RESNET_TILE_SWIZZLE=0`, which the GPU script
    // times against the default) agree with the reference as well.
    let args = [&["verify"][..], &NET, &["--runs", "1", "--json"]].concat();
    let unswizzled = [
        (DEVICE_TYPE, Some("gpu")),
        ("RESNET_TILE_SWIZZLE", Some("0")),
    ];
    let stdout = cli::stdout_of(&args, &unswizzled);
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("verify without the swizzle: not JSON ({e}): {stdout}"));
    assert!(num(&v, "max_rel_err") <= 1e-4, "without the swizzle: {v}");
    assert_eq!(num(&v, "top1_agreement"), 1.0, "without the swizzle: {v}");
}

// resnet20 at batch 64: stage 1 (64 × 32² pixels, 16 channels) makes 1024 tiles of 64 × 64
// (512 of 128 × 128, but 7/8 of each 128-channel block would be padding), stage 2 (64 × 16²,
// 32 channels) 256 of 64 × 64, stage 3 (64 × 8², 64 channels) 64, split; the stem (4 padded
// channels) runs 64 × 64 tiles.
const BATCH64_VERIFY: [&str; 7] = [
    "verify", "--arch", "resnet20", "--batch", "64", "--runs", "1",
];

#[test]
fn the_gpu_plan_picks_tiles_by_grid_size() {
    let resnet50 = [&["profile"][..], &NET, &["--runs", "1", "--no-peak"]].concat();
    let kernel = kernels_as_gpu(&resnet50);
    assert_eq!(kernel("layer4.0.conv2"), "ConvTiledPartial+SplitKReduce");
    assert_eq!(kernel("layer3.1.conv1"), "ConvTiledPartial+SplitKReduce");
    assert_eq!(kernel("layer1.0.conv1"), "ConvTiled");
    // The stem's 4 (padded) input channels run the tiles too: K = 196 in 13 chunks, the last
    // one padded, split three ways over the 16 tiles of its 32² map.
    assert_eq!(kernel("conv1"), "ConvTiledPartial+SplitKReduce");
    let resnet20 = [
        "profile",
        "--arch",
        "resnet20",
        "--batch",
        "64",
        "--runs",
        "1",
        "--no-peak",
    ];
    let kernel = kernels_as_gpu(&resnet20);
    assert_eq!(kernel("conv1"), "ConvTiled");
    // 16 channels: a grid of 512 workgroups, but a 128-channel block would be 7/8 padding
    // (the 128 × 128 tile's choice is in `conv_choice`'s unit test, its output in the kernel
    // tests).
    assert_eq!(kernel("layer1.0.conv1"), "ConvTiled");
    assert_eq!(kernel("layer2.1.conv1"), "ConvTiled");
    assert_eq!(kernel("layer3.1.conv1"), "ConvTiledPartial+SplitKReduce");
}

/// The kernel column of `resnet profile args` as on a GPU, by layer name; no layer runs a
/// kernel of the CPU-adapter plan.
fn kernels_as_gpu(args: &[&str]) -> impl Fn(&str) -> String {
    let v = json_as_gpu(args);
    let layers = v["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("no layers in {v}"))
        .clone();
    for l in &layers {
        let k = l["kernel"].as_str().unwrap_or("");
        assert!(
            !k.contains("Subgroup") && !k.contains("Winograd") && !k.contains("Strip"),
            "a CPU-adapter kernel in the GPU plan: {l}"
        );
    }
    move |name: &str| {
        layers
            .iter()
            .find(|l| l["layer"] == name)
            .and_then(|l| l["kernel"].as_str())
            .unwrap_or_else(|| panic!("no layer `{name}` in {layers:?}"))
            .to_string()
    }
}

#[test]
fn info_names_the_plan() {
    let plan = |device_type: Option<&str>| {
        cli::stdout_of(&["info"], &env(device_type, None))
            .lines()
            .find(|l| l.starts_with("kernel plan:"))
            .unwrap_or_else(|| panic!("no kernel plan line"))
            .to_string()
    };
    // Any other value is refused, naming the variable, the value and what it takes.
    let stderr = cli::error_of(&["info"], &env(Some("tpu"), None));
    assert!(
        stderr.contains("RESNET_DEVICE_TYPE=`tpu`") && stderr.contains("`gpu` or `cpu`"),
        "{stderr}"
    );
    let gpu = plan(Some("gpu"));
    assert!(gpu.contains("GPU"), "{gpu}");
    let cpu = plan(Some("cpu"));
    assert!(cpu.contains("CPU adapter"), "{cpu}");
    // Unset: what the adapter reports.
    let unset = plan(None);
    let on_cpu = engine().adapter_info().device_type == wgpu::DeviceType::Cpu;
    assert_eq!(unset.contains("CPU adapter"), on_cpu, "{unset}");
    // The cooperative matrices the adapter offers (for a GPU run to report), or none.
    let stdout = cli::stdout_of(&["info"], &env(None, None));
    let coop = stdout
        .lines()
        .find_map(|l| l.strip_prefix("cooperative matrices: "))
        .unwrap_or_else(|| panic!("no cooperative matrices line in {stdout}"));
    let offered = engine().cooperative_matrices();
    assert_eq!(coop == "none", offered.is_empty(), "{coop}: {offered:?}");
    assert_eq!(
        coop.matches(" -> ").count(),
        offered.len(),
        "{coop}: {offered:?}"
    );
}

/// On GPUs a call goes to the queue in groups as it is recorded, each at least twice the one
/// before (the first at least 8 dispatches); on CPU adapters, and with
/// `RESNET_SUBMIT_GROUPS=0`, in one submission. `resnet info --arch` lists the dispatches of
/// each submission. (That the grouped calls compute the right logits is
/// `the_gpu_plan_agrees_with_the_cpu_reference`: every GPU-plan run here submits in groups.)
#[test]
fn gpu_calls_are_submitted_in_growing_groups() {
    let groups = |device_type: &str, submit_groups: Option<&str>| -> (String, Vec<usize>) {
        let args = [&["info"][..], &NET].concat();
        let stdout = cli::stdout_of(&args, &env(Some(device_type), submit_groups));
        let line = |prefix: &str| {
            stdout
                .lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no `{prefix}` line in {stdout}"))
                .to_string()
        };
        let list = line("dispatches per submission of a chunk:");
        let counts = list
            .split(':')
            .nth(1)
            .and_then(|r| r.split('(').next())
            .map(|l| {
                l.split(',')
                    .map(|n| n.trim().parse().expect(&list))
                    .collect()
            })
            .unwrap_or_default();
        (line("submissions:"), counts)
    };
    let (mode, gpu) = groups("gpu", None);
    assert!(mode.contains("growing groups"), "{mode}");
    assert!(gpu.len() >= 3 && gpu[0] >= 8, "{gpu:?}");
    for w in gpu[..gpu.len() - 1].windows(2) {
        assert!(w[1] >= 2 * w[0], "{gpu:?}");
    }
    let (mode, whole) = groups("gpu", Some("0"));
    assert!(mode.contains("one per call"), "{mode}");
    assert_eq!(whole, vec![gpu.iter().sum::<usize>()]);
    let (mode, cpu) = groups("cpu", None);
    assert!(mode.contains("one per call"), "{mode}");
    assert_eq!(cpu.len(), 1, "{cpu:?}");
    // `1` turns groups on where the default is off.
    let (mode, forced) = groups("cpu", Some("1"));
    assert!(mode.contains("growing groups"), "{mode}");
    assert!(forced.len() >= 2, "{forced:?}");
    assert_eq!(
        forced.iter().sum::<usize>(),
        cpu[0],
        "{forced:?} vs {cpu:?}"
    );
}

/// Winograd's tiled GEMM (a tune candidate on GPUs, not the heuristic's choice) in whole
/// networks: resnet34 at 64 × 64, batch 2, with each form forced on every conv it takes, in
/// f32 and f16, against the CPU reference. Its 3×3 stride-1 convs (F(4,3): those of at most 256
/// channels) must run the tiled GEMM.
#[test]
fn winograd_tiled_gemm_agrees_in_whole_networks() {
    use resnet_wgpu::gpu::{ConvVariant, ModelOptions, Precision};
    use resnet_wgpu::model::Op;
    use resnet_wgpu::weights::random_input;
    use resnet_wgpu::{load_graph, Architecture, CpuModel, Model, Tensor, Weights};

    let arch = Architecture::parse("resnet34").expect("resnet34");
    let graph = load_graph(arch, &Weights::Random(7), Default::default()).expect("graph");
    let (n, h, w) = (2, 64, 64);
    let x = Tensor::new(vec![n, 3, h, w], random_input(8, n * 3 * h * w));
    let want = CpuModel::new(graph.clone())
        .unwrap_or_else(|e| panic!("cpu reference: {e}"))
        .infer(&x)
        .expect("cpu");
    let three_by_three = |max_c: usize| {
        graph
            .nodes()
            .filter(|node| match &node.op {
                Op::Conv { conv, .. } => {
                    conv.kernel == [3, 3] && conv.stride == [1, 1] && conv.out_c <= max_c
                }
                _ => false,
            })
            .count()
    };
    let mut precisions = vec![(Precision::F32, 1e-4)];
    if has_f16() {
        precisions.push((Precision::F16, 2e-2));
    }
    for (variant, max_c) in [
        (ConvVariant::WinogradTiled, usize::MAX),
        (ConvVariant::Winograd4Tiled, 256),
    ] {
        for &(precision, tolerance) in &precisions {
            let name = format!("resnet34 {variant:?} {precision:?}");
            let options = ModelOptions {
                variant: Some(variant),
                precision,
                ..Default::default()
            };
            let model = Model::with_options(engine(), graph.clone(), options)
                .unwrap_or_else(|e| panic!("{name}: load: {e}"));
            let ran = model
                .conv_variants(n, h, w)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .iter()
                .filter(|(_, v)| *v == variant)
                .count();
            assert_eq!(ran, three_by_three(max_c), "{name}: tiled Winograd convs");
            let got = model
                .infer(&x)
                .unwrap_or_else(|e| panic!("{name}: gpu: {e}"));
            common::assert_close(&name, &got.data, &want.data, tolerance);
            let c = resnet_wgpu::compare(&got, &want).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.top1_agreement, 1.0, "{name}: {c:?}");
        }
    }
}

fn has_f16() -> bool {
    engine().features().contains(wgpu::Features::SHADER_F16)
}
