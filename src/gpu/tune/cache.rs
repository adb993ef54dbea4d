//! The tune cache: keys of adapters and conv shapes, and the JSON file of choices.
//!
//! File: `$RESNET_TUNE_CACHE`, else `$XDG_CACHE_HOME/resnet-wgpu/tune.json`, else
//! `~/.cache/resnet-wgpu/tune.json`; a JSON object
//! `{ "<adapter key>": { "<shape key>": "variant" } }`. Shape key:
//! `cin{C}_cout{K}_k{kh}x{kw}_s{sh}x{sw}_p{top}-{left}-{bottom}-{right}[_g{groups}][_d{dh}x{dw}]_n{batch}_{h}x{w}[_f16]`
//! (`_f16` for models that store activations and weights in f16, whose kernels differ).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

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

/// The key of an adapter: name, backend and driver.
pub fn adapter_key(engine: &Engine) -> String {
    let i = engine.adapter_info();
    format!(
        "{} | {:?} | {} {}",
        i.name, i.backend, i.driver, i.driver_info
    )
}

/// Where the cache lives.
pub fn cache_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RESNET_TUNE_CACHE") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("resnet-wgpu").join("tune.json"))
}

/// Tuned choices of one adapter, by shape key.
pub type Choices = HashMap<String, ConvVariant>;

type CacheFile = BTreeMap<String, BTreeMap<String, String>>;

fn read_cache() -> CacheFile {
    cache_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .map(|v| {
            let mut out = CacheFile::new();
            if let Some(obj) = v.as_object() {
                for (adapter, shapes) in obj {
                    let entry = out.entry(adapter.clone()).or_default();
                    for (shape, variant) in shapes.as_object().into_iter().flatten() {
                        if let Some(name) = variant.as_str() {
                            entry.insert(shape.clone(), name.to_string());
                        }
                    }
                }
            }
            out
        })
        .unwrap_or_default()
}

/// The cached choices for this engine's adapter (empty when there is no cache; an unreadable
/// cache is treated as empty, since the heuristic is always correct).
pub fn load_choices(engine: &Engine) -> Choices {
    read_cache()
        .remove(&adapter_key(engine))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((k, ConvVariant::from_name(&v)?)))
        .collect()
}

pub(super) fn save_choices(engine: &Engine, new: &[(String, ConvVariant)]) -> Result<PathBuf> {
    let path = cache_path().ok_or_else(|| {
        Error::InvalidInput("no cache directory: set RESNET_TUNE_CACHE or HOME".into())
    })?;
    let mut cache = read_cache();
    let entry = cache.entry(adapter_key(engine)).or_default();
    for (k, v) in new {
        entry.insert(k.clone(), v.name().to_string());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let text =
        serde_json::to_string_pretty(&cache).map_err(|e| Error::InvalidInput(e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}
