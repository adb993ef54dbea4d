//! When the helpers of a compile spread start (`compile_spread.rs`): only once a launch on
//! the device's own queue has run longer than a load from the shader cache takes, so that a
//! warm cache makes no helper device and dispatches nothing twice.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a launch on this device's queue runs before helpers start: one that the shader
/// cache holds takes 0.35 s at most (resnet50's largest kernel on Mesa 22.3), one it must
/// compile 5 to 130 s for the subgroup tiles. So with a warm cache no helper is made, and
/// nothing is dispatched twice.
pub(super) const START_HELPERS_AFTER: Duration = Duration::from_secs(1);

/// This device's queue's progress through the launches, which tells the helpers whether they
/// are needed: a launch that runs longer than `start_after` is being compiled.
pub(super) struct Progress {
    start_after: Duration,
    /// When the launch in progress began, and whether the queue has finished.
    state: Mutex<(Option<Instant>, bool)>,
    changed: Condvar,
}

impl Progress {
    pub(super) fn new(start_after: Duration) -> Self {
        Progress {
            start_after,
            state: Mutex::new((None, false)),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Option<Instant>, bool)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn begin(&self) {
        self.lock().0 = Some(Instant::now());
    }

    pub(super) fn end(&self) {
        self.lock().0 = None;
    }

    pub(super) fn finish(&self) {
        self.lock().1 = true;
        self.changed.notify_all();
    }

    /// A guard that calls [`Progress::finish`] when dropped.
    pub(super) fn finish_on_drop(&self) -> Finished<'_> {
        Finished(self)
    }

    /// Blocks until a launch has run longer than `start_after` (true) or the queue has
    /// finished (false).
    pub(super) fn wait_for_slow_launch(&self) -> bool {
        let mut state = self.lock();
        loop {
            let (running, finished) = *state;
            if finished {
                return false;
            }
            let left = match running {
                Some(since) => self.start_after.saturating_sub(since.elapsed()),
                None => self.start_after,
            };
            if running.is_some() && left.is_zero() {
                return true;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

/// Finishes its [`Progress`] when dropped.
pub(super) struct Finished<'a>(&'a Progress);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_start_only_for_a_launch_that_runs_past_the_delay() {
        // The queue finishes its quick launches first: no helper is needed.
        let progress = Progress::new(Duration::from_secs(60));
        std::thread::scope(|s| {
            let helper = s.spawn(|| progress.wait_for_slow_launch());
            for _ in 0..3 {
                progress.begin();
                progress.end();
            }
            progress.finish();
            assert!(!helper.join().unwrap());
        });
        // The queue's thread panics between launches: the guard still releases the helper.
        let progress = Progress::new(Duration::from_secs(60));
        std::thread::scope(|s| {
            let helper = s.spawn(|| progress.wait_for_slow_launch());
            let queue = s.spawn(|| {
                let _finished = progress.finish_on_drop();
                progress.begin();
                progress.end();
                panic!("a queue that fails");
            });
            assert!(queue.join().is_err());
            assert!(!helper.join().unwrap());
        });
        // A launch runs past the delay: the helper starts, and not before the delay.
        let delay = Duration::from_millis(100);
        let progress = Progress::new(delay);
        let t = Instant::now();
        progress.begin();
        assert!(progress.wait_for_slow_launch());
        assert!(t.elapsed() >= delay);
    }
}
