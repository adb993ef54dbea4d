// Fragment (assembled by src/gpu/kernels/shaders.rs after the prelude, u64_pairs and
// pool_window; validated in that form by tests/shaders.rs). f32 builds with u64 pairs only.
//
// pool.wgsl's max pool over 8 channels per invocation (C % 8 == 0; `count` and `c` in units
// of 8 channels), each tap's 8 channels one `vec4<u64>` load: on lavapipe a load costs a loop
// over the lanes whatever its width, so this makes half the loads and stores of max_pool4.
// Padded taps are skipped, so padding never wins.

@group(0) @binding(0) var<storage, read> x8: array<vec4<u64>>;
@group(0) @binding(1) var<storage, read_write> y8: array<vec4<u64>>;

@compute @workgroup_size(256, 1, 1)
fn max_pool8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if (i >= p.count) {
        return;
    }
    let win = window_of(i);
    var lo = vec4<f32>(-3.402823e38);
    var hi = lo;
    var t = Tap(0u, 0u);
    for (var k = 0u; k < p.k_h * p.k_w; k++) {
        let q = tap_pixel(win, t);
        if (q >= 0) {
            let v = unpack8(x8[u32(q) * p.c + win.c]);
            lo = max(lo, v.a);
            hi = max(hi, v.b);
        }
        t = next_tap(t);
    }
    y8[i] = pack8(lo, hi);
}
