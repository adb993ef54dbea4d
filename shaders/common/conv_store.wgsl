// Piece: the conv kernels' stores (needs conv_io, write_step and acc16): the bias of a
// 16-channel block, and pixel m's vec4 c4 or 16-channel accumulator with the bias added;
// channels past Cout and pixels past the last one are skipped.

// The bias of the 16 channels from vec4 column c4 (0 past the padded Cout). The subgroup
// kernels, whose channel block is fixed per invocation, load it once; on CPU drivers each
// load is a per-lane loop, as costly per value as the store it feeds.
fn load_bias16(c4: u32) -> Acc {
    let last = p.out_c4 - 1u;
    return Acc(select(vec4<f32>(0.0), bias[min(c4, last)], c4 < p.out_c4),
               select(vec4<f32>(0.0), bias[min(c4 + 1u, last)], c4 + 1u < p.out_c4),
               select(vec4<f32>(0.0), bias[min(c4 + 2u, last)], c4 + 2u < p.out_c4),
               select(vec4<f32>(0.0), bias[min(c4 + 3u, last)], c4 + 3u < p.out_c4));
}

fn store4(m: u32, c4: u32, acc: vec4<f32>) {
    if (c4 >= p.out_c4) {
        return;
    }
    write_out4(m * p.out_c, c4, acc + bias[c4]);
}

fn store(m: u32, c4: u32, a: Acc) {
    store_biased(m, c4, a, load_bias16(c4));
}

// Pixel m's 16 channels from vec4 column c4: a + b, b the block's bias (`load_bias16`).
fn store_biased(m: u32, c4: u32, a: Acc, b: Acc) {
    if (m >= ws.pixels) {
        return;
    }
    store16(m * ws.out_c, c4, a, b);
}

// The 16 channels from vec4 column c4 (a multiple of 4) of the pixel whose first element is
// `base`: a + b (the view skips the channels past Cout).
fn store16(base: u32, c4: u32, a: Acc, b: Acc) {
    write_out8(base, c4, a.c0 + b.c0, a.c1 + b.c1);
    write_out8(base, c4 + 2u, a.c2 + b.c2, a.c3 + b.c3);
}
