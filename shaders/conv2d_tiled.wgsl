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

@group(0) @binding(0) var<storage, read> x: array<act4>;
@group(0) @binding(1) var<storage, read> w: array<wgt4>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> residual: array<act>;
@group(0) @binding(4) var<storage, read_write> y: array<act>;
@group(0) @binding(5) var<uniform> p: ConvParams;

// a_tile[k][px / 4][px % 4]: 16 k-rows of 64 pixels; b_tile[k][c4]: 16 k-rows of 16 vec4.
var<workgroup> a_tile: array<vec4<f32>, 256>;
var<workgroup> b_tile: array<vec4<f32>, 256>;

// Window origin of output pixel m: (first input row of its image, top row, left column), or
// an origin far outside the image when m is past the last pixel, so that every tap reads 0.
// Computed once per pixel: integer division is costly on many devices.
fn origin(m: u32) -> vec3<i32> {
    if (m >= p.batch * p.out_h * p.out_w) {
        return vec3<i32>(0, -65536, -65536);
    }
    let hw = p.out_h * p.out_w;
    let n = m / hw;
    let r = m % hw;
    let iy = i32((r / p.out_w) * p.stride_h) - i32(p.pad_t);
    let ix = i32((r % p.out_w) * p.stride_w) - i32(p.pad_l);
    return vec3<i32>(i32(n * p.in_h), iy, ix);
}

// vec4 index of the input channel 0 under tap (ky, kx) of a window, or -1 in the padding.
fn tap(o: vec3<i32>, ky: u32, kx: u32) -> i32 {
    let iy = o.y + i32(ky);
    let ix = o.z + i32(kx);
    if (iy < 0 || ix < 0 || iy >= i32(p.in_h) || ix >= i32(p.in_w)) {
        return -1;
    }
    return ((o.x + iy) * i32(p.in_w) + ix) * i32((p.in_c / 4u));
}

fn load_x(base: i32, c: u32) -> vec4<f32> {
    if (base < 0) {
        return vec4<f32>(0.0);
    }
    return vec4<f32>(x[u32(base) + c]);
}

fn store4(m: u32, c4: u32, acc: vec4<f32>) {
    if (c4 >= p.out_c4) {
        return;
    }
    let v = acc + bias[c4];
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

@compute @workgroup_size(16, 16, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
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
        let xv = load_x(tap(o, t / p.k_w, t % p.k_w), ci4 + cv_l);
        a_tile[(cv_l * 4u) * 16u + px_l / 4u][px_l % 4u] = xv.x;
        a_tile[(cv_l * 4u + 1u) * 16u + px_l / 4u][px_l % 4u] = xv.y;
        a_tile[(cv_l * 4u + 2u) * 16u + px_l / 4u][px_l % 4u] = xv.z;
        a_tile[(cv_l * 4u + 3u) * 16u + px_l / 4u][px_l % 4u] = xv.w;
        var bv = vec4<f32>(0.0);
        if (c4_base + c_l < p.out_c4) {
            bv = vec4<f32>(w[(k0 + k_l) * p.out_c4 + c4_base + c_l]);
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
    let m_total = p.batch * p.out_h * p.out_w;
    if (m0 < m_total) { store4(m0, c4, acc0); }
    if (m0 + 1u < m_total) { store4(m0 + 1u, c4, acc1); }
    if (m0 + 2u < m_total) { store4(m0 + 2u, c4, acc2); }
    if (m0 + 3u < m_total) { store4(m0 + 3u, c4, acc3); }
}
