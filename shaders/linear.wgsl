// The classifier: y[n, o] = sum_i x[n, i] * w[o, i] + b[o], with W as [out][in].
// One output per invocation; 64 per workgroup, workgroups in (x, y).

// Storage types: f32 here; the half-precision build (see src/gpu/kernels/mod.rs) enables f16
// and swaps these aliases for f16 types. Arithmetic is f32 in both.
alias act = f32;

struct LinearParams {
    batch: u32,
    in_f: u32,
    out_f: u32,
    _pad: u32,
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
