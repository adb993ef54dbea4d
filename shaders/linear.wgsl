// Fragment (assembled by src/gpu/kernels/shaders.rs after the prelude that defines the
// storage type `act` and the piece linear_io; validated in that form by tests/shaders.rs).
//
// The classifier: y[n, o] = sum_i x[n, i] * w[o, i] + b[o], with W as [out][in].
// One output per invocation; 64 per workgroup, workgroups in (x, y).


@group(0) @binding(0) var<storage, read> x: array<act>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
// The input and the weights as vec4s (pool_linear4: in_f % 4 == 0, rows of in_f / 4 vec4s).
@group(0) @binding(0) var<storage, read> x4: array<act4>;
@group(0) @binding(1) var<storage, read> w4: array<vec4<f32>>;

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
    logits[i] = s;
}

// The global average pool fused with the classifier:
//   y[n, o] = sum_i mean_hw(x[n, :, :, i]) * w[o, i] + b[o]
// Workgroup (j, n) first averages image n's H x W x C activation (C <= 2048) into workgroup
// memory, then computes logits 256j + l + 64r (r < 4) in invocation l: four outputs share each
// mean, and the 1000 classes of a batch-1 classifier spread over 4 workgroups (every core)
// instead of one.
var<workgroup> means: array<f32, 2048>;

@compute @workgroup_size(64, 1, 1)
fn pool_linear(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n = wid.y;
    let hw = p.hw;
    for (var i = lid.x; i < p.in_f; i += 64u) {
        var s = 0.0;
        for (var q = 0u; q < hw; q++) {
            s += f32(x[(n * hw + q) * p.in_f + i]);
        }
        means[i] = s / f32(hw);
    }
    workgroupBarrier();
    let o0 = wid.x * 256u + lid.x;
    let rows = class_rows(o0, p.in_f);
    var s = vec4<f32>(0.0);
    for (var k = 0u; k < p.in_f; k++) {
        let m = means[k];
        s = fma(vec4<f32>(m), vec4<f32>(w[rows.x + k], w[rows.y + k], w[rows.z + k],
                                         w[rows.w + k]), s);
    }
    store_classes(n, o0, s);
}

// pool_linear for in_f % 4 == 0: the same sums over vec4s of the input, the means and the
// weight rows (a quarter of the loads).
var<workgroup> means4: array<vec4<f32>, 512>;

@compute @workgroup_size(64, 1, 1)
fn pool_linear4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n = wid.y;
    let hw = p.hw;
    let k4 = p.in_f / 4u;
    for (var i = lid.x; i < k4; i += 64u) {
        var s = vec4<f32>(0.0);
        for (var q = 0u; q < hw; q++) {
            s += vec4<f32>(x4[(n * hw + q) * k4 + i]);
        }
        means4[i] = s / f32(hw);
    }
    workgroupBarrier();
    let o0 = wid.x * 256u + lid.x;
    let rows = class_rows(o0, k4);
    var s = vec4<f32>(0.0);
    for (var k = 0u; k < k4; k++) {
        let m = means4[k];
        s += vec4<f32>(dot(m, w4[rows.x + k]), dot(m, w4[rows.y + k]), dot(m, w4[rows.z + k]),
                       dot(m, w4[rows.w + k]));
    }
    store_classes(n, o0, s);
}
