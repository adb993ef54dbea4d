// Piece: the register tiles of the subgroup GEMMs (needs acc16 and a weights view, whose `w`
// has rows of `p.out_c4` vec4, Cout padded to 16): weight loads that read 0 past the padded
// Cout; accumulators of 64 output channels per pixel; eight pixels' input vec4s; the 4 × 64
// weights of 4 input channels, loaded once per subgroup (lane j loads vec4 columns 2j and
// 2j + 1 of each row, one load in the pairs view) and handed to every lane with
// subgroupBroadcast.

// Weight vec4 (row, c4), 0 past the padded Cout.
fn load_b(row: u32, c4: u32) -> vec4<f32> {
    if (c4 >= p.out_c4) {
        return vec4<f32>(0.0);
    }
    return load_w4(row * p.out_c4 + c4);
}

// 64 output channels of one pixel.
struct Acc64 { q0: Acc, q1: Acc, q2: Acc, q3: Acc }
// 4 weight rows (4 input channels) × 64 output channels.
struct B64 { r0: Acc64, r1: Acc64, r2: Acc64, r3: Acc64 }

fn zero64() -> Acc64 {
    return Acc64(zero(), zero(), zero(), zero());
}

// a + xv · b (4 input channels), 16 channels at a time (acc16's `mac`: each output vec4
// takes its four input-channel steps in a row).
fn mac64(a: Acc64, xv: vec4<f32>, b: B64) -> Acc64 {
    return Acc64(mac(a.q0, xv, W16(b.r0.q0, b.r1.q0, b.r2.q0, b.r3.q0)),
                 mac(a.q1, xv, W16(b.r0.q1, b.r1.q1, b.r2.q1, b.r3.q1)),
                 mac(a.q2, xv, W16(b.r0.q2, b.r1.q2, b.r2.q2, b.r3.q2)),
                 mac(a.q3, xv, W16(b.r0.q3, b.r1.q3, b.r2.q3, b.r3.q3)));
}

// `mac64` for an input vec4 whose fourth channel is padding (acc16's `mac3`).
fn mac64_3(a: Acc64, xv: vec4<f32>, b: B64) -> Acc64 {
    return Acc64(mac3(a.q0, xv, W16(b.r0.q0, b.r1.q0, b.r2.q0, b.r3.q0)),
                 mac3(a.q1, xv, W16(b.r0.q1, b.r1.q1, b.r2.q1, b.r3.q1)),
                 mac3(a.q2, xv, W16(b.r0.q2, b.r1.q2, b.r2.q2, b.r3.q2)),
                 mac3(a.q3, xv, W16(b.r0.q3, b.r1.q3, b.r2.q3, b.r3.q3)));
}

// Weight vec4s (row, c4) and (row, c4 + 1), c4 even; 0 past the padded Cout (a multiple of 4
// vec4, so both or neither are past it).
fn load_b8(row: u32, c4: u32) -> W8 {
    if (c4 >= p.out_c4) {
        return W8(vec4<f32>(0.0), vec4<f32>(0.0));
    }
    return load_w8(row * p.out_c4 + c4);
}

// A weight row of 64 channels from what lanes 0..7 loaded: lane j holds columns 2j (a) and
// 2j + 1 (b).
fn share(v: W8) -> Acc64 {
    return Acc64(
        Acc(subgroupBroadcast(v.a, 0u), subgroupBroadcast(v.b, 0u), subgroupBroadcast(v.a, 1u), subgroupBroadcast(v.b, 1u)),
        Acc(subgroupBroadcast(v.a, 2u), subgroupBroadcast(v.b, 2u), subgroupBroadcast(v.a, 3u), subgroupBroadcast(v.b, 3u)),
        Acc(subgroupBroadcast(v.a, 4u), subgroupBroadcast(v.b, 4u), subgroupBroadcast(v.a, 5u), subgroupBroadcast(v.b, 5u)),
        Acc(subgroupBroadcast(v.a, 6u), subgroupBroadcast(v.b, 6u), subgroupBroadcast(v.a, 7u), subgroupBroadcast(v.b, 7u)),
    );
}

// Weight rows row..row+2 × the block's 64 channels (the fourth row zero), for an input vec4
// whose fourth channel is padding (`mac64_3` never reads that row); `l` is this lane's loader
// (columns cb + 2l and cb + 2l + 1).
fn share_rows3(row: u32, cb: u32, l: u32) -> B64 {
    let c4 = cb + 2u * l;
    return B64(
        share(load_b8(row, c4)),
        share(load_b8(row + 1u, c4)),
        share(load_b8(row + 2u, c4)),
        zero64(),
    );
}

// Weight rows row..row+3 × the block's 64 channels.
fn share_rows(row: u32, cb: u32, l: u32) -> B64 {
    var b = share_rows3(row, cb, l);
    b.r3 = share(load_b8(row + 3u, cb + 2u * l));
    return b;
}

// Eight input vec4s: four channels of each of eight pixels (or a row strip's columns, or
// eight Winograd tiles' transformed inputs).
struct X8 {
    x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>,
    x4: vec4<f32>, x5: vec4<f32>, x6: vec4<f32>, x7: vec4<f32>,
}

// Eight pixels' accumulators (64 channels each).
struct Rows8 {
    a0: Acc64, a1: Acc64, a2: Acc64, a3: Acc64, a4: Acc64, a5: Acc64, a6: Acc64, a7: Acc64,
}

fn zero_rows8() -> Rows8 {
    let z = zero64();
    return Rows8(z, z, z, z, z, z, z, z);
}
