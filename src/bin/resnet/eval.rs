//! `resnet eval`: top-1 and top-5 accuracy over a labelled folder of images, the classes the
//! model gets wrong most often and what it takes them for, and the throughput.
//!
//! Labels come from the parent folder's name (`airplane/0000.jpg`, matched against the class
//! names or ImageNet WordNet ids) or from the WordNet id that starts the file name
//! (`n01440764_tench.JPEG`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use resnet_wgpu::labels::{imagenet_wnid_index, leading_wnid, Labels};
use resnet_wgpu::preprocess::collect_images;
use resnet_wgpu::{Error, Result};

use crate::images::{run_images, top_k, ModelFileArgs, PreprocessArgs};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LabelsFrom {
    /// The name of the folder an image is in, e.g. `cat/0001.jpg`.
    Dirname,
    /// The WordNet id that starts the file name, e.g. `n01440764_tench.JPEG`.
    ImagenetWnid,
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelFileArgs,
    #[command(flatten)]
    pre: PreprocessArgs,
    /// Where each image's true class comes from.
    #[arg(long, value_enum)]
    labels_from: LabelsFrom,
    /// Images per GPU batch.
    #[arg(long, default_value_t = 64, value_parser = crate::at_least_one)]
    batch: usize,
    /// How many of the worst classes to show.
    #[arg(long, default_value_t = 5)]
    worst: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// The folder of images (searched recursively).
    dir: PathBuf,
}

/// The true class of every file that has one, and the files skipped for want of one.
fn truths(
    files: &[PathBuf],
    from: LabelsFrom,
    labels: &Labels,
    classes: usize,
) -> Result<(HashMap<PathBuf, usize>, Vec<PathBuf>)> {
    let wnids = imagenet_wnid_index();
    if from == LabelsFrom::ImagenetWnid && classes != 1000 {
        return Err(Error::InvalidInput(format!(
            "--labels-from imagenet-wnid: expected a model with the 1000 ImageNet classes, found {classes} classes"
        )));
    }
    let mut known = HashMap::new();
    // Why files have no label, once per reason, with how many.
    let mut problems: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for f in files {
        let name = |p: &std::ffi::OsStr| p.to_string_lossy().into_owned();
        let label = match from {
            LabelsFrom::Dirname => {
                let folder = f.parent().and_then(|p| p.file_name()).map(name);
                match folder {
                    Some(folder) => labels.lookup(&folder).map_err(|e| e.to_string()),
                    None => Err("the file is not in a folder".to_string()),
                }
            }
            LabelsFrom::ImagenetWnid => {
                let file = f.file_name().map(name).unwrap_or_default();
                match leading_wnid(&file) {
                    Some(id) => wnids.get(id).copied().ok_or_else(|| {
                        format!("`{id}` is not one of the 1000 ImageNet WordNet ids")
                    }),
                    None => {
                        Err("the file name does not start with a WordNet id (n + 8 digits)".into())
                    }
                }
            }
        };
        match label {
            Ok(l) => {
                known.insert(f.clone(), l);
            }
            Err(why) => problems.entry(why).or_default().push(f.clone()),
        }
    }
    let mut skipped = Vec::new();
    for (why, fs) in problems {
        eprintln!(
            "skipped {} file(s) without a label, e.g. {}: {why}",
            fs.len(),
            fs[0].display()
        );
        skipped.extend(fs);
    }
    if known.is_empty() {
        return Err(Error::InvalidInput(format!(
            "no image could be given a true class with --labels-from {} (see the messages above)",
            from.to_possible_value()
                .map_or_else(|| format!("{from:?}"), |v| v.get_name().to_string())
        )));
    }
    Ok((known, skipped))
}

/// Counts per true class.
#[derive(Default)]
struct ClassStats {
    images: usize,
    correct: usize,
    /// Predicted class → count, for the wrong predictions.
    confused: BTreeMap<usize, usize>,
}

pub fn run(cli: &crate::Cli, a: &EvalArgs) -> Result<()> {
    let files = collect_images(std::slice::from_ref(&a.dir))?;
    let net = a.model.load()?;
    let classes = net.graph.num_classes();
    let labels = a.model.labels(classes)?;
    let (truth, unlabelled) = truths(&files, a.labels_from, &labels, classes)?;
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| truth.contains_key(f))
        .collect();
    let pre = a.pre.build(classes)?;
    let engine = crate::engine(cli)?;
    let (mut top1, mut top5) = (0usize, 0usize);
    let mut per_class: BTreeMap<usize, ClassStats> = BTreeMap::new();
    let stats = run_images(
        &engine,
        &net,
        &a.model,
        files,
        pre,
        a.batch,
        false,
        |b, logits| {
            for (path, row) in b.paths.iter().zip(logits.data.chunks(classes)) {
                let Some(&t) = truth.get(path) else { continue };
                let top = top_k(row, 5);
                let s = per_class.entry(t).or_default();
                s.images += 1;
                if top[0] == t {
                    top1 += 1;
                    s.correct += 1;
                } else {
                    *s.confused.entry(top[0]).or_default() += 1;
                }
                top5 += usize::from(top.contains(&t));
            }
            Ok(())
        },
    )?;
    let n = stats.images;
    if n == 0 {
        return Err(Error::InvalidInput(format!(
            "{}: none of the images could be evaluated (see the messages above)",
            a.dir.display()
        )));
    }
    let skipped = stats.skipped + unlabelled.len();
    let frac = |c: usize, of: usize| c as f64 / of.max(1) as f64;
    // Worst first; among equals, the larger class first, then by index.
    let mut worst: Vec<(&usize, &ClassStats)> = per_class.iter().collect();
    worst.sort_by(|x, y| {
        frac(x.1.correct, x.1.images)
            .total_cmp(&frac(y.1.correct, y.1.images))
            .then(y.1.images.cmp(&x.1.images))
            .then(x.0.cmp(y.0))
    });
    worst.truncate(a.worst);
    let confusions = |s: &ClassStats| {
        let mut c: Vec<(usize, usize)> = s.confused.iter().map(|(&p, &k)| (p, k)).collect();
        c.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        c.truncate(3);
        c
    };
    if a.json {
        let worst: Vec<_> = worst
            .iter()
            .map(|(&i, s)| {
                let conf: Vec<_> = confusions(s)
                    .iter()
                    .map(|&(p, k)| serde_json::json!({"index": p, "label": labels.name(p), "fraction": frac(k, s.images)}))
                    .collect();
                serde_json::json!({"index": i, "label": labels.name(i), "images": s.images,
                    "top1": frac(s.correct, s.images), "confused_with": conf})
            })
            .collect();
        let obj = serde_json::json!({
            "model": a.model.model.display().to_string(), "dir": a.dir.display().to_string(),
            "images": n, "skipped": skipped, "top1": frac(top1, n), "top5": frac(top5, n),
            "images_per_s": stats.images_per_s(), "seconds": stats.seconds, "worst_classes": worst,
        });
        println!("{obj}");
        return Ok(());
    }
    println!("images    {n} (skipped {skipped})");
    println!("top-1     {:.2} %", 100.0 * frac(top1, n));
    println!("top-5     {:.2} %", 100.0 * frac(top5, n));
    println!(
        "speed     {:.1} images/s ({n} images in {:.2} s, decoding included)",
        stats.images_per_s(),
        stats.seconds
    );
    println!("worst classes (top-1 of the class; what its images were taken for):");
    let width = worst
        .iter()
        .map(|(&i, _)| labels.name(i).len())
        .max()
        .unwrap_or(0);
    for (&i, s) in &worst {
        let conf: Vec<String> = confusions(s)
            .iter()
            .map(|&(p, k)| format!("{} {:.1} %", labels.name(p), 100.0 * frac(k, s.images)))
            .collect();
        println!(
            "  {:width$}  {:6.2} % of {:5}  → {}",
            labels.name(i),
            100.0 * frac(s.correct, s.images),
            s.images,
            if conf.is_empty() {
                "-".to_string()
            } else {
                conf.join(", ")
            }
        );
    }
    Ok(())
}
