// Piece: the implicit GEMM's global loads for the workgroup-memory tiles (after conv_io,
// conv_x4, window and tiled_stage; Cin % 4 == 0). GEMM row m is output pixel m, and
//   A[m][k] = x[window(m), ky, kx, ci],  k = (ky · KW + kx) · Cin + ci,   B[k][co] = w[k][co]
// so each A vec4 (four consecutive k) lies under one tap. K = KH · KW · Cin runs in chunks of
// CHUNK, the last one padded with zeros (a stem of 4 channels and 7 × 7 taps has K = 196).
//
// A loading invocation's A vec4 moves CHUNK / 4 vec4s along K per chunk. Its position, tap
// (ky, kx) and vec4 ci4 of Cin, is found by division once (`seek`) and then carried from chunk
// to chunk (`advance`): on GPUs an integer division by a value known only at run time is a
// sequence of a dozen or more instructions, and a chunk is only 256 (64 × 64 tiles) or 512
// (128 × 128) FMAs per invocation, so four such divisions per chunk are a share worth saving.

// What a loading invocation keeps across chunks: the window origin of its pixel, and the
// position of its A vec4 along K (past the last tap, ky = KH, in the padding of the last chunk).
struct Loader { o: vec3<i32>, ky: u32, kx: u32, ci4: u32 }

// The loader of invocation li in the tile of pixels m_base.. (its position set by `seek`).
fn loader(m_base: u32, li: u32) -> Loader {
    return Loader(origin(m_base + li / (CHUNK / 4u)), 0u, 0u, 0u);
}

// Chunks of CHUNK along K.
fn chunks() -> u32 {
    return (p.k_h * p.k_w * p.in_c + CHUNK - 1u) / CHUNK;
}

// Places invocation li's A vec4 in chunk kc: vec4 k4 = kc · CHUNK / 4 + li % (CHUNK / 4) of K,
// k4 = (ky · KW + kx) · Cin / 4 + ci4.
fn seek(l: ptr<function, Loader>, li: u32, kc: u32) {
    let cin4 = p.in_c / 4u;
    let k4 = kc * (CHUNK / 4u) + li % (CHUNK / 4u);
    let t = k4 / cin4;
    (*l).ci4 = k4 % cin4;
    (*l).ky = t / p.k_w;
    (*l).kx = t % p.k_w;
}

// Moves the A vec4 CHUNK / 4 vec4s along K: each carry out of Cin / 4 is one tap further,
// at most CHUNK / 4 of them (Cin = 4).
fn advance(l: ptr<function, Loader>) {
    let cin4 = p.in_c / 4u;
    (*l).ci4 += CHUNK / 4u;
    for (var i = 0u; i < CHUNK / 4u; i++) {
        if ((*l).ci4 >= cin4) {
            (*l).ci4 -= cin4;
            (*l).kx += 1u;
            if ((*l).kx == p.k_w) {
                (*l).kx = 0u;
                (*l).ky += 1u;
            }
        }
    }
}

// Chunk kc of the tile at vec4 column c4_base for invocation li, whose loader l is at chunk
// kc; l moves on to chunk kc + 1.
fn stage(l: ptr<function, Loader>, li: u32, c4_base: u32, kc: u32) -> Staged {
    var xv = vec4<f32>(0.0);
    if ((*l).ky < p.k_h) {
        xv = load_x(tap((*l).o, (*l).ky, (*l).kx, p.in_c / 4u), (*l).ci4);
    }
    advance(l);
    let k_total = p.k_h * p.k_w * p.in_c;
    let kw = kc * CHUNK + li / TILE_C4;
    let c4 = c4_base + li % TILE_C4;
    var wv = vec4<f32>(0.0);
    if (c4 < p.out_c4 && kw < k_total) {
        wv = load_w4(kw * p.out_c4 + c4);
    }
    return Staged(xv, wv);
}
