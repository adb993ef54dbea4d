// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store, tiled_stage, tiled_conv, tile_loop, tiled64; validated
// in that form by tests/shaders.rs).
//
// conv2d as an implicit GEMM with workgroup-memory tiles (for GPUs with fast shared memory):
// the 64 x 64 tiles of the piece tiled64 (a workgroup of 16 x 16 invocations computes 64
// output pixels x 64 output channels, 4 x 4 per invocation), K = KH*KW*Cin in chunks of 16
// loaded by tiled_conv (Cin % 4 == 0; the last chunk padded with zeros).
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

@group(0) @binding(6) var<storage, read_write> part_out: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> part_in: array<vec4<f32>>;

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
    let r = tile_sums(lid, li, loader(m_base, li), c4_base, 0u, chunks());
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
    let r = tile_sums(lid, li, loader(m_base, li), c4_base, first, end);
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
