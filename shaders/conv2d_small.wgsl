// conv2d with small register tiles, for layers too small to keep a device busy with the large
// tiles of conv2d_vec4.wgsl (7x7 and 14x14 maps at batch 1): each invocation computes 4 output
// pixels x 8 output channels (two vec4 columns), accumulating over K = KH*KW*Cin, any Cin.
//
// Weights are HWIO with Cout padded to a multiple of 16: w[(ky*KW + kx)*Cin + ci][co/4].
// Write step (fused): y = acc + bias (+ residual) (ReLU).
// Grid: workgroups of 8 x 8; local x walks 4-pixel blocks, local y 8-channel blocks.

// Storage types: f32 here; the half-precision build (see src/gpu/kernels/mod.rs) enables f16
// and swaps these aliases for f16 types. Arithmetic is f32 in both.
alias act = f32;
alias act4 = vec4<f32>;
alias wgt4 = vec4<f32>;

struct ConvParams {
    batch: u32, in_h: u32, in_w: u32, in_c: u32,
    out_h: u32, out_w: u32, out_c: u32, out_c4: u32,
    k_h: u32, k_w: u32, stride_h: u32, stride_w: u32,
    pad_t: u32, pad_l: u32, has_residual: u32, relu: u32,
}

@group(0) @binding(0) var<storage, read> x: array<act>;
@group(0) @binding(1) var<storage, read> w: array<wgt4>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> residual: array<act>;
@group(0) @binding(4) var<storage, read_write> y: array<act>;
@group(0) @binding(5) var<uniform> p: ConvParams;

// Input offset of pixel m's window origin shifted by (ky, kx), or -1 when outside the image
// (padding) or past the last pixel.
fn tap(m: u32, ky: u32, kx: u32) -> i32 {
    let m_total = p.batch * p.out_h * p.out_w;
    if (m >= m_total) {
        return -1;
    }
    let hw = p.out_h * p.out_w;
    let n = m / hw;
    let r = m % hw;
    let iy = i32((r / p.out_w) * p.stride_h + ky) - i32(p.pad_t);
    let ix = i32((r % p.out_w) * p.stride_w + kx) - i32(p.pad_l);
    if (iy < 0 || ix < 0 || iy >= i32(p.in_h) || ix >= i32(p.in_w)) {
        return -1;
    }
    return i32(((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.in_c);
}

fn load_x(base: i32, ci: u32) -> f32 {
    if (base < 0) {
        return 0.0;
    }
    return f32(x[u32(base) + ci]);
}

fn store(m: u32, c4: u32, acc: vec4<f32>) {
    let m_total = p.batch * p.out_h * p.out_w;
    if (m >= m_total) {
        return;
    }
    var v = acc + bias[c4];
    let base = m * p.out_c;
    for (var j = 0u; j < 4u; j++) {
        let co = c4 * 4u + j;
        if (co < p.out_c) {
            var o = v[j];
            if (p.has_residual != 0u) {
                o += f32(residual[base + co]);
            }
            if (p.relu != 0u) {
                o = max(o, 0.0);
            }
            y[base + co] = act(o);
        }
    }
}

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let c4 = (wid.x * 8u + lid.y) * 2u;
    let m0 = ((wid.z * nwg.y + wid.y) * 8u + lid.x) * 4u;
    if (c4 >= p.out_c4 || m0 >= p.batch * p.out_h * p.out_w) {
        return;
    }
    var a00 = vec4<f32>(0.0); var a01 = vec4<f32>(0.0);
    var a10 = vec4<f32>(0.0); var a11 = vec4<f32>(0.0);
    var a20 = vec4<f32>(0.0); var a21 = vec4<f32>(0.0);
    var a30 = vec4<f32>(0.0); var a31 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let b0 = tap(m0, ky, kx);
            let b1 = tap(m0 + 1u, ky, kx);
            let b2 = tap(m0 + 2u, ky, kx);
            let b3 = tap(m0 + 3u, ky, kx);
            var wrow = (ky * p.k_w + kx) * p.in_c * p.out_c4 + c4;
            for (var ci = 0u; ci < p.in_c; ci++) {
                let w0 = vec4<f32>(w[wrow]);
                let w1 = vec4<f32>(w[wrow + 1u]);
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
    store(m0, c4, a00); store(m0, c4 + 1u, a01);
    store(m0 + 1u, c4, a10); store(m0 + 1u, c4 + 1u, a11);
    store(m0 + 2u, c4, a20); store(m0 + 2u, c4 + 1u, a21);
    store(m0 + 3u, c4, a30); store(m0 + 3u, c4 + 1u, a31);
}
