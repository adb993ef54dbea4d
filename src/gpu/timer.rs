//! GPU timestamps for compute passes: pass `i` writes query `2i` at its start and `2i + 1` at its
//! end; its duration is `(t[2i+1] − t[2i]) · period` nanoseconds, with the period from
//! [`wgpu::Queue::get_timestamp_period`]. Without `TIMESTAMP_QUERY` callers fall back to wall
//! clock around submit-and-wait (see [`Timing`]); `RESNET_TIMESTAMPS=0` forces that fallback
//! (to compare the two, or to test it on an adapter that has timestamps).

use super::context::Context;
use crate::error::{Error, Result};

/// How a time was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// GPU timestamp queries around each pass.
    Timestamps,
    /// Wall clock around a submit and a wait for the queue to drain.
    SubmitAndWait,
}

impl Timing {
    /// `timestamps` or `submit-and-wait`.
    pub fn name(self) -> &'static str {
        match self {
            Timing::Timestamps => "timestamps",
            Timing::SubmitAndWait => "submit-and-wait",
        }
    }
}

/// Whether passes are timed by timestamp queries: the device has them and `RESNET_TIMESTAMPS`
/// is not `0`.
pub(crate) fn timestamps_enabled(features: wgpu::Features) -> bool {
    super::kernels::device_caps::switch_or("RESNET_TIMESTAMPS", true)
        && features.contains(wgpu::Features::TIMESTAMP_QUERY)
}

/// A query set for `passes` timed passes and the buffers to read it back.
pub(crate) struct PassTimer {
    pub query_set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    passes: u32,
}

impl PassTimer {
    /// `None` when the device has no timestamp queries.
    pub fn new(ctx: &Context, passes: usize) -> Result<Option<Self>> {
        if !timestamps_enabled(ctx.features) {
            return Ok(None);
        }
        let queries = 2 * passes.max(1);
        if queries > wgpu::QUERY_SET_MAX_QUERIES as usize {
            return Err(Error::Unsupported(format!(
                "timing {passes} passes needs {queries} timestamp queries, more than wgpu's limit of {}",
                wgpu::QUERY_SET_MAX_QUERIES
            )));
        }
        let bytes = (queries * 8) as u64;
        let query_set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("pass timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: queries as u32,
        });
        let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamp resolve"),
            size: bytes,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamp readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Some(PassTimer {
            query_set,
            resolve,
            readback,
            passes: queries as u32 / 2,
        }))
    }

    /// The timestamp writes of pass `i`.
    pub fn writes(&self, i: u32) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.query_set,
            beginning_of_pass_write_index: Some(2 * i),
            end_of_pass_write_index: Some(2 * i + 1),
        }
    }

    /// A command buffer that resolves the first `passes` pairs into the readback buffer; submit
    /// it after the timed work.
    pub fn resolve(&self, ctx: &Context, passes: u32) -> wgpu::CommandBuffer {
        let n = passes.clamp(1, self.passes);
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        enc.resolve_query_set(&self.query_set, 0..2 * n, &self.resolve, 0);
        enc.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, 16 * n as u64);
        enc.finish()
    }

    /// The first `passes` passes' times (waits for the GPU).
    pub fn read(&self, ctx: &Context, passes: u32) -> Result<PassTimes> {
        let n = passes.clamp(1, self.passes);
        let bytes =
            super::pending::read_buffer(ctx, &self.readback, 16 * n as u64, "reading timestamps")?;
        let ticks: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        Ok(PassTimes::from_ticks(
            &ticks,
            ctx.queue.get_timestamp_period() as f64,
        ))
    }
}

/// What a run's timestamps say: each pass's seconds, and the seconds from the first pass's
/// start to the last one's end (its `span`). Where passes run one after another, span − the
/// sum of the passes is the time between them (barriers, launches); a GPU that overlaps
/// independent passes can make it negative.
#[derive(Clone, Debug, PartialEq)]
pub struct PassTimes {
    pub seconds: Vec<f64>,
    pub span: f64,
}

impl PassTimes {
    /// From begin/end tick pairs, `period_ns` nanoseconds per tick.
    pub fn from_ticks(ticks: &[u64], period_ns: f64) -> Self {
        let to_s = |t: u64| t as f64 * period_ns * 1e-9;
        let pairs = ticks.chunks_exact(2);
        let first = pairs.clone().map(|p| p[0]).min().unwrap_or(0);
        let last = pairs.clone().map(|p| p[1]).max().unwrap_or(0);
        PassTimes {
            // Clocks that are not monotonic across a very short pass can go backwards: count 0.
            seconds: pairs.map(|p| to_s(p[1].saturating_sub(p[0]))).collect(),
            span: to_s(last.saturating_sub(first)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PassTimes;

    #[test]
    fn span_runs_from_the_first_start_to_the_last_end() {
        // Three passes at 10 ns a tick: [100, 150], [160, 200], [205, 300].
        let t = PassTimes::from_ticks(&[100, 150, 160, 200, 205, 300], 10.0);
        let ns = |s: f64| (s * 1e9).round();
        assert_eq!(
            t.seconds.iter().map(|&s| ns(s)).collect::<Vec<_>>(),
            [500.0, 400.0, 950.0]
        );
        assert_eq!(ns(t.span), 2000.0);
        // A pass whose end reads before its start counts 0; overlapping passes make the span
        // shorter than their sum.
        let t = PassTimes::from_ticks(&[100, 90, 100, 300, 150, 250], 1.0);
        assert_eq!(
            t.seconds.iter().map(|&s| ns(s)).collect::<Vec<_>>(),
            [0.0, 200.0, 100.0]
        );
        assert_eq!(ns(t.span), 200.0);
        assert_eq!(PassTimes::from_ticks(&[], 1.0).span, 0.0);
    }
}
