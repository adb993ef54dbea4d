//! `resnet profile`: per-layer GPU times (median of `--runs` runs after one warm-up inference)
//! as a table, and optionally as a bar chart (`--out FILE.svg` or `FILE.html`).
//!
//! Per layer: GFLOP/s = FLOPs / time (convs and the classifier), GB/s = ideal bytes / time (see
//! `resnet_wgpu::gpu::profile`), fraction of peak = GFLOP/s over the f32 FMA peak for layers
//! with FLOPs ("compute"; f16 models too: their kernels store f16 and multiply-add in f32),
//! GB/s over the copy bandwidth for the others ("memory"), and
//! share = time / sum of the layer times. With `--passes`, a layer that runs several kernels
//! (Winograd's input transform, GEMM and output transform) gets one more row per kernel, each
//! with its own median time and share; `--json` always lists them.

use std::path::PathBuf;

use clap::Args;
use resnet_wgpu::gpu::peak::{self, Peak, PeakOptions};
use resnet_wgpu::gpu::profile::{LayerTime, Profile};
use resnet_wgpu::model::Shape;
use resnet_wgpu::weights::random_images;
use resnet_wgpu::{Engine, Error, Model, ModelOptions, Result};
use serde_json::json;

use super::bench::describe_peak;
use super::chart;
use super::{InputSize, ModelArgs};
use resnet_wgpu::gpu::Precision;

#[derive(Args)]
pub struct ProfileArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    input: InputSize,
    /// Timed runs; each layer's time is its median.
    #[arg(long, default_value_t = 5, value_parser = crate::at_least_one)]
    runs: usize,
    /// Also write a bar chart: FILE.svg, or FILE.html (chart and table).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not measure the roofline (no fractions of peak).
    #[arg(long)]
    no_peak: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Under each layer that runs several kernels, one row per kernel with its own time.
    #[arg(long)]
    passes: bool,
}

/// One table row.
pub struct Row {
    pub name: String,
    pub op: &'static str,
    pub shape: String,
    pub kernel: String,
    pub ms: f64,
    pub gflops: Option<f64>,
    pub gbs: f64,
    pub fraction: Option<f64>,
    /// `compute` (fraction of FLOP peak) or `memory` (fraction of bandwidth).
    pub bound: &'static str,
    pub share: f64,
    /// The layer's kernels in order, each with its median milliseconds.
    pub passes: Vec<(String, f64)>,
}

fn shape(s: Shape) -> String {
    format!("{}x{}x{}", s.c, s.h, s.w)
}

fn row(l: &LayerTime, total: f64, flop_peak: Option<f64>, peak: Option<&Peak>) -> Row {
    let s = l.seconds.max(1e-12);
    let gflops = (l.flops > 0.0).then(|| l.flops / s / 1e9);
    let gbs = l.bytes / s / 1e9;
    let (fraction, bound) = match gflops {
        Some(g) => (flop_peak.map(|p| g / p), "compute"),
        None => (peak.map(|p| gbs / p.bandwidth_gbs), "memory"),
    };
    Row {
        name: l.name.clone(),
        op: l.op,
        shape: format!("{} -> {}", shape(l.input), shape(l.output)),
        kernel: l.kernel.clone(),
        ms: l.seconds * 1e3,
        gflops,
        gbs,
        fraction,
        bound,
        share: if total > 0.0 { l.seconds / total } else { 0.0 },
        passes: l
            .passes
            .iter()
            .map(|p| (p.kernel.clone(), p.seconds * 1e3))
            .collect(),
    }
}

fn rows(p: &Profile, flop_peak: Option<f64>, peak: Option<&Peak>) -> Vec<Row> {
    let total = p.total_seconds();
    p.layers
        .iter()
        .map(|l| row(l, total, flop_peak, peak))
        .collect()
}

pub fn run(engine: &Engine, a: &ProfileArgs) -> Result<()> {
    let format = match &a.out {
        None => None,
        Some(path) => match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("svg") => Some(false),
            Some(e) if e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm") => {
                Some(true)
            }
            _ => {
                return Err(Error::InvalidInput(format!(
                    "--out {}: expected a file name ending in .svg or .html",
                    path.display()
                )))
            }
        },
    };
    if let Some(path) = &a.out {
        crate::check_writable("--out", path)?;
    }
    let arch = a.model.arch;
    let opts = a.model.options();
    let (h, w) = a.input.hw(arch);
    let peak = if a.no_peak {
        None
    } else {
        Some(peak::measure(engine, &PeakOptions::default())?)
    };
    // Every kernel multiply-adds in f32, whatever the storage precision.
    let flop_peak = peak.as_ref().map(|p| p.f32_gflops);
    let options = ModelOptions::from_tune_cache(engine, a.model.precision)?;
    let model = Model::load(engine, arch, &a.model.weights, opts, options)?;
    model.chunk_size(a.input.batch, h, w)?; // the size checks before the allocation
    let input = random_images(7, [a.input.batch, 3, h, w])?;
    // Warm-up: plan, pipelines, first-touch of the buffers.
    crate::first_run::first_inference(engine, || model.infer(&input))?;
    let profile = model.profile(&input, a.runs)?;
    let rows = rows(&profile, flop_peak, peak.as_ref());
    let total_ms = profile.total_seconds() * 1e3;
    let title = format!(
        "{arch} batch {} {h}x{w} {}: {:.2} ms of GPU time",
        a.input.batch,
        precision_name(a.model.precision),
        total_ms
    );
    let mut header = vec![
        format!("device: {}", engine.describe()),
        format!(
            "layer times: {} (median of {} run(s)){}",
            profile.timing.name(),
            profile.runs,
            match profile.timing {
                resnet_wgpu::gpu::timer::Timing::Timestamps => "",
                _ => "; no timestamp queries on this adapter: every layer was submitted and waited for alone, so each time includes the submit latency",
            }
        ),
    ];
    if let Some(p) = &peak {
        header.push(describe_peak(p));
    }
    let span_ms = profile.span_seconds.map(|s| s * 1e3);
    let gaps_ms = profile.gap_seconds.map(|s| s * 1e3);
    if let (Some(span), Some(gaps)) = (span_ms, gaps_ms) {
        header.push(format!(
            "span: {span:.2} ms from the first dispatch's start to the last one's end, {gaps:.2} \
             ms of it outside the layers (between dispatches)"
        ));
    }
    if a.json {
        let layers: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({"layer": r.name, "op": r.op, "shape": r.shape, "kernel": r.kernel,
                    "ms": r.ms, "gflops": r.gflops, "gbs": r.gbs, "fraction_of_peak": r.fraction,
                    "bound": r.bound, "share": r.share,
                    "passes": r.passes.iter().map(|(k, ms)| json!({"kernel": k, "ms": ms}))
                        .collect::<Vec<_>>()})
            })
            .collect();
        let obj = json!({
            "arch": arch.name(), "batch": a.input.batch, "height": h, "width": w,
            "precision": precision_name(a.model.precision), "adapter": engine.adapter_info().name,
            "timing": profile.timing.name(), "runs": profile.runs, "total_ms": total_ms,
            "span_ms": span_ms, "gaps_ms": gaps_ms,
            "f32_gflops": peak.as_ref().map(|p| p.f32_gflops),
            "f16_gflops": peak.as_ref().and_then(|p| p.f16_gflops),
            "bandwidth_gbs": peak.as_ref().map(|p| p.bandwidth_gbs),
            "layers": layers,
        });
        println!("{obj}");
    } else {
        println!("{title}");
        for line in &header {
            println!("{line}");
        }
        print_table(&rows, a.passes, total_ms);
    }
    if let (Some(path), Some(as_html)) = (&a.out, format) {
        let svg = chart::svg(&title, &rows, path)?;
        let text = if as_html {
            chart::html(&title, &header, &rows, &svg)
        } else {
            svg
        };
        std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(rows: &[Row], passes: bool, total_ms: f64) {
    let name_w = rows.iter().map(|r| r.name.len()).max().unwrap_or(5).max(5);
    let shape_w = rows.iter().map(|r| r.shape.len()).max().unwrap_or(5).max(5);
    let kernel_w = rows
        .iter()
        .map(|r| r.kernel.len())
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "{:name_w$}  {:10}  {:shape_w$}  {:kernel_w$}  {:>9}  {:>8}  {:>7}  {:>15}  {:>6}",
        "layer", "op", "shape", "kernel", "ms", "GFLOP/s", "GB/s", "% of peak", "share"
    );
    for r in rows {
        println!(
            "{:name_w$}  {:10}  {:shape_w$}  {:kernel_w$}  {:>9.3}  {:>8}  {:>7.1}  {:>15}  {:>5.1}%",
            r.name,
            r.op,
            r.shape,
            r.kernel,
            r.ms,
            r.gflops.map_or("-".to_string(), |g| format!("{g:.1}")),
            r.gbs,
            r.fraction
                .map_or("-".to_string(), |f| format!("{:.1} ({})", f * 1e2, r.bound)),
            r.share * 1e2
        );
        if passes && r.passes.len() > 1 {
            for (kernel, ms) in &r.passes {
                let share = if total_ms > 0.0 { ms / total_ms } else { 0.0 };
                println!(
                    "{:name_w$}  {:10}  {:shape_w$}  {:kernel_w$}  {:>9.3}  {:>8}  {:>7}  {:>15}  {:>5.1}%",
                    "", "  pass", "", kernel, ms, "", "", "", share * 1e2
                );
            }
        }
    }
}

fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::F16 => "f16",
    }
}
