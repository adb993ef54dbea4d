//! How big a call may be: what one image of a size needs (its largest binding and a
//! one-image workspace, planned once per size), the images per chunk under the adapter's
//! binding limit, the memory budget and `max_chunk`:
//!
//! ```text
//! fit   = min(binding_limit / worst_binding_per_image, budget / workspace_per_image, max_chunk)
//! chunk = ceil(n / ceil(n / fit))          (the chunks evened out)
//! ```
//!
//! and the memory report of a call.

use std::sync::PoisonError;

use super::{Model, MAX_SHAPES};
use crate::error::{Error, Result};
use crate::gpu::memory_plan::MemoryPlan;
use crate::gpu::options::MemoryReport;
use crate::gpu::schedule;

/// What one image of a given size needs: its largest binding (value and bytes) and the bytes
/// of a one-image workspace. Chunk sizes are derived from it without planning again.
#[derive(Clone, Copy)]
pub(super) struct PerImage {
    worst_value: usize,
    worst_bytes: u64,
    workspace: u64,
}

impl Model {
    /// Images per chunk for a call of `n` images of `h × w`: the most that fit the binding
    /// limit, the memory budget and [`ModelOptions::max_chunk`], evened out over the chunks.
    ///
    /// [`ModelOptions::max_chunk`]: crate::gpu::ModelOptions::max_chunk
    pub fn chunk_size(&self, n: usize, h: usize, w: usize) -> Result<usize> {
        if n == 0 {
            return Err(Error::InvalidInput(
                "batch: expected at least 1 image, found 0".into(),
            ));
        }
        let limit = self.ctx.limits.max_storage_buffer_binding_size;
        let one = self.per_image(h, w)?;
        let mut fit = (limit / one.worst_bytes.max(1)) as usize;
        if fit == 0 {
            return Err(self.too_large_error(one.worst_value, one.worst_bytes, limit, h, w));
        }
        if let Some(budget) = self.options.memory_budget {
            if budget < one.workspace {
                return Err(Error::InvalidInput(format!(
                    "{}: the workspace of one {h}x{w} image needs {} bytes; expected a memory \
                     budget of at least that, found {budget} bytes",
                    self.graph.name, one.workspace
                )));
            }
            // Workspaces grow linearly with the batch (scratch included).
            fit = fit.min((budget / one.workspace.max(1)) as usize);
        }
        if let Some(max) = self.options.max_chunk {
            fit = fit.min(max.max(1));
        }
        let chunks = n.div_ceil(fit.max(1));
        Ok(n.div_ceil(chunks))
    }

    /// [`PerImage`] of `h × w`, planned once per size (every call needs it).
    fn per_image(&self, h: usize, w: usize) -> Result<PerImage> {
        let cached = self
            .per_image
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(h, w))
            .copied();
        if let Some(p) = cached {
            return Ok(p);
        }
        let (one, workspace) = self.plan_for(1, h, w, u64::MAX)?;
        let (worst_value, worst_bytes) = (0..one.value_bytes.len())
            .map(|v| (v, one.value_bytes[v]))
            .max_by_key(|&(_, b)| b)
            .unwrap_or((0, 16));
        let p = PerImage {
            worst_value,
            worst_bytes,
            workspace,
        };
        let mut map = self
            .per_image
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if map.len() >= 4 * MAX_SHAPES {
            map.clear(); // a bound for callers with ever-new input sizes
        }
        map.insert((h, w), p);
        Ok(p)
    }

    /// The memory plan of (n, h, w) with bindings up to `limit`, and the bytes of one
    /// workspace of it.
    fn plan_for(&self, n: usize, h: usize, w: usize, limit: u64) -> Result<(MemoryPlan, u64)> {
        let act = self.options.precision.bytes();
        let mem = MemoryPlan::new(&self.exec, n, h, w, act, limit)?;
        let variants = self.variants(&mem);
        let scratch: u64 = schedule::scratch_bytes(&self.exec, &mem, &variants)
            .iter()
            .sum();
        let bytes = mem.workspace_bytes(scratch);
        Ok((mem, bytes))
    }

    fn too_large_error(&self, value: usize, bytes: u64, limit: u64, h: usize, w: usize) -> Error {
        let what = match self.exec.nodes().find(|nd| nd.output == value) {
            Some(node) => format!("the activation of `{}`", node.name),
            None => "the input".to_string(),
        };
        let scale = (limit as f64 / bytes as f64).sqrt();
        let (fh, fw) = ((h as f64 * scale) as usize, (w as f64 * scale) as usize);
        Error::InvalidInput(format!(
            "{}: one {h}×{w} image needs {bytes} bytes for {what}, more than the adapter's \
             binding limit of {limit} bytes; inputs up to about {fh}×{fw} fit",
            self.graph.name
        ))
    }

    /// The device memory of a call of `n` images of `h × w`.
    pub fn memory(&self, n: usize, h: usize, w: usize) -> Result<MemoryReport> {
        let chunk = self.chunk_size(n, h, w)?;
        let limit = self.ctx.limits.max_storage_buffer_binding_size;
        let (mem, workspace) = self.plan_for(chunk, h, w, limit)?;
        Ok(MemoryReport {
            weights: self.weight_bytes,
            workspace,
            activations: mem.activation_bytes(),
            live_peak: mem.live_peak,
            activation_buffers: mem.capacity.len(),
            chunk,
            chunks: n.div_ceil(chunk),
        })
    }
}
