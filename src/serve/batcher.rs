//! Dynamic batching, per model: requests wait in a bounded queue; the batcher takes the
//! first, then more while their images have the same height and width (Triton's semantics: a
//! request of batch n counts n; a request that does not fit starts the next batch). A batch
//! goes to the device as soon as
//!
//! - it holds `max_batch_size` images, or
//! - it holds one of the `preferred_batch_sizes` and no other request is waiting, or
//! - its first request has waited `max_queue_delay` and no other batch of the model is
//!   running; while one is, the batch keeps growing until that batch ends (the device is busy
//!   anyway, so waiting costs the batch nothing, and two partial batches sharing the device
//!   run slower than one full batch after the other).
//!
//! Each batch runs on a blocking thread, with up to `in_flight` batches at once (only full or
//! preferred batches start beside a running one), and the rows of the logits go back to their
//! requests.
//!
//! Batches run in chunks of power-of-two sizes (see [`chunks`]), so that the model holds
//! buffers for a few batch sizes only, all created when it is warmed up.
//!
//! A full queue refuses a request at once (503 / UNAVAILABLE); a request still queued past
//! its timeout is answered with an error and never run; a request whose caller went away
//! (the client disconnected) is dropped unrun. With dynamic batching off, every request is
//! its own batch.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, Notify, Semaphore};

use super::config::ModelSettings;
use super::error::{ApiError, Kind};
use super::metrics::ModelMetrics;
use crate::{Model, Tensor};

/// Runs inferences on one model, shared by every batch in flight (`Model` is `Sync`: each
/// call has its own workspace, so batches of one model run concurrently).
pub struct ModelRunner {
    model: Model,
}

impl ModelRunner {
    pub fn new(model: Model) -> Self {
        ModelRunner { model }
    }

    /// Logits `[N, classes]` of an NCHW input.
    pub fn infer(&self, input: &Tensor) -> crate::Result<Tensor> {
        self.model.infer(input)
    }

    /// Whether an image of `h × w` passes through the model and fits the device (the size
    /// checks of an inference, without running one; larger batches run in chunks): an error
    /// names the layer or the limit.
    pub fn check_size(&self, h: usize, w: usize) -> crate::Result<()> {
        self.model.chunk_size(1, h, w).map(|_| ())
    }
}

/// What a request gets back.
#[derive(Debug)]
pub struct JobOutput {
    /// This request's rows of the logits, `[n, classes]`.
    pub logits: Tensor,
    pub queue_us: u64,
    pub compute_us: u64,
}

/// One queued request: images `[n, C, H, W]`.
pub struct Job {
    pub input: Tensor,
    pub enqueued: Instant,
    pub reply: oneshot::Sender<Result<JobOutput, ApiError>>,
}

impl Job {
    fn images(&self) -> usize {
        self.input.shape.first().copied().unwrap_or(0)
    }

    fn hw(&self) -> (usize, usize) {
        (
            self.input.shape.get(2).copied().unwrap_or(0),
            self.input.shape.get(3).copied().unwrap_or(0),
        )
    }
}

/// The queue of one model.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Job>,
    metrics: Arc<ModelMetrics>,
    max_queue_size: usize,
}

impl Batcher {
    /// Starts the batching task of a model on the current tokio runtime.
    pub fn start(
        name: &str,
        runner: Arc<ModelRunner>,
        settings: &ModelSettings,
        metrics: Arc<ModelMetrics>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(settings.max_queue_size);
        let task = BatchTask {
            name: name.to_string(),
            rx,
            runner,
            metrics: metrics.clone(),
            max_batch: settings.max_batch_size,
            preferred: settings.preferred_batch_sizes.clone(),
            dynamic: settings.dynamic_batching,
            delay: settings.max_queue_delay,
            timeout: settings.timeout,
            slots: Arc::new(Semaphore::new(settings.in_flight)),
            running: Arc::new(Running::default()),
        };
        tokio::spawn(task.run());
        Batcher {
            tx,
            metrics,
            max_queue_size: settings.max_queue_size,
        }
    }

    /// Queues a request; refuses it at once when the queue is full.
    pub fn submit(&self, job: Job) -> Result<(), ApiError> {
        // Counted before the send so that the batcher's decrement never comes first.
        self.metrics.pending.fetch_add(1, Relaxed);
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.metrics.pending.fetch_sub(1, Relaxed);
                Err(match e {
                    mpsc::error::TrySendError::Full(_) => ApiError::new(
                        Kind::QueueFull,
                        format!(
                            "the queue of this model is full ({} requests waiting); retry later",
                            self.max_queue_size
                        ),
                    ),
                    mpsc::error::TrySendError::Closed(_) => {
                        ApiError::unavailable("the model's batcher has stopped (shutting down)")
                    }
                })
            }
        }
    }
}

struct BatchTask {
    name: String,
    rx: mpsc::Receiver<Job>,
    runner: Arc<ModelRunner>,
    metrics: Arc<ModelMetrics>,
    max_batch: usize,
    preferred: Vec<usize>,
    dynamic: bool,
    delay: Duration,
    timeout: Duration,
    slots: Arc<Semaphore>,
    running: Arc<Running>,
}

/// The batches of a model on the device now, and a signal each time one ends.
#[derive(Default)]
struct Running {
    count: AtomicUsize,
    ended: Notify,
}

impl BatchTask {
    async fn run(mut self) {
        let mut carry: Option<Job> = None;
        loop {
            // Wait for a free slot first: requests pile up meanwhile and form a fuller batch.
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                return;
            };
            let first = match carry.take() {
                Some(j) => j,
                None => match self.rx.recv().await {
                    Some(j) => self.taken(j),
                    None => return,
                },
            };
            let Some(first) = self.live(first) else {
                continue;
            };
            let hw = first.hw();
            let mut images = first.images();
            let deadline = tokio::time::Instant::from_std(first.enqueued + self.delay);
            let mut batch = vec![first];
            while self.dynamic && images < self.max_batch {
                let next = match self.rx.try_recv() {
                    Ok(j) => j,
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        let late = tokio::time::Instant::now() >= deadline;
                        let running = self.running.count.load(Relaxed);
                        if goes_now(images, &self.preferred, late, running) {
                            break;
                        }
                        // Wait for a request, or for the deadline, or (once late) for a running
                        // batch to end; `ended` keeps a wake-up that no one awaited yet.
                        tokio::select! {
                            j = self.rx.recv() => match j {
                                Some(j) => j,
                                None => break,
                            },
                            _ = tokio::time::sleep_until(deadline), if !late => continue,
                            _ = self.running.ended.notified(), if late => continue,
                        }
                    }
                };
                let Some(next) = self.live(self.taken(next)) else {
                    continue;
                };
                if next.hw() != hw || images + next.images() > self.max_batch {
                    carry = Some(next);
                    break;
                }
                images += next.images();
                batch.push(next);
            }
            let runner = self.runner.clone();
            let metrics = self.metrics.clone();
            let name = self.name.clone();
            let max_batch = self.max_batch;
            let running = self.running.clone();
            running.count.fetch_add(1, Relaxed);
            tokio::spawn(async move {
                run_batch(&name, runner, metrics, batch, max_batch).await;
                running.count.fetch_sub(1, Relaxed);
                running.ended.notify_one();
                drop(slot);
            });
        }
    }

    fn taken(&self, j: Job) -> Job {
        self.metrics.pending.fetch_sub(1, Relaxed);
        j
    }

    /// The job, unless its caller is gone or its time ran out (then it is answered here).
    fn live(&self, j: Job) -> Option<Job> {
        if j.reply.is_closed() {
            self.metrics.fail("cancelled");
            return None;
        }
        let waited = j.enqueued.elapsed();
        if waited > self.timeout {
            let _ = j.reply.send(Err(ApiError::new(
                Kind::Timeout,
                format!(
                    "the request waited {} ms in the queue, past its timeout of {} ms",
                    waited.as_millis(),
                    self.timeout.as_millis()
                ),
            )));
            return None;
        }
        Some(j)
    }
}

/// Whether a batch of `images` that is not full goes to the device now, with no request
/// waiting in the queue: it holds a preferred size, or its first request's delay is over
/// (`late`) and none of the model's other batches is running.
fn goes_now(images: usize, preferred: &[usize], late: bool, running: usize) -> bool {
    preferred.contains(&images) || (late && running == 0)
}

/// How a batch of `images` runs: as chunks of the sizes of [`buckets`], largest first
/// (13 of at most 32: 8 + 4 + 1). The model keeps buffers per batch size, so this bounds them
/// to log2(max) + 1 sets, all created by the warm-up, without computing padding images.
pub fn chunks(images: usize, max: usize) -> Vec<usize> {
    let sizes = buckets(max);
    let mut out = Vec::new();
    let mut left = images;
    while left > 0 {
        let b = sizes
            .iter()
            .rev()
            .copied()
            .find(|&b| b <= left)
            .unwrap_or(1);
        out.push(b);
        left -= b;
    }
    out
}

/// The batch sizes of [`chunks`] for `max`: 1, 2, 4, … and `max`.
pub fn buckets(max: usize) -> Vec<usize> {
    let mut b: Vec<usize> = (0..usize::BITS)
        .map(|i| 1usize << i)
        .take_while(|&n| n < max)
        .collect();
    b.push(max.max(1));
    b
}

/// Concatenates the inputs, runs them (in the chunks of [`chunks`]) and sends every request
/// its rows.
async fn run_batch(
    name: &str,
    runner: Arc<ModelRunner>,
    metrics: Arc<ModelMetrics>,
    batch: Vec<Job>,
    max_batch: usize,
) {
    let total: usize = batch.iter().map(Job::images).sum();
    let image_shape = batch[0].input.shape[1..].to_vec();
    let per_image: usize = image_shape.iter().product();
    let mut data = Vec::with_capacity(total * per_image);
    for j in &batch {
        data.extend_from_slice(&j.input.data);
    }
    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || -> crate::Result<Tensor> {
        let mut out: Option<Tensor> = None;
        let mut first = 0;
        for n in chunks(total, max_batch) {
            let mut shape = vec![n];
            shape.extend_from_slice(&image_shape);
            let part = data[first * per_image..(first + n) * per_image].to_vec();
            let logits = runner.infer(&Tensor::new(shape, part))?;
            first += n;
            match &mut out {
                None => out = Some(logits),
                Some(t) => {
                    t.shape[0] += n;
                    t.data.extend_from_slice(&logits.data);
                }
            }
        }
        out.ok_or_else(|| crate::Error::InvalidInput("an empty batch".into()))
    })
    .await;
    let compute_us = started.elapsed().as_micros() as u64;
    let logits = match result {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return fail_all(batch, &format!("model `{name}`: inference failed: {e}")),
        Err(e) => {
            return fail_all(
                batch,
                &format!("model `{name}`: the inference thread stopped: {e}"),
            )
        }
    };
    metrics.executions.fetch_add(1, Relaxed);
    metrics.inferences.fetch_add(total as u64, Relaxed);
    let per_row: usize = logits.shape[1..].iter().product();
    let mut row = 0;
    for j in batch {
        let n = j.images();
        let mut shape = logits.shape.clone();
        shape[0] = n;
        let part = Tensor::new(
            shape,
            logits.data[row * per_row..(row + n) * per_row].to_vec(),
        );
        row += n;
        let queue_us = started.saturating_duration_since(j.enqueued).as_micros() as u64;
        let _ = j.reply.send(Ok(JobOutput {
            logits: part,
            queue_us,
            compute_us,
        }));
    }
}

fn fail_all(batch: Vec<Job>, message: &str) {
    for j in batch {
        let _ = j.reply.send(Err(ApiError::internal(message)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_batch_goes_at_a_preferred_size_or_late_on_an_idle_device() {
        // Before the delay is over: only a preferred size goes.
        assert!(goes_now(16, &[16], false, 1));
        assert!(!goes_now(15, &[16], false, 0));
        assert!(!goes_now(8, &[], false, 0));
        // Once late: at once on an idle device, else it keeps growing while another runs.
        assert!(goes_now(8, &[], true, 0));
        assert!(!goes_now(8, &[], true, 1));
        assert!(goes_now(4, &[4, 8], true, 2));
    }

    #[test]
    fn batch_buckets() {
        assert_eq!(buckets(32), vec![1, 2, 4, 8, 16, 32]);
        assert_eq!(buckets(24), vec![1, 2, 4, 8, 16, 24]);
        assert_eq!(buckets(1), vec![1]);
        assert_eq!(chunks(13, 32), vec![8, 4, 1]);
        assert_eq!(chunks(20, 24), vec![16, 4]);
        assert_eq!(chunks(16, 32), vec![16]);
        for max in 1..40 {
            for n in 1..=max {
                let c = chunks(n, max);
                assert_eq!(c.iter().sum::<usize>(), n, "{n} of {max} → {c:?}");
                assert!(
                    c.iter().all(|b| buckets(max).contains(b)),
                    "{n} of {max} → {c:?}"
                );
            }
        }
    }
}
