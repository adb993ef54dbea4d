//! Leasing a workspace for a call, under its shape's pool limit and the model's memory budget.
//!
//! A call takes a free workspace of its shape, else creates one while the pool's limit allows
//! and the budget can reserve its bytes (reserved atomically before the workspace is made, so
//! threads that start together cannot pass the budget), else waits for one to come back,
//! polling the device. A call that finds no room under the budget joins a queue. While the
//! queue is not empty only its head, and calls of the head's shape, may use workspaces: other
//! calls drop their shape's free workspaces (giving the bytes back) and queue behind, so a
//! shape that other threads keep calling cannot starve another. The head drops the other
//! shapes' idle workspaces to make room.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{Model, Shaped};
use crate::error::Result;
use crate::gpu::workspace::{Charge, Pool, Take, Workspace};

/// The calls waiting for room under the budget, in arrival order: (ticket, their shape's pool,
/// by address).
#[derive(Default)]
pub(super) struct BudgetQueue {
    waiting: Mutex<VecDeque<(u64, usize)>>,
    /// `waiting`'s length, read without the lock on every lease.
    len: AtomicUsize,
    next: AtomicU64,
}

impl BudgetQueue {
    fn lock(&self) -> MutexGuard<'_, VecDeque<(u64, usize)>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a call of `pool` (holding `ticket` if it queued) may use workspaces now: the
    /// queue is empty, or its head is this call or of this call's shape.
    fn may_use(&self, ticket: Option<u64>, pool: &Pool) -> bool {
        if self.len.load(Ordering::Acquire) == 0 {
            return true;
        }
        match self.lock().front() {
            None => true,
            Some(&(t, p)) => Some(t) == ticket || p == address(pool),
        }
    }

    /// Queues a call of `pool`; returns its ticket.
    fn join(&self, pool: &Pool) -> u64 {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        let mut q = self.lock();
        q.push_back((ticket, address(pool)));
        self.len.store(q.len(), Ordering::Release);
        ticket
    }

    fn leave(&self, ticket: u64) {
        let mut q = self.lock();
        q.retain(|&(t, _)| t != ticket);
        self.len.store(q.len(), Ordering::Release);
    }
}

fn address(pool: &Pool) -> usize {
    pool as *const Pool as usize
}

/// A pool slot counted for a workspace being made: given back if the workspace is never made
/// (an error or a panic). The reserved bytes are the [`Charge`]'s, which give themselves back.
struct Slot<'a> {
    pool: &'a Pool,
    made: bool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.made {
            self.pool.forget();
        }
    }
}

/// A leased workspace that goes back to its pool when dropped, a panic included.
pub(super) struct PutBack<'a> {
    pub pool: &'a Pool,
    pub ws: Option<Workspace>,
}

impl Drop for PutBack<'_> {
    fn drop(&mut self) {
        if let Some(ws) = self.ws.take() {
            self.pool.put(ws);
        }
    }
}

impl Model {
    /// A workspace of `shaped` for this call (see the module docs).
    pub(crate) fn lease(&self, shaped: &Shaped) -> Result<Workspace> {
        let bytes = shaped.schedule.workspace_bytes();
        let mut ticket = None;
        let leased = loop {
            let may_use = self.budget_queue.may_use(ticket, &shaped.pool);
            match shaped.pool.take(may_use, || self.reserve(bytes)) {
                Take::Free(ws) => break Ok(ws),
                Take::Create(charge) => break self.create(shaped, charge),
                Take::OverBudget => {
                    if ticket.is_none() {
                        ticket = Some(self.budget_queue.join(&shaped.pool));
                    }
                    if may_use {
                        self.release_other_shapes(shaped);
                        if self.reserve_would_fit(bytes) {
                            continue;
                        }
                    }
                    if let Err(e) = self.wait_for_a_return(shaped) {
                        break Err(e);
                    }
                }
                Take::Full => {
                    if let Err(e) = self.wait_for_a_return(shaped) {
                        break Err(e);
                    }
                }
            }
        };
        if let Some(t) = ticket {
            self.budget_queue.leave(t);
        }
        leased
    }

    /// Makes the workspace whose pool slot and bytes (`charge`) [`Pool::take`] reserved.
    fn create(&self, shaped: &Shaped, charge: Charge) -> Result<Workspace> {
        let mut slot = Slot {
            pool: &shaped.pool,
            made: false,
        };
        let made = self.ctx.scoped("allocating a workspace", || {
            Ok(Workspace::new(
                &self.ctx.device,
                &shaped.schedule,
                &self.resident(),
                charge,
            ))
        });
        // On an error the workspace made was dropped, its charge with it.
        slot.made = made.is_ok();
        made
    }

    /// Reserves `bytes` of the budget if they fit (see [`Model::fits`]).
    fn reserve(&self, bytes: u64) -> Option<Charge> {
        Charge::reserve(&self.allocated, bytes, |used| self.fits(used, bytes))
    }

    /// Whether `bytes` more would fit the budget now (a hint: [`Model::reserve`] decides).
    fn reserve_would_fit(&self, bytes: u64) -> bool {
        self.fits(self.allocated.load(Ordering::Relaxed), bytes)
    }

    /// Whether a workspace of `bytes` may exist beside `used` reserved bytes: within the
    /// budget (always without one), or alone, so that a call always runs in the end even
    /// where a chunk's workspace came out larger than its size was planned from.
    fn fits(&self, used: u64, bytes: u64) -> bool {
        let budget = self.options.memory_budget.unwrap_or(u64::MAX);
        used == 0 || used.checked_add(bytes).is_some_and(|total| total <= budget)
    }

    /// Waits for a workspace to come back: until the oldest call in flight of `shaped`, else
    /// of any shape (whose workspace coming back frees budget), has finished on the device,
    /// and its callback has given its workspace back; with no call in flight, polls once and
    /// waits up to a millisecond. The wait in the poll has no timeout: one that timed out just
    /// as another thread's poll retired the submission it waited on would find the queue
    /// empty with the fence short of that submission, which trips an assertion in wgpu-core
    /// 30 (seen under many callers once lavapipe's compile dispatches,
    /// `kernels/compile_spread.rs`, polled beside them).
    fn wait_for_a_return(&self, shaped: &Shaped) -> Result<()> {
        self.ctx.check_lost()?;
        let oldest = shaped.pool.oldest_in_flight().or_else(|| {
            let shapes: Vec<Arc<Shaped>> = self.lock_shapes().values().cloned().collect();
            shapes.iter().find_map(|s| s.pool.oldest_in_flight())
        });
        // Wait on a submission known to be queued (see `Pool::oldest_in_flight`).
        let _ = match oldest {
            Some(index) => self.ctx.device.poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: None,
            }),
            None => self.ctx.device.poll(wgpu::PollType::Poll),
        };
        shaped.pool.wait_for_return(Duration::from_millis(1));
        Ok(())
    }

    /// Drops the free workspaces of every other shape (to make room under the budget).
    fn release_other_shapes(&self, keep: &Shaped) {
        let others: Vec<Arc<Shaped>> = self.lock_shapes().values().cloned().collect();
        for s in others {
            if !std::ptr::eq(&*s, keep) {
                s.pool.shrink();
            }
        }
    }
}
