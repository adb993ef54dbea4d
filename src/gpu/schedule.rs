//! The schedule of a graph at one (batch, height, width): what runs, in which order, on which
//! buffers. Immutable once built and shared by every call of that shape; the buffers it names
//! abstractly ([`Res`]) are a [`super::workspace::Workspace`]'s, owned by one call at a time.
//!
//! Stages: the [`MemoryPlan`] (shapes, fusions, liveness, assignment), the conv variant of each
//! conv ([`choose_variants`]), then the dispatch steps of every segment with their uniform
//! parameters ([`steps`]). The uniform buffers never change and are shared too.

use wgpu::util::DeviceExt;

use super::kernels::conv::ConvVariant;
use super::kernels::{
    conv, conv_grouped_sg, conv_sg, eltwise, layout, linear, pool, split_k, winograd, Kernel,
    WriteForm,
};
use super::memory_plan::MemoryPlan;
use crate::model::{Graph, Op};

/// A buffer a dispatch binds, named independently of any workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Res {
    /// The buffer of a value (0 = the NCHW input).
    Value(usize),
    /// Weight buffer `i` of node `node`.
    Weight { node: usize, i: usize },
    /// Bound where a kernel's optional input is absent.
    Dummy,
    /// Winograd's transformed input.
    WinogradV,
    /// Winograd's GEMM products, or split K's partial sums.
    Products,
}

/// One kernel launch.
pub(crate) struct Step {
    /// Index of the node in [`Graph::nodes`] order.
    pub node: usize,
    pub kernel: Kernel,
    /// The form of the kernel's write step (which pipeline of `kernel` runs).
    pub write: WriteForm,
    pub grid: [u32; 3],
    /// Resources in binding order (inputs, weights, output), the params uniform last.
    pub resources: Vec<Res>,
    /// Index into [`Schedule::params`].
    pub params: usize,
}

/// Everything about one (batch, height, width) that does not change between calls.
pub(crate) struct Schedule {
    pub memory: MemoryPlan,
    pub segments: Vec<Vec<Step>>,
    pub params: Vec<wgpu::Buffer>,
    /// The contents of each of `params` (lavapipe compiles a kernel for the values of its
    /// parameters: [`super::kernels::Pipelines::dispatch_first`]).
    pub param_bytes: Vec<Vec<u8>>,
    /// Bytes of the two scratch buffers, [`Res::WinogradV`] and [`Res::Products`] (16 when
    /// unused).
    pub scratch_bytes: [u64; 2],
}

impl Schedule {
    /// Every step in order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.segments.iter().flatten()
    }

    /// Bytes one workspace of this schedule allocates.
    pub fn workspace_bytes(&self) -> u64 {
        self.memory
            .workspace_bytes(self.scratch_bytes.iter().sum::<u64>())
    }
}

/// The variant of every conv node (`None` for other nodes). `choose(node, conv, input shape)`
/// gives the preferred variant; Winograd falls back to the vec4 direct conv (the subgroup
/// GEMM for the subgroup forms) where its scratch would not fit in `limit` or the node has no
/// transformed weights of its form (`weight_buffers(node)` counts the node's weight buffers),
/// split K to the plain tiled GEMM where its partial sums would not fit.
pub(crate) fn choose_variants(
    graph: &Graph,
    memory: &MemoryPlan,
    limit: u64,
    weight_buffers: impl Fn(usize) -> usize,
    choose: impl Fn(&crate::model::Conv2d, usize, usize) -> ConvVariant,
) -> Vec<Option<ConvVariant>> {
    let n = memory.batch;
    graph
        .nodes()
        .enumerate()
        .map(|(i, node)| match &node.op {
            Op::Conv { conv: c, .. } => {
                let x = memory.shapes[node.inputs[0]];
                let y = memory.shapes[node.output];
                let mut v = choose(c, x.h, x.w);
                let m = n * y.h * y.w;
                let out_c4 = conv::padded_out_c(c.out_c) / 4;
                if v == ConvVariant::TiledSplitK && split_k::scratch_bytes(c, m, out_c4) > limit {
                    v = ConvVariant::Tiled;
                }
                if let Some(form) = v.winograd_form() {
                    let (vb, mb) = winograd::scratch_bytes(c, n, y.h, y.w, form);
                    if vb.max(mb) > limit || weight_buffers(i) <= form.weight_index() {
                        v = match v {
                            ConvVariant::Winograd => ConvVariant::DirectVec4,
                            ConvVariant::WinogradTiled | ConvVariant::Winograd4Tiled => {
                                ConvVariant::Tiled
                            }
                            _ => conv_sg::choose(c.out_c, n * y.h * y.w),
                        };
                    }
                }
                Some(v)
            }
            _ => None,
        })
        .collect()
}

/// Bytes of the scratch buffers ([`Res::WinogradV`], [`Res::Products`]): the largest any
/// Winograd or split-K conv needs (16 at least).
pub(crate) fn scratch_bytes(
    graph: &Graph,
    memory: &MemoryPlan,
    variants: &[Option<ConvVariant>],
) -> [u64; 2] {
    let mut bytes = [16u64, 16u64];
    for (node, v) in graph.nodes().zip(variants) {
        if let (Op::Conv { conv: c, .. }, Some(v)) = (&node.op, v) {
            let y = memory.shapes[node.output];
            let m = memory.batch * y.h * y.w;
            let (vb, mb) = match v.winograd_form() {
                Some(form) => winograd::scratch_bytes(c, memory.batch, y.h, y.w, form),
                None if *v == ConvVariant::TiledSplitK => {
                    let out_c4 = conv::padded_out_c(c.out_c) / 4;
                    (0, split_k::scratch_bytes(c, m, out_c4))
                }
                None => continue,
            };
            bytes = [bytes[0].max(vb), bytes[1].max(mb)];
        }
    }
    bytes
}

/// One launch of a node: its kernel, the form of that kernel's write step (which of its
/// pipelines runs), its parameters, grid and buffers.
struct Launch {
    kernel: Kernel,
    write: WriteForm,
    params: Vec<u8>,
    grid: [u32; 3],
    resources: Vec<Res>,
}

/// A launch without a write step (or with the default form: scalar stores, no residual).
fn launch<P: bytemuck::Pod>(kernel: Kernel, p: &P, grid: [u32; 3], resources: Vec<Res>) -> Launch {
    Launch {
        kernel,
        write: WriteForm::default(),
        params: bytemuck::bytes_of(p).to_vec(),
        grid,
        resources,
    }
}

/// The launches of one node (`pairs` as in [`build`]; `rgb_input`: the node reads the
/// converted input of a 3-channel graph padded to 4 channels, whose fourth channel is zero).
fn launches(
    node: &crate::model::Node,
    index: usize,
    memory: &MemoryPlan,
    variant: Option<ConvVariant>,
    pairs: bool,
    rgb_input: bool,
) -> Vec<Launch> {
    let n = memory.batch;
    let x = memory.shapes[node.inputs[0]];
    let y = memory.shapes[node.output];
    let second = node.inputs.get(1).copied();
    let residual = second.map_or(Res::Dummy, Res::Value);
    // A conv's write step: adds `second` if there is one; vec4 stores where Cout allows.
    let write = WriteForm::new(second.is_some(), y.c);
    let w = |i: usize| Res::Weight { node: index, i };
    let input = Res::Value(node.inputs[0]);
    let output = Res::Value(node.output);
    match &node.op {
        Op::InputToNhwc => {
            let (p, grid) = layout::params(n, x, y, None);
            vec![launch(Kernel::NchwToNhwc, &p, grid, vec![input, output])]
        }
        Op::ShortcutA(s) => {
            let (p, grid) = layout::params(n, x, y, Some(s));
            vec![launch(Kernel::ShortcutA, &p, grid, vec![input, output])]
        }
        Op::Conv { conv: c, relu, .. } => {
            let variant = variant.unwrap_or(ConvVariant::Direct);
            if let Some(form) = variant.winograd_form() {
                let (p, grids) = winograd::params(c, n, x.h, x.w, y.h, y.w, *relu, form);
                let (gemm, gemm_grid) = match variant {
                    ConvVariant::Winograd => (Kernel::WinogradGemm, grids[1]),
                    ConvVariant::WinogradTiled | ConvVariant::Winograd4Tiled => (
                        Kernel::WinogradGemmTiled,
                        winograd::tiled_gemm_grid(p.tiles as usize, p.out_c4 as usize, form.e()),
                    ),
                    _ => winograd::sg_gemm(p.tiles as usize, p.out_c4 as usize, form.e()),
                };
                let [(input_pass, input_grid), (output_pass, output_grid)] =
                    winograd::transform_passes(&p, form, &grids, pairs);
                let v_in = vec![input, Res::WinogradV];
                let gemm_res = vec![Res::WinogradV, w(form.weight_index()), Res::Products];
                let out_res = vec![Res::Products, w(1), residual, output];
                vec![
                    launch(input_pass, &p, input_grid, v_in),
                    launch(gemm, &p, gemm_grid, gemm_res),
                    Launch {
                        write,
                        ..launch(output_pass, &p, output_grid, out_res)
                    },
                ]
            } else if variant == ConvVariant::TiledSplitK {
                let (p, grid) = conv::params(c, n, x.h, x.w, y.h, y.w, *relu, variant);
                let reduce_grid = split_k::reduce_grid(n * y.h * y.w, p.out_c4 as usize);
                let partial_res = vec![input, w(0), Res::Products];
                let reduce_res = vec![Res::Products, w(1), residual, output];
                vec![
                    launch(Kernel::ConvTiledPartial, &p, grid, partial_res),
                    Launch {
                        write,
                        ..launch(Kernel::SplitKReduce, &p, reduce_grid, reduce_res)
                    },
                ]
            } else {
                let (p, grid) = conv::params(c, n, x.h, x.w, y.h, y.w, *relu, variant);
                let k = match variant {
                    ConvVariant::Gemm1x1 => Kernel::Conv1x1,
                    ConvVariant::DirectVec4 => Kernel::ConvVec4,
                    ConvVariant::Tiled => Kernel::ConvTiled,
                    ConvVariant::Tiled128 => Kernel::ConvTiled128,
                    ConvVariant::Small => Kernel::ConvSmall,
                    ConvVariant::ChannelLanes => Kernel::ConvChannelLanes,
                    ConvVariant::Subgroup if rgb_input && c.in_c == 4 => Kernel::ConvSubgroupRgb,
                    ConvVariant::Subgroup => Kernel::ConvSubgroup,
                    ConvVariant::Subgroup8 => Kernel::ConvSubgroup8,
                    ConvVariant::Subgroup14 => Kernel::ConvSubgroup14,
                    ConvVariant::Subgroup7 => Kernel::ConvSubgroup7,
                    ConvVariant::SubgroupC128 => Kernel::ConvSubgroupC128,
                    ConvVariant::Subgroup14C128 => Kernel::ConvSubgroup14C128,
                    ConvVariant::Subgroup14C256 => Kernel::ConvSubgroup14C256,
                    ConvVariant::Subgroup8C256 => Kernel::ConvSubgroup8C256,
                    ConvVariant::Subgroup7C256 => Kernel::ConvSubgroup7C256,
                    ConvVariant::Subgroup16 => Kernel::ConvSubgroup16,
                    ConvVariant::Subgroup32 => Kernel::ConvSubgroup32,
                    ConvVariant::Strip16 => Kernel::ConvStrip16,
                    ConvVariant::Strip32 => Kernel::ConvStrip32,
                    ConvVariant::Grouped => Kernel::ConvGrouped,
                    ConvVariant::GroupedStrip => Kernel::ConvGroupedStrip,
                    ConvVariant::GroupedSubgroup | ConvVariant::GroupedSubgroup8 => {
                        conv_grouped_sg::kernel(variant, c).unwrap_or(Kernel::ConvGrouped)
                    }
                    _ => Kernel::Conv,
                };
                let res = vec![input, w(0), w(1), residual, output];
                vec![Launch {
                    write,
                    ..launch(k, &p, grid, res)
                }]
            }
        }
        Op::Affine { relu, .. } => {
            let (p, grid) = eltwise::params(n * y.len(), y.c, *relu);
            vec![launch(
                Kernel::Affine,
                &p,
                grid,
                vec![input, w(0), w(1), output],
            )]
        }
        Op::Add { relu } => {
            let (p, grid) = eltwise::params(n * y.len(), y.c, *relu);
            vec![launch(Kernel::Add, &p, grid, vec![input, residual, output])]
        }
        Op::Relu => {
            let (p, grid) = eltwise::params(n * y.len(), y.c, true);
            vec![launch(Kernel::Relu, &p, grid, vec![input, output])]
        }
        Op::MaxPool(pl) => {
            let (p, grid) = pool::params(n, x, y, Some(pl), pairs);
            let (k, _) = pool::max_pool_kernel(x, pairs);
            vec![launch(k, &p, grid, vec![input, output])]
        }
        Op::GlobalAvgPool => {
            let (p, grid) = pool::params(n, x, y, None, pairs);
            vec![launch(Kernel::GlobalAvgPool, &p, grid, vec![input, output])]
        }
        Op::Linear { in_f, out_f, .. } => match memory.pooled_by.get(&node.inputs[0]) {
            // The pool was skipped: average and classify in one pass.
            Some(&pool_input) => {
                let x = memory.shapes[pool_input];
                let (p, grid) = linear::params(n, *in_f, *out_f, Some(x.h * x.w));
                let res = vec![Res::Value(pool_input), w(0), w(1), output];
                let k = if pairs && in_f.is_multiple_of(8) {
                    Kernel::PoolLinear8
                } else if in_f.is_multiple_of(4) {
                    Kernel::PoolLinear4
                } else {
                    Kernel::PoolLinear
                };
                vec![launch(k, &p, grid, res)]
            }
            None => {
                let (p, grid) = linear::params(n, *in_f, *out_f, None);
                let res = vec![input, w(0), w(1), output];
                vec![launch(Kernel::Linear, &p, grid, res)]
            }
        },
    }
}

/// The steps of every segment, and the uniform buffer of each step's parameters (`pairs` as
/// in [`build`]).
pub(crate) fn steps(
    device: &wgpu::Device,
    graph: &Graph,
    memory: &MemoryPlan,
    variants: &[Option<ConvVariant>],
    pairs: bool,
) -> (Vec<Vec<Step>>, Vec<wgpu::Buffer>, Vec<Vec<u8>>) {
    let mut params = Vec::new();
    let mut param_bytes = Vec::new();
    let mut segments = Vec::new();
    let mut index = 0;
    let rgb = crate::model::passes::padded_input(graph)
        .and_then(|(value, data)| (data == 3).then_some(value));
    for seg in &graph.segments {
        let mut out = Vec::new();
        for node in &seg.nodes {
            let i = index;
            index += 1;
            if memory.pooled_by.contains_key(&node.output) {
                continue; // fused into the classifier that reads it
            }
            let rgb_input = rgb.is_some_and(|v| node.inputs.first() == Some(&v));
            for l in launches(node, i, memory, variants[i], pairs, rgb_input) {
                params.push(
                    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some(&node.name),
                        contents: &l.params,
                        usage: wgpu::BufferUsages::UNIFORM,
                    }),
                );
                param_bytes.push(l.params);
                out.push(Step {
                    node: i,
                    kernel: l.kernel,
                    write: l.write,
                    grid: l.grid,
                    resources: l.resources,
                    params: params.len() - 1,
                });
            }
        }
        segments.push(out);
    }
    (segments, params, param_bytes)
}

/// Builds the schedule (the memory plan comes first; see the module docs). `pairs`: the
/// model's shader builds read and write u64 pairs (`DeviceCaps::u64_pairs` at its precision),
/// which offers the 8-channel Winograd transforms, max pool and pooled classifier.
pub(crate) fn build(
    device: &wgpu::Device,
    graph: &Graph,
    memory: MemoryPlan,
    variants: &[Option<ConvVariant>],
    pairs: bool,
) -> Schedule {
    let scratch_bytes = scratch_bytes(graph, &memory, variants);
    let (segments, params, param_bytes) = steps(device, graph, &memory, variants, pairs);
    Schedule {
        memory,
        segments,
        params,
        param_bytes,
        scratch_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ir::GraphBuilder;
    use crate::model::Conv2d;

    /// A graph of the input conversion and one 64 → 64 3×3 conv.
    fn one_conv() -> (Graph, Conv2d) {
        let conv = Conv2d::square(64, 64, 3, 1, 1);
        let mut g = GraphBuilder::new("one conv", 64);
        let x = g.push("input", Op::InputToNhwc, vec![0], 64);
        let op = Op::Conv {
            conv,
            weight: vec![0.0; 9 * 64 * 64],
            bias: vec![0.0; 64],
            relu: false,
        };
        let y = g.push("conv", op, vec![x], 64);
        (g.finish(y), conv)
    }

    /// Split K and Winograd keep their variant where their scratch fits the binding limit and
    /// give way (to the plain tiles; to the vec4 direct conv, or the tiles for Winograd's tiled
    /// GEMM) where it does not; the scratch buffers are sized for what runs.
    #[test]
    fn scratch_that_does_not_fit_changes_the_variant() {
        let (graph, conv) = one_conv();
        // 7 × 7 at batch 1: one 64 × 64 tile, K = 576 in 36 chunks, split 9 ways.
        let split = split_k::scratch_bytes(&conv, 49, 16);
        assert_eq!(split, 9 * 49 * 16 * 16);
        let (wv, wm) = winograd::scratch_bytes(&conv, 1, 7, 7, winograd::Form::F2);
        for (preferred, scratch, fallback) in [
            (ConvVariant::TiledSplitK, split, ConvVariant::Tiled),
            (ConvVariant::Winograd, wv.max(wm), ConvVariant::DirectVec4),
            (ConvVariant::WinogradTiled, wv.max(wm), ConvVariant::Tiled),
        ] {
            for (limit, want) in [(scratch, preferred), (scratch - 1, fallback)] {
                let memory = MemoryPlan::new(&graph, 1, 7, 7, 4, limit).expect("a plan");
                let variants = choose_variants(&graph, &memory, limit, |_| 3, |_, _, _| preferred);
                assert_eq!(variants[1], Some(want), "{preferred:?} with limit {limit}");
                let bytes = scratch_bytes(&graph, &memory, &variants);
                let used = if want == preferred { scratch } else { 16 };
                assert_eq!(
                    bytes.iter().copied().max(),
                    Some(used),
                    "{preferred:?} {limit}"
                );
            }
        }
    }
}
