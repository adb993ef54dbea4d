//! The executor: a model's weights uploaded once; per (batch, height, width) an immutable
//! schedule shared by every call and a pool of workspaces, one owned by each call in
//! flight; one command buffer per segment (stem, each residual block, head), submitted in
//! growing groups as they are recorded on GPUs (`record`).
//!
//! A call ([`Model::submit`]) splits its batch into chunks that fit the adapter's binding
//! limit and the memory budget, and for each chunk takes a workspace (waiting, while polling
//! the device, when the shape's pool is full or the budget has no room: `lease`), writes the
//! input, records, submits and maps the readback with a callback that copies the logits out
//! and returns the workspace. [`Pending::wait`] then waits for that call's submissions only.
//! `Model` is `Send + Sync`: any number of threads may share one and get exactly the results
//! of serial calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::context::{Context, Engine};
use super::kernels::conv::ConvVariant;
use super::kernels::{conv, Pipelines, Precision};
use super::memory_plan::MemoryPlan;
use super::options::ModelOptions;
use super::pending::{copy_mapped, decode, Chunk, Pending, Slot};
use super::schedule::{self, Schedule};
use super::workspace::{Pool, Resident, Workspace};
use crate::error::{Error, Result};
use crate::model::Graph;
use crate::weights::Tensor;

mod lease;
mod record;
mod sizing;
use lease::BudgetQueue;
use sizing::PerImage;

/// A network on the GPU, ready to run at any batch size and input size it can take, from any
/// number of threads at once.
pub struct Model {
    ctx: Arc<Context>,
    /// The graph as built, without its weights (what [`Model::graph`] returns).
    graph: Graph,
    /// The graph as run, without weights: `graph` after GPU-side rewrites such as the stem's
    /// channel padding (same nodes in the same order, so node indices agree).
    exec: Graph,
    pipelines: Arc<Pipelines>,
    /// Weight buffers of every node, in graph order (empty for ops without weights).
    weights: Vec<Vec<wgpu::Buffer>>,
    weight_bytes: u64,
    /// Bound where a kernel's optional input is absent.
    dummy: wgpu::Buffer,
    shapes: Mutex<HashMap<(usize, usize, usize), Arc<Shaped>>>,
    /// Per input size (h, w): what one image needs, for chunking (see [`PerImage`]).
    per_image: Mutex<HashMap<(usize, usize), PerImage>>,
    /// Bytes of every workspace that exists or is being created: reserved before a workspace
    /// is made (never past the budget), given back when it is dropped.
    allocated: Arc<AtomicU64>,
    /// The calls waiting for room under the budget, served in turn (see `lease`).
    budget_queue: BudgetQueue,
    options: ModelOptions,
}

/// Shapes whose schedules are kept; past this, idle shapes are forgotten when a new one comes.
const MAX_SHAPES: usize = 16;

/// What one (batch, height, width) shares between calls.
pub(crate) struct Shaped {
    pub schedule: Schedule,
    pool: Arc<Pool>,
}

impl Model {
    /// Uploads a graph's weights with the default options.
    pub fn new(engine: &Engine, graph: Graph) -> Result<Self> {
        Self::with_options(engine, graph, ModelOptions::default())
    }

    /// Like [`Model::new`], storing activations and conv weights in `precision`.
    pub fn with_precision(engine: &Engine, graph: Graph, precision: Precision) -> Result<Self> {
        Self::with_options(engine, graph, ModelOptions::precision(precision))
    }

    /// A model whose convs all run as `variant` where it supports them (for tuning and tests).
    pub fn with_variant(engine: &Engine, graph: Graph, variant: ConvVariant) -> Result<Self> {
        let options = ModelOptions {
            variant: Some(variant),
            ..Default::default()
        };
        Self::with_options(engine, graph, options)
    }

    /// Uploads a graph's weights and creates its pipelines; the host copies of the weights are
    /// dropped once they are on the device. The graph is checked first ([`Graph::validate`]).
    pub fn with_options(engine: &Engine, graph: Graph, options: ModelOptions) -> Result<Self> {
        graph.validate()?;
        // Uploading to a lost device would fail inside wgpu's buffer mapping.
        engine.ctx.check_lost()?;
        let precision = options.precision;
        if precision == Precision::F16 && !engine.ctx.features.contains(wgpu::Features::SHADER_F16)
        {
            return Err(Error::Unsupported(format!(
                "f16 precision needs the SHADER_F16 feature, which adapter `{}` does not offer",
                engine.ctx.info.name
            )));
        }
        let mut exec = graph.clone();
        crate::model::passes::pad_input_channels(&mut exec);
        let ctx = engine.ctx.clone();
        let (weights, dummy) = ctx.scoped("uploading weights", || {
            super::upload::upload(&ctx, &exec, precision)
        })?;
        let weight_bytes = weights.iter().flatten().map(|b| b.size()).sum();
        Ok(Model {
            pipelines: ctx.pipelines(precision),
            ctx,
            graph: graph.without_weights(),
            exec: exec.without_weights(),
            weights,
            weight_bytes,
            dummy,
            shapes: Mutex::new(HashMap::new()),
            per_image: Mutex::new(HashMap::new()),
            allocated: Arc::new(AtomicU64::new(0)),
            budget_queue: BudgetQueue::default(),
            options,
        })
    }

    /// Runs every conv as `variant` where it supports the conv (schedules built earlier are
    /// dropped).
    pub fn force_variant(&mut self, variant: ConvVariant) {
        self.options.variant = Some(variant);
        self.shapes
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.per_image
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The options the model was made with.
    pub fn options(&self) -> &ModelOptions {
        &self.options
    }

    /// The device's capabilities as this model's precision sees them.
    fn caps(&self) -> conv::DeviceCaps {
        self.ctx.caps.for_precision(self.options.precision)
    }

    /// The conv variant for `conv` with an input of `batch × h × w`: forced, else tuned, else
    /// the heuristic.
    pub(crate) fn variant(
        &self,
        conv: &crate::model::Conv2d,
        batch: usize,
        h: usize,
        w: usize,
    ) -> ConvVariant {
        let caps = self.caps();
        let compile = caps.for_compile(self.options.compile);
        // A tuned choice, like the heuristic's, leaves out the slow compiles where the model
        // asks for quick ones (a forced variant does not).
        let tuned = || {
            let key = super::tune::shape_key(conv, batch, h, w, self.options.precision);
            self.options.tuned.get(&key).copied().filter(|v| {
                v.runs_on(conv, caps) && (compile.slow_compiles || !v.compiles_slowly())
            })
        };
        match self
            .options
            .variant
            .filter(|v| v.runs_on(conv, caps))
            .or_else(tuned)
        {
            Some(v) => v,
            None => {
                let (oh, ow) = conv.out_hw(h, w).unwrap_or((0, 0));
                conv::choose(conv, batch, (oh, ow), compile)
            }
        }
    }

    /// The variant each conv node runs with for `batch` inputs of `h × w`, by node name.
    pub fn conv_variants(
        &self,
        batch: usize,
        h: usize,
        w: usize,
    ) -> Result<Vec<(String, ConvVariant)>> {
        let limit = self.ctx.limits.max_storage_buffer_binding_size;
        let act = self.options.precision.bytes();
        let mem = MemoryPlan::new(&self.exec, batch, h, w, act, limit)?;
        Ok(self
            .exec
            .nodes()
            .zip(self.variants(&mem))
            .filter_map(|(node, v)| Some((node.name.clone(), v?)))
            .collect())
    }

    /// The graph this model runs (its structure; the weights live on the device only).
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Workspaces that exist now, over every shape (each is reused by later calls).
    pub fn workspace_count(&self) -> usize {
        self.lock_shapes().values().map(|s| s.pool.counts().0).sum()
    }

    /// Bytes of the workspaces that exist now, over every shape, and of those being made (at
    /// most [`ModelOptions::memory_budget`] where one is set, but for a workspace alone). A
    /// workspace of a call in flight counts until the call is done, also after
    /// [`Model::force_variant`] (when [`Model::workspace_count`] no longer sees it).
    pub fn workspace_bytes(&self) -> u64 {
        self.allocated.load(Ordering::Relaxed)
    }

    /// Bytes of the weights on the device.
    pub fn weight_bytes(&self) -> u64 {
        self.weight_bytes
    }

    /// Runs the network on an NCHW f32 tensor `[N, C, H, W]`; returns logits `[N, classes]`.
    pub fn infer(&self, input: &Tensor) -> Result<Tensor> {
        self.submit(input)?.wait()
    }

    /// Uploads the input and submits the work of one call, returning at once (unless every
    /// workspace of this shape is in use, or the batch needs more chunks than run at once).
    pub fn submit(&self, input: &Tensor) -> Result<Pending> {
        let (n, h, w) = self.graph.check_input(input)?;
        self.ctx.check_lost()?;
        let chunk = self.chunk_size(n, h, w)?;
        let per_image = input.data.len() / n;
        let mut chunks = Vec::with_capacity(n.div_ceil(chunk));
        for start in (0..n).step_by(chunk) {
            let m = chunk.min(n - start);
            let shaped = self.shaped(m, h, w)?;
            let data = &input.data[start * per_image..(start + m) * per_image];
            chunks.push(self.submit_chunk(&shaped, data)?);
        }
        Ok(Pending {
            ctx: self.ctx.clone(),
            shape: self.graph.output_shape(n, h, w)?,
            chunks,
        })
    }

    fn variants(&self, mem: &MemoryPlan) -> Vec<Option<ConvVariant>> {
        let limit = self.ctx.limits.max_storage_buffer_binding_size;
        schedule::choose_variants(
            &self.exec,
            mem,
            limit,
            |i| self.weights[i].len(),
            |c, h, w| self.variant(c, mem.batch, h, w),
        )
    }

    /// The schedule and pool of (batch, height, width), built on first use.
    pub(crate) fn shaped(&self, n: usize, h: usize, w: usize) -> Result<Arc<Shaped>> {
        let key = (n, h, w);
        if let Some(s) = self.lock_shapes().get(&key) {
            return Ok(s.clone());
        }
        let limit = self.ctx.limits.max_storage_buffer_binding_size;
        let act = self.options.precision.bytes();
        let built = self.ctx.scoped("planning", || {
            let mem = MemoryPlan::new(&self.exec, n, h, w, act, limit)?;
            let variants = self.variants(&mem);
            Ok(schedule::build(
                &self.ctx.device,
                &self.exec,
                mem,
                &variants,
                self.caps().u64_pairs,
            ))
        })?;
        let shaped = Arc::new(Shaped {
            schedule: built,
            pool: Arc::new(Pool::new(self.options.workspaces_per_shape)),
        });
        let mut shapes = self.lock_shapes();
        if shapes.len() >= MAX_SHAPES {
            // Forget the shapes no call is using; a call in flight keeps its own pool alive.
            let idle: Vec<_> = shapes
                .iter()
                .filter(|(_, s)| {
                    let (created, free) = s.pool.counts();
                    created == free && Arc::strong_count(s) == 1
                })
                .map(|(k, _)| *k)
                .collect();
            for k in idle {
                if let Some(s) = shapes.remove(&k) {
                    s.pool.shrink();
                }
            }
        }
        Ok(shapes.entry(key).or_insert(shaped).clone())
    }

    fn lock_shapes(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(usize, usize, usize), Arc<Shaped>>> {
        self.shapes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn resident(&self) -> Resident<'_> {
        Resident {
            weights: &self.weights,
            dummy: &self.dummy,
            pipelines: &self.pipelines,
        }
    }

    fn submit_chunk(&self, shaped: &Arc<Shaped>, data: &[f32]) -> Result<Chunk> {
        let ws = self.lease(shaped)?;
        let submitted = self.ctx.scoped("running inference", || {
            Ok(self.submit_recorded(&shaped.schedule, &ws, data))
        });
        let submission = match submitted {
            Ok(s) => s,
            Err(e) => {
                // The workspace may be in an unknown state: let it go (its bytes with it).
                drop(ws);
                shaped.pool.forget();
                return Err(e);
            }
        };
        let ticket = shaped.pool.submitted(submission.clone());
        let slot = Arc::new(Slot::default());
        let (sink, pool) = (slot.clone(), shaped.pool.clone());
        let bytes = shaped.schedule.memory.output_bytes();
        let f16 = shaped.schedule.memory.output_f16;
        let readback = ws.readback.clone();
        readback
            .clone()
            .slice(..bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let out = match r {
                    Ok(()) => copy_mapped(&readback, bytes, "reading back the logits")
                        .map(|b| decode(&b, f16)),
                    Err(e) => Err(Error::Gpu {
                        during: "reading back the logits".into(),
                        message: e.to_string(),
                    }),
                };
                pool.put_submitted(ws, ticket);
                // The pool goes before the result is seen: where the model has forgotten the
                // shape, that drops the workspace (and its bytes) before `wait` returns.
                drop(pool);
                sink.set(out);
            });
        Ok(Chunk { slot, submission })
    }

    /// Runs `f` with the schedule of (n, h, w) and a workspace leased for the duration.
    pub(crate) fn with_workspace<T>(
        &self,
        n: usize,
        h: usize,
        w: usize,
        f: impl FnOnce(&Schedule, &Workspace) -> Result<T>,
    ) -> Result<T> {
        let shaped = self.shaped(n, h, w)?;
        let leased = lease::PutBack {
            pool: &shaped.pool,
            ws: Some(self.lease(&shaped)?),
        };
        f(&shaped.schedule, leased.ws.as_ref().expect("leased"))
    }

    /// The engine context.
    pub(crate) fn ctx(&self) -> &Arc<Context> {
        &self.ctx
    }
}
