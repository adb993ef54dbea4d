//! Texture inputs: a conv that reads its input through the texture path (on lavapipe a
//! `textureLoad` costs 0.55–0.75× a storage-buffer load) gets a copy of the input activation
//! in a 2-D texture just before its dispatch. The NHWC activation's vec4s keep their buffer
//! order, [`TEXTURE_ROW`] texels to a texture row:
//!
//! ```text
//! vec4 i  →  texel (i mod 4096, i div 4096)          (shaders/common/conv_xtex.wgsl)
//! ```
//!
//! A row is 4,096 × 16 bytes (f32, `Rgba32Float`) or × 8 (f16, `Rgba16Float`), a multiple of
//! the 256-byte row alignment of buffer-to-texture copies for every shape, so one copy moves
//! the full rows and a second the partial last row. A workspace holds one texture, as tall as
//! its schedule's largest staged input: each copy is consumed by the dispatch that follows it.

use super::kernels::Precision;

/// Texels per texture row (a power of two: the shader splits an index with a mask and a shift).
pub const TEXTURE_ROW: u32 = 4096;

/// Texture rows that hold `vec4s` texels.
pub fn rows(vec4s: u64) -> u64 {
    vec4s.div_ceil(TEXTURE_ROW as u64)
}

/// The texel format of a precision's activations.
pub fn format(precision: Precision) -> wgpu::TextureFormat {
    match precision {
        Precision::F32 => wgpu::TextureFormat::Rgba32Float,
        Precision::F16 => wgpu::TextureFormat::Rgba16Float,
    }
}

/// A texture of `rows` rows (at least one) for activations of `precision`.
pub fn create(device: &wgpu::Device, precision: Precision, rows: u32) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some("texture input"),
        size: wgpu::Extent3d {
            width: TEXTURE_ROW,
            height: rows.max(1),
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: format(precision),
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    })
}

/// Records the copy of the first `vec4s` vec4s of `buffer` into `texture` (full rows, then
/// the partial last row).
pub fn record_copy(
    enc: &mut wgpu::CommandEncoder,
    buffer: &wgpu::Buffer,
    texture: &wgpu::Texture,
    precision: Precision,
    vec4s: u64,
) {
    let texel = 4 * precision.bytes() as u64;
    let row_bytes = TEXTURE_ROW as u64 * texel;
    let full = vec4s / TEXTURE_ROW as u64;
    let rest = vec4s % TEXTURE_ROW as u64;
    let mut copy = |offset: u64, y: u64, width: u64, height: u64| {
        enc.copy_buffer_to_texture(
            wgpu::TexelCopyBufferInfo {
                buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset,
                    bytes_per_row: Some(row_bytes as u32),
                    rows_per_image: None,
                },
            },
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d {
                    x: 0,
                    y: y as u32,
                    z: 0,
                },
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::Extent3d {
                width: width as u32,
                height: height as u32,
                depth_or_array_layers: 1,
            },
        );
    };
    if full > 0 {
        copy(0, 0, TEXTURE_ROW as u64, full);
    }
    if rest > 0 {
        copy(full * row_bytes, full, rest, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_hold_every_vec4_and_rows_meet_the_copy_alignment() {
        assert_eq!(rows(1), 1);
        assert_eq!(rows(4096), 1);
        assert_eq!(rows(4097), 2);
        // ResNet-20's layer1 at batch 16: 16 · 32 · 32 · 16 channels = 65,536 vec4s.
        assert_eq!(rows(16 * 32 * 32 * 4), 16);
        for p in [Precision::F32, Precision::F16] {
            let row = TEXTURE_ROW as usize * 4 * p.bytes();
            assert_eq!(row % wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize, 0);
            assert_eq!(format(p).block_copy_size(None), Some(4 * p.bytes() as u32));
        }
    }
}
