//! Everything that touches wgpu: the context, the kernels (one Rust file per WGSL file) and
//! the executor (memory plan → schedule → workspaces → submit/wait).

mod backend_note;
pub mod context;
pub mod executor;
pub mod kernels;
mod memory_plan;
pub mod options;
pub mod peak;
mod pending;
pub mod profile;
mod schedule;
mod stream;
pub mod timer;
pub mod tune;
mod upload;
mod workspace;

pub use context::{Engine, EngineOptions};
pub use executor::Model;
pub use kernels::conv::ConvVariant;
pub use kernels::{Precision, SpreadStats};
pub use options::{Compile, MemoryReport, ModelOptions};
pub use pending::Pending;
pub use stream::InferStream;
/// wgpu's feature flags, for checking [`Engine::features`].
pub use wgpu::Features as wgpu_features;
