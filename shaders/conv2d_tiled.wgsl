// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store; validated in that form by tests/shaders.rs).
//
// conv2d as an implicit GEMM with workgroup-memory tiles (for GPUs with fast shared memory):
// a workgroup of 16 x 16 invocations computes 64 output pixels x 64 output channels, each
// invocation a 4 x 4 register block (4 pixels x one vec4 of channels). K = KH*KW*Cin runs in
// chunks of 16; every chunk stages A (64 pixels x 16 input channels, loaded as vec4 along
// channels) and B (16 x 64 weights) in workgroup memory. Needs Cin % 16 == 0, so that a chunk
// never straddles two taps.
//
//   acc[m][co] = sum over k of A[m][k] * B[k][co],  A[m][(ky*KW + kx)*Cin + ci] = x[window(m), ky, kx, ci]
//   y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)          (the fused write step)
//
// Weights: HWIO, Cout padded to 16, as vec4. Grid: x = 64-channel tiles, (y, z) = 64-pixel tiles.
//
// Split K (for layers whose grid of tiles is too small to fill a GPU, 7 x 7 and 14 x 14 maps at
// batch 1): `partial` computes the same tiles over one of S = p.k_splits slices of the chunks,
//
//   part[s][m][co] = sum over the chunks of slice s of A[m][k] * B[k][co]
//
// (slice s: chunks s*ceil(n/S) .. min((s+1)*ceil(n/S), n) of n), grid x = 64-channel tiles x S
// (tile = x % tiles, s = x / tiles); and `reduce` sums the slices and applies the write step:
//
//   y[m][co] = sum over s of part[s][m][co] + bias[co] (+ residual[m][co]) (ReLU)
//
// part: [S][M][Cout padded / 4] vec4 of f32 in both precisions (M = output pixels). `reduce`
// has one invocation per output vec4 (m, c4), 64 per workgroup, along x then y.

// a_tile[k][px / 4][px % 4]: 16 k-rows of 64 pixels; b_tile[k][c4]: 16 k-rows of 16 vec4.
var<workgroup> a_tile: array<vec4<f32>, 256>;
var<workgroup> b_tile: array<vec4<f32>, 256>;

@group(0) @binding(6) var<storage, read_write> part_out: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> part_in: array<vec4<f32>>;

// One invocation's 4 pixels x 4 channels.
struct Block { a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32> }

// Chunks of 16 along K.
fn chunks() -> u32 {
    return p.k_h * p.k_w * p.in_c / 16u;
}

// The block of invocation (lid, li) in the tile of pixels m_base.. and vec4 columns c4_base..,
// summed over chunks first..end (the same in every invocation of the workgroup).
fn tile_sums(lid: vec3<u32>, li: u32, m_base: u32, c4_base: u32, first: u32, end: u32) -> Block {
    // Loader roles: A row px_l with vec4 cv_l; B row k_l, column c_l.
    let px_l = li / 4u;
    let cv_l = li % 4u;
    let o = origin(m_base + px_l);
    let k_l = li / 16u;
    let c_l = li % 16u;
    let cin4 = p.in_c / 4u;
    var r = Block(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    for (var kc = first; kc < end; kc++) {
        let k0 = kc * 16u;
        let t = k0 / p.in_c;
        let ci4 = (k0 % p.in_c) / 4u;
        let xv = load_x(tap(o, t / p.k_w, t % p.k_w, cin4), ci4 + cv_l);
        a_tile[(cv_l * 4u) * 16u + px_l / 4u][px_l % 4u] = xv.x;
        a_tile[(cv_l * 4u + 1u) * 16u + px_l / 4u][px_l % 4u] = xv.y;
        a_tile[(cv_l * 4u + 2u) * 16u + px_l / 4u][px_l % 4u] = xv.z;
        a_tile[(cv_l * 4u + 3u) * 16u + px_l / 4u][px_l % 4u] = xv.w;
        var bv = vec4<f32>(0.0);
        if (c4_base + c_l < p.out_c4) {
            bv = load_w4((k0 + k_l) * p.out_c4 + c4_base + c_l);
        }
        b_tile[k_l * 16u + c_l] = bv;
        workgroupBarrier();
        for (var k = 0u; k < 16u; k++) {
            let a = a_tile[k * 16u + lid.y];
            let b = b_tile[k * 16u + lid.x];
            r.a0 = fma(vec4<f32>(a.x), b, r.a0);
            r.a1 = fma(vec4<f32>(a.y), b, r.a1);
            r.a2 = fma(vec4<f32>(a.z), b, r.a2);
            r.a3 = fma(vec4<f32>(a.w), b, r.a3);
        }
        workgroupBarrier();
    }
    return r;
}

@compute @workgroup_size(16, 16, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let m_base = (wid.z * nwg.y + wid.y) * 64u;
    let c4_base = wid.x * 16u;
    let r = tile_sums(lid, li, m_base, c4_base, 0u, chunks());
    let m0 = m_base + lid.y * 4u;
    let c4 = c4_base + lid.x;
    let m_total = pixels();
    if (m0 < m_total) { store4(m0, c4, r.a0); }
    if (m0 + 1u < m_total) { store4(m0 + 1u, c4, r.a1); }
    if (m0 + 2u < m_total) { store4(m0 + 2u, c4, r.a2); }
    if (m0 + 3u < m_total) { store4(m0 + 3u, c4, r.a3); }
}

// Pixel m's vec4 c4 of slice s (nothing past the last pixel or the padded Cout).
fn store_part(s: u32, m: u32, c4: u32, v: vec4<f32>) {
    if (m < pixels() && c4 < p.out_c4) {
        part_out[(s * pixels() + m) * p.out_c4 + c4] = v;
    }
}

@compute @workgroup_size(16, 16, 1)
fn partial(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let tiles = (p.out_c4 + 15u) / 16u;
    let s = wid.x / tiles;
    let n = chunks();
    let per = (n + p.k_splits - 1u) / p.k_splits;
    let first = min(s * per, n);
    let end = min(first + per, n);
    let m_base = (wid.z * nwg.y + wid.y) * 64u;
    let c4_base = (wid.x % tiles) * 16u;
    let r = tile_sums(lid, li, m_base, c4_base, first, end);
    let m0 = m_base + lid.y * 4u;
    let c4 = c4_base + lid.x;
    store_part(s, m0, c4, r.a0);
    store_part(s, m0 + 1u, c4, r.a1);
    store_part(s, m0 + 2u, c4, r.a2);
    store_part(s, m0 + 3u, c4, r.a3);
}

@compute @workgroup_size(64, 1, 1)
fn reduce(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let i = gid.y * nwg.x * 64u + gid.x;
    let m_total = pixels();
    if (i >= m_total * p.out_c4) {
        return;
    }
    var sum = vec4<f32>(0.0);
    for (var s = 0u; s < p.k_splits; s++) {
        sum += part_in[s * m_total * p.out_c4 + i];
    }
    store4(i / p.out_c4, i % p.out_c4, sum);
}
