//! Server and per-model settings: what `resnet serve`'s flags and a model repository's
//! `config.json` files set.
//!
//! A model is named on the command line as `NAME=FILE` (`.onnx`) or `NAME=FILE:ARCH`
//! (`.safetensors` weights of an [`Architecture`]); a repository folder names it by its
//! sub-folder (see [`super::repository`]).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::gpu::Precision;
use crate::model::Architecture;

/// How one model is scheduled and prepared.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSettings {
    /// The largest batch the batcher forms and the largest batch one request may carry.
    pub max_batch_size: usize,
    /// Batch sizes (images) worth sending without waiting out the delay: a batch holding one
    /// of them goes at once when no other request is waiting (Triton's
    /// `preferred_batch_size`). Empty: only a full batch goes early.
    pub preferred_batch_sizes: Vec<usize>,
    /// Merge queued requests into batches (Triton's dynamic batching); off runs every request
    /// as its own batch.
    pub dynamic_batching: bool,
    /// How long the first request of a batch waits for more.
    pub max_queue_delay: Duration,
    /// Requests that may wait in the queue; past it a request is refused at once (503).
    pub max_queue_size: usize,
    /// A request still queued this long after it arrived is dropped with an error.
    pub timeout: Duration,
    /// Batches run at once (each on a blocking thread).
    pub in_flight: usize,
    /// Preprocessing preset for the raw-image input (default by classes: 10 → cifar,
    /// otherwise imagenet).
    pub preset: Option<String>,
    /// Class names, one a line (default: the built-in ImageNet / CIFAR-10 names).
    pub labels: Option<PathBuf>,
    /// GPU storage precision.
    pub precision: Precision,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            max_batch_size: 32,
            preferred_batch_sizes: Vec::new(),
            dynamic_batching: true,
            max_queue_delay: Duration::from_micros(2000),
            max_queue_size: 256,
            timeout: Duration::from_secs(30),
            in_flight: 2,
            preset: None,
            labels: None,
            precision: Precision::F32,
        }
    }
}

/// The largest `max_batch_size`: the server warms every power-of-two batch up to it at start-up
/// (each an inference), so a larger one would mostly make the start-up take hours.
pub const MAX_BATCH_SIZE: usize = 65_536;

impl ModelSettings {
    /// Checks the values; the error names the setting, the expected and the found.
    pub fn validate(&self, model: &str) -> Result<(), String> {
        if self.max_batch_size == 0 || self.max_batch_size > MAX_BATCH_SIZE {
            return Err(format!(
                "model `{model}`: max_batch_size must be 1 to {MAX_BATCH_SIZE}, found {}",
                self.max_batch_size
            ));
        }
        if let Some(b) = self
            .preferred_batch_sizes
            .iter()
            .find(|&&b| b == 0 || b > self.max_batch_size)
        {
            return Err(format!(
                "model `{model}`: a preferred batch size must be 1 to max_batch_size ({}), found {b}",
                self.max_batch_size
            ));
        }
        if self.max_queue_size == 0 {
            return Err(format!(
                "model `{model}`: max_queue_size must be at least 1, found 0"
            ));
        }
        if self.in_flight == 0 {
            return Err(format!(
                "model `{model}`: in_flight must be at least 1, found 0"
            ));
        }
        if self.timeout.is_zero() {
            return Err(format!(
                "model `{model}`: the request timeout must be positive, found 0"
            ));
        }
        Ok(())
    }
}

/// One model to serve.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    pub name: String,
    pub file: PathBuf,
    pub arch: Option<Architecture>,
    pub settings: ModelSettings,
}

/// Parses `NAME=FILE` or `NAME=FILE:ARCH`: `(name, file, arch)`. A `:` followed by a known
/// architecture name ends the path; any other `:` belongs to the path.
pub fn parse_model_arg(arg: &str) -> Result<(String, PathBuf, Option<Architecture>), String> {
    let Some((name, rest)) = arg.split_once('=') else {
        return Err(format!(
            "--model `{arg}`: expected NAME=FILE.onnx or NAME=FILE.safetensors:ARCH"
        ));
    };
    check_name(name).map_err(|e| format!("--model `{arg}`: {e}"))?;
    if rest.is_empty() {
        return Err(format!("--model `{arg}`: the file after `=` is empty"));
    }
    if let Some((file, arch)) = rest.rsplit_once(':') {
        match Architecture::parse(arch) {
            Ok(_) if crate::loader::is_onnx(std::path::Path::new(file)) => {
                return Err(format!(
                    "--model `{arg}`: an ONNX file holds its own architecture; expected \
                     NAME=FILE.onnx without `:{arch}`"
                ))
            }
            Ok(a) => return Ok((name.to_string(), PathBuf::from(file), Some(a))),
            // After a model file's name the `:` can only introduce an architecture.
            Err(e) if has_model_extension(file) => return Err(format!("--model `{arg}`: {e}")),
            Err(_) => {}
        }
    }
    Ok((name.to_string(), PathBuf::from(rest), None))
}

/// Whether `file` ends in `.onnx` or `.safetensors` (any case).
fn has_model_extension(file: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    lower.ends_with(".onnx") || lower.ends_with(".safetensors")
}

/// A model name: 1 to 128 of `A-Z a-z 0-9 _ - .`, not starting with `.`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "model name `{name}`: expected 1 to 128 letters, digits, `_`, `-` or `.` (not first)"
        ))
    }
}

/// Where the server listens and what it accepts.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub host: IpAddr,
    /// 0 picks a free port.
    pub http_port: u16,
    pub grpc_port: u16,
    /// A separate Prometheus port (metrics are always also at `/metrics` on the HTTP port).
    pub metrics_port: Option<u16>,
    /// The largest HTTP body and gRPC message accepted, in bytes.
    pub max_body_bytes: usize,
    pub models: Vec<ModelSpec>,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_args() {
        let (n, f, a) = parse_model_arg("cifar=/m/resnet20.onnx").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (n.as_str(), f, a),
            ("cifar", PathBuf::from("/m/resnet20.onnx"), None)
        );
        let (_, f, a) =
            parse_model_arg("r=/m/w.safetensors:resnet20").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f, PathBuf::from("/m/w.safetensors"));
        assert!(a.is_some());
        // A colon that is not followed by an architecture belongs to the path.
        let (_, f, a) = parse_model_arg("r=C:/m.onnx").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((f, a), (PathBuf::from("C:/m.onnx"), None));
        assert!(parse_model_arg("nofile").is_err());
        assert!(parse_model_arg("bad name=x.onnx").is_err());
        assert!(parse_model_arg("x=").is_err());
        // An ONNX file holds its own architecture.
        let e = parse_model_arg("r=/m/r20.onnx:resnet20").expect_err("an ONNX file's arch");
        assert!(e.contains("without `:resnet20`"), "{e}");
        // After a model file's name, `:` introduces an architecture, which must exist.
        let e = parse_model_arg("r=/m/w.safetensors:bogus").expect_err("unknown architecture");
        assert!(e.contains("bogus") && e.contains("resnet50"), "{e}");
        let (_, f, a) = parse_model_arg("r=/m/a:b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((f, a), (PathBuf::from("/m/a:b"), None));
    }

    #[test]
    fn settings_are_checked() {
        let s = ModelSettings {
            max_batch_size: 0,
            ..Default::default()
        };
        assert!(s.validate("m").is_err_and(|e| e.contains("max_batch_size")));
        let s = ModelSettings {
            max_batch_size: MAX_BATCH_SIZE + 1,
            ..Default::default()
        };
        assert!(s
            .validate("m")
            .is_err_and(|e| e.contains("1 to 65536, found 65537")));
        let s = ModelSettings {
            max_batch_size: 8,
            preferred_batch_sizes: vec![4, 16],
            ..Default::default()
        };
        assert!(s
            .validate("m")
            .is_err_and(|e| e.contains("preferred batch size") && e.contains("found 16")));
        assert!(ModelSettings::default().validate("m").is_ok());
    }
}
