// Piece: the Winograd passes' bindings in vec4s (after wino_params; shaders/winograd.wgsl and
// winograd4.wgsl have the formulas), the input transforms' reads of the input, and the GEMMs'
// access to the transformed input V [E][T][Cin/4] vec4 and the products M [E][T][Cout16/4]
// vec4, where E = 16 (F(2,3)) or 36 (F(4,3)) and T = p.tiles; tiles past T read 0 and are not
// stored. The output transforms' residual and output (bindings 7 and 8) are in wino_out;
// wino_pairs is the u64-pairs view of the F(4,3) transforms' bindings.

@group(0) @binding(0) var<storage, read> x: array<act4>;
@group(0) @binding(1) var<storage, read_write> v_out: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v_in: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<wgt_t>;  // U
@group(0) @binding(4) var<storage, read_write> m_out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> m_in: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> bias: array<vec4<f32>>;

// Input vec4 c4 of pixel (iy, ix) of image n; 0 outside the image (the padding).
fn input_at(n: u32, iy: i32, ix: i32, c4: u32) -> vec4<f32> {
    if (iy < 0 || ix < 0 || iy >= i32(p.in_h) || ix >= i32(p.in_w)) {
        return vec4<f32>(0.0);
    }
    return vec4<f32>(x[((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.in_c4 + c4]);
}

fn load_v(e: u32, t: u32, c: u32) -> vec4<f32> {
    if (t >= p.tiles) {
        return vec4<f32>(0.0);
    }
    return v_in[(e * p.tiles + t) * p.in_c4 + c];
}

fn store_m(e: u32, t: u32, c4: u32, a: Acc) {
    if (t >= p.tiles) {
        return;
    }
    let b = (e * p.tiles + t) * p.out_c4 + c4;
    m_out[b] = a.c0;
    m_out[b + 1u] = a.c1;
    m_out[b + 2u] = a.c2;
    m_out[b + 3u] = a.c3;
}
