//! # resnet-wgpu
//!
//! ResNet image classifiers on any GPU through wgpu (Vulkan, Metal, DX12), with hand-written
//! WGSL compute shaders, and a CPU reference that runs the same graph.
//!
//! ```no_run
//! use resnet_wgpu::{Architecture, BuildOptions, CpuModel, Engine, Model, Tensor, Weights};
//!
//! # fn main() -> resnet_wgpu::Result<()> {
//! let engine = Engine::new()?;
//! let arch = Architecture::parse("resnet18")?;
//! let weights: Weights = "random:1".parse()?;
//! let model = Model::load(&engine, arch, &weights, BuildOptions::default())?;
//! let input = Tensor::new(vec![1, 3, 224, 224], vec![0.5; 3 * 224 * 224]);
//! let logits = model.infer(&input)?; // [1, 1000]
//! let reference = CpuModel::load(arch, &weights, BuildOptions::default())?.infer(&input)?;
//! assert_eq!(logits.shape, reference.shape);
//! # Ok(()) }
//! ```

pub mod bench;
pub mod cpu;
pub mod error;
pub mod gpu;
pub mod labels;
pub mod loader;
pub mod model;
pub mod onnx;
pub mod preprocess;
pub mod serve;
pub mod weights;

use std::path::PathBuf;

pub use error::{Error, Result};
pub use gpu::{Engine, EngineOptions, Model};
pub use loader::{load_model_file, LoadedModel};
pub use model::{Architecture, BuildOptions, Graph};
pub use weights::Tensor;

/// Where a model's weights come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    /// A safetensors file with torchvision/timm (or CIFAR) key names.
    File(PathBuf),
    /// Seeded random weights, scaled to keep logits of order one.
    Random(u64),
}

impl std::str::FromStr for Weights {
    type Err = Error;
    /// `random:SEED` or a path.
    fn from_str(s: &str) -> Result<Self> {
        match s.strip_prefix("random:") {
            Some(seed) => seed.parse().map(Weights::Random).map_err(|_| {
                Error::InvalidInput(format!(
                    "weights `{s}`: expected random:SEED with an integer SEED"
                ))
            }),
            None => Ok(Weights::File(PathBuf::from(s))),
        }
    }
}

/// Builds the graph of `arch` from `weights` (BN folded unless `opts.unfused`).
pub fn load_graph(arch: Architecture, weights: &Weights, opts: BuildOptions) -> Result<Graph> {
    match weights {
        Weights::File(path) => {
            let tensors = weights::load_safetensors(path)?;
            model::build_graph(arch, &mut weights::FileSource::new(tensors), opts)
        }
        Weights::Random(seed) => {
            model::build_graph(arch, &mut weights::RandomSource::new(*seed), opts)
        }
    }
}

impl Model {
    /// Loads `arch` with `weights` onto the engine's device.
    pub fn load(
        engine: &Engine,
        arch: Architecture,
        weights: &Weights,
        opts: BuildOptions,
    ) -> Result<Self> {
        Model::with_precision(engine, load_graph(arch, weights, opts)?, opts.precision)
    }
}

/// The CPU reference counterpart of [`Model`]: the same graph, run by [`cpu::run`].
pub struct CpuModel {
    graph: Graph,
}

impl CpuModel {
    pub fn new(graph: Graph) -> Self {
        CpuModel { graph }
    }

    pub fn load(arch: Architecture, weights: &Weights, opts: BuildOptions) -> Result<Self> {
        Ok(CpuModel::new(load_graph(arch, weights, opts)?))
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Runs the reference on an NCHW tensor; returns logits `[N, classes]`.
    pub fn infer(&self, input: &Tensor) -> Result<Tensor> {
        let (n, h, w) = gpu::executor::check_input(&self.graph, input)?;
        let data = cpu::run(&self.graph, &input.data, n, h, w)?;
        Ok(Tensor::new(
            gpu::executor::output_shape(&self.graph, n, h, w)?,
            data,
        ))
    }
}

/// How two sets of logits `[N, classes]` differ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// max |a − b|
    pub max_abs_err: f64,
    /// max |b|
    pub max_abs_ref: f64,
    /// max |a − b| / max |b|
    pub max_rel_err: f64,
    /// Fraction of rows whose argmax agrees (0..1).
    pub top1_agreement: f64,
}

/// Index of the largest value (the first on ties).
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// Compares `got` against the reference `want` (same shape `[N, classes]`).
pub fn compare(got: &Tensor, want: &Tensor) -> Comparison {
    let classes = want.shape.last().copied().unwrap_or(1).max(1);
    let max_abs_err = got
        .data
        .iter()
        .zip(&want.data)
        .map(|(a, b)| (*a as f64 - *b as f64).abs())
        .fold(0.0, f64::max);
    let max_abs_ref = want.data.iter().map(|v| v.abs() as f64).fold(0.0, f64::max);
    let rows = want.data.len() / classes;
    let agree = got
        .data
        .chunks(classes)
        .zip(want.data.chunks(classes))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    Comparison {
        max_abs_err,
        max_abs_ref,
        max_rel_err: if max_abs_ref > 0.0 {
            max_abs_err / max_abs_ref
        } else {
            max_abs_err
        },
        top1_agreement: if rows > 0 {
            agree as f64 / rows as f64
        } else {
            0.0
        },
    }
}

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
