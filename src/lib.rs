//! # resnet-wgpu
//!
//! ResNet image classifiers on any GPU through wgpu (Vulkan, Metal, DX12), with hand-written
//! WGSL compute shaders, and a CPU reference that runs the same graph.
//!
//! ```no_run
//! use resnet_wgpu::{Architecture, BuildOptions, CpuModel, Engine, Model, ModelOptions, Tensor, Weights};
//!
//! # fn main() -> resnet_wgpu::Result<()> {
//! let engine = Engine::new()?;
//! let arch = Architecture::parse("resnet18")?;
//! let weights: Weights = "random:1".parse()?;
//! let model = Model::load(&engine, arch, &weights, BuildOptions::default(), ModelOptions::default())?;
//! let input = Tensor::new(vec![1, 3, 224, 224], vec![0.5; 3 * 224 * 224]);
//! let logits = model.infer(&input)?; // [1, 1000]
//! let reference = CpuModel::load(arch, &weights, BuildOptions::default())?.infer(&input)?;
//! assert_eq!(logits.shape, reference.shape);
//! # Ok(()) }
//! ```

pub mod bench;
pub mod compare;
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

pub use compare::{argmax, compare, Comparison};
pub use cpu::CpuModel;
pub use error::{Error, Result};
pub use gpu::{
    Compile, Engine, EngineOptions, MemoryReport, Model, ModelOptions, Pending, Precision,
};
pub use loader::{load_graph, load_model_file, LoadedModel, Weights};
pub use model::{Architecture, BuildOptions, Graph};
pub use weights::Tensor;

impl Model {
    /// Loads `arch` with `weights` onto the engine's device.
    pub fn load(
        engine: &Engine,
        arch: Architecture,
        weights: &Weights,
        build: BuildOptions,
        options: ModelOptions,
    ) -> Result<Self> {
        Model::with_options(engine, load_graph(arch, weights, build)?, options)
    }
}

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
