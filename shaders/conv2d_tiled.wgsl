// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store, tiled_stage; validated in that form by tests/shaders.rs).
//
// conv2d as an implicit GEMM with workgroup-memory tiles (for GPUs with fast shared memory):
// a workgroup of 16 x 16 invocations computes 64 output pixels x 64 output channels, each
// invocation a 4 x 4 register block (4 pixels x one vec4 of channels). K = KH*KW*Cin runs in
// chunks of 16; every chunk stages A (64 pixels x 16 input channels, loaded as vec4 along
// channels) and B (16 x 64 weights) in one of two workgroup-memory buffers while the previous
// chunk is multiplied from the other. Needs Cin % 16 == 0, so that a chunk never straddles two
// taps.
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

// a_tile[b][k][px / 4][px % 4]: buffer b, 16 k-rows of 64 pixels; b_tile[b][k][c4]: buffer b,
// 16 k-rows of 16 vec4. While the invocations multiply chunk k from one buffer they hold chunk
// k + 1's global loads in registers and then store them to the other (one barrier per chunk,
// the loads' latency hidden behind the FMAs); 16 KiB, WebGPU's default limit.
var<workgroup> a_tile: array<vec4<f32>, 512>;
var<workgroup> b_tile: array<vec4<f32>, 512>;
// The tile and chunk of the staging piece (tiled_stage).
const TILE_PX: u32 = 64u;
const TILE_C4: u32 = 16u;
const CHUNK: u32 = 16u;

@group(0) @binding(6) var<storage, read_write> part_out: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> part_in: array<vec4<f32>>;

// One invocation's 4 pixels x 4 channels.
struct Block { a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32> }

// The block of invocation (lid, li) in the tile of pixels m_base.. and vec4 columns c4_base..,
// summed over chunks first..end (the same in every invocation of the workgroup).
fn tile_sums(lid: vec3<u32>, li: u32, m_base: u32, c4_base: u32, first: u32, end: u32) -> Block {
    // The pixel this invocation stages (tiled_stage's loader roles).
    let o = origin(m_base + li / (CHUNK / 4u));
    var r = Block(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    if (first >= end) {
        return r;
    }
    store_staged(0u, li, stage(o, li, c4_base, first));
    workgroupBarrier();
    for (var kc = first; kc < end; kc++) {
        let cur = ((kc - first) % 2u) * 256u;
        let more = kc + 1u < end;
        var next = Staged(vec4<f32>(0.0), vec4<f32>(0.0));
        if (more) {
            next = stage(o, li, c4_base, kc + 1u);
        }
        for (var k = 0u; k < 16u; k++) {
            let a = a_tile[cur + k * 16u + lid.y];
            let b = b_tile[cur + k * 16u + lid.x];
            r.a0 = fma(vec4<f32>(a.x), b, r.a0);
            r.a1 = fma(vec4<f32>(a.y), b, r.a1);
            r.a2 = fma(vec4<f32>(a.z), b, r.a2);
            r.a3 = fma(vec4<f32>(a.w), b, r.a3);
        }
        if (more) {
            store_staged(1u - (kc - first) % 2u, li, next);
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
