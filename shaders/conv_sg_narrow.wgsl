// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store, sg64, sg_tile, sg_w16; validated in that form by
// tests/shaders.rs). Needs the SUBGROUP feature and subgroups of at least 8 invocations.
//
// The subgroup implicit GEMM of conv_sg.wgsl for convs with few output channels (ResNet-20's
// 32), where its 64-channel blocks would compute mostly padding:
//
//   acc[m][co] = sum over (ky, kx, ci) of x[n, oy*sh + ky - pt, ox*sw + kx - pl, ci] * w[ky][kx][ci][co]
//   y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)          (the fused write step)
//
// `c32`: a workgroup is 8 invocations (lanes 0..7 of a subgroup) and owns 32 output channels
// (8 vec4 columns) × 128 output pixels; invocation l computes pixels mb + 8i + l (i < 16). The
// 4 × 32 weights of every 4 input channels are loaded once per subgroup (lane l loads column
// l of rows 0..3) and shared with subgroupBroadcast; each pixel's input vec4 is loaded once
// per step (sg_tile's `load8`, the sixteen before any multiply-add) and feeds both 16-channel
// halves. It keeps 128 vec4 accumulators per invocation, as many pixels as fit beside them.
// The 16-channel blocks (`sg_gemm_c16`) are conv_sg_grouped.wgsl's `main` with one group per
// block: a plain conv is one group.
// Grid: x = 32-channel blocks, (y, z) = blocks of 128 pixels.

// r + xs · wt for the eight pixels (4 input channels × 16 output channels).
fn mac_rows8x16(r: Rows8x16, xs: X8, wt: W16) -> Rows8x16 {
    return Rows8x16(mac(r.a0, xs.x0, wt), mac(r.a1, xs.x1, wt), mac(r.a2, xs.x2, wt),
                    mac(r.a3, xs.x3, wt), mac(r.a4, xs.x4, wt), mac(r.a5, xs.x5, wt),
                    mac(r.a6, xs.x6, wt), mac(r.a7, xs.x7, wt));
}

// CH = 32, ROWS = 16: two groups of eight pixels, each with both 16-channel halves.
@compute @workgroup_size(8, 1, 1)
fn c32(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 8u;
    let mb = (wid.z * nwg.y + wid.y) * 128u;
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o0 = origins8(m0);
    let o1 = origins8(m0 + 64u);
    var r0 = zero_rows8x16();
    var r1 = zero_rows8x16();
    var r2 = zero_rows8x16();
    var r3 = zero_rows8x16();
    let cin4 = p.in_c / 4u;
    let steps = k_steps(cin4);
    var at = Step(0u, 0u, 0u);
    var t0 = taps8(o0, 0u, 0u, cin4);
    var t1 = taps8(o1, 0u, 0u, cin4);
    for (var s = 0u; s < steps; s++) {
        let wt = share_w32(s * 4u, cb, l);
        let x0 = load8(t0, at.c);
        let x1 = load8(t1, at.c);
        r0 = mac_rows8x16(r0, x0, wt.lo);
        r1 = mac_rows8x16(r1, x0, wt.hi);
        r2 = mac_rows8x16(r2, x1, wt.lo);
        r3 = mac_rows8x16(r3, x1, wt.hi);
        at = next_step(at, cin4);
        if (at.c == 0u) {
            t0 = taps8(o0, at.ky, at.kx, cin4);
            t1 = taps8(o1, at.ky, at.kx, cin4);
        }
    }
    let lo = load_bias16(cb);
    let hi = load_bias16(cb + 4u);
    store_rows8x16(m0, cb, r0, lo);
    store_rows8x16(m0, cb + 4u, r1, hi);
    store_rows8x16(m0 + 64u, cb, r2, lo);
    store_rows8x16(m0 + 64u, cb + 4u, r3, hi);
}
