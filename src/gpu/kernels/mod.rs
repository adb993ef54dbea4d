//! Kernel families: each WGSL entry point, the bindings it reads and writes (in the fixed
//! order inputs, weights, output, params), its parameter struct and its grid. Kernels build
//! their pipelines once and only describe dispatches; the executor records and submits.

mod compile_spread;
pub mod conv;
pub mod conv_choice;
pub mod conv_grouped_sg;
pub mod conv_sg;
pub mod conv_strip;
pub mod device_caps;
pub mod eltwise;
mod helper_start;
pub mod layout;
pub mod linear;
pub mod pipelines;
pub mod pool;
mod precision;
pub mod shader_files;
pub mod shader_module;
pub mod shaders;
pub mod split_k;
pub mod winograd;

pub use compile_spread::SpreadStats;
pub(crate) use compile_spread::{applies as spreads_compiles, Spread};
pub use pipelines::{Pipeline, Pipelines};
pub use precision::Precision;
pub use shaders::{OutputView, WeightView};

/// How a binding is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Uniform,
}

/// The bindings of every conv kernel: input, weights, bias, residual, output, parameters.
const CONV_BINDINGS: &[(u32, Access)] = &[
    (0, Access::Read),
    (1, Access::Read),
    (2, Access::Read),
    (3, Access::Read),
    (4, Access::Write),
    (5, Access::Uniform),
];
/// The bindings of Winograd's output transforms: products, bias, residual, output, parameters.
const WINOGRAD_OUTPUT_BINDINGS: &[(u32, Access)] = &[
    (5, Access::Read),
    (6, Access::Read),
    (7, Access::Read),
    (8, Access::Write),
    (9, Access::Uniform),
];

/// The bindings of split K's reduction: partial sums, bias, residual, output, parameters.
const SPLIT_K_REDUCE_BINDINGS: &[(u32, Access)] = &[
    (7, Access::Read),
    (2, Access::Read),
    (3, Access::Read),
    (4, Access::Write),
    (5, Access::Uniform),
];

/// One compute entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Direct conv, any Cin.
    Conv,
    /// Direct conv reading four input channels at a time (Cin % 4 == 0).
    ConvVec4,
    /// 1×1 conv (no padding, any stride) as a plain GEMM.
    Conv1x1,
    /// Implicit GEMM with workgroup-memory tiles (Cin % 16 == 0).
    ConvTiled,
    /// The same over 128 × 128 tiles, 8 × 8 per invocation (Cin % 8 == 0).
    ConvTiled128,
    /// Split K: the 64 × 64 tiles over one slice of K each, partial sums to scratch; and the pass
    /// that sums the slices through the write step.
    ConvTiledPartial,
    SplitKReduce,
    /// Implicit GEMM with small register tiles, 4 pixels × 8 channels (Cin % 4 == 0).
    ConvSmall,
    /// The same tiles with the channel blocks along the lanes (few output pixels): the pipeline
    /// constant `channel_lanes`.
    ConvChannelLanes,
    /// Implicit GEMM with weights shared across a subgroup (needs `SUBGROUP`), 16 pixels per
    /// invocation; and with 8 (small maps).
    ConvSubgroup,
    ConvSubgroup8,
    /// `ConvSubgroup` for a stem whose 3-channel input was padded to 4: the pipeline constant
    /// `x_lanes` at 3 leaves out the padding channel's multiply-adds and weight loads.
    ConvSubgroupRgb,
    /// The same with 14 and 7 pixels per invocation (blocks of 112 and 56 pixels): `main` and
    /// `main8` with the pipeline constant `group_rows` at 7.
    ConvSubgroup14,
    ConvSubgroup7,
    /// The same tiles over 128- or 256-channel blocks (pipeline constant `col_groups` 2 or 4):
    /// 16 and 14 pixels × 128 channels, 14, 8 and 7 pixels × 256 channels per invocation.
    ConvSubgroupC128,
    ConvSubgroup14C128,
    ConvSubgroup14C256,
    ConvSubgroup8C256,
    ConvSubgroup7C256,
    /// The subgroup GEMM over 16- and 32-channel blocks (few output channels). The 16-channel
    /// one is `conv_sg_grouped.wgsl:main` with one group per block (`block_groups` 1), which
    /// also takes grouped convs of 16k channels per group.
    ConvSubgroup16,
    ConvSubgroup32,
    /// 3×3 stride-1 convs over 16- and 32-channel blocks, one strip of an output row per
    /// invocation (few output channels).
    ConvStrip16,
    ConvStrip32,
    /// Grouped / depthwise / dilated direct conv.
    ConvGrouped,
    /// Grouped convs as the narrow subgroup GEMM: 64-pixel blocks with one group per
    /// 16-channel block (pipeline constant `block_groups` 1; the 256-pixel one is
    /// [`Kernel::ConvSubgroup16`]), and 256- and 64-pixel blocks of two and four groups.
    ConvGroupedSg8,
    ConvGroupedSgB2,
    ConvGroupedSg8B2,
    ConvGroupedSgB4,
    ConvGroupedSg8B4,
    /// Grouped 3×3 stride-1 convs of 4 channels per group as row strips (`conv_sg_strip.wgsl`).
    ConvGroupedStrip,
    /// Winograd F(2,3): input transform, 16 GEMMs, output transform.
    WinogradInput,
    WinogradGemm,
    WinogradOutput,
    /// Winograd's GEMM pass (either form) over 64 × 64 workgroup-memory tiles, for GPUs.
    WinogradGemmTiled,
    /// Winograd's GEMM pass with the weights shared across a subgroup, 16, 8 and 2 tiles per
    /// invocation.
    WinogradGemmSg16,
    WinogradGemmSg8,
    /// The same with 14 and 7 tiles per invocation: `gemm16` and `gemm8` with the pipeline
    /// constant `group_rows` at 7.
    WinogradGemmSg14,
    WinogradGemmSg7,
    /// Winograd's subgroup GEMM with 16 tiles shared by the subgroup and lanes along the
    /// channels (the few tiles of small maps).
    WinogradGemmT16,
    /// Winograd F(4,3)'s input and output transforms (its GEMMs are the subgroup ones, over
    /// 36 products).
    Winograd4Input,
    Winograd4Output,
    /// The same transforms over 8 channels per invocation, loading and storing u64 pairs
    /// (u64-pairs builds only; Cin % 8 == 0 for the input one, Cout % 8 == 0 for the output).
    Winograd4Input8,
    Winograd4Output8,
    Affine,
    Add,
    Relu,
    NchwToNhwc,
    ShortcutA,
    MaxPool,
    /// Max pool, four channels per invocation (C % 4 == 0).
    MaxPool4,
    /// Max pool, eight channels per invocation as u64 pairs (u64-pairs builds, C % 8 == 0).
    MaxPool8,
    GlobalAvgPool,
    Linear,
    /// Global average pool fused with the classifier; and over vec4s (in_f % 4 == 0).
    PoolLinear,
    PoolLinear4,
    /// The same over 8 features per load as u64 pairs (u64-pairs builds, in_f % 8 == 0).
    PoolLinear8,
}

impl Kernel {
    pub const ALL: [Kernel; 56] = [
        Kernel::PoolLinear,
        Kernel::PoolLinear4,
        Kernel::PoolLinear8,
        Kernel::Conv,
        Kernel::ConvVec4,
        Kernel::Conv1x1,
        Kernel::ConvTiled,
        Kernel::ConvTiled128,
        Kernel::ConvTiledPartial,
        Kernel::SplitKReduce,
        Kernel::ConvSmall,
        Kernel::ConvChannelLanes,
        Kernel::ConvSubgroup,
        Kernel::ConvSubgroup8,
        Kernel::ConvSubgroupRgb,
        Kernel::ConvSubgroup14,
        Kernel::ConvSubgroup7,
        Kernel::ConvSubgroupC128,
        Kernel::ConvSubgroup14C128,
        Kernel::ConvSubgroup14C256,
        Kernel::ConvSubgroup8C256,
        Kernel::ConvSubgroup7C256,
        Kernel::ConvSubgroup16,
        Kernel::ConvSubgroup32,
        Kernel::ConvStrip16,
        Kernel::ConvStrip32,
        Kernel::ConvGrouped,
        Kernel::ConvGroupedSg8,
        Kernel::ConvGroupedSgB2,
        Kernel::ConvGroupedSg8B2,
        Kernel::ConvGroupedSgB4,
        Kernel::ConvGroupedSg8B4,
        Kernel::ConvGroupedStrip,
        Kernel::WinogradInput,
        Kernel::WinogradGemm,
        Kernel::WinogradGemmTiled,
        Kernel::WinogradOutput,
        Kernel::WinogradGemmSg16,
        Kernel::WinogradGemmSg8,
        Kernel::WinogradGemmSg14,
        Kernel::WinogradGemmSg7,
        Kernel::WinogradGemmT16,
        Kernel::Winograd4Input,
        Kernel::Winograd4Output,
        Kernel::Winograd4Input8,
        Kernel::Winograd4Output8,
        Kernel::Affine,
        Kernel::Add,
        Kernel::Relu,
        Kernel::NchwToNhwc,
        Kernel::ShortcutA,
        Kernel::MaxPool,
        Kernel::MaxPool4,
        Kernel::MaxPool8,
        Kernel::GlobalAvgPool,
        Kernel::Linear,
    ];

    /// (shader file, entry point)
    pub fn entry(self) -> (&'static str, &'static str) {
        match self {
            Kernel::Conv => ("conv2d.wgsl", "main"),
            Kernel::ConvVec4 => ("conv2d_vec4.wgsl", "main"),
            Kernel::Conv1x1 => ("conv1x1.wgsl", "main"),
            Kernel::ConvTiled => ("conv2d_tiled.wgsl", "main"),
            Kernel::ConvTiled128 => ("conv2d_tiled128.wgsl", "main"),
            Kernel::ConvTiledPartial => ("conv2d_tiled.wgsl", "partial"),
            Kernel::SplitKReduce => ("conv2d_tiled.wgsl", "reduce"),
            Kernel::ConvSmall => ("conv2d_small.wgsl", "main"),
            Kernel::ConvChannelLanes => ("conv2d_small.wgsl", "main"),
            Kernel::ConvSubgroup | Kernel::ConvSubgroupRgb => ("conv_sg.wgsl", "main"),
            Kernel::ConvSubgroup8 => ("conv_sg.wgsl", "main8"),
            Kernel::ConvSubgroup14 => ("conv_sg.wgsl", "main"),
            Kernel::ConvSubgroup7 => ("conv_sg.wgsl", "main8"),
            Kernel::ConvSubgroupC128 | Kernel::ConvSubgroup14C128 | Kernel::ConvSubgroup14C256 => {
                ("conv_sg_wide.wgsl", "main")
            }
            Kernel::ConvSubgroup8C256 | Kernel::ConvSubgroup7C256 => ("conv_sg_wide.wgsl", "main8"),
            Kernel::ConvSubgroup16 => ("conv_sg_grouped.wgsl", "main"),
            Kernel::ConvSubgroup32 => ("conv_sg_narrow.wgsl", "c32"),
            Kernel::ConvStrip16 => ("conv_sg_strip.wgsl", "s16"),
            Kernel::ConvStrip32 => ("conv_sg_strip.wgsl", "s32"),
            Kernel::ConvGroupedStrip => ("conv_sg_strip.wgsl", "g16"),
            Kernel::ConvGrouped => ("conv_grouped.wgsl", "main"),
            Kernel::ConvGroupedSgB2 | Kernel::ConvGroupedSgB4 => ("conv_sg_grouped.wgsl", "main"),
            Kernel::ConvGroupedSg8 | Kernel::ConvGroupedSg8B2 | Kernel::ConvGroupedSg8B4 => {
                ("conv_sg_grouped.wgsl", "main8")
            }
            Kernel::WinogradInput => ("winograd.wgsl", "input"),
            Kernel::WinogradGemm => ("winograd.wgsl", "gemm"),
            Kernel::WinogradGemmTiled => ("winograd_tiled.wgsl", "gemm"),
            Kernel::WinogradOutput => ("winograd.wgsl", "output"),
            Kernel::WinogradGemmSg16 | Kernel::WinogradGemmSg14 => ("winograd_sg.wgsl", "gemm16"),
            Kernel::WinogradGemmSg8 | Kernel::WinogradGemmSg7 => ("winograd_sg.wgsl", "gemm8"),
            Kernel::WinogradGemmT16 => ("winograd_sg.wgsl", "gemm_t16"),
            Kernel::Winograd4Input => ("winograd4.wgsl", "input"),
            Kernel::Winograd4Output => ("winograd4.wgsl", "output"),
            Kernel::Winograd4Input8 => ("winograd4_in8.wgsl", "input"),
            Kernel::Winograd4Output8 => ("winograd4_out8.wgsl", "output"),
            Kernel::Affine => ("eltwise.wgsl", "affine"),
            Kernel::Add => ("eltwise.wgsl", "add"),
            Kernel::Relu => ("eltwise.wgsl", "relu"),
            Kernel::NchwToNhwc => ("layout.wgsl", "nchw_to_nhwc"),
            Kernel::ShortcutA => ("layout.wgsl", "shortcut_a"),
            Kernel::MaxPool => ("pool.wgsl", "max_pool"),
            Kernel::MaxPool4 => ("pool.wgsl", "max_pool4"),
            Kernel::MaxPool8 => ("pool_pairs.wgsl", "max_pool8"),
            Kernel::GlobalAvgPool => ("pool.wgsl", "global_avg_pool"),
            Kernel::Linear => ("linear.wgsl", "main"),
            Kernel::PoolLinear => ("linear.wgsl", "pool_linear"),
            Kernel::PoolLinear4 => ("linear.wgsl", "pool_linear4"),
            Kernel::PoolLinear8 => ("linear_pairs.wgsl", "pool_linear8"),
        }
    }

    /// (binding number, access) of every binding the entry point uses, in binding order.
    pub fn bindings(self) -> &'static [(u32, Access)] {
        use Access::*;
        match self {
            Kernel::WinogradInput | Kernel::Winograd4Input | Kernel::Winograd4Input8 => {
                &[(0, Read), (1, Write), (9, Uniform)]
            }
            Kernel::WinogradGemm
            | Kernel::WinogradGemmTiled
            | Kernel::WinogradGemmSg16
            | Kernel::WinogradGemmSg8
            | Kernel::WinogradGemmSg14
            | Kernel::WinogradGemmSg7
            | Kernel::WinogradGemmT16 => &[(2, Read), (3, Read), (4, Write), (9, Uniform)],
            Kernel::WinogradOutput | Kernel::Winograd4Output | Kernel::Winograd4Output8 => {
                WINOGRAD_OUTPUT_BINDINGS
            }
            Kernel::ConvTiledPartial => &[(0, Read), (1, Read), (6, Write), (5, Uniform)],
            Kernel::SplitKReduce => SPLIT_K_REDUCE_BINDINGS,
            Kernel::Conv
            | Kernel::ConvVec4
            | Kernel::Conv1x1
            | Kernel::ConvTiled
            | Kernel::ConvTiled128
            | Kernel::ConvSmall
            | Kernel::ConvChannelLanes
            | Kernel::ConvSubgroup
            | Kernel::ConvSubgroup8
            | Kernel::ConvSubgroupRgb
            | Kernel::ConvSubgroup14
            | Kernel::ConvSubgroup7
            | Kernel::ConvSubgroupC128
            | Kernel::ConvSubgroup14C128
            | Kernel::ConvSubgroup14C256
            | Kernel::ConvSubgroup8C256
            | Kernel::ConvSubgroup7C256
            | Kernel::ConvSubgroup16
            | Kernel::ConvSubgroup32
            | Kernel::ConvStrip16
            | Kernel::ConvStrip32
            | Kernel::ConvGrouped
            | Kernel::ConvGroupedSg8
            | Kernel::ConvGroupedSgB2
            | Kernel::ConvGroupedSg8B2
            | Kernel::ConvGroupedSgB4
            | Kernel::ConvGroupedSg8B4
            | Kernel::ConvGroupedStrip => CONV_BINDINGS,
            Kernel::Affine => &[(0, Read), (5, Read), (2, Read), (3, Write), (4, Uniform)],
            Kernel::Add => &[(0, Read), (1, Read), (3, Write), (4, Uniform)],
            Kernel::Relu => &[(0, Read), (3, Write), (4, Uniform)],
            Kernel::ShortcutA => &[(3, Read), (1, Write), (2, Uniform)],
            Kernel::NchwToNhwc
            | Kernel::MaxPool
            | Kernel::MaxPool4
            | Kernel::MaxPool8
            | Kernel::GlobalAvgPool => &[(0, Read), (1, Write), (2, Uniform)],
            Kernel::Linear | Kernel::PoolLinear | Kernel::PoolLinear4 | Kernel::PoolLinear8 => {
                &[(0, Read), (1, Read), (2, Read), (3, Write), (4, Uniform)]
            }
        }
    }

    /// Whether the entry point stores through the fused write step
    /// (`shaders/common/write_step.wgsl`), whose pipeline constant `has_residual` says whether
    /// it adds a residual and whose module's output view how it stores: such a kernel has four
    /// pipelines (see [`Pipelines::get`]).
    /// These are the kernels that bind a conv's residual and output (the conv kernels,
    /// Winograd's output transforms and split K's reduction); each entry point calls
    /// `init_write()` first (`tests/shaders.rs` checks both ways).
    pub fn has_write_step(self) -> bool {
        let b = self.bindings();
        b == CONV_BINDINGS || b == WINOGRAD_OUTPUT_BINDINGS || b == SPLIT_K_REDUCE_BINDINGS
    }

    /// The pipeline constants the kernel's pipeline is built with, beside the write step's
    /// `has_residual`: the pixels per group of the subgroup implicit GEMMs, the groups per
    /// channel block of the grouped ones, the lane order of the small tiles.
    pub fn constants(self) -> &'static [(&'static str, f64)] {
        match self {
            Kernel::ConvChannelLanes => &[("channel_lanes", 1.0)],
            Kernel::ConvSubgroup | Kernel::ConvSubgroup8 => &[("group_rows", 8.0)],
            Kernel::ConvSubgroupRgb => &[("group_rows", 8.0), ("x_lanes", 3.0)],
            Kernel::ConvSubgroup14 | Kernel::ConvSubgroup7 => &[("group_rows", 7.0)],
            Kernel::WinogradGemmSg14 | Kernel::WinogradGemmSg7 => &[("group_rows", 7.0)],
            Kernel::ConvSubgroupC128 => &[("group_rows", 8.0), ("col_groups", 2.0)],
            Kernel::ConvSubgroup14C128 => &[("group_rows", 7.0), ("col_groups", 2.0)],
            Kernel::ConvSubgroup14C256 => &[("group_rows", 7.0), ("col_groups", 4.0)],
            Kernel::ConvSubgroup8C256 => &[("group_rows", 8.0), ("col_groups", 4.0)],
            Kernel::ConvSubgroup7C256 => &[("group_rows", 7.0), ("col_groups", 4.0)],
            Kernel::ConvSubgroup16 | Kernel::ConvGroupedSg8 => &[("block_groups", 1.0)],
            Kernel::ConvGroupedSgB2 | Kernel::ConvGroupedSg8B2 => &[("block_groups", 2.0)],
            Kernel::ConvGroupedSgB4 | Kernel::ConvGroupedSg8B4 => &[("block_groups", 4.0)],
            _ => &[],
        }
    }

    /// Whether the kernel's module stages workgroup-memory tiles (the piece `tiled_stage`,
    /// whose pipeline constant `a_swizzle` it then has).
    pub fn stages_tiles(self) -> bool {
        shaders::file(self.entry().0)
            .is_some_and(|f| f.pieces.contains(&shaders::Piece::TiledStage))
    }

    /// Whether the kernel is offered only in u64-pairs builds: the subgroup GEMMs' wider
    /// channel blocks (see [`conv::ConvVariant::needs_u64_pairs`]) and the kernels of the
    /// files that exist only there ([`shaders::ShaderFile::pairs_only`]).
    pub fn needs_u64_pairs(self) -> bool {
        matches!(
            self,
            Kernel::ConvSubgroupC128
                | Kernel::ConvSubgroup14C128
                | Kernel::ConvSubgroup14C256
                | Kernel::ConvSubgroup8C256
                | Kernel::ConvSubgroup7C256
        ) || shaders::file(self.entry().0).is_some_and(|f| f.pairs_only)
    }

    /// `file:entry`, as shown in profiles.
    pub fn label(self) -> String {
        let (file, entry) = self.entry();
        format!("{file}:{entry}")
    }
}

/// Which pipeline of a kernel with the fused write step runs: whether its write step adds a
/// residual (the pipeline constant `has_residual`) and how it sees the output (the module's
/// [`OutputView`]). Kernels without a write step have one pipeline and ignore it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct WriteForm {
    pub residual: bool,
    pub view: OutputView,
}

impl WriteForm {
    /// The form of a write step into `channels` per pixel: u64-pair stores where they come in
    /// eights (vec4 where the kernel's build has no pairs, see [`Pipelines::get`]), vec4
    /// stores in fours.
    pub fn new(residual: bool, channels: usize) -> WriteForm {
        WriteForm {
            residual,
            view: OutputView::for_channels(channels),
        }
    }

    /// Every form, each once.
    pub fn all() -> impl Iterator<Item = WriteForm> {
        OutputView::ALL.into_iter().flat_map(|view| {
            [false, true]
                .into_iter()
                .map(move |residual| WriteForm { residual, view })
        })
    }

    pub(crate) fn index(self) -> usize {
        let view = match self.view {
            OutputView::Scalar => 0,
            OutputView::Vec4 => 1,
            OutputView::Pairs => 2,
        };
        self.residual as usize + 2 * view
    }
}

/// Workgroup counts for `n` workgroups laid out along x (≤ 65,535) and then y.
pub fn grid_1d(n: u32) -> [u32; 3] {
    let n = n.max(1);
    let x = n.min(65_535);
    [x, n.div_ceil(x), 1]
}

/// Workgroup counts for `n` workgroups along (y, z).
pub fn grid_yz(x: u32, n: u32) -> [u32; 3] {
    let n = n.max(1);
    let y = n.min(65_535);
    [x.max(1), y, n.div_ceil(y)]
}

#[cfg(test)]
mod kernel_index_tests {
    use super::Kernel;

    /// [`Pipelines`](super::Pipelines) indexes its cells by discriminant: `Kernel::ALL` must
    /// hold every kernel once, so the discriminants are exactly 0..ALL.len().
    #[test]
    fn all_lists_every_discriminant_once() {
        let mut seen = vec![false; Kernel::ALL.len()];
        for k in Kernel::ALL {
            let i = k as usize;
            assert!(i < seen.len() && !seen[i], "{k:?}: discriminant {i}");
            seen[i] = true;
        }
    }
}
