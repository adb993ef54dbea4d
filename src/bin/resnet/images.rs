//! What `classify` and `eval` share: the model file, the preprocessing flags, the class names,
//! and the loop that decodes batches ahead (on a background thread) while the GPU runs the
//! current one, with a progress bar on a terminal.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use resnet_wgpu::gpu::Compile;
use resnet_wgpu::labels::Labels;
use resnet_wgpu::onnx::softmax_rows;
use resnet_wgpu::preprocess::{Batch, BatchReader, Preprocess};
use resnet_wgpu::{
    load_model_file, Architecture, BuildOptions, Engine, Error, LoadedModel, Model, ModelOptions,
    Result, Tensor,
};

/// `--model FILE [--arch A] [--labels FILE] [--precision P] [--compile C]`.
#[derive(Args)]
pub struct ModelFileArgs {
    /// Model file: .onnx, or .safetensors together with --arch.
    #[arg(long)]
    pub model: PathBuf,
    /// Architecture of a .safetensors model: simple, resnet18/34/50/101/152,
    /// resnext50_32x4d, resnext101_32x8d/64x4d, wide_resnet50_2/101_2, resnet20/32/44/56/110.
    #[arg(long)]
    pub arch: Option<Architecture>,
    /// Class names, one a line (default: ImageNet names for 1000 classes, CIFAR-10 names for 10,
    /// otherwise the indices).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Storage precision of activations and conv weights on the GPU (f16 needs SHADER_F16).
    #[arg(long, default_value = "f32")]
    pub precision: resnet_wgpu::gpu::Precision,
    /// Kernel compiling: `full` takes the fastest kernels however long the driver compiles
    /// them, `quick` leaves out the few that CPU drivers take tens of seconds to compile (the
    /// first time; a few percent slower per image), `auto` is quick below 256 images.
    #[arg(long, value_enum, default_value_t = CompileArg::Auto)]
    pub compile: CompileArg,
}

/// `--compile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CompileArg {
    Auto,
    Quick,
    Full,
}

/// Below this many images `--compile auto` compiles quickly: on lavapipe resnet50's slow
/// kernels cost 1.5–1.7 s to load with a warm shader cache (almost 4 minutes with an empty one)
/// and saved no measurable time over 100 images at batch 1.
const QUICK_BELOW: usize = 256;

impl CompileArg {
    /// The model option for a run over `images` images.
    pub fn resolve(self, images: usize) -> Compile {
        match self {
            CompileArg::Quick => Compile::Quick,
            CompileArg::Full => Compile::Full,
            CompileArg::Auto if images < QUICK_BELOW => Compile::Quick,
            CompileArg::Auto => Compile::Full,
        }
    }
}

impl ModelFileArgs {
    /// Loads the `.onnx` or `.safetensors` (with `--arch`) model.
    pub fn load(&self) -> Result<LoadedModel> {
        load_model_file(&self.model, self.arch, BuildOptions::default())
    }

    pub fn labels(&self, classes: usize) -> Result<Labels> {
        match &self.labels {
            Some(p) => Labels::from_file(p, classes),
            None => Ok(Labels::for_classes(classes)),
        }
    }
}

/// `--preset P` and the custom settings that override it.
#[derive(Args)]
pub struct PreprocessArgs {
    /// imagenet (torchvision), caffe (Keras ResNet-50), cifar. Default: cifar for a 10-class
    /// model, otherwise imagenet.
    #[arg(long)]
    pub preset: Option<String>,
    /// Resize the short side to this many pixels (Pillow bilinear).
    #[arg(long)]
    pub resize: Option<u32>,
    /// Center crop to this square size.
    #[arg(long)]
    pub crop: Option<u32>,
    /// Per output channel mean, a,b,c (subtracted after scaling).
    #[arg(long, value_parser = parse_triple)]
    pub mean: Option<[f32; 3]>,
    /// Per output channel std, a,b,c.
    #[arg(long, value_parser = parse_triple)]
    pub std: Option<[f32; 3]>,
    /// Feed channels as B, G, R.
    #[arg(long)]
    pub bgr: bool,
    /// Divide pixel values by 255 or by 1.
    #[arg(long)]
    pub scale: Option<f32>,
}

fn parse_triple(s: &str) -> std::result::Result<[f32; 3], String> {
    let v: Vec<f32> = s
        .split(',')
        .map(|x| x.trim().parse::<f32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| format!("`{s}`: expected three numbers a,b,c ({e})"))?;
    <[f32; 3]>::try_from(v.as_slice())
        .map_err(|_| format!("`{s}`: expected three numbers a,b,c, found {}", v.len()))
}

impl PreprocessArgs {
    pub fn build(&self, classes: usize) -> Result<Preprocess> {
        let default = if classes == 10 { "cifar" } else { "imagenet" };
        let mut p = Preprocess::preset(self.preset.as_deref().unwrap_or(default))?;
        if let Some(r) = self.resize {
            p.resize = Some(r);
        }
        if let Some(c) = self.crop {
            p.crop = Some(c);
        }
        if let Some(m) = self.mean {
            p.mean = m;
        }
        if let Some(s) = self.std {
            p.std = s;
        }
        if self.bgr {
            p.bgr = true;
        }
        if let Some(s) = self.scale {
            p.scale = s;
        }
        p.validate()?;
        Ok(p)
    }
}

/// Images used, files skipped and the time taken by [`run_images`].
pub struct RunStats {
    pub images: usize,
    pub skipped: usize,
    pub seconds: f64,
}

impl RunStats {
    pub fn images_per_s(&self) -> f64 {
        self.images as f64 / self.seconds.max(1e-9)
    }
}

/// Batches submitted to the GPU ahead of the one being read back.
const IN_FLIGHT: usize = 3;

/// Decoding threads: the cores less one for the thread that drives the GPU, at least two.
fn decode_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(2)
}

/// Runs the network over `paths` in batches, calling `each(batch, probabilities_or_logits)`;
/// a file that does not decode is reported on stderr and counted. `softmax` turns logits into
/// probabilities first.
#[allow(clippy::too_many_arguments)]
pub fn run_images(
    engine: &Engine,
    net: &LoadedModel,
    args: &ModelFileArgs,
    paths: Vec<PathBuf>,
    pre: Preprocess,
    batch: usize,
    softmax: bool,
    mut each: impl FnMut(&Batch, &Tensor) -> Result<()>,
) -> Result<RunStats> {
    let total = paths.len();
    let options = ModelOptions {
        compile: args.compile.resolve(total),
        ..ModelOptions::from_tune_cache(engine, args.precision)?
    };
    let model = Model::with_options(engine, net.graph.clone(), options)?;
    let classes = net.graph.num_classes();
    let bar = progress_bar(total);
    let start = Instant::now();
    let mut stats = RunStats {
        images: 0,
        skipped: 0,
        seconds: 0.0,
    };
    // Up to IN_FLIGHT batches on the GPU while the next ones decode; a batch with no image
    // left (every file skipped) makes no GPU call.
    let unused = std::cell::Cell::new(0usize);
    let batches = BatchReader::new(paths, pre, batch, decode_threads()).filter(|b| {
        if b.paths.is_empty() {
            for (_, e) in &b.skipped {
                bar.suspend(|| eprintln!("skipped: {e}"));
            }
            unused.set(unused.get() + b.skipped.len());
            bar.inc(b.skipped.len() as u64);
        }
        !b.paths.is_empty()
    });
    // Ends with the first batch's result, which waits for the kernels' compile.
    let mut slow_start = Some(crate::first_run::SlowStart::watch(engine, {
        let bar = bar.clone();
        move || bar.suspend(crate::first_run::print_note)
    }));
    for (b, out) in model.infer_stream(batches, IN_FLIGHT) {
        slow_start.take();
        for (_, e) in &b.skipped {
            bar.suspend(|| eprintln!("skipped: {e}"));
        }
        stats.skipped += b.skipped.len();
        let mut out = out.map_err(|e| with_files(e, &b))?;
        if softmax {
            out.data = softmax_rows(&out.data, classes);
        }
        bar.suspend(|| each(&b, &out))?;
        stats.images += b.paths.len();
        bar.inc((b.paths.len() + b.skipped.len()) as u64);
    }
    stats.skipped += unused.get();
    stats.seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok(stats)
}

fn with_files(e: Error, b: &Batch) -> Error {
    let first = b.paths.first().map(|p| p.display().to_string());
    Error::InvalidInput(format!(
        "running the batch that starts with {} ({} images of {:?}): {e}",
        first.unwrap_or_default(),
        b.paths.len(),
        &b.tensor.shape[1..]
    ))
}

/// A bar with images/s on a terminal when there are enough images to wait for.
fn progress_bar(total: usize) -> ProgressBar {
    if total < 64 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    let style = ProgressStyle::with_template("{bar:40} {pos}/{len} images  {rate}  eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} images/s", state.per_sec());
            },
        );
    bar.set_style(style);
    bar
}

/// Indices of the `k` largest values, largest first (the lower index first on ties).
pub fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}
