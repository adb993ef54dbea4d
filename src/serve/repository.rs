//! A model repository: one sub-folder per model, named as the model is served, holding one
//! model file (`.onnx`, which holds its own architecture, or `.safetensors` with `"arch"` in
//! the config) and an optional `config.json`:
//!
//! ```json
//! { "file": "model.safetensors", "arch": "resnet20", "preset": "cifar", "labels": "labels.txt",
//!   "max_batch_size": 32, "preferred_batch_size": [16, 32], "dynamic_batching": true,
//!   "max_queue_delay_us": 2000,
//!   "max_queue_size": 256, "timeout_ms": 30000, "in_flight": 2, "precision": "f32" }
//! ```
//!
//! Every key is optional; the command line's settings are the defaults. Unknown keys are
//! errors, so that a misspelt setting is not silently ignored. Hidden folders are skipped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::config::{check_name, ModelSettings, ModelSpec};
use crate::model::Architecture;

/// The keys of `config.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FolderConfig {
    file: Option<String>,
    arch: Option<String>,
    preset: Option<String>,
    labels: Option<String>,
    max_batch_size: Option<usize>,
    preferred_batch_size: Option<Vec<usize>>,
    dynamic_batching: Option<bool>,
    max_queue_delay_us: Option<u64>,
    max_queue_size: Option<usize>,
    timeout_ms: Option<u64>,
    in_flight: Option<usize>,
    precision: Option<String>,
}

/// The models of a repository folder, sorted by name, with `defaults` under each folder's
/// settings.
pub fn read_repository(dir: &Path, defaults: &ModelSettings) -> Result<Vec<ModelSpec>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("model repository {}: {e}", dir.display()))?;
    let mut folders = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("model repository {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        folders.push((name, entry.path()));
    }
    folders.sort();
    if folders.is_empty() {
        return Err(format!(
            "model repository {}: no model folders (expected one sub-folder per model)",
            dir.display()
        ));
    }
    folders
        .into_iter()
        .map(|(name, path)| read_folder(&name, &path, defaults))
        .collect()
}

fn read_folder(name: &str, dir: &Path, defaults: &ModelSettings) -> Result<ModelSpec, String> {
    check_name(name).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config_path = dir.join("config.json");
    let cfg: FolderConfig = if config_path.is_file() {
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| format!("{}: {e}", config_path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", config_path.display()))?
    } else {
        FolderConfig::default()
    };
    let at = |what: &str| format!("{} ({what})", config_path.display());
    let file = match &cfg.file {
        Some(f) => dir.join(f),
        None => find_model_file(dir)?,
    };
    let arch = cfg
        .arch
        .as_deref()
        .map(Architecture::parse)
        .transpose()
        .map_err(|e| format!("{}: {e}", at("arch")))?;
    if arch.is_some() && crate::loader::is_onnx(&file) {
        return Err(format!(
            "{}: {} holds its own architecture; expected no \"arch\" with an ONNX file",
            at("arch"),
            file.display()
        ));
    }
    let precision = match &cfg.precision {
        Some(p) => p.parse().map_err(|e| format!("{}: {e}", at("precision")))?,
        None => defaults.precision,
    };
    let d = defaults.clone();
    let settings = ModelSettings {
        max_batch_size: cfg.max_batch_size.unwrap_or(d.max_batch_size),
        preferred_batch_sizes: cfg.preferred_batch_size.unwrap_or(d.preferred_batch_sizes),
        dynamic_batching: cfg.dynamic_batching.unwrap_or(d.dynamic_batching),
        max_queue_delay: cfg
            .max_queue_delay_us
            .map(Duration::from_micros)
            .unwrap_or(d.max_queue_delay),
        max_queue_size: cfg.max_queue_size.unwrap_or(d.max_queue_size),
        timeout: cfg
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(d.timeout),
        in_flight: cfg.in_flight.unwrap_or(d.in_flight),
        preset: cfg.preset.or(d.preset),
        labels: cfg.labels.map(|l| dir.join(l)).or(d.labels),
        precision,
    };
    settings.validate(name)?;
    Ok(ModelSpec {
        name: name.to_string(),
        file,
        arch,
        settings,
    })
}

/// The one `.onnx` or `.safetensors` file of a folder.
fn find_model_file(dir: &Path) -> Result<PathBuf, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    matches!(e.to_ascii_lowercase().as_str(), "onnx" | "safetensors")
                })
        })
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "{}: no model file (expected one .onnx or .safetensors file, or \"file\" in config.json)",
            dir.display()
        )),
        n => Err(format!(
            "{}: {n} model files ({}); name the one to serve with \"file\" in config.json",
            dir.display(),
            found
                .iter()
                .filter_map(|p| p.file_name().map(|f| f.to_string_lossy().to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_configs() {
        let root = std::env::temp_dir().join(format!("resnet-repo-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let a = root.join("alpha");
        let b = root.join("beta");
        for d in [&a, &b, &root.join(".hidden")] {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(a.join("m.onnx"), b"").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(b.join("w.safetensors"), b"").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            b.join("config.json"),
            br#"{"arch": "resnet20", "max_batch_size": 4, "dynamic_batching": false}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let specs =
            read_repository(&root, &ModelSettings::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].name, "alpha");
        assert_eq!(specs[0].file, a.join("m.onnx"));
        assert_eq!(specs[1].settings.max_batch_size, 4);
        assert!(!specs[1].settings.dynamic_batching);
        assert!(specs[1].arch.is_some());

        // "arch" beside an ONNX file is refused, naming the config and the key.
        std::fs::write(a.join("config.json"), br#"{"arch": "resnet20"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let err = read_repository(&root, &ModelSettings::default())
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("config.json (arch)") && err.contains("m.onnx holds its own"),
            "{err}"
        );
        std::fs::remove_file(a.join("config.json")).unwrap_or_else(|e| panic!("{e}"));

        std::fs::write(b.join("config.json"), br#"{"max_batch": 4}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let err = read_repository(&root, &ModelSettings::default())
            .err()
            .unwrap_or_default();
        assert!(err.contains("unknown field `max_batch`"), "{err}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
