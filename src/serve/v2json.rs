//! The HTTP/REST inference request and response bodies: JSON, optionally followed by binary
//! tensor data (the binary tensor data extension).
//!
//! Request: `Inference-Header-Content-Length: L` says the first `L` bytes of the body are
//! the JSON; the rest is the binary data of the inputs whose `parameters.binary_data_size`
//! is set, in input order, back to back. Without the header the whole body is JSON.
//! Response: outputs asked for with `parameters.binary_data` (or all outputs, with the
//! request's `parameters.binary_data_output`) come after the JSON in the same way, each
//! with its `binary_data_size`; the response's `Inference-Header-Content-Length` gives the
//! JSON's length.
//!
//! BYTES elements in JSON `data` are strings, taken as their UTF-8 bytes; with the input's
//! `parameters.content_type` set to `"base64"` (the convention of Seldon MLServer's BYTES
//! codec) each string is standard base64 and is decoded, so an encoded image file can travel
//! in a plain JSON request.

use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::state::VERSION;
use super::tensors::{
    wrong_datatype, Data, InferRequest, InputTensor, OutputRequest, OutputTensor,
};

/// Parses a request body; `header_len` is the `Inference-Header-Content-Length`.
pub fn parse_request(body: &[u8], header_len: Option<usize>) -> Result<InferRequest, ApiError> {
    let (json_part, mut binary) = match header_len {
        Some(l) if l > body.len() => {
            return Err(ApiError::bad_request(format!(
                "Inference-Header-Content-Length is {l}, past the end of the {}-byte body",
                body.len()
            )))
        }
        Some(l) => body.split_at(l),
        None => (body, &[][..]),
    };
    let doc: Value = serde_json::from_slice(json_part)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON in the request: {e}")))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| ApiError::bad_request("the request must be a JSON object"))?;
    let params = obj.get("parameters").and_then(Value::as_object);
    let binary_default = params
        .and_then(|p| p.get("binary_data_output"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let id = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`id` must be a string, found {other}"
            )))
        }
    };
    let inputs_json = obj
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("the request has no `inputs` array"))?;
    let mut inputs = Vec::with_capacity(inputs_json.len());
    for (i, t) in inputs_json.iter().enumerate() {
        inputs.push(parse_input(i, t, &mut binary)?);
    }
    if !binary.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{} bytes of binary data follow the JSON, but the inputs' binary_data_size add up to {}",
            body.len() - json_part.len(),
            body.len() - json_part.len() - binary.len()
        )));
    }
    let mut outputs = Vec::new();
    if let Some(list) = obj.get("outputs") {
        let list = list
            .as_array()
            .ok_or_else(|| ApiError::bad_request("`outputs` must be an array"))?;
        for o in list {
            outputs.push(parse_output(o, binary_default)?);
        }
    }
    Ok(InferRequest {
        id,
        inputs,
        outputs,
        binary_default,
    })
}

fn parse_input(i: usize, t: &Value, binary: &mut &[u8]) -> Result<InputTensor, ApiError> {
    let name = t
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(format!("input {i} has no `name` string")))?
        .to_string();
    let what = format!("input `{name}`");
    let datatype = t
        .get("datatype")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(format!("{what} has no `datatype` string")))?
        .to_string();
    let shape = t
        .get("shape")
        .and_then(Value::as_array)
        .and_then(|s| s.iter().map(Value::as_i64).collect::<Option<Vec<i64>>>())
        .ok_or_else(|| ApiError::bad_request(format!("{what} has no `shape` array of integers")))?;
    let size = t.get("parameters").and_then(|p| p.get("binary_data_size"));
    let data = match (size, t.get("data")) {
        (Some(size), _) => {
            let size = size.as_u64().ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{what}: binary_data_size must be a non-negative integer, found {size}"
                ))
            })? as usize;
            if size > binary.len() {
                return Err(ApiError::bad_request(format!(
                    "{what}: binary_data_size is {size} bytes, but only {} bytes of binary data are left after the JSON",
                    binary.len()
                )));
            }
            let (mine, rest) = binary.split_at(size);
            *binary = rest;
            Data::from_raw(&what, &datatype, mine)?
        }
        (None, Some(values)) => json_data(&what, &datatype, values, t)?,
        (None, None) => {
            return Err(ApiError::bad_request(format!(
                "{what} has neither `data` nor parameters.binary_data_size"
            )))
        }
    };
    Ok(InputTensor {
        name,
        datatype,
        shape,
        data,
    })
}

/// How the strings of a JSON BYTES `data` array are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BytesEncoding {
    /// The string's own UTF-8 bytes.
    Text,
    /// Standard base64 (`parameters.content_type: "base64"`).
    Base64,
}

/// The BYTES input's `parameters.content_type`: absent, `"str"` or `"base64"` (other
/// datatypes ignore it, as clients that tag FP32 tensors with their own types expect).
fn content_type(what: &str, t: &Value) -> Result<BytesEncoding, ApiError> {
    match t.get("parameters").and_then(|p| p.get("content_type")) {
        None | Some(Value::Null) => Ok(BytesEncoding::Text),
        Some(Value::String(s)) if s == "str" => Ok(BytesEncoding::Text),
        Some(Value::String(s)) if s == "base64" => Ok(BytesEncoding::Base64),
        Some(other) => Err(ApiError::bad_request(format!(
            "{what}: parameters.content_type must be \"base64\" or \"str\", found {other}"
        ))),
    }
}

/// The values of input `t`'s JSON `data` array (nested arrays are flattened in row-major
/// order).
fn json_data(what: &str, datatype: &str, values: &Value, t: &Value) -> Result<Data, ApiError> {
    let mut flat = Vec::new();
    flatten(values, &mut flat);
    match datatype {
        "FP32" => flat
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_f64().map(|x| x as f32).ok_or_else(|| {
                    ApiError::bad_request(format!("{what}: FP32 value {i} is not a number: {v}"))
                })
            })
            .collect::<Result<Vec<f32>, _>>()
            .map(Data::Fp32),
        "BYTES" => {
            let encoding = content_type(what, t)?;
            let elements = flat.iter().enumerate();
            elements
                .map(|(i, v)| bytes_element(what, i, v, encoding))
                .collect::<Result<Vec<_>, _>>()
                .map(Data::Bytes)
        }
        other => Err(wrong_datatype(what, other)),
    }
}

/// BYTES element `i` of a JSON `data` array: a string, taken per `encoding`.
fn bytes_element(
    what: &str,
    i: usize,
    v: &Value,
    encoding: BytesEncoding,
) -> Result<Vec<u8>, ApiError> {
    use base64::Engine as _;
    let s = v.as_str().ok_or_else(|| {
        ApiError::bad_request(format!("{what}: BYTES element {i} is not a string: {v}"))
    })?;
    match encoding {
        BytesEncoding::Text => Ok(s.as_bytes().to_vec()),
        BytesEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| {
                let msg = format!(
                    "{what}: BYTES element {i} is not valid base64 (content_type \"base64\"): {e}"
                );
                ApiError::bad_request(msg)
            }),
    }
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|x| flatten(x, out)),
        other => out.push(other),
    }
}

fn parse_output(o: &Value, binary_default: bool) -> Result<OutputRequest, ApiError> {
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("an entry of `outputs` has no `name` string"))?
        .to_string();
    let params = o.get("parameters");
    let classification = match params.and_then(|p| p.get("classification")) {
        None => None,
        Some(k) => match k.as_u64() {
            Some(k) if k >= 1 => Some(k as usize),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "output `{name}`: classification must be an integer ≥ 1, found {k}"
                )))
            }
        },
    };
    let binary = params
        .and_then(|p| p.get("binary_data"))
        .and_then(Value::as_bool)
        .unwrap_or(binary_default);
    Ok(OutputRequest {
        name,
        classification,
        binary,
    })
}

/// The response body and, when any output is binary, the JSON's length (for the
/// `Inference-Header-Content-Length` header).
pub fn response(
    model: &str,
    id: Option<&str>,
    outputs: &[OutputTensor],
) -> (Vec<u8>, Option<usize>) {
    let mut binary = Vec::new();
    let list: Vec<Value> = outputs
        .iter()
        .map(|o| {
            let mut t = Map::new();
            t.insert("name".into(), json!(o.name));
            t.insert("datatype".into(), json!(o.datatype));
            t.insert("shape".into(), json!(o.shape));
            if o.binary {
                let raw = o.data.to_raw();
                t.insert("parameters".into(), json!({"binary_data_size": raw.len()}));
                binary.extend_from_slice(&raw);
            } else {
                let data = match &o.data {
                    Data::Fp32(v) => json!(v),
                    Data::Bytes(v) => json!(v
                        .iter()
                        .map(|b| String::from_utf8_lossy(b))
                        .collect::<Vec<_>>()),
                };
                t.insert("data".into(), data);
            }
            Value::Object(t)
        })
        .collect();
    let mut doc = json!({"model_name": model, "model_version": VERSION, "outputs": list});
    if let Some(id) = id {
        doc["id"] = json!(id);
    }
    let mut body = doc.to_string().into_bytes();
    if outputs.iter().any(|o| o.binary) {
        let len = body.len();
        body.extend_from_slice(&binary);
        (body, Some(len))
    } else {
        (body, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_binary_inputs() {
        let header = br#"{"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}}],"outputs":[{"name":"logits","parameters":{"classification":3}}]}"#;
        let mut body = header.to_vec();
        body.extend_from_slice(&Data::Fp32(vec![1.0, 2.0]).to_raw());
        let r = parse_request(&body, Some(header.len())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.inputs[0].data, Data::Fp32(vec![1.0, 2.0]));
        assert_eq!(r.outputs[0].classification, Some(3));

        let r = parse_request(
            br#"{"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[[1,2.5]]}]}"#,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.inputs[0].data, Data::Fp32(vec![1.0, 2.5]));
    }

    #[test]
    fn bytes_in_json_as_text_or_base64() {
        let r = parse_request(
            br#"{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"data":["ab","c"]}]}"#,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.inputs[0].data,
            Data::Bytes(vec![b"ab".to_vec(), b"c".to_vec()])
        );
        // "iVBORw0KGgo=" is the PNG signature; "AP8=" is [0x00, 0xff] (not UTF-8).
        let r = parse_request(
            br#"{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"parameters":{"content_type":"base64"},"data":["iVBORw0KGgo=","AP8="]}]}"#,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.inputs[0].data,
            Data::Bytes(vec![
                vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a],
                vec![0x00, 0xff]
            ])
        );
        let msg = |body: &[u8]| {
            parse_request(body, None)
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        let bad = msg(
            br#"{"inputs":[{"name":"image","datatype":"BYTES","shape":[2],"parameters":{"content_type":"base64"},"data":["AP8=","not base64!"]}]}"#,
        );
        assert!(bad.contains("BYTES element 1 is not valid base64"), "{bad}");
        let bad = msg(
            br#"{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"parameters":{"content_type":"hex"},"data":["00"]}]}"#,
        );
        assert!(bad.contains("content_type must be"), "{bad}");
        // FP32 inputs ignore content_type (MLServer's client tags them "np").
        let r = parse_request(
            br#"{"inputs":[{"name":"input","datatype":"FP32","shape":[1],"parameters":{"content_type":"np"},"data":[1.5]}]}"#,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.inputs[0].data, Data::Fp32(vec![1.5]));
    }

    #[test]
    fn errors_name_the_problem() {
        let msg = |body: &[u8], len| {
            parse_request(body, len)
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert!(msg(b"{not json", None).contains("malformed JSON"));
        assert!(msg(b"{}", Some(10)).contains("past the end"));
        let header = br#"{"inputs":[{"name":"input","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":8}}]}"#;
        let mut body = header.to_vec();
        body.extend_from_slice(&[0; 4]);
        assert!(msg(&body, Some(header.len())).contains("only 4 bytes of binary data"));
        body.extend_from_slice(&[0; 8]);
        assert!(msg(&body, Some(header.len())).contains("add up to 8"));
    }

    #[test]
    fn binary_response() {
        let out = [OutputTensor {
            name: "logits".into(),
            datatype: "FP32",
            shape: vec![1, 1],
            data: Data::Fp32(vec![3.0]),
            binary: true,
        }];
        let (body, len) = response("m", Some("7"), &out);
        let len = len.unwrap_or_default();
        let doc: Value = serde_json::from_slice(&body[..len]).unwrap_or_default();
        assert_eq!(doc["outputs"][0]["parameters"]["binary_data_size"], 4);
        assert_eq!(doc["id"], "7");
        assert_eq!(&body[len..], &3.0f32.to_le_bytes());
    }
}
