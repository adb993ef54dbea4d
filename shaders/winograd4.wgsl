// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, wino_params,
// wino_io, wino_out, write_step, acc16, wino4_math; validated in that form by tests/shaders.rs).
//
// The input and output transforms of Winograd F(4x4, 3x3) for 3x3 stride-1 convs over NHWC
// activations; the GEMM pass between them is winograd_sg.wgsl's, over 36 products:
//
//   input:  V[e][t][c] = (B^T d B)[e]   for the 6x6 input patch d of tile t (origin 4*ty - pt,
//           4*tx - pl; outside the image reads 0), e = 6*i + j indexing the 6x6 result;
//   gemm:   M[e][t][co] = sum over c of V[e][t][c] * U[e][c][co]   (36 independent GEMMs);
//   output: y[4*ty + a][4*tx + b][co] = (A^T M A)[a][b] + bias[co] (+ residual) (ReLU).
//
// with B^T = [[4,0,-5,0,1,0],[0,-4,-4,1,1,0],[0,4,-4,-1,1,0],[0,-2,-1,2,1,0],[0,2,-1,-2,1,0],
// [0,4,0,-5,0,1]], A^T = [[1,1,1,1,1,0],[0,1,-1,2,-2,0],[0,1,1,4,4,0],[0,1,-1,8,-8,1]] and the
// weights U = G g G^T transformed once at load time (src/gpu/kernels/winograd.rs has G and a
// test of the three matrices). A 4x4 output tile costs 36 multiplies per (c, co) instead of
// 144. Layouts: V [36][T][Cin/4] vec4; M [36][T][Cout16/4] vec4.

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
    let oy = i32(at.ty * 4u) - i32(p.pad_t);
    let ox = i32(at.tx * 4u) - i32(p.pad_l);
    // Rows: w[a][j] = (d B)[a][j], B^T applied along each patch row.
    var w: Patch36;
    for (var a = 0u; a < 6u; a++) {
        let y = oy + i32(a);
        put_row(&w, a, bt6(Six(input_at(n, y, ox, c4), input_at(n, y, ox + 1, c4),
                               input_at(n, y, ox + 2, c4), input_at(n, y, ox + 3, c4),
                               input_at(n, y, ox + 4, c4), input_at(n, y, ox + 5, c4))));
    }
    // Columns: V[i][j] = (B^T w)[i][j].
    let stride = p.tiles * p.in_c4;
    // Tile t's vec4 c4 is element t · Cin/4 + c4 = i of each product's plane.
    let base = i;
    for (var j = 0u; j < 6u; j++) {
        let v = bt6(column(&w, j));
        v_out[j * stride + base] = v.v0;
        v_out[(6u + j) * stride + base] = v.v1;
        v_out[(12u + j) * stride + base] = v.v2;
        v_out[(18u + j) * stride + base] = v.v3;
        v_out[(24u + j) * stride + base] = v.v4;
        v_out[(30u + j) * stride + base] = v.v5;
    }
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
    // Tile t's vec4 c4 is element t · Cout16/4 + c4 = i of each product's plane.
    let base = i;
    // Columns: q[a][j] = (A^T M)[a][j].
    var q: Rows24;
    for (var j = 0u; j < 6u; j++) {
        put_column(&q, j, at6(Six(m_in[j * stride + base], m_in[(6u + j) * stride + base],
                                  m_in[(12u + j) * stride + base],
                                  m_in[(18u + j) * stride + base],
                                  m_in[(24u + j) * stride + base],
                                  m_in[(30u + j) * stride + base])));
    }
    let n = at.n;
    let oy = at.ty * 4u;
    let ox = at.tx * 4u;
    let b = bias[c4];
    // Rows: y[a][b] = (q A)[a][b].
    for (var a = 0u; a < 4u; a++) {
        let y = at6(row(&q, a));
        write_pixel(n, oy + a, ox, c4, y.v0 + b);
        write_pixel(n, oy + a, ox + 1u, c4, y.v1 + b);
        write_pixel(n, oy + a, ox + 2u, c4, y.v2 + b);
        write_pixel(n, oy + a, ox + 3u, c4, y.v3 + b);
    }
}
