//! Shader modules of the project's own WGSL, made without wgpu's loop bounding.
//!
//! wgpu (from 25 on) compiles every WGSL loop with a 64-bit iteration counter and a break
//! after 2^64 iterations (`ShaderRuntimeChecks::force_loop_bounding`), so that a driver cannot
//! treat an endless loop as unreachable. On GPUs that counter has cost a great deal where a
//! compiler would otherwise unroll a loop or keep its values in registers (gfx-rs/wgpu#7698: a
//! compute pipeline from 0.1 to 10 ms), and the tiles' inner loops (`mac_chunk`'s 8 steps over
//! workgroup memory) are such loops. It buys nothing here: every loop in `shaders/` is a `for`
//! whose header alone advances its counter, by `++` or a positive constant, toward a bound that
//! is a constant or a size of the network (far below 2^32), so each ends
//! (`tests/shader_loops.rs` checks the form of every loop). On lavapipe it changes nothing:
//! resnet50 at batch 1 took 0.977 of its time with the counter (median of 6 alternating
//! rounds), and a first run's compiles as long (BENCHMARKS.md, thirty-fourth round).
//!
//! The other checks stay: index clamps on fixed-size arrays and guards on integer division.
//! `RESNET_LOOP_BOUNDING=1` keeps wgpu's counter (`scripts/gpu-bench.sh` times both); making
//! an engine refuses any value but `0` or `1`, as for the other switches.

/// Whether `RESNET_LOOP_BOUNDING=1` asks for wgpu's loop counter (read at each module, so that
/// the compile helpers' modules are the same as the model's and share the driver's cache).
pub fn loop_bounding() -> bool {
    super::device_caps::switch_or("RESNET_LOOP_BOUNDING", false)
}

/// The module of `source` (WGSL written in this repository) on `device`, labelled `label`.
pub fn create(device: &wgpu::Device, label: &str, source: String) -> wgpu::ShaderModule {
    let mut checks = wgpu::ShaderRuntimeChecks::checked();
    checks.force_loop_bounding = loop_bounding();
    let desc = wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    };
    // SAFETY: the only check turned off is the loop counter, and every loop of the project's
    // shaders ends (module docs); the source is ours, never a user's.
    unsafe { device.create_shader_module_trusted(desc, checks) }
}
