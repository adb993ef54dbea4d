// Piece: the 64 x 64 workgroup-memory GEMM tile (conv2d_tiled.wgsl, winograd_tiled.wgsl; its K
// loop is the piece tile_loop). A workgroup of 16 x 16 invocations computes 64 GEMM rows x 64
// output channels, each invocation a 4 x 4 register block (rows 4 ly .. 4 ly + 3 x channel vec4
// lx), K in chunks of 16. 2 x (16 x 64 + 16 x 64) f32 = 16 KiB of workgroup memory, WebGPU's
// default limit.

var<workgroup> a_tile: array<vec4<f32>, 512>;
var<workgroup> b_tile: array<vec4<f32>, 512>;
const TILE_PX: u32 = 64u;
const TILE_C4: u32 = 16u;
const CHUNK: u32 = 16u;

// One invocation's 4 rows x 4 channels.
struct Block { a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32> }

fn zero_block() -> Block {
    return Block(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
}

// r + the products of the chunk in the buffer at `cur` for invocation lid's block.
fn mac_chunk(r: Block, cur: u32, lid: vec3<u32>) -> Block {
    var o = r;
    // k-rows 4q.. share their column of A (tiled_stage's a_col).
    for (var q = 0u; q < 4u; q++) {
        let col = a_col(4u * q, lid.y);
        for (var j = 0u; j < 4u; j++) {
            let k = 4u * q + j;
            let a = a_tile[cur + k * 16u + col];
            let b = b_tile[cur + k * 16u + lid.x];
            o.a0 = fma(vec4<f32>(a.x), b, o.a0);
            o.a1 = fma(vec4<f32>(a.y), b, o.a1);
            o.a2 = fma(vec4<f32>(a.z), b, o.a2);
            o.a3 = fma(vec4<f32>(a.w), b, o.a3);
        }
    }
    return o;
}
