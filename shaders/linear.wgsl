// Fragment (assembled by src/gpu/kernels/shaders.rs after the prelude that defines the
// storage type `act`; validated in that form by tests/shaders.rs).
//
// The classifier: y[n, o] = sum_i x[n, i] * w[o, i] + b[o], with W as [out][in].
// One output per invocation; 64 per workgroup, workgroups in (x, y).

struct LinearParams {
    batch: u32,
    in_f: u32,
    out_f: u32,
    // pixels per image (pool_linear only)
    hw: u32,
}

@group(0) @binding(0) var<storage, read> x: array<act>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: LinearParams;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if (i >= p.batch * p.out_f) {
        return;
    }
    let n = i / p.out_f;
    let o = i % p.out_f;
    var s = b[o];
    for (var k = 0u; k < p.in_f; k++) {
        s = fma(f32(x[n * p.in_f + k]), w[o * p.in_f + k], s);
    }
    y[i] = s;
}

// The global average pool fused with the classifier: one workgroup per image first averages
// its H x W x C activation (C <= 2048) into workgroup memory, then computes the image's logits:
//   y[n, o] = sum_i mean_hw(x[n, :, :, i]) * w[o, i] + b[o]
var<workgroup> means: array<f32, 2048>;

@compute @workgroup_size(64, 1, 1)
fn pool_linear(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n = wid.x;
    let hw = p.hw;
    for (var i = lid.x; i < p.in_f; i += 64u) {
        var s = 0.0;
        for (var q = 0u; q < hw; q++) {
            s += f32(x[(n * hw + q) * p.in_f + i]);
        }
        means[i] = s / f32(hw);
    }
    workgroupBarrier();
    for (var o = lid.x; o < p.out_f; o += 64u) {
        var s = b[o];
        for (var k = 0u; k < p.in_f; k++) {
            s = fma(means[k], w[o * p.in_f + k], s);
        }
        y[n * p.out_f + o] = s;
    }
}
