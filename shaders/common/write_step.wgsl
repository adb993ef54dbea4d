// Piece: the fused write step of every conv (needs `residual`, `y`, their vec4 views
// `residual4`, `y4` on the same bindings, and `p` with out_c, has_residual and relu):
//   y[base + co] = v[co - 4·c4] (+ residual[base + co]) (ReLU)   for the valid co of vec4 c4,
// where `base` is the output pixel's first element and `v` already holds the bias. Where
// Cout % 4 == 0 (a uniform branch) every pixel starts on a vec4, and the step is one vec4
// load and store instead of four scalar ones.
fn write_out4(base: u32, c4: u32, v: vec4<f32>) {
    if (p.out_c % 4u == 0u) {
        // vec4s of the padding past Cout (padded to 16) are not stored.
        if (c4 * 4u >= p.out_c) {
            return;
        }
        let i = base / 4u + c4;
        var o = v;
        if (p.has_residual != 0u) {
            o += vec4<f32>(residual4[i]);
        }
        if (p.relu != 0u) {
            o = max(o, vec4<f32>(0.0));
        }
        y4[i] = act4(o);
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let co = c4 * 4u + j;
        if (co < p.out_c) {
            var o = v[j];
            if (p.has_residual != 0u) {
                o += f32(residual[base + co]);
            }
            if (p.relu != 0u) {
                o = max(o, 0.0);
            }
            y[base + co] = act(o);
        }
    }
}
