//! `resnet bench`: the device's roofline (`--peak`) and a network's inference speed.
//!
//! - latency: wall clock of one whole inference (input upload, every dispatch, logits readback),
//!   after `--warmup` untimed ones; median and nearest-rank p90 over `--iters`;
//! - submit: the part of it until `Model::submit` returns (input write, recording and
//!   submitting every command buffer; on GPUs the device starts on the first group meanwhile),
//!   median over the same calls;
//! - images/s = batch / median latency; gflops = 2 · MACs (convs + fc) · batch / median latency;
//! - conv_gflops = conv FLOPs / conv GPU time, the conv layers' summed per-layer times (GPU
//!   timestamps where the adapter has them), median over `--profile-runs` runs;
//! - every figure is also given as a fraction of the f32 FMA peak measured in the same run,
//!   unless `--no-peak`; for `--precision f16` too, as the kernels store f16 but multiply-add
//!   in f32.

use std::time::Instant;

use clap::{Args, ValueEnum};
use resnet_wgpu::gpu::peak::{self, Peak, PeakOptions};
use resnet_wgpu::gpu::profile::{median, percentile};
use resnet_wgpu::gpu::Precision;
use resnet_wgpu::weights::random_images;
use resnet_wgpu::{
    Architecture, BuildOptions, Engine, Model, ModelOptions, Result, Tensor, Weights,
};
use serde_json::{json, Value};

/// Storage precision of weights and activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    F32,
    F16,
}

impl PrecisionArg {
    pub fn name(self) -> &'static str {
        match self {
            PrecisionArg::F32 => "f32",
            PrecisionArg::F16 => "f16",
        }
    }

    pub fn precision(self) -> Precision {
        match self {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::F16 => Precision::F16,
        }
    }
}

#[derive(Args)]
pub struct BenchArgs {
    /// Measure the device's roofline (f32/f16 FMA GFLOP/s, copy GB/s); alone, print only that.
    #[arg(long)]
    peak: bool,
    /// Do not measure the roofline (no fractions of peak).
    #[arg(long, conflicts_with = "peak")]
    no_peak: bool,
    /// Architecture: simple, resnet18/34/50/101/152,
    /// resnext50_32x4d, resnext101_32x8d/64x4d, wide_resnet50_2/101_2, resnet20/32/44/56/110.
    #[arg(long, required_unless_present = "peak")]
    arch: Option<Architecture>,
    /// safetensors weights file, or random:SEED (speed does not depend on the values).
    #[arg(long, default_value = "random:1")]
    weights: Weights,
    /// Classes for random weights (default 1000; 10 for CIFAR and simple).
    #[arg(long)]
    classes: Option<usize>,
    /// Run every batch norm, residual add and ReLU as its own pass.
    #[arg(long)]
    unfused: bool,
    #[arg(long, default_value_t = 1, value_parser = crate::at_least_one)]
    batch: usize,
    /// Timed inferences.
    #[arg(long, default_value_t = 10, value_parser = crate::at_least_one)]
    iters: usize,
    /// Untimed inferences first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Input height (default 224, 32 for CIFAR).
    #[arg(long)]
    height: Option<usize>,
    /// Input width (default 224, 32 for CIFAR).
    #[arg(long)]
    width: Option<usize>,
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    precision: PrecisionArg,
    /// Also measure images/s with this many calls in flight at once (submit/wait through
    /// `infer_stream`), beside one in flight.
    #[arg(long, default_value_t = 1, value_parser = crate::at_least_one)]
    concurrency: usize,
    /// Timed runs of the per-layer profile behind conv_gflops.
    #[arg(long, default_value_t = 3, value_parser = crate::at_least_one)]
    profile_runs: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn peak_json(engine: &Engine, p: Option<&Peak>) -> Value {
    json!({
        "adapter": engine.adapter_info().name,
        "backend": format!("{:?}", engine.adapter_info().backend),
        "f32_gflops": p.map(|p| p.f32_gflops),
        "f16_gflops": p.and_then(|p| p.f16_gflops),
        "bandwidth_gbs": p.map(|p| p.bandwidth_gbs),
        "peak_timing": p.map(|p| p.timing.name()),
    })
}

/// One line describing a roofline.
pub fn describe_peak(p: &Peak) -> String {
    let f16 = p
        .f16_gflops
        .map_or("n/a (no SHADER_F16)".to_string(), |g| format!("{g:.1}"));
    format!(
        "peak: f32 {:.1} GFLOP/s, f16 {} GFLOP/s, copy bandwidth {:.1} GB/s ({})",
        p.f32_gflops,
        f16,
        p.bandwidth_gbs,
        p.timing.name()
    )
}

pub fn run(engine: &Engine, a: &BenchArgs) -> Result<()> {
    let opts = BuildOptions {
        unfused: a.unfused,
        classes: a.classes,
        ..Default::default()
    };
    let peak = if a.no_peak {
        None
    } else {
        Some(peak::measure(engine, &PeakOptions::default())?)
    };
    let Some(arch) = a.arch else {
        // --peak alone (clap requires --arch otherwise).
        if a.json {
            println!("{}", peak_json(engine, peak.as_ref()));
        } else {
            println!("{}", engine.describe());
            if let Some(p) = &peak {
                println!("{}", describe_peak(p));
            }
        }
        return Ok(());
    };
    let h = a.height.unwrap_or(arch.default_input());
    let w = a.width.unwrap_or(arch.default_input());
    let options = ModelOptions::from_tune_cache(engine, a.precision.precision())?;
    let model = Model::load(engine, arch, &a.weights, opts, options)?;
    model.chunk_size(a.batch, h, w)?; // the size checks before the allocation
    let input = random_images(7, [a.batch, 3, h, w])?;
    if a.warmup > 0 {
        // The first inference compiles the kernels.
        crate::first_run::first_inference(engine, || model.infer(&input))?;
    }
    for _ in 1..a.warmup {
        model.infer(&input)?;
    }
    let (mut latencies, mut submits) = (Vec::with_capacity(a.iters), Vec::with_capacity(a.iters));
    for _ in 0..a.iters {
        let t = Instant::now();
        let pending = model.submit(&input)?;
        submits.push(t.elapsed().as_secs_f64());
        pending.wait()?;
        latencies.push(t.elapsed().as_secs_f64());
    }
    let submit = median(&submits);
    let submissions = model.submission_dispatches(a.batch, h, w)?.len();
    let streamed = if a.concurrency > 1 {
        let one = stream_images_per_s(&model, &input, a.iters, 1)?;
        let many = stream_images_per_s(&model, &input, a.iters * a.concurrency, a.concurrency)?;
        Some((one, many))
    } else {
        None
    };
    let profile = model.profile(&input, a.profile_runs)?;
    let (conv_flops, conv_s) = profile.conv_work();
    let lat = median(&latencies);
    let p90 = percentile(&latencies, 90.0);
    let flops = 2.0 * model.graph().macs(h, w)? as f64 * a.batch as f64;
    let gflops = flops / lat / 1e9;
    let conv_gflops = if conv_s > 0.0 {
        conv_flops / conv_s / 1e9
    } else {
        0.0
    };
    // Every kernel multiply-adds in f32, whatever the storage precision.
    let reference = peak.as_ref().map(|p| p.f32_gflops);
    let fraction = |g: f64| reference.map(|r| g / r);
    if a.json {
        let mut obj = peak_json(engine, peak.as_ref());
        let extra = json!({
            "arch": arch.name(), "batch": a.batch, "height": h, "width": w,
            "precision": a.precision.name(), "unfused": a.unfused, "iters": a.iters,
            "latency_ms_median": lat * 1e3, "latency_ms_p90": p90 * 1e3,
            "latency_ms_min": latencies.iter().copied().fold(f64::INFINITY, f64::min) * 1e3,
            "submit_ms_median": submit * 1e3, "submissions_per_chunk": submissions,
            "images_per_s": a.batch as f64 / lat, "gflops": gflops,
            "gflops_fraction_of_peak": fraction(gflops),
            "conv_gflops": conv_gflops, "conv_fraction_of_peak": fraction(conv_gflops),
            "conv_gpu_ms": conv_s * 1e3, "gpu_ms": profile.total_seconds() * 1e3,
            "gpu_span_ms": profile.span_seconds.map(|s| s * 1e3),
            "gpu_gaps_ms": profile.gap_seconds.map(|s| s * 1e3),
            "layer_timing": profile.timing.name(), "profile_runs": profile.runs,
        });
        if let (Value::Object(o), Value::Object(e)) = (&mut obj, extra) {
            o.extend(e);
        }
        if let (Value::Object(o), Some((one, many))) = (&mut obj, streamed) {
            o.insert("concurrency".into(), json!(a.concurrency));
            o.insert("images_per_s_in_flight_1".into(), json!(one));
            o.insert("images_per_s_in_flight_k".into(), json!(many));
        }
        println!("{obj}");
        return Ok(());
    }
    let pct =
        |g: f64| fraction(g).map_or(String::new(), |f| format!(" ({:.1} % of peak)", f * 1e2));
    println!(
        "{arch} batch {} {h}x{w} {}{} on {}",
        a.batch,
        a.precision.name(),
        if a.unfused { " unfused" } else { "" },
        engine.describe()
    );
    if let Some(p) = &peak {
        println!("{}", describe_peak(p));
    }
    println!(
        "latency     median {:.2} ms, p90 {:.2} ms over {} runs (upload + GPU + readback)",
        lat * 1e3,
        p90 * 1e3,
        a.iters
    );
    println!(
        "host        submit() median {:.3} ms (input write, recording, {} submission(s) per chunk)",
        submit * 1e3,
        submissions
    );
    println!(
        "throughput  {:.2} images/s, {:.2} GFLOP/s effective{}",
        a.batch as f64 / lat,
        gflops,
        pct(gflops)
    );
    if let Some((one, many)) = streamed {
        println!(
            "in flight   {many:.2} images/s with {} calls in flight, {one:.2} images/s with 1 \
             ({:.2}×)",
            a.concurrency,
            many / one.max(1e-12)
        );
    }
    println!(
        "convs       {:.2} GFLOP/s over {:.2} ms of GPU time{} [{}, median of {} run(s)]",
        conv_gflops,
        conv_s * 1e3,
        pct(conv_gflops),
        profile.timing.name(),
        profile.runs
    );
    println!(
        "GPU total   {:.2} ms (sum of all layers)",
        profile.total_seconds() * 1e3
    );
    if let (Some(span), Some(gaps)) = (profile.span_seconds, profile.gap_seconds) {
        println!(
            "GPU span    {:.2} ms from the first dispatch's start to the last one's end, {:.2} ms \
             of it between dispatches",
            span * 1e3,
            gaps * 1e3
        );
    }
    Ok(())
}

/// Images/s of `calls` calls on `input` with `in_flight` of them submitted at once.
fn stream_images_per_s(
    model: &Model,
    input: &Tensor,
    calls: usize,
    in_flight: usize,
) -> Result<f64> {
    let t = Instant::now();
    for (_, out) in model.infer_stream(std::iter::repeat_n(input, calls), in_flight) {
        out?;
    }
    let batch = input.shape[0] as f64;
    Ok(calls as f64 * batch / t.elapsed().as_secs_f64().max(1e-12))
}
