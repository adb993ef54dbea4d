// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, wino_params,
// wino_io, acc16, sg64, sg_rows8; validated in that form by tests/shaders.rs). Needs the
// SUBGROUP feature and subgroups of at least 8 invocations.
//
// The GEMM pass of Winograd F(2x2, 3x3) (shaders/winograd.wgsl has the transforms) with the
// transformed weights shared across a subgroup, as in the subgroup conv GEMM:
//
//   M[e][t][co] = sum over c of V[e][t][c] * U[e][c][co]      (e = 0..15, one GEMM each)
//
// A workgroup is 8 invocations and owns one e, 64 output channels (vec4 columns cb .. cb + 15)
// and ROWS·8 tiles; the invocation with index l computes tiles tb + 8i + l (i < ROWS). Per 4
// input channels each invocation loads one V vec4 per tile, and the 4 × 64 weights of U[e]
// are loaded once per subgroup (lanes 0..7, two vec4 each per row) and broadcast: ROWS + 8
// loads feed ROWS · 256 FMAs. U rows: e·Cin + c, each of p.out_c4 vec4 (Cout padded to 16).
// Entry points by ROWS: `gemm16` and `gemm8`, and with the pipeline constant `group_rows`
// (sg_rows8) at 7 the same with 14 and 7 tiles per invocation (blocks of 112 and 56 tiles:
// F(4,3) on maps of 7 · 2^k pixels a side has 49 · 4^k tiles an image). Grid: x =
// 64-channel blocks, y = blocks of ROWS·8 tiles, z = e. For the few tiles of small maps
// (7 × 7 at batch 1: 16) `gemm_t16` turns the layout around (below).

// The first of the 4 U rows of input vec4 c in product e.
fn u_row(e: u32, c: u32) -> u32 {
    return (e * p.in_c4 + c) * 4u;
}

// V[e][t + 8i][c] for the group's tiles t, t + 8, ..., t + 8 · (group_rows - 1), all loaded
// before any multiply-add: loads interleaved with the multiply-adds ran as fast on Mesa 22.3's
// lavapipe and made this pass take 1.3-1.9× as long on Mesa 25's (BENCHMARKS.md,
// twenty-fourth round), as they did the implicit GEMM's.
fn load_v8(e: u32, t: u32, c: u32) -> X8 {
    var v = X8(load_v(e, t, c), load_v(e, t + 8u, c), load_v(e, t + 16u, c),
               load_v(e, t + 24u, c), load_v(e, t + 32u, c), load_v(e, t + 40u, c),
               load_v(e, t + 48u, c), vec4<f32>(0.0));
    if (group_rows > 7u) {
        v.x7 = load_v(e, t + 56u, c);
    }
    return v;
}

// Tile t's 64 products from vec4 column cb (nothing past the last tile or the padded Cout).
fn store_m64(e: u32, t: u32, cb: u32, a: Acc64) {
    if (cb < p.out_c4) { store_m(e, t, cb, a.q0); }
    if (cb + 4u < p.out_c4) { store_m(e, t, cb + 4u, a.q1); }
    if (cb + 8u < p.out_c4) { store_m(e, t, cb + 8u, a.q2); }
    if (cb + 12u < p.out_c4) { store_m(e, t, cb + 12u, a.q3); }
}

fn store_tiles8(e: u32, t: u32, cb: u32, r: Rows8) {
    store_m64(e, t, cb, r.a0);
    store_m64(e, t + 8u, cb, r.a1);
    store_m64(e, t + 16u, cb, r.a2);
    store_m64(e, t + 24u, cb, r.a3);
    store_m64(e, t + 32u, cb, r.a4);
    store_m64(e, t + 40u, cb, r.a5);
    store_m64(e, t + 48u, cb, r.a6);
    if (group_rows > 7u) {
        store_m64(e, t + 56u, cb, r.a7);
    }
}

// ROWS = 2 · group_rows (16 or 14): two groups of tiles share every weight row.
@compute @workgroup_size(8, 1, 1)
fn gemm16(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let cb = wid.x * 16u;
    let tb = wid.y * 16u * group_rows;
    let e = wid.z;
    // Uniform exits only: every lane takes part in the broadcasts.
    if (cb >= p.out_c4 || tb >= p.tiles) {
        return;
    }
    let l = lane % 8u;
    let t0 = tb + li;
    var lo = zero_rows8();
    var hi = zero_rows8();
    for (var c = 0u; c < p.in_c4; c++) {
        let vl = load_v8(e, t0, c);
        let vh = load_v8(e, t0 + 8u * group_rows, c);
        let b = share_rows(u_row(e, c), cb, l);
        lo = mac_rows8(lo, vl, b);
        hi = mac_rows8(hi, vh, b);
    }
    store_tiles8(e, t0, cb, lo);
    store_tiles8(e, t0 + 8u * group_rows, cb, hi);
}

// ROWS = group_rows (8 or 7).
@compute @workgroup_size(8, 1, 1)
fn gemm8(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let cb = wid.x * 16u;
    let tb = wid.y * 8u * group_rows;
    let e = wid.z;
    if (cb >= p.out_c4 || tb >= p.tiles) {
        return;
    }
    let l = lane % 8u;
    let t0 = tb + li;
    var r = zero_rows8();
    for (var c = 0u; c < p.in_c4; c++) {
        let v = load_v8(e, t0, c);
        r = mac_rows8(r, v, share_rows(u_row(e, c), cb, l));
    }
    store_tiles8(e, t0, cb, r);
}

// Sixteen tiles' accumulators of one lane's 16 channels (gemm_t16).
struct Shared16 {
    a0: Acc, a1: Acc, a2: Acc, a3: Acc, a4: Acc, a5: Acc, a6: Acc, a7: Acc,
    a8: Acc, a9: Acc, a10: Acc, a11: Acc, a12: Acc, a13: Acc, a14: Acc, a15: Acc,
}

fn zero_shared16() -> Shared16 {
    let z = zero();
    return Shared16(z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z);
}

// r + V · wt (4 input channels, this lane's 16 channels) for the sixteen tiles whose V vec4s
// lanes 0..7 hold in `lo` (tiles 0..7) and `hi` (tiles 8..15), each handed out with
// subgroupBroadcast.
fn mac_shared16(r: Shared16, lo: vec4<f32>, hi: vec4<f32>, wt: W16) -> Shared16 {
    return Shared16(
        mac(r.a0, subgroupBroadcast(lo, 0u), wt), mac(r.a1, subgroupBroadcast(lo, 1u), wt),
        mac(r.a2, subgroupBroadcast(lo, 2u), wt), mac(r.a3, subgroupBroadcast(lo, 3u), wt),
        mac(r.a4, subgroupBroadcast(lo, 4u), wt), mac(r.a5, subgroupBroadcast(lo, 5u), wt),
        mac(r.a6, subgroupBroadcast(lo, 6u), wt), mac(r.a7, subgroupBroadcast(lo, 7u), wt),
        mac(r.a8, subgroupBroadcast(hi, 0u), wt), mac(r.a9, subgroupBroadcast(hi, 1u), wt),
        mac(r.a10, subgroupBroadcast(hi, 2u), wt), mac(r.a11, subgroupBroadcast(hi, 3u), wt),
        mac(r.a12, subgroupBroadcast(hi, 4u), wt), mac(r.a13, subgroupBroadcast(hi, 5u), wt),
        mac(r.a14, subgroupBroadcast(hi, 6u), wt), mac(r.a15, subgroupBroadcast(hi, 7u), wt),
    );
}

// 16 tiles shared by the subgroup, lanes along the channels: for the few tiles of small maps
// (7 × 7 at batch 1: 16 tiles). Lane l owns the 16 channels from vec4 column cb + 4l; per 4
// input channels the V vec4s of the 16 tiles are loaded once per subgroup (lane l loads tiles
// tb + l and tb + 8 + l) and broadcast, and each lane loads its own 4 × 16 weights: 18 loads
// and 16 broadcasts feed 1024 FMAs per lane, where the tiles-along-lanes layout with 2 tiles
// per lane would spend 10 loads and 64 broadcasts on 512 (resnet50's 7 × 7 layers on lavapipe:
// 0.70 of the time). With more tiles, 8 or 16 per lane (gemm8, gemm16) load less per FMA.
// Grid: x = 128-channel blocks, y = blocks of 16 tiles, z = e.
@compute @workgroup_size(8, 1, 1)
fn gemm_t16(
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let cb = wid.x * 32u;
    let tb = wid.y * 16u;
    let e = wid.z;
    if (cb >= p.out_c4 || tb >= p.tiles) {
        return;
    }
    let l = lane % 8u;
    let c4 = cb + 4u * l;
    // Lanes past the padded Cout (a multiple of 4 vec4) read row 0 and store nothing.
    let owned = c4 < p.out_c4;
    let col = select(0u, c4, owned);
    var r = zero_shared16();
    for (var c = 0u; c < p.in_c4; c++) {
        let lo = load_v(e, tb + l, c);
        let hi = load_v(e, tb + 8u + l, c);
        r = mac_shared16(r, lo, hi, load_w16(u_row(e, c), col));
    }
    if (!owned) {
        return;
    }
    store_m(e, tb, c4, r.a0);
    store_m(e, tb + 1u, c4, r.a1);
    store_m(e, tb + 2u, c4, r.a2);
    store_m(e, tb + 3u, c4, r.a3);
    store_m(e, tb + 4u, c4, r.a4);
    store_m(e, tb + 5u, c4, r.a5);
    store_m(e, tb + 6u, c4, r.a6);
    store_m(e, tb + 7u, c4, r.a7);
    store_m(e, tb + 8u, c4, r.a8);
    store_m(e, tb + 9u, c4, r.a9);
    store_m(e, tb + 10u, c4, r.a10);
    store_m(e, tb + 11u, c4, r.a11);
    store_m(e, tb + 12u, c4, r.a12);
    store_m(e, tb + 13u, c4, r.a13);
    store_m(e, tb + 14u, c4, r.a14);
    store_m(e, tb + 15u, c4, r.a15);
}
