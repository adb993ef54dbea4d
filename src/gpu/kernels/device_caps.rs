//! What a device offers that the choice of kernels depends on ([`DeviceCaps`]): its type,
//! usable subgroups, u64 pairs, whether the subgroup GEMMs' wide channel blocks pay, and the
//! threads a CPU adapter runs workgroups on. Read once per device from the adapter, its
//! enabled features and the environment (`RESNET_SUBGROUPS=0`, `RESNET_U64_PAIRS=0`,
//! `RESNET_WIDE_BLOCKS`, `LP_NUM_THREADS`, `RESNET_DEVICE_TYPE`).

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
    /// Whether the subgroup GEMMs may take their 128- and 256-channel blocks
    /// ([`super::conv_sg::widen`]), up to 14 pixels × 256 channels of accumulators per
    /// invocation. On Mesa 22.3's llvmpipe they ran resnet50's layers in 0.81–0.91 of the
    /// 64-channel tiles' time, on Mesa 25.0's in 1.08–1.30 (BENCHMARKS.md, twenty-third
    /// round), and Mesa 25 compiles them several times slower. Loading every group's weights
    /// before the multiply-adds brought Mesa 25 to 0.89–1.01 but cost Mesa 22 about 7 %
    /// (twenty-fourth round), so the kernel keeps its order. True except on llvmpipe from
    /// Mesa 25 on (read from `AdapterInfo::driver_info`); `RESNET_WIDE_BLOCKS=0` or `=1`
    /// decides instead.
    pub wide_blocks: bool,
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
        let off = |var: &str| switch(var).map(|on| on == Some(false));
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
        let wide_blocks = switch("RESNET_WIDE_BLOCKS")?
            .unwrap_or_else(|| wide_blocks_pay(&info.name, &info.driver_info));
        Ok(DeviceCaps {
            device_type,
            subgroups: !off("RESNET_SUBGROUPS")?
                && features.contains(wgpu::Features::SUBGROUP)
                && info.subgroup_min_size >= super::conv_sg::MIN_SUBGROUP,
            u64_pairs: !off("RESNET_U64_PAIRS")?
                && device_type == wgpu::DeviceType::Cpu
                && features.contains(wgpu::Features::SHADER_INT64),
            wide_blocks,
            threads: cpu_threads(),
            slow_compiles: true,
        })
    }
}

/// An on/off environment variable (`RESNET_SUBGROUPS`, `RESNET_U64_PAIRS`, `RESNET_WIDE_BLOCKS`,
/// `RESNET_SUBMIT_GROUPS`, `RESNET_TIMESTAMPS`, `RESNET_LOOP_BOUNDING`, `RESNET_TILE_SWIZZLE`):
/// `None` where unset, `0` off, `1` on, and any other value an error naming it (rather than a
/// value such as `off` silently meaning on).
pub(crate) fn switch(var: &str) -> crate::Result<Option<bool>> {
    match std::env::var(var).as_deref() {
        Err(_) => Ok(None),
        Ok("0") => Ok(Some(false)),
        Ok("1") => Ok(Some(true)),
        Ok(other) => Err(crate::Error::InvalidInput(format!(
            "{var}=`{other}`: expected `0` or `1` (or leave it unset)"
        ))),
    }
}

/// The switches read where they are used (timing, shader modules, pipelines) rather than into
/// [`DeviceCaps`]; making an engine checks their values first, so that a bad one is an error
/// then, and [`switch_or`] reads them afterwards.
pub(crate) const READ_WHERE_USED: [&str; 3] = [
    "RESNET_TIMESTAMPS",
    "RESNET_LOOP_BOUNDING",
    "RESNET_TILE_SWIZZLE",
];

/// The value of switch `var`, one of [`READ_WHERE_USED`], or `default` where it is unset (its
/// value was checked when the engine was made).
pub(crate) fn switch_or(var: &str, default: bool) -> bool {
    switch(var).ok().flatten().unwrap_or(default)
}

/// Whether the subgroup GEMMs' wide channel blocks pay on the adapter called `name` whose
/// driver says `driver_info`: not on llvmpipe from Mesa 25 on (measured on 25.0.7; 22.3.6
/// gains from them, and the releases between were not measured, so they keep them).
fn wide_blocks_pay(name: &str, driver_info: &str) -> bool {
    !(name.contains("llvmpipe") && mesa_major(driver_info).is_some_and(|m| m >= 25))
}

/// The major version of the Mesa release that `driver_info` names (`Mesa 25.0.7-2~bpo12+1
/// (LLVM 15.0.6)`, or GL's `4.5 (Core Profile) Mesa 22.3.6`), if it names one.
fn mesa_major(driver_info: &str) -> Option<u32> {
    let after = driver_info.split("Mesa ").nth(1)?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesa_releases_are_read_from_the_driver_info() {
        assert_eq!(mesa_major("Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)"), Some(25));
        assert_eq!(mesa_major("Mesa 22.3.6 (LLVM 15.0.6)"), Some(22));
        assert_eq!(mesa_major("4.5 (Core Profile) Mesa 22.3.6"), Some(22));
        assert_eq!(mesa_major("560.35.03"), None);
        assert_eq!(mesa_major("Mesa "), None);
    }

    #[test]
    fn wide_blocks_are_left_out_on_llvmpipe_from_mesa_25() {
        let llvmpipe = "llvmpipe (LLVM 15.0.6, 256 bits)";
        assert!(wide_blocks_pay(llvmpipe, "Mesa 22.3.6 (LLVM 15.0.6)"));
        assert!(wide_blocks_pay(llvmpipe, "Mesa 24.2.8 (LLVM 19.1.7)"));
        assert!(!wide_blocks_pay(
            llvmpipe,
            "Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)"
        ));
        assert!(!wide_blocks_pay(llvmpipe, "Mesa 26.1.0 (LLVM 20.1.0)"));
        assert!(wide_blocks_pay(
            "AMD Radeon RX 7900 XTX (RADV NAVI31)",
            "Mesa 25.0.7"
        ));
        assert!(wide_blocks_pay("NVIDIA H200", "560.35.03"));
    }
}
