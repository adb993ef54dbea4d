// Piece: the write step's vec4 view of the output and residual, for Cout % 4 == 0 (so that
// `base`, a pixel's first element, is a multiple of 4):
//   y[base / 4 + c4] = v (+ residual[base / 4 + c4]) (ReLU)   for c4 < Cout / 4.
// One vec4 load and store per lane where the scalar view has four of each: on lavapipe each
// is a per-lane loop, and resnet50 at batch 1 took 0.92 of the scalar view's GPU time.
alias out_t = act4;

fn write_out4(base: u32, c4: u32, v: vec4<f32>) {
    if (c4 * 4u < ws.out_c) {
        let i = base / 4u + c4;
        var o = v;
        if (has_residual) {
            o += vec4<f32>(residual[i]);
        }
        y[i] = act4(select(o, max(o, vec4<f32>(0.0)), ws.relu));
    }
}

// Channels 4·c4.. and 4·c4 + 4.. of the pixel at `base` (c4 even).
fn write_out8(base: u32, c4: u32, v0: vec4<f32>, v1: vec4<f32>) {
    write_out4(base, c4, v0);
    write_out4(base, c4 + 1u, v1);
}
