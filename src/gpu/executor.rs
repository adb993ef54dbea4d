//! The executor: a model's weights uploaded once, and per (batch, height, width) a plan with
//! activation buffers assigned by liveness, every bind group created up front, and one command
//! buffer per segment (stem, each residual block, head). An inference writes the input,
//! submits the recorded work and reads back only the logits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use super::context::{Context, Engine};
use super::kernels::conv::ConvVariant;
use super::kernels::{conv, eltwise, layout, linear, pool, winograd, Kernel, Pipelines, Precision};
use crate::error::{Error, Result};
use crate::model::{Graph, Op, Shape};
use crate::weights::Tensor;

/// A network on the GPU, ready to run at any batch size and input size it can take.
pub struct Model {
    ctx: Arc<Context>,
    /// The graph as built (what [`Model::graph`] returns and FLOPs are counted on).
    graph: Graph,
    /// The graph as run: `graph` after GPU-side rewrites such as the stem's channel padding
    /// (same nodes in the same order, so node indices agree).
    exec: Graph,
    pipelines: Arc<Pipelines>,
    /// Weight buffers of every node, in graph order (empty for ops without weights).
    weights: Vec<Vec<wgpu::Buffer>>,
    /// Bound where a kernel's optional input is absent.
    dummy: wgpu::Buffer,
    plans: Mutex<HashMap<(usize, usize, usize), Arc<Plan>>>,
    /// Tuned conv variants of this adapter, by shape key (see [`super::tune`]).
    tuned: super::tune::Choices,
    /// A variant forced on every conv that it supports.
    forced: Option<ConvVariant>,
    precision: Precision,
}

/// One recorded kernel launch.
pub(crate) struct Dispatch {
    /// Index of the node in [`Graph::nodes`] order.
    pub node: usize,
    pub kernel: Kernel,
    pub bind_group: wgpu::BindGroup,
    pub grid: [u32; 3],
}

/// Buffers and bind groups for one (batch, height, width).
pub(crate) struct Plan {
    input: wgpu::Buffer,
    readback: wgpu::Buffer,
    output: usize,
    output_bytes: u64,
    /// Whether the output is stored as f16 (a graph that does not end in the classifier).
    output_f16: bool,
    buffers: Vec<wgpu::Buffer>,
    pub segments: Vec<Vec<Dispatch>>,
    /// Per-image shape of every value.
    pub shapes: Vec<Shape>,
    pub batch: usize,
    _params: Vec<wgpu::Buffer>,
    _scratch: [wgpu::Buffer; 2],
}

impl Model {
    /// Uploads a graph's weights and creates its pipelines.
    pub fn new(engine: &Engine, graph: Graph) -> Result<Self> {
        Self::with_precision(engine, graph, Precision::F32)
    }

    /// Like [`Model::new`], storing activations and conv weights in `precision`.
    pub fn with_precision(engine: &Engine, mut graph: Graph, precision: Precision) -> Result<Self> {
        if precision == Precision::F16 && !engine.ctx.features.contains(wgpu::Features::SHADER_F16)
        {
            return Err(Error::Unsupported(format!(
                "f16 precision needs the SHADER_F16 feature, which adapter `{}` does not offer",
                engine.ctx.info.name
            )));
        }
        let original = graph.clone();
        crate::model::passes::pad_input_channels(&mut graph);
        let ctx = engine.ctx.clone();
        let limit = ctx.limits.max_storage_buffer_binding_size;
        ctx.scoped("uploading weights", || {
            let pipelines = ctx.pipelines(precision);
            let device = &ctx.device;
            let upload_bytes = |label: &str, mut bytes: Vec<u8>| -> Result<wgpu::Buffer> {
                let len = bytes.len().max(16).div_ceil(16) * 16;
                if len as u64 > limit {
                    return Err(Error::TooLarge {
                        what: label.to_string(),
                        needed: len as u64,
                        limit,
                    });
                }
                bytes.resize(len, 0);
                Ok(
                    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some(label),
                        contents: &bytes,
                        usage: wgpu::BufferUsages::STORAGE,
                    }),
                )
            };
            let upload = |label: &str, data: &[f32]| {
                upload_bytes(label, bytemuck::cast_slice(data).to_vec())
            };
            // Conv weights in the storage precision.
            let upload_w = |label: &str, data: &[f32]| match precision {
                Precision::F32 => upload(label, data),
                Precision::F16 => upload_bytes(
                    label,
                    data.iter()
                        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                        .collect(),
                ),
            };
            let mut weights = Vec::new();
            for node in graph.nodes() {
                let bufs = match &node.op {
                    Op::Conv {
                        conv, weight, bias, ..
                    } => {
                        let (w, b) = conv::pack(conv, weight, bias);
                        let mut bufs = vec![upload_w(&node.name, &w)?, upload(&node.name, &b)?];
                        if winograd::eligible(conv) {
                            let u = winograd::transform_weights(conv, weight);
                            bufs.push(upload_w(&node.name, &u)?);
                        }
                        bufs
                    }
                    Op::Affine { scale, shift, .. } => {
                        vec![upload(&node.name, scale)?, upload(&node.name, shift)?]
                    }
                    Op::Linear { weight, bias, .. } => {
                        vec![upload(&node.name, weight)?, upload(&node.name, bias)?]
                    }
                    _ => Vec::new(),
                };
                weights.push(bufs);
            }
            let dummy = upload("unused input", &[0.0; 4])?;
            Ok(Model {
                ctx: ctx.clone(),
                graph: original,
                exec: graph,
                pipelines,
                weights,
                dummy,
                plans: Mutex::new(HashMap::new()),
                tuned: super::tune::load_choices(engine),
                forced: None,
                precision,
            })
        })
    }

    /// A model whose convs all run as `variant` where it supports them (for tuning and tests).
    pub fn with_variant(engine: &Engine, graph: Graph, variant: ConvVariant) -> Result<Self> {
        let mut m = Model::new(engine, graph)?;
        m.force_variant(variant);
        Ok(m)
    }

    /// Runs every conv as `variant` where it supports the conv (plans built earlier are dropped).
    pub fn force_variant(&mut self, variant: ConvVariant) {
        self.forced = Some(variant);
        if let Ok(plans) = self.plans.get_mut() {
            plans.clear();
        }
    }

    /// The conv variant for `conv` with an input of `batch × h × w`: forced, else tuned (cached
    /// for this adapter), else the heuristic.
    pub(crate) fn variant(
        &self,
        conv: &crate::model::Conv2d,
        batch: usize,
        h: usize,
        w: usize,
    ) -> ConvVariant {
        let tuned = || {
            self.tuned
                .get(&super::tune::shape_key(conv, batch, h, w))
                .copied()
        };
        match self.forced.or_else(tuned) {
            Some(v) if v.runs_on(conv, self.ctx.caps) => v,
            _ => {
                let pixels = conv.out_hw(h, w).map_or(0, |(oh, ow)| batch * oh * ow);
                conv::choose(conv, pixels, self.ctx.caps)
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
        let shapes = self.exec.shapes(h, w)?;
        Ok(self
            .exec
            .nodes()
            .filter_map(|n| match &n.op {
                Op::Conv { conv: c, .. } => {
                    let x = shapes[n.inputs[0]];
                    Some((n.name.clone(), self.variant(c, batch, x.h, x.w)))
                }
                _ => None,
            })
            .collect())
    }

    /// The graph this model runs.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Runs the network on an NCHW f32 tensor `[N, C, H, W]`; returns logits `[N, classes]`.
    pub fn infer(&self, input: &Tensor) -> Result<Tensor> {
        let (n, h, w) = check_input(&self.graph, input)?;
        let plan = self.plan(n, h, w)?;
        let data = self.run(&plan, &input.data)?;
        Ok(Tensor::new(output_shape(&self.graph, n, h, w)?, data))
    }

    /// The plan for (batch, height, width), built on first use.
    pub(crate) fn plan(&self, n: usize, h: usize, w: usize) -> Result<Arc<Plan>> {
        let mut plans = self.plans.lock().map_err(|_| Error::Gpu {
            during: "planning".into(),
            message: "a previous inference panicked".into(),
        })?;
        if let Some(p) = plans.get(&(n, h, w)) {
            return Ok(p.clone());
        }
        let plan = Arc::new(
            self.ctx
                .scoped("allocating activations", || self.build_plan(n, h, w))?,
        );
        plans.insert((n, h, w), plan.clone());
        Ok(plan)
    }

    fn run(&self, plan: &Plan, input: &[f32]) -> Result<Vec<f32>> {
        self.ctx.scoped("running inference", || {
            let cmds = self.record(plan, input, None);
            self.ctx.queue.submit(cmds);
            read_back(
                &self.ctx,
                &plan.readback,
                plan.output_bytes,
                plan.output_f16,
            )
        })
    }

    /// Writes the input and records one command buffer per segment, then the logits copy.
    /// With `timestamps`, every dispatch gets its own pass that writes query `2i` at its start
    /// and `2i + 1` at its end (`i` counts dispatches in order).
    pub(crate) fn record(
        &self,
        plan: &Plan,
        input: &[f32],
        timestamps: Option<&wgpu::QuerySet>,
    ) -> Vec<wgpu::CommandBuffer> {
        let ctx = &self.ctx;
        ctx.queue
            .write_buffer(&plan.input, 0, bytemuck::cast_slice(input));
        let mut cmds = Vec::with_capacity(plan.segments.len() + 1);
        let mut index = 0u32;
        for seg in &plan.segments {
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            match timestamps {
                None => {
                    let mut pass = enc.begin_compute_pass(&Default::default());
                    for d in seg {
                        self.dispatch(&mut pass, d);
                    }
                }
                Some(qs) => {
                    for d in seg {
                        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: None,
                            timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                                query_set: qs,
                                beginning_of_pass_write_index: Some(2 * index),
                                end_of_pass_write_index: Some(2 * index + 1),
                            }),
                        });
                        self.dispatch(&mut pass, d);
                        index += 1;
                    }
                }
            }
            cmds.push(enc.finish());
        }
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(
            &plan.buffers[plan.output],
            0,
            &plan.readback,
            0,
            plan.output_bytes,
        );
        cmds.push(enc.finish());
        cmds
    }

    pub(crate) fn dispatch(&self, pass: &mut wgpu::ComputePass<'_>, d: &Dispatch) {
        pass.set_pipeline(&self.pipelines.get(d.kernel).pipeline);
        pass.set_bind_group(0, &d.bind_group, &[]);
        pass.dispatch_workgroups(d.grid[0], d.grid[1], d.grid[2]);
    }

    /// Reads the logits of a submitted run back.
    pub(crate) fn read_logits(&self, plan: &Plan) -> Result<Vec<f32>> {
        read_back(
            &self.ctx,
            &plan.readback,
            plan.output_bytes,
            plan.output_f16,
        )
    }

    /// The engine context.
    pub(crate) fn ctx(&self) -> &Arc<Context> {
        &self.ctx
    }

    fn build_plan(&self, n: usize, h: usize, w: usize) -> Result<Plan> {
        let g = &self.exec;
        let shapes = g.shapes(h, w)?;
        let device = &self.ctx.device;
        let limit = self.ctx.limits.max_storage_buffer_binding_size;
        // The NCHW input and the classifier's logits are f32; other activations (a graph may
        // end elsewhere) use the storage precision.
        let act = self.precision.bytes();
        let f32_output = g
            .nodes()
            .any(|nd| nd.output == g.output && matches!(nd.op, Op::Linear { .. }));
        let output_elem = if f32_output { 4 } else { act };
        let bytes_of_value = |v: usize| {
            let elem = if v == 0 {
                4
            } else if v == g.output {
                output_elem
            } else {
                act
            };
            ((n * shapes[v].len() * elem).max(16).div_ceil(16) * 16) as u64
        };

        // Liveness: the last node reading each value; the output lives to the end.
        let nodes: Vec<_> = g.nodes().collect();
        // Global average pools read only by a classifier run fused with it: pooled value →
        // the pool's input.
        let pooled_by: HashMap<usize, usize> = nodes
            .iter()
            .filter(|p| {
                matches!(p.op, Op::GlobalAvgPool)
                    && shapes[p.output].c <= linear::POOL_LINEAR_MAX_IN
            })
            .filter(|p| p.output != g.output)
            .filter(|p| {
                let readers: Vec<_> = nodes
                    .iter()
                    .filter(|r| r.inputs.contains(&p.output))
                    .collect();
                readers.len() == 1 && matches!(readers[0].op, Op::Linear { .. })
            })
            .map(|p| (p.output, p.inputs[0]))
            .collect();
        let mut last_use = vec![0usize; shapes.len()];
        for (i, node) in nodes.iter().enumerate() {
            for &v in &node.inputs {
                last_use[v] = i;
                // A fused classifier reads the pool's input directly.
                if let Some(&pool_input) = pooled_by.get(&v) {
                    last_use[pool_input] = i;
                }
            }
        }
        last_use[g.output] = usize::MAX;
        // Greedy assignment: a value takes the smallest free buffer that fits, else grows one.
        let mut capacity: Vec<u64> = Vec::new();
        let mut free: Vec<usize> = Vec::new();
        let mut slot = vec![usize::MAX; shapes.len()];
        for (i, node) in nodes.iter().enumerate() {
            let need = bytes_of_value(node.output);
            if need > limit {
                return Err(Error::TooLarge {
                    what: format!("activation of `{}`", node.name),
                    needed: need,
                    limit,
                });
            }
            let pick = free
                .iter()
                .enumerate()
                .filter(|(_, &b)| capacity[b] >= need)
                .min_by_key(|(_, &b)| capacity[b])
                .or_else(|| free.iter().enumerate().max_by_key(|(_, &b)| capacity[b]))
                .map(|(pos, _)| pos);
            let b = match pick {
                Some(pos) => free.swap_remove(pos),
                None => {
                    capacity.push(0);
                    capacity.len() - 1
                }
            };
            capacity[b] = capacity[b].max(need);
            slot[node.output] = b;
            for &v in &node.inputs {
                if v != 0 && last_use[v] == i && !free.contains(&slot[v]) {
                    free.push(slot[v]);
                }
            }
        }
        let buffers: Vec<wgpu::Buffer> = capacity
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("activation {i}")),
                    size,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let input_bytes = bytes_of_value(0);
        if input_bytes > limit {
            return Err(Error::TooLarge {
                what: "input".into(),
                needed: input_bytes,
                limit,
            });
        }
        let input = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("input (NCHW)"),
            size: input_bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let output_bytes = (n * shapes[g.output].len() * output_elem) as u64;
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("logits readback"),
            size: output_bytes.max(16),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });

        // Winograd scratch (shared by every Winograd conv of the plan, which run one by one).
        let variants: Vec<Option<ConvVariant>> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| match &node.op {
                Op::Conv { conv: c, .. } => {
                    let x = shapes[node.inputs[0]];
                    let mut v = self.variant(c, n, x.h, x.w);
                    let y = shapes[node.output];
                    if v == ConvVariant::Winograd {
                        let (vb, mb) = winograd::scratch_bytes(c, n, y.h, y.w);
                        if vb.max(mb) > limit || self.weights[i].len() < 3 {
                            v = ConvVariant::DirectVec4;
                        }
                    }
                    Some(v)
                }
                _ => None,
            })
            .collect();
        let (mut v_bytes, mut m_bytes) = (16u64, 16u64);
        for (node, v) in nodes.iter().zip(&variants) {
            if let (Op::Conv { conv: c, .. }, Some(ConvVariant::Winograd)) = (&node.op, v) {
                let y = shapes[node.output];
                let (vb, mb) = winograd::scratch_bytes(c, n, y.h, y.w);
                v_bytes = v_bytes.max(vb);
                m_bytes = m_bytes.max(mb);
            }
        }
        let scratch = |label: &str, size: u64| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        };
        let wino_v = scratch("winograd V", v_bytes);
        let wino_m = scratch("winograd M", m_bytes);

        let value = |v: usize| -> wgpu::BindingResource<'_> {
            let buf = if v == 0 { &input } else { &buffers[slot[v]] };
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: buf,
                offset: 0,
                size: std::num::NonZeroU64::new(bytes_of_value(v)),
            })
        };
        let mut params_bufs = Vec::new();
        let mut segments = Vec::new();
        let mut node_index = 0;
        for seg in &g.segments {
            let mut dispatches = Vec::new();
            for node in &seg.nodes {
                let index = node_index;
                node_index += 1;
                if pooled_by.contains_key(&node.output) {
                    continue; // fused into the classifier that reads it
                }
                let x = shapes[node.inputs[0]];
                let y = shapes[node.output];
                let wts = &self.weights[index];
                let second = node.inputs.get(1).copied();
                let residual = || second.map_or_else(|| self.dummy.as_entire_binding(), value);
                let w = |i: usize| wts[i].as_entire_binding();
                // (kernel, params, grid, resources in binding order: inputs, weights, output, params)
                type Step<'a> = (Kernel, Vec<u8>, [u32; 3], Vec<wgpu::BindingResource<'a>>);
                let steps: Vec<Step<'_>> = match &node.op {
                    Op::InputToNhwc | Op::ShortcutA(_) => {
                        let sc = if let Op::ShortcutA(s) = &node.op {
                            Some(s)
                        } else {
                            None
                        };
                        let (p, grid) = layout::params(n, x, y, sc);
                        let k = if sc.is_some() {
                            Kernel::ShortcutA
                        } else {
                            Kernel::NchwToNhwc
                        };
                        vec![(
                            k,
                            bytemuck::bytes_of(&p).to_vec(),
                            grid,
                            vec![value(node.inputs[0]), value(node.output)],
                        )]
                    }
                    Op::Conv { conv: c, relu, .. } => {
                        let variant = variants[index].unwrap_or(ConvVariant::Direct);
                        if variant == ConvVariant::Winograd {
                            let (p, grids) =
                                winograd::params(c, n, x.h, x.w, y.h, y.w, second.is_some(), *relu);
                            let pb = bytemuck::bytes_of(&p).to_vec();
                            vec![
                                (
                                    Kernel::WinogradInput,
                                    pb.clone(),
                                    grids[0],
                                    vec![value(node.inputs[0]), wino_v.as_entire_binding()],
                                ),
                                (
                                    Kernel::WinogradGemm,
                                    pb.clone(),
                                    grids[1],
                                    vec![
                                        wino_v.as_entire_binding(),
                                        w(2),
                                        wino_m.as_entire_binding(),
                                    ],
                                ),
                                (
                                    Kernel::WinogradOutput,
                                    pb,
                                    grids[2],
                                    vec![
                                        wino_m.as_entire_binding(),
                                        w(1),
                                        residual(),
                                        value(node.output),
                                    ],
                                ),
                            ]
                        } else {
                            let (p, grid) = conv::params(
                                c,
                                n,
                                x.h,
                                x.w,
                                y.h,
                                y.w,
                                second.is_some(),
                                *relu,
                                variant,
                            );
                            let k = match variant {
                                ConvVariant::Gemm1x1 => Kernel::Conv1x1,
                                ConvVariant::DirectVec4 => Kernel::ConvVec4,
                                ConvVariant::Tiled => Kernel::ConvTiled,
                                ConvVariant::Small => Kernel::ConvSmall,
                                ConvVariant::Subgroup => Kernel::ConvSubgroup,
                                ConvVariant::Subgroup8 => Kernel::ConvSubgroup8,
                                _ => Kernel::Conv,
                            };
                            vec![(
                                k,
                                bytemuck::bytes_of(&p).to_vec(),
                                grid,
                                vec![
                                    value(node.inputs[0]),
                                    w(0),
                                    w(1),
                                    residual(),
                                    value(node.output),
                                ],
                            )]
                        }
                    }
                    Op::Affine { relu, .. } => {
                        let (p, grid) = eltwise::params(n * y.len(), y.c, *relu);
                        vec![(
                            Kernel::Affine,
                            bytemuck::bytes_of(&p).to_vec(),
                            grid,
                            vec![value(node.inputs[0]), w(0), w(1), value(node.output)],
                        )]
                    }
                    Op::Add { relu } => {
                        let (p, grid) = eltwise::params(n * y.len(), y.c, *relu);
                        vec![(
                            Kernel::Add,
                            bytemuck::bytes_of(&p).to_vec(),
                            grid,
                            vec![value(node.inputs[0]), residual(), value(node.output)],
                        )]
                    }
                    Op::Relu => {
                        let (p, grid) = eltwise::params(n * y.len(), y.c, true);
                        vec![(
                            Kernel::Relu,
                            bytemuck::bytes_of(&p).to_vec(),
                            grid,
                            vec![value(node.inputs[0]), value(node.output)],
                        )]
                    }
                    Op::MaxPool(_) | Op::GlobalAvgPool => {
                        let pl = if let Op::MaxPool(pl) = &node.op {
                            Some(pl)
                        } else {
                            None
                        };
                        let (p, grid) = pool::params(n, x, y, pl);
                        let k = if pl.is_some() {
                            Kernel::MaxPool
                        } else {
                            Kernel::GlobalAvgPool
                        };
                        vec![(
                            k,
                            bytemuck::bytes_of(&p).to_vec(),
                            grid,
                            vec![value(node.inputs[0]), value(node.output)],
                        )]
                    }
                    Op::Linear { in_f, out_f, .. } => match pooled_by.get(&node.inputs[0]) {
                        // The pool was skipped: average and classify in one pass.
                        Some(&pool_input) => {
                            let x = shapes[pool_input];
                            let (p, grid) = linear::params(n, *in_f, *out_f, Some(x.h * x.w));
                            vec![(
                                Kernel::PoolLinear,
                                bytemuck::bytes_of(&p).to_vec(),
                                grid,
                                vec![value(pool_input), w(0), w(1), value(node.output)],
                            )]
                        }
                        None => {
                            let (p, grid) = linear::params(n, *in_f, *out_f, None);
                            vec![(
                                Kernel::Linear,
                                bytemuck::bytes_of(&p).to_vec(),
                                grid,
                                vec![value(node.inputs[0]), w(0), w(1), value(node.output)],
                            )]
                        }
                    },
                };
                for (kernel, params, grid, mut res) in steps {
                    let params_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some(&node.name),
                        contents: &params,
                        usage: wgpu::BufferUsages::UNIFORM,
                    });
                    res.push(params_buf.as_entire_binding());
                    let entries: Vec<wgpu::BindGroupEntry<'_>> = kernel
                        .bindings()
                        .iter()
                        .zip(res)
                        .map(|(&(binding, _), resource)| wgpu::BindGroupEntry { binding, resource })
                        .collect();
                    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(&node.name),
                        layout: &self.pipelines.get(kernel).layout,
                        entries: &entries,
                    });
                    params_bufs.push(params_buf);
                    dispatches.push(Dispatch {
                        node: index,
                        kernel,
                        bind_group,
                        grid,
                    });
                }
            }
            segments.push(dispatches);
        }
        Ok(Plan {
            input,
            readback,
            output: slot[g.output],
            output_bytes,
            output_f16: output_elem == 2,
            buffers,
            segments,
            shapes,
            batch: n,
            _params: params_bufs,
            _scratch: [wino_v, wino_m],
        })
    }
}

/// Shape of a graph's output for `n` inputs of `h × w`: `[N, classes]` for a classifier's
/// logits (1 × 1 outputs), else `[N, H, W, C]` (NHWC, as the kernels store it).
pub(crate) fn output_shape(graph: &Graph, n: usize, h: usize, w: usize) -> Result<Vec<usize>> {
    let s = graph.shapes(h, w)?[graph.output];
    Ok(if s.h * s.w == 1 {
        vec![n, s.c]
    } else {
        vec![n, s.h, s.w, s.c]
    })
}

/// Checks an NCHW input against the graph; returns (batch, height, width).
pub(crate) fn check_input(graph: &Graph, input: &Tensor) -> Result<(usize, usize, usize)> {
    let s = &input.shape;
    if s.len() != 4 || s[0] == 0 || s[1] != graph.input_channels || s[2] == 0 || s[3] == 0 {
        return Err(Error::InvalidInput(format!(
            "{}: expected an NCHW tensor [N ≥ 1, {}, H, W], found shape {:?}",
            graph.name, graph.input_channels, s
        )));
    }
    if input.data.len() != s.iter().product::<usize>() {
        return Err(Error::InvalidInput(format!(
            "input tensor has {} values for shape {:?}",
            input.data.len(),
            s
        )));
    }
    Ok((s[0], s[2], s[3]))
}

/// Maps `buf`, waits, and copies out `bytes` bytes as f32 (decoding f16 when `f16`).
fn read_back(ctx: &Context, buf: &wgpu::Buffer, bytes: u64, f16: bool) -> Result<Vec<f32>> {
    let slice = buf.slice(..bytes);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.wait("waiting for the GPU")?;
    match rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(Error::Gpu {
                during: "reading back the logits".into(),
                message: e.to_string(),
            })
        }
        Err(_) => {
            return Err(Error::Gpu {
                during: "reading back the logits".into(),
                message: "the map callback never ran".into(),
            })
        }
    }
    let out = {
        let view = slice.get_mapped_range().map_err(|e| Error::Gpu {
            during: "reading back the logits".into(),
            message: e.to_string(),
        })?;
        if f16 {
            view.chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect()
        } else {
            bytemuck::cast_slice::<u8, f32>(&view).to_vec()
        }
    };
    buf.unmap();
    Ok(out)
}

impl Context {
    /// The pipelines, created on first use.
    pub(crate) fn pipelines(&self, precision: Precision) -> Arc<Pipelines> {
        self.pipelines[(precision == Precision::F16) as usize]
            .get_or_init(|| Arc::new(Pipelines::new(&self.device, precision)))
            .clone()
    }
}
