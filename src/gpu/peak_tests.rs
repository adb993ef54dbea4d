//! The probes must do the work they are credited with: the FMA chains' outputs equal the same
//! recurrence computed on the CPU (so no step is skipped or folded), and the copy copies.

use super::*;
use crate::gpu::pending::read_buffer;

fn engine() -> Engine {
    Engine::new().unwrap_or_else(|e| panic!("these tests need a GPU adapter: {e}"))
}

#[test]
fn probes_validate_with_naga() {
    for (name, src, caps) in [
        ("peak.wgsl", PEAK_WGSL, naga::valid::Capabilities::empty()),
        (
            "peak_f16.wgsl",
            PEAK_F16_WGSL,
            naga::valid::Capabilities::SHADER_FLOAT16,
        ),
    ] {
        let module = naga::front::wgsl::parse_str(src)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

/// Runs one FMA entry point with `iters` loop trips on 1 workgroup; returns its 256 outputs.
fn run_fma(engine: &Engine, source: &str, entry: &str, iters: u32) -> Vec<f32> {
    let ctx = &engine.ctx;
    let module = ctx
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: None,
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
    let out = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: 256 * 4,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: 256 * 4,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let params = fma_params_buffer(ctx, iters);
    let (pipeline, bind_group) = fma_pipeline(ctx, &module, entry, &out, &params);
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(1, 1, 1);
    }
    enc.copy_buffer_to_buffer(&out, 0, &readback, 0, 256 * 4);
    ctx.queue.submit([enc.finish()]);
    let bytes = read_buffer(ctx, &readback, 256 * 4, "test").unwrap_or_else(|e| panic!("{e}"));
    bytemuck::cast_slice(&bytes).to_vec()
}

/// The shader's recurrence on the CPU: `accumulators` vec4 chains of `steps` FMA steps each,
/// started at start(gid) + 0.5·k, summed over chains and lanes.
fn expected(gid: u32, accumulators: usize, steps: u32, f16: bool) -> f64 {
    let s = (gid & 1023) as f32 * 1e-4;
    let mut total = 0.0f64;
    for k in 0..accumulators {
        for lane in 0..4 {
            let a0 = s + 0.125 * lane as f32 + 0.5 * k as f32;
            if f16 {
                let (b, c) = (half::f16::from_f32(FMA_B), half::f16::from_f32(FMA_C));
                let mut a = half::f16::from_f32(a0);
                for _ in 0..steps {
                    a = half::f16::from_f32(a.to_f32().mul_add(b.to_f32(), c.to_f32()));
                }
                total += a.to_f64();
            } else {
                let mut a = a0;
                for _ in 0..steps {
                    a = a.mul_add(FMA_B, FMA_C);
                }
                total += a as f64;
            }
        }
    }
    total
}

fn check_fma(engine: &Engine, source: &str, f16: bool) {
    let iters = 2;
    for (entry, accumulators) in [("fma_x2", 2), ("fma_x8", 8)] {
        let got = run_fma(engine, source, entry, iters);
        let tol = if f16 { 2e-2 } else { 1e-5 };
        for (gid, &g) in got.iter().enumerate() {
            let want = expected(gid as u32, accumulators, iters * STEPS as u32, f16);
            // One loop trip more or less moves the result by several units: far outside tol.
            assert!(
                (g as f64 - want).abs() <= tol * want.abs().max(1.0),
                "{entry} (f16: {f16}) invocation {gid}: got {g}, expected {want}"
            );
        }
    }
}

#[test]
fn f32_fma_probe_computes_the_recurrence() {
    check_fma(&engine(), PEAK_WGSL, false);
}

#[test]
fn f16_fma_probe_computes_the_recurrence() {
    let e = engine();
    if !e.features().contains(wgpu::Features::SHADER_F16) {
        eprintln!("note: the adapter has no SHADER_F16; the f16 probe is not run");
        return;
    }
    check_fma(&e, PEAK_F16_WGSL, true);
}

#[test]
fn copy_probe_copies_every_element() {
    let e = engine();
    let ctx = &e.ctx;
    // 1000 vec4 with 2 per invocation over 2 workgroups: exercises the stride and the tail.
    let count = 1000u32;
    let bytes = count as u64 * 16;
    let (pipeline, bind_group, buffers) = copy_pipeline(ctx, bytes, count, 512, 2);
    let data: Vec<f32> = (0..count * 4).map(|i| i as f32 * 0.5 - 7.0).collect();
    ctx.queue
        .write_buffer(&buffers[0], 0, bytemuck::cast_slice(&data));
    let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(2, 1, 1);
    }
    enc.copy_buffer_to_buffer(&buffers[1], 0, &readback, 0, bytes);
    ctx.queue.submit([enc.finish()]);
    let got = read_buffer(ctx, &readback, bytes, "test").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bytemuck::cast_slice::<u8, f32>(&got), &data[..]);
}

#[test]
fn measure_reports_positive_finite_figures() {
    let e = engine();
    let p = measure(
        &e,
        &PeakOptions {
            target_s: 0.005,
            repeats: 1,
        },
    )
    .unwrap_or_else(|err| panic!("{err}"));
    assert!(p.f32_gflops.is_finite() && p.f32_gflops > 0.0, "{p:?}");
    assert!(
        p.bandwidth_gbs.is_finite() && p.bandwidth_gbs > 0.0,
        "{p:?}"
    );
    assert_eq!(
        p.f16_gflops.is_some(),
        e.features().contains(wgpu::Features::SHADER_F16),
        "{p:?}"
    );
    if let Some(f16) = p.f16_gflops {
        assert!(f16.is_finite() && f16 > 0.0, "{p:?}");
    }
}
