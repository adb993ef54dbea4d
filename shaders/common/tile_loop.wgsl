// Piece: the double-buffered K loop of the workgroup-memory GEMM tiles (after tiled_stage, a
// loads piece that defines `Loader`, `seek` (place a loader at a chunk) and `stage` (load a
// chunk, moving the loader on to the next), and a tile shape that defines the buffers,
// CHUNK, `Block`, `zero_block` and `mac_chunk`: the piece tiled64, or conv2d_tiled128.wgsl's
// own). K runs in chunks of CHUNK through two workgroup-memory buffers of 256 vec4 each
// (`a_tile`, `b_tile`): while the invocations multiply chunk k from one, they hold chunk
// k + 1's global loads in registers and then store them to the other, one barrier per chunk
// (the loads' latency hidden behind the FMAs).
//
//   block(lid) = sum over chunks first..end of mac_chunk's products from that chunk's buffer

// The block of invocation (lid, li), whose loader is l, in the tile at vec4 column c4_base,
// summed over chunks first..end (the same in every invocation of the workgroup).
fn tile_sums(lid: vec3<u32>, li: u32, l: Loader, c4_base: u32, first: u32, end: u32) -> Block {
    var r = zero_block();
    if (first >= end) {
        return r;
    }
    var at = l;
    seek(&at, li, first);
    store_staged(0u, li, stage(&at, li, c4_base, first));
    workgroupBarrier();
    for (var kc = first; kc < end; kc++) {
        let cur = ((kc - first) % 2u) * 256u;
        let more = kc + 1u < end;
        var next = Staged(vec4<f32>(0.0), vec4<f32>(0.0));
        if (more) {
            next = stage(&at, li, c4_base, kc + 1u);
        }
        r = mac_chunk(r, cur, lid);
        if (more) {
            store_staged(1u - (kc - first) % 2u, li, next);
        }
        workgroupBarrier();
    }
    return r;
}
