//! Everything that touches wgpu: the context, the kernels (one Rust file per WGSL file) and
//! the executor.

pub mod context;
pub mod executor;
pub mod kernels;
pub mod peak;
pub mod profile;
pub mod timer;

pub use context::{Engine, EngineOptions};
pub use executor::Model;
