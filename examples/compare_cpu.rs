//! The simple ResNet and ResNet-50 with seeded random weights, on the GPU and on the CPU
//! reference: prints how far the logits differ and how long each took.
//!
//! ```text
//! cargo run --release --example compare_cpu [SIZE] [BATCH]     (defaults 224 and 1)
//! ```

use std::time::Instant;

use resnet_wgpu::weights::random_input;
use resnet_wgpu::{
    compare, load_graph, Architecture, BuildOptions, CpuModel, Engine, Error, Model, Result,
    Tensor, Weights,
};

/// The `i`-th command-line argument as a positive integer, or `default`.
fn arg(i: usize, name: &str, default: usize) -> Result<usize> {
    match std::env::args().nth(i) {
        None => Ok(default),
        Some(s) => s.parse().ok().filter(|&v| v > 0).ok_or_else(|| {
            Error::InvalidInput(format!("{name}: expected a positive integer, found `{s}`"))
        }),
    }
}

fn run() -> Result<()> {
    let size = arg(1, "SIZE", 224)?;
    let batch = arg(2, "BATCH", 1)?;
    let engine = Engine::new()?;
    println!("GPU: {}", engine.describe());
    let input = Tensor::new(
        vec![batch, 3, size, size],
        random_input(7, batch * 3 * size * size),
    );
    for name in ["simple", "resnet50"] {
        let arch = Architecture::parse(name)?;
        let graph = load_graph(arch, &Weights::Random(1), BuildOptions::default())?;
        let gpu = Model::new(&engine, graph.clone())?;
        gpu.infer(&input)?; // the first run builds the plan (buffers, bind groups)
        let t = Instant::now();
        let logits = gpu.infer(&input)?;
        let gpu_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let reference = CpuModel::new(graph)?.infer(&input)?;
        let cpu_ms = t.elapsed().as_secs_f64() * 1e3;
        let c = compare(&logits, &reference)?;
        println!(
            "\n{name}, batch {batch}, {size}x{size}, logits {:?}",
            logits.shape
        );
        println!("  max |Δ|               {:.3e}", c.max_abs_err);
        println!(
            "  max |Δ| / max |logit| {:.3e}  (max |logit| {:.4})",
            c.max_rel_err, c.max_abs_ref
        );
        println!("  top-1 agreement       {:.1} %", c.top1_agreement * 100.0);
        println!("  GPU {gpu_ms:.1} ms, CPU reference {cpu_ms:.1} ms");
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
