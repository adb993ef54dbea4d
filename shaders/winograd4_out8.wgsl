// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, u64_pairs,
// wino_params, wino_pairs, wino_out, write_step, out_pairs, wino4_math; validated in that form
// by tests/shaders.rs). f32 builds with u64 pairs only.
//
// Winograd F(4x4, 3x3)'s output transform (shaders/winograd4.wgsl has the formula) and the
// fused write step over 8 channels per invocation, Cout % 8 == 0: each of the 36 loads of M
// and the 16 pixel stores (with their residual loads) moves a `vec4<u64>`.

// One invocation per (tile, 8 output channels): Y = A^T M A, then the write step.
@compute @workgroup_size(64, 1, 1)
fn output(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    init_write();
    let per_tile = p.out_c4 / 2u;
    let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if (i >= p.tiles * per_tile) {
        return;
    }
    let at = tile_at(i, per_tile);
    let c4 = 2u * at.c4;
    let stride = p.tiles * per_tile;
    // Columns: (A^T M) of each of the six columns, lower and upper four channels.
    var lo: Rows24;
    var hi: Rows24;
    for (var j = 0u; j < 6u; j++) {
        let m0 = unpack8(m_in[j * stride + i]);
        let m1 = unpack8(m_in[(6u + j) * stride + i]);
        let m2 = unpack8(m_in[(12u + j) * stride + i]);
        let m3 = unpack8(m_in[(18u + j) * stride + i]);
        let m4 = unpack8(m_in[(24u + j) * stride + i]);
        let m5 = unpack8(m_in[(30u + j) * stride + i]);
        put_column(&lo, j, at6(Six(m0.a, m1.a, m2.a, m3.a, m4.a, m5.a)));
        put_column(&hi, j, at6(Six(m0.b, m1.b, m2.b, m3.b, m4.b, m5.b)));
    }
    let n = at.n;
    let oy = at.ty * 4u;
    let ox = at.tx * 4u;
    let ba = bias[c4];
    let bb = bias[c4 + 1u];
    // Rows: y[a][b] = (q A)[a][b].
    for (var a = 0u; a < 4u; a++) {
        let ya = at6(row(&lo, a));
        let yb = at6(row(&hi, a));
        write_pixel8(n, oy + a, ox, c4, ya.v0 + ba, yb.v0 + bb);
        write_pixel8(n, oy + a, ox + 1u, c4, ya.v1 + ba, yb.v1 + bb);
        write_pixel8(n, oy + a, ox + 2u, c4, ya.v2 + ba, yb.v2 + bb);
        write_pixel8(n, oy + a, ox + 3u, c4, ya.v3 + ba, yb.v3 + bb);
    }
}
