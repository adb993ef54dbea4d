// Piece: what the subgroup implicit-GEMM conv kernels share (needs conv_io, conv_x4, window
// and sg64): the addressing of the eight pixels m, m + 8, ..., m + 56 that one invocation
// computes per group of eight, their input loads, and the walk over the K steps.

// Eight pixels' window origins, and their input offsets under one tap.
struct Origins8 {
    o0: vec3<i32>, o1: vec3<i32>, o2: vec3<i32>, o3: vec3<i32>,
    o4: vec3<i32>, o5: vec3<i32>, o6: vec3<i32>, o7: vec3<i32>,
}
struct Taps8 { t0: i32, t1: i32, t2: i32, t3: i32, t4: i32, t5: i32, t6: i32, t7: i32 }

fn origins8(m: u32) -> Origins8 {
    return Origins8(origin(m), origin(m + 8u), origin(m + 16u), origin(m + 24u),
                    origin(m + 32u), origin(m + 40u), origin(m + 48u), origin(m + 56u));
}

fn taps8(o: Origins8, ky: u32, kx: u32, cin4: u32) -> Taps8 {
    return Taps8(tap(o.o0, ky, kx, cin4), tap(o.o1, ky, kx, cin4), tap(o.o2, ky, kx, cin4),
                 tap(o.o3, ky, kx, cin4), tap(o.o4, ky, kx, cin4), tap(o.o5, ky, kx, cin4),
                 tap(o.o6, ky, kx, cin4), tap(o.o7, ky, kx, cin4));
}

// Input vec4 c at the eight bases of `t` (sg64's `X8`), all loaded before any of them is
// used: loads interleaved with the multiply-adds that use them ran as fast on Mesa 22.3's
// lavapipe and up to 2.5× slower on Mesa 25's (BENCHMARKS.md, twenty-second to twenty-fourth
// rounds).
fn load8(t: Taps8, c: u32) -> X8 {
    return X8(load_x(t.t0, c), load_x(t.t1, c), load_x(t.t2, c), load_x(t.t3, c),
              load_x(t.t4, c), load_x(t.t5, c), load_x(t.t6, c), load_x(t.t7, c));
}

// Where an implicit GEMM's K loop is: step s (weight rows 4s..4s+3) of `k_steps` is input
// vec4 c of tap (ky, kx), the taps in row-major order and the vec4s of each tap in turn,
// starting from Step(0, 0, 0). The stem's subgroup GEMM, the narrow tiles and the row strips
// run one flat loop over the steps, advancing the tap when its vec4s are done, instead of
// loops over ky, kx and c: with few input channels (a stem's one vec4 per tap) the nested
// loops cost lavapipe as much as the arithmetic (resnet50's stem took 0.55–0.6 of its time
// flat, BENCHMARKS.md). The 64-channel-block GEMMs and the grouped ones nest their loops
// (conv_sg.wgsl says why).
struct Step { c: u32, ky: u32, kx: u32 }

// KH · KW · Cin/4.
fn k_steps(cin4: u32) -> u32 {
    return p.k_h * p.k_w * cin4;
}

fn next_step(at: Step, cin4: u32) -> Step {
    var n = at;
    n.c += 1u;
    if (n.c == cin4) {
        n.c = 0u;
        n.kx += 1u;
        if (n.kx == p.k_w) {
            n.kx = 0u;
            n.ky += 1u;
        }
    }
    return n;
}
