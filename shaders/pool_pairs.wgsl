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
    let c = i % p.c;
    let o = out_pixel(i / p.c);
    let n = o.x;
    var lo = vec4<f32>(-3.402823e38);
    var hi = lo;
    let top = window_top(o.y, o.z);
    var ky = 0u;
    var kx = 0u;
    for (var k = 0u; k < p.k_h * p.k_w; k++) {
        let iy = top.x + i32(ky);
        let ix = top.y + i32(kx);
        if (inside(iy, ix)) {
            let v = x8[input_pixel(n, iy, ix) * p.c + c];
            lo = max(lo, unpack2(v.x, v.y));
            hi = max(hi, unpack2(v.z, v.w));
        }
        kx += 1u;
        if (kx == p.k_w) {
            kx = 0u;
            ky += 1u;
        }
    }
    y8[i] = vec4<u64>(pack2(lo.x, lo.y), pack2(lo.z, lo.w), pack2(hi.x, hi.y), pack2(hi.z, hi.w));
}
