// Piece: the conv kernels' stores (needs conv_io and write_step): pixel m's vec4 c4, and a
// 16-channel accumulator, each with the bias added; vec4s past the padded Cout and pixels past
// the last one are skipped.
fn store4(m: u32, c4: u32, acc: vec4<f32>) {
    if (c4 >= p.out_c4) {
        return;
    }
    write_out4(m * p.out_c, c4, acc + bias[c4]);
}

fn store(m: u32, c4: u32, a: Acc) {
    if (m >= pixels()) {
        return;
    }
    store4(m, c4, a.c0);
    store4(m, c4 + 1u, a.c1);
    store4(m, c4 + 2u, a.c2);
    store4(m, c4 + 3u, a.c3);
}
