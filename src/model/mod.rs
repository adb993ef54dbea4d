//! Architectures and the graph IR. Pure CPU: nothing here touches wgpu.

mod arch;
pub mod ir;
pub mod passes;
mod validate;

pub use arch::{build_graph, oihw_to_hwio, Architecture, BuildOptions};
pub use ir::{Conv2d, Graph, Node, Op, Pool2d, Segment, Shape, ShortcutA, ValueId};
