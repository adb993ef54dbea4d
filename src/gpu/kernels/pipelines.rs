//! The pipelines of one device and precision: each kernel file parsed at the first use of one
//! of its kernels, each (kernel, write form) pipeline compiled on first use.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use super::compile_spread::{FirstLaunch, Spread};
use super::shaders::ShaderFile;
use super::{shaders, Access, Kernel, OutputView, Precision, WriteForm};

/// A kernel's pipeline and bind group layout.
pub struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// The pipelines of one device and precision, each compiled on first use: a driver spends
/// its compile time (lavapipe's LLVM runs at a pipeline's first dispatch, seconds to minutes
/// for the large subgroup GEMMs) only on the kernels a model runs.
///
/// A kernel with the fused write step ([`Kernel::has_write_step`]) has a pipeline per
/// [`WriteForm`] its file offers: a residual add that a conv does not have then costs nothing,
/// and an output of whole vec4s (or u64 pairs) is stored as such, where runtime flags would
/// still cost their masked loads and both paths on CPU drivers.
pub struct Pipelines {
    device: wgpu::Device,
    precision: Precision,
    /// How the files that offer both read their weights.
    weights: shaders::WeightView,
    /// Whether the files that offer them read weights as u64 pairs.
    u64_pairs: bool,
    /// Per kernel (by discriminant): whether its module has the u64-pairs output view, found
    /// once here so that [`Pipelines::get`], called for every dispatch recorded, only indexes.
    output_pairs: Vec<bool>,
    /// The file of each module (by file name and output view: only the scalar view for files
    /// without a write step; u64 pairs only in a u64-pairs build of a file that offers them),
    /// and the module once a kernel of it is first used.
    modules:
        HashMap<(&'static str, OutputView), (&'static ShaderFile, OnceLock<wgpu::ShaderModule>)>,
    /// Six cells per kernel (one per [`WriteForm`]), indexed by its discriminant
    /// (`Kernel::ALL` lists each once).
    cells: Vec<[OnceLock<Pipeline>; 6]>,
    /// Where the driver compiles at first dispatch: dispatching the kernels once, spread over
    /// several queues, before a workspace's first call ([`Spread`]).
    spread: Option<Spread>,
}

impl Pipelines {
    /// The pipelines of `precision` on `device`, none made yet; a file's module is parsed
    /// and checked at the first use of one of its kernels. Kernels that need subgroups only
    /// where the device has `SUBGROUP` (elsewhere [`Pipelines::get`] never sees them: the
    /// variants that use them are not offered, see [`super::conv::DeviceCaps`]). With
    /// `u64_pairs` (the device's [`super::conv::DeviceCaps::u64_pairs`]) the files that offer
    /// them read f32 weights ([`shaders::WeightView::Pairs`]) and store 8-channel outputs
    /// ([`OutputView::Pairs`]) as u64 pairs.
    pub fn new(device: &wgpu::Device, precision: Precision, u64_pairs: bool) -> Self {
        let subgroups = device.features().contains(wgpu::Features::SUBGROUP);
        let weights = shaders::WeightView::for_build(u64_pairs, precision);
        let mut modules = HashMap::new();
        for file in shaders::FILES
            .iter()
            .filter(|f| (subgroups || !f.subgroups) && f.built_in(precision, u64_pairs))
        {
            for &view in file.views() {
                if file.output_view(precision, view, u64_pairs) == view {
                    modules.insert((file.name, view), (file, OnceLock::new()));
                }
            }
        }
        let mut output_pairs = vec![false; Kernel::ALL.len()];
        for k in Kernel::ALL {
            output_pairs[k as usize] = modules.contains_key(&(k.entry().0, OutputView::Pairs));
        }
        Pipelines {
            device: device.clone(),
            precision,
            weights,
            u64_pairs: weights == shaders::WeightView::Pairs,
            output_pairs,
            modules,
            cells: Kernel::ALL.iter().map(|_| Default::default()).collect(),
            spread: None,
        }
    }

    /// These pipelines, dispatched once on several queues after [`Pipelines::compile`] makes
    /// them (where `spread` is `Some`).
    pub(crate) fn spreading(self, spread: Option<Spread>) -> Self {
        Pipelines { spread, ..self }
    }

    /// What spreading the first dispatches did so far, where they are spread.
    pub(crate) fn spread_stats(&self) -> Option<super::SpreadStats> {
        self.spread.as_ref().map(Spread::stats)
    }

    /// The device the pipelines are made on.
    pub(crate) fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The pipeline of `k` whose write step has the form `form` (kernels without a write step
    /// have one pipeline and ignore it; u64 pairs become vec4 where the kernel's file or this
    /// build has none), compiled now if this is its first use.
    pub fn get(&self, k: Kernel, form: WriteForm) -> &Pipeline {
        let form = self.form_of(k, form);
        self.cells[k as usize][form.index()].get_or_init(|| self.create(k, form))
    }

    /// The form whose pipeline `k` runs for `form`.
    fn form_of(&self, k: Kernel, form: WriteForm) -> WriteForm {
        if k.has_write_step() {
            let view = match form.view {
                OutputView::Pairs if !self.output_pairs[k as usize] => OutputView::Vec4,
                view => view,
            };
            WriteForm { view, ..form }
        } else {
            WriteForm::default()
        }
    }

    /// Compiles the pipelines of `uses` that are not compiled yet, on as many threads as
    /// there are cores (at most one per pipeline): lavapipe's compiles are single-threaded
    /// LLVM runs, up to a second each for the wide subgroup GEMMs, and a model's first
    /// workspace needs a dozen of them. Not on wgpu's GL backend, which compiles everything
    /// when the pipelines are made ([`super::super::context`]).
    pub fn compile(&self, uses: impl IntoIterator<Item = (Kernel, WriteForm)>) {
        let mut seen = HashSet::new();
        let todo: Vec<(Kernel, WriteForm)> = uses
            .into_iter()
            .map(|(k, form)| (k, self.form_of(k, form)))
            .filter(|&(k, form)| self.cells[k as usize][form.index()].get().is_none())
            .filter(|&(k, form)| seen.insert((k, form.index())))
            .collect();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(todo.len());
        if threads <= 1 {
            for &(k, form) in &todo {
                self.get(k, form);
            }
            return;
        }
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    while let Some(&(k, form)) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
                        self.get(k, form);
                    }
                });
            }
        });
    }

    /// Where the driver compiles a kernel at its first dispatch for the parameter values it
    /// meets (lavapipe), dispatches each of `launches` (kernel, write form, parameter bytes)
    /// once with no workgroups, spread over several queues ([`Spread`]), so that a call's
    /// first run finds them compiled; elsewhere does nothing. The caller makes their
    /// pipelines first, on every core ([`Pipelines::compile`]; one still missing is made when
    /// its launch is dispatched).
    pub(crate) fn dispatch_first<'a>(
        &self,
        launches: impl IntoIterator<Item = (Kernel, WriteForm, &'a [u8])>,
    ) {
        let Some(spread) = &self.spread else {
            return;
        };
        let launches: Vec<FirstLaunch> = launches
            .into_iter()
            .map(|(kernel, form, params)| FirstLaunch {
                kernel,
                form: self.form_of(kernel, form),
                params: params.to_vec(),
            })
            .collect();
        spread.run(self, launches);
    }

    /// Compiles every kernel this device can run now (what [`Pipelines::get`] would do on
    /// first use), in every write form whose module this build has; kernels offered only in
    /// u64-pairs builds only in those.
    pub fn compile_all(&self) {
        for &k in Kernel::ALL.iter() {
            if !self.u64_pairs && k.needs_u64_pairs() {
                continue;
            }
            let forms: Vec<WriteForm> = if k.has_write_step() {
                WriteForm::all().collect()
            } else {
                vec![WriteForm::default()]
            };
            for form in forms {
                let view = self.form_of(k, form).view;
                if self.modules.contains_key(&(k.entry().0, view)) {
                    self.get(k, form);
                }
            }
        }
    }

    fn create(&self, k: Kernel, form: WriteForm) -> Pipeline {
        let (file, entry) = k.entry();
        let (source, module) = self
            .modules
            .get(&(file, form.view))
            .expect("a kernel that needs subgroups runs only where the device has them");
        let module = module.get_or_init(|| {
            let src = source.assemble_with(self.precision, form.view, self.weights);
            super::shader_module::create(&self.device, file, src)
        });
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
        let constants = pipeline_constants(k, form, tile_swizzle());
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: Some(&pl),
                module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    // No kernel reads workgroup memory it has not written: the tiles' K loop
                    // (`tile_loop.wgsl`) stores a whole chunk, padding included, before the
                    // barrier that precedes its reads, and the pooled classifiers read back
                    // only the means they stored. So the zeroing WebGPU does by default (a
                    // pass over 16 KiB per workgroup of a tile) would be work for nothing.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        Pipeline { pipeline, layout }
    }
}

/// The pipeline constants of kernel `k`'s pipeline for write form `form`: the kernel's own
/// ([`Kernel::constants`]), the write step's `has_residual`, and `a_swizzle` false where the
/// kernel stages tiles and `swizzle` is off (a constant its module lacks would be an error).
fn pipeline_constants(k: Kernel, form: WriteForm, swizzle: bool) -> Vec<(&'static str, f64)> {
    let mut constants = k.constants().to_vec();
    if k.has_write_step() {
        constants.push(("has_residual", if form.residual { 1.0 } else { 0.0 }));
    }
    if k.stages_tiles() && !swizzle {
        constants.push(("a_swizzle", 0.0));
    }
    constants
}

/// Whether the workgroup-memory tiles store A with `tiled_stage.wgsl`'s column swizzle
/// (`a_col`, against bank conflicts on GPUs): yes unless `RESNET_TILE_SWIZZLE=0`, which
/// `scripts/gpu-bench.sh` sets to time the tiles without it. Read for each pipeline; making an
/// engine refuses any value but `0` or `1`.
pub fn tile_swizzle() -> bool {
    super::device_caps::switch_or("RESNET_TILE_SWIZZLE", true)
}

#[cfg(test)]
mod tests {
    use super::super::shaders::WeightView;
    use super::*;

    #[test]
    fn the_swizzle_switch_reaches_exactly_the_tiles() {
        let form = WriteForm {
            residual: true,
            view: OutputView::Vec4,
        };
        let has_swizzle_off =
            |k, swizzle| pipeline_constants(k, form, swizzle).contains(&("a_swizzle", 0.0));
        for k in [
            Kernel::ConvTiled,
            Kernel::ConvTiledPartial,
            Kernel::ConvTiled128,
            Kernel::WinogradGemmTiled,
        ] {
            assert!(k.stages_tiles(), "{k:?}");
            assert!(
                has_swizzle_off(k, false) && !has_swizzle_off(k, true),
                "{k:?}"
            );
        }
        // Exactly the modules that declare the constant get it (a constant a module lacks is an
        // error when the pipeline is made): split K's reduce shares conv2d_tiled.wgsl's.
        for k in Kernel::ALL {
            let file = shaders::file(k.entry().0).expect("every kernel has a file");
            let src = file.assemble_with(Precision::F32, OutputView::Vec4, WeightView::Vec4);
            let declares = src.contains("override a_swizzle");
            assert_eq!(k.stages_tiles(), declares, "{k:?}");
            assert_eq!(has_swizzle_off(k, false), declares, "{k:?}");
        }
        assert!(Kernel::SplitKReduce.stages_tiles() && !Kernel::ConvSubgroup14C256.stages_tiles());
        assert!(pipeline_constants(Kernel::ConvTiled, form, false).contains(&("has_residual", 1.0)));
    }
}
