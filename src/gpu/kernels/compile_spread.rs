//! Spreading a CPU driver's shader compiles over the cores.
//!
//! Lavapipe (Mesa's Vulkan driver on the CPU) compiles a compute pipeline through LLVM at its
//! first dispatch, on the device's one queue thread, not when the pipeline is made; and it
//! compiles a kernel again for each set of parameter values it meets, since it folds the
//! values of the uniform buffer into the shader (Mesa's uniform inlining) where that shrinks
//! the shader by half. A model's first call therefore compiles each of its distinct launches
//! one after another on one core: minutes for resnet50's wide subgroup tiles with an empty
//! shader cache, while the other cores wait.
//!
//! Here each distinct launch (kernel, write form, parameter bytes) that a workspace will run
//! is dispatched once with no workgroups and its real parameters, on placeholder storage
//! buffers: the driver compiles it and runs nothing. The launches go in groups of one
//! pipeline, the kernels that compile longest first. This device's queue takes the groups in
//! turn; once one of its launches runs for over a second (a compile: a load from the shader
//! cache takes a fraction of that), helper devices on the same adapter start, one per further
//! core, and each queue takes the next group when it has finished one. Code compiled on a
//! helper reaches this device through Mesa's on-disk shader cache, which is keyed by the
//! shader and not by the device: this device's first dispatch of such a launch loads it.
//! Where that cache is off, this device compiles the helpers' launches again at their first
//! use, as it did without helpers.
//!
//! Only on lavapipe (other drivers compile when the pipeline is made, which
//! [`super::Pipelines::compile`] already spreads over threads), and not where
//! [`crate::EngineOptions::compile_helpers`] or `RESNET_COMPILE_HELPERS` turn it off.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use wgpu::util::DeviceExt;

use super::helper_start::{Progress, START_HELPERS_AFTER};
use super::{Access, Kernel, Pipeline, Pipelines, Precision, WriteForm};

/// What a device's pipelines need to dispatch their kernels once on helper devices.
pub(crate) struct Spread {
    adapter: wgpu::Adapter,
    /// The queue of the device whose pipelines these are.
    queue: wgpu::Queue,
    features: wgpu::Features,
    limits: wgpu::Limits,
    precision: Precision,
    u64_pairs: bool,
    /// The launches dispatched already, on this device or a helper. Held while a spread runs,
    /// so that two workspaces made at once do not compile a launch twice.
    dispatched: Mutex<HashSet<FirstLaunch>>,
    stats: Mutex<SpreadStats>,
}

/// What the spreads of one engine's pipelines of one precision did so far
/// ([`crate::Engine::compile_spread`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpreadStats {
    /// Distinct launches (kernel, write form, parameters) dispatched once before a call.
    pub launches: usize,
    /// The most queues that took launches in one spread: this device's and its helpers'.
    pub queues: usize,
    /// Helper devices made: only when a launch on this device's queue ran long enough to be
    /// a compile rather than a load from the shader cache.
    pub helpers: usize,
    /// Launches whose dispatch failed (each is then compiled at its first real dispatch),
    /// and helper devices that could not be made.
    pub failed: usize,
}

/// A launch as the driver compiles it: a kernel, the form of its write step (as
/// [`Pipelines::get`] resolves it) and its parameter bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FirstLaunch {
    pub kernel: Kernel,
    pub form: WriteForm,
    pub params: Vec<u8>,
}

/// Bytes of each placeholder storage buffer: more than one element of any storage array (a
/// u64 `vec4` pair is 32 bytes).
const PLACEHOLDER_BYTES: u64 = 256;

impl Spread {
    /// The spread for pipelines of `precision` on the device of `queue`, made on `adapter`
    /// with `features` and `limits` (helpers are made alike, so that their shaders compile to
    /// the same code), or `None` where it does not apply: not lavapipe.
    pub fn new(
        adapter: &wgpu::Adapter,
        queue: &wgpu::Queue,
        features: wgpu::Features,
        limits: &wgpu::Limits,
        precision: Precision,
        u64_pairs: bool,
    ) -> Option<Self> {
        applies(&adapter.get_info()).then(|| Spread {
            adapter: adapter.clone(),
            queue: queue.clone(),
            features,
            limits: limits.clone(),
            precision,
            u64_pairs,
            dispatched: Mutex::new(HashSet::new()),
            stats: Mutex::default(),
        })
    }

    /// Dispatches each of `launches` (whose pipelines `own` has made) that has not been
    /// dispatched yet, once, spread over `own`'s queue and up to one helper device per further
    /// core. A helper that cannot be made leaves its share to the others; nothing here fails a
    /// call, since a launch left out is compiled at its first real dispatch as before.
    pub fn run(&self, own: &Pipelines, launches: impl IntoIterator<Item = FirstLaunch>) {
        let mut dispatched = self
            .dispatched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let todo = pipeline_groups(
            launches
                .into_iter()
                .filter(|l| dispatched.insert(l.clone())),
        );
        if todo.is_empty() {
            return;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let helpers = cores.min(todo.len()) - 1;
        let next = AtomicUsize::new(0);
        let progress = Progress::new(START_HELPERS_AFTER);
        let (own_share, outcomes) = std::thread::scope(|s| {
            let spawned: Vec<_> = (0..helpers)
                .map(|_| {
                    s.spawn(|| {
                        if !progress.wait_for_slow_launch() {
                            return Helper::NotNeeded;
                        }
                        match self.helper() {
                            Some((pipelines, queue)) => {
                                Helper::Drained(drain(&pipelines, &queue, &todo, &next, None))
                            }
                            None => Helper::Failed,
                        }
                    })
                })
                .collect();
            // Finished on the way out, a panic included: a helper still waiting to start
            // would otherwise keep the scope from ending.
            let finished = progress.finish_on_drop();
            let own = drain(own, &self.queue, &todo, &next, Some(&progress));
            drop(finished);
            let outcomes: Vec<Helper> = spawned
                .into_iter()
                .map(|h| h.join().unwrap_or(Helper::Failed))
                .collect();
            (own, outcomes)
        });
        let mut stats = self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut queues = usize::from(own_share.ok > 0);
        stats.launches += own_share.ok;
        stats.failed += own_share.failed;
        for outcome in &outcomes {
            match outcome {
                Helper::NotNeeded => {}
                Helper::Failed => stats.failed += 1,
                Helper::Drained(share) => {
                    stats.helpers += 1;
                    queues += usize::from(share.ok > 0);
                    stats.launches += share.ok;
                    stats.failed += share.failed;
                }
            }
        }
        stats.queues = stats.queues.max(queues);
    }

    /// What the spreads so far did.
    pub fn stats(&self) -> SpreadStats {
        *self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A device on the same adapter with the same features and limits, and its pipelines.
    fn helper(&self) -> Option<(Pipelines, wgpu::Queue)> {
        let (device, queue) =
            pollster::block_on(self.adapter.request_device(&wgpu::DeviceDescriptor {
                label: Some("resnet-wgpu compile helper"),
                required_features: self.features,
                required_limits: self.limits.clone(),
                ..Default::default()
            }))
            .ok()?;
        // Every dispatch here runs inside error scopes; anything else is dropped rather than
        // wgpu's default of panicking.
        device.on_uncaptured_error(std::sync::Arc::new(|_| {}));
        Some((
            Pipelines::new(&device, self.precision, self.u64_pairs),
            queue,
        ))
    }
}

/// Whether compiles are spread on the adapter of `info`: on lavapipe (Vulkan on llvmpipe).
pub(crate) fn applies(info: &wgpu::AdapterInfo) -> bool {
    info.backend == wgpu::Backend::Vulkan && info.name.contains("llvmpipe")
}

/// `launches` in groups of one pipeline each, the groups whose kernels compile longest first.
/// A group goes to one queue: where the driver does not fold a kernel's parameters in (it
/// keeps them only where they halve the shader), only the group's first launch compiles, and
/// two queues would each compile the same code.
fn pipeline_groups(launches: impl Iterator<Item = FirstLaunch>) -> Vec<Vec<FirstLaunch>> {
    let mut groups: Vec<Vec<FirstLaunch>> = Vec::new();
    for l in launches {
        match groups
            .iter_mut()
            .find(|g| (g[0].kernel, g[0].form) == (l.kernel, l.form))
        {
            Some(g) => g.push(l),
            None => groups.push(vec![l]),
        }
    }
    // Stable: groups of equal weight keep the order of their first launch.
    groups.sort_by_key(|g| std::cmp::Reverse(compile_weight(g[0].kernel)));
    groups
}

/// What became of a helper.
enum Helper {
    /// This device's queue finished its launches before any of them ran long.
    NotNeeded,
    /// The helper device could not be made, or its thread panicked.
    Failed,
    Drained(Share),
}

/// The launches one queue dispatched, and those that failed.
struct Share {
    ok: usize,
    failed: usize,
}

/// Takes groups of `todo` in turn (`next` is shared by every queue) and dispatches each
/// launch of a group on `pipelines`' device, whose queue is `queue`, waiting for one to finish
/// before the next; tells `progress` when each launch begins and ends.
fn drain(
    pipelines: &Pipelines,
    queue: &wgpu::Queue,
    todo: &[Vec<FirstLaunch>],
    next: &AtomicUsize,
    progress: Option<&Progress>,
) -> Share {
    let mut share = Share { ok: 0, failed: 0 };
    while let Some(group) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
        for l in group {
            let device = pipelines.device();
            // A scope of its own: a failure here must not reach the call that made the
            // workspace (on this device, that call's thread runs this queue's share).
            let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
            let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
            if let Some(p) = progress {
                p.begin();
            }
            dispatch_empty(device, queue, pipelines.get(l.kernel, l.form), l);
            if let Some(p) = progress {
                p.end();
            }
            let errors = [
                pollster::block_on(validation.pop()),
                pollster::block_on(oom.pop()),
            ];
            match errors.iter().all(Option::is_none) {
                true => share.ok += 1,
                false => share.failed += 1,
            }
        }
    }
    share
}

/// How long `kernel` takes to compile on lavapipe, as a rank (higher is longer): on Mesa 22.3
/// the subgroup GEMMs' 256- and 128-channel blocks take 24 to 130 s per pipeline, the other
/// subgroup tiles 2 to 10 s, everything else about a second or less (BENCHMARKS.md, thirtieth
/// and thirty-first rounds).
fn compile_weight(kernel: Kernel) -> u8 {
    use Kernel::*;
    match kernel {
        ConvSubgroup14C256 | ConvSubgroup8C256 | ConvSubgroup7C256 => 3,
        ConvSubgroupC128 | ConvSubgroup14C128 => 2,
        ConvSubgroup | ConvSubgroup8 | ConvSubgroupRgb | ConvSubgroup14 | ConvSubgroup7
        | ConvSubgroup16 | ConvSubgroup32 | WinogradGemmSg16 | WinogradGemmSg8
        | WinogradGemmSg14 | WinogradGemmSg7 | WinogradGemmT16 => 1,
        _ => 0,
    }
}

/// Dispatches `pipeline` (of `launch`) with no workgroups, its parameters and placeholder
/// storage buffers, and waits for the queue to finish it.
fn dispatch_empty(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    pipeline: &Pipeline,
    launch: &FirstLaunch,
) {
    let buffers: Vec<(u32, wgpu::Buffer)> = launch
        .kernel
        .bindings()
        .iter()
        .map(|&(binding, access)| {
            let buffer = match access {
                Access::Uniform => device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("compile parameters"),
                    contents: &launch.params,
                    usage: wgpu::BufferUsages::UNIFORM,
                }),
                Access::Read | Access::Write => device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("compile placeholder"),
                    size: PLACEHOLDER_BYTES,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                }),
            };
            (binding, buffer)
        })
        .collect();
    let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
        .iter()
        .map(|(binding, buffer)| wgpu::BindGroupEntry {
            binding: *binding,
            resource: buffer.as_entire_binding(),
        })
        .collect();
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("compile placeholder"),
        layout: &pipeline.layout,
        entries: &entries,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("compile"),
    });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("compile"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipeline.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(0, 0, 0);
    }
    let index = queue.submit([encoder.finish()]);
    let _ = device.poll(wgpu::PollType::Wait {
        submission_index: Some(index),
        timeout: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::kernels::OutputView;

    fn launch(kernel: Kernel, residual: bool, param: u8) -> FirstLaunch {
        FirstLaunch {
            kernel,
            form: WriteForm {
                residual,
                view: OutputView::Pairs,
            },
            params: vec![param; 4],
        }
    }

    #[test]
    fn launches_group_by_pipeline_the_slowest_to_compile_first() {
        let groups = pipeline_groups(
            [
                launch(Kernel::MaxPool, false, 1),
                launch(Kernel::ConvSubgroup14, false, 1),
                launch(Kernel::ConvSubgroup14C256, false, 1),
                launch(Kernel::ConvSubgroup14, false, 2),
                launch(Kernel::ConvSubgroup14C256, true, 1),
                launch(Kernel::ConvSubgroupC128, false, 3),
                launch(Kernel::ConvSubgroup14C256, false, 2),
            ]
            .into_iter(),
        );
        let summary: Vec<(Kernel, bool, Vec<u8>)> = groups
            .iter()
            .map(|g| {
                (
                    g[0].kernel,
                    g[0].form.residual,
                    g.iter().map(|l| l.params[0]).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Kernel::ConvSubgroup14C256, false, vec![1, 2]),
                (Kernel::ConvSubgroup14C256, true, vec![1]),
                (Kernel::ConvSubgroupC128, false, vec![3]),
                (Kernel::ConvSubgroup14, false, vec![1, 2]),
                (Kernel::MaxPool, false, vec![1]),
            ]
        );
    }
}
