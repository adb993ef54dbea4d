// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x1,
// window, write_step, acc16, conv_store; validated in that form by tests/shaders.rs).
//
// conv2d with small register tiles, for layers too small to keep a device busy with the large
// tiles of conv2d_vec4.wgsl (7x7 and 14x14 maps at batch 1): each invocation computes 4 output
// pixels x 8 output channels (two vec4 columns), accumulating over K = KH*KW*Cin, any Cin.
//
// Weights are HWIO with Cout padded to a multiple of 16: w[(ky*KW + kx)*Cin + ci][co/4].
// Write step (fused): y = acc + bias (+ residual) (ReLU).
// Grid: workgroups of 8 x 8; local x walks 4-pixel blocks, local y 8-channel blocks.

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let c4 = (wid.x * 8u + lid.y) * 2u;
    let m0 = ((wid.z * nwg.y + wid.y) * 8u + lid.x) * 4u;
    if (c4 >= p.out_c4 || m0 >= pixels()) {
        return;
    }
    var a00 = vec4<f32>(0.0); var a01 = vec4<f32>(0.0);
    var a10 = vec4<f32>(0.0); var a11 = vec4<f32>(0.0);
    var a20 = vec4<f32>(0.0); var a21 = vec4<f32>(0.0);
    var a30 = vec4<f32>(0.0); var a31 = vec4<f32>(0.0);
    let o0 = origin(m0); let o1 = origin(m0 + 1u); let o2 = origin(m0 + 2u); let o3 = origin(m0 + 3u);
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let b0 = tap(o0, ky, kx, p.in_c);
            let b1 = tap(o1, ky, kx, p.in_c);
            let b2 = tap(o2, ky, kx, p.in_c);
            let b3 = tap(o3, ky, kx, p.in_c);
            var wrow = (ky * p.k_w + kx) * p.in_c * p.out_c4 + c4;
            for (var ci = 0u; ci < p.in_c; ci++) {
                let w0 = load_w4(wrow);
                let w1 = load_w4(wrow + 1u);
                let x0 = load_x(b0, ci);
                let x1 = load_x(b1, ci);
                let x2 = load_x(b2, ci);
                let x3 = load_x(b3, ci);
                a00 = fma(vec4<f32>(x0), w0, a00); a01 = fma(vec4<f32>(x0), w1, a01);
                a10 = fma(vec4<f32>(x1), w0, a10); a11 = fma(vec4<f32>(x1), w1, a11);
                a20 = fma(vec4<f32>(x2), w0, a20); a21 = fma(vec4<f32>(x2), w1, a21);
                a30 = fma(vec4<f32>(x3), w0, a30); a31 = fma(vec4<f32>(x3), w1, a31);
                wrow += p.out_c4;
            }
        }
    }
    // store4 skips vec4s past the padded Cout; pixels past the last one are skipped here.
    let m_total = pixels();
    if (m0 < m_total) { store4(m0, c4, a00); store4(m0, c4 + 1u, a01); }
    if (m0 + 1u < m_total) { store4(m0 + 1u, c4, a10); store4(m0 + 1u, c4 + 1u, a11); }
    if (m0 + 2u < m_total) { store4(m0 + 2u, c4, a20); store4(m0 + 2u, c4 + 1u, a21); }
    if (m0 + 3u < m_total) { store4(m0 + 3u, c4, a30); store4(m0 + 3u, c4 + 1u, a31); }
}
