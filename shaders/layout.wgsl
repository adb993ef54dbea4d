// Fragment (assembled by src/gpu/kernels/shaders.rs after the prelude that defines the
// storage type `act`; validated in that form by tests/shaders.rs).
//
// Layout changes, four consecutive output channels of one output pixel per invocation (the
// pixel's index arithmetic, integer divisions that CPU drivers run lane by lane, once per
// four elements):
//   nchw_to_nhwc: the NCHW f32 input -> the internal NHWC layout, with out_c >= in_c channels
//                 (the extra ones zero, so that a 3-channel stem can read vec4s);
//   shortcut_a:   the CIFAR option-A shortcut, y[n, oy, ox, c] = x[n, oy*s, ox*s, c - pad]
//                 for pad <= c < pad + Cin, else 0.
// Invocation g: output pixel g / ceil(out_c / 4), channels 4 * (g % ceil(out_c / 4)) + 0..3;
// `groups` = output pixels × ceil(out_c / 4). Grid: 256 per workgroup, workgroups in (x, y).

struct LayoutParams {
    groups: u32,
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

// The invocation's output pixel and first channel.
struct Group { pix: u32, c0: u32 }

fn group(g: u32) -> Group {
    let c4s = (p.out_c + 3u) / 4u;
    return Group(g / c4s, (g % c4s) * 4u);
}

@compute @workgroup_size(256, 1, 1)
fn nchw_to_nhwc(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    let g = index(wid, nwg, lid);
    if (g >= p.groups) {
        return;
    }
    let at = group(g);
    let hw = p.in_h * p.in_w;
    let n = at.pix / hw;
    let r = at.pix % hw;
    let out = at.pix * p.out_c;
    for (var j = 0u; j < 4u; j++) {
        let c = at.c0 + j;
        if (c < p.out_c) {
            var v = 0.0;
            if (c < p.in_c) {
                v = x_nchw[(n * p.in_c + c) * hw + r];
            }
            y[out + c] = act(v);
        }
    }
}

@compute @workgroup_size(256, 1, 1)
fn shortcut_a(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
    let g = index(wid, nwg, lid);
    if (g >= p.groups) {
        return;
    }
    let at = group(g);
    let ohw = p.out_h * p.out_w;
    let n = at.pix / ohw;
    let r = at.pix % ohw;
    let iy = (r / p.out_w) * p.stride;
    let ix = (r % p.out_w) * p.stride;
    let src = ((n * p.in_h + iy) * p.in_w + ix) * p.in_c;
    let out = at.pix * p.out_c;
    for (var j = 0u; j < 4u; j++) {
        let c = at.c0 + j;
        if (c < p.out_c) {
            var v = act(0.0);
            if (c >= p.pad_before && c < p.pad_before + p.in_c) {
                v = x[src + (c - p.pad_before)];
            }
            y[out + c] = v;
        }
    }
}
