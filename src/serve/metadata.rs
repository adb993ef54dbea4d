//! The metadata and configuration documents of the protocol, as JSON (HTTP); the gRPC
//! routes build the same content as messages (see [`super::grpc`]).
//!
//! Model metadata lists the inputs `input` (`FP32 [-1, C, H, W]`, -1 where any size is
//! taken) and `image` (`BYTES [-1]`), and the outputs `logits` and `probabilities`
//! (`FP32 [-1, classes]`). The configuration is Triton's model configuration: dims without
//! the batch, `max_batch_size`, `dynamic_batching` when batching is on.

use serde_json::{json, Value};

use super::served::ModelInfo;
use super::state::{EXTENSIONS, SERVER_NAME, VERSION};
use super::tensors::{IMAGE, INPUT, LOGITS, PROBABILITIES};

/// Platform and backend names reported for every model.
pub const PLATFORM: &str = "resnet_wgpu";

pub fn server_metadata() -> Value {
    json!({
        "name": SERVER_NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": EXTENSIONS,
    })
}

pub fn model_metadata(m: &ModelInfo) -> Value {
    let classes = m.classes as i64;
    json!({
        "name": m.name,
        "versions": [VERSION],
        "platform": PLATFORM,
        "inputs": [
            {"name": INPUT, "datatype": "FP32", "shape": m.input_shape()},
            {"name": IMAGE, "datatype": "BYTES", "shape": [-1]},
        ],
        "outputs": [
            {"name": LOGITS, "datatype": "FP32", "shape": [-1, classes]},
            {"name": PROBABILITIES, "datatype": "FP32", "shape": [-1, classes]},
        ],
    })
}

pub fn model_config(m: &ModelInfo) -> Value {
    let s = &m.settings;
    let dims = &m.input_shape()[1..];
    let classes = m.classes as i64;
    let mut cfg = json!({
        "name": m.name,
        "platform": PLATFORM,
        "backend": PLATFORM,
        "max_batch_size": s.max_batch_size,
        "input": [
            {"name": INPUT, "data_type": "TYPE_FP32", "format": "FORMAT_NCHW", "dims": dims, "optional": true},
            {"name": IMAGE, "data_type": "TYPE_STRING", "format": "FORMAT_NONE", "dims": [1], "optional": true},
        ],
        "output": [
            {"name": LOGITS, "data_type": "TYPE_FP32", "dims": [classes]},
            {"name": PROBABILITIES, "data_type": "TYPE_FP32", "dims": [classes]},
        ],
        "parameters": {
            "preset": {"string_value": m.preset},
            "model_file": {"string_value": m.file.display().to_string()},
        },
    });
    if s.dynamic_batching {
        cfg["dynamic_batching"] = json!({
            "preferred_batch_size": s.preferred_batch_sizes,
            "max_queue_delay_microseconds": s.max_queue_delay.as_micros() as u64,
            "default_queue_policy": {
                "max_queue_size": s.max_queue_size,
                "default_timeout_microseconds": s.timeout.as_micros() as u64,
            },
        });
    }
    cfg
}
