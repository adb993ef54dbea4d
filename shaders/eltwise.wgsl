// Fragment (assembled by src/gpu/kernels/shaders.rs after the prelude that defines the
// storage type `act`; validated in that form by tests/shaders.rs).
//
// Element-wise ops on NHWC activations, one element per invocation:
//   affine: y = a * scale[c] + shift[c] (ReLU)   (a batch norm that was not folded)
//   add:    y = a + b (ReLU)                      (a residual add that could not fuse)
//   relu:   y = max(x, 0)
// Element i has channel i % channels. Grid: 256 per workgroup, workgroups in (x, y).

struct EltParams {
    count: u32,
    channels: u32,
    relu: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> a: array<act>;
@group(0) @binding(1) var<storage, read> b: array<act>;
@group(0) @binding(2) var<storage, read> shift: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<act>;
@group(0) @binding(4) var<uniform> p: EltParams;
@group(0) @binding(5) var<storage, read> scale: array<f32>;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * 256u + lid.x;
}

fn finish(v: f32) -> f32 {
    return select(v, max(v, 0.0), p.relu != 0u);
}

@compute @workgroup_size(256, 1, 1)
fn affine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if (i >= p.count) {
        return;
    }
    let c = i % p.channels;
    y[i] = act(finish(f32(a[i]) * scale[c] + shift[c]));
}

@compute @workgroup_size(256, 1, 1)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if (i >= p.count) {
        return;
    }
    y[i] = act(finish(f32(a[i]) + f32(b[i])));
}

@compute @workgroup_size(256, 1, 1)
fn relu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if (i >= p.count) {
        return;
    }
    y[i] = act(max(f32(a[i]), 0.0));
}
