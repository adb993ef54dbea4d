//! What a device offers that the choice of kernels depends on ([`DeviceCaps`]): its type,
//! usable subgroups, u64 pairs, and the threads a CPU adapter runs workgroups on. Read once
//! per device from the adapter, its enabled features and the environment
//! (`RESNET_SUBGROUPS=0`, `RESNET_U64_PAIRS=0`, `LP_NUM_THREADS`, `RESNET_DEVICE_TYPE`).

/// What a device offers that the choice of conv variant depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceCaps {
    pub device_type: wgpu::DeviceType,
    /// `SUBGROUP` enabled and every subgroup at least [`conv_sg::MIN_SUBGROUP`] invocations
    /// (`AdapterInfo::subgroup_min_size`); `RESNET_SUBGROUPS=0` turns it off.
    ///
    /// [`conv_sg::MIN_SUBGROUP`]: super::conv_sg::MIN_SUBGROUP
    pub subgroups: bool,
    /// The f32 subgroup GEMMs move 8 channels per `vec4<u64>` load or store: their weights
    /// ([`super::WeightView::Pairs`]) and, in `sg_gemm`, the output and residual
    /// ([`super::OutputView::Pairs`]); so do Winograd F(4,3)'s transforms
    /// ([`super::winograd::transform_passes`]). CPU adapters (whose storage accesses are loops
    /// over the lanes, costed per access more than per byte) with `SHADER_INT64` enabled;
    /// `RESNET_U64_PAIRS=0` turns it off.
    pub u64_pairs: bool,
    /// The threads a CPU adapter runs workgroups on (each workgroup runs on one): llvmpipe
    /// starts one per core unless `LP_NUM_THREADS` says otherwise. The subgroup GEMMs use
    /// their wider channel blocks only where the grid keeps every thread busy.
    pub threads: usize,
    /// Whether the heuristic may choose kernels that compile slowly
    /// ([`super::conv::ConvVariant::compiles_slowly`]): a model's [`crate::gpu::options::Compile`],
    /// true unless it asks for quick compiles.
    pub slow_compiles: bool,
}

impl DeviceCaps {
    /// The capabilities as models of `precision` see them: u64 pairs are f32 views, so f16
    /// builds have none.
    pub fn for_precision(self, precision: super::Precision) -> Self {
        DeviceCaps {
            u64_pairs: self.u64_pairs && precision == super::Precision::F32,
            ..self
        }
    }

    /// The capabilities as the heuristic sees them for a model that compiles as `compile`
    /// says.
    pub fn for_compile(self, compile: crate::gpu::options::Compile) -> Self {
        DeviceCaps {
            slow_compiles: compile == crate::gpu::options::Compile::Full,
            ..self
        }
    }

    /// The capabilities of an adapter with `features` enabled on its device.
    /// `RESNET_DEVICE_TYPE=gpu` (or `cpu`) makes the kernel choice treat the adapter as a
    /// discrete GPU (or a CPU adapter) whatever it reports: the GPU plan (workgroup-memory
    /// tiles, split K, vec4 weights) can then be run and checked on a CPU driver. Any other
    /// value is an error.
    pub fn new(info: &wgpu::AdapterInfo, features: wgpu::Features) -> crate::Result<Self> {
        let off = |var: &str| std::env::var(var).is_ok_and(|v| v == "0");
        let device_type = match std::env::var("RESNET_DEVICE_TYPE").as_deref() {
            Ok("gpu") => wgpu::DeviceType::DiscreteGpu,
            Ok("cpu") => wgpu::DeviceType::Cpu,
            Ok(other) => {
                return Err(crate::Error::InvalidInput(format!(
                    "RESNET_DEVICE_TYPE=`{other}`: expected `gpu` or `cpu` (or leave it unset)"
                )))
            }
            Err(_) => info.device_type,
        };
        Ok(DeviceCaps {
            device_type,
            subgroups: !off("RESNET_SUBGROUPS")
                && features.contains(wgpu::Features::SUBGROUP)
                && info.subgroup_min_size >= super::conv_sg::MIN_SUBGROUP,
            u64_pairs: !off("RESNET_U64_PAIRS")
                && device_type == wgpu::DeviceType::Cpu
                && features.contains(wgpu::Features::SHADER_INT64),
            threads: cpu_threads(),
            slow_compiles: true,
        })
    }
}

/// llvmpipe's worker threads: `LP_NUM_THREADS` where set to a number, else the cores this
/// process may use.
fn cpu_threads() -> usize {
    std::env::var("LP_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}
