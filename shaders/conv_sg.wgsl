// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store, sg_tile, sg64; validated in that form by
// tests/shaders.rs). Needs the SUBGROUP feature and subgroups of at least 8 invocations.
//
// conv2d (any kernel, stride and padding; Cin % 4 == 0) as an implicit GEMM over NHWC
// activations whose weights are shared across a subgroup instead of loaded by every lane:
//
//   acc[m][co] = sum over (ky, kx, ci) of x[n, oy*sh + ky - pt, ox*sw + kx - pl, ci] * w[ky][kx][ci][co]
//   y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)          (the fused write step)
//
// A workgroup is 8 invocations (one subgroup on lavapipe; lanes 0..7 of a larger one elsewhere)
// and owns 64 output channels (vec4 columns cb .. cb + 15) × ROWS·8 output pixels; the
// invocation with index l computes the ROWS pixels mb + 8i + l. Per 4 input channels every
// invocation loads one input vec4 per pixel, while the 4 × 64 weights are loaded once per
// subgroup: lane l loads vec4 columns l and l + 8 of each of the 4 rows, and the others get
// them with subgroupBroadcast. On devices where every storage load is a per-lane gather
// (llvmpipe) time follows the loads, so each load feeds as many FMAs as possible: per 4 input
// channels ROWS + 8 loads feed ROWS · 256 FMAs (spilled accumulators cost less than loads).
// Weights: HWIO, Cout padded to 16, as vec4 (rows of Cout4); columns past Cout4 read 0.
// Entry points: `main` (ROWS = 16) and `main8` (ROWS = 8, for maps too small to fill 128-pixel
// tiles). Grid: x = 64-channel blocks, (y, z) = blocks of ROWS·8 pixels.

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

// r + x[taps, c] · b for the eight pixels (4 input channels).
fn mac_rows8(r: Rows8, t: Taps8, c: u32, b: B64) -> Rows8 {
    return Rows8(
        mac64(r.a0, load_x(t.t0, c), b),
        mac64(r.a1, load_x(t.t1, c), b),
        mac64(r.a2, load_x(t.t2, c), b),
        mac64(r.a3, load_x(t.t3, c), b),
        mac64(r.a4, load_x(t.t4, c), b),
        mac64(r.a5, load_x(t.t5, c), b),
        mac64(r.a6, load_x(t.t6, c), b),
        mac64(r.a7, load_x(t.t7, c), b),
    );
}

fn store_rows8(m: u32, cb: u32, r: Rows8, bv: Acc64) {
    store64(m, cb, r.a0, bv);
    store64(m + 8u, cb, r.a1, bv);
    store64(m + 16u, cb, r.a2, bv);
    store64(m + 24u, cb, r.a3, bv);
    store64(m + 32u, cb, r.a4, bv);
    store64(m + 40u, cb, r.a5, bv);
    store64(m + 48u, cb, r.a6, bv);
    store64(m + 56u, cb, r.a7, bv);
}

// ROWS = 16: pixels mb + l + 8i (i < 16) of a 128-pixel block, as two halves of eight that
// share every weight row.
@compute @workgroup_size(8, 1, 1)
fn main(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 16u;
    let mb = (wid.z * nwg.y + wid.y) * 128u;
    // Uniform exits only: every lane takes part in the broadcasts.
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o_lo = origins8(m0);
    let o_hi = origins8(m0 + 64u);
    var r_lo = zero_rows8();
    var r_hi = zero_rows8();
    let cin4 = p.in_c / 4u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t_lo = taps8(o_lo, ky, kx, cin4);
            let t_hi = taps8(o_hi, ky, kx, cin4);
            var row = (ky * p.k_w + kx) * p.in_c;
            for (var c = 0u; c < cin4; c++) {
                let b = share_rows(row, cb, l);
                r_lo = mac_rows8(r_lo, t_lo, c, b);
                r_hi = mac_rows8(r_hi, t_hi, c, b);
                row += 4u;
            }
        }
    }
    let bv = load_bias(cb);
    store_rows8(m0, cb, r_lo, bv);
    store_rows8(m0 + 64u, cb, r_hi, bv);
}

// ROWS = 8: a 64-pixel block, for maps too small to fill 128-pixel ones (7 x 7 at batch 1).
@compute @workgroup_size(8, 1, 1)
fn main8(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 16u;
    let mb = (wid.z * nwg.y + wid.y) * 64u;
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o = origins8(m0);
    var r = zero_rows8();
    let cin4 = p.in_c / 4u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t = taps8(o, ky, kx, cin4);
            var row = (ky * p.k_w + kx) * p.in_c;
            for (var c = 0u; c < cin4; c++) {
                r = mac_rows8(r, t, c, share_rows(row, cb, l));
                row += 4u;
            }
        }
    }
    store_rows8(m0, cb, r, load_bias(cb));
}

// Seven pixels' accumulators (64 channels each): the 7-pixel rows of `main7` and `main14`,
// whose blocks of 56 and 112 pixels divide the maps of 7 · 2^k pixels a side that 64- and
// 128-pixel blocks pad by up to a quarter.
struct Rows7 { a0: Acc64, a1: Acc64, a2: Acc64, a3: Acc64, a4: Acc64, a5: Acc64, a6: Acc64 }

fn zero_rows7() -> Rows7 {
    let z = zero64();
    return Rows7(z, z, z, z, z, z, z);
}

// r + x[taps, c] · b for the first seven of the eight pixels of `t`.
fn mac_rows7(r: Rows7, t: Taps8, c: u32, b: B64) -> Rows7 {
    return Rows7(
        mac64(r.a0, load_x(t.t0, c), b),
        mac64(r.a1, load_x(t.t1, c), b),
        mac64(r.a2, load_x(t.t2, c), b),
        mac64(r.a3, load_x(t.t3, c), b),
        mac64(r.a4, load_x(t.t4, c), b),
        mac64(r.a5, load_x(t.t5, c), b),
        mac64(r.a6, load_x(t.t6, c), b),
    );
}

fn store_rows7(m: u32, cb: u32, r: Rows7, bv: Acc64) {
    store64(m, cb, r.a0, bv);
    store64(m + 8u, cb, r.a1, bv);
    store64(m + 16u, cb, r.a2, bv);
    store64(m + 24u, cb, r.a3, bv);
    store64(m + 32u, cb, r.a4, bv);
    store64(m + 40u, cb, r.a5, bv);
    store64(m + 48u, cb, r.a6, bv);
}

// ROWS = 14: pixels mb + l + 8i (i < 14) of a 112-pixel block, as two halves of seven that
// share every weight row.
@compute @workgroup_size(8, 1, 1)
fn main14(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 16u;
    let mb = (wid.z * nwg.y + wid.y) * 112u;
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o_lo = origins8(m0);
    let o_hi = origins8(m0 + 56u);
    var r_lo = zero_rows7();
    var r_hi = zero_rows7();
    let cin4 = p.in_c / 4u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t_lo = taps8(o_lo, ky, kx, cin4);
            let t_hi = taps8(o_hi, ky, kx, cin4);
            var row = (ky * p.k_w + kx) * p.in_c;
            for (var c = 0u; c < cin4; c++) {
                let b = share_rows(row, cb, l);
                r_lo = mac_rows7(r_lo, t_lo, c, b);
                r_hi = mac_rows7(r_hi, t_hi, c, b);
                row += 4u;
            }
        }
    }
    let bv = load_bias(cb);
    store_rows7(m0, cb, r_lo, bv);
    store_rows7(m0 + 56u, cb, r_hi, bv);
}

// ROWS = 7: a 56-pixel block (7 × 7 maps at batch 1: 49 pixels).
@compute @workgroup_size(8, 1, 1)
fn main7(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 16u;
    let mb = (wid.z * nwg.y + wid.y) * 56u;
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o = origins8(m0);
    var r = zero_rows7();
    let cin4 = p.in_c / 4u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t = taps8(o, ky, kx, cin4);
            var row = (ky * p.k_w + kx) * p.in_c;
            for (var c = 0u; c < cin4; c++) {
                r = mac_rows7(r, t, c, share_rows(row, cb, l));
                row += 4u;
            }
        }
    }
    store_rows7(m0, cb, r, load_bias(cb));
}
