//! The tune cache: keys of adapters and conv shapes, and the JSON file of choices.
//!
//! File: `$RESNET_TUNE_CACHE`, else `$XDG_CACHE_HOME/resnet-wgpu/tune.json`, else
//! `~/.cache/resnet-wgpu/tune.json`; a JSON object
//! `{ "<adapter key>": { "<shape key>": "variant" } }`. Shape key:
//! `cin{C}_cout{K}_k{kh}x{kw}_s{sh}x{sw}_p{top}-{left}-{bottom}-{right}[_g{groups}][_d{dh}x{dw}]_n{batch}_{h}x{w}[_f16]`
//! (`_f16` for models that store activations and weights in f16, whose kernels differ).
//! Writers lock `<file>.lock` for their read-change-write and rename a finished file over the
//! cache, so concurrent `tune` runs keep each other's entries and readers never see a part.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::gpu::context::Engine;
use crate::gpu::kernels::conv::ConvVariant;
use crate::gpu::kernels::Precision;
use crate::model::Conv2d;

/// The key of one conv shape at one batch, input size and storage precision (`_g{groups}` and
/// `_d{dh}x{dw}` follow the padding only for grouped or dilated convs, and `_f16` ends the key
/// only in f16, so plain f32 keys stay as they were).
pub fn shape_key(conv: &Conv2d, batch: usize, h: usize, w: usize, precision: Precision) -> String {
    let mut extra = String::new();
    if conv.groups != 1 {
        extra.push_str(&format!("_g{}", conv.groups));
    }
    if conv.dilation != [1, 1] {
        extra.push_str(&format!("_d{}x{}", conv.dilation[0], conv.dilation[1]));
    }
    format!(
        "cin{}_cout{}_k{}x{}_s{}x{}_p{}-{}-{}-{}{extra}_n{}_{}x{}{}",
        conv.in_c,
        conv.out_c,
        conv.kernel[0],
        conv.kernel[1],
        conv.stride[0],
        conv.stride[1],
        conv.pad[0],
        conv.pad[1],
        conv.pad[2],
        conv.pad[3],
        batch,
        h,
        w,
        match precision {
            Precision::F32 => "",
            Precision::F16 => "_f16",
        }
    )
}

/// The key of an adapter: name, backend and driver, then each environment override that
/// changes which kernels build or which the heuristic picks, as ` | VAR=value` (none in plain
/// runs, whose keys stay as they were), so that a tune run under an override keeps its
/// choices apart from the plain adapter's.
pub fn adapter_key(engine: &Engine) -> String {
    let i = engine.adapter_info();
    let mut key = format!(
        "{} | {:?} | {} {}",
        i.name, i.backend, i.driver, i.driver_info
    );
    for var in KERNEL_OVERRIDES {
        if let Ok(value) = std::env::var(var) {
            key.push_str(&format!(" | {var}={value}"));
        }
    }
    key
}

/// The environment variables that change the kernel choice (`DeviceCaps::new`).
const KERNEL_OVERRIDES: [&str; 4] = [
    "RESNET_DEVICE_TYPE",
    "RESNET_SUBGROUPS",
    "RESNET_U64_PAIRS",
    "RESNET_WIDE_BLOCKS",
];

/// Where the cache lives (an empty `RESNET_TUNE_CACHE` counts as unset).
pub fn cache_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RESNET_TUNE_CACHE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("resnet-wgpu").join("tune.json"))
}

/// Tuned choices of one adapter, by shape key.
pub type Choices = HashMap<String, ConvVariant>;

type CacheFile = BTreeMap<String, BTreeMap<String, String>>;

/// An error about the cache file at `path`: what was expected, what was found, and the way out.
fn bad_cache(path: &Path, found: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!(
        "tune cache {}: expected a JSON object {{\"<adapter>\": {{\"<shape>\": \"<variant>\"}}}}, \
         found {found}; fix or delete the file (or point RESNET_TUNE_CACHE elsewhere)",
        path.display()
    ))
}

/// The cache file at `path`: empty where it does not exist or holds only whitespace, an error
/// where it cannot be read or is not of the cache's form, so that nothing is read wrongly or
/// written over.
fn read_cache(path: &Path) -> Result<CacheFile> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CacheFile::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    if text.trim().is_empty() {
        return Ok(CacheFile::new());
    }
    serde_json::from_str::<CacheFile>(&text).map_err(|e| bad_cache(path, e))
}

/// The cached choices for this engine's adapter: empty where there is no cache file (the
/// heuristic is always correct), an error where the file cannot be read or holds a variant
/// this build does not know. A known variant that cannot run its layer on this device (the
/// device's features changed) gives way to the heuristic when the model is planned.
pub fn load_choices(engine: &Engine) -> Result<Choices> {
    let Some(path) = cache_path() else {
        return Ok(Choices::new());
    };
    let adapter = adapter_key(engine);
    read_cache(&path)?
        .remove(&adapter)
        .unwrap_or_default()
        .into_iter()
        .map(|(key, name)| match ConvVariant::from_name(&name) {
            Some(v) => Ok((key, v)),
            None => Err(bad_cache(
                &path,
                format_args!(
                    "the unknown conv variant \"{name}\" for shape \"{key}\" of adapter \
                     \"{adapter}\" (known: {})",
                    ConvVariant::ALL.map(ConvVariant::name).join(", ")
                ),
            )),
        })
        .collect()
}

/// The cache's path, checked before `tune` spends its time: a file (or none yet) in a folder
/// that exists or can be created, whose content (if any) is a cache. (The writer reads the
/// content again under its lock.)
pub(super) fn writable_cache() -> Result<PathBuf> {
    let path = writable_path()?;
    read_cache(&path)?;
    Ok(path)
}

/// The cache's path, where it is not a directory, with its folder created.
fn writable_path() -> Result<PathBuf> {
    let path = cache_path().ok_or_else(|| {
        Error::InvalidInput(
            "tune cache: no path; expected RESNET_TUNE_CACHE, XDG_CACHE_HOME or HOME to be set"
                .into(),
        )
    })?;
    if path.is_dir() {
        return Err(Error::InvalidInput(format!(
            "tune cache {}: expected a file, found a directory",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::InvalidInput(format!(
                "tune cache {}: expected its folder {} to exist or be creatable, found: {e}",
                path.display(),
                dir.display()
            ))
        })?;
    }
    Ok(path)
}

/// Adds `new` to this adapter's entry of the cache (every other entry kept as it was). Safe
/// against other writers, threads or processes: the read, the change and the write happen
/// under an exclusive lock of `<cache>.lock`, so no writer's entries are lost; the new
/// content goes to a file beside the cache that is then renamed over it, so a reader sees
/// the old file or the new one, never a part.
pub(super) fn save_choices(engine: &Engine, new: &[(String, ConvVariant)]) -> Result<PathBuf> {
    let path = writable_path()?;
    let named: Vec<(String, String)> = new
        .iter()
        .map(|(k, v)| (k.clone(), v.name().to_string()))
        .collect();
    add_entries(&path, &adapter_key(engine), &named)?;
    Ok(path)
}

/// Adds `new` (shape key, variant name) to the entry of `adapter` in the cache at `path`,
/// as [`save_choices`] says.
fn add_entries(path: &Path, adapter: &str, new: &[(String, String)]) -> Result<()> {
    let _lock = lock_beside(path)?;
    let mut cache = read_cache(path)?;
    let entry = cache.entry(adapter.to_string()).or_default();
    for (k, v) in new {
        entry.insert(k.clone(), v.clone());
    }
    let text =
        serde_json::to_string_pretty(&cache).map_err(|e| Error::InvalidInput(e.to_string()))?;
    replace_file(path, text.as_bytes())
}

/// `<path>.lock`, opened (created if need be) and locked exclusively; the lock ends when the
/// returned file is dropped.
fn lock_beside(path: &Path) -> Result<std::fs::File> {
    let lock_path = with_suffix(path, ".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(&lock_path, e))?;
    file.lock().map_err(|e| Error::io(&lock_path, e))?;
    Ok(file)
}

/// Writes `bytes` to a new file beside `path` (named for this process and thread) and renames
/// it over `path`; the new file is removed if the write fails.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let suffix = format!(
        ".{}-{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    );
    let tmp = with_suffix(path, &suffix.replace(['(', ')'], ""));
    let written = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::io(path, e));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writers in several threads, each adding its own keys, while readers read: every read
    /// is a whole cache, and no writer's keys are lost (nor the entries there before).
    #[test]
    fn concurrent_saves_keep_every_entry_and_reads_see_whole_files() {
        let dir = std::env::temp_dir().join(format!("resnet-tune-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir); // a crashed run's files, under a reused pid
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tune.json");
        let before: Vec<(String, String)> = (0..2000)
            .map(|i| (format!("old{i}"), "direct".to_string()))
            .collect();
        add_entries(&path, "adapter", &before).unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut reads = 0;
                        while !done.load(std::sync::atomic::Ordering::Relaxed) {
                            let cache = read_cache(&path).unwrap_or_else(|e| panic!("{e}"));
                            assert!(cache["adapter"].len() >= 2000, "a read lost entries");
                            reads += 1;
                        }
                        reads
                    })
                })
                .collect();
            let writers: Vec<_> = (0..6)
                .map(|t| {
                    let path = &path;
                    s.spawn(move || {
                        for i in 0..15 {
                            let key = vec![(format!("t{t}k{i}"), "tiled_gemm".to_string())];
                            add_entries(path, "adapter", &key).unwrap_or_else(|e| panic!("{e}"));
                        }
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            for r in readers {
                assert!(r.join().unwrap() > 0, "a reader never read");
            }
        });
        let cache = read_cache(&path).unwrap();
        assert_eq!(cache["adapter"].len(), 2000 + 6 * 15);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
