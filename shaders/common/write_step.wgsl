// Piece: the fused write step of every conv (needs `residual`, `y` and `p` with out_c,
// has_residual and relu):
//   y[base + co] = v[co - 4·c4] (+ residual[base + co]) (ReLU)   for the valid co of vec4 c4,
// where `base` is the output pixel's first element and `v` already holds the bias. Scalar
// stores on purpose: a vec4 path where Cout % 4 == 0 (the output and residual bound a second
// time as vec4 arrays) measured 8 % slower over resnet50 on lavapipe.
fn write_out4(base: u32, c4: u32, v: vec4<f32>) {
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
