//! [`CpuModel`]: the CPU reference behind the same interface as the GPU model.

use crate::error::Result;
use crate::loader::{load_graph, Weights};
use crate::model::{Architecture, BuildOptions, Graph};
use crate::weights::Tensor;

/// The CPU reference counterpart of [`crate::Model`]: the same graph, run by [`super::run`].
pub struct CpuModel {
    graph: Graph,
}

impl CpuModel {
    /// The reference for `graph`, once [`Graph::validate`] accepts it.
    pub fn new(graph: Graph) -> Result<Self> {
        graph.validate()?;
        Ok(CpuModel { graph })
    }

    pub fn load(arch: Architecture, weights: &Weights, opts: BuildOptions) -> Result<Self> {
        CpuModel::new(load_graph(arch, weights, opts)?)
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Runs the reference on an NCHW tensor; returns logits `[N, classes]`.
    pub fn infer(&self, input: &Tensor) -> Result<Tensor> {
        let (n, h, w) = self.graph.check_input(input)?;
        let data = super::run(&self.graph, &input.data, n, h, w)?;
        Ok(Tensor::new(self.graph.output_shape(n, h, w)?, data))
    }
}
