// Piece: what the subgroup implicit-GEMM conv kernels' pixel blocks share (needs conv_store
// and sg64): the pixels per group of an invocation, the bias of a 64-channel block and the
// store of one pixel's 64 channels.

// Pixels per group of an invocation: 8, or 7 for the 112- and 56-pixel blocks that divide
// maps of 7 · 2^k pixels a side. A pipeline constant (src/gpu/kernels/mod.rs
// `Kernel::constants`), so that with 7 the guards on the eighth pixel fold away with its work,
// instead of running masked as a runtime condition would on CPU drivers.
override group_rows: u32 = 8u;

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
