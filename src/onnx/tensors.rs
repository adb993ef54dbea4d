//! Constant tensors (initializers, `Constant` nodes) and node attributes.
//!
//! A `TensorProto` holds its elements either in `raw_data` (little-endian, packed) or in the
//! typed field of its data type: `float_data` for FLOAT, `int32_data` for INT32 and for the
//! 16-bit bit patterns of FLOAT16/BFLOAT16, `int64_data` for INT64, `double_data` for DOUBLE.
//! Floating types become f32, integer types i64.

use super::proto::{attribute_proto::AttributeType, tensor_proto::DataType};
use super::proto::{AttributeProto, NodeProto, TensorProto};
use crate::error::Error;

/// A constant tensor, decoded.
#[derive(Clone, Debug)]
pub(crate) struct Const {
    pub dims: Vec<usize>,
    pub data: ConstData,
}

#[derive(Clone, Debug)]
pub(crate) enum ConstData {
    Float(Vec<f32>),
    Int(Vec<i64>),
}

impl Const {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            ConstData::Float(v) => v.len(),
            ConstData::Int(v) => v.len(),
        }
    }
}

fn le_chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}

/// Decodes a tensor; the error text names what is wrong (the caller adds the tensor's name).
pub(crate) fn decode_tensor(t: &TensorProto) -> Result<Const, String> {
    if t.data_location == super::proto::tensor_proto::DataLocation::External as i32 {
        let file = t
            .external_data
            .iter()
            .find(|e| e.key == "location")
            .map_or("?", |e| e.value.as_str());
        return Err(format!(
            "its data is stored in the external file `{file}`; external data is not supported (save the model with its weights inside)"
        ));
    }
    let mut dims = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        dims.push(usize::try_from(d).map_err(|_| format!("negative dimension in {:?}", t.dims))?);
    }
    let count = crate::weights::element_count(&dims)
        .ok_or_else(|| format!("dimensions {dims:?} overflow"))?;
    let raw = &t.raw_data;
    let dtype = DataType::try_from(t.data_type).unwrap_or(DataType::Undefined);
    let data = match dtype {
        DataType::Float if !raw.is_empty() => {
            ConstData::Float(le_chunks::<4>(raw).map(f32::from_le_bytes).collect())
        }
        DataType::Float => ConstData::Float(t.float_data.clone()),
        DataType::Double if !raw.is_empty() => ConstData::Float(
            le_chunks::<8>(raw)
                .map(|b| f64::from_le_bytes(b) as f32)
                .collect(),
        ),
        DataType::Double => ConstData::Float(t.double_data.iter().map(|&v| v as f32).collect()),
        DataType::Float16 | DataType::Bfloat16 => {
            let bits: Vec<u16> = if raw.is_empty() {
                t.int32_data.iter().map(|&v| v as u16).collect()
            } else {
                le_chunks::<2>(raw).map(u16::from_le_bytes).collect()
            };
            ConstData::Float(
                bits.into_iter()
                    .map(|b| match dtype {
                        DataType::Float16 => half::f16::from_bits(b).to_f32(),
                        _ => half::bf16::from_bits(b).to_f32(),
                    })
                    .collect(),
            )
        }
        DataType::Int64 if !raw.is_empty() => {
            ConstData::Int(le_chunks::<8>(raw).map(i64::from_le_bytes).collect())
        }
        DataType::Int64 => ConstData::Int(t.int64_data.clone()),
        DataType::Int32 if !raw.is_empty() => ConstData::Int(
            le_chunks::<4>(raw)
                .map(|b| i32::from_le_bytes(b) as i64)
                .collect(),
        ),
        DataType::Int32 => ConstData::Int(t.int32_data.iter().map(|&v| v as i64).collect()),
        other => {
            return Err(format!(
                "element type {} ({}) is not supported (expected FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT32 or INT64)",
                other.as_str_name(),
                t.data_type
            ))
        }
    };
    let c = Const { dims, data };
    if c.len() != count {
        return Err(format!(
            "dimensions {:?} need {count} elements, found {} (truncated or corrupt data)",
            c.dims,
            c.len()
        ));
    }
    Ok(c)
}

/// One node being imported: its attributes, and errors that name it.
pub(crate) struct NodeCtx<'a> {
    pub node: &'a NodeProto,
    pub index: usize,
    pub origin: &'a str,
}

impl NodeCtx<'_> {
    /// `` `name` (Conv) ``, or `#12 (Conv, output `y`)` for a node without a name.
    pub fn label(&self) -> String {
        let n = self.node;
        if n.name.is_empty() {
            let out = n.output.first().map_or("", |s| s.as_str());
            format!("#{} ({}, output `{out}`)", self.index, n.op_type)
        } else {
            format!("`{}` ({})", n.name, n.op_type)
        }
    }

    /// A name for the graph node(s) this node becomes.
    pub fn ir_name(&self) -> String {
        let n = self.node;
        match (n.name.is_empty(), n.output.first()) {
            (false, _) | (true, None) => n.name.clone(),
            (true, Some(o)) => o.clone(),
        }
    }

    /// The node uses something the importer does not support.
    pub fn unsupported(&self, what: impl std::fmt::Display) -> Error {
        Error::Unsupported(format!(
            "{}: ONNX node {}: {what}",
            self.origin,
            self.label()
        ))
    }

    /// The node is malformed (wrong input count, shapes that do not fit, ...).
    pub fn invalid(&self, what: impl std::fmt::Display) -> Error {
        Error::BadOnnx {
            path: self.origin.to_string(),
            reason: format!("node {}: {what}", self.label()),
        }
    }

    /// Input `k`'s name, if present (an empty name means an omitted optional input).
    pub fn input(&self, k: usize) -> Option<&str> {
        self.node
            .input
            .get(k)
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
    }

    /// Output `k`'s name, if present.
    pub fn output(&self, k: usize) -> Option<&str> {
        self.node
            .output
            .get(k)
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
    }

    /// Errors on the first attribute not in `known`.
    pub fn check_attrs(&self, known: &[&str]) -> crate::Result<()> {
        match self
            .node
            .attribute
            .iter()
            .find(|a| !known.contains(&a.name.as_str()))
        {
            Some(a) => Err(self.unsupported(format_args!(
                "attribute `{}` is not supported (known: {})",
                a.name,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))),
            None => Ok(()),
        }
    }

    /// Whether attribute `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.node.attribute.iter().any(|a| a.name == name)
    }

    fn attr(&self, name: &str, want: AttributeType) -> crate::Result<Option<&AttributeProto>> {
        let Some(a) = self.node.attribute.iter().find(|a| a.name == name) else {
            return Ok(None);
        };
        // Very old files leave `type` unset; trust the field then.
        if a.r#type != AttributeType::Undefined as i32 && a.r#type != want as i32 {
            let found = AttributeType::try_from(a.r#type).map_or("unknown", |t| t.as_str_name());
            return Err(self.invalid(format_args!(
                "attribute `{name}`: expected type {}, found {found}",
                want.as_str_name()
            )));
        }
        Ok(Some(a))
    }

    pub fn int(&self, name: &str, default: i64) -> crate::Result<i64> {
        Ok(self
            .attr(name, AttributeType::Int)?
            .map_or(default, |a| a.i))
    }

    pub fn float(&self, name: &str, default: f32) -> crate::Result<f32> {
        Ok(self
            .attr(name, AttributeType::Float)?
            .map_or(default, |a| a.f))
    }

    pub fn ints(&self, name: &str) -> crate::Result<Option<Vec<i64>>> {
        Ok(self
            .attr(name, AttributeType::Ints)?
            .map(|a| a.ints.clone()))
    }

    pub fn floats(&self, name: &str) -> crate::Result<Option<Vec<f32>>> {
        Ok(self
            .attr(name, AttributeType::Floats)?
            .map(|a| a.floats.clone()))
    }

    pub fn string(&self, name: &str) -> crate::Result<Option<String>> {
        Ok(self
            .attr(name, AttributeType::String)?
            .map(|a| String::from_utf8_lossy(&a.s).into_owned()))
    }

    pub fn tensor(&self, name: &str) -> crate::Result<Option<&TensorProto>> {
        Ok(self
            .attr(name, AttributeType::Tensor)?
            .and_then(|a| a.t.as_ref()))
    }

    /// A list of `n` non-negative integers from attribute `name`, or `default`.
    pub fn usizes(&self, name: &str, n: usize, default: usize) -> crate::Result<Vec<usize>> {
        let Some(v) = self.ints(name)? else {
            return Ok(vec![default; n]);
        };
        if v.len() != n || v.iter().any(|&x| x < 0) {
            return Err(self.unsupported(format_args!(
                "attribute `{name}` = {v:?}: expected {n} non-negative values (2-D NCHW only)"
            )));
        }
        Ok(v.into_iter().map(|x| x as usize).collect())
    }
}
