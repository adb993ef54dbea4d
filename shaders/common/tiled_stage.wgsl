// Piece: storing one staged K chunk in the workgroup-memory GEMMs (conv2d_tiled.wgsl,
// conv2d_tiled128.wgsl, winograd_tiled.wgsl). The kernel declares the constants TILE_PX (GEMM
// rows per tile), TILE_C4 (output vec4 columns per tile) and CHUNK (K per chunk, a multiple of
// 4), and two buffers of CHUNK · TILE_PX / 4 = 256 vec4 each in `a_tile` and `b_tile`:
//   a_tile[b][k][a_col(k, px / 4)][px % 4]   k-row k of the tile's rows, 4 to a vec4
//   b_tile[b][k][c4]                         k-row k of the tile's weight vec4s
// The workgroup's 256 invocations load a chunk together: invocation li the A vec4 (four
// consecutive k) li % (CHUNK / 4) of row li / (CHUNK / 4), and the weight vec4 at k-row
// li / TILE_C4, column li % TILE_C4. The GEMM's own loads piece (tiled_conv for the implicit
// GEMM, the kernel file for Winograd's) does the global loads into a `Staged` (held in
// registers while the previous chunk is multiplied); `store_staged` writes them to buffer b.

struct Staged { x: vec4<f32>, w: vec4<f32> }

// The vec4 column that holds rows 4·col.. of k-row k: col XOR (k / 4) · (32 / CHUNK).
// Without it the 32 invocations of a GPU subgroup that store a chunk write 32 / Q pixels
// (Q = CHUNK / 4 A vec4s per pixel) into Q groups of k-rows each, and every k-row is a
// multiple of 32 words long, so a pixel's Q stores fall on one bank of workgroup memory: 4-way
// conflicts at CHUNK 16, 2-way at 8. XORing the column of k-rows 4q.. with q · 8 / Q gives
// the 32 stores 32 different banks. A read of a k-row's vec4s pays one XOR. The pipeline
// constant `a_swizzle` false leaves every column in place (`RESNET_TILE_SWIZZLE=0`, for
// comparison: src/gpu/kernels/pipelines.rs).
override a_swizzle: bool = true;

fn a_col(k: u32, col: u32) -> u32 {
    return col ^ select(0u, (k / 4u) * (32u / CHUNK), a_swizzle);
}

// The staged loads into buffer b: the A vec4's four k as consecutive k-rows of the row's
// column, the weight vec4 at its (k-row, column).
fn store_staged(b: u32, li: u32, s: Staged) {
    let px = li / (CHUNK / 4u);
    let row = TILE_PX / 4u;
    let k = 4u * (li % (CHUNK / 4u));
    let base = b * 256u + k * row + a_col(k, px / 4u);
    a_tile[base][px % 4u] = s.x.x;
    a_tile[base + row][px % 4u] = s.x.y;
    a_tile[base + 2u * row][px % 4u] = s.x.z;
    a_tile[base + 3u * row][px % 4u] = s.x.w;
    b_tile[b * 256u + li] = s.w;
}
