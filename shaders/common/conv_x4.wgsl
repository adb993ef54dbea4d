// Piece: a conv input read four channels at a time (Cin % 4 == 0), NHWC.
@group(0) @binding(0) var<storage, read> x: array<act4>;

// The vec4 at `base + c`, or 0 where `base` is -1 (padding, or past the last pixel).
fn load_x(base: i32, c: u32) -> vec4<f32> {
    if (base < 0) {
        return vec4<f32>(0.0);
    }
    return vec4<f32>(x[u32(base) + c]);
}
