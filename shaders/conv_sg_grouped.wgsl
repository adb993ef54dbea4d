// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store, sg_tile, sg64, sg_w16; validated in that form by
// tests/shaders.rs). Needs the SUBGROUP feature and subgroups of at least 8 invocations.
//
// Grouped conv (G = p.groups groups of Cin/G input and Cout/G output channels; ResNeXt's 3×3s)
// as the narrow subgroup implicit GEMM of conv_sg_narrow.wgsl over 16-output-channel blocks:
//
//   acc[m][co] = sum over (ky, kx, c < S) of
//                x[n, oy*sh + ky - pt, ox*sw + kx - pl, first(b) + c] * wb[ky][kx][c][co]
//   y[m][co]   = acc + bias[co] (+ residual[m][co]) (ReLU)          (the fused write step)
//
// Block b (output channels 16b .. 16b + 15) reads the S = Cin/G · max(1, 16 / (Cout/G)) input
// channels from first(b) = (16b / (Cout/G)) · Cin/G: its own group's where a group spans whole
// blocks (Cout/G a multiple of 16), else those of the 16 / (Cout/G) groups it holds. The
// weights are block-dense (src/gpu/kernels/conv_grouped_sg.rs `pack_blocks`): rows
// (ky·KW + kx)·S + c of Cout padded to 16, with 0 where input channel first(b) + c and output
// channel co are in different groups; so every block is a dense 16-column GEMM of K = KH·KW·S
// (Cout/G = 4 and 8 multiply 4× and 2× the useful FMAs; on CPU drivers the loads, which are
// the same as exact per-group sums would issue, decide).
// Needs Cin/G % 4 == 0, Cout % 16 == 0, Cout/G dividing 16 or a multiple of it, no dilation.
//
// A workgroup is 8 invocations (lanes 0..7 of a subgroup); invocation l computes pixels
// mb + 8i + l (i < ROWS) × the block's 16 channels. The 4 × 16 weights of every 4 input
// channels are loaded once per subgroup (lane l: column l % 4 of rows l / 4 and 2 + l / 4) and
// shared with subgroupBroadcast. Entry points: `main` (ROWS = 32, 256 pixels per workgroup)
// and `main8` (ROWS = 8, 64 pixels, for small maps). Grid: x = 16-channel blocks, (y, z) =
// pixel blocks.

// The input channels block `cb` (its first vec4 column) reads, in vec4s: `span4` per pixel
// from `first4`.
struct Span { first4: u32, span4: u32 }

fn block_span(cb: u32) -> Span {
    let cin_g = p.in_c / p.groups;
    let cout_g = p.out_c / p.groups;
    let first = (cb * 4u / cout_g) * cin_g;
    return Span(first / 4u, cin_g * max(1u, 16u / cout_g) / 4u);
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
    let g = block_span(cb);
    let steps = k_steps(g.span4);
    var at = Step(0u, 0u, 0u);
    var t0 = taps8(o0, 0u, 0u, cin4);
    var t1 = taps8(o1, 0u, 0u, cin4);
    var t2 = taps8(o2, 0u, 0u, cin4);
    var t3 = taps8(o3, 0u, 0u, cin4);
    for (var s = 0u; s < steps; s++) {
        let wt = share_w16(s * 4u, cb, l);
        let c = g.first4 + at.c;
        r0 = mac_rows8x16(r0, t0, c, wt);
        r1 = mac_rows8x16(r1, t1, c, wt);
        r2 = mac_rows8x16(r2, t2, c, wt);
        r3 = mac_rows8x16(r3, t3, c, wt);
        at = next_step(at, g.span4);
        if (at.c == 0u) {
            t0 = taps8(o0, at.ky, at.kx, cin4);
            t1 = taps8(o1, at.ky, at.kx, cin4);
            t2 = taps8(o2, at.ky, at.kx, cin4);
            t3 = taps8(o3, at.ky, at.kx, cin4);
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
    let g = block_span(cb);
    let steps = k_steps(g.span4);
    var at = Step(0u, 0u, 0u);
    var t = taps8(o, 0u, 0u, cin4);
    for (var s = 0u; s < steps; s++) {
        r = mac_rows8x16(r, t, g.first4 + at.c, share_w16(s * 4u, cb, l));
        at = next_step(at, g.span4);
        if (at.c == 0u) {
            t = taps8(o, at.ky, at.kx, cin4);
        }
    }
    store_rows8x16(m0, cb, r, load_bias16(cb));
}
