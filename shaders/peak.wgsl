// Device roofline probes (f32 arithmetic and memory bandwidth).
//
// fma_x2 / fma_x8: every invocation runs `iters` loop trips; a trip advances each of its 2 or 8
// independent vec4 accumulators by 8 dependent steps a = fma(a, b, c). FLOPs per invocation:
// iters * 8 steps * ACC accumulators * 4 lanes * 2. The accumulators are independent chains so
// the hardware can overlap them (instruction-level parallelism); two widths exist because a CPU
// driver (8 lanes per register, 16-32 registers) wants few chains and a GPU wants many.
// b and c come from a uniform, so nothing folds at compile time; with 0 < b < 1 every chain
// converges to c / (1 - b) and stays a normal number (denormals would slow CPUs down).
// The sum of the accumulators is written out so that no work is dead.
//
// copy: dst[i] = src[i] over vec4<f32>; invocation t copies elements t + k * stride for
// k < per_thread (consecutive invocations touch consecutive addresses). Bytes moved per copy:
// 2 * 16 * count.

struct FmaParams {
    iters: u32,
    b: f32,
    c: f32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> fma_out: array<f32>;
@group(0) @binding(1) var<uniform> fp: FmaParams;

fn start(gid: u32) -> vec4<f32> {
    let s = f32(gid & 1023u) * 1e-4;
    return vec4<f32>(s, s + 0.125, s + 0.25, s + 0.375);
}

// Eight dependent steps on one accumulator.
fn steps8(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>) -> vec4<f32> {
    let x = fma(fma(fma(fma(a, b, c), b, c), b, c), b, c);
    return fma(fma(fma(fma(x, b, c), b, c), b, c), b, c);
}

@compute @workgroup_size(256, 1, 1)
fn fma_x2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = vec4<f32>(fp.b);
    let c = vec4<f32>(fp.c);
    var a0 = start(gid.x);
    var a1 = a0 + 0.5;
    for (var i = 0u; i < fp.iters; i++) {
        a0 = steps8(a0, b, c);
        a1 = steps8(a1, b, c);
    }
    fma_out[gid.x] = dot(a0 + a1, vec4<f32>(1.0));
}

@compute @workgroup_size(256, 1, 1)
fn fma_x8(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = vec4<f32>(fp.b);
    let c = vec4<f32>(fp.c);
    var a0 = start(gid.x);
    var a1 = a0 + 0.5;
    var a2 = a0 + 1.0;
    var a3 = a0 + 1.5;
    var a4 = a0 + 2.0;
    var a5 = a0 + 2.5;
    var a6 = a0 + 3.0;
    var a7 = a0 + 3.5;
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
    fma_out[gid.x] = dot(s, vec4<f32>(1.0));
}

struct CopyParams {
    count: u32,
    stride: u32,
    per_thread: u32,
    _pad: u32,
}

@group(0) @binding(2) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> cp: CopyParams;

@compute @workgroup_size(256, 1, 1)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let t = (wid.y * nwg.x + wid.x) * 256u + lid;
    for (var k = 0u; k < cp.per_thread; k++) {
        let i = t + k * cp.stride;
        if (i < cp.count) {
            dst[i] = src[i];
        }
    }
}
