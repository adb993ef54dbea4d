//! One entry point for model files: `.onnx` (the architecture comes from the file) or
//! `.safetensors` (weights under torchvision/timm key names, with an [`Architecture`]).

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::{Architecture, BuildOptions, Graph};
use crate::Weights;

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

/// Loads `path` by its extension: `.onnx` (where `arch` is not needed and is ignored) or
/// `.safetensors` (which needs `arch`).
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
                    "{}: a safetensors file holds only weights; name its architecture with --arch (one of simple, resnet18, ..., resnet110)",
                    path.display()
                ))
            })?;
            let graph = crate::load_graph(arch, &Weights::File(path.to_path_buf()), opts)?;
            Ok(LoadedModel {
                graph,
                softmax: false,
                input_hw: None,
            })
        }
        _ => Err(Error::InvalidInput(format!(
            "{}: unknown model file type `.{ext}`; expected .onnx or .safetensors",
            path.display()
        ))),
    }
}
