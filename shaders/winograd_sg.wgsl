// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, wino_io, acc16,
// sg64; validated in that form by tests/shaders.rs). Needs the SUBGROUP feature and subgroups
// of at least 8 invocations.
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
// Entry points by ROWS: `gemm16`, `gemm8` and `gemm2` (the last for the few tiles of 7 x 7
// maps at batch 1). Grid: x = 64-channel blocks, y = blocks of ROWS·8 tiles, z = e.

// The first of the 4 U rows of input vec4 c in product e.
fn u_row(e: u32, c: u32) -> u32 {
    return (e * p.in_c4 + c) * 4u;
}

// r + V[e][t + 8i][c] · b for the eight tiles t, t + 8, ..., t + 56 (4 input channels).
fn mac_tiles8(r: Rows8, e: u32, t: u32, c: u32, b: B64) -> Rows8 {
    return Rows8(
        mac64(r.a0, load_v(e, t, c), b),
        mac64(r.a1, load_v(e, t + 8u, c), b),
        mac64(r.a2, load_v(e, t + 16u, c), b),
        mac64(r.a3, load_v(e, t + 24u, c), b),
        mac64(r.a4, load_v(e, t + 32u, c), b),
        mac64(r.a5, load_v(e, t + 40u, c), b),
        mac64(r.a6, load_v(e, t + 48u, c), b),
        mac64(r.a7, load_v(e, t + 56u, c), b),
    );
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
    store_m64(e, t + 56u, cb, r.a7);
}

// ROWS = 16: two groups of eight tiles share every weight row.
@compute @workgroup_size(8, 1, 1)
fn gemm16(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let cb = wid.x * 16u;
    let tb = wid.y * 128u;
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
        let b = share_rows(u_row(e, c), cb, l);
        lo = mac_tiles8(lo, e, t0, c, b);
        hi = mac_tiles8(hi, e, t0 + 64u, c, b);
    }
    store_tiles8(e, t0, cb, lo);
    store_tiles8(e, t0 + 64u, cb, hi);
}

// ROWS = 8.
@compute @workgroup_size(8, 1, 1)
fn gemm8(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let cb = wid.x * 16u;
    let tb = wid.y * 64u;
    let e = wid.z;
    if (cb >= p.out_c4 || tb >= p.tiles) {
        return;
    }
    let l = lane % 8u;
    let t0 = tb + li;
    var r = zero_rows8();
    for (var c = 0u; c < p.in_c4; c++) {
        r = mac_tiles8(r, e, t0, c, share_rows(u_row(e, c), cb, l));
    }
    store_tiles8(e, t0, cb, r);
}

// ROWS = 2: tiles tb + l and tb + 8 + l.
@compute @workgroup_size(8, 1, 1)
fn gemm2(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let cb = wid.x * 16u;
    let tb = wid.y * 16u;
    let e = wid.z;
    if (cb >= p.out_c4 || tb >= p.tiles) {
        return;
    }
    let l = lane % 8u;
    let t0 = tb + li;
    var a0 = zero64();
    var a1 = zero64();
    for (var c = 0u; c < p.in_c4; c++) {
        let b = share_rows(u_row(e, c), cb, l);
        a0 = mac64(a0, load_v(e, t0, c), b);
        a1 = mac64(a1, load_v(e, t0 + 8u, c), b);
    }
    store_m64(e, t0, cb, a0);
    store_m64(e, t0 + 8u, cb, a1);
}
