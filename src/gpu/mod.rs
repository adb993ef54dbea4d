//! Everything that touches wgpu: the context, the kernels (one Rust file per WGSL file) and
//! the executor.

pub mod context;
pub mod executor;
pub mod kernels;
pub mod peak;
pub mod profile;
pub mod timer;
pub mod tune;

pub use context::{Engine, EngineOptions};
pub use executor::Model;
pub use kernels::conv::ConvVariant;
pub use kernels::Precision;
/// wgpu's feature flags, for checking [`Engine::features`].
pub use wgpu::Features as wgpu_features;
