// Piece: register-tile arithmetic over 16 output channels (needs a weights view, whose `w` has
// rows of `p.out_c4` vec4).
//
// 16 output channels of one pixel.
struct Acc { c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32> }
// Weights of 4 input channels x 16 output channels.
struct W16 { r0: Acc, r1: Acc, r2: Acc, r3: Acc }

fn zero() -> Acc {
    return Acc(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
}

// a + s · r
fn mac_row(a: Acc, s: f32, r: Acc) -> Acc {
    let v = vec4<f32>(s);
    return Acc(fma(v, r.c0, a.c0), fma(v, r.c1, a.c1), fma(v, r.c2, a.c2), fma(v, r.c3, a.c3));
}

// a + xv.xyz · (w0, w1, w2) for one vec4 of output channels (the first three input channels).
fn mac3v(a: vec4<f32>, xv: vec4<f32>, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>) -> vec4<f32> {
    return fma(vec4<f32>(xv.z), w2, fma(vec4<f32>(xv.y), w1, fma(vec4<f32>(xv.x), w0, a)));
}

// a + xv · (w0, w1, w2, w3) for one vec4 of output channels: its four input-channel steps in a
// row, so that CPU drivers keep the accumulator in a register for all four.
fn mac4(a: vec4<f32>, xv: vec4<f32>, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>,
        w3: vec4<f32>) -> vec4<f32> {
    return fma(vec4<f32>(xv.w), w3, mac3v(a, xv, w0, w1, w2));
}

// a + xv · wt (4 input channels), one output vec4 at a time. The sums are those of four
// `mac_row` calls in input-channel order (the same roundings); only the instruction order
// differs: an accumulator finished before the next is loaded measured 9 % faster over resnet50
// on lavapipe than four sweeps over all 16 channels (BENCHMARKS.md, ninth round).
fn mac(a: Acc, xv: vec4<f32>, wt: W16) -> Acc {
    return Acc(mac4(a.c0, xv, wt.r0.c0, wt.r1.c0, wt.r2.c0, wt.r3.c0),
               mac4(a.c1, xv, wt.r0.c1, wt.r1.c1, wt.r2.c1, wt.r3.c1),
               mac4(a.c2, xv, wt.r0.c2, wt.r1.c2, wt.r2.c2, wt.r3.c2),
               mac4(a.c3, xv, wt.r0.c3, wt.r1.c3, wt.r2.c3, wt.r3.c3));
}

// `mac` for an input vec4 whose fourth channel is padding (always zero): the same sums without
// its products.
fn mac3(a: Acc, xv: vec4<f32>, wt: W16) -> Acc {
    return Acc(mac3v(a.c0, xv, wt.r0.c0, wt.r1.c0, wt.r2.c0),
               mac3v(a.c1, xv, wt.r0.c1, wt.r1.c1, wt.r2.c1),
               mac3v(a.c2, xv, wt.r0.c2, wt.r1.c2, wt.r2.c2),
               mac3v(a.c3, xv, wt.r0.c3, wt.r1.c3, wt.r2.c3));
}

// Weight row `row` at vec4 column c4 (even): 16 channels.
fn load_row(row: u32, c4: u32) -> Acc {
    let b = row * p.out_c4 + c4;
    let lo = load_w8(b);
    let hi = load_w8(b + 2u);
    return Acc(lo.a, lo.b, hi.a, hi.b);
}

// Weight rows row..row+3 at vec4 column c4.
fn load_w16(row: u32, c4: u32) -> W16 {
    return W16(load_row(row, c4), load_row(row + 1u, c4), load_row(row + 2u, c4), load_row(row + 3u, c4));
}
