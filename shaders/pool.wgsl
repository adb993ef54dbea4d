// Fragment (assembled by src/gpu/kernels/shaders.rs after the prelude that defines the
// storage type `act`; validated in that form by tests/shaders.rs).
//
// Pooling over NHWC activations, one output element per invocation:
//   max_pool: window max; padded taps are skipped, so padding never wins;
//   max_pool4: the same for four channels per invocation (C % 4 == 0; `count` and `c` are
//              then in vec4s): a quarter of the loads, stores and index arithmetic;
//   global_avg_pool: mean over H x W, y[n, c].
// Grid: 256 per workgroup, workgroups in (x, y).

struct PoolParams {
    count: u32,
    c: u32, in_h: u32, in_w: u32,
    out_h: u32, out_w: u32,
    k_h: u32, k_w: u32,
    stride_h: u32, stride_w: u32,
    pad_t: u32, pad_l: u32,
}

@group(0) @binding(0) var<storage, read> x: array<act>;
@group(0) @binding(1) var<storage, read_write> y: array<act>;
@group(0) @binding(2) var<uniform> p: PoolParams;
// The same buffers as vec4s (max_pool4).
@group(0) @binding(0) var<storage, read> x4: array<act4>;
@group(0) @binding(1) var<storage, read_write> y4: array<act4>;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * 256u + lid.x;
}

// (image, row, column) of output pixel `pix`.
fn out_pixel(pix: u32) -> vec3<u32> {
    let ohw = p.out_h * p.out_w;
    let r = pix % ohw;
    return vec3<u32>(pix / ohw, r / p.out_w, r % p.out_w);
}

@compute @workgroup_size(256, 1, 1)
fn max_pool(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if (i >= p.count) {
        return;
    }
    let c = i % p.c;
    let o = out_pixel(i / p.c);
    let n = o.x;
    let oy = o.y;
    let ox = o.z;
    var m = -3.402823e38;
    for (var ky = 0u; ky < p.k_h; ky++) {
        let iy = i32(oy * p.stride_h + ky) - i32(p.pad_t);
        if (iy < 0 || iy >= i32(p.in_h)) {
            continue;
        }
        for (var kx = 0u; kx < p.k_w; kx++) {
            let ix = i32(ox * p.stride_w + kx) - i32(p.pad_l);
            if (ix < 0 || ix >= i32(p.in_w)) {
                continue;
            }
            m = max(m, f32(x[((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.c + c]));
        }
    }
    y[i] = act(m);
}

@compute @workgroup_size(256, 1, 1)
fn max_pool4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if (i >= p.count) {
        return;
    }
    let c = i % p.c;
    let o = out_pixel(i / p.c);
    let n = o.x;
    let oy = o.y;
    let ox = o.z;
    var m = vec4<f32>(-3.402823e38);
    for (var ky = 0u; ky < p.k_h; ky++) {
        let iy = i32(oy * p.stride_h + ky) - i32(p.pad_t);
        if (iy < 0 || iy >= i32(p.in_h)) {
            continue;
        }
        for (var kx = 0u; kx < p.k_w; kx++) {
            let ix = i32(ox * p.stride_w + kx) - i32(p.pad_l);
            if (ix < 0 || ix >= i32(p.in_w)) {
                continue;
            }
            m = max(m, vec4<f32>(x4[((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.c + c]));
        }
    }
    y4[i] = act4(m);
}

@compute @workgroup_size(256, 1, 1)
fn global_avg_pool(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if (i >= p.count) {
        return;
    }
    let c = i % p.c;
    let n = i / p.c;
    let hw = p.in_h * p.in_w;
    var s = 0.0;
    for (var q = 0u; q < hw; q++) {
        s += f32(x[(n * hw + q) * p.c + c]);
    }
    y[i] = act(s / f32(hw));
}
