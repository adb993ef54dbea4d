//! Reading results back: [`Pending`], a submitted call whose logits are not read yet, and the
//! one helper that copies a mapped buffer out ([`copy_mapped`]) used by every readback.
//!
//! A call's readback buffer is mapped with a callback that copies the result into the call's
//! [`Slot`] and gives the workspace back to its pool. The callback runs inside whichever
//! thread's `device.poll` sees the GPU finish, so one caller never waits on another's call:
//! [`Pending::wait`] polls for its own submission only, and workspaces come back even when
//! their [`Pending`] is dropped unread.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use super::context::Context;
use crate::error::{Error, Result};
use crate::weights::Tensor;

/// Where a map callback leaves one chunk's result.
#[derive(Default)]
pub(crate) struct Slot {
    result: Mutex<Option<Result<Vec<f32>>>>,
    ready: Condvar,
}

impl Slot {
    pub fn set(&self, r: Result<Vec<f32>>) {
        *self.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        self.ready.notify_all();
    }

    /// The result, waiting up to `timeout` for it.
    fn take(&self, timeout: Duration) -> Option<Result<Vec<f32>>> {
        let mut r = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        if r.is_none() {
            r = self
                .ready
                .wait_timeout(r, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        r.take()
    }
}

/// One submitted chunk of a call.
pub(crate) struct Chunk {
    pub slot: Arc<Slot>,
    pub submission: wgpu::SubmissionIndex,
}

/// A submitted inference: [`Pending::wait`] returns its output. Dropping it unread is allowed
/// (its buffers are recycled once the GPU is done).
#[must_use = "a Pending does nothing until waited on"]
pub struct Pending {
    pub(crate) ctx: Arc<Context>,
    pub(crate) shape: Vec<usize>,
    pub(crate) chunks: Vec<Chunk>,
}

impl Pending {
    /// Waits for this call's GPU work and returns its output (`[N, classes]` logits).
    pub fn wait(self) -> Result<Tensor> {
        let mut data = Vec::with_capacity(self.shape.iter().product());
        for chunk in &self.chunks {
            data.extend(wait_chunk(&self.ctx, chunk)?);
        }
        Ok(Tensor::new(self.shape.clone(), data))
    }

    /// The shape of the output.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
}

fn wait_chunk(ctx: &Context, chunk: &Chunk) -> Result<Vec<f32>> {
    wait_slot(ctx, chunk).map_err(|e| lost_or(ctx, e))
}

/// `e`, or [`Error::DeviceLost`] where the device turns out to be gone: a map or poll that
/// failed because of that says so. wgpu reports the loss at the first poll that finds the
/// queue drained, after the readbacks of the calls in flight have failed, so the loss is
/// looked for over a while (up to about 2 s, spent only on a failed call).
fn lost_or(ctx: &Context, e: Error) -> Error {
    for _ in 0..400 {
        let _ = ctx.device.poll(wgpu::PollType::Poll);
        if let Err(lost) = ctx.check_lost() {
            return lost;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    e
}

fn wait_slot(ctx: &Context, chunk: &Chunk) -> Result<Vec<f32>> {
    loop {
        if let Some(r) = chunk.slot.take(Duration::ZERO) {
            return r;
        }
        ctx.check_lost()?;
        // No timeout: a wait that timed out just as another thread's poll retired this
        // submission would find the queue empty with the fence short of it, which trips an
        // assertion in wgpu-core 30. A lost device ends the wait with an error.
        let poll = ctx.device.poll(wgpu::PollType::Wait {
            submission_index: Some(chunk.submission.clone()),
            timeout: None,
        });
        match poll {
            Ok(_) | Err(wgpu::PollError::Timeout) => {}
            Err(e) => {
                return Err(Error::Gpu {
                    during: "waiting for the GPU".into(),
                    message: e.to_string(),
                })
            }
        }
        // Another thread's poll may be running this chunk's callback right now.
        if let Some(r) = chunk.slot.take(Duration::from_millis(2)) {
            return r;
        }
    }
}

/// Copies the first `bytes` bytes of a mapped buffer out and unmaps it.
pub(crate) fn copy_mapped(buf: &wgpu::Buffer, bytes: u64, during: &str) -> Result<Vec<u8>> {
    let out = {
        let view = buf
            .slice(..bytes)
            .get_mapped_range()
            .map_err(|e| Error::Gpu {
                during: during.to_string(),
                message: e.to_string(),
            })?;
        view.to_vec()
    };
    buf.unmap();
    Ok(out)
}

/// Stored output bytes as f32 values (decoding f16 when `f16`).
pub(crate) fn decode(bytes: &[u8], f16: bool) -> Vec<f32> {
    if f16 {
        bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect()
    } else {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
}

/// Maps `buf` after the work submitted so far, waits for it and copies out `bytes` bytes
/// (for one-off reads such as timestamps and probes).
pub(crate) fn read_buffer(
    ctx: &Context,
    buf: &wgpu::Buffer,
    bytes: u64,
    during: &str,
) -> Result<Vec<u8>> {
    let slot = Arc::new(Mutex::new(None));
    let sink = slot.clone();
    buf.slice(..bytes).map_async(wgpu::MapMode::Read, move |r| {
        *sink.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
    });
    ctx.wait(during)?;
    let mapped = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    let gpu_err = |message: String| Error::Gpu {
        during: during.to_string(),
        message,
    };
    match mapped {
        Some(Ok(())) => copy_mapped(buf, bytes, during),
        Some(Err(e)) => Err(gpu_err(e.to_string())),
        None => Err(gpu_err("the map callback never ran".into())),
    }
}
