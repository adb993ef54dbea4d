// Piece: storing one staged K chunk in the workgroup-memory GEMMs (conv2d_tiled.wgsl,
// conv2d_tiled128.wgsl, winograd_tiled.wgsl). The kernel declares the constants TILE_PX (GEMM
// rows per tile), TILE_C4 (output vec4 columns per tile) and CHUNK (K per chunk, a multiple of
// 4), and two buffers of CHUNK · TILE_PX / 4 = 256 vec4 each in `a_tile` and `b_tile`:
//   a_tile[b][k][px / 4][px % 4]   k-row k of the tile's rows, 4 to a vec4
//   b_tile[b][k][c4]               k-row k of the tile's weight vec4s
// The workgroup's 256 invocations load a chunk together: invocation li the A vec4 (four
// consecutive k) li % (CHUNK / 4) of row li / (CHUNK / 4), and the weight vec4 at k-row
// li / TILE_C4, column li % TILE_C4. The GEMM's own loads piece (tiled_conv for the implicit
// GEMM, the kernel file for Winograd's) does the global loads into a `Staged` (held in
// registers while the previous chunk is multiplied); `store_staged` writes them to buffer b.

struct Staged { x: vec4<f32>, w: vec4<f32> }

// The staged loads into buffer b: the A vec4's four k as consecutive k-rows of the row's
// column, the weight vec4 at its (k-row, column).
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
