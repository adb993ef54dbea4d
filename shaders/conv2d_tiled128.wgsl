// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store, tiled_stage, tiled_conv, tile_loop; validated in that
// form by tests/shaders.rs).
//
// conv2d_tiled.wgsl's implicit GEMM over larger tiles, for GPUs running large grids (batches):
// a workgroup of 16 x 16 invocations computes 128 output pixels x 128 output channels, each
// invocation an 8 x 8 register block (pixels 4ty..4ty+3 and 64+4ty..64+4ty+3, channels
// 4tx..4tx+3 and 64+4tx..64+4tx+3), so each value read from workgroup memory feeds 8 FMAs
// where the 64 x 64 tile's feed 4. K runs in chunks of 8 (loaded by tiled_conv, which takes
// Cin % 4 == 0 and pads the last chunk with zeros; the variant is offered for Cin % 8 == 0)
// through the double-buffered loop of the piece tile_loop.
//
//   acc[m][co] = sum over k of A[m][k] * B[k][co],  A[m][(ky*KW + kx)*Cin + ci] = x[window(m), ky, kx, ci]
//   y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)          (the fused write step)
//
// Weights: HWIO, Cout padded to 16, as vec4. Grid: x = 128-channel tiles, (y, z) = 128-pixel
// tiles. Workgroup memory: 2 x (8 x 128 + 8 x 128) f32 = 16 KiB, WebGPU's default limit.

// a_tile[b][k][a_col(k, px / 4)][px % 4] and b_tile[b][k][c4]: buffer b, 8 k-rows of 128
// pixels / 32 vec4 (staged by the piece tiled_stage, which defines the column swizzle a_col).
var<workgroup> a_tile: array<vec4<f32>, 512>;
var<workgroup> b_tile: array<vec4<f32>, 512>;
const TILE_PX: u32 = 128u;
const TILE_C4: u32 = 32u;
const CHUNK: u32 = 8u;

// The 8 x 8 block: pixels 4ty + i (lo) or 64 + 4ty + i (hi) x channel vec4 tx (0) or tx + 16
// (1), row i of each array one pixel.
struct Block {
    lo0: array<vec4<f32>, 4>, lo1: array<vec4<f32>, 4>,
    hi0: array<vec4<f32>, 4>, hi1: array<vec4<f32>, 4>,
}

fn zero_block() -> Block {
    let z = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    return Block(z, z, z, z);
}

// r + a (4 pixels) x b (one vec4 of channels).
fn mac_px4(r: array<vec4<f32>, 4>, a: vec4<f32>, b: vec4<f32>) -> array<vec4<f32>, 4> {
    return array<vec4<f32>, 4>(fma(vec4<f32>(a.x), b, r[0]), fma(vec4<f32>(a.y), b, r[1]),
                               fma(vec4<f32>(a.z), b, r[2]), fma(vec4<f32>(a.w), b, r[3]));
}

// r + the products of the chunk in the buffer at `cur` for invocation lid's block (the K loop
// is the piece tile_loop).
fn mac_chunk(r: Block, cur: u32, lid: vec3<u32>) -> Block {
    var o = r;
    // k-rows 4q.. share their columns of A (tiled_stage's a_col).
    for (var q = 0u; q < 2u; q++) {
        let lo = a_col(4u * q, lid.y);
        let hi = a_col(4u * q, 16u + lid.y);
        for (var j = 0u; j < 4u; j++) {
            let row = cur + (4u * q + j) * 32u;
            let a_lo = a_tile[row + lo];
            let a_hi = a_tile[row + hi];
            let b0 = b_tile[row + lid.x];
            let b1 = b_tile[row + 16u + lid.x];
            o.lo0 = mac_px4(o.lo0, a_lo, b0);
            o.lo1 = mac_px4(o.lo1, a_lo, b1);
            o.hi0 = mac_px4(o.hi0, a_hi, b0);
            o.hi1 = mac_px4(o.hi1, a_hi, b1);
        }
    }
    return o;
}

// Pixel m's channel vec4s c4 and c4 + 16 (none past the last pixel).
fn store_px(m: u32, c4: u32, v0: vec4<f32>, v1: vec4<f32>) {
    if (m < ws.pixels) {
        store4(m, c4, v0);
        store4(m, c4 + 16u, v1);
    }
}

@compute @workgroup_size(16, 16, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let m_base = (wid.z * nwg.y + wid.y) * 128u;
    let c4_base = wid.x * 32u;
    let r = tile_sums(lid, li, loader(m_base, li), c4_base, 0u, chunks());
    let m0 = m_base + 4u * lid.y;
    let c4 = c4_base + lid.x;
    for (var i = 0u; i < 4u; i++) {
        store_px(m0 + i, c4, r.lo0[i], r.lo1[i]);
        store_px(m0 + 64u + i, c4, r.hi0[i], r.hi1[i]);
    }
}
