//! One error type for the whole crate. Every variant names the thing that was wrong, what was
//! expected and what was found, so that a one-line message is enough to act on.

use std::path::PathBuf;

/// Everything that can go wrong while loading a model or running it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A weights or tensor file could not be parsed at all (truncated, corrupt header, ...).
    #[error("{path}: not a valid safetensors file: {reason}")]
    BadFile { path: String, reason: String },

    /// An image file that could not be read or decoded.
    #[error("{path}: not a decodable image: {reason}")]
    BadImage { path: String, reason: String },

    /// An ONNX file that could not be decoded, or whose graph is malformed.
    #[error("{path}: not a valid ONNX model: {reason}")]
    BadOnnx { path: String, reason: String },

    /// A tensor that the architecture needs is not in the weights (`origin`: the file).
    #[error("{origin}: missing tensor `{key}` (expected shape {expected:?})")]
    MissingTensor {
        origin: String,
        key: String,
        expected: Vec<usize>,
    },

    /// The weights hold tensors that the architecture does not use.
    #[error("weights: unexpected tensor(s) for architecture {arch}: {keys}")]
    UnexpectedTensors { arch: String, keys: String },

    /// A tensor has the wrong shape (`origin`: the file or what else holds it).
    #[error("{origin}: tensor `{key}`: expected shape {expected:?}, found {found:?}")]
    ShapeMismatch {
        origin: String,
        key: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },

    /// A tensor has a data type the engine cannot read (`origin`: the file).
    #[error("{origin}: tensor `{key}`: expected dtype {expected}, found {found}")]
    DtypeMismatch {
        origin: String,
        key: String,
        expected: String,
        found: String,
    },

    /// An input tensor, size or option that does not fit the model.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A layer configuration that the engine does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// An unknown architecture name.
    #[error("unknown architecture `{found}`; expected one of: {expected}")]
    UnknownArchitecture { found: String, expected: String },

    /// No GPU adapter could be found.
    #[error("no GPU adapter found{detail}")]
    NoAdapter { detail: String },

    /// The adapter refused to create a device with the limits or features requested.
    #[error("could not create a GPU device on `{adapter}`: {reason}")]
    Device { adapter: String, reason: String },

    /// A GPU validation or out-of-memory error caught by an error scope.
    #[error("GPU error while {during}: {message}")]
    Gpu { during: String, message: String },

    /// The device stopped working (driver reset, GPU removed, or destroyed).
    #[error("the GPU device on `{adapter}` was lost ({reason}); create a new Engine and load the model again")]
    DeviceLost { adapter: String, reason: String },

    /// `resnet serve` could not start, or stopped on an error; the message names the part
    /// (a model, a port, the runtime) and carries the cause's own message.
    #[error("serve: {0}")]
    Serve(String),

    /// The GPU's output differs from the CPU reference's by more than the tolerance
    /// (`resnet verify`): `found` and `tolerance` are max |Δ| / max |reference|.
    #[error(
        "{what}: the GPU and the CPU reference disagree: max |Δ| / max |logit| is {found:.3e}, \
         expected at most {tolerance:e}"
    )]
    Disagreement {
        what: String,
        found: f64,
        tolerance: f64,
    },

    /// A buffer larger than the adapter allows.
    #[error("{what} needs {needed} bytes, more than the adapter's limit of {limit} bytes (try a smaller batch or input)")]
    TooLarge {
        what: String,
        needed: u64,
        limit: u64,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error as one that names `origin` (a file) for the variants whose message would not
    /// otherwise mention it; errors that already name it are returned unchanged.
    pub fn in_file(self, origin: &str) -> Self {
        let prefix = |m: String| {
            if m.contains(origin) {
                m
            } else {
                format!("{origin}: {m}")
            }
        };
        match self {
            Error::InvalidInput(m) => Error::InvalidInput(prefix(m)),
            Error::Unsupported(m) => Error::Unsupported(prefix(m)),
            other => other,
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
