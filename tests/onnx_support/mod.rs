//! Building small ONNX models in code (with the crate's prost message types), and a plain
//! NCHW evaluator of ONNX semantics to check imports against. The evaluator follows the ONNX
//! operator definitions directly, on NCHW tensors of any rank, and shares no code with the
//! importer, the graph IR or the CPU reference.
#![allow(dead_code)]

pub mod eval;

use prost::Message;
use resnet_wgpu::onnx::proto::attribute_proto::AttributeType;
use resnet_wgpu::onnx::proto::tensor_proto::DataType;
use resnet_wgpu::onnx::proto::tensor_shape_proto::{dimension::Value as Dim, Dimension};
use resnet_wgpu::onnx::proto::type_proto::{Tensor as TensorType, Value as TypeValue};
use resnet_wgpu::onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

/// Deterministic pseudo-random values in `[-scale, scale)`.
pub fn values(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

pub fn a_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: v,
        r#type: AttributeType::Int as i32,
        ..Default::default()
    }
}

pub fn a_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: AttributeType::Ints as i32,
        ..Default::default()
    }
}

pub fn a_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: v,
        r#type: AttributeType::Float as i32,
        ..Default::default()
    }
}

pub fn a_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: v.as_bytes().to_vec(),
        r#type: AttributeType::String as i32,
        ..Default::default()
    }
}

pub fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        t: Some(t),
        r#type: AttributeType::Tensor as i32,
        ..Default::default()
    }
}

/// How a float initializer stores its elements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Store {
    /// `float_data`
    Typed,
    /// `raw_data`, little-endian f32
    Raw,
    /// `double_data`
    Double,
    /// `raw_data`, little-endian f16 bits
    Half,
}

pub fn float_tensor(name: &str, dims: &[usize], data: &[f32], store: Store) -> TensorProto {
    let mut t = TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        ..Default::default()
    };
    match store {
        Store::Typed => {
            t.data_type = DataType::Float as i32;
            t.float_data = data.to_vec();
        }
        Store::Raw => {
            t.data_type = DataType::Float as i32;
            t.raw_data = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        }
        Store::Double => {
            t.data_type = DataType::Double as i32;
            t.double_data = data.iter().map(|&v| v as f64).collect();
        }
        Store::Half => {
            t.data_type = DataType::Float16 as i32;
            t.raw_data = data
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect();
        }
    }
    t
}

pub fn int_tensor(name: &str, dims: &[usize], data: &[i64], raw: bool) -> TensorProto {
    let mut t = TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Int64 as i32,
        ..Default::default()
    };
    if raw {
        t.raw_data = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    } else {
        t.int64_data = data.to_vec();
    }
    t
}

/// A graph under construction: nodes in order, initializers, one NCHW input named `input`.
pub struct Net {
    pub nodes: Vec<NodeProto>,
    pub inits: Vec<TensorProto>,
    /// Declared input dims; `None` is a symbolic dimension.
    pub input_dims: Vec<Option<usize>>,
    pub input_type: DataType,
    pub opset: i64,
    /// Default storage of float initializers.
    pub store: Store,
    count: usize,
}

impl Net {
    /// Input `[N, c, h, w]` with a symbolic batch (and symbolic h, w where `None`).
    pub fn new(c: usize, h: Option<usize>, w: Option<usize>) -> Self {
        Net {
            nodes: Vec::new(),
            inits: Vec::new(),
            input_dims: vec![None, Some(c), h, w],
            input_type: DataType::Float,
            opset: 17,
            store: Store::Raw,
            count: 0,
        }
    }

    /// A float initializer with seeded values in `[-scale, scale)`; returns its name.
    pub fn weight(&mut self, name: &str, dims: &[usize], scale: f32) -> String {
        let n = dims.iter().product();
        let data = values(self.inits.len() as u64 * 7919 + 17, n, scale);
        self.init(name, dims, &data)
    }

    /// A float initializer with the given values, stored as `self.store` says.
    pub fn init(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        self.inits.push(float_tensor(name, dims, data, self.store));
        name.to_string()
    }

    pub fn ints(&mut self, name: &str, data: &[i64]) -> String {
        self.inits.push(int_tensor(
            name,
            &[data.len()],
            data,
            self.inits.len().is_multiple_of(2),
        ));
        name.to_string()
    }

    /// Appends a node named `name` (output `name`); returns the output name.
    pub fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> String {
        self.count += 1;
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![name.to_string()],
            name: name.to_string(),
            op_type: op.to_string(),
            attribute: attrs,
            ..Default::default()
        });
        name.to_string()
    }

    /// Conv with seeded weights `[m, c, k, k]` (and bias if asked).
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        name: &str,
        x: &str,
        c: usize,
        m: usize,
        k: usize,
        stride: usize,
        pads: [i64; 4],
        bias: bool,
    ) -> String {
        let scale = 1.0 / ((c * k * k) as f32).sqrt();
        let w = self.weight(&format!("{name}.w"), &[m, c, k, k], scale * 1.7);
        let mut inputs = vec![x.to_string(), w];
        if bias {
            inputs.push(self.weight(&format!("{name}.b"), &[m], 0.3));
        }
        let ins: Vec<&str> = inputs.iter().map(|s| s.as_str()).collect();
        let attrs = vec![
            a_ints("kernel_shape", &[k as i64, k as i64]),
            a_ints("strides", &[stride as i64, stride as i64]),
            a_ints("pads", &pads),
        ];
        self.node("Conv", name, &ins, attrs)
    }

    /// BatchNormalization with seeded statistics (variance in [0.5, 1.5)).
    pub fn bn(&mut self, name: &str, x: &str, c: usize, eps: f32) -> String {
        let g = self.weight(&format!("{name}.g"), &[c], 1.0);
        let b = self.weight(&format!("{name}.b"), &[c], 0.5);
        let m = self.weight(&format!("{name}.m"), &[c], 0.5);
        let v: Vec<f32> = values(c as u64 + 99, c, 0.5)
            .iter()
            .map(|v| v + 1.0)
            .collect();
        let v = self.init(&format!("{name}.v"), &[c], &v);
        self.node(
            "BatchNormalization",
            name,
            &[x, &g, &b, &m, &v],
            vec![a_float("epsilon", eps)],
        )
    }

    /// The model with `output` as its graph output.
    pub fn model(&self, output: &str) -> ModelProto {
        let dim = |d: &Option<usize>| Dimension {
            value: Some(match d {
                Some(v) => Dim::DimValue(*v as i64),
                None => Dim::DimParam("N".into()),
            }),
            ..Default::default()
        };
        let value_info = |name: &str, dims: &[Option<usize>], elem: DataType| ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(TypeValue::TensorType(TensorType {
                    elem_type: elem as i32,
                    shape: Some(TensorShapeProto {
                        dim: dims.iter().map(dim).collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        };
        ModelProto {
            ir_version: 8,
            producer_name: "resnet-wgpu tests".into(),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: self.opset,
            }],
            graph: Some(GraphProto {
                name: "test".into(),
                node: self.nodes.clone(),
                initializer: self.inits.clone(),
                input: vec![value_info("input", &self.input_dims, self.input_type)],
                output: vec![value_info(output, &[None, None], DataType::Float)],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The serialized model.
    pub fn bytes(&self, output: &str) -> Vec<u8> {
        self.model(output).encode_to_vec()
    }
}
