//! One entry point for model files: `.onnx` (the architecture comes from the file) or
//! `.safetensors` (weights under torchvision/timm key names, with an [`Architecture`]).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::{Architecture, BuildOptions, Graph};

/// A network loaded from a file.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    /// The graph; its output is the logits `[N, classes]`.
    pub graph: Graph,
    /// The file's model ends in a softmax that the graph leaves out (ONNX only): apply
    /// [`crate::onnx::softmax_rows`] to the logits to get its outputs.
    pub softmax: bool,
    /// The input height and width the file declares, when it declares fixed ones (ONNX only).
    pub input_hw: Option<(usize, usize)>,
}

/// Loads `path` by its extension: `.onnx` (which holds its own architecture: an `arch` given
/// with it is an error, rather than silently ignored) or `.safetensors` (which needs `arch`).
pub fn load_model_file(
    path: &Path,
    arch: Option<Architecture>,
    opts: BuildOptions,
) -> Result<LoadedModel> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "onnx" => {
            if let Some(arch) = arch {
                return Err(Error::InvalidInput(format!(
                    "{}: an ONNX file holds its own architecture; expected none with it, found \
                     {arch}",
                    path.display()
                )));
            }
            let m = crate::onnx::load_onnx(path, opts)?;
            Ok(LoadedModel {
                graph: m.graph,
                softmax: m.softmax,
                input_hw: m.input_hw,
            })
        }
        "safetensors" => {
            let arch = arch.ok_or_else(|| {
                Error::InvalidInput(format!(
                    "{}: a safetensors file holds only weights; expected its architecture with it \
                     (`--arch A`; for `resnet serve`, `--model NAME=FILE:A` or \"arch\" in the \
                     model's config.json), one of simple, resnet18, ..., resnet110",
                    path.display()
                ))
            })?;
            let graph = load_graph(arch, &Weights::File(path.to_path_buf()), opts)?;
            Ok(LoadedModel {
                graph,
                softmax: false,
                input_hw: None,
            })
        }
        _ if path.is_dir() => Err(Error::InvalidInput(format!(
            "{}: expected a model file (.onnx or .safetensors), found a directory",
            path.display()
        ))),
        "" => Err(Error::InvalidInput(format!(
            "{}: expected a model file ending in .onnx or .safetensors, found no extension",
            path.display()
        ))),
        _ => Err(Error::InvalidInput(format!(
            "{}: unknown model file type `.{ext}`; expected .onnx or .safetensors",
            path.display()
        ))),
    }
}

/// Where a model's weights come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    /// A safetensors file with torchvision/timm (or CIFAR) key names.
    File(PathBuf),
    /// Seeded random weights, scaled to keep logits of order one.
    Random(u64),
}

impl std::fmt::Display for Weights {
    /// `random:SEED` or the path, as `--weights` takes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Weights::File(path) => write!(f, "{}", path.display()),
            Weights::Random(seed) => write!(f, "random:{seed}"),
        }
    }
}

impl std::str::FromStr for Weights {
    type Err = Error;
    /// `random:SEED` or a path.
    fn from_str(s: &str) -> Result<Self> {
        match s.strip_prefix("random:") {
            Some(seed) => seed.parse().map(Weights::Random).map_err(|_| {
                Error::InvalidInput(format!(
                    "weights `{s}`: expected random:SEED with an integer SEED"
                ))
            }),
            None => Ok(Weights::File(PathBuf::from(s))),
        }
    }
}

/// Whether `path` names an ONNX file (extension `.onnx`, any case), which holds its own
/// architecture.
pub(crate) fn is_onnx(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// Builds the graph of `arch` from `weights` (BN folded unless `opts.unfused`).
pub fn load_graph(arch: Architecture, weights: &Weights, opts: BuildOptions) -> Result<Graph> {
    match weights {
        Weights::File(path) => {
            if is_onnx(path) {
                return Err(Error::InvalidInput(format!(
                    "{}: expected safetensors weights, found an ONNX model (which holds its own \
                     architecture: load it with load_model_file, the CLI's --model)",
                    path.display()
                )));
            }
            let tensors = crate::weights::load_safetensors(path)?;
            crate::model::build_graph(arch, &mut crate::weights::FileSource::new(tensors), opts)
                .map_err(|e| e.in_file(&path.display().to_string()))
        }
        Weights::Random(seed) => {
            crate::model::build_graph(arch, &mut crate::weights::RandomSource::new(*seed), opts)
        }
    }
}
