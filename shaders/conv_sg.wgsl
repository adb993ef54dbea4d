// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, a weights view,
// conv_io, conv_x4, window, write_step and its output view, acc16, conv_store, sg64, sg_tile,
// sg_rows8, sg_block; validated in that form by tests/shaders.rs). Needs the SUBGROUP feature
// and subgroups of at least 8 invocations.
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
// subgroup: lane l loads vec4 columns 2l and 2l + 1 of each of the 4 rows (one load in the
// u64-pairs weight view), and the others get them with subgroupBroadcast. On devices where
// every storage load is a per-lane gather (llvmpipe) time follows the loads, so each load
// feeds as many FMAs as possible: per 4 input channels ROWS + 4 loads (pairs; + 8 in vec4s)
// feed ROWS · 256 FMAs (spilled accumulators cost less than loads). Each step loads its
// pixels' input vec4s first (sg_block's `load_x8`), then multiplies (sg_rows8's
// `mac_rows8`). The K steps run as a loop over the taps around a loop over the input vec4s,
// the taps' offsets found once per tap. For a stem whose RGB input was padded to 4 channels
// `main` is also built with `x_lanes` at 3 (ConvSubgroupRgb): 3 weight rows and ROWS · 192
// FMAs per step, and the steps (49 taps of one vec4) in one flat loop (sg_tile's `Step`),
// which costs lavapipe less than loops of one iteration. Both choices are for Mesa 25's
// lavapipe, and Mesa 22.3's ran them as fast as the old ones (one flat loop everywhere; each
// pixel's load just before its multiply-adds), which Mesa 25 ran 1.1-2.5× slower
// (BENCHMARKS.md, twenty-second round).
// Weights: HWIO, Cout padded to 16, as vec4 (rows of Cout4); columns past Cout4 read 0.
// Entry points: `main` (ROWS = 16, or 14 with `group_rows` 7) and `main8` (ROWS = 8 or 7, for
// maps too small to fill the larger blocks). Grid: x = 64-channel blocks, (y, z) = blocks of
// ROWS·8 pixels.

// How many channels of each input vec4 carry data: 4, or 3 for a stem whose RGB input was
// padded to 4 channels (`main` only; the padding channel's products are left out and its
// weight row is not loaded: a quarter of the stem's multiply-adds).
override x_lanes: u32 = 4u;

// r + xs · b for the group's pixels where the input vec4s' fourth channel is padding
// (x_lanes 3: `mac64_3`, whose weight rows come from `share_rows3`).
fn mac_rows8_3(r: Rows8, xs: X8, b: B64) -> Rows8 {
    var o = Rows8(mac64_3(r.a0, xs.x0, b), mac64_3(r.a1, xs.x1, b), mac64_3(r.a2, xs.x2, b),
                  mac64_3(r.a3, xs.x3, b), mac64_3(r.a4, xs.x4, b), mac64_3(r.a5, xs.x5, b),
                  mac64_3(r.a6, xs.x6, b), r.a7);
    if (group_rows > 7u) {
        o.a7 = mac64_3(r.a7, xs.x7, b);
    }
    return o;
}

// ROWS = 2 · group_rows (16 or 14): pixels mb + l + 8i (i < ROWS) of a block of 8 · ROWS
// pixels, as two groups that share every weight row.
@compute @workgroup_size(8, 1, 1)
fn main(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 16u;
    let mb = (wid.z * nwg.y + wid.y) * 16u * group_rows;
    // Uniform exits only: every lane takes part in the broadcasts.
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o_lo = origins8(m0);
    let o_hi = origins8(m0 + 8u * group_rows);
    var r_lo = zero_rows8();
    var r_hi = zero_rows8();
    let cin4 = p.in_c / 4u;
    if (x_lanes == 3u) {
        let steps = k_steps(cin4);
        var at = Step(0u, 0u, 0u);
        var t_lo = taps8(o_lo, 0u, 0u, cin4);
        var t_hi = taps8(o_hi, 0u, 0u, cin4);
        for (var s = 0u; s < steps; s++) {
            let xl = load_x8(t_lo, at.c);
            let xh = load_x8(t_hi, at.c);
            let b = share_rows3(s * 4u, cb, l);
            r_lo = mac_rows8_3(r_lo, xl, b);
            r_hi = mac_rows8_3(r_hi, xh, b);
            at = next_step(at, cin4);
            if (at.c == 0u) {
                t_lo = taps8(o_lo, at.ky, at.kx, cin4);
                t_hi = taps8(o_hi, at.ky, at.kx, cin4);
            }
        }
    } else {
        var row = 0u;
        for (var ky = 0u; ky < p.k_h; ky++) {
            for (var kx = 0u; kx < p.k_w; kx++) {
                let t_lo = taps8(o_lo, ky, kx, cin4);
                let t_hi = taps8(o_hi, ky, kx, cin4);
                for (var c = 0u; c < cin4; c++) {
                    let xl = load_x8(t_lo, c);
                    let xh = load_x8(t_hi, c);
                    let b = share_rows(row, cb, l);
                    r_lo = mac_rows8(r_lo, xl, b);
                    r_hi = mac_rows8(r_hi, xh, b);
                    row += 4u;
                }
            }
        }
    }
    let bv = load_bias(cb);
    store_rows8(m0, cb, r_lo, bv);
    store_rows8(m0 + 8u * group_rows, cb, r_hi, bv);
}

// ROWS = group_rows (8 or 7): one group, a block of 64 or 56 pixels, for maps too small to
// fill the larger blocks (7 x 7 at batch 1).
@compute @workgroup_size(8, 1, 1)
fn main8(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 16u;
    let mb = (wid.z * nwg.y + wid.y) * 8u * group_rows;
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o = origins8(m0);
    var r = zero_rows8();
    let cin4 = p.in_c / 4u;
    var row = 0u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t = taps8(o, ky, kx, cin4);
            for (var c = 0u; c < cin4; c++) {
                let xs = load_x8(t, c);
                r = mac_rows8(r, xs, share_rows(row, cb, l));
                row += 4u;
            }
        }
    }
    store_rows8(m0, cb, r, load_bias(cb));
}
