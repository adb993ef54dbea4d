//! Workspaces: the buffers one call owns while it runs (NCHW input, activations, Winograd
//! scratch, logits readback) and the bind groups that tie a [`Schedule`]'s steps to them; and
//! the pool of a shape's workspaces.
//!
//! A pool hands out a free workspace, or lets the caller create one while fewer than its limit
//! exist and the model's memory budget can reserve its bytes, or says it is full or over the
//! budget (the caller then waits for one to come back). A workspace comes back when its call's
//! readback has been copied out, whichever thread saw the GPU finish. Its bytes stay reserved
//! on the model's counter until it is dropped, wherever that happens (a pool shrunk, a shape
//! forgotten, a failed call), so the counter is always the bytes of the workspaces that exist.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::kernels::{Access, Pipelines};
use super::schedule::{Res, Schedule};

/// The per-call buffers of one schedule.
pub(crate) struct Workspace {
    pub input: wgpu::Buffer,
    pub activations: Vec<wgpu::Buffer>,
    pub readback: wgpu::Buffer,
    /// One bind group per step of the schedule, in step order.
    pub bind_groups: Vec<wgpu::BindGroup>,
    /// Its bytes, reserved on the model's counter until the workspace is dropped.
    _charge: Charge,
    _scratch: [wgpu::Buffer; 2],
}

/// Bytes reserved on a model's workspace counter (`Model::workspace_bytes`), given back when
/// the charge is dropped: with the workspace it was moved into, or before one was made.
pub(crate) struct Charge {
    counter: Arc<AtomicU64>,
    bytes: u64,
}

impl Charge {
    /// Reserves `bytes` on `counter` where `fits(used)` says they fit beside the `used` bytes
    /// (one atomic step, so that callers in other threads cannot pass a budget together).
    pub fn reserve(
        counter: &Arc<AtomicU64>,
        bytes: u64,
        fits: impl Fn(u64) -> bool,
    ) -> Option<Self> {
        counter
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                fits(used).then_some(used + bytes)
            })
            .ok()
            .map(|_| Charge {
                counter: counter.clone(),
                bytes,
            })
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.counter.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// The model-side buffers a workspace's bind groups refer to.
pub(crate) struct Resident<'a> {
    pub weights: &'a [Vec<wgpu::Buffer>],
    pub dummy: &'a wgpu::Buffer,
    pub pipelines: &'a Pipelines,
}

impl Workspace {
    /// Allocates the buffers of `schedule` and creates the bind group of every step; `charge`
    /// holds [`Schedule::workspace_bytes`] until the workspace is dropped.
    pub fn new(
        device: &wgpu::Device,
        schedule: &Schedule,
        model: &Resident<'_>,
        charge: Charge,
    ) -> Self {
        let mem = &schedule.memory;
        let storage = |label: &str, size: u64, extra: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::STORAGE | extra,
                mapped_at_creation: false,
            })
        };
        let input = storage(
            "input (NCHW)",
            mem.input_bytes(),
            wgpu::BufferUsages::COPY_DST,
        );
        let activations: Vec<wgpu::Buffer> = mem
            .capacity
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let label = format!("activation {i}");
                storage(&label, size, wgpu::BufferUsages::COPY_SRC)
            })
            .collect();
        let none = wgpu::BufferUsages::empty();
        let scratch = [
            storage("winograd V", schedule.scratch_bytes[0], none),
            storage("products", schedule.scratch_bytes[1], none),
        ];
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("logits readback"),
            size: mem.output_bytes().max(16),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let resource = |r: Res| -> wgpu::BindingResource<'_> {
            match r {
                Res::Value(v) => {
                    let buffer = if v == 0 {
                        &input
                    } else {
                        &activations[mem.slot[v]]
                    };
                    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer,
                        offset: 0,
                        size: std::num::NonZeroU64::new(mem.value_bytes[v]),
                    })
                }
                Res::Weight { node, i } => model.weights[node][i].as_entire_binding(),
                Res::Dummy => model.dummy.as_entire_binding(),
                Res::WinogradV => scratch[0].as_entire_binding(),
                Res::Products => scratch[1].as_entire_binding(),
            }
        };
        // The pipelines the bind groups' layouts come from, compiled in parallel first.
        model
            .pipelines
            .compile(schedule.steps().map(|step| (step.kernel, step.write)));
        // Where the driver compiles at the first dispatch of each launch, that happens now on
        // every core instead of one launch at a time in the first call.
        model.pipelines.dispatch_first(schedule.steps().map(|step| {
            let params = schedule.param_bytes[step.params].as_slice();
            (step.kernel, step.write, params)
        }));
        let bind_groups = schedule
            .steps()
            .map(|step| {
                // The step's resources fill the storage bindings in order; the parameters
                // go to the uniform one.
                let mut res = step.resources.iter().map(|&r| resource(r));
                let entries: Vec<wgpu::BindGroupEntry<'_>> = step
                    .kernel
                    .bindings()
                    .iter()
                    .filter_map(|&(binding, access)| {
                        let resource = match access {
                            Access::Uniform => schedule.params[step.params].as_entire_binding(),
                            _ => res.next()?,
                        };
                        Some(wgpu::BindGroupEntry { binding, resource })
                    })
                    .collect();
                device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(&step.kernel.label()),
                    layout: &model.pipelines.get(step.kernel, step.write).layout,
                    entries: &entries,
                })
            })
            .collect();
        Workspace {
            input,
            activations,
            readback,
            bind_groups,
            _charge: charge,
            _scratch: scratch,
        }
    }

    /// The buffer holding the graph's output.
    pub fn output(&self, schedule: &Schedule) -> &wgpu::Buffer {
        &self.activations[schedule.memory.slot[schedule.memory.output]]
    }
}

/// What [`Pool::take`] gives.
pub(crate) enum Take {
    /// A free workspace.
    Free(Workspace),
    /// Permission to create one, counted as created already ([`Pool::forget`] if that fails),
    /// with its bytes reserved.
    Create(Charge),
    /// Every workspace is in use and no more may be created.
    Full,
    /// None is free and the budget cannot reserve a new one's bytes now.
    OverBudget,
}

struct PoolState {
    free: Vec<Workspace>,
    created: usize,
    /// The calls whose workspaces are out, in submission order: (ticket, last submission).
    in_flight: VecDeque<(u64, wgpu::SubmissionIndex)>,
    next_ticket: u64,
}

/// The workspaces of one shape.
pub(crate) struct Pool {
    state: Mutex<PoolState>,
    returned: Condvar,
    limit: usize,
}

impl Pool {
    /// A pool that lets at most `limit` (≥ 1) workspaces exist.
    pub fn new(limit: usize) -> Self {
        Pool {
            state: Mutex::new(PoolState {
                free: Vec::new(),
                created: 0,
                in_flight: VecDeque::new(),
                next_ticket: 0,
            }),
            returned: Condvar::new(),
            limit: limit.max(1),
        }
    }

    /// A poisoned lock (a thread panicked while holding it) is recovered: the state is a list
    /// and a count that every critical section leaves consistent.
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A free workspace, else permission to create one while under the limit and `reserve`
    /// (called only then) reserves its bytes. Where the call may not use workspaces now
    /// (`may_use` false: others wait for room under the budget), the free ones are dropped,
    /// giving their bytes back, and the answer is [`Take::OverBudget`].
    pub fn take(&self, may_use: bool, reserve: impl FnOnce() -> Option<Charge>) -> Take {
        if !may_use {
            self.shrink();
            return Take::OverBudget;
        }
        let mut s = self.lock();
        if let Some(ws) = s.free.pop() {
            Take::Free(ws)
        } else if s.created >= self.limit {
            Take::Full
        } else if let Some(charge) = reserve() {
            s.created += 1;
            Take::Create(charge)
        } else {
            Take::OverBudget
        }
    }

    /// Gives a workspace back.
    pub fn put(&self, ws: Workspace) {
        self.lock().free.push(ws);
        self.returned.notify_one();
    }

    /// Records that a leased workspace's call was submitted, `last` its last submission;
    /// returns the ticket that [`Pool::put_submitted`] gives back with the workspace.
    pub fn submitted(&self, last: wgpu::SubmissionIndex) -> u64 {
        let mut s = self.lock();
        let ticket = s.next_ticket;
        s.next_ticket += 1;
        s.in_flight.push_back((ticket, last));
        ticket
    }

    /// Gives back the workspace of the submitted call `ticket`.
    pub fn put_submitted(&self, ws: Workspace, ticket: u64) {
        self.lock().in_flight.retain(|(t, _)| *t != ticket);
        self.put(ws);
    }

    /// The last submission of the oldest call whose workspace is still out: what a caller
    /// waiting for a workspace waits on. (Waiting on the device's latest submission instead,
    /// `submission_index: None`, trips an assertion in wgpu-core 30 when another thread's
    /// submission is between taking its index and entering the queue.)
    pub fn oldest_in_flight(&self) -> Option<wgpu::SubmissionIndex> {
        self.lock().in_flight.front().map(|(_, i)| i.clone())
    }

    /// Forgets a workspace that was counted but not created, or that was lost.
    pub fn forget(&self) {
        let mut s = self.lock();
        s.created = s.created.saturating_sub(1);
        drop(s);
        self.returned.notify_one();
    }

    /// Drops the free workspaces (their bytes go back to the budget).
    pub fn shrink(&self) {
        let mut s = self.lock();
        let freed: Vec<Workspace> = std::mem::take(&mut s.free);
        s.created -= freed.len();
        drop(s); // the buffers are released outside the lock
        drop(freed);
    }

    /// Waits up to `timeout` for a workspace to come back.
    pub fn wait_for_return(&self, timeout: Duration) {
        let s = self.lock();
        if s.free.is_empty() {
            let _ = self
                .returned
                .wait_timeout(s, timeout)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// (workspaces created, free).
    pub fn counts(&self) -> (usize, usize) {
        let s = self.lock();
        (s.created, s.free.len())
    }
}
