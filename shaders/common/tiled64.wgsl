// Piece: the 64 x 64 workgroup-memory GEMM tile (conv2d_tiled.wgsl, winograd_tiled.wgsl; after
// tiled_stage and a loads piece that defines `Loader` and `stage`). A workgroup of 16 x 16
// invocations computes 64 GEMM rows x 64 output channels, each invocation a 4 x 4 register
// block (rows 4 ly .. 4 ly + 3 x channel vec4 lx). K runs in chunks of 16 through two
// workgroup-memory buffers: while the invocations multiply chunk k from one, they hold chunk
// k + 1's global loads in registers and then store them to the other, one barrier per chunk
// (the loads' latency hidden behind the FMAs). 2 x (16 x 64 + 16 x 64) f32 = 16 KiB, WebGPU's
// default limit.

var<workgroup> a_tile: array<vec4<f32>, 512>;
var<workgroup> b_tile: array<vec4<f32>, 512>;
const TILE_PX: u32 = 64u;
const TILE_C4: u32 = 16u;
const CHUNK: u32 = 16u;

// One invocation's 4 rows x 4 channels.
struct Block { a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32> }

// The block of invocation (lid, li), whose loader is l, in the tile at vec4 column c4_base,
// summed over chunks first..end (the same in every invocation of the workgroup).
fn tile_sums(lid: vec3<u32>, li: u32, l: Loader, c4_base: u32, first: u32, end: u32) -> Block {
    var r = Block(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    if (first >= end) {
        return r;
    }
    store_staged(0u, li, stage(l, li, c4_base, first));
    workgroupBarrier();
    for (var kc = first; kc < end; kc++) {
        let cur = ((kc - first) % 2u) * 256u;
        let more = kc + 1u < end;
        var next = Staged(vec4<f32>(0.0), vec4<f32>(0.0));
        if (more) {
            next = stage(l, li, c4_base, kc + 1u);
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
