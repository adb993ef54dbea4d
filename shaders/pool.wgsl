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
    let win = window_of(i);
    var m = -3.402823e38;
    var t = Tap(0u, 0u);
    for (var k = 0u; k < p.k_h * p.k_w; k++) {
        let q = tap_pixel(win, t);
        if (q >= 0) {
            m = max(m, f32(x[u32(q) * p.c + win.c]));
        }
        t = next_tap(t);
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
    let win = window_of(i);
    var m = vec4<f32>(-3.402823e38);
    var t = Tap(0u, 0u);
    for (var k = 0u; k < p.k_h * p.k_w; k++) {
        let q = tap_pixel(win, t);
        if (q >= 0) {
            m = max(m, vec4<f32>(x4[u32(q) * p.c + win.c]));
        }
        t = next_tap(t);
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
