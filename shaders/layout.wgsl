// Fragment (assembled by src/gpu/kernels/shaders.rs after the prelude that defines the
// storage type `act`; validated in that form by tests/shaders.rs).
//
// Layout changes, one output element per invocation:
//   nchw_to_nhwc: the NCHW f32 input -> the internal NHWC layout, with out_c >= in_c channels
//                 (the extra ones zero, so that a 3-channel stem can read vec4s);
//   shortcut_a:   the CIFAR option-A shortcut, y[n, oy, ox, c] = x[n, oy*s, ox*s, c - pad]
//                 for pad <= c < pad + Cin, else 0.
// Grid: 256 per workgroup, workgroups in (x, y).

struct LayoutParams {
    count: u32,
    in_c: u32, in_h: u32, in_w: u32,
    out_c: u32, out_h: u32, out_w: u32,
    stride: u32,
    pad_before: u32,
    _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read> x_nchw: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<act>;
@group(0) @binding(3) var<storage, read> x: array<act>;
@group(0) @binding(2) var<uniform> p: LayoutParams;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * 256u + lid.x;
}

@compute @workgroup_size(256, 1, 1)
fn nchw_to_nhwc(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if (i >= p.count) {
        return;
    }
    // i indexes the NHWC output.
    let c = i % p.out_c;
    let pix = i / p.out_c;
    let hw = p.in_h * p.in_w;
    let n = pix / hw;
    let r = pix % hw;
    var v = 0.0;
    if (c < p.in_c) {
        v = x_nchw[(n * p.in_c + c) * hw + r];
    }
    y[i] = act(v);
}

@compute @workgroup_size(256, 1, 1)
fn shortcut_a(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = index(wid, nwg, lid);
    if (i >= p.count) {
        return;
    }
    let c = i % p.out_c;
    let pix = i / p.out_c;
    let ohw = p.out_h * p.out_w;
    let n = pix / ohw;
    let r = pix % ohw;
    let iy = (r / p.out_w) * p.stride;
    let ix = (r % p.out_w) * p.stride;
    var v = act(0.0);
    if (c >= p.pad_before && c < p.pad_before + p.in_c) {
        v = x[((n * p.in_h + iy) * p.in_w + ix) * p.in_c + (c - p.pad_before)];
    }
    y[i] = v;
}
