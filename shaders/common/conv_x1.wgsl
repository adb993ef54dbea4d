// Piece: a conv input read one channel at a time (any Cin), NHWC.
@group(0) @binding(0) var<storage, read> x: array<act>;

// The value at `base + c`, or 0 where `base` is -1 (padding, or past the last pixel).
fn load_x(base: i32, c: u32) -> f32 {
    if (base < 0) {
        return 0.0;
    }
    return f32(x[u32(base) + c]);
}
