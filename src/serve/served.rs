//! One served model: loaded once, warmed up, shared by every connection through its
//! [`Batcher`]; turns protocol tensors into the network's NCHW input (checking name,
//! datatype, shape and size against the model) and its logits into the outputs asked for.

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::batcher::{Batcher, Job, ModelRunner};
use super::config::{ModelSettings, ModelSpec};
use super::error::ApiError;
use super::metrics::ModelMetrics;
use super::tensors::{self, Data, InferRequest, InputTensor, OutputTensor, IMAGE, INPUT, OUTPUTS};
use crate::gpu::ModelOptions;
use crate::labels::Labels;
use crate::preprocess::Preprocess;
use crate::{BuildOptions, Engine, Model, Tensor};

/// What a model takes and gives, as the metadata and config routes describe it.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    pub name: String,
    pub file: PathBuf,
    pub classes: usize,
    pub channels: usize,
    /// The only input size the model takes, if it takes only one.
    pub fixed_hw: Option<(usize, usize)>,
    pub settings: ModelSettings,
    /// The preset's name.
    pub preset: String,
}

impl ModelInfo {
    /// The NCHW input's shape with -1 for the batch and any size the model takes.
    pub fn input_shape(&self) -> Vec<i64> {
        let (h, w) = self
            .fixed_hw
            .map(|(h, w)| (h as i64, w as i64))
            .unwrap_or((-1, -1));
        vec![-1, self.channels as i64, h, w]
    }
}

/// A model ready to serve.
pub struct ServedModel {
    pub info: ModelInfo,
    pub metrics: Arc<ModelMetrics>,
    labels: Labels,
    preprocess: Preprocess,
    runner: Arc<ModelRunner>,
    batcher: Batcher,
}

/// The blocking part of loading: file, GPU upload, warm-up.
pub struct Loaded {
    info: ModelInfo,
    labels: Labels,
    preprocess: Preprocess,
    runner: ModelRunner,
}

/// Loads a model file onto the engine's GPU and warms it up at every batch size it will run.
pub fn load(engine: &Engine, spec: &ModelSpec) -> Result<Loaded, String> {
    let at = |e: &dyn std::fmt::Display| format!("model `{}`: {e}", spec.name);
    let loaded = crate::load_model_file(&spec.file, spec.arch, BuildOptions::default())
        .map_err(|e| at(&e))?;
    let graph = loaded.graph;
    let classes = graph.num_classes();
    let labels = match &spec.settings.labels {
        Some(path) => Labels::from_file(path, classes).map_err(|e| at(&e))?,
        None => Labels::for_classes(classes),
    };
    let preset = spec
        .settings
        .preset
        .clone()
        .unwrap_or_else(|| if classes == 10 { "cifar" } else { "imagenet" }.to_string());
    let preprocess = Preprocess::preset(&preset).map_err(|e| at(&e))?;
    // The kernels `resnet tune` chose on this adapter, as every other command runs them.
    let options =
        ModelOptions::from_tune_cache(engine, spec.settings.precision).map_err(|e| at(&e))?;
    let model = Model::with_options(engine, graph.clone(), options).map_err(|e| at(&e))?;
    let crop = preprocess.crop.unwrap_or(224) as usize;
    let (h, w) = graph
        .fixed_input
        .or(loaded.input_hw)
        .unwrap_or((crop, crop));
    // One inference per batch size the batcher runs: every buffer and pipeline is made.
    let c = graph.input_channels;
    let buckets = super::batcher::buckets(spec.settings.max_batch_size);
    let started = Instant::now();
    eprintln!("{}", warm_up_note(&spec.name, &buckets, (h, w), engine));
    for &n in &buckets {
        // Sizes first, then an allocation that fails as an error (a max_batch_size far too
        // large for the host or the device stops the start-up with its reason, not an abort).
        let warm_up = |e: &dyn std::fmt::Display| {
            at(&format!(
                "warm-up inference of batch {n} at {h}x{w}: {e}; expected a smaller max_batch_size"
            ))
        };
        model.chunk_size(n, h, w).map_err(|e| warm_up(&e))?;
        let warm = Tensor::try_from_fn(vec![n, c, h, w], || 0.0).map_err(|e| warm_up(&e))?;
        model
            .infer(&warm)
            .map_err(|e| at(&format!("warm-up inference of batch {n} at {h}x{w}: {e}")))?;
    }
    eprintln!(
        "model `{}`: warmed up in {:.1} s",
        spec.name,
        started.elapsed().as_secs_f64()
    );
    Ok(Loaded {
        info: ModelInfo {
            name: spec.name.clone(),
            file: spec.file.clone(),
            classes,
            channels: graph.input_channels,
            fixed_hw: graph.fixed_input,
            settings: spec.settings.clone(),
            preset,
        },
        labels,
        preprocess,
        runner: ModelRunner::new(model),
    })
}

/// What the server says on stderr before warming `name` up at the `buckets` batch sizes of
/// `h × w` images: the warm-up makes every pipeline, and a CPU driver such as lavapipe compiles
/// them with LLVM the first time on a machine, minutes for a large model, during which the
/// server answers live but not ready.
fn warm_up_note(name: &str, buckets: &[usize], (h, w): (usize, usize), engine: &Engine) -> String {
    let sizes: Vec<String> = buckets.iter().map(usize::to_string).collect();
    let mut note = format!(
        "model `{name}`: warming up at batch sizes {} of {h}x{w}",
        sizes.join(", ")
    );
    if engine.adapter_info().device_type == wgpu::DeviceType::Cpu {
        note.push_str(
            "; the first start on a machine with a CPU driver such as lavapipe compiles the \
             kernels for minutes (its shader cache keeps them for later starts)",
        );
    }
    note
}

impl ServedModel {
    /// Starts the model's batcher (on the current tokio runtime).
    pub fn start(loaded: Loaded) -> Self {
        let metrics = Arc::new(ModelMetrics::default());
        let runner = Arc::new(loaded.runner);
        let batcher = Batcher::start(
            &loaded.info.name,
            runner.clone(),
            &loaded.info.settings,
            metrics.clone(),
        );
        ServedModel {
            info: loaded.info,
            metrics,
            labels: loaded.labels,
            preprocess: loaded.preprocess,
            runner,
            batcher,
        }
    }

    /// The name of class `i`.
    pub fn label(&self, i: usize) -> String {
        self.labels.name(i)
    }

    /// Runs one request through the queue; records its success (failures are recorded by the
    /// caller, which also sees the errors that come before a model is found).
    pub async fn infer(self: &Arc<Self>, req: InferRequest) -> Result<Vec<OutputTensor>, ApiError> {
        let start = Instant::now();
        for o in &req.outputs {
            if !OUTPUTS.contains(&o.name.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "unknown output `{}`; expected one of: {}",
                    o.name,
                    OUTPUTS.join(", ")
                )));
            }
        }
        let input = match req.inputs.as_slice() {
            [one] if one.name == IMAGE => {
                let me = self.clone();
                let one = one.clone();
                tokio::task::spawn_blocking(move || me.images(&one))
                    .await
                    .map_err(|e| ApiError::internal(format!("image decoding stopped: {e}")))??
            }
            [one] => self.nchw(one)?,
            other => {
                return Err(ApiError::bad_request(format!(
                    "expected exactly one input (`{INPUT}` FP32 [N, {}, H, W] or `{IMAGE}` BYTES [N]), found {}: [{}]",
                    self.info.channels,
                    other.len(),
                    other.iter().map(|t| format!("`{}`", t.name)).collect::<Vec<_>>().join(", ")
                )))
            }
        };
        let n = input.shape[0];
        let (tx, rx) = oneshot::channel();
        self.batcher.submit(Job {
            input,
            enqueued: Instant::now(),
            reply: tx,
        })?;
        let out = rx.await.map_err(|_| {
            ApiError::internal("the batcher dropped the request (shutting down?)")
        })??;
        let outputs = tensors::outputs(&req, &out.logits.data, n, self.info.classes, &|i| {
            self.label(i)
        })?;
        self.metrics.succeed(
            start.elapsed().as_micros() as u64,
            out.queue_us,
            out.compute_us,
        );
        Ok(outputs)
    }

    fn check_batch(&self, what: &str, n: usize) -> Result<(), ApiError> {
        let max = self.info.settings.max_batch_size;
        if n == 0 || n > max {
            return Err(ApiError::bad_request(format!(
                "{what}: batch size {n} is out of range; this model takes 1 to {max} (max_batch_size)"
            )));
        }
        Ok(())
    }

    /// Images of `h × w` pass through the model and fit the device (an input too small, or
    /// too large for the device's buffers, is the request's fault, found before it queues).
    fn check_size(&self, what: &str, h: usize, w: usize) -> Result<(), ApiError> {
        self.runner
            .check_size(h, w)
            .map_err(|e| ApiError::bad_request(format!("{what}: {e}")))
    }

    /// The FP32 input as it is.
    fn nchw(&self, t: &InputTensor) -> Result<Tensor, ApiError> {
        let what = format!("input `{}`", t.name);
        if t.name != INPUT {
            return Err(ApiError::bad_request(format!(
                "unknown input `{}`; expected `{INPUT}` (FP32 [N, {}, H, W]) or `{IMAGE}` (BYTES [N])",
                t.name, self.info.channels
            )));
        }
        if t.datatype != "FP32" {
            return Err(ApiError::bad_request(format!(
                "{what}: wrong datatype: expected FP32, found {}",
                t.datatype
            )));
        }
        let c = self.info.channels as i64;
        let dims: Vec<usize> = match t.shape.as_slice() {
            [n, cc, h, w] if *cc == c && [*n, *h, *w].iter().all(|d| *d >= 1) => {
                t.shape.iter().map(|&d| d as usize).collect()
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{what}: wrong shape: expected [N, {c}, H, W] with N, H, W ≥ 1, found {:?}",
                    t.shape
                )))
            }
        };
        self.check_batch(&what, dims[0])?;
        let count = crate::weights::element_count(&dims);
        let Data::Fp32(values) = &t.data else {
            return Err(ApiError::bad_request(format!(
                "{what}: expected FP32 values, found BYTES"
            )));
        };
        if count != Some(values.len()) {
            return Err(ApiError::bad_request(format!(
                "{what}: shape {:?} needs {} values, found {}",
                t.shape,
                count
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "too many".into()),
                values.len()
            )));
        }
        if let Some(i) = crate::weights::first_non_finite(values) {
            return Err(ApiError::bad_request(format!(
                "{what}: expected finite values, found {} at index {i}",
                values[i]
            )));
        }
        self.check_size(&format!("{what} of shape {:?}", t.shape), dims[2], dims[3])?;
        Ok(Tensor::new(dims, values.clone()))
    }

    /// Decodes and preprocesses the image files of the BYTES input.
    fn images(&self, t: &InputTensor) -> Result<Tensor, ApiError> {
        let what = format!("input `{}`", t.name);
        if t.datatype != "BYTES" {
            return Err(ApiError::bad_request(format!(
                "{what}: wrong datatype: expected BYTES (encoded image files), found {}",
                t.datatype
            )));
        }
        if self.info.channels != 3 {
            return Err(ApiError::bad_request(format!(
                "{what}: this model takes {} input channels; decoded images have 3 (send `{INPUT}` instead)",
                self.info.channels
            )));
        }
        let Data::Bytes(files) = &t.data else {
            return Err(ApiError::bad_request(format!(
                "{what}: expected BYTES values, found FP32"
            )));
        };
        let n = match t.shape.as_slice() {
            [n] | [n, 1] if *n >= 0 => *n as usize,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{what}: wrong shape: expected [N] or [N, 1], found {:?}",
                    t.shape
                )))
            }
        };
        if n != files.len() {
            return Err(ApiError::bad_request(format!(
                "{what}: shape {:?} needs {n} elements, found {}",
                t.shape,
                files.len()
            )));
        }
        self.check_batch(&what, n)?;
        let mut data = Vec::new();
        let mut size = None;
        for (i, f) in files.iter().enumerate() {
            let name = format!("{what} element {i}");
            let (chw, h, w) = self
                .preprocess
                .load_bytes(f, &name)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            match size {
                None => size = Some((h, w)),
                Some(s) if s != (h, w) => {
                    return Err(ApiError::bad_request(format!(
                        "{name}: preprocessed to {h}x{w}, element 0 to {}x{}; images of one request must end up one size (use a preset with a crop)",
                        s.0, s.1
                    )))
                }
                Some(_) => {}
            }
            data.extend_from_slice(&chw);
        }
        let (h, w) = size.unwrap_or((0, 0));
        self.check_size(&what, h, w)?;
        Ok(Tensor::new(vec![n, 3, h, w], data))
    }

    /// Requests waiting in this model's queue.
    pub fn pending(&self) -> u64 {
        self.metrics.pending.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warm_up_note_names_the_sizes_and_on_cpu_drivers_the_compiles() {
        let engine = Engine::new().unwrap_or_else(|e| panic!("this test needs a GPU adapter: {e}"));
        let buckets = super::super::batcher::buckets(32);
        let note = warm_up_note("r50", &buckets, (224, 224), &engine);
        let sizes = "model `r50`: warming up at batch sizes 1, 2, 4, 8, 16, 32 of 224x224";
        assert!(note.starts_with(sizes), "{note}");
        let cpu = engine.adapter_info().device_type == wgpu::DeviceType::Cpu;
        assert_eq!(note.contains("compiles the kernels"), cpu, "{note}");
    }
}
