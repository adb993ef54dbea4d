// Device roofline probe for f16 arithmetic (needs the SHADER_F16 feature).
//
// The same scheme as peak.wgsl's fma_x2 / fma_x8, on vec4<f16> accumulators: every invocation
// runs `iters` loop trips of 8 dependent steps a = fma(a, b, c) on ACC independent
// accumulators; FLOPs per invocation: iters * 8 * ACC * 4 * 2. b and c arrive as f32 in a
// uniform and are converted once; with b = 0.875, c = 0.125 the chains converge to 1.0, which
// f16 represents exactly (no overflow, no subnormals).

enable f16;

struct FmaParams {
    iters: u32,
    b: f32,
    c: f32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> fma_out: array<f32>;
@group(0) @binding(1) var<uniform> fp: FmaParams;

fn start(gid: u32) -> vec4<f16> {
    let s = f16(f32(gid & 1023u) * 1e-4);
    return vec4<f16>(s, s + 0.125h, s + 0.25h, s + 0.375h);
}

fn steps8(a: vec4<f16>, b: vec4<f16>, c: vec4<f16>) -> vec4<f16> {
    let x = fma(fma(fma(fma(a, b, c), b, c), b, c), b, c);
    return fma(fma(fma(fma(x, b, c), b, c), b, c), b, c);
}

@compute @workgroup_size(256, 1, 1)
fn fma_x2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = vec4<f16>(f16(fp.b));
    let c = vec4<f16>(f16(fp.c));
    var a0 = start(gid.x);
    var a1 = a0 + 0.5h;
    for (var i = 0u; i < fp.iters; i++) {
        a0 = steps8(a0, b, c);
        a1 = steps8(a1, b, c);
    }
    fma_out[gid.x] = dot(vec4<f32>(a0 + a1), vec4<f32>(1.0));
}

@compute @workgroup_size(256, 1, 1)
fn fma_x8(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = vec4<f16>(f16(fp.b));
    let c = vec4<f16>(f16(fp.c));
    var a0 = start(gid.x);
    var a1 = a0 + 0.5h;
    var a2 = a0 + 1.0h;
    var a3 = a0 + 1.5h;
    var a4 = a0 + 2.0h;
    var a5 = a0 + 2.5h;
    var a6 = a0 + 3.0h;
    var a7 = a0 + 3.5h;
    for (var i = 0u; i < fp.iters; i++) {
        a0 = steps8(a0, b, c);
        a1 = steps8(a1, b, c);
        a2 = steps8(a2, b, c);
        a3 = steps8(a3, b, c);
        a4 = steps8(a4, b, c);
        a5 = steps8(a5, b, c);
        a6 = steps8(a6, b, c);
        a7 = steps8(a7, b, c);
    }
    let s = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7);
    fma_out[gid.x] = dot(vec4<f32>(s), vec4<f32>(1.0));
}
