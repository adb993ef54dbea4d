//! A note for a CPU adapter that wgpu reached through its GL backend although Vulkan was among
//! the backends asked for, which means the machine has no Vulkan driver: a machine with Mesa's
//! GL drivers (llvmpipe) but without its Vulkan ones (lavapipe, package `mesa-vulkan-drivers`).
//!
//! wgpu's GL backend offers no subgroups and no 64-bit integers, so on llvmpipe the engine runs
//! the kernels without subgroups (`gemm1x1`, `winograd_f23`, `direct_vec4`): resnet50 at batch 1
//! took 2.07–2.23× lavapipe's time on the same 2 cores (BENCHMARKS.md, thirty-third round), and
//! nothing said so. Where the user chose GL (`--backend gl`, `WGPU_BACKEND=gl`) there is no note.

/// The note for an engine on the adapter `name` (its `backend` and `device_type`), made with
/// the backends `requested`; `None` where the adapter is not a CPU one on GL, or where Vulkan
/// was not asked for.
pub fn slower_backend_note(
    name: &str,
    backend: wgpu::Backend,
    device_type: wgpu::DeviceType,
    requested: wgpu::Backends,
) -> Option<String> {
    let gl_cpu = backend == wgpu::Backend::Gl && device_type == wgpu::DeviceType::Cpu;
    if !gl_cpu || !requested.contains(wgpu::Backends::VULKAN) {
        return None;
    }
    Some(format!(
        "note: running on `{name}` through wgpu's GL backend, as no Vulkan driver was found; \
         without subgroups there, resnet50 took about 2.2x the time it takes on Mesa's Vulkan \
         driver lavapipe on the same cores. Install it (Debian/Ubuntu package \
         `mesa-vulkan-drivers`; check with `vulkaninfo --summary`), or choose GL with \
         `--backend gl` to leave this note out"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::{Backend, Backends, DeviceType};

    fn note(backend: Backend, device_type: DeviceType, requested: Backends) -> Option<String> {
        slower_backend_note(
            "llvmpipe (LLVM 15.0.6, 256 bits)",
            backend,
            device_type,
            requested,
        )
    }

    #[test]
    fn only_a_cpu_adapter_on_gl_when_vulkan_was_asked_for() {
        let text = note(Backend::Gl, DeviceType::Cpu, Backends::all()).expect("a note");
        assert!(
            text.contains("mesa-vulkan-drivers") && text.contains("`llvmpipe"),
            "{text}"
        );
        let vulkan_and_gl = Backends::VULKAN | Backends::GL;
        assert!(note(Backend::Gl, DeviceType::Cpu, vulkan_and_gl).is_some());
        // GL chosen by the user.
        assert_eq!(note(Backend::Gl, DeviceType::Cpu, Backends::GL), None);
        // lavapipe itself, and GPUs on GL (where the gain is unmeasured).
        assert_eq!(
            note(Backend::Vulkan, DeviceType::Cpu, Backends::all()),
            None
        );
        assert_eq!(
            note(Backend::Gl, DeviceType::IntegratedGpu, Backends::all()),
            None
        );
    }
}
