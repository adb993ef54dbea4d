//! Kernel families: each WGSL entry point, the bindings it reads and writes (in the fixed
//! order inputs, weights, output, params), its parameter struct and its grid. Kernels build
//! their pipelines once and only describe dispatches; the executor records and submits.

pub mod conv;
pub mod conv_sg;
pub mod conv_strip;
pub mod eltwise;
pub mod layout;
pub mod linear;
pub mod pool;
pub mod shaders;
pub mod winograd;

use std::collections::HashMap;
use std::sync::OnceLock;

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
    /// Direct conv with small register tiles.
    ConvSmall,
    /// Implicit GEMM with weights shared across a subgroup (needs `SUBGROUP`), 16 pixels per
    /// invocation; and with 8 (small maps).
    ConvSubgroup,
    ConvSubgroup8,
    /// The same with 14 and 7 pixels per invocation (blocks of 112 and 56 pixels): `main` and
    /// `main8` with the pipeline constant `group_rows` at 7.
    ConvSubgroup14,
    ConvSubgroup7,
    /// The subgroup GEMM over 16- and 32-channel blocks (few output channels).
    ConvSubgroup16,
    ConvSubgroup32,
    /// 3×3 stride-1 convs over 16- and 32-channel blocks, one strip of an output row per
    /// invocation (few output channels).
    ConvStrip16,
    ConvStrip32,
    /// Grouped / depthwise / dilated direct conv.
    ConvGrouped,
    /// Winograd F(2,3): input transform, 16 GEMMs, output transform.
    WinogradInput,
    WinogradGemm,
    WinogradOutput,
    /// Winograd's GEMM pass with the weights shared across a subgroup, 16, 8 and 2 tiles per
    /// invocation.
    WinogradGemmSg16,
    WinogradGemmSg8,
    /// Winograd's subgroup GEMM with 16 tiles shared by the subgroup and lanes along the
    /// channels (the few tiles of small maps).
    WinogradGemmT16,
    /// Winograd F(4,3)'s input and output transforms (its GEMMs are the subgroup ones, over
    /// 36 products).
    Winograd4Input,
    Winograd4Output,
    Affine,
    Add,
    Relu,
    NchwToNhwc,
    ShortcutA,
    MaxPool,
    /// Max pool, four channels per invocation (C % 4 == 0).
    MaxPool4,
    GlobalAvgPool,
    Linear,
    /// Global average pool fused with the classifier; and over vec4s (in_f % 4 == 0).
    PoolLinear,
    PoolLinear4,
}

impl Kernel {
    pub const ALL: [Kernel; 33] = [
        Kernel::PoolLinear,
        Kernel::PoolLinear4,
        Kernel::Conv,
        Kernel::ConvVec4,
        Kernel::Conv1x1,
        Kernel::ConvTiled,
        Kernel::ConvSmall,
        Kernel::ConvSubgroup,
        Kernel::ConvSubgroup8,
        Kernel::ConvSubgroup14,
        Kernel::ConvSubgroup7,
        Kernel::ConvSubgroup16,
        Kernel::ConvSubgroup32,
        Kernel::ConvStrip16,
        Kernel::ConvStrip32,
        Kernel::ConvGrouped,
        Kernel::WinogradInput,
        Kernel::WinogradGemm,
        Kernel::WinogradOutput,
        Kernel::WinogradGemmSg16,
        Kernel::WinogradGemmSg8,
        Kernel::WinogradGemmT16,
        Kernel::Winograd4Input,
        Kernel::Winograd4Output,
        Kernel::Affine,
        Kernel::Add,
        Kernel::Relu,
        Kernel::NchwToNhwc,
        Kernel::ShortcutA,
        Kernel::MaxPool,
        Kernel::MaxPool4,
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
            Kernel::ConvSmall => ("conv2d_small.wgsl", "main"),
            Kernel::ConvSubgroup => ("conv_sg.wgsl", "main"),
            Kernel::ConvSubgroup8 => ("conv_sg.wgsl", "main8"),
            Kernel::ConvSubgroup14 => ("conv_sg.wgsl", "main"),
            Kernel::ConvSubgroup7 => ("conv_sg.wgsl", "main8"),
            Kernel::ConvSubgroup16 => ("conv_sg_narrow.wgsl", "c16"),
            Kernel::ConvSubgroup32 => ("conv_sg_narrow.wgsl", "c32"),
            Kernel::ConvStrip16 => ("conv_sg_strip.wgsl", "s16"),
            Kernel::ConvStrip32 => ("conv_sg_strip.wgsl", "s32"),
            Kernel::ConvGrouped => ("conv_grouped.wgsl", "main"),
            Kernel::WinogradInput => ("winograd.wgsl", "input"),
            Kernel::WinogradGemm => ("winograd.wgsl", "gemm"),
            Kernel::WinogradOutput => ("winograd.wgsl", "output"),
            Kernel::WinogradGemmSg16 => ("winograd_sg.wgsl", "gemm16"),
            Kernel::WinogradGemmSg8 => ("winograd_sg.wgsl", "gemm8"),
            Kernel::WinogradGemmT16 => ("winograd_sg.wgsl", "gemm_t16"),
            Kernel::Winograd4Input => ("winograd4.wgsl", "input"),
            Kernel::Winograd4Output => ("winograd4.wgsl", "output"),
            Kernel::Affine => ("eltwise.wgsl", "affine"),
            Kernel::Add => ("eltwise.wgsl", "add"),
            Kernel::Relu => ("eltwise.wgsl", "relu"),
            Kernel::NchwToNhwc => ("layout.wgsl", "nchw_to_nhwc"),
            Kernel::ShortcutA => ("layout.wgsl", "shortcut_a"),
            Kernel::MaxPool => ("pool.wgsl", "max_pool"),
            Kernel::MaxPool4 => ("pool.wgsl", "max_pool4"),
            Kernel::GlobalAvgPool => ("pool.wgsl", "global_avg_pool"),
            Kernel::Linear => ("linear.wgsl", "main"),
            Kernel::PoolLinear => ("linear.wgsl", "pool_linear"),
            Kernel::PoolLinear4 => ("linear.wgsl", "pool_linear4"),
        }
    }

    /// (binding number, access) of every binding the entry point uses, in binding order.
    pub fn bindings(self) -> &'static [(u32, Access)] {
        use Access::*;
        match self {
            Kernel::WinogradInput | Kernel::Winograd4Input => {
                &[(0, Read), (1, Write), (9, Uniform)]
            }
            Kernel::WinogradGemm
            | Kernel::WinogradGemmSg16
            | Kernel::WinogradGemmSg8
            | Kernel::WinogradGemmT16 => &[(2, Read), (3, Read), (4, Write), (9, Uniform)],
            Kernel::WinogradOutput | Kernel::Winograd4Output => WINOGRAD_OUTPUT_BINDINGS,
            Kernel::Conv
            | Kernel::ConvVec4
            | Kernel::Conv1x1
            | Kernel::ConvTiled
            | Kernel::ConvSmall
            | Kernel::ConvSubgroup
            | Kernel::ConvSubgroup8
            | Kernel::ConvSubgroup14
            | Kernel::ConvSubgroup7
            | Kernel::ConvSubgroup16
            | Kernel::ConvSubgroup32
            | Kernel::ConvStrip16
            | Kernel::ConvStrip32
            | Kernel::ConvGrouped => CONV_BINDINGS,
            Kernel::Affine => &[(0, Read), (5, Read), (2, Read), (3, Write), (4, Uniform)],
            Kernel::Add => &[(0, Read), (1, Read), (3, Write), (4, Uniform)],
            Kernel::Relu => &[(0, Read), (3, Write), (4, Uniform)],
            Kernel::ShortcutA => &[(3, Read), (1, Write), (2, Uniform)],
            Kernel::NchwToNhwc | Kernel::MaxPool | Kernel::MaxPool4 | Kernel::GlobalAvgPool => {
                &[(0, Read), (1, Write), (2, Uniform)]
            }
            Kernel::Linear | Kernel::PoolLinear | Kernel::PoolLinear4 => {
                &[(0, Read), (1, Read), (2, Read), (3, Write), (4, Uniform)]
            }
        }
    }

    /// Whether the entry point stores through the fused write step
    /// (`shaders/common/write_step.wgsl`), whose pipeline constant `has_residual` says whether
    /// it adds a residual and whose module's output view how it stores: such a kernel has four
    /// pipelines (see [`Pipelines::get`]).
    /// These are the kernels that bind a conv's residual and output (the conv kernels and
    /// Winograd's output transforms); each entry point calls `init_write()` first
    /// (`tests/shaders.rs` checks both ways).
    pub fn has_write_step(self) -> bool {
        let b = self.bindings();
        b == CONV_BINDINGS || b == WINOGRAD_OUTPUT_BINDINGS
    }

    /// The pipeline constants the kernel's pipeline is built with, beside the write step's
    /// `has_residual`: the pixels per group of the subgroup implicit GEMMs.
    pub fn constants(self) -> &'static [(&'static str, f64)] {
        match self {
            Kernel::ConvSubgroup | Kernel::ConvSubgroup8 => &[("group_rows", 8.0)],
            Kernel::ConvSubgroup14 | Kernel::ConvSubgroup7 => &[("group_rows", 7.0)],
            _ => &[],
        }
    }

    /// `file:entry`, as shown in profiles.
    pub fn label(self) -> String {
        let (file, entry) = self.entry();
        format!("{file}:{entry}")
    }
}

/// Storage precision of activations and conv weights (arithmetic is f32 either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    #[default]
    F32,
    /// f16 storage; needs the adapter's `SHADER_F16`.
    F16,
}

impl Precision {
    /// Bytes of one stored activation.
    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "f32" => Ok(Precision::F32),
            "f16" => Ok(Precision::F16),
            _ => Err(crate::Error::InvalidInput(format!(
                "precision `{s}`: expected f32 or f16"
            ))),
        }
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

    fn index(self) -> usize {
        let view = match self.view {
            OutputView::Scalar => 0,
            OutputView::Vec4 => 1,
            OutputView::Pairs => 2,
        };
        self.residual as usize + 2 * view
    }
}

/// A kernel's pipeline and bind group layout.
pub struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// The pipelines of one device and precision, each compiled on first use: a driver that
/// compiles at pipeline creation (lavapipe JIT-compiles every entry point through LLVM, seconds
/// for the large subgroup GEMMs) then spends that time only on the kernels a model runs.
///
/// A kernel with the fused write step ([`Kernel::has_write_step`]) has a pipeline per
/// [`WriteForm`] its file offers: a residual add that a conv does not have then costs nothing,
/// and an output of whole vec4s (or u64 pairs) is stored as such, where runtime flags would
/// still cost their masked loads and both paths on CPU drivers.
pub struct Pipelines {
    device: wgpu::Device,
    precision: Precision,
    /// Whether this build moves 8 f32 channels per u64-pair access where the files offer it.
    u64_pairs: bool,
    /// The module of each file and output view (only the scalar view for files without a
    /// write step; u64 pairs only in a u64-pairs build of a file that offers them).
    modules: HashMap<(&'static str, OutputView), wgpu::ShaderModule>,
    /// Six cells per kernel (one per [`WriteForm`]), indexed by its discriminant
    /// (`Kernel::ALL` lists each once).
    cells: Vec<[OnceLock<Pipeline>; 6]>,
}

impl Pipelines {
    /// Parses every kernel file for `precision` (cheap: naga only); kernels that need subgroups
    /// only where the device has `SUBGROUP` (elsewhere [`Pipelines::get`] never sees them: the
    /// variants that use them are not offered, see [`conv::DeviceCaps`]). With `u64_pairs`
    /// (the device's [`conv::DeviceCaps::u64_pairs`]) the files that offer them read f32
    /// weights ([`shaders::WeightView::Pairs`]) and store 8-channel outputs
    /// ([`OutputView::Pairs`]) as u64 pairs.
    pub fn new(device: &wgpu::Device, precision: Precision, u64_pairs: bool) -> Self {
        let subgroups = device.features().contains(wgpu::Features::SUBGROUP);
        let weights = shaders::WeightView::for_build(u64_pairs, precision);
        let mut modules = HashMap::new();
        for file in shaders::FILES.iter().filter(|f| subgroups || !f.subgroups) {
            for &view in file.views() {
                if file.output_view(precision, view, u64_pairs) != view {
                    continue;
                }
                let src = file.assemble_with(precision, view, weights);
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(file.name),
                    source: wgpu::ShaderSource::Wgsl(src.into()),
                });
                modules.insert((file.name, view), module);
            }
        }
        Pipelines {
            device: device.clone(),
            precision,
            u64_pairs,
            modules,
            cells: Kernel::ALL.iter().map(|_| Default::default()).collect(),
        }
    }

    /// The pipeline of `k` whose write step has the form `form` (kernels without a write step
    /// have one pipeline and ignore it; u64 pairs become vec4 where the kernel's file or this
    /// build has none), compiled now if this is its first use.
    pub fn get(&self, k: Kernel, form: WriteForm) -> &Pipeline {
        let form = if k.has_write_step() {
            let file = shaders::file(k.entry().0).expect("every kernel's file is in FILES");
            WriteForm {
                view: file.output_view(self.precision, form.view, self.u64_pairs),
                ..form
            }
        } else {
            WriteForm::default()
        };
        self.cells[k as usize][form.index()].get_or_init(|| self.create(k, form))
    }

    /// Compiles every kernel this device can run now (what [`Pipelines::get`] would do on
    /// first use).
    pub fn compile_all(&self) {
        for &k in Kernel::ALL.iter() {
            if self
                .modules
                .contains_key(&(k.entry().0, OutputView::Scalar))
            {
                if k.has_write_step() {
                    for form in WriteForm::all() {
                        self.get(k, form);
                    }
                } else {
                    self.get(k, WriteForm::default());
                }
            }
        }
    }

    fn create(&self, k: Kernel, form: WriteForm) -> Pipeline {
        let (file, entry) = k.entry();
        let module = self
            .modules
            .get(&(file, form.view))
            .expect("a kernel that needs subgroups runs only where the device has them");
        let mut label = k.label();
        if form.residual {
            label.push_str("+residual");
        }
        match form.view {
            OutputView::Scalar => {}
            OutputView::Vec4 => label.push_str("+vec4"),
            OutputView::Pairs => label.push_str("+pairs"),
        }
        let entries: Vec<wgpu::BindGroupLayoutEntry> = k
            .bindings()
            .iter()
            .map(|&(binding, access)| wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: match access {
                    Access::Uniform => wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    _ => wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage {
                            read_only: access == Access::Read,
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                },
                count: None,
            })
            .collect();
        let layout = self
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(&label),
                entries: &entries,
            });
        let pl = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(&label),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let mut constants: Vec<(&str, f64)> = k.constants().to_vec();
        if k.has_write_step() {
            constants.push(("has_residual", if form.residual { 1.0 } else { 0.0 }));
        }
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: Some(&pl),
                module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    ..Default::default()
                },
                cache: None,
            });
        Pipeline { pipeline, layout }
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
