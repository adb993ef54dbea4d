// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store; validated in that form by tests/shaders.rs).
//
// 1x1 conv (no padding, any stride) as a plain GEMM over NHWC activations:
//   y[m][co] = sum over ci of x[pixel(m)][ci] * w[ci][co] + bias[co] (+ residual) (ReLU)
// where pixel(m) is output pixel m's input pixel (n, oy*sh, ox*sw). Same register tiling as
// conv2d_vec4.wgsl (8 pixels x 16 channels per invocation, vec4 loads along channels), without
// the window loop and its padding checks.
// Weights: [Cin][Cout padded to 16] as vec4. Grid: as conv2d_vec4.wgsl.

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
    var a0 = zero(); var a1 = zero(); var a2 = zero(); var a3 = zero();
    var a4 = zero(); var a5 = zero(); var a6 = zero(); var a7 = zero();
    let cin4 = p.in_c / 4u;
    // Without padding, a 1x1 window's only tap is its origin: the input pixel (n, oy*sh, ox*sw).
    let t0 = tap(origin(m0), 0u, 0u, cin4); let t1 = tap(origin(m0 + 1u), 0u, 0u, cin4);
    let t2 = tap(origin(m0 + 2u), 0u, 0u, cin4); let t3 = tap(origin(m0 + 3u), 0u, 0u, cin4);
    let t4 = tap(origin(m0 + 4u), 0u, 0u, cin4); let t5 = tap(origin(m0 + 5u), 0u, 0u, cin4);
    let t6 = tap(origin(m0 + 6u), 0u, 0u, cin4); let t7 = tap(origin(m0 + 7u), 0u, 0u, cin4);
    for (var c = 0u; c < cin4; c++) {
        let wt = load_w16(c * 4u, c4);
        a0 = mac(a0, load_x(t0, c), wt); a1 = mac(a1, load_x(t1, c), wt);
        a2 = mac(a2, load_x(t2, c), wt); a3 = mac(a3, load_x(t3, c), wt);
        a4 = mac(a4, load_x(t4, c), wt); a5 = mac(a5, load_x(t5, c), wt);
        a6 = mac(a6, load_x(t6, c), wt); a7 = mac(a7, load_x(t7, c), wt);
    }
    store(m0, c4, a0); store(m0 + 1u, c4, a1); store(m0 + 2u, c4, a2); store(m0 + 3u, c4, a3);
    store(m0 + 4u, c4, a4); store(m0 + 5u, c4, a5); store(m0 + 6u, c4, a6); store(m0 + 7u, c4, a7);
}
