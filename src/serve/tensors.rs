//! Tensors as the protocol carries them, and the server's model interface in those terms.
//!
//! Inputs (one of the two per request):
//! - `input`: `FP32 [N, C, H, W]`, NCHW, already preprocessed;
//! - `image`: `BYTES [N]` (or `[N, 1]`), each element an encoded JPEG/PNG/WebP/BMP/GIF file,
//!   decoded and preprocessed by the server with the model's preset.
//!
//! Outputs: `logits` and `probabilities` (the softmax of the logits), `FP32 [N, classes]`;
//! with the classification extension (`"classification": k` on an output) that output
//! becomes `BYTES [N, k]` of `"value:index:label"`, the top k by value.
//!
//! Raw (binary) forms, shared by HTTP's binary extension and gRPC's raw contents: FP32 is
//! little-endian 4 bytes a value; a BYTES tensor is each element as a little-endian `u32`
//! length followed by its bytes.

use super::error::ApiError;

pub const INPUT: &str = "input";
pub const IMAGE: &str = "image";
pub const LOGITS: &str = "logits";
pub const PROBABILITIES: &str = "probabilities";
pub const OUTPUTS: [&str; 2] = [LOGITS, PROBABILITIES];

/// The values of an input tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    Fp32(Vec<f32>),
    Bytes(Vec<Vec<u8>>),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::Fp32(v) => v.len(),
            Data::Bytes(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw form of the values.
    pub fn to_raw(&self) -> Vec<u8> {
        match self {
            Data::Fp32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::Bytes(v) => {
                let mut out = Vec::with_capacity(v.iter().map(|e| e.len() + 4).sum());
                for e in v {
                    out.extend_from_slice(&(e.len() as u32).to_le_bytes());
                    out.extend_from_slice(e);
                }
                out
            }
        }
    }

    /// Reads the raw form of a tensor `what` of `datatype`.
    pub fn from_raw(what: &str, datatype: &str, raw: &[u8]) -> Result<Data, ApiError> {
        match datatype {
            "FP32" => {
                if !raw.len().is_multiple_of(4) {
                    return Err(ApiError::bad_request(format!(
                        "{what}: FP32 data of {} bytes is not a whole number of 4-byte values",
                        raw.len()
                    )));
                }
                Ok(Data::Fp32(
                    raw.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                ))
            }
            "BYTES" => {
                let mut out = Vec::new();
                let mut rest = raw;
                while !rest.is_empty() {
                    let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                        return Err(ApiError::bad_request(format!(
                            "{what}: BYTES element {} has a truncated 4-byte length ({} bytes left)",
                            out.len(),
                            rest.len()
                        )));
                    };
                    let len = u32::from_le_bytes(*len) as usize;
                    if len > tail.len() {
                        return Err(ApiError::bad_request(format!(
                            "{what}: BYTES element {} declares {len} bytes, only {} follow",
                            out.len(),
                            tail.len()
                        )));
                    }
                    out.push(tail[..len].to_vec());
                    rest = &tail[len..];
                }
                Ok(Data::Bytes(out))
            }
            other => Err(wrong_datatype(what, other)),
        }
    }
}

/// The error for a datatype this server does not take.
pub fn wrong_datatype(what: &str, found: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{what}: wrong datatype: expected FP32 (input `{INPUT}`) or BYTES (input `{IMAGE}`), found {found}"
    ))
}

/// One input tensor of a request.
#[derive(Clone, Debug, PartialEq)]
pub struct InputTensor {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
    pub data: Data,
}

/// One output a request asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputRequest {
    pub name: String,
    /// Top-k classification instead of the values.
    pub classification: Option<usize>,
    /// Send the values in binary form (HTTP only; gRPC always sends raw contents).
    pub binary: bool,
}

/// A request in the server's terms.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct InferRequest {
    pub id: Option<String>,
    pub inputs: Vec<InputTensor>,
    /// Empty: every output, in the form `binary_default` says.
    pub outputs: Vec<OutputRequest>,
    pub binary_default: bool,
}

/// One output tensor of a response.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputTensor {
    pub name: String,
    pub datatype: &'static str,
    pub shape: Vec<i64>,
    pub data: Data,
    pub binary: bool,
}

/// The outputs asked for, from logits `[n, classes]`, with `label(i)` naming class `i`.
pub fn outputs(
    req: &InferRequest,
    logits: &[f32],
    n: usize,
    classes: usize,
    label: &dyn Fn(usize) -> String,
) -> Result<Vec<OutputTensor>, ApiError> {
    let asked: Vec<OutputRequest> = if req.outputs.is_empty() {
        OUTPUTS
            .iter()
            .map(|o| OutputRequest {
                name: o.to_string(),
                classification: None,
                binary: req.binary_default,
            })
            .collect()
    } else {
        req.outputs.clone()
    };
    let mut probs: Option<Vec<f32>> = None;
    let mut out = Vec::with_capacity(asked.len());
    for o in asked {
        let values: &[f32] = match o.name.as_str() {
            LOGITS => logits,
            PROBABILITIES => {
                probs.get_or_insert_with(|| crate::onnx::softmax_rows(logits, classes))
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown output `{other}`; expected one of: {}",
                    OUTPUTS.join(", ")
                )))
            }
        };
        let tensor = match o.classification {
            None => OutputTensor {
                name: o.name,
                datatype: "FP32",
                shape: vec![n as i64, classes as i64],
                data: Data::Fp32(values.to_vec()),
                binary: o.binary,
            },
            Some(k) => {
                let k = k.clamp(1, classes.max(1));
                let mut cells = Vec::with_capacity(n * k);
                for row in values.chunks(classes.max(1)) {
                    for i in top_k(row, k) {
                        cells.push(format!("{}:{i}:{}", row[i], label(i)).into_bytes());
                    }
                }
                OutputTensor {
                    name: o.name,
                    datatype: "BYTES",
                    shape: vec![n as i64, k as i64],
                    data: Data::Bytes(cells),
                    binary: o.binary,
                }
            }
        };
        out.push(tensor);
    }
    Ok(out)
}

/// Indices of the `k` largest values, largest first (the lower index first on ties).
pub fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trips() {
        let f = Data::Fp32(vec![1.5, -2.0]);
        assert_eq!(Data::from_raw("x", "FP32", &f.to_raw()), Ok(f));
        let b = Data::Bytes(vec![b"ab".to_vec(), Vec::new(), b"xyz".to_vec()]);
        assert_eq!(Data::from_raw("x", "BYTES", &b.to_raw()), Ok(b));
        assert!(Data::from_raw("x", "FP32", &[0; 5]).is_err());
        let bad = Data::from_raw("x", "BYTES", &[9, 0, 0, 0, 1])
            .err()
            .map(|e| e.message);
        assert!(bad.is_some_and(|m| m.contains("declares 9 bytes, only 1 follow")));
        assert!(Data::from_raw("x", "INT8", &[]).is_err_and(|e| e.message.contains("found INT8")));
    }

    #[test]
    fn classification_cells() {
        let req = InferRequest {
            outputs: vec![OutputRequest {
                name: LOGITS.into(),
                classification: Some(2),
                binary: false,
            }],
            ..Default::default()
        };
        let out = outputs(&req, &[0.5, 3.0, 1.0, 9.0, 8.0, 7.0], 2, 3, &|i| {
            format!("c{i}")
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out[0].shape, vec![2, 2]);
        let Data::Bytes(cells) = &out[0].data else {
            panic!("expected BYTES")
        };
        let cells: Vec<String> = cells
            .iter()
            .map(|c| String::from_utf8_lossy(c).into())
            .collect();
        assert_eq!(cells, ["3:1:c1", "1:2:c2", "9:0:c0", "8:1:c1"]);
        assert_eq!(top_k(&[1.0, 1.0, 2.0], 3), vec![2, 0, 1]);
    }
}
