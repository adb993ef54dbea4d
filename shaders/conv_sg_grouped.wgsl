// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store, sg64, sg_tile, sg_w16; validated in that form by
// tests/shaders.rs). Needs the SUBGROUP feature and subgroups of at least 8 invocations.
//
// Grouped conv (G = p.groups groups of Cin/G input and Cout/G output channels; ResNeXt's 3×3s)
// as the narrow subgroup implicit GEMM over 16-output-channel blocks (conv_sg_narrow.wgsl has
// the 32-channel one). A plain conv is one group (G = 1, `block_groups` 1): `main` then is the
// 16-channel subgroup GEMM `sg_gemm_c16` (ResNet-20's 16-channel layers):
//
//   acc[m][co] = sum over (ky, kx, c < Cin/G) of
//                x[n, oy*sh + ky - pt, ox*sw + kx - pl, g*Cin/G + c] * w[ky][kx][c][co]
//                (g = co / (Cout/G), co's group)
//   y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)          (the fused write step)
//
// Each block holds whole groups, or each group whole blocks: the pipeline constant
// `block_groups` is 16 / (Cout/G) where Cout/G is 4 or 8 (4 or 2 groups per block), 1 where
// Cout/G is a multiple of 16. Block b's groups read the block_groups · Cin/G input channels
// from first(b) = (16b / (Cout/G)) · Cin/G on. The weights are the packed HWIO ones (rows
// (ky·KW + kx)·Cin/G + c of Cout padded to 16): weight rows 4s .. 4s + 3 hold input channels
// 4k .. 4k + 3 of every group of the block (step s = (tap, k)), each group in its own columns.
// So per step a pixel loads one input vec4 per group of the block, and each output vec4 takes
// the four rows of its own group's vec4: the block is block-diagonal and only its nonzero
// products are computed (64 FMAs per step and pixel whatever the groups).
// Needs Cin/G % 4 == 0 and no dilation; for G > 1 also Cout % 16 == 0 and Cout/G of 4, 8 or a
// multiple of 16 (G = 1 takes any Cout, padded to 16).
//
// A workgroup is 8 invocations (lanes 0..7 of a subgroup); invocation l computes pixels
// mb + 8i + l (i < ROWS) × the block's 16 channels. The 4 × 16 weights of every step are
// loaded once per subgroup (lane l: column l % 4 of rows l / 4 and 2 + l / 4) and shared
// with subgroupBroadcast. The K steps run as loops over the taps around a loop over the
// group's input vec4s, and each step loads its eight pixels' input vec4s before their
// multiply-adds, as conv_sg.wgsl does and for its reason (Mesa 25's lavapipe: resnext50's
// grouped layers took 0.56–0.96 of their time there, Mesa 22.3's about the same;
// BENCHMARKS.md, twenty-third round).
// Entry points: `main` (ROWS = 32, 256 pixels per workgroup) and `main8` (ROWS = 8, 64
// pixels, for small maps). Grid: x = 16-channel blocks, (y, z) = pixel blocks.

// Groups per 16-channel block: 1, 2 or 4.
override block_groups: u32 = 1u;

// One pixel's input vec4s at a step: vec4 `c` of each of the block's groups (g1..g3 only as
// block_groups has them).
struct XB { g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>, g3: vec4<f32> }
// The eight pixels' XBs.
struct XB8 { p0: XB, p1: XB, p2: XB, p3: XB, p4: XB, p5: XB, p6: XB, p7: XB }

// The block's input vec4s for one pixel (tap base `t`, input vec4 `c` of the block's first
// group), its groups `cg4` = Cin/G / 4 vec4s apart in the input.
fn load_block(t: i32, c: u32, cg4: u32) -> XB {
    var v = XB(load_x(t, c), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    if (block_groups > 1u) {
        v.g1 = load_x(t, c + cg4);
    }
    if (block_groups > 2u) {
        v.g2 = load_x(t, c + 2u * cg4);
        v.g3 = load_x(t, c + 3u * cg4);
    }
    return v;
}

// The eight pixels' input vec4s, all loaded before any of them is used (as sg_block's
// `load_x8`, for Mesa 25's lavapipe).
fn load_block8(t: Taps8, c: u32, cg4: u32) -> XB8 {
    return XB8(load_block(t.t0, c, cg4), load_block(t.t1, c, cg4), load_block(t.t2, c, cg4),
               load_block(t.t3, c, cg4), load_block(t.t4, c, cg4), load_block(t.t5, c, cg4),
               load_block(t.t6, c, cg4), load_block(t.t7, c, cg4));
}

// a + v · wt for one pixel: each output vec4 takes its own group's input vec4.
fn mac_block(a: Acc, v: XB, wt: W16) -> Acc {
    if (block_groups == 1u) {
        return mac(a, v.g0, wt);
    }
    if (block_groups == 2u) {
        return Acc(mac4(a.c0, v.g0, wt.r0.c0, wt.r1.c0, wt.r2.c0, wt.r3.c0),
                   mac4(a.c1, v.g0, wt.r0.c1, wt.r1.c1, wt.r2.c1, wt.r3.c1),
                   mac4(a.c2, v.g1, wt.r0.c2, wt.r1.c2, wt.r2.c2, wt.r3.c2),
                   mac4(a.c3, v.g1, wt.r0.c3, wt.r1.c3, wt.r2.c3, wt.r3.c3));
    }
    return Acc(mac4(a.c0, v.g0, wt.r0.c0, wt.r1.c0, wt.r2.c0, wt.r3.c0),
               mac4(a.c1, v.g1, wt.r0.c1, wt.r1.c1, wt.r2.c1, wt.r3.c1),
               mac4(a.c2, v.g2, wt.r0.c2, wt.r1.c2, wt.r2.c2, wt.r3.c2),
               mac4(a.c3, v.g3, wt.r0.c3, wt.r1.c3, wt.r2.c3, wt.r3.c3));
}

// r + xs · wt for the eight pixels.
fn mac_block8(r: Rows8x16, xs: XB8, wt: W16) -> Rows8x16 {
    return Rows8x16(mac_block(r.a0, xs.p0, wt), mac_block(r.a1, xs.p1, wt),
                    mac_block(r.a2, xs.p2, wt), mac_block(r.a3, xs.p3, wt),
                    mac_block(r.a4, xs.p4, wt), mac_block(r.a5, xs.p5, wt),
                    mac_block(r.a6, xs.p6, wt), mac_block(r.a7, xs.p7, wt));
}

// Block `cb`'s (its first vec4 column) first input vec4.
fn block_first4(cb: u32) -> u32 {
    let cin_g = p.in_c / p.groups;
    return (cb * 4u / (p.out_c / p.groups)) * cin_g / 4u;
}

// ROWS = 32: four groups of eight pixels share every weight row.
@compute @workgroup_size(8, 1, 1)
fn main(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 4u;
    let mb = (wid.z * nwg.y + wid.y) * 256u;
    // Uniform exits only: every lane takes part in the broadcasts.
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o0 = origins8(m0);
    let o1 = origins8(m0 + 64u);
    let o2 = origins8(m0 + 128u);
    let o3 = origins8(m0 + 192u);
    var r0 = zero_rows8x16();
    var r1 = zero_rows8x16();
    var r2 = zero_rows8x16();
    var r3 = zero_rows8x16();
    let cin4 = p.in_c / 4u;
    let cg4 = p.in_c / p.groups / 4u;
    let first4 = block_first4(cb);
    var row = 0u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t0 = taps8(o0, ky, kx, cin4);
            let t1 = taps8(o1, ky, kx, cin4);
            let t2 = taps8(o2, ky, kx, cin4);
            let t3 = taps8(o3, ky, kx, cin4);
            for (var k = 0u; k < cg4; k++) {
                let wt = share_w16(row, cb, l);
                let c = first4 + k;
                r0 = mac_block8(r0, load_block8(t0, c, cg4), wt);
                r1 = mac_block8(r1, load_block8(t1, c, cg4), wt);
                r2 = mac_block8(r2, load_block8(t2, c, cg4), wt);
                r3 = mac_block8(r3, load_block8(t3, c, cg4), wt);
                row += 4u;
            }
        }
    }
    let b = load_bias16(cb);
    store_rows8x16(m0, cb, r0, b);
    store_rows8x16(m0 + 64u, cb, r1, b);
    store_rows8x16(m0 + 128u, cb, r2, b);
    store_rows8x16(m0 + 192u, cb, r3, b);
}

// ROWS = 8: one group of eight pixels (maps too small for 256-pixel blocks).
@compute @workgroup_size(8, 1, 1)
fn main8(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 4u;
    let mb = (wid.z * nwg.y + wid.y) * 64u;
    if (cb >= p.out_c4 || mb >= pixels()) {
        return;
    }
    let l = lane % 8u;
    let m0 = mb + li;
    let o = origins8(m0);
    var r = zero_rows8x16();
    let cin4 = p.in_c / 4u;
    let cg4 = p.in_c / p.groups / 4u;
    let first4 = block_first4(cb);
    var row = 0u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        for (var kx = 0u; kx < p.k_w; kx++) {
            let t = taps8(o, ky, kx, cin4);
            for (var k = 0u; k < cg4; k++) {
                r = mac_block8(r, load_block8(t, first4 + k, cg4), share_w16(row, cb, l));
                row += 4u;
            }
        }
    }
    store_rows8x16(m0, cb, r, load_bias16(cb));
}
