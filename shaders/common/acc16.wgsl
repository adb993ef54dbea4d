// Piece: register-tile arithmetic over 16 output channels (needs `w: array<wgt4>` with rows of
// `p.out_c4` vec4).
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

// a + xv · wt (4 input channels)
fn mac(a: Acc, xv: vec4<f32>, wt: W16) -> Acc {
    return mac_row(mac_row(mac_row(mac_row(a, xv.x, wt.r0), xv.y, wt.r1), xv.z, wt.r2), xv.w, wt.r3);
}

// Weight row `row` at vec4 column c4: 16 channels.
fn load_row(row: u32, c4: u32) -> Acc {
    let b = row * p.out_c4 + c4;
    return Acc(vec4<f32>(w[b]), vec4<f32>(w[b + 1u]), vec4<f32>(w[b + 2u]), vec4<f32>(w[b + 3u]));
}

// Weight rows row..row+3 at vec4 column c4.
fn load_w16(row: u32, c4: u32) -> W16 {
    return W16(load_row(row, c4), load_row(row + 1u, c4), load_row(row + 2u, c4), load_row(row + 3u, c4));
}
