// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, u64_pairs,
// wino_params, wino_pairs, wino4_math; validated in that form by tests/shaders.rs). f32
// builds with u64 pairs only.
//
// Winograd F(4x4, 3x3)'s input transform (shaders/winograd4.wgsl has the formula) over 8
// channels per invocation, Cin % 8 == 0: each of the 36 patch loads and 36 stores of V moves
// a `vec4<u64>` where the vec4 transform moves a vec4, half the accesses per channel.

// B^T applied to six 8-channel values, the halves one after the other.
struct Six8 { a: Six, b: Six }

fn bt6x8(r0: Eight, r1: Eight, r2: Eight, r3: Eight, r4: Eight, r5: Eight) -> Six8 {
    return Six8(bt6(Six(r0.a, r1.a, r2.a, r3.a, r4.a, r5.a)),
                bt6(Six(r0.b, r1.b, r2.b, r3.b, r4.b, r5.b)));
}

// One invocation per (tile, 8 channels).
@compute @workgroup_size(64, 1, 1)
fn input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let per_tile = p.in_c4 / 2u;
    let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if (i >= p.tiles * per_tile) {
        return;
    }
    let at = tile_at(i, per_tile);
    let c8 = at.c4;
    let n = at.n;
    let oy = i32(at.ty * 4u) - i32(p.pad_t);
    let ox = i32(at.tx * 4u) - i32(p.pad_l);
    // Rows: (d B) of each patch row, lower and upper four channels.
    var lo: Patch36;
    var hi: Patch36;
    for (var a = 0u; a < 6u; a++) {
        let y = oy + i32(a);
        let s = bt6x8(input8_at(n, y, ox, c8), input8_at(n, y, ox + 1, c8),
                      input8_at(n, y, ox + 2, c8), input8_at(n, y, ox + 3, c8),
                      input8_at(n, y, ox + 4, c8), input8_at(n, y, ox + 5, c8));
        put_row(&lo, a, s.a);
        put_row(&hi, a, s.b);
    }
    // Columns: V[i][j] = (B^T w)[i][j]; tile t's column c8 is element i of each plane.
    let stride = p.tiles * per_tile;
    for (var j = 0u; j < 6u; j++) {
        let v = bt6(column(&lo, j));
        let u = bt6(column(&hi, j));
        v_out[j * stride + i] = pack8(v.v0, u.v0);
        v_out[(6u + j) * stride + i] = pack8(v.v1, u.v1);
        v_out[(12u + j) * stride + i] = pack8(v.v2, u.v2);
        v_out[(18u + j) * stride + i] = pack8(v.v3, u.v3);
        v_out[(24u + j) * stride + i] = pack8(v.v4, u.v4);
        v_out[(30u + j) * stride + i] = pack8(v.v5, u.v5);
    }
}
