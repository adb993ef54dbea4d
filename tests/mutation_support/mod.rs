//! The harness of the mutation test: a seeded PRNG, an allocator that counts the bytes the
//! process holds, and [`run`], which feeds mutants of one file to a loader one by one and
//! collects every panic, hang, over-large allocation and error that does not name the file.
//!
//! Bounds, per loader call: [`CALL_LIMIT`] of wall time (a watchdog thread fails the test when
//! a call does not return in time), [`ALLOC_LIMIT`] of heap growth above what was held before
//! the call (counted by the allocator, so even memory never touched counts); per corpus, the
//! peak resident size (`VmHWM`) may grow by at most [`RSS_LIMIT`].
#![allow(dead_code)]

pub mod formats;
pub mod mutate;

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most wall time one loader call may take.
pub const CALL_LIMIT: Duration = Duration::from_secs(5);
/// Most heap one loader call may add to what the process held before it.
pub const ALLOC_LIMIT: usize = 1 << 30;
/// Most the peak resident size may grow over one corpus.
pub const RSS_LIMIT: u64 = 1 << 30;

/// splitmix64: small, fast and the same on every platform, so a seed names a mutant for good.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// The system allocator, counting the bytes currently held and their peak.
pub struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = HELD.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            HELD.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

/// The CRC-32 of PNG chunks (reflected polynomial 0xEDB88320), bit by bit.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & 0u32.wrapping_sub(crc & 1));
        }
    }
    !crc
}

/// Runs `f` alone (no corpus runs meanwhile) and returns its result and the most heap it
/// held at once beyond what the process held before.
pub fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let held = HELD.load(Ordering::Relaxed);
    PEAK.store(held, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(held))
}

/// A field of `/proc/self/status` in bytes (`VmHWM`, `VmRSS`); 0 where there is none.
pub fn proc_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// One mutant: its bytes and what was done, for the report.
pub struct Mutant {
    pub bytes: Vec<u8>,
    pub what: String,
}

/// What a corpus run saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub loaded: usize,
    pub refused: usize,
    pub failures: Vec<String>,
    /// The largest heap growth of one call, and the longest call.
    pub max_alloc: usize,
    pub max_time: Duration,
}

/// Corpus runs one at a time, so that the allocator's counts belong to one call.
static SERIAL: Mutex<()> = Mutex::new(());

/// Writes `count` mutants of `original` (mutant `i` from seed `seed + i`) to `path` one by
/// one and loads each with `load`; fails the test, listing every mutant at fault, when one
/// panics, hangs, takes too long, allocates too much, or fails with a message that does not
/// contain the file's name. The original must load.
pub fn run<M, L>(
    corpus: &str,
    original: &[u8],
    path: &Path,
    count: usize,
    seed: u64,
    mutate: M,
    load: L,
) where
    M: Fn(&mut Rng, &[u8]) -> Mutant + Send + 'static,
    L: Fn(&Path) -> resnet_wgpu::Result<()> + Send + 'static,
{
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    std::fs::write(path, original).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if let Err(e) = load(path) {
        panic!("{corpus}: the unmutated file does not load: {e}");
    }
    // Best effort: reset the peak resident size (Linux ≥ 4.0), then measure from here.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = proc_status_bytes("VmRSS");
    let started = Instant::now();

    let current = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel::<()>();
    let (original, path_buf, cur) = (original.to_vec(), path.to_path_buf(), current.clone());
    let corpus_name = corpus.to_string();
    let worker = std::thread::spawn(move || {
        let mut tally = Tally::default();
        for i in 0..count {
            let mutant_seed = seed.wrapping_add(i as u64);
            let m = mutate(&mut Rng::new(mutant_seed), &original);
            let label = format!("{corpus_name} mutant {i} (seed {mutant_seed}): {}", m.what);
            *cur.lock().unwrap_or_else(|e| e.into_inner()) = label.clone();
            if let Err(e) = std::fs::write(&path_buf, &m.bytes) {
                tally.failures.push(format!("{label}: writing: {e}"));
                break;
            }
            let held = HELD.load(Ordering::Relaxed);
            PEAK.store(held, Ordering::Relaxed);
            let t0 = Instant::now();
            let result = catch_unwind(AssertUnwindSafe(|| load(&path_buf)));
            let took = t0.elapsed();
            let alloc = PEAK.load(Ordering::Relaxed).saturating_sub(held);
            tally.max_alloc = tally.max_alloc.max(alloc);
            tally.max_time = tally.max_time.max(took);
            if took > CALL_LIMIT {
                tally
                    .failures
                    .push(format!("{label}: took {took:?}, more than {CALL_LIMIT:?}"));
            }
            if alloc > ALLOC_LIMIT {
                tally.failures.push(format!(
                    "{label}: allocated {alloc} bytes, more than {ALLOC_LIMIT}"
                ));
            }
            match result {
                Ok(Ok(())) => tally.loaded += 1,
                Ok(Err(e)) => {
                    tally.refused += 1;
                    let msg = e.to_string();
                    if !msg.contains(&name) {
                        tally
                            .failures
                            .push(format!("{label}: error without the file name: {msg}"));
                    }
                }
                Err(payload) => {
                    let msg = payload
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    tally.failures.push(format!("{label}: panicked: {msg}"));
                }
            }
            if tx.send(()).is_err() {
                break;
            }
        }
        tally
    });
    // The watchdog: every call must report back within the limit (and a margin for writing
    // the file).
    for _ in 0..count {
        match rx.recv_timeout(CALL_LIMIT + Duration::from_secs(5)) {
            Ok(()) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let label = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
                panic!(
                    "{label}: no result after {:?}: the loader hangs",
                    CALL_LIMIT + Duration::from_secs(5)
                );
            }
        }
    }
    let tally = worker
        .join()
        .unwrap_or_else(|_| panic!("{corpus}: the mutant loop itself panicked"));
    let rss_growth = proc_status_bytes("VmHWM").saturating_sub(rss_before);
    eprintln!(
        "{corpus}: {count} mutants in {:.2?}: {} loaded, {} refused; largest call: {:.1} MiB \
         allocated, {:.2?}; peak RSS growth {:.1} MiB",
        started.elapsed(),
        tally.loaded,
        tally.refused,
        tally.max_alloc as f64 / (1 << 20) as f64,
        tally.max_time,
        rss_growth as f64 / (1 << 20) as f64,
    );
    assert!(
        tally.failures.is_empty(),
        "{corpus}: {} of {count} mutants failed:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert!(
        rss_growth <= RSS_LIMIT,
        "{corpus}: the peak resident size grew by {rss_growth} bytes, more than {RSS_LIMIT}"
    );
    assert!(
        tally.refused >= count / 4,
        "{corpus}: only {} of {count} mutants were refused; the mutator is too gentle",
        tally.refused
    );
}
