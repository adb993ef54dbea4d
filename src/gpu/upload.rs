//! Weight upload: every node's weights in graph order, conv weights packed to the kernels'
//! layout (Cout padded to the channel block) in the storage precision, plus the
//! Winograd-transformed weights of eligible 3×3 convs (F(2,3) for each, F(4,3) too for those
//! of at most 256 × 256 channels on adapters with subgroups); biases, batch-norm affines and the
//! classifier stay f32. Every buffer is padded to a multiple of 32 bytes, the element of the
//! u64-pair views (`vec4<u64>`), which the dummy also binds as.

use wgpu::util::DeviceExt;

use super::context::Context;
use super::kernels::{conv, winograd, Precision};
use crate::error::{Error, Result};
use crate::model::{Graph, Op};

/// Uploads the weights of every node (conv weights in the storage precision) and the dummy.
pub(crate) fn upload(
    ctx: &Context,
    graph: &Graph,
    precision: Precision,
) -> Result<(Vec<Vec<wgpu::Buffer>>, wgpu::Buffer)> {
    let limit = ctx.limits.max_storage_buffer_binding_size;
    let upload_bytes = |label: &str, mut bytes: Vec<u8>| -> Result<wgpu::Buffer> {
        let len = bytes.len().max(32).div_ceil(32) * 32;
        if len as u64 > limit {
            return Err(Error::TooLarge {
                what: format!("the weights of `{label}`"),
                needed: len as u64,
                limit,
            });
        }
        bytes.resize(len, 0);
        Ok(ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &bytes,
                usage: wgpu::BufferUsages::STORAGE,
            }))
    };
    let f32s = |label: &str, data: &[f32]| upload_bytes(label, bytemuck::cast_slice(data).to_vec());
    let stored = |label: &str, data: &[f32]| match precision {
        Precision::F32 => f32s(label, data),
        Precision::F16 => upload_bytes(
            label,
            data.iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
        ),
    };
    let mut weights = Vec::new();
    for node in graph.nodes() {
        let bufs = match &node.op {
            Op::Conv {
                conv, weight, bias, ..
            } => {
                let (w, b) = conv::pack(conv, weight, bias);
                let mut bufs = vec![stored(&node.name, &w)?, f32s(&node.name, &b)?];
                if winograd::eligible(conv) {
                    let u = winograd::transform_weights(conv, weight, winograd::Form::F2);
                    bufs.push(stored(&node.name, &u)?);
                }
                // 4× the 3×3 weights; `winograd_f43_tiled` runs on every adapter.
                if winograd::eligible_f4(conv) {
                    let u = winograd::transform_weights(conv, weight, winograd::Form::F4);
                    bufs.push(stored(&node.name, &u)?);
                }
                bufs
            }
            Op::Affine { scale, shift, .. } => {
                vec![f32s(&node.name, scale)?, f32s(&node.name, shift)?]
            }
            Op::Linear { weight, bias, .. } => {
                vec![f32s(&node.name, weight)?, f32s(&node.name, bias)?]
            }
            _ => Vec::new(),
        };
        weights.push(bufs);
    }
    Ok((weights, f32s("unused input", &[0.0; 8])?))
}
