// 1x1 conv (no padding, any stride) as a plain GEMM over NHWC activations:
//   y[m][co] = sum over ci of x[pixel(m)][ci] * w[ci][co] + bias[co] (+ residual) (ReLU)
// where pixel(m) is output pixel m's input pixel (n, oy*sh, ox*sw). Same register tiling as
// conv2d_vec4.wgsl (8 pixels x 16 channels per invocation, vec4 loads along channels), without
// the window loop and its padding checks.
// Weights: [Cin][Cout padded to 16] as vec4. Grid: as conv2d_vec4.wgsl.

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

// 16 output channels of one pixel.
struct Acc { c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32> }
// Weights of 4 input channels x 16 output channels.
struct W16 { r0: Acc, r1: Acc, r2: Acc, r3: Acc }

fn zero() -> Acc {
    return Acc(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
}

fn mac_row(a: Acc, s: f32, r: Acc) -> Acc {
    let v = vec4<f32>(s);
    return Acc(fma(v, r.c0, a.c0), fma(v, r.c1, a.c1), fma(v, r.c2, a.c2), fma(v, r.c3, a.c3));
}

fn mac(a: Acc, xv: vec4<f32>, wt: W16) -> Acc {
    return mac_row(mac_row(mac_row(mac_row(a, xv.x, wt.r0), xv.y, wt.r1), xv.z, wt.r2), xv.w, wt.r3);
}

fn load_w16(row: u32, c4: u32) -> W16 {
    let s = p.out_c4;
    let b0 = row * s + c4;
    let b1 = b0 + s;
    let b2 = b1 + s;
    let b3 = b2 + s;
    return W16(
        Acc(vec4<f32>(w[b0]), vec4<f32>(w[b0 + 1u]), vec4<f32>(w[b0 + 2u]), vec4<f32>(w[b0 + 3u])),
        Acc(vec4<f32>(w[b1]), vec4<f32>(w[b1 + 1u]), vec4<f32>(w[b1 + 2u]), vec4<f32>(w[b1 + 3u])),
        Acc(vec4<f32>(w[b2]), vec4<f32>(w[b2 + 1u]), vec4<f32>(w[b2 + 2u]), vec4<f32>(w[b2 + 3u])),
        Acc(vec4<f32>(w[b3]), vec4<f32>(w[b3 + 1u]), vec4<f32>(w[b3 + 2u]), vec4<f32>(w[b3 + 3u])),
    );
}

// vec4 index of pixel m's input channel 0; -1 past the last pixel.
fn pixel(m: u32) -> i32 {
    if (m >= p.batch * p.out_h * p.out_w) {
        return -1;
    }
    let hw = p.out_h * p.out_w;
    let n = m / hw;
    let r = m % hw;
    let iy = (r / p.out_w) * p.stride_h;
    let ix = (r % p.out_w) * p.stride_w;
    return i32(((n * p.in_h + iy) * p.in_w + ix) * (p.in_c / 4u));
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

fn store(m: u32, c4: u32, a: Acc) {
    if (m >= p.batch * p.out_h * p.out_w) {
        return;
    }
    store4(m, c4, a.c0);
    store4(m, c4 + 1u, a.c1);
    store4(m, c4 + 2u, a.c2);
    store4(m, c4 + 3u, a.c3);
}

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let c4 = (wid.x * 8u + lid.y) * 4u;
    let m0 = ((wid.z * nwg.y + wid.y) * 8u + lid.x) * 8u;
    if (c4 >= p.out_c4 || m0 >= p.batch * p.out_h * p.out_w) {
        return;
    }
    var a0 = zero(); var a1 = zero(); var a2 = zero(); var a3 = zero();
    var a4 = zero(); var a5 = zero(); var a6 = zero(); var a7 = zero();
    let cin4 = p.in_c / 4u;
    let t0 = pixel(m0); let t1 = pixel(m0 + 1u); let t2 = pixel(m0 + 2u); let t3 = pixel(m0 + 3u);
    let t4 = pixel(m0 + 4u); let t5 = pixel(m0 + 5u); let t6 = pixel(m0 + 6u); let t7 = pixel(m0 + 7u);
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
