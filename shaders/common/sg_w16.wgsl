// Piece: what the narrow and grouped subgroup conv kernels share (needs conv_store, acc16 and
// sg64's `load_b`): the accumulators of eight pixels × 16 output channels and their stores,
// and the 4 × 16 or 4 × 32 weights of four input channels, loaded once per subgroup (lanes
// 0..7) and handed to every lane with subgroupBroadcast.

// 16 channels of eight pixels.
struct Rows8x16 { a0: Acc, a1: Acc, a2: Acc, a3: Acc, a4: Acc, a5: Acc, a6: Acc, a7: Acc }

fn zero_rows8x16() -> Rows8x16 {
    let z = zero();
    return Rows8x16(z, z, z, z, z, z, z, z);
}

// What lanes 0..3 (`lo4`) or 4..7 (`hi4`) hold in `v`, as one 16-channel row (broadcast
// lanes must be constants).
fn lo4(v: vec4<f32>) -> Acc {
    return Acc(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u),
               subgroupBroadcast(v, 3u));
}
fn hi4(v: vec4<f32>) -> Acc {
    return Acc(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u),
               subgroupBroadcast(v, 7u));
}

// Weight rows row..row+3 × the 16 channels from vec4 column cb.
fn share_w16(row: u32, cb: u32, l: u32) -> W16 {
    let lo = load_b(row + l / 4u, cb + l % 4u);
    let hi = load_b(row + 2u + l / 4u, cb + l % 4u);
    return W16(lo4(lo), hi4(lo), lo4(hi), hi4(hi));
}

// Weight rows row..row+3 × the 32 channels from vec4 column cb, as the two 16-channel halves.
struct W32 { lo: W16, hi: W16 }

fn share_w32(row: u32, cb: u32, l: u32) -> W32 {
    let v0 = load_b(row, cb + l);
    let v1 = load_b(row + 1u, cb + l);
    let v2 = load_b(row + 2u, cb + l);
    let v3 = load_b(row + 3u, cb + l);
    return W32(W16(lo4(v0), lo4(v1), lo4(v2), lo4(v3)), W16(hi4(v0), hi4(v1), hi4(v2), hi4(v3)));
}

// The eight pixels' 16 channels from vec4 column c4, plus the bias b.
fn store_rows8x16(m: u32, c4: u32, r: Rows8x16, b: Acc) {
    store_biased(m, c4, r.a0, b);
    store_biased(m + 8u, c4, r.a1, b);
    store_biased(m + 16u, c4, r.a2, b);
    store_biased(m + 24u, c4, r.a3, b);
    store_biased(m + 32u, c4, r.a4, b);
    store_biased(m + 40u, c4, r.a5, b);
    store_biased(m + 48u, c4, r.a6, b);
    store_biased(m + 56u, c4, r.a7, b);
}
