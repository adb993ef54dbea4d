// Piece: the register tiles of the subgroup GEMMs (needs acc16, and `w: array<wgt4>` with rows
// of `p.out_c4` vec4, Cout padded): weight loads that read 0 past the padded Cout; accumulators
// of 64 output channels per pixel; the 4 × 64 weights of 4 input channels, loaded once per
// subgroup (lane j loads vec4 columns j and j + 8 of each row) and handed to every lane with
// subgroupBroadcast.

// Weight vec4 (row, c4), 0 past the padded Cout.
fn load_b(row: u32, c4: u32) -> vec4<f32> {
    if (c4 >= p.out_c4) {
        return vec4<f32>(0.0);
    }
    return vec4<f32>(w[row * p.out_c4 + c4]);
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

// A weight row of 64 channels from what lanes 0..7 loaded: lane j holds columns j (lo) and
// j + 8 (hi).
fn share(lo: vec4<f32>, hi: vec4<f32>) -> Acc64 {
    return Acc64(
        Acc(subgroupBroadcast(lo, 0u), subgroupBroadcast(lo, 1u), subgroupBroadcast(lo, 2u), subgroupBroadcast(lo, 3u)),
        Acc(subgroupBroadcast(lo, 4u), subgroupBroadcast(lo, 5u), subgroupBroadcast(lo, 6u), subgroupBroadcast(lo, 7u)),
        Acc(subgroupBroadcast(hi, 0u), subgroupBroadcast(hi, 1u), subgroupBroadcast(hi, 2u), subgroupBroadcast(hi, 3u)),
        Acc(subgroupBroadcast(hi, 4u), subgroupBroadcast(hi, 5u), subgroupBroadcast(hi, 6u), subgroupBroadcast(hi, 7u)),
    );
}

// Weight rows row..row+3 × the block's 64 channels; `l` is this lane's loader column.
fn share_rows(row: u32, cb: u32, l: u32) -> B64 {
    let lo = cb + l;
    let hi = lo + 8u;
    return B64(
        share(load_b(row, lo), load_b(row, hi)),
        share(load_b(row + 1u, lo), load_b(row + 1u, hi)),
        share(load_b(row + 2u, lo), load_b(row + 2u, hi)),
        share(load_b(row + 3u, lo), load_b(row + 3u, hi)),
    );
}

// Eight pixels' accumulators (64 channels each).
struct Rows8 {
    a0: Acc64, a1: Acc64, a2: Acc64, a3: Acc64, a4: Acc64, a5: Acc64, a6: Acc64, a7: Acc64,
}

fn zero_rows8() -> Rows8 {
    let z = zero64();
    return Rows8(z, z, z, z, z, z, z, z);
}
