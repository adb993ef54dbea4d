// Fragment (assembled by src/gpu/kernels/shaders.rs after the same pieces as conv_sg.wgsl;
// validated in that form by tests/shaders.rs). Needs the SUBGROUP feature and subgroups of at
// least 8 invocations.
//
// conv_sg.wgsl's implicit GEMM (the formula, layout and weight sharing are its) over blocks of
// 128 or 256 output channels instead of 64: an invocation computes its ROWS pixels × all
// 64 · col_groups channels, so each input vec4 it loads feeds col_groups times the FMAs, and
// the weights of each 64-channel group are broadcast as in conv_sg. Per 4 input channels:
// ROWS + 4 · col_groups loads (u64-pair weights) for ROWS · 256 · col_groups FMAs. Offered
// only in u64-pairs builds (src/gpu/kernels/conv.rs `ConvVariant::needs_u64_pairs`: with a
// load per vec4 llvmpipe compiles these for minutes).
// Entry points: `main` (ROWS = 2 · group_rows: 16 or 14) and `main8` (ROWS = group_rows: 8 or
// 7). Grid: x = blocks of 64 · col_groups channels, (y, z) = blocks of ROWS·8 pixels.
//
// Each step loads the pixels' input vec4s first, then runs the groups one after another over
// all pixels (group-major). Pixel-major (each pixel's input load followed by its FMAs in every
// group) compiled faster but ran 1.4× slower on lavapipe (BENCHMARKS.md, twelfth round).
// A separate file rather than a third pipeline constant of conv_sg.wgsl: there, the structs
// sized for four groups made even the 64-channel pipelines take 5× longer in lavapipe's NIR
// passes, though the unused groups fold away.

// 64-channel groups per workgroup: 2 or 4 (a pipeline constant, src/gpu/kernels/mod.rs
// `Kernel::constants`; with 2 the third and fourth groups fold away).
override col_groups: u32 = 2u;

// The group's pixels in 64-channel group cb (nothing past Cout: a block may end inside it).
fn store_rows_w(m: u32, cb: u32, r: Rows8) {
    if (cb < p.out_c4) {
        store_rows8(m, cb, r, load_bias(cb));
    }
}

// One pixel group's accumulators for each 64-channel group (g2, g3 unused with 2 groups).
struct Cols { g0: Rows8, g1: Rows8, g2: Rows8, g3: Rows8 }

fn zero_cols() -> Cols {
    let z = zero_rows8();
    return Cols(z, z, z, z);
}

// Weight rows row..row+3 of channel group g, from vec4 column cb + 16g (lane l loads).
fn share_group(row: u32, cb: u32, g: u32, l: u32) -> B64 {
    return share_rows(row, cb + 16u * g, l);
}

// r + xs · w[row..row+3][the block's channels] for one pixel group.
fn mac_cols(r: Cols, xs: X8, row: u32, cb: u32, l: u32) -> Cols {
    var o = r;
    o.g0 = mac_rows8(r.g0, xs, share_group(row, cb, 0u, l));
    o.g1 = mac_rows8(r.g1, xs, share_group(row, cb, 1u, l));
    if (col_groups > 2u) {
        o.g2 = mac_rows8(r.g2, xs, share_group(row, cb, 2u, l));
        o.g3 = mac_rows8(r.g3, xs, share_group(row, cb, 3u, l));
    }
    return o;
}

// The same for two pixel groups, each weight broadcast feeding both.
fn mac_cols2(lo: ptr<function, Cols>, hi: ptr<function, Cols>, xl: X8, xh: X8, row: u32,
             cb: u32, l: u32) {
    let b0 = share_group(row, cb, 0u, l);
    (*lo).g0 = mac_rows8((*lo).g0, xl, b0);
    (*hi).g0 = mac_rows8((*hi).g0, xh, b0);
    let b1 = share_group(row, cb, 1u, l);
    (*lo).g1 = mac_rows8((*lo).g1, xl, b1);
    (*hi).g1 = mac_rows8((*hi).g1, xh, b1);
    if (col_groups > 2u) {
        let b2 = share_group(row, cb, 2u, l);
        (*lo).g2 = mac_rows8((*lo).g2, xl, b2);
        (*hi).g2 = mac_rows8((*hi).g2, xh, b2);
        let b3 = share_group(row, cb, 3u, l);
        (*lo).g3 = mac_rows8((*lo).g3, xl, b3);
        (*hi).g3 = mac_rows8((*hi).g3, xh, b3);
    }
}

// Pixels m + 8i of every channel group (none past Cout).
fn store_cols(m: u32, cb: u32, r: Cols) {
    store_rows_w(m, cb, r.g0);
    store_rows_w(m, cb + 16u, r.g1);
    if (col_groups > 2u) {
        store_rows_w(m, cb + 32u, r.g2);
        store_rows_w(m, cb + 48u, r.g3);
    }
}

// ROWS = 2 · group_rows (16 or 14): pixels mb + l + 8i (i < ROWS) of a block of 8 · ROWS
// pixels, as two groups that share every weight row.
@compute @workgroup_size(8, 1, 1)
fn main(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 16u * col_groups;
    let mb = (wid.z * nwg.y + wid.y) * 16u * group_rows;
    // Uniform exits only: every lane takes part in the broadcasts.
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o_lo = origins8(m0);
    let o_hi = origins8(m0 + 8u * group_rows);
    var r_lo = zero_cols();
    var r_hi = zero_cols();
    let cin4 = p.in_c / 4u;
    var row = 0u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t_lo = taps8(o_lo, ky, kx, cin4);
            let t_hi = taps8(o_hi, ky, kx, cin4);
            for (var c = 0u; c < cin4; c++) {
                mac_cols2(&r_lo, &r_hi, load_x8(t_lo, c), load_x8(t_hi, c), row, cb, l);
                row += 4u;
            }
        }
    }
    store_cols(m0, cb, r_lo);
    store_cols(m0 + 8u * group_rows, cb, r_hi);
}

// ROWS = group_rows (8 or 7): one group, a block of 64 or 56 pixels, for maps too small to
// fill the larger blocks (7 x 7 at batch 1).
@compute @workgroup_size(8, 1, 1)
fn main8(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 16u * col_groups;
    let mb = (wid.z * nwg.y + wid.y) * 8u * group_rows;
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o = origins8(m0);
    var r = zero_cols();
    let cin4 = p.in_c / 4u;
    var row = 0u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t = taps8(o, ky, kx, cin4);
            for (var c = 0u; c < cin4; c++) {
                r = mac_cols(r, load_x8(t, c), row, cb, l);
                row += 4u;
            }
        }
    }
    store_cols(m0, cb, r);
}
