// Piece: the F(4,3) transforms' bindings seen as u64 pairs, 8 f32 channels per `vec4<u64>`
// (after wino_params and u64_pairs; f32 builds with SHADER_INT64 only). The same buffers and
// layouts as wino_io's vec4 views, in units of 8 channels:
//   x [N][H][W][Cin/8], V [36][T][Cin/8], M [36][T][Cout16/8]   (Cin % 8 == 0 for x and V).
// On lavapipe a load or store costs a loop over the lanes whatever its width, so a transform
// that moves 8 channels per access makes half the accesses of the vec4 one.
@group(0) @binding(0) var<storage, read> x: array<vec4<u64>>;
@group(0) @binding(1) var<storage, read_write> v_out: array<vec4<u64>>;
@group(0) @binding(5) var<storage, read> m_in: array<vec4<u64>>;
@group(0) @binding(6) var<storage, read> bias: array<vec4<f32>>;

// Input channels 8·c8.. of pixel (iy, ix) of image n; 0 outside the image (the padding).
fn input8_at(n: u32, iy: i32, ix: i32, c8: u32) -> Eight {
    if (iy < 0 || ix < 0 || iy >= i32(p.in_h) || ix >= i32(p.in_w)) {
        return Eight(vec4<f32>(0.0), vec4<f32>(0.0));
    }
    return unpack8(x[((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * (p.in_c4 / 2u) + c8]);
}
