//! The `resnet` command-line tool: adapter info, GPU-vs-CPU verification, logits for a tensor.

mod bench;
mod chart;
mod checks;
mod classify;
mod eval;
mod first_run;
mod images;
mod info;
mod pipe;
mod profile;
mod serve;
mod tune;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

pub use checks::{at_least_one, check_writable};

use clap::{Args, Parser, Subcommand};
use resnet_wgpu::gpu::Precision;
use resnet_wgpu::weights::{random_images, read_tensor, write_safetensors};
use resnet_wgpu::{
    compare, Architecture, BuildOptions, CpuModel, Engine, EngineOptions, Error, Model,
    ModelOptions, Result, Tensor, Weights,
};

#[derive(Parser)]
#[command(
    name = "resnet",
    version,
    about = "ResNet inference on any GPU through wgpu"
)]
pub struct Cli {
    /// Backends to consider (vulkan, metal, dx12, gl; comma-separated). Default: WGPU_BACKEND
    /// or all.
    #[arg(long, global = true)]
    backend: Option<String>,
    /// Pick the adapter whose name contains this text. Default: WGPU_ADAPTER_NAME or the best one.
    #[arg(long, global = true)]
    adapter: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the adapter, backend, driver, limits, features, subgroup sizes, cooperative
    /// matrices and kernel plan; with --arch, the model's device memory (weights, one
    /// workspace, liveness peak, chunks) for --batch.
    Info(info::InfoArgs),
    /// Run GPU and CPU reference on a seeded input and compare the logits.
    Verify(VerifyArgs),
    /// Run the GPU on an NCHW tensor from a safetensors file and write the logits.
    Logits(LogitsArgs),
    /// Time every conv variant per layer shape on this adapter, verify each against the CPU
    /// reference, and cache the fastest (used by every later run on this adapter).
    Tune(tune::TuneArgs),
    /// Classify image files or folders: the top classes with probabilities.
    Classify(classify::ClassifyArgs),
    /// Accuracy (top-1, top-5) over a folder of labelled images.
    Eval(eval::EvalArgs),
    /// Inference speed (latency, images/s, GFLOP/s) and the device's roofline (--peak).
    Bench(bench::BenchArgs),
    /// Per-layer GPU times as a table and a bar chart (--out FILE.svg|html).
    Profile(profile::ProfileArgs),
    /// Serve models over the KServe V2 / Open Inference Protocol (HTTP and gRPC), with
    /// dynamic batching and Prometheus metrics.
    Serve(serve::ServeArgs),
}

#[derive(Args)]
pub struct ModelArgs {
    /// Architecture: simple, resnet18/34/50/101/152,
    /// resnext50_32x4d, resnext101_32x8d/64x4d, wide_resnet50_2/101_2, resnet20/32/44/56/110.
    #[arg(long)]
    arch: Architecture,
    /// safetensors weights file, or random:SEED.
    #[arg(long, default_value = "random:1")]
    weights: Weights,
    /// Classes for random weights (default 1000; 10 for CIFAR and simple).
    #[arg(long)]
    classes: Option<usize>,
    /// Blocks of the simple architecture for random weights (default 2).
    #[arg(long)]
    blocks: Option<usize>,
    /// Run every batch norm, residual add and ReLU as its own pass.
    #[arg(long)]
    unfused: bool,
    /// Storage precision of activations and conv weights on the GPU (f16 needs SHADER_F16).
    #[arg(long, default_value = "f32")]
    precision: Precision,
}

impl ModelArgs {
    pub fn options(&self) -> BuildOptions {
        BuildOptions {
            unfused: self.unfused,
            classes: self.classes,
            blocks: self.blocks,
        }
    }
}

/// `--batch N --height H --width W`: the input a command runs on.
#[derive(Args)]
pub struct InputSize {
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    pub batch: usize,
    /// Input height (default 224, 32 for CIFAR).
    #[arg(long)]
    pub height: Option<usize>,
    /// Input width (default 224, 32 for CIFAR).
    #[arg(long)]
    pub width: Option<usize>,
}

impl InputSize {
    /// (height, width), the architecture's default where not given.
    pub fn hw(&self, arch: Architecture) -> (usize, usize) {
        let d = arch.default_input();
        (self.height.unwrap_or(d), self.width.unwrap_or(d))
    }
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    input: InputSize,
    /// Seed of the random input.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Timed runs of each engine, interleaved (GPU, CPU, GPU, ...); the times are medians.
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    runs: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Largest max |Δ| / max |logit| that passes; above it the command fails after its report
    /// (default 1e-4 in f32, 2e-2 in f16).
    #[arg(long, value_parser = positive_tolerance)]
    tolerance: Option<f64>,
}

/// The network-level tolerances of `verify` (max |Δ| / max |logit|) when `--tolerance` is
/// not given: f32 networks agree to a few 1e-6 (BENCHMARKS.md), f16 ones to about 1e-3.
fn default_tolerance(precision: Precision) -> f64 {
    match precision {
        Precision::F32 => 1e-4,
        Precision::F16 => 2e-2,
    }
}

/// `--tolerance`: a finite number above 0.
fn positive_tolerance(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}`: expected a number above 0, such as 1e-4")),
    }
}

#[derive(Args)]
struct LogitsArgs {
    /// Model file: .onnx, or .safetensors with --arch.
    #[arg(long, conflicts_with = "weights")]
    model: Option<PathBuf>,
    /// Architecture, for --weights or a .safetensors --model: simple, resnet18/34/50/101/152,
    /// resnext50_32x4d, resnext101_32x8d/64x4d, wide_resnet50_2/101_2, resnet20/32/44/56/110.
    #[arg(long)]
    arch: Option<Architecture>,
    /// With --arch: safetensors weights file, or random:SEED (default random:1).
    #[arg(long)]
    weights: Option<Weights>,
    /// Classes for random weights (default 1000; 10 for CIFAR and simple).
    #[arg(long)]
    classes: Option<usize>,
    /// Blocks of the simple architecture for random weights (default 2).
    #[arg(long)]
    blocks: Option<usize>,
    /// Run every batch norm, residual add and ReLU as its own pass.
    #[arg(long)]
    unfused: bool,
    /// Storage precision of activations and conv weights on the GPU (f16 needs SHADER_F16).
    #[arg(long, default_value = "f32")]
    precision: Precision,
    /// The input's values are in NHWC order (shape [N, H, W, C], or a [N, C, H, W] shape
    /// over NHWC-ordered values); they are transposed to NCHW.
    #[arg(long)]
    nhwc: bool,
    /// safetensors file holding the NCHW f32 input.
    #[arg(long)]
    input: PathBuf,
    /// Name of the input tensor.
    #[arg(long, default_value = "input_nchw")]
    tensor: String,
    /// Where to write the logits (tensor `logits`).
    #[arg(long)]
    output: PathBuf,
}

pub fn engine(cli: &Cli) -> Result<Engine> {
    let engine = Engine::with_options(&EngineOptions {
        backend: cli.backend.clone(),
        adapter_name: cli.adapter.clone(),
        ..Default::default()
    })?;
    if let Some(note) = engine.backend_note() {
        eprintln!("{note}");
    }
    Ok(engine)
}

fn verify(cli: &Cli, a: &VerifyArgs) -> Result<()> {
    let arch = a.model.arch;
    let (h, w) = a.input.hw(arch);
    let graph = resnet_wgpu::load_graph(arch, &a.model.weights, a.model.options())?;
    let e = engine(cli)?;
    let gpu = Model::with_options(
        &e,
        graph.clone(),
        ModelOptions::from_tune_cache(&e, a.model.precision)?,
    )?;
    // The size checks before the input is allocated (an input too large for the device
    // fails here, not after filling the host's memory).
    gpu.chunk_size(a.input.batch, h, w)?;
    let input = random_images(a.seed, [a.input.batch, 3, h, w])?;
    // Builds the plan (compiling the kernels) and warms up.
    let mut logits = first_run::first_inference(&e, || gpu.infer(&input))?;
    let cpu = CpuModel::new(graph)?;
    let mut reference = None;
    let (mut gpu_times, mut cpu_times) = (Vec::new(), Vec::new());
    for _ in 0..a.runs {
        let t = Instant::now();
        logits = gpu.infer(&input)?;
        gpu_times.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        reference = Some(cpu.infer(&input)?);
        cpu_times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let median = resnet_wgpu::gpu::profile::median;
    let (gpu_ms, cpu_ms) = (median(&gpu_times), median(&cpu_times));
    let reference = reference.expect("runs >= 1");
    let c = compare(&logits, &reference)?;
    let tolerance = a
        .tolerance
        .unwrap_or_else(|| default_tolerance(a.model.precision));
    // NaN-safe: a NaN error never passes.
    let agrees = c.max_rel_err <= tolerance;
    if a.json {
        let obj = serde_json::json!({
            "arch": arch.name(), "adapter": e.adapter_info().name, "batch": a.input.batch, "height": h, "width": w,
            "unfused": a.model.unfused, "precision": a.model.precision.to_string(),
            "weights": a.model.weights.to_string(), "seed": a.seed,
            "max_abs_err": c.max_abs_err, "max_rel_err": c.max_rel_err, "max_abs_logit": c.max_abs_ref,
            "top1_agreement": c.top1_agreement, "gpu_ms": gpu_ms, "cpu_ms": cpu_ms,
            "runs": a.runs, "tolerance": tolerance, "agrees": agrees,
        });
        println!("{obj}");
    } else {
        println!(
            "{} batch {} {}x{} on {}{}",
            arch,
            a.input.batch,
            h,
            w,
            e.describe(),
            if a.model.unfused { " (unfused)" } else { "" }
        );
        println!("max |Δ|              {:.3e}", c.max_abs_err);
        println!(
            "max |Δ| / max|logit| {:.3e}  (max |logit| {:.4})",
            c.max_rel_err, c.max_abs_ref
        );
        println!("top-1 agreement      {:.1} %", c.top1_agreement * 100.0);
        let runs = a.runs;
        println!("GPU time             {gpu_ms:.1} ms (median of {runs}, upload + readback)");
        println!("CPU time             {cpu_ms:.1} ms (median of {runs})");
    }
    if !agrees {
        return Err(Error::Disagreement {
            what: format!(
                "{arch} batch {} {h}x{w} {} on {}",
                a.input.batch,
                a.model.precision,
                e.adapter_info().name
            ),
            found: c.max_rel_err,
            tolerance,
        });
    }
    Ok(())
}

fn logits(cli: &Cli, a: &LogitsArgs) -> Result<()> {
    let opts = BuildOptions {
        unfused: a.unfused,
        classes: a.classes,
        blocks: a.blocks,
    };
    let (graph, softmax) = match (&a.model, a.arch) {
        (Some(path), arch) => {
            let m = resnet_wgpu::load_model_file(path, arch, opts)?;
            (m.graph, m.softmax)
        }
        (None, Some(arch)) => {
            if a.weights.is_none() {
                eprintln!("note: no --weights: random:1 weights, not a trained model's");
            }
            let weights = a.weights.clone().unwrap_or(Weights::Random(1));
            (resnet_wgpu::load_graph(arch, &weights, opts)?, false)
        }
        (None, None) => {
            let msg = "give --model FILE (.onnx, or .safetensors with --arch), or --arch";
            return Err(Error::InvalidInput(msg.into()));
        }
    };
    check_writable("--output", &a.output)?;
    let mut input = read_tensor(&a.input, &a.tensor)?;
    if let Some(i) = resnet_wgpu::weights::first_non_finite(&input.data) {
        return Err(Error::InvalidInput(format!(
            "{}: tensor `{}`: expected finite values, found {} at index {i}",
            a.input.display(),
            a.tensor,
            input.data[i]
        )));
    }
    if a.nhwc {
        input = nhwc_to_nchw_tensor(input, graph.input_channels)?;
    }
    let e = engine(cli)?;
    let model = Model::with_options(&e, graph, ModelOptions::from_tune_cache(&e, a.precision)?)?;
    let out = first_run::first_inference(&e, || model.infer(&input))?;
    write_safetensors(&a.output, &[("logits", &out)])?;
    eprintln!("wrote logits {:?} to {}", out.shape, a.output.display());
    if softmax {
        eprintln!("note: the model ends in a Softmax; the values written are the logits before it");
    }
    Ok(())
}

/// An NHWC-ordered 4-D tensor as NCHW: shape [N, H, W, C] (C = `channels`), or a
/// [N, C, H, W] shape whose values are stored NHWC.
fn nhwc_to_nchw_tensor(t: Tensor, channels: usize) -> Result<Tensor> {
    let &[n, d1, d2, d3] = t.shape.as_slice() else {
        return Err(Error::InvalidInput(format!(
            "--nhwc: expected a 4-D input tensor, found shape {:?}",
            t.shape
        )));
    };
    let (c, h, w) = if d3 == channels && d1 != channels {
        (d3, d1, d2)
    } else {
        (d1, d2, d3)
    };
    if t.data.len() != n * c * h * w {
        return Err(Error::InvalidInput(format!(
            "--nhwc: input tensor has {} values for shape {:?}",
            t.data.len(),
            t.shape
        )));
    }
    let data = resnet_wgpu::cpu::nhwc_to_nchw(&t.data, n, c, h, w);
    Ok(Tensor::new(vec![n, c, h, w], data))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        pipe::end_quietly_when_stdout_closes();
    }
    let r = match &cli.command {
        Command::Info(a) => info::info(&cli, a),
        Command::Verify(a) => verify(&cli, a),
        Command::Logits(a) => logits(&cli, a),
        Command::Tune(a) => tune::run(&cli, a),
        Command::Classify(a) => classify::run(&cli, a),
        Command::Eval(a) => eval::run(&cli, a),
        Command::Bench(a) => engine(&cli).and_then(|e| bench::run(&e, a)),
        Command::Profile(a) => engine(&cli).and_then(|e| profile::run(&e, a)),
        Command::Serve(a) => serve::run(&cli, a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
