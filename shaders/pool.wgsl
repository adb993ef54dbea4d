// Fragment (assembled by src/gpu/kernels/shaders.rs after the prelude that defines the
// storage type `act` and the piece pool_window; validated in that form by tests/shaders.rs).
//
// Pooling over NHWC activations, one output element per invocation:
//   max_pool: window max; padded taps are skipped, so padding never wins;
//   max_pool4: the same for four channels per invocation (C % 4 == 0; `count` and `c` are
//              then in vec4s): a quarter of the loads, stores and index arithmetic
//              (pool_pairs.wgsl has eight, in u64-pairs builds);
//   global_avg_pool: mean over H x W, y[n, c].
// Grid: 256 per workgroup, workgroups in (x, y).

@group(0) @binding(0) var<storage, read> x: array<act>;
@group(0) @binding(1) var<storage, read_write> y: array<act>;
// The same buffers as vec4s (max_pool4).
@group(0) @binding(0) var<storage, read> x4: array<act4>;
@group(0) @binding(1) var<storage, read_write> y4: array<act4>;

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
    let top = window_top(oy, ox);
    var ky = 0u;
    var kx = 0u;
    for (var k = 0u; k < p.k_h * p.k_w; k++) {
        let iy = top.x + i32(ky);
        let ix = top.y + i32(kx);
        if (inside(iy, ix)) {
            m = max(m, f32(x[input_pixel(n, iy, ix) * p.c + c]));
        }
        kx += 1u;
        if (kx == p.k_w) {
            kx = 0u;
            ky += 1u;
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
    let top = window_top(oy, ox);
    var ky = 0u;
    var kx = 0u;
    for (var k = 0u; k < p.k_h * p.k_w; k++) {
        let iy = top.x + i32(ky);
        let ix = top.y + i32(kx);
        if (inside(iy, ix)) {
            m = max(m, vec4<f32>(x4[input_pixel(n, iy, ix) * p.c + c]));
        }
        kx += 1u;
        if (kx == p.k_w) {
            kx = 0u;
            ky += 1u;
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
