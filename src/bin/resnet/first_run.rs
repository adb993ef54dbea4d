//! A note on stderr while a model's first inference runs long on a CPU adapter. A model's
//! kernels are compiled when it first runs, and CPU drivers compile each with LLVM: for a whole
//! resnet50, minutes the first time on a machine (lavapipe, Mesa 22.3 and 25.0). Mesa's shader
//! cache (`~/.cache/mesa_shader_cache`) keeps the result, so later runs start in seconds. Without
//! the note such a first run prints nothing for minutes and looks hung.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use resnet_wgpu::Engine;

/// How long a first inference runs before the note is printed: a warm start of the largest
/// model on lavapipe takes a few seconds.
const NOTE_AFTER: Duration = Duration::from_secs(10);

/// Runs `first` (a model's first inference on `engine`), printing the note on stderr if it is
/// still running after [`NOTE_AFTER`] on a CPU adapter.
pub fn first_inference<T>(engine: &Engine, first: impl FnOnce() -> T) -> T {
    let _watch = SlowStart::watch(engine, print_note);
    first()
}

/// The note, on stderr.
pub fn print_note() {
    eprintln!(
        "note: compiling the model's GPU kernels: a CPU driver such as lavapipe takes minutes \
         for that the first time on a machine; its shader cache keeps them for later runs"
    );
}

/// A watcher that calls its note once unless it is dropped before its delay is up. Dropping it
/// (when the first inference returns or unwinds) ends the watcher at once.
pub struct SlowStart {
    done: Option<Sender<()>>,
    watcher: Option<JoinHandle<()>>,
}

impl SlowStart {
    /// On a CPU adapter, a watcher that calls `note` after [`NOTE_AFTER`]; elsewhere none.
    pub fn watch(engine: &Engine, note: impl FnOnce() + Send + 'static) -> SlowStart {
        if engine.adapter_info().device_type == wgpu::DeviceType::Cpu {
            SlowStart::after(NOTE_AFTER, note)
        } else {
            SlowStart {
                done: None,
                watcher: None,
            }
        }
    }

    fn after(delay: Duration, note: impl FnOnce() + Send + 'static) -> SlowStart {
        let (done, wait) = mpsc::channel::<()>();
        let watcher = std::thread::spawn(move || {
            if wait.recv_timeout(delay) == Err(RecvTimeoutError::Timeout) {
                note();
            }
        });
        SlowStart {
            done: Some(done),
            watcher: Some(watcher),
        }
    }
}

impl Drop for SlowStart {
    fn drop(&mut self) {
        drop(self.done.take()); // the watcher's wait ends: disconnected
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SlowStart;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    fn counter() -> (Arc<AtomicUsize>, impl FnOnce() + Send + 'static) {
        let notes = Arc::new(AtomicUsize::new(0));
        let n = notes.clone();
        (notes, move || {
            n.fetch_add(1, Ordering::SeqCst);
        })
    }

    #[test]
    fn the_note_comes_only_when_the_run_outlasts_its_delay() {
        let (notes, note) = counter();
        drop(SlowStart::after(Duration::from_secs(60), note));
        assert_eq!(notes.load(Ordering::SeqCst), 0);

        let (notes, note) = counter();
        let watch = SlowStart::after(Duration::from_millis(1), note);
        // Bounded: the note is due after 1 ms; give up after 10 s.
        for _ in 0..1000 {
            if notes.load(Ordering::SeqCst) > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(watch);
        assert_eq!(notes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panicking_run_is_not_held_by_the_note() {
        let (notes, note) = counter();
        let t = std::time::Instant::now();
        let run = std::panic::catch_unwind(|| {
            let _watch = SlowStart::after(Duration::from_secs(60), note);
            panic!("first run failed");
        });
        assert!(run.is_err());
        assert_eq!(notes.load(Ordering::SeqCst), 0);
        // Not a speed bound: the run returns at once, and without the watcher's end on unwind
        // it would take the watcher's whole 60 s (and the note would come).
        assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    }
}
