// Piece: what the subgroup implicit-GEMM conv kernels share (needs conv_io, conv_x4 and
// window): the addressing of the eight pixels m, m + 8, ..., m + 56 that one invocation
// computes per group of eight.

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

