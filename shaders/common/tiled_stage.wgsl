// Piece: one K chunk's staging in the workgroup-memory GEMMs (conv2d_tiled.wgsl,
// conv2d_tiled128.wgsl; needs conv_io, conv_x4 and window). The kernel file declares the
// constants TILE_PX (output pixels per tile), TILE_C4 (output vec4 columns per tile) and CHUNK
// (K per chunk, a multiple of 4 dividing Cin), and two buffers of CHUNK · TILE_PX / 4 = 256
// vec4 each in `a_tile` and `b_tile`:
//   a_tile[b][k][px / 4][px % 4]   k-row k of the tile's pixels, 4 to a vec4
//   b_tile[b][k][c4]               k-row k of the tile's weight vec4s
// The workgroup's 256 invocations load a chunk together: invocation li the input vec4
// li % (CHUNK / 4) of pixel li / (CHUNK / 4), and the weight vec4 at k-row li / TILE_C4,
// column li % TILE_C4. `stage` does the global loads (held in registers while the previous
// chunk is multiplied), `store_staged` writes them to buffer b.

// Chunks of CHUNK along K = KH · KW · Cin.
fn chunks() -> u32 {
    return p.k_h * p.k_w * p.in_c / CHUNK;
}

struct Staged { x: vec4<f32>, w: vec4<f32> }

// Chunk kc of the tile at vec4 column c4_base, for the invocation whose pixel has origin o.
fn stage(o: vec3<i32>, li: u32, c4_base: u32, kc: u32) -> Staged {
    let k0 = kc * CHUNK;
    let t = k0 / p.in_c;
    let ci4 = (k0 % p.in_c) / 4u + li % (CHUNK / 4u);
    let xv = load_x(tap(o, t / p.k_w, t % p.k_w, p.in_c / 4u), ci4);
    let c4 = c4_base + li % TILE_C4;
    var wv = vec4<f32>(0.0);
    if (c4 < p.out_c4) {
        wv = load_w4((k0 + li / TILE_C4) * p.out_c4 + c4);
    }
    return Staged(xv, wv);
}

// The staged loads into buffer b: the input vec4's channels as four consecutive k-rows of the
// pixel's column, the weight vec4 at its (k-row, column).
fn store_staged(b: u32, li: u32, s: Staged) {
    let px = li / (CHUNK / 4u);
    let row = TILE_PX / 4u;
    let base = b * 256u + 4u * (li % (CHUNK / 4u)) * row + px / 4u;
    a_tile[base][px % 4u] = s.x.x;
    a_tile[base + row][px % 4u] = s.x.y;
    a_tile[base + 2u * row][px % 4u] = s.x.z;
    a_tile[base + 3u * row][px % 4u] = s.x.w;
    b_tile[b * 256u + li] = s.w;
}
