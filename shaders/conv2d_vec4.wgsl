// conv2d for Cin % 4 == 0 over NHWC activations: a register-tiled direct convolution in which
// every invocation computes 8 consecutive output pixels x 16 output channels and reads its
// input four channels at a time (vec4 loads, which lavapipe and GPUs alike serve far better than
// scalar ones).
//
//   acc[m][co] = sum over (ky, kx, ci) of x[n, oy*sh + ky - pt, ox*sw + kx - pl, ci] * w[ky][kx][ci][co]
//   y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)          (the fused write step)
//
// Weights are HWIO with Cout padded to a multiple of 16: w[((ky*KW + kx)*Cin + ci) * Cout4 + co/4].
// Grid: workgroups of 8 x 8 invocations; local x walks pixel blocks, local y channel blocks;
// workgroup x = channel-block group, (y, z) = pixel-block groups.

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
    let o0 = origin(m0); let o1 = origin(m0 + 1u); let o2 = origin(m0 + 2u); let o3 = origin(m0 + 3u);
    let o4 = origin(m0 + 4u); let o5 = origin(m0 + 5u); let o6 = origin(m0 + 6u); let o7 = origin(m0 + 7u);
    var a0 = zero(); var a1 = zero(); var a2 = zero(); var a3 = zero();
    var a4 = zero(); var a5 = zero(); var a6 = zero(); var a7 = zero();
    let cin4 = p.in_c / 4u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t0 = tap(o0, ky, kx); let t1 = tap(o1, ky, kx);
            let t2 = tap(o2, ky, kx); let t3 = tap(o3, ky, kx);
            let t4 = tap(o4, ky, kx); let t5 = tap(o5, ky, kx);
            let t6 = tap(o6, ky, kx); let t7 = tap(o7, ky, kx);
            var row = (ky * p.k_w + kx) * p.in_c;
            for (var c = 0u; c < cin4; c++) {
                let wt = load_w16(row, c4);
                a0 = mac(a0, load_x(t0, c), wt); a1 = mac(a1, load_x(t1, c), wt);
                a2 = mac(a2, load_x(t2, c), wt); a3 = mac(a3, load_x(t3, c), wt);
                a4 = mac(a4, load_x(t4, c), wt); a5 = mac(a5, load_x(t5, c), wt);
                a6 = mac(a6, load_x(t6, c), wt); a7 = mac(a7, load_x(t7, c), wt);
                row += 4u;
            }
        }
    }
    store(m0, c4, a0); store(m0 + 1u, c4, a1); store(m0 + 2u, c4, a2); store(m0 + 3u, c4, a3);
    store(m0 + 4u, c4, a4); store(m0 + 5u, c4, a5); store(m0 + 6u, c4, a6); store(m0 + 7u, c4, a7);
}
