// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16; validated in that form by tests/shaders.rs). Needs the SUBGROUP
// feature and subgroups of at least 8 invocations.
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
// Grid: x = 64-channel blocks, (y, z) = blocks of ROWS·8 pixels.

// 64 output channels of one pixel.
struct Acc64 { q0: Acc, q1: Acc, q2: Acc, q3: Acc }
// 4 weight rows (4 input channels) × 64 output channels.
struct B64 { r0: Acc64, r1: Acc64, r2: Acc64, r3: Acc64 }

fn zero64() -> Acc64 {
    return Acc64(zero(), zero(), zero(), zero());
}

// a + s · r
fn mac_row64(a: Acc64, s: f32, r: Acc64) -> Acc64 {
    return Acc64(mac_row(a.q0, s, r.q0), mac_row(a.q1, s, r.q1), mac_row(a.q2, s, r.q2),
                 mac_row(a.q3, s, r.q3));
}

// a + xv · b (4 input channels)
fn mac64(a: Acc64, xv: vec4<f32>, b: B64) -> Acc64 {
    return mac_row64(mac_row64(mac_row64(mac_row64(a, xv.x, b.r0), xv.y, b.r1), xv.z, b.r2), xv.w, b.r3);
}

// Weight vec4 (row, c4), 0 past the padded Cout.
fn load_b(row: u32, c4: u32) -> vec4<f32> {
    if (c4 >= p.out_c4) {
        return vec4<f32>(0.0);
    }
    return vec4<f32>(w[row * p.out_c4 + c4]);
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

// The block's bias, once per invocation (0 past the padded Cout).
fn load_bias(cb: u32) -> Acc64 {
    var v: array<vec4<f32>, 16>;
    for (var j = 0u; j < 16u; j++) {
        v[j] = select(vec4<f32>(0.0), bias[min(cb + j, p.out_c4 - 1u)], cb + j < p.out_c4);
    }
    return Acc64(Acc(v[0], v[1], v[2], v[3]), Acc(v[4], v[5], v[6], v[7]),
                 Acc(v[8], v[9], v[10], v[11]), Acc(v[12], v[13], v[14], v[15]));
}

fn store16(base: u32, c4: u32, a: Acc, b: Acc) {
    if (c4 < p.out_c4) { write_out4(base, c4, a.c0 + b.c0); }
    if (c4 + 1u < p.out_c4) { write_out4(base, c4 + 1u, a.c1 + b.c1); }
    if (c4 + 2u < p.out_c4) { write_out4(base, c4 + 2u, a.c2 + b.c2); }
    if (c4 + 3u < p.out_c4) { write_out4(base, c4 + 3u, a.c3 + b.c3); }
}

// Pixel m's 64 channels from vec4 column cb, plus the bias b; nothing past the last pixel.
fn store64(m: u32, cb: u32, a: Acc64, b: Acc64) {
    if (m >= pixels()) {
        return;
    }
    let base = m * p.out_c;
    store16(base, cb, a.q0, b.q0);
    store16(base, cb + 4u, a.q1, b.q1);
    store16(base, cb + 8u, a.q2, b.q2);
    store16(base, cb + 12u, a.q3, b.q3);
}

// ROWS = 16 pixels per invocation, 128 per workgroup.
@compute @workgroup_size(8, 1, 1)
fn main(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let cb = wid.x * 16u;
    let mb = (wid.z * nwg.y + wid.y) * 128u;
    // Uniform exits only: every lane takes part in the broadcasts.
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o0 = origin(m0); let o1 = origin(m0 + 8u); let o2 = origin(m0 + 16u); let o3 = origin(m0 + 24u);
    let o4 = origin(m0 + 32u); let o5 = origin(m0 + 40u); let o6 = origin(m0 + 48u); let o7 = origin(m0 + 56u);
    let o8 = origin(m0 + 64u); let o9 = origin(m0 + 72u); let o10 = origin(m0 + 80u); let o11 = origin(m0 + 88u);
    let o12 = origin(m0 + 96u); let o13 = origin(m0 + 104u); let o14 = origin(m0 + 112u); let o15 = origin(m0 + 120u);
    var a0 = zero64(); var a1 = zero64(); var a2 = zero64(); var a3 = zero64();
    var a4 = zero64(); var a5 = zero64(); var a6 = zero64(); var a7 = zero64();
    var a8 = zero64(); var a9 = zero64(); var a10 = zero64(); var a11 = zero64();
    var a12 = zero64(); var a13 = zero64(); var a14 = zero64(); var a15 = zero64();
    let cin4 = p.in_c / 4u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t0 = tap(o0, ky, kx, cin4); let t1 = tap(o1, ky, kx, cin4); let t2 = tap(o2, ky, kx, cin4); let t3 = tap(o3, ky, kx, cin4);
            let t4 = tap(o4, ky, kx, cin4); let t5 = tap(o5, ky, kx, cin4); let t6 = tap(o6, ky, kx, cin4); let t7 = tap(o7, ky, kx, cin4);
            let t8 = tap(o8, ky, kx, cin4); let t9 = tap(o9, ky, kx, cin4); let t10 = tap(o10, ky, kx, cin4); let t11 = tap(o11, ky, kx, cin4);
            let t12 = tap(o12, ky, kx, cin4); let t13 = tap(o13, ky, kx, cin4); let t14 = tap(o14, ky, kx, cin4); let t15 = tap(o15, ky, kx, cin4);
            var row = (ky * p.k_w + kx) * p.in_c;
            for (var c = 0u; c < cin4; c++) {
                let b = share_rows(row, cb, l);
                a0 = mac64(a0, load_x(t0, c), b); a1 = mac64(a1, load_x(t1, c), b);
                a2 = mac64(a2, load_x(t2, c), b); a3 = mac64(a3, load_x(t3, c), b);
                a4 = mac64(a4, load_x(t4, c), b); a5 = mac64(a5, load_x(t5, c), b);
                a6 = mac64(a6, load_x(t6, c), b); a7 = mac64(a7, load_x(t7, c), b);
                a8 = mac64(a8, load_x(t8, c), b); a9 = mac64(a9, load_x(t9, c), b);
                a10 = mac64(a10, load_x(t10, c), b); a11 = mac64(a11, load_x(t11, c), b);
                a12 = mac64(a12, load_x(t12, c), b); a13 = mac64(a13, load_x(t13, c), b);
                a14 = mac64(a14, load_x(t14, c), b); a15 = mac64(a15, load_x(t15, c), b);
                row += 4u;
            }
        }
    }
    let bv = load_bias(cb);
    store64(m0, cb, a0, bv); store64(m0 + 8u, cb, a1, bv);
    store64(m0 + 16u, cb, a2, bv); store64(m0 + 24u, cb, a3, bv);
    store64(m0 + 32u, cb, a4, bv); store64(m0 + 40u, cb, a5, bv);
    store64(m0 + 48u, cb, a6, bv); store64(m0 + 56u, cb, a7, bv);
    store64(m0 + 64u, cb, a8, bv); store64(m0 + 72u, cb, a9, bv);
    store64(m0 + 80u, cb, a10, bv); store64(m0 + 88u, cb, a11, bv);
    store64(m0 + 96u, cb, a12, bv); store64(m0 + 104u, cb, a13, bv);
    store64(m0 + 112u, cb, a14, bv); store64(m0 + 120u, cb, a15, bv);
}
