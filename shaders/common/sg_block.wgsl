// Piece: what the subgroup implicit-GEMM conv kernels' pixel blocks share (needs conv_x4,
// sg_tile, conv_store, sg64 and sg_rows8): a group's input loads, the bias of a 64-channel
// block and the stores of one pixel's and of a group's pixels' 64 channels.

// The group's input vec4s (sg_tile's `load8`, without the eighth pixel where group_rows is 7).
fn load_x8(t: Taps8, c: u32) -> X8 {
    var v = X8(load_x(t.t0, c), load_x(t.t1, c), load_x(t.t2, c), load_x(t.t3, c),
               load_x(t.t4, c), load_x(t.t5, c), load_x(t.t6, c), vec4<f32>(0.0));
    if (group_rows > 7u) {
        v.x7 = load_x(t.t7, c);
    }
    return v;
}

// The block's bias, once per invocation (0 past the padded Cout).
fn load_bias(cb: u32) -> Acc64 {
    return Acc64(load_bias16(cb), load_bias16(cb + 4u), load_bias16(cb + 8u),
                 load_bias16(cb + 12u));
}

// Pixel m's 64 channels from vec4 column cb, plus the bias b; nothing past the last pixel.
fn store64(m: u32, cb: u32, a: Acc64, b: Acc64) {
    if (m >= ws.pixels) {
        return;
    }
    let base = m * ws.out_c;
    store16(base, cb, a.q0, b.q0);
    store16(base, cb + 4u, a.q1, b.q1);
    store16(base, cb + 8u, a.q2, b.q2);
    store16(base, cb + 12u, a.q3, b.q3);
}

// Pixels m, m + 8, ..., m + 8 · (group_rows - 1) of the 64 channels from vec4 column cb,
// plus the bias bv.
fn store_rows8(m: u32, cb: u32, r: Rows8, bv: Acc64) {
    store64(m, cb, r.a0, bv);
    store64(m + 8u, cb, r.a1, bv);
    store64(m + 16u, cb, r.a2, bv);
    store64(m + 24u, cb, r.a3, bv);
    store64(m + 32u, cb, r.a4, bv);
    store64(m + 40u, cb, r.a5, bv);
    store64(m + 48u, cb, r.a6, bv);
    if (group_rows > 7u) {
        store64(m + 56u, cb, r.a7, bv);
    }
}
