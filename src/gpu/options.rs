//! GPU-side options of a [`super::Model`]: storage precision, kernel choices, and how much
//! device memory its calls may use; and the memory report a model gives for a shape.

use super::kernels::conv::ConvVariant;
use super::kernels::Precision;
use super::tune::Choices;

/// How a model runs on its device.
#[derive(Clone, Debug)]
pub struct ModelOptions {
    /// Storage precision of activations and conv weights (arithmetic is f32 either way).
    pub precision: Precision,
    /// Tuned conv variants by shape key ([`super::tune::load_choices`] reads the cache that
    /// `resnet tune` writes); shapes without an entry use the per-device heuristic.
    pub tuned: Choices,
    /// A variant forced on every conv that supports it (for tuning and tests).
    pub variant: Option<ConvVariant>,
    /// Workspaces (buffers for one call in flight) that may exist per (batch, height, width);
    /// more concurrent calls of that shape wait for one. At least 1.
    pub workspaces_per_shape: usize,
    /// Bytes that all workspaces together may take (`None`: no limit beyond the per-shape
    /// count), however many threads call at once: a workspace's bytes are reserved before it
    /// is made, and a call that would pass the budget waits, in turn with other such calls,
    /// until calls in flight give back enough room. A batch whose single workspace would not
    /// fit is split into chunks that do; a budget smaller than one image's workspace is an
    /// error when the model runs.
    pub memory_budget: Option<u64>,
    /// Images per chunk at most (`None`: as many as the adapter's binding limit and the
    /// budget allow). Larger batches are split, run and concatenated.
    pub max_chunk: Option<usize>,
    /// How long the driver may spend compiling the kernels the heuristic or the tune cache
    /// chooses (a forced `variant` is run as it is).
    pub compile: Compile,
}

/// How long a model may make the driver compile for speed: the heuristic's choice of kernels
/// weighs pipeline compile time against run time. Compiles happen once per model and shape
/// (when its first workspace is made), so a server or a long batch job pays them once and a
/// one-off run pays them every time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compile {
    /// The fastest kernels, however long they take to compile.
    #[default]
    Full,
    /// Leave out the kernels a CPU driver takes tens of seconds to compile where a lighter one
    /// is almost as fast (see [`super::kernels::conv::ConvVariant::compiles_slowly`]): for
    /// one-off runs of a few images. On lavapipe one resnet50 image then took 34 s instead of
    /// about 260 s with an empty shader cache and 1.8–1.9 s instead of 3.3–3.6 s with a warm one,
    /// and 100 images at batch 1 took as long either way (within 3 %).
    Quick,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            precision: Precision::F32,
            tuned: Choices::new(),
            variant: None,
            workspaces_per_shape: 3,
            memory_budget: None,
            max_chunk: None,
            compile: Compile::Full,
        }
    }
}

impl ModelOptions {
    /// The defaults with `precision`.
    pub fn precision(precision: Precision) -> Self {
        ModelOptions {
            precision,
            ..Default::default()
        }
    }

    /// The defaults with `precision` and the kernels `resnet tune` chose on `engine`'s
    /// adapter ([`super::tune::load_choices`]): what every `resnet` command and the server
    /// run. An error where the tune cache cannot be read.
    pub fn from_tune_cache(
        engine: &super::context::Engine,
        precision: Precision,
    ) -> crate::Result<Self> {
        Ok(ModelOptions {
            precision,
            tuned: super::tune::load_choices(engine)?,
            ..Default::default()
        })
    }
}

/// Device memory of a model for one (batch, height, width), in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryReport {
    /// Weights, biases and transformed weights (uploaded once, shared by every call).
    pub weights: u64,
    /// One workspace: input, activations, scratch and readback of one chunk.
    pub workspace: u64,
    /// The activation buffers of one workspace (the liveness plan's allocation).
    pub activations: u64,
    /// The most bytes of activations alive at the same time (a lower bound for any plan).
    pub live_peak: u64,
    /// Activation buffers of one workspace.
    pub activation_buffers: usize,
    /// Images per chunk, and chunks per call.
    pub chunk: usize,
    pub chunks: usize,
}
