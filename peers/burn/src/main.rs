//! `peer-burn`: resnet-wgpu against burn's wgpu backend on the same seeded torchvision
//! ResNets, end to end (host input → upload → forward → logits back on the host), with a
//! logit check between the two. Modules: [`weights`] (the seeded tensors both engines load),
//! [`load`] and [`net`] (the burn model), [`timing`] (interleaved rounds), [`report`] (output).

mod load;
mod net;
mod report;
mod timing;
mod weights;

use std::time::Instant;

use burn::tensor::{Device, TensorData};
use clap::Parser;
use resnet_wgpu::weights::random_input;
use resnet_wgpu::{compare, Architecture, Engine, Model, ModelOptions, Tensor};

/// The burn release Cargo.toml pins (keep the two in step).
const BURN_VERSION: &str = "0.22.1";
/// The input seed `resnet bench` uses.
const INPUT_SEED: u64 = 7;

#[derive(Parser)]
#[command(about = "resnet-wgpu vs burn (wgpu backend) on the same seeded torchvision ResNets")]
struct Args {
    /// Comma-separated torchvision ResNets (resnet18, resnet34, resnet50, resnet101, resnet152).
    #[arg(long, value_delimiter = ',', default_value = "resnet18,resnet50")]
    arch: Vec<Architecture>,
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Timed rounds (each: one call per engine).
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// Untimed rounds after the check call, before timing.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Weight seed (our `random:SEED`).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Give burn each conv with its batch norm folded in (conv + bias, no BN ops), as ours
    /// runs, instead of torchvision's conv → BN.
    #[arg(long)]
    burn_folded: bool,
    /// Also write the results as JSON to this file (`-` for stdout).
    #[arg(long)]
    json: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    if a.batch == 0 || a.iters == 0 {
        return Err("--batch and --iters must be at least 1".into());
    }
    let engine = Engine::new()?;
    let tuned = resnet_wgpu::gpu::tune::load_choices(&engine)?;
    let device = Device::default();
    let burn_adapter = device
        .identity()
        .map_or_else(|| format!("{device:?}"), |i| i.name);
    println!(
        "resnet-wgpu vs burn {BURN_VERSION} (wgpu backend, fusion + autotune), weights random:{}, input seed {INPUT_SEED}, 224×224",
        a.seed
    );
    let burn_model = match a.burn_folded {
        true => "BN folded into the convs, as ours",
        false => "torchvision conv → BN",
    };
    println!(
        "per arch: 1 check call + {} warm-up + {} timed rounds per engine, interleaved (ours, burn, ours, burn, ...); end to end: upload, forward, readback",
        a.warmup, a.iters
    );
    println!(
        "ours: {} (tuned conv choices: {})",
        engine.describe(),
        tuned.len()
    );
    println!("burn: {burn_adapter} (Device::default(): wgpu Auto, Vulkan before DX12/GL; WGSL kernels; {burn_model})\n");
    println!("{}", report::HEADER);
    let mut rows = Vec::new();
    for &arch in &a.arch {
        let row = run_arch(&a, arch, &engine, &tuned, &device)?;
        println!("{}", row.markdown());
        rows.push(row);
    }
    if let Some(path) = &a.json {
        let doc = serde_json::json!({
            "ours": {"adapter": engine.describe(), "tuned_choices": tuned.len()},
            "burn": {"version": BURN_VERSION, "adapter": burn_adapter, "bn_folded": a.burn_folded},
            "seed": a.seed, "input_seed": INPUT_SEED, "iters": a.iters, "warmup": a.warmup,
            "rows": rows.iter().map(report::Row::json).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&doc)?;
        match path.as_str() {
            "-" => println!("{text}"),
            p => std::fs::write(p, text + "\n")?,
        }
    }
    Ok(())
}

fn run_arch(
    a: &Args,
    arch: Architecture,
    engine: &Engine,
    tuned: &resnet_wgpu::gpu::tune::Choices,
    device: &Device,
) -> Result<report::Row, Box<dyn std::error::Error>> {
    if !matches!(arch, Architecture::ImageNet(_)) {
        return Err(format!("{arch}: only the plain torchvision ResNets (resnet18..152)").into());
    }
    let (graph, tensors) = weights::seeded(arch, a.seed)?;
    let options = ModelOptions {
        tuned: tuned.clone(),
        ..Default::default()
    };
    let ours = Model::with_options(engine, graph, options)?;
    let theirs = net::ResNet::load(&load::Params {
        tensors: &tensors,
        device,
        fold: a.burn_folded,
    });
    drop(tensors);
    let shape = vec![a.batch, 3, 224, 224];
    let input = Tensor::new(
        shape.clone(),
        random_input(INPUT_SEED, shape.iter().product()),
    );
    let burn_input = || TensorData::new(input.data.clone(), shape.clone());

    let cmp = compare(&theirs.infer(burn_input()), &ours.infer(&input)?)?;
    let (ours_t, burn_t) = timing::interleave(
        a.warmup,
        a.iters,
        || {
            let t = Instant::now();
            ours.infer(&input)?;
            Ok::<_, resnet_wgpu::Error>(t.elapsed())
        },
        || {
            let data = burn_input();
            let t = Instant::now();
            theirs.infer(data);
            Ok(t.elapsed())
        },
    )?;
    Ok(report::Row {
        arch: arch.name(),
        batch: a.batch,
        ours: ours_t,
        burn: burn_t,
        rel_err: cmp.max_rel_err,
        top1: cmp.top1_agreement,
    })
}
