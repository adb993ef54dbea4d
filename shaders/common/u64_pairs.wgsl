// Piece: two f32 in one u64, the low half the lower channel (little-endian storage, as every
// device wgpu runs on): what the u64-pairs views (weights_pairs, out_pairs) read and write.
// Assembled before either by src/gpu/kernels/shaders.rs.

fn low_f32(v: u64) -> f32 {
    return bitcast<f32>(u32(v & 0xfffffffflu));
}

fn high_f32(v: u64) -> f32 {
    return bitcast<f32>(u32(v >> 32u));
}

// The four f32 of two u64s, in order.
fn unpack2(v: u64, w: u64) -> vec4<f32> {
    return vec4<f32>(low_f32(v), high_f32(v), low_f32(w), high_f32(w));
}

fn pack2(a: f32, b: f32) -> u64 {
    return u64(bitcast<u32>(a)) | (u64(bitcast<u32>(b)) << 32u);
}

// Eight f32 (eight channels, `a` the lower four) as two vec4s, and in one `vec4<u64>`.
struct Eight { a: vec4<f32>, b: vec4<f32> }

fn unpack8(v: vec4<u64>) -> Eight {
    return Eight(unpack2(v.x, v.y), unpack2(v.z, v.w));
}

fn pack8(a: vec4<f32>, b: vec4<f32>) -> vec4<u64> {
    return vec4<u64>(pack2(a.x, a.y), pack2(a.z, a.w), pack2(b.x, b.y), pack2(b.z, b.w));
}
