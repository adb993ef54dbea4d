// Piece: the write step's scalar view of the output and residual, for any Cout: each of the
// four channels of vec4 c4 below Cout is loaded, added and stored on its own.
alias out_t = act;

fn write_out4(base: u32, c4: u32, v: vec4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        let co = c4 * 4u + j;
        if (co < ws.out_c) {
            var o = v[j];
            if (has_residual) {
                o += f32(residual[base + co]);
            }
            y[base + co] = act(select(o, max(o, 0.0), ws.relu));
        }
    }
}

// Channels 4·c4.. and 4·c4 + 4.. of the pixel at `base` (c4 even).
fn write_out8(base: u32, c4: u32, v0: vec4<f32>, v1: vec4<f32>) {
    write_out4(base, c4, v0);
    write_out4(base, c4 + 1u, v1);
}
