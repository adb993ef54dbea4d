// Piece: the write step's view of an f32 output and residual as vec4<u64>, 8 channels per
// element, for Cout % 8 == 0 in the u64-pairs builds of the files that offer it
// (src/gpu/kernels/shaders.rs `OutputView::Pairs`):
//   y8[(base / 4 + c4) / 2] = (v0, v1) (+ residual) (ReLU)   for c4 even, c4 < Cout / 4,
// each u64 holding two f32 (see u64_pairs). write_out8 is the one the conv
// stores use: one load and one store per lane where the vec4 view has two of each, which on
// lavapipe are loops over the lanes costed per access. write_out4 (one vec4, half an element)
// serves the kernels that store single vec4s.
alias out_t = vec4<u64>;

fn relu_if(o: vec4<f32>) -> vec4<f32> {
    return select(o, max(o, vec4<f32>(0.0)), ws.relu);
}

fn write_out8(base: u32, c4: u32, v0: vec4<f32>, v1: vec4<f32>) {
    if (c4 * 4u < ws.out_c) {
        let j = (base / 4u + c4) / 2u;
        var a = v0;
        var b = v1;
        if (has_residual) {
            let r = unpack8(residual[j]);
            a += r.a;
            b += r.b;
        }
        a = relu_if(a);
        b = relu_if(b);
        y[j] = pack8(a, b);
    }
}

fn write_out4(base: u32, c4: u32, v: vec4<f32>) {
    if (c4 * 4u < ws.out_c) {
        let i = base / 4u + c4;
        let j = i / 2u;
        let high = (i & 1u) == 1u;
        var o = v;
        if (has_residual) {
            let r = residual[j];
            o += select(unpack2(r.x, r.y), unpack2(r.z, r.w), high);
        }
        o = relu_if(o);
        if (high) {
            y[j].z = pack2(o.x, o.y);
            y[j].w = pack2(o.z, o.w);
        } else {
            y[j].x = pack2(o.x, o.y);
            y[j].y = pack2(o.z, o.w);
        }
    }
}
