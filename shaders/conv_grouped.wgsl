// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x1,
// window, write_step, acc16, conv_store; validated in that form by tests/shaders.rs).
//
// Grouped (and depthwise) conv with dilation, over NHWC activations, any Cin: G = p.groups
// groups of Cin/G input and Cout/G output channels; output channel co belongs to group
// g = co / (Cout/G) and reads input channels g·Cin/G .. (g+1)·Cin/G − 1.
//
//   acc[m][co] = sum over (ky, kx, c < Cin/G) of
//                x[n, oy*sh + ky*dh - pt, ox*sw + kx*dw - pl, g*Cin/G + c] * w[ky][kx][c][co]
//   y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)          (the fused write step)
//
// Weights are HWIO with per-group input channels and Cout padded to a multiple of 16:
// w[((ky*KW + kx)*(Cin/G) + c) * Cout4 + co/4][co % 4].
// One invocation computes one output pixel's four output channels (vec4 c4). Where Cout/G is a
// multiple of 4 the four lanes share a group and accumulate as one vec4; otherwise each lane
// may belong to a different group (depthwise: every lane does) and sums on its own.
// Grid: workgroups of 16 x 4 invocations; local x walks channel vec4s, local y pixels;
// workgroup x = channel-vec4 group, (y, z) = pixel groups.

@compute @workgroup_size(16, 4, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let c4 = wid.x * 16u + lid.x;
    let m = (wid.z * nwg.y + wid.y) * 4u + lid.y;
    if (c4 >= p.out_c4 || m >= pixels()) {
        return;
    }
    let o = origin(m);
    let cin_g = p.in_c / p.groups;
    let cout_g = p.out_c / p.groups;
    var acc = vec4<f32>(0.0);
    if (cout_g % 4u == 0u) {
        // All four lanes in one group (ResNeXt: Cout/G = 4, 8, ...): each input value is
        // loaded once and multiplies a whole weight vec4.
        let ci0 = (c4 * 4u / cout_g) * cin_g;
        for (var ky = 0u; ky < p.k_h; ky++) {
            let iy = o.y + i32(ky * p.dil_h);
            for (var kx = 0u; kx < p.k_w; kx++) {
                let ix = o.z + i32(kx * p.dil_w);
                if (iy < 0 || ix < 0 || iy >= i32(p.in_h) || ix >= i32(p.in_w)) {
                    continue;
                }
                let base = ((o.x + iy) * i32(p.in_w) + ix) * i32(p.in_c) + i32(ci0);
                var wi = (ky * p.k_w + kx) * cin_g * p.out_c4 + c4;
                for (var c = 0u; c < cin_g; c++) {
                    acc = fma(vec4<f32>(load_x(base, c)), load_w4(wi), acc);
                    wi += p.out_c4;
                }
            }
        }
        store4(m, c4, acc);
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let co = c4 * 4u + j;
        if (co >= p.out_c) {
            break;
        }
        let ci0 = (co / cout_g) * cin_g;
        var s = 0.0;
        for (var ky = 0u; ky < p.k_h; ky++) {
            let iy = o.y + i32(ky * p.dil_h);
            for (var kx = 0u; kx < p.k_w; kx++) {
                let ix = o.z + i32(kx * p.dil_w);
                if (iy < 0 || ix < 0 || iy >= i32(p.in_h) || ix >= i32(p.in_w)) {
                    continue;
                }
                let base = ((o.x + iy) * i32(p.in_w) + ix) * i32(p.in_c) + i32(ci0);
                let row = (ky * p.k_w + kx) * cin_g;
                for (var c = 0u; c < cin_g; c++) {
                    s = fma(load_x(base, c), load_w4((row + c) * p.out_c4 + c4)[j], s);
                }
            }
        }
        acc[j] = s;
    }
    store4(m, c4, acc);
}
