// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store; validated in that form by tests/shaders.rs).
//
// Implicit GEMM with small register tiles, Cin % 4 == 0:
//
//   acc[m][co] = Σ_(ky,kx,ci) x[n, oy·sh + ky − pt, ox·sw + kx − pl, ci] · w[ky][kx][ci][co]
//
// Each invocation computes 4 output pixels × 8 output channels (two vec4 columns), over the
// taps that reach the image for one of its pixels (`tap_range4`). Two pipelines:
//
// - `direct_small` (`channel_lanes` false): consecutive invocations (local x; the SIMD lanes of
//   a CPU driver) walk 4-pixel blocks, each lane loading its own inputs and weights;
// - `channel_lanes` (true): consecutive invocations walk 8-channel blocks of the same 4 pixels,
//   so that a map of 4 pixels keeps all 8 lanes at work where the pixel-major kernels leave all
//   but one idle; the input vec4s are the same in every lane, and each lane loads its own
//   weights, every weight once per 4-pixel block.
//
// Weights HWIO with Cout padded to a multiple of 16: w[(ky·KW + kx)·Cin + ci][co/4].
// Write step (fused): y = acc + bias (+ residual) (ReLU).
// Grid: workgroups of 8 × 8: x = 64-channel blocks, y (and z) = 32-pixel blocks.

override channel_lanes: bool = false;

// The register tile (zero when declared): a{p}{h} = the vec4 of channels c4 + h (h = 0, 1)
// of pixel m0 + p.
struct Tile4x8 {
    a00: vec4<f32>, a01: vec4<f32>,
    a10: vec4<f32>, a11: vec4<f32>,
    a20: vec4<f32>, a21: vec4<f32>,
    a30: vec4<f32>, a31: vec4<f32>,
}

// The window origins of pixels m0..m0+3 (see `origin`).
struct Origins4 { o0: vec3<i32>, o1: vec3<i32>, o2: vec3<i32>, o3: vec3<i32> }

fn origins4(m0: u32) -> Origins4 {
    return Origins4(origin(m0), origin(m0 + 1u), origin(m0 + 2u), origin(m0 + 3u));
}

// Their input pixels under tap (ky, kx), as `tap` gives them (-1 in the padding).
fn taps4(o: Origins4, ky: u32, kx: u32, per_pixel: u32) -> vec4<i32> {
    return vec4<i32>(tap(o.o0, ky, kx, per_pixel), tap(o.o1, ky, kx, per_pixel),
                     tap(o.o2, ky, kx, per_pixel), tap(o.o3, ky, kx, per_pixel));
}

// The taps of pixel m's window that reach the image (o its origin), joined to the ranges
// r = (ky0, ky1, kx0, kx1); a pixel past the last one adds none.
fn join_taps(r: vec4<i32>, o: vec3<i32>, m: u32) -> vec4<i32> {
    if (m >= pixels()) {
        return r;
    }
    let lo = max(-o.yz, vec2<i32>(0));
    let hi = min(vec2<i32>(i32(p.in_h), i32(p.in_w)) - o.yz, vec2<i32>(i32(p.k_h), i32(p.k_w)));
    return vec4<i32>(min(r.x, lo.x), max(r.y, hi.x), min(r.z, lo.y), max(r.w, hi.y));
}

// The taps (ky0..ky1, kx0..kx1 as x, y, z, w) that reach the image for at least one of pixels
// m0..m0+3; the others read only padding, and skipping them skips their weights too (on a
// 1 × 1 map 8 of a 3 × 3 conv's 9 taps).
fn tap_range4(o: Origins4, m0: u32) -> vec4<u32> {
    var r = vec4<i32>(i32(p.k_h), 0, i32(p.k_w), 0);
    r = join_taps(join_taps(r, o.o0, m0), o.o1, m0 + 1u);
    r = join_taps(join_taps(r, o.o2, m0 + 2u), o.o3, m0 + 3u);
    return vec4<u32>(max(r, r.xxzz));
}

// One input channel: x holds its value at each of the 4 pixels, (wa, wb) its 8 weights.
fn mac4x8(t: ptr<function, Tile4x8>, x: vec4<f32>, wa: vec4<f32>, wb: vec4<f32>) {
    (*t).a00 = fma(vec4<f32>(x.x), wa, (*t).a00); (*t).a01 = fma(vec4<f32>(x.x), wb, (*t).a01);
    (*t).a10 = fma(vec4<f32>(x.y), wa, (*t).a10); (*t).a11 = fma(vec4<f32>(x.y), wb, (*t).a11);
    (*t).a20 = fma(vec4<f32>(x.z), wa, (*t).a20); (*t).a21 = fma(vec4<f32>(x.z), wb, (*t).a21);
    (*t).a30 = fma(vec4<f32>(x.w), wa, (*t).a30); (*t).a31 = fma(vec4<f32>(x.w), wb, (*t).a31);
}

// Pixels m0..m0+3 from vec4 column c4 through the write step; store4 skips vec4s past the
// padded Cout, and pixels past the last one are skipped here.
fn store4x8(m0: u32, c4: u32, t: Tile4x8) {
    let m_total = pixels();
    if (m0 < m_total) { store4(m0, c4, t.a00); store4(m0, c4 + 1u, t.a01); }
    if (m0 + 1u < m_total) { store4(m0 + 1u, c4, t.a10); store4(m0 + 1u, c4 + 1u, t.a11); }
    if (m0 + 2u < m_total) { store4(m0 + 2u, c4, t.a20); store4(m0 + 2u, c4 + 1u, t.a21); }
    if (m0 + 3u < m_total) { store4(m0 + 3u, c4, t.a30); store4(m0 + 3u, c4 + 1u, t.a31); }
}

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    // `channel_lanes`: local x (the SIMD lanes of a CPU driver) walks the channel blocks.
    let lane_c = select(lid.y, lid.x, channel_lanes);
    let lane_m = select(lid.x, lid.y, channel_lanes);
    let c4 = (wid.x * 8u + lane_c) * 2u;
    let m0 = ((wid.z * nwg.y + wid.y) * 8u + lane_m) * 4u;
    if (c4 >= p.out_c4 || m0 >= pixels()) {
        return;
    }
    var t: Tile4x8;
    let o = origins4(m0);
    let cin4 = p.in_c / 4u;
    let r = tap_range4(o, m0);
    for (var ky = r.x; ky < r.y; ky++) {
        for (var kx = r.z; kx < r.w; kx++) {
            let b = taps4(o, ky, kx, cin4);
            var wrow = (ky * p.k_w + kx) * p.in_c * p.out_c4 + c4;
            for (var ci4 = 0u; ci4 < cin4; ci4++) {
                let x0 = load_x(b.x, ci4);
                let x1 = load_x(b.y, ci4);
                let x2 = load_x(b.z, ci4);
                let x3 = load_x(b.w, ci4);
                // The four input channels of these vec4s, one weight row (8 channels) each.
                for (var j = 0u; j < 4u; j++) {
                    let wj = load_w8(wrow);
                    mac4x8(&t, vec4<f32>(x0[j], x1[j], x2[j], x3[j]), wj.a, wj.b);
                    wrow += p.out_c4;
                }
            }
        }
    }
    store4x8(m0, c4, t);
}
