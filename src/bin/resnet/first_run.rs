//! A note on stderr while a model's first inference runs long on a CPU adapter. A model's
//! kernels are compiled when it first runs, and CPU drivers compile each with LLVM: for a whole
//! resnet50, minutes the first time on a machine (lavapipe, Mesa 22.3 and 25.0). Mesa's shader
//! cache (`~/.cache/mesa_shader_cache`) keeps the result, so later runs start in seconds. Without
//! the note such a first run prints nothing for minutes and looks hung.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use resnet_wgpu::Engine;

/// How long a first inference runs before the note is printed: a warm start of the largest
/// model on lavapipe takes a few seconds.
const NOTE_AFTER: Duration = Duration::from_secs(10);

/// Runs `first` (a model's first inference on `engine`), printing the note on stderr if it is
/// still running after [`NOTE_AFTER`] on a CPU adapter.
pub fn first_inference<T>(engine: &Engine, first: impl FnOnce() -> T) -> T {
    if engine.adapter_info().device_type != wgpu::DeviceType::Cpu {
        return first();
    }
    note_if_slow(NOTE_AFTER, print_note, first)
}

fn print_note() {
    eprintln!(
        "note: compiling the model's GPU kernels: a CPU driver such as lavapipe takes minutes \
         for that the first time on a machine; its shader cache keeps them for later runs"
    );
}

/// Runs `run`; calls `note` once if `run` has not returned after `after` (on another thread,
/// while `run` goes on). Returns as soon as `run` does, whether it returned or panicked.
fn note_if_slow<T>(after: Duration, note: impl FnOnce() + Send, run: impl FnOnce() -> T) -> T {
    let (done, wait) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || {
            if wait.recv_timeout(after) == Err(RecvTimeoutError::Timeout) {
                note();
            }
        });
        // Dropped when `run` returns or unwinds: the watcher then ends at once.
        let _done = done;
        run()
    })
}

#[cfg(test)]
mod tests {
    use super::note_if_slow;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn the_note_comes_only_when_the_run_outlasts_its_delay() {
        let notes = AtomicUsize::new(0);
        let note = || {
            notes.fetch_add(1, Ordering::SeqCst);
        };
        let quick = note_if_slow(Duration::from_secs(60), note, || 7);
        assert_eq!((quick, notes.load(Ordering::SeqCst)), (7, 0));
        let note = || {
            notes.fetch_add(1, Ordering::SeqCst);
        };
        let slow = note_if_slow(Duration::from_millis(1), note, || {
            // Bounded: the note is due after 1 ms; give up after 10 s.
            for _ in 0..1000 {
                if notes.load(Ordering::SeqCst) > 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            8
        });
        assert_eq!((slow, notes.load(Ordering::SeqCst)), (8, 1));
    }

    #[test]
    fn a_panicking_run_is_not_held_by_the_note() {
        let noted = AtomicUsize::new(0);
        let note = || {
            noted.fetch_add(1, Ordering::SeqCst);
        };
        let t = std::time::Instant::now();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            note_if_slow(Duration::from_secs(3600), note, || {
                panic!("first run failed")
            })
        }));
        assert!(run.is_err());
        assert_eq!(noted.load(Ordering::SeqCst), 0);
        // Not a speed bound: without the drop on unwind the watcher would wait an hour.
        assert!(t.elapsed() < Duration::from_secs(600), "{:?}", t.elapsed());
    }
}
