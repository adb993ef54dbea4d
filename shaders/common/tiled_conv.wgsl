// Piece: the implicit GEMM's global loads for the workgroup-memory tiles (after conv_io,
// conv_x4, window and tiled_stage; Cin % 4 == 0). GEMM row m is output pixel m, and
//   A[m][k] = x[window(m), ky, kx, ci],  k = (ky · KW + kx) · Cin + ci,   B[k][co] = w[k][co]
// so each A vec4 (four consecutive k) lies under one tap. K = KH · KW · Cin runs in chunks of
// CHUNK, the last one padded with zeros (a stem of 4 channels and 7 × 7 taps has K = 196).

// What a loading invocation keeps across chunks: the window origin of its pixel.
alias Loader = vec3<i32>;

// The loader of invocation li in the tile of pixels m_base..
fn loader(m_base: u32, li: u32) -> Loader {
    return origin(m_base + li / (CHUNK / 4u));
}

// Chunks of CHUNK along K.
fn chunks() -> u32 {
    return (p.k_h * p.k_w * p.in_c + CHUNK - 1u) / CHUNK;
}

// Chunk kc of the tile at vec4 column c4_base, for invocation li whose loader is l.
fn stage(l: Loader, li: u32, c4_base: u32, kc: u32) -> Staged {
    let k_total = p.k_h * p.k_w * p.in_c;
    let k0 = kc * CHUNK;
    let k = k0 + 4u * (li % (CHUNK / 4u));
    var xv = vec4<f32>(0.0);
    if (k < k_total) {
        let t = k / p.in_c;
        xv = load_x(tap(l, t / p.k_w, t % p.k_w, p.in_c / 4u), (k % p.in_c) / 4u);
    }
    let kw = k0 + li / TILE_C4;
    let c4 = c4_base + li % TILE_C4;
    var wv = vec4<f32>(0.0);
    if (c4 < p.out_c4 && kw < k_total) {
        wv = load_w4(kw * p.out_c4 + c4);
    }
    return Staged(xv, wv);
}
