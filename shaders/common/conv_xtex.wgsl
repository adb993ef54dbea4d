// Piece: a conv input read four channels at a time (Cin % 4 == 0) from a texture. The NHWC
// activation's vec4s are laid out in buffer order, TEXTURE_ROW (4,096) texels per texture row
// (src/gpu/texture_input.rs), so vec4 i is texel (i % 4096, i / 4096). The texture is
// Rgba32Float in the f32 build and Rgba16Float in the f16 build; either reads as vec4<f32>.
@group(0) @binding(0) var x: texture_2d<f32>;

// The vec4 at `base + c`, or 0 where `base` is -1 (padding, or past the last pixel).
fn load_x(base: i32, c: u32) -> vec4<f32> {
    if (base < 0) {
        return vec4<f32>(0.0);
    }
    let i = u32(base) + c;
    return textureLoad(x, vec2<u32>(i & 4095u, i >> 12u), 0);
}
