//! The device's roofline: f32 (and f16) FMA throughput and memory bandwidth, measured with the
//! probes of `shaders/peak.wgsl` and `shaders/peak_f16.wgsl`.
//!
//! - GFLOP/s = invocations · iters · 8 steps · ACC accumulators · 4 lanes · 2 / seconds, the
//!   best of the 2- and 8-accumulator variants (see the shader for why both);
//! - GB/s = 2 · bytes copied / seconds (one read and one write per byte: STREAM "copy").
//!
//! Each probe is first scaled (loop trips for FMA, copies per pass for bandwidth) until one
//! measurement lasts about [`PeakOptions::target_s`], then measured `repeats` times; the fastest
//! repeat counts, as a peak should. Times come from GPU timestamps around the pass where the
//! device has them, otherwise from wall clock around submit-and-wait.

use std::time::Instant;

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use super::context::{Context, Engine};
use super::kernels::{grid_1d, shader_module};
use super::timer::{PassTimer, Timing};
use crate::error::Result;

const PEAK_WGSL: &str = include_str!("../../shaders/peak.wgsl");
const PEAK_F16_WGSL: &str = include_str!("../../shaders/peak_f16.wgsl");

/// Workgroups of the FMA probes (256 invocations each): enough to fill a large GPU several
/// times; a CPU device (a few cores × 8–16 lanes) is full with far fewer, and fewer keep the
/// shortest probe short there.
fn fma_workgroups(ctx: &Context) -> u32 {
    if ctx.info.device_type == wgpu::DeviceType::Cpu {
        64
    } else {
        4096
    }
}
/// FMA steps per loop trip per accumulator, and FLOPs per step of a vec4 accumulator.
const STEPS: f64 = 8.0;
const FLOP_PER_VEC4_FMA: f64 = 8.0;
/// b and c of the FMA chains (both exact in f16; the chains converge to 1).
const FMA_B: f32 = 0.875;
const FMA_C: f32 = 0.125;

/// How long and how often to measure.
#[derive(Clone, Copy, Debug)]
pub struct PeakOptions {
    /// Aim for measurements of about this many seconds.
    pub target_s: f64,
    /// Measurements per probe after scaling; the best one counts.
    pub repeats: usize,
}

impl Default for PeakOptions {
    fn default() -> Self {
        // Five repeats: on a shared machine the best of a few catches a quiet moment.
        PeakOptions {
            target_s: 0.05,
            repeats: 5,
        }
    }
}

/// The measured roofline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peak {
    pub f32_gflops: f64,
    /// `None` where the device has no `SHADER_F16`.
    pub f16_gflops: Option<f64>,
    pub bandwidth_gbs: f64,
    pub timing: Timing,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct FmaParams {
    iters: u32,
    b: f32,
    c: f32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct CopyParams {
    count: u32,
    stride: u32,
    per_thread: u32,
    _pad: u32,
}

/// Measures the roofline of the engine's device.
pub fn measure(engine: &Engine, opts: &PeakOptions) -> Result<Peak> {
    let ctx = &engine.ctx;
    ctx.scoped("measuring the device peak", || {
        let timer = PassTimer::new(ctx, 1)?;
        let f32_gflops = fma_gflops(ctx, timer.as_ref(), PEAK_WGSL, opts)?;
        let f16_gflops = if ctx.features.contains(wgpu::Features::SHADER_F16) {
            Some(fma_gflops(ctx, timer.as_ref(), PEAK_F16_WGSL, opts)?)
        } else {
            None
        };
        let bandwidth_gbs = copy_gbs(ctx, timer.as_ref(), opts)?;
        Ok(Peak {
            f32_gflops,
            f16_gflops,
            bandwidth_gbs,
            timing: if timer.is_some() {
                Timing::Timestamps
            } else {
                Timing::SubmitAndWait
            },
        })
    })
}

/// Times one pass that `record` fills; seconds.
fn time_pass(
    ctx: &Context,
    timer: Option<&PassTimer>,
    record: &dyn Fn(&mut wgpu::ComputePass<'_>),
) -> Result<f64> {
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("peak probe"),
            timestamp_writes: timer.map(|t| t.writes(0)),
        });
        record(&mut pass);
    }
    let mut cmds = vec![enc.finish()];
    if let Some(t) = timer {
        cmds.push(t.resolve(ctx, 1));
    }
    let start = Instant::now();
    ctx.queue.submit(cmds);
    ctx.wait("running a peak probe")?;
    let wall = start.elapsed().as_secs_f64();
    match timer {
        Some(t) => Ok(t.read(ctx, 1)?.seconds.first().copied().unwrap_or(wall)),
        None => Ok(wall),
    }
}

/// Scales `size` (starting at `initial`) until one measurement lasts about `target_s`, then
/// returns (size, best seconds of `repeats` measurements).
fn calibrate(
    opts: &PeakOptions,
    initial: u32,
    max: u32,
    mut measure: impl FnMut(u32) -> Result<f64>,
) -> Result<(u32, f64)> {
    let mut size = initial.clamp(1, max);
    // The first run of a pipeline can include driver work (compilation, first touch of the
    // buffers): it does not count.
    measure(size)?;
    let mut t = measure(size)?;
    while t < opts.target_s / 2.0 && size < max {
        // Grow by the missing factor (at most 16× per step, so one bad reading cannot explode).
        let factor = (opts.target_s / t.max(1e-9)).clamp(2.0, 16.0);
        size = ((size as f64 * factor) as u32).clamp(size + 1, max);
        t = measure(size)?;
    }
    let mut best = t;
    for _ in 1..opts.repeats.max(1) {
        best = best.min(measure(size)?);
    }
    Ok((size, best))
}

fn fma_gflops(
    ctx: &Context,
    timer: Option<&PassTimer>,
    source: &str,
    opts: &PeakOptions,
) -> Result<f64> {
    let module = shader_module::create(&ctx.device, "peak FMA probe", source.to_string());
    let workgroups = fma_workgroups(ctx);
    let invocations = workgroups * 256;
    let out = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("peak FMA output"),
        size: invocations as u64 * 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let params = fma_params_buffer(ctx, 1);
    let mut best: f64 = 0.0;
    for (entry, accumulators) in [("fma_x2", 2.0), ("fma_x8", 8.0)] {
        let (pipeline, bind_group) = fma_pipeline(ctx, &module, entry, &out, &params);
        let (iters, seconds) = calibrate(opts, 1, 1 << 24, |iters| {
            ctx.queue.write_buffer(
                &params,
                0,
                bytemuck::bytes_of(&FmaParams {
                    iters,
                    b: FMA_B,
                    c: FMA_C,
                    _pad: 0,
                }),
            );
            time_pass(ctx, timer, &|pass| {
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups(workgroups, 1, 1);
            })
        })?;
        let flops = invocations as f64 * iters as f64 * STEPS * accumulators * FLOP_PER_VEC4_FMA;
        best = best.max(flops / seconds.max(1e-12) / 1e9);
    }
    Ok(best)
}

fn fma_params_buffer(ctx: &Context, iters: u32) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("peak FMA params"),
            contents: bytemuck::bytes_of(&FmaParams {
                iters,
                b: FMA_B,
                c: FMA_C,
                _pad: 0,
            }),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

fn fma_pipeline(
    ctx: &Context,
    module: &wgpu::ShaderModule,
    entry: &str,
    out: &wgpu::Buffer,
    params: &wgpu::Buffer,
) -> (wgpu::ComputePipeline, wgpu::BindGroup) {
    let pipeline = ctx
        .device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
    let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(entry),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: out.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: params.as_entire_binding(),
            },
        ],
    });
    (pipeline, bind_group)
}

/// Bytes of each copy buffer: far beyond any cache (a GPU's L2 is tens of MiB, a CPU's L3 less),
/// within the binding limit, and smaller on CPU devices where it is host memory.
fn copy_bytes(ctx: &Context) -> u64 {
    let want: u64 = if ctx.info.device_type == wgpu::DeviceType::Cpu {
        64 << 20
    } else {
        256 << 20
    };
    let limit = ctx
        .limits
        .max_storage_buffer_binding_size
        .min(ctx.limits.max_buffer_size);
    want.min(limit) / 16 * 16
}

fn copy_gbs(ctx: &Context, timer: Option<&PassTimer>, opts: &PeakOptions) -> Result<f64> {
    let bytes = copy_bytes(ctx);
    let count = (bytes / 16) as u32;
    let per_thread = 4u32;
    let workgroups = count.div_ceil(256 * per_thread);
    let grid = grid_1d(workgroups);
    let stride = grid[0] * grid[1] * 256;
    let (pipeline, bind_group, _buffers) = copy_pipeline(ctx, bytes, count, stride, per_thread);
    let (copies, seconds) = calibrate(opts, 1, 4096, |copies| {
        time_pass(ctx, timer, &|pass| {
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            for _ in 0..copies {
                pass.dispatch_workgroups(grid[0], grid[1], grid[2]);
            }
        })
    })?;
    Ok(2.0 * bytes as f64 * copies as f64 / seconds.max(1e-12) / 1e9)
}

fn copy_pipeline(
    ctx: &Context,
    bytes: u64,
    count: u32,
    stride: u32,
    per_thread: u32,
) -> (wgpu::ComputePipeline, wgpu::BindGroup, [wgpu::Buffer; 3]) {
    let device = &ctx.device;
    let module = shader_module::create(device, "peak copy probe", PEAK_WGSL.to_string());
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("copy"),
        layout: None,
        module: &module,
        entry_point: Some("copy"),
        compilation_options: Default::default(),
        cache: None,
    });
    let buffer = |label: &str, usage: wgpu::BufferUsages| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage,
            mapped_at_creation: false,
        })
    };
    // Storage buffers start zeroed; the values copied do not matter to the time.
    let src = buffer(
        "peak copy source",
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    );
    let dst = buffer(
        "peak copy destination",
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    );
    let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("peak copy params"),
        contents: bytemuck::bytes_of(&CopyParams {
            count,
            stride,
            per_thread,
            _pad: 0,
        }),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("copy"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 2,
                resource: src.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 3,
                resource: dst.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 4,
                resource: params.as_entire_binding(),
            },
        ],
    });
    (pipeline, bind_group, [src, dst, params])
}

#[cfg(test)]
#[path = "peak_tests.rs"]
mod tests;
