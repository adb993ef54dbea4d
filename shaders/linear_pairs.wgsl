// Fragment (assembled by src/gpu/kernels/shaders.rs after the prelude, u64_pairs and
// linear_io; validated in that form by tests/shaders.rs). f32 builds with u64 pairs only.
//
// linear.wgsl's pool_linear4 (the global average pool fused with the classifier) over 8
// features per load (in_f % 8 == 0): the activations and the weight rows read as `vec4<u64>`,
// half the loads. Each class's sum takes the features in the same order as pool_linear4, four
// at a time, so the logits are the same.

@group(0) @binding(0) var<storage, read> x8: array<vec4<u64>>;
@group(0) @binding(1) var<storage, read> w8: array<vec4<u64>>;

// The means, 8 features per pair of vec4s (2k: features 8k..8k+3, 2k + 1: 8k+4..8k+7).
var<workgroup> means8: array<vec4<f32>, 512>;

// s + (m · the row's first four features, then its next four), per class.
fn dot8(s: f32, ma: vec4<f32>, mb: vec4<f32>, w: vec4<u64>) -> f32 {
    let e = unpack8(w);
    return s + dot(ma, e.a) + dot(mb, e.b);
}

@compute @workgroup_size(64, 1, 1)
fn pool_linear8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n = wid.y;
    let hw = p.hw;
    let k8 = p.in_f / 8u;
    for (var i = lid.x; i < k8; i += 64u) {
        var lo = vec4<f32>(0.0);
        var hi = vec4<f32>(0.0);
        for (var q = 0u; q < hw; q++) {
            let v = unpack8(x8[(n * hw + q) * k8 + i]);
            lo += v.a;
            hi += v.b;
        }
        means8[2u * i] = lo / f32(hw);
        means8[2u * i + 1u] = hi / f32(hw);
    }
    workgroupBarrier();
    let o0 = wid.x * 256u + lid.x;
    let rows = class_rows(o0, k8);
    var s = vec4<f32>(0.0);
    for (var k = 0u; k < k8; k++) {
        let ma = means8[2u * k];
        let mb = means8[2u * k + 1u];
        s = vec4<f32>(dot8(s.x, ma, mb, w8[rows.x + k]), dot8(s.y, ma, mb, w8[rows.y + k]),
                      dot8(s.z, ma, mb, w8[rows.z + k]), dot8(s.w, ma, mb, w8[rows.w + k]));
    }
    store_classes(n, o0, s);
}
