// Piece: the fused write step of every conv (needs `p` with out_c, relu, batch, out_h and
// out_w, and one output view, out_scalar, out_vec4 or out_pairs, which declares `out_t` (the
// element of `residual` and `y`), `write_out4` and `write_out8`):
//   y[base + co] = v[co - 4·c4] (+ residual[base + co]) (ReLU)   for the valid co of vec4 c4,
// where `base` is the output pixel's first element and `v` already holds the bias.
//
// CPU drivers such as llvmpipe run both sides of every `if` under a lane mask, so a residual
// load behind a false condition still costs its per-lane loop, and each read of the uniform `p`
// inside the per-channel code is a gather of its own. Hence:
// - whether a residual is added is the pipeline constant `has_residual` (every conv pipeline is
//   built with it false or true, src/gpu/kernels/mod.rs `Pipelines::get`), so the residual
//   loads exist only in the pipelines that use them;
// - whether the output is stored as vec4s (Cout % 4 == 0) or scalars is the module's output
//   view (src/gpu/kernels/shaders.rs assembles each write-step kernel with either), not a
//   runtime branch that would run both paths;
// - `out_c`, `relu` and the pixel count are read from `p` once per invocation by
//   `init_write`, which every entry point that stores calls before its first store.
override has_residual: bool = false;

// Cout, whether to apply ReLU, and the output pixels (batch × out_h × out_w).
struct WriteStep { out_c: u32, relu: bool, pixels: u32 }
var<private> ws: WriteStep;

fn init_write() {
    ws = WriteStep(p.out_c, p.relu != 0u, p.batch * p.out_h * p.out_w);
}

// Output pixel (oy, ox) of image n: channels 4·c4.. of `v` (the bias already added); nothing
// outside the output (the Winograd tiles' overhang).
fn write_pixel(n: u32, oy: u32, ox: u32, c4: u32, v: vec4<f32>) {
    if (oy >= p.out_h || ox >= p.out_w) {
        return;
    }
    write_out4(((n * p.out_h + oy) * p.out_w + ox) * p.out_c, c4, v);
}

// The same for channels 4·c4.. (v0) and 4·c4 + 4.. (v1), c4 even.
fn write_pixel8(n: u32, oy: u32, ox: u32, c4: u32, v0: vec4<f32>, v1: vec4<f32>) {
    if (oy >= p.out_h || ox >= p.out_w) {
        return;
    }
    write_out8(((n * p.out_h + oy) * p.out_w + ox) * p.out_c, c4, v0, v1);
}
