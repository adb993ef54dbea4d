//! Image files to NCHW batches. A background thread decodes the next batch (spread over a few
//! worker threads, since decoding is the slow part) while the caller runs the current one.
//! Batches keep the order of the paths; a batch holds images of one size, so a run of images
//! with different sizes (no crop) is split where the size changes. Files that fail to decode
//! travel with the batch they would have been in, so they can be reported in order.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

use super::Preprocess;
use crate::error::{Error, Result};
use crate::weights::Tensor;

/// File name extensions (lower case) taken from directories.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "webp", "bmp", "gif"];

fn has_image_extension(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The image files named by `paths`: a file as it is (whatever its name), a directory
/// recursed for files with an image extension (hidden entries left out), each directory's
/// files sorted by path. A path that does not exist, or a directory without images, is an
/// error.
pub fn collect_images(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            if found.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "{}: no images in this directory or below (looked for files ending in .{})",
                    p.display(),
                    IMAGE_EXTENSIONS.join(", .")
                )));
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        // Follows symbolic links, as a user listing the folder would expect.
        let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if meta.is_file() && has_image_extension(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Images of one size, ready for the network, and the files before them that failed.
pub struct Batch {
    /// `[N, 3, H, W]`.
    pub tensor: Tensor,
    /// The file of each image, in batch order.
    pub paths: Vec<PathBuf>,
    /// Files of this stretch of the input that could not be used, with why, in input order.
    pub skipped: Vec<(PathBuf, Error)>,
}

impl AsRef<Tensor> for Batch {
    fn as_ref(&self) -> &Tensor {
        &self.tensor
    }
}

/// Iterates over batches decoded ahead on a background thread.
pub struct BatchReader {
    rx: Receiver<Batch>,
    handle: Option<JoinHandle<()>>,
}

impl BatchReader {
    /// Starts decoding `paths` in batches of at most `batch` images with `threads` workers.
    pub fn new(paths: Vec<PathBuf>, pre: Preprocess, batch: usize, threads: usize) -> Self {
        let batch = batch.max(1);
        let threads = threads.max(1);
        // One batch ready while the caller works on another.
        let (tx, rx) = sync_channel::<Batch>(1);
        let handle = std::thread::spawn(move || {
            for chunk in paths.chunks(batch) {
                let decoded = decode_all(chunk, &pre, threads);
                for b in group(chunk, decoded) {
                    if tx.send(b).is_err() {
                        return; // the reader was dropped
                    }
                }
            }
        });
        BatchReader {
            rx,
            handle: Some(handle),
        }
    }
}

impl Iterator for BatchReader {
    type Item = Batch;
    fn next(&mut self) -> Option<Batch> {
        let b = self.rx.recv().ok();
        if b.is_none() {
            if let Some(h) = self.handle.take() {
                // A panic in a decoder would surface here as a shorter run; report it.
                if h.join().is_err() {
                    eprintln!("warning: the image decoding thread stopped early");
                }
            }
        }
        b
    }
}

type Decoded = Result<(Vec<f32>, usize, usize)>;

/// Decodes `paths` on `threads` scoped workers, results in input order.
fn decode_all(paths: &[PathBuf], pre: &Preprocess, threads: usize) -> Vec<Decoded> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Decoded>> = (0..paths.len()).map(|_| None).collect();
    let workers = threads.min(paths.len()).max(1);
    let parts: Vec<Vec<(usize, Decoded)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = paths.get(i) else { break };
                        mine.push((i, pre.load(p)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (i, r) in parts.into_iter().flatten() {
        results[i] = Some(r);
    }
    results
        .into_iter()
        .zip(paths)
        .map(|(r, p)| {
            r.unwrap_or_else(|| {
                Err(Error::BadImage {
                    path: p.display().to_string(),
                    reason: "the decoder stopped unexpectedly".into(),
                })
            })
        })
        .collect()
}

/// Splits decoded images into batches of one size, in order.
fn group(paths: &[PathBuf], decoded: Vec<Decoded>) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut cur: Option<(Batch, (usize, usize))> = None;
    let mut pending_skips = Vec::new();
    for (p, r) in paths.iter().zip(decoded) {
        match r {
            Err(e) => pending_skips.push((p.clone(), e)),
            Ok((data, h, w)) => {
                if let Some((b, hw)) = cur.take() {
                    if hw == (h, w) {
                        cur = Some((b, hw));
                    } else {
                        out.push(b);
                    }
                }
                let (b, _) = cur.get_or_insert_with(|| {
                    (
                        Batch {
                            tensor: Tensor::new(vec![0, 3, h, w], Vec::new()),
                            paths: Vec::new(),
                            skipped: Vec::new(),
                        },
                        (h, w),
                    )
                });
                b.skipped.append(&mut pending_skips);
                b.tensor.data.extend_from_slice(&data);
                b.tensor.shape[0] += 1;
                b.paths.push(p.clone());
            }
        }
    }
    if let Some((b, _)) = cur {
        out.push(b);
    }
    if !pending_skips.is_empty() {
        // Files after the last good image (or a chunk with none): an empty batch carries them.
        out.push(Batch {
            tensor: Tensor::new(vec![0, 3, 0, 0], Vec::new()),
            paths: Vec::new(),
            skipped: pending_skips,
        });
    }
    out
}
