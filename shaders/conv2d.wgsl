// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x1,
// window, write_step, acc16, conv_store; validated in that form by tests/shaders.rs).
//
// conv2d for any Cin (odd counts) over NHWC activations: the same register tiling as
// conv2d_vec4.wgsl (8 output pixels x 16 output channels per invocation), reading the input
// one channel at a time.
//
//   acc[m][co] = sum over (ky, kx, ci) of x[n, oy*sh + ky - pt, ox*sw + kx - pl, ci] * w[ky][kx][ci][co]
//   y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)          (the fused write step)
//
// Weights are HWIO with Cout padded to a multiple of 16: w[((ky*KW + kx)*Cin + ci) * Cout4 + co/4].
// Grid: workgroups of 8 x 8 invocations; local x walks pixel blocks, local y channel blocks;
// workgroup x = channel-block group, (y, z) = pixel-block groups.

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let c4 = (wid.x * 8u + lid.y) * 4u;
    let m0 = ((wid.z * nwg.y + wid.y) * 8u + lid.x) * 8u;
    if (c4 >= p.out_c4 || m0 >= pixels()) {
        return;
    }
    let o0 = origin(m0); let o1 = origin(m0 + 1u); let o2 = origin(m0 + 2u); let o3 = origin(m0 + 3u);
    let o4 = origin(m0 + 4u); let o5 = origin(m0 + 5u); let o6 = origin(m0 + 6u); let o7 = origin(m0 + 7u);
    var a0 = zero(); var a1 = zero(); var a2 = zero(); var a3 = zero();
    var a4 = zero(); var a5 = zero(); var a6 = zero(); var a7 = zero();
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t0 = tap(o0, ky, kx, p.in_c); let t1 = tap(o1, ky, kx, p.in_c);
            let t2 = tap(o2, ky, kx, p.in_c); let t3 = tap(o3, ky, kx, p.in_c);
            let t4 = tap(o4, ky, kx, p.in_c); let t5 = tap(o5, ky, kx, p.in_c);
            let t6 = tap(o6, ky, kx, p.in_c); let t7 = tap(o7, ky, kx, p.in_c);
            var row = (ky * p.k_w + kx) * p.in_c;
            for (var c = 0u; c < p.in_c; c++) {
                let wr = load_row(row, c4);
                a0 = mac_row(a0, load_x(t0, c), wr); a1 = mac_row(a1, load_x(t1, c), wr);
                a2 = mac_row(a2, load_x(t2, c), wr); a3 = mac_row(a3, load_x(t3, c), wr);
                a4 = mac_row(a4, load_x(t4, c), wr); a5 = mac_row(a5, load_x(t5, c), wr);
                a6 = mac_row(a6, load_x(t6, c), wr); a7 = mac_row(a7, load_x(t7, c), wr);
                row += 1u;
            }
        }
    }
    store(m0, c4, a0); store(m0 + 1u, c4, a1); store(m0 + 2u, c4, a2); store(m0 + 3u, c4, a3);
    store(m0 + 4u, c4, a4); store(m0 + 5u, c4, a5); store(m0 + 6u, c4, a6); store(m0 + 7u, c4, a7);
}
