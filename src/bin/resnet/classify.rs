//! `resnet classify`: the top-K classes of each image, with softmax probabilities, as text or
//! one JSON object a line.

use std::path::PathBuf;

use clap::Args;
use resnet_wgpu::preprocess::collect_images;
use resnet_wgpu::{Error, Result};

use crate::images::{run_images, top_k, ModelFileArgs, PreprocessArgs};

#[derive(Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    model: ModelFileArgs,
    #[command(flatten)]
    pre: PreprocessArgs,
    /// How many classes to show per image.
    #[arg(long, default_value_t = 5, value_parser = crate::at_least_one)]
    top: usize,
    /// Images per GPU batch.
    #[arg(long, default_value_t = 32, value_parser = crate::at_least_one)]
    batch: usize,
    /// One JSON object per image: {"path", "top": [{"index", "label", "prob"}]}.
    #[arg(long)]
    json: bool,
    /// Image files, or directories searched recursively (sorted by path).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub fn run(cli: &crate::Cli, a: &ClassifyArgs) -> Result<()> {
    let files = collect_images(&a.paths)?;
    let net = a.model.load()?;
    let classes = net.graph.num_classes();
    let labels = a.model.labels(classes)?;
    let pre = a.pre.build(classes)?;
    let engine = crate::engine(cli)?;
    let k = a.top.clamp(1, classes.max(1));
    let total = files.len();
    let stats = run_images(
        &engine,
        &net,
        &a.model,
        files,
        pre,
        a.batch,
        true,
        |b, probs| {
            for (path, row) in b.paths.iter().zip(probs.data.chunks(classes)) {
                let top = top_k(row, k);
                if a.json {
                    let top: Vec<_> = top
                    .iter()
                    .map(|&i| serde_json::json!({"index": i, "label": labels.name(i), "prob": row[i]}))
                    .collect();
                    println!(
                        "{}",
                        serde_json::json!({"path": path.display().to_string(), "top": top})
                    );
                } else {
                    println!("{}", path.display());
                    for &i in &top {
                        println!("  {:6.2} %  {} ({i})", row[i] * 100.0, labels.name(i));
                    }
                }
            }
            Ok(())
        },
    )?;
    eprintln!(
        "classified {} of {total} files in {:.2} s ({:.1} images/s); skipped {}",
        stats.images,
        stats.seconds,
        stats.images_per_s(),
        stats.skipped
    );
    if stats.images == 0 {
        return Err(Error::InvalidInput(format!(
            "none of the {total} files could be classified (see the messages above)"
        )));
    }
    Ok(())
}
