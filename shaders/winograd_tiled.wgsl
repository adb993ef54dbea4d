// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, wino_params,
// wino_io, acc16, tiled_stage, tile_loop, tiled64; validated in that form by tests/shaders.rs).
//
// Winograd's GEMM pass over workgroup-memory tiles, for GPUs (either form; the transforms are
// winograd.wgsl's and winograd4.wgsl's): for each element e of the transformed tile,
//
//   M[e][t][co] = sum over c of V[e][t][c] * U[e][c][co]
//
// as the piece tiled64's 64 x 64 tiles, GEMM row = Winograd tile t, K = Cin in chunks of 16
// (the last one padded with zeros where Cin % 16 != 0). Layouts as in winograd.wgsl: V
// [E][T][Cin/4] vec4, U [E][Cin][Cout16/4], M [E][T][Cout16/4]. Grid: x = 64-channel tiles,
// y = 64-tile rows, z = e.

// What a loading invocation keeps across chunks: the product e and its GEMM row (tile) t.
struct Loader { e: u32, t: u32 }

// Chunks of CHUNK along K = Cin.
fn chunks() -> u32 {
    return (p.in_c4 * 4u + CHUNK - 1u) / CHUNK;
}

// Nothing to place: `stage` finds its row of V from the chunk.
fn seek(l: ptr<function, Loader>, li: u32, kc: u32) {}

// Chunk kc of the tile at vec4 column c4_base, for invocation li whose loader is l.
fn stage(lp: ptr<function, Loader>, li: u32, c4_base: u32, kc: u32) -> Staged {
    let l = *lp;
    let k0 = kc * CHUNK;
    let c = k0 / 4u + li % (CHUNK / 4u);
    var xv = vec4<f32>(0.0);
    if (c < p.in_c4) {
        xv = load_v(l.e, l.t, c);
    }
    let k = k0 + li / TILE_C4;
    let c4 = c4_base + li % TILE_C4;
    var wv = vec4<f32>(0.0);
    if (c4 < p.out_c4 && k < p.in_c4 * 4u) {
        wv = load_w4((l.e * p.in_c4 * 4u + k) * p.out_c4 + c4);
    }
    return Staged(xv, wv);
}

// Tile t's vec4 c4 of product e (nothing past the last tile or the padded Cout).
fn store_product(e: u32, t: u32, c4: u32, v: vec4<f32>) {
    if (t < p.tiles && c4 < p.out_c4) {
        m_out[(e * p.tiles + t) * p.out_c4 + c4] = v;
    }
}

@compute @workgroup_size(16, 16, 1)
fn gemm(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let e = wid.z;
    let t_base = wid.y * 64u;
    let c4_base = wid.x * 16u;
    let l = Loader(e, t_base + li / (CHUNK / 4u));
    let r = tile_sums(lid, li, l, c4_base, 0u, chunks());
    let t0 = t_base + 4u * lid.y;
    let c4 = c4_base + lid.x;
    store_product(e, t0, c4, r.a0);
    store_product(e, t0 + 1u, c4, r.a1);
    store_product(e, t0 + 2u, c4, r.a2);
    store_product(e, t0 + 3u, c4, r.a3);
}
