// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, wino_params,
// wino_io, wino_out, write_step, acc16; validated in that form by tests/shaders.rs).
//
// Winograd F(2x2, 3x3) for 3x3 stride-1 convs over NHWC activations, in three passes:
//
//   input:  V[e][t][c] = (B^T d B)[e]   for every 4x4 input patch d of tile t (origin 2*ty - pt,
//           2*tx - pl; outside the image reads 0), e = 4*i + j indexing the 4x4 result;
//   gemm:   M[e][t][co] = sum over c of V[e][t][c] * U[e][c][co]   (16 independent GEMMs);
//   output: y[2*ty + a][2*tx + b][co] = (A^T M A)[a][b] + bias[co] (+ residual) (ReLU).
//
// with B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]], A^T = [[1,1,1,0],[0,1,-1,-1]] and
// the weights U = G g G^T transformed once at load time (G = [[1,0,0],[.5,.5,.5],[.5,-.5,.5],[0,0,1]]).
// A 2x2 output tile costs 16 multiplies per (c, co) instead of 36. Channels move as vec4, so
// Cin and Cout are multiples of 4 here (Cout padded to 16 in U and M).
// Layouts: V [16][T][Cin/4] vec4; U [16][Cin][Cout16/4] vec4; M [16][T][Cout16/4] vec4.

// One invocation per (tile, 4 channels).
@compute @workgroup_size(64, 1, 1)
fn input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if (i >= p.tiles * p.in_c4) {
        return;
    }
    let at = tile_at(i, p.in_c4);
    let c4 = at.c4;
    let n = at.n;
    let oy = i32(at.ty * 2u) - i32(p.pad_t);
    let ox = i32(at.tx * 2u) - i32(p.pad_l);
    var d: array<vec4<f32>, 16>;
    for (var a = 0; a < 4; a++) {
        for (var b = 0; b < 4; b++) {
            d[a * 4 + b] = input_at(n, oy + a, ox + b, c4);
        }
    }
    // Rows: s = B^T d.
    var s: array<vec4<f32>, 16>;
    for (var b = 0; b < 4; b++) {
        s[b] = d[b] - d[8 + b];
        s[4 + b] = d[4 + b] + d[8 + b];
        s[8 + b] = d[8 + b] - d[4 + b];
        s[12 + b] = d[4 + b] - d[12 + b];
    }
    // Columns: V = s B.
    let stride = p.tiles * p.in_c4;
    // Tile t's vec4 c4 is element t · Cin/4 + c4 = i of each product's plane.
    let base = i;
    for (var a = 0u; a < 4u; a++) {
        let r0 = s[a * 4u];
        let r1 = s[a * 4u + 1u];
        let r2 = s[a * 4u + 2u];
        let r3 = s[a * 4u + 3u];
        v_out[(a * 4u) * stride + base] = r0 - r2;
        v_out[(a * 4u + 1u) * stride + base] = r1 + r2;
        v_out[(a * 4u + 2u) * stride + base] = r2 - r1;
        v_out[(a * 4u + 3u) * stride + base] = r1 - r3;
    }
}

// 8 tiles x 16 output channels per invocation; workgroup z is e.
@compute @workgroup_size(8, 8, 1)
fn gemm(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let c4 = (wid.x * 8u + lid.y) * 4u;
    let t0 = (wid.y * 8u + lid.x) * 8u;
    let e = wid.z;
    if (c4 >= p.out_c4 || t0 >= p.tiles) {
        return;
    }
    var a0 = zero(); var a1 = zero(); var a2 = zero(); var a3 = zero();
    var a4 = zero(); var a5 = zero(); var a6 = zero(); var a7 = zero();
    for (var c = 0u; c < p.in_c4; c++) {
        let wt = load_w16(e * p.in_c4 * 4u + c * 4u, c4);
        a0 = mac(a0, load_v(e, t0, c), wt); a1 = mac(a1, load_v(e, t0 + 1u, c), wt);
        a2 = mac(a2, load_v(e, t0 + 2u, c), wt); a3 = mac(a3, load_v(e, t0 + 3u, c), wt);
        a4 = mac(a4, load_v(e, t0 + 4u, c), wt); a5 = mac(a5, load_v(e, t0 + 5u, c), wt);
        a6 = mac(a6, load_v(e, t0 + 6u, c), wt); a7 = mac(a7, load_v(e, t0 + 7u, c), wt);
    }
    store_m(e, t0, c4, a0); store_m(e, t0 + 1u, c4, a1); store_m(e, t0 + 2u, c4, a2);
    store_m(e, t0 + 3u, c4, a3); store_m(e, t0 + 4u, c4, a4); store_m(e, t0 + 5u, c4, a5);
    store_m(e, t0 + 6u, c4, a6); store_m(e, t0 + 7u, c4, a7);
}

// One invocation per (tile, 4 output channels): Y = A^T M A, then the fused write step.
@compute @workgroup_size(64, 1, 1)
fn output(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    init_write();
    let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if (i >= p.tiles * p.out_c4) {
        return;
    }
    let at = tile_at(i, p.out_c4);
    let c4 = at.c4;
    let stride = p.tiles * p.out_c4;
    var m: array<vec4<f32>, 16>;
    for (var e = 0u; e < 16u; e++) {
        m[e] = m_in[e * stride + i];
    }
    // Rows: q = A^T m (2 x 4).
    var q: array<vec4<f32>, 8>;
    for (var b = 0; b < 4; b++) {
        q[b] = m[b] + m[4 + b] + m[8 + b];
        q[4 + b] = m[4 + b] - m[8 + b] - m[12 + b];
    }
    let n = at.n;
    let oy = at.ty * 2u;
    let ox = at.tx * 2u;
    let b = bias[c4];
    for (var a = 0u; a < 2u; a++) {
        let r0 = q[a * 4u];
        let r1 = q[a * 4u + 1u];
        let r2 = q[a * 4u + 2u];
        let r3 = q[a * 4u + 3u];
        write_pixel(n, oy + a, ox, c4, r0 + r1 + r2 + b);
        write_pixel(n, oy + a, ox + 1u, c4, r1 - r2 - r3 + b);
    }
}
