//! `resnet tune`: times every conv variant on this adapter for each layer shape of a model (in
//! the model's `--precision`), verifies each against the CPU reference, and caches, of the
//! contenders that the timings alone pick, the baseline (the heuristic's variant where usable)
//! unless another runs the shape's layers faster in the whole network by over a margin.
//! Each step is reported on stderr as it starts and ends: on a CPU driver a tune lasts minutes.

use clap::Args;
use resnet_wgpu::gpu::kernels::Precision;
use resnet_wgpu::gpu::tune::{cache_path, tune, LayerTuning, TuneProgress};
use resnet_wgpu::Result;

use crate::{engine, Cli, ModelArgs};

#[derive(Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long, default_value_t = 1, value_parser = crate::at_least_one)]
    pub batch: usize,
    /// Input height (default 224, 32 for CIFAR).
    #[arg(long)]
    pub height: Option<usize>,
    /// Input width (default 224, 32 for CIFAR).
    #[arg(long)]
    pub width: Option<usize>,
    /// Timed runs per candidate (the median counts).
    #[arg(long, default_value_t = 3, value_parser = crate::at_least_one)]
    pub iters: usize,
}

pub fn run(cli: &Cli, a: &TuneArgs) -> Result<()> {
    let arch = a.model.arch;
    let h = a.height.unwrap_or(arch.default_input());
    let w = a.width.unwrap_or(arch.default_input());
    let graph = resnet_wgpu::load_graph(arch, &a.model.weights, a.model.options())?;
    let e = engine(cli)?;
    let precision = a.model.precision;
    let mut report = |step: TuneProgress<'_>| eprintln!("{}", progress_line(step));
    let layers = tune(&e, &graph, a.batch, h, w, a.iters, precision, &mut report)?;
    println!(
        "{:<28} {:<14} {:<14} candidates (median ms of the conv, rel. error vs CPU)",
        "layer", "chosen", "heuristic"
    );
    for l in &layers {
        let c: Vec<String> = l
            .candidates
            .iter()
            .map(|c| match &c.failed {
                Some(_) => format!("{} FAILED", c.variant.name()),
                None => {
                    let mark = if c.verified { "" } else { " REJECTED" };
                    let once = if c.pruned { "; first round only" } else { "" };
                    format!(
                        "{} {:.4} ms ({:.1e}{once}){mark}",
                        c.variant.name(),
                        c.ms,
                        c.rel_err
                    )
                }
            })
            .collect();
        println!(
            "{:<28} {:<14} {:<14} {}",
            l.layer(),
            l.chosen.name(),
            l.heuristic.name(),
            c.join(", ")
        );
    }
    println!("{}", heuristic_summary(&layers));
    // The network search of the shapes with more than one contender (the baseline first).
    for l in &layers {
        if let Some(n) = &l.network {
            // The baseline's time, then each other contender's with its median ratio to it.
            let times: Vec<String> = n
                .contenders
                .iter()
                .enumerate()
                .map(|(j, c)| match j {
                    0 => format!("{} {:.4} ms", c.variant.name(), c.ms),
                    _ => format!("{} {:.4} ms ({:.3}x)", c.variant.name(), c.ms, c.ratio),
                })
                .collect();
            println!(
                "network search of {} ({} layer{}): {}: keeps {}",
                l.layer(),
                l.layers.len(),
                if l.layers.len() == 1 { "" } else { "s" },
                times.join(", "),
                l.chosen.name()
            );
        }
    }
    // Why a candidate failed, below the table: a driver's error can take a paragraph.
    for l in &layers {
        for c in &l.candidates {
            if let Some(e) = &c.failed {
                println!(
                    "layer `{}`: {} failed and was left out, {e}",
                    l.layer(),
                    c.variant.name()
                );
            }
        }
    }
    if let Some(l) = layers.first().filter(|l| l.batch != a.batch) {
        println!(
            "a call of {} images runs in chunks of {} (the device's binding limit): tuned at {}",
            a.batch, l.batch, l.batch
        );
    }
    if let Some(p) = cache_path() {
        let f16 = match precision {
            Precision::F32 => "",
            Precision::F16 => " (f16 storage: keys ending _f16)",
        };
        println!("{} shapes cached in {}{f16}", layers.len(), p.display());
    }
    Ok(())
}

/// One step of the tune as a line for stderr, `tune: ` first.
fn progress_line(step: TuneProgress<'_>) -> String {
    match step {
        TuneProgress::Shape {
            index,
            total,
            layer,
            layers,
            candidates,
        } => {
            let others = match layers {
                1 => String::new(),
                2 => " and 1 more layer".to_string(),
                n => format!(" and {} more layers", n - 1),
            };
            format!(
                "tune: shape {} of {total}: {layer}{others}, {candidates} candidates",
                index + 1
            )
        }
        TuneProgress::Measured {
            index,
            total,
            layer,
            fastest,
            ms,
            seconds,
        } => format!(
            "tune: shape {} of {total}: {layer}: fastest {} {ms:.4} ms ({seconds:.1} s)",
            index + 1,
            fastest.name()
        ),
        TuneProgress::Search {
            shapes,
            networks,
            rounds,
        } => format!(
            "tune: network search: {shapes} shape{} with several contenders, {networks} networks, {rounds} rounds",
            if shapes == 1 { "" } else { "s" }
        ),
    }
}

/// The chosen kernels' summed time against the heuristic's over the distinct shapes (each
/// shape once, however many layers share it).
fn heuristic_summary(layers: &[LayerTuning]) -> String {
    let differ = layers.iter().filter(|l| l.chosen != l.heuristic).count();
    let (mut tuned, mut heuristic) = (0.0, 0.0);
    for l in layers {
        match (l.ms_of(l.chosen), l.ms_of(l.heuristic)) {
            (Some(t), Some(h)) => {
                tuned += t;
                heuristic += h;
            }
            _ => {
                return format!(
                    "{differ} of {} shapes differ from the heuristic (layer `{}`: its heuristic variant {} was not a candidate or failed)",
                    layers.len(),
                    l.layer(),
                    l.heuristic.name()
                )
            }
        }
    }
    format!(
        "{differ} of {} shapes differ from the heuristic; summed over the shapes, timed alone: chosen {tuned:.4} ms, heuristic {heuristic:.4} ms (chosen / heuristic {:.3})",
        layers.len(),
        tuned / heuristic
    )
}
