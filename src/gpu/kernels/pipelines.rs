//! The pipelines of one device and precision: every kernel file parsed once, each
//! (kernel, write form) pipeline compiled on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::{shaders, Access, Kernel, OutputView, Precision, WriteForm};

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
    /// Per kernel (by discriminant): whether its module has the u64-pairs output view, found
    /// once here so that [`Pipelines::get`], called for every dispatch recorded, only indexes.
    output_pairs: Vec<bool>,
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
    /// variants that use them are not offered, see [`super::conv::DeviceCaps`]). With
    /// `u64_pairs` (the device's [`super::conv::DeviceCaps::u64_pairs`]) the files that offer them read f32
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
        let mut output_pairs = vec![false; Kernel::ALL.len()];
        for k in Kernel::ALL {
            output_pairs[k as usize] = modules.contains_key(&(k.entry().0, OutputView::Pairs));
        }
        Pipelines {
            device: device.clone(),
            output_pairs,
            modules,
            cells: Kernel::ALL.iter().map(|_| Default::default()).collect(),
        }
    }

    /// The pipeline of `k` whose write step has the form `form` (kernels without a write step
    /// have one pipeline and ignore it; u64 pairs become vec4 where the kernel's file or this
    /// build has none), compiled now if this is its first use.
    pub fn get(&self, k: Kernel, form: WriteForm) -> &Pipeline {
        let form = if k.has_write_step() {
            let view = match form.view {
                OutputView::Pairs if !self.output_pairs[k as usize] => OutputView::Vec4,
                view => view,
            };
            WriteForm { view, ..form }
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
