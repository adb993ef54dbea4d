// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store; validated in that form by tests/shaders.rs).
//
// conv2d as an implicit GEMM with workgroup-memory tiles (for GPUs with fast shared memory):
// a workgroup of 16 x 16 invocations computes 64 output pixels x 64 output channels, each
// invocation a 4 x 4 register block (4 pixels x one vec4 of channels). K = KH*KW*Cin runs in
// chunks of 16; every chunk stages A (64 pixels x 16 input channels, loaded as vec4 along
// channels) and B (16 x 64 weights) in workgroup memory. Needs Cin % 16 == 0, so that a chunk
// never straddles two taps.
//
//   acc[m][co] = sum over k of A[m][k] * B[k][co],  A[m][(ky*KW + kx)*Cin + ci] = x[window(m), ky, kx, ci]
//   y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)          (the fused write step)
//
// Weights: HWIO, Cout padded to 16, as vec4. Grid: x = 64-channel tiles, (y, z) = 64-pixel tiles.

// a_tile[k][px / 4][px % 4]: 16 k-rows of 64 pixels; b_tile[k][c4]: 16 k-rows of 16 vec4.
var<workgroup> a_tile: array<vec4<f32>, 256>;
var<workgroup> b_tile: array<vec4<f32>, 256>;

@compute @workgroup_size(16, 16, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let m_base = (wid.z * nwg.y + wid.y) * 64u;
    let c4_base = wid.x * 16u;
    // Loader roles: A row px_l with vec4 cv_l; B row k_l, column c_l.
    let px_l = li / 4u;
    let cv_l = li % 4u;
    let o = origin(m_base + px_l);
    let k_l = li / 16u;
    let c_l = li % 16u;
    let cin4 = p.in_c / 4u;
    let chunks = p.k_h * p.k_w * p.in_c / 16u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var kc = 0u; kc < chunks; kc++) {
        let k0 = kc * 16u;
        let t = k0 / p.in_c;
        let ci4 = (k0 % p.in_c) / 4u;
        let xv = load_x(tap(o, t / p.k_w, t % p.k_w, cin4), ci4 + cv_l);
        a_tile[(cv_l * 4u) * 16u + px_l / 4u][px_l % 4u] = xv.x;
        a_tile[(cv_l * 4u + 1u) * 16u + px_l / 4u][px_l % 4u] = xv.y;
        a_tile[(cv_l * 4u + 2u) * 16u + px_l / 4u][px_l % 4u] = xv.z;
        a_tile[(cv_l * 4u + 3u) * 16u + px_l / 4u][px_l % 4u] = xv.w;
        var bv = vec4<f32>(0.0);
        if (c4_base + c_l < p.out_c4) {
            bv = load_w4((k0 + k_l) * p.out_c4 + c4_base + c_l);
        }
        b_tile[k_l * 16u + c_l] = bv;
        workgroupBarrier();
        for (var k = 0u; k < 16u; k++) {
            let a = a_tile[k * 16u + lid.y];
            let b = b_tile[k * 16u + lid.x];
            acc0 = fma(vec4<f32>(a.x), b, acc0);
            acc1 = fma(vec4<f32>(a.y), b, acc1);
            acc2 = fma(vec4<f32>(a.z), b, acc2);
            acc3 = fma(vec4<f32>(a.w), b, acc3);
        }
        workgroupBarrier();
    }
    let m0 = m_base + lid.y * 4u;
    let c4 = c4_base + lid.x;
    let m_total = pixels();
    if (m0 < m_total) { store4(m0, c4, acc0); }
    if (m0 + 1u < m_total) { store4(m0 + 1u, c4, acc1); }
    if (m0 + 2u < m_total) { store4(m0 + 2u, c4, acc2); }
    if (m0 + 3u < m_total) { store4(m0 + 3u, c4, acc3); }
}
