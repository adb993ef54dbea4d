// Fragment (assembled by src/gpu/kernels/shaders.rs after the pieces prelude, conv_io, conv_x4,
// window, write_step, acc16, conv_store, sg64, sg_tile, sg_w16; validated in that form by
// tests/shaders.rs). Needs the SUBGROUP feature and subgroups of at least 8 invocations.
//
// 3×3 stride-1 conv (Cin % 4 == 0, any padding) over few output channels, each invocation one
// strip of S consecutive output pixels of one output row:
//
//   acc[ox][co] = sum over (ky, kx, ci) of x[n, oy + ky - pt, ox + kx - pl, ci] * w[ky][kx][ci][co]
//   y[ox][co]   = acc + bias[co] (+ residual) (ReLU)                   (the fused write step)
//
// The three taps of a kernel row read overlapping input columns: output ox reads columns
// ox - pl + kx, kx = 0, 1, 2. So per kernel row and 4 input channels an invocation loads the
// strip's S + 2 input vec4s once and uses each for up to 3 outputs, and the 3 × 4 × CH
// weights are loaded once per subgroup and broadcast (sg_w16). Per 4 input channels and kernel
// row: S + 2 input loads and 3·CH/16·2 weight loads feed 3 · S · CH · 4 FMAs; the implicit GEMM
// (conv_sg_narrow) issues 3 · (S + CH/8) loads for the same work.
//
//   `s16`: CH = 16 (4 vec4 columns), S = 32 as four runs of eight pixels;
//   `s32`: CH = 32 (8 vec4 columns), S = 16 as two runs of eight, each with both halves;
//   `g16`: grouped convs of 4 output channels per group (at the end of the file).
//
// Both keep 128 vec4 accumulators per invocation, as conv_sg_narrow does. Runs are carried
// from one to the next: run r reads input columns 8r .. 8r + 9, of which the first two are
// the previous run's last two; each step loads all of its runs' columns (sg_tile's `load8`)
// before their multiply-adds. Strips past the output row's end compute 0s they never store.
// Grid: x = CH-channel blocks, (y, z) = blocks of 8 strips; strip s is output row
// s / strips_per_row (n · out_h + oy), first column S · (s % strips_per_row).

// Indices (in vec4s) of eight input columns ix .. ix + 7 of input row `rb` (its first pixel,
// or -1 when the row is padding); -1 for the columns in the padding.
fn cols8(rb: i32, ix: i32, cin4: u32) -> Taps8 {
    return Taps8(col(rb, ix, cin4), col(rb, ix + 1, cin4), col(rb, ix + 2, cin4),
                 col(rb, ix + 3, cin4), col(rb, ix + 4, cin4), col(rb, ix + 5, cin4),
                 col(rb, ix + 6, cin4), col(rb, ix + 7, cin4));
}

fn col(rb: i32, ix: i32, cin4: u32) -> i32 {
    if (rb < 0 || ix < 0 || ix >= i32(p.in_w)) {
        return -1;
    }
    return (rb + ix) * i32(cin4);
}

// The input columns under kernel row ky of a strip whose first window column is ix: the two
// left of the first 8-pixel group (e0, e1), then 8 per group (t0..t3; t2 and t3, all -1, only
// for 32-pixel strips, `wide`, a literal at every call so that the other folds away).
struct StripCols { e0: i32, e1: i32, t0: Taps8, t1: Taps8, t2: Taps8, t3: Taps8 }

fn strip_cols(st: Strip, ky: u32, ix: i32, cin4: u32, wide: bool) -> StripCols {
    let rb = input_row(st, ky);
    let none = Taps8(-1, -1, -1, -1, -1, -1, -1, -1);
    var s = StripCols(col(rb, ix, cin4), col(rb, ix + 1, cin4), cols8(rb, ix + 2, cin4),
                      cols8(rb, ix + 10, cin4), none, none);
    if (wide) {
        s.t2 = cols8(rb, ix + 18, cin4);
        s.t3 = cols8(rb, ix + 26, cin4);
    }
    return s;
}

// A 32-pixel strip's 34 input vec4s of input vec4 c under one kernel row: the two columns
// left of the first run (h0, h1), then eight per run.
struct StripX { h0: vec4<f32>, h1: vec4<f32>, x0: X8, x1: X8, x2: X8, x3: X8 }

// All 34 loaded before any multiply-add (sg_tile's `load8`).
fn load_strip(at: StripCols, c: u32) -> StripX {
    return StripX(load_x(at.e0, c), load_x(at.e1, c), load8(at.t0, c), load8(at.t1, c),
                  load8(at.t2, c), load8(at.t3, c));
}

// The weights of one output vec4 from four input channels (rows r0..r3).
struct Col4 { r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32> }
// A W16 by output vec4: column k holds output vec4 k's weights (in g16, group k's).
struct Cols16 { k0: Col4, k1: Col4, k2: Col4, k3: Col4 }

fn by_columns(w: W16) -> Cols16 {
    return Cols16(Col4(w.r0.c0, w.r1.c0, w.r2.c0, w.r3.c0), Col4(w.r0.c1, w.r1.c1, w.r2.c1, w.r3.c1),
                  Col4(w.r0.c2, w.r1.c2, w.r2.c2, w.r3.c2), Col4(w.r0.c3, w.r1.c3, w.r2.c3, w.r3.c3));
}

// a + x0 · w0 + x1 · w1 + x2 · w2 for one output vec4 (the three taps of a kernel row).
fn tap3v(a: vec4<f32>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, w0: Col4, w1: Col4,
         w2: Col4) -> vec4<f32> {
    return mac4(mac4(mac4(a, x0, w0.r0, w0.r1, w0.r2, w0.r3), x1, w1.r0, w1.r1, w1.r2, w1.r3),
                x2, w2.r0, w2.r1, w2.r2, w2.r3);
}

// a + x0 · w0 + x1 · w1 + x2 · w2 (one output, the three taps of a kernel row), each output
// vec4 taking its twelve multiply-adds in a row (`tap3v`: acc16's `mac4` tap by tap, the sums
// of three `mac` calls, 3 % less time over ResNet-20 at batch 16 on lavapipe).
fn tap3(a: Acc, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, w0: W16, w1: W16, w2: W16) -> Acc {
    let v0 = by_columns(w0);
    let v1 = by_columns(w1);
    let v2 = by_columns(w2);
    return Acc(tap3v(a.c0, x0, x1, x2, v0.k0, v1.k0, v2.k0),
               tap3v(a.c1, x0, x1, x2, v0.k1, v1.k1, v2.k1),
               tap3v(a.c2, x0, x1, x2, v0.k2, v1.k2, v2.k2),
               tap3v(a.c3, x0, x1, x2, v0.k3, v1.k3, v2.k3));
}

// One kernel row over a run of eight outputs: e0, e1 are the run's first two input columns,
// x the next eight. Pixel by pixel, all 16 channels of each: s16 and s32 built from `row8v`
// instead (output vec4 by output vec4, as g16 must) computed the same sums bit for bit but
// took the strips 2-3 % more time on Mesa 22's lavapipe, 1-5 % on Mesa 25's (ResNet-20 at
// batch 8 and 32).
fn row8(r: Rows8x16, e0: vec4<f32>, e1: vec4<f32>, x: X8, w0: W16, w1: W16, w2: W16) -> Rows8x16 {
    return Rows8x16(
        tap3(r.a0, e0, e1, x.x0, w0, w1, w2),
        tap3(r.a1, e1, x.x0, x.x1, w0, w1, w2),
        tap3(r.a2, x.x0, x.x1, x.x2, w0, w1, w2),
        tap3(r.a3, x.x1, x.x2, x.x3, w0, w1, w2),
        tap3(r.a4, x.x2, x.x3, x.x4, w0, w1, w2),
        tap3(r.a5, x.x3, x.x4, x.x5, w0, w1, w2),
        tap3(r.a6, x.x4, x.x5, x.x6, w0, w1, w2),
        tap3(r.a7, x.x5, x.x6, x.x7, w0, w1, w2),
    );
}

// Output pixels m .. m + 7 (columns ox .. ox + 7 of one row) × 16 channels from vec4 column
// c4, plus the bias b; nothing past the row's end.
fn store_run8(m: u32, ox: u32, c4: u32, r: Rows8x16, b: Acc) {
    let n = min(p.out_w - min(ox, p.out_w), 8u);
    if (n > 0u) { store_biased(m, c4, r.a0, b); }
    if (n > 1u) { store_biased(m + 1u, c4, r.a1, b); }
    if (n > 2u) { store_biased(m + 2u, c4, r.a2, b); }
    if (n > 3u) { store_biased(m + 3u, c4, r.a3, b); }
    if (n > 4u) { store_biased(m + 4u, c4, r.a4, b); }
    if (n > 5u) { store_biased(m + 5u, c4, r.a5, b); }
    if (n > 6u) { store_biased(m + 6u, c4, r.a6, b); }
    if (n > 7u) { store_biased(m + 7u, c4, r.a7, b); }
}

// The strip an invocation computes: its output row (n · out_h + oy), first column, and
// whether it exists; `image_row` is n · in_h and `top` oy - pt, the input row under ky = 0
// (found once: integer division is a loop over the lanes on CPU drivers).
struct Strip { row: u32, ox: u32, valid: bool, image_row: i32, top: i32 }

fn strip(s: u32, width: u32) -> Strip {
    let per_row = (p.out_w + width - 1u) / width;
    let rows = p.batch * p.out_h;
    let row = s / per_row;
    let n = row / p.out_h;
    return Strip(row, (s % per_row) * width, s < rows * per_row, i32(n * p.in_h),
                 i32(row - n * p.out_h) - i32(p.pad_t));
}

// First pixel of input row oy + ky - pt of the strip's image, or -1 in the padding (and for
// strips that do not exist).
fn input_row(st: Strip, ky: u32) -> i32 {
    let iy = st.top + i32(ky);
    if (!st.valid || iy < 0 || iy >= i32(p.in_h)) {
        return -1;
    }
    return (st.image_row + iy) * i32(p.in_w);
}

// CH = 16, S = 32.
@compute @workgroup_size(8, 1, 1)
fn s16(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 4u;
    let sb = (wid.z * nwg.y + wid.y) * 8u;
    // Uniform exits only: every lane takes part in the broadcasts.
    if (cb >= p.out_c4 || !strip(sb, 32u).valid) {
        return;
    }
    let l = lane % 8u;
    let st = strip(sb + li, 32u);
    let ix = i32(st.ox) - i32(p.pad_l);
    var r0 = zero_rows8x16();
    var r1 = zero_rows8x16();
    var r2 = zero_rows8x16();
    var r3 = zero_rows8x16();
    let cin4 = p.in_c / 4u;
    // One flat loop over (ky, c), the row's columns found again when ky advances (see
    // sg_tile's `Step`: nested loops cost lavapipe more than these recomputations).
    var ky = 0u;
    var c = 0u;
    var at = strip_cols(st, 0u, ix, cin4, true);
    for (var s = 0u; s < 3u * cin4; s++) {
        let row = ky * 3u * p.in_c + 4u * c;
        let w0 = share_w16(row, cb, l);
        let w1 = share_w16(row + p.in_c, cb, l);
        let w2 = share_w16(row + 2u * p.in_c, cb, l);
        let x = load_strip(at, c);
        r0 = row8(r0, x.h0, x.h1, x.x0, w0, w1, w2);
        r1 = row8(r1, x.x0.x6, x.x0.x7, x.x1, w0, w1, w2);
        r2 = row8(r2, x.x1.x6, x.x1.x7, x.x2, w0, w1, w2);
        r3 = row8(r3, x.x2.x6, x.x2.x7, x.x3, w0, w1, w2);
        c += 1u;
        if (c == cin4) {
            c = 0u;
            ky += 1u;
            at = strip_cols(st, ky, ix, cin4, true);
        }
    }
    if (!st.valid) {
        return;
    }
    let m = st.row * p.out_w + st.ox;
    let b = load_bias16(cb);
    store_run8(m, st.ox, cb, r0, b);
    store_run8(m + 8u, st.ox + 8u, cb, r1, b);
    store_run8(m + 16u, st.ox + 16u, cb, r2, b);
    store_run8(m + 24u, st.ox + 24u, cb, r3, b);
}

// CH = 32, S = 16.
@compute @workgroup_size(8, 1, 1)
fn s32(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 8u;
    let sb = (wid.z * nwg.y + wid.y) * 8u;
    if (cb >= p.out_c4 || !strip(sb, 16u).valid) {
        return;
    }
    let l = lane % 8u;
    let st = strip(sb + li, 16u);
    let ix = i32(st.ox) - i32(p.pad_l);
    var r0 = zero_rows8x16();
    var r1 = zero_rows8x16();
    var r2 = zero_rows8x16();
    var r3 = zero_rows8x16();
    let cin4 = p.in_c / 4u;
    var ky = 0u;
    var c = 0u;
    var at = strip_cols(st, 0u, ix, cin4, false);
    for (var s = 0u; s < 3u * cin4; s++) {
        let row = ky * 3u * p.in_c + 4u * c;
        let w0 = share_w32(row, cb, l);
        let w1 = share_w32(row + p.in_c, cb, l);
        let w2 = share_w32(row + 2u * p.in_c, cb, l);
        let h0 = load_x(at.e0, c);
        let h1 = load_x(at.e1, c);
        let x0 = load8(at.t0, c);
        let x1 = load8(at.t1, c);
        r0 = row8(r0, h0, h1, x0, w0.lo, w1.lo, w2.lo);
        r1 = row8(r1, h0, h1, x0, w0.hi, w1.hi, w2.hi);
        r2 = row8(r2, x0.x6, x0.x7, x1, w0.lo, w1.lo, w2.lo);
        r3 = row8(r3, x0.x6, x0.x7, x1, w0.hi, w1.hi, w2.hi);
        c += 1u;
        if (c == cin4) {
            c = 0u;
            ky += 1u;
            at = strip_cols(st, ky, ix, cin4, false);
        }
    }
    if (!st.valid) {
        return;
    }
    let m = st.row * p.out_w + st.ox;
    let lo = load_bias16(cb);
    let hi = load_bias16(cb + 4u);
    store_run8(m, st.ox, cb, r0, lo);
    store_run8(m, st.ox, cb + 4u, r1, hi);
    store_run8(m + 8u, st.ox + 8u, cb, r2, lo);
    store_run8(m + 8u, st.ox + 8u, cb + 4u, r3, hi);
}

// --- `g16`: grouped 3×3 stride-1 convs of 4 output channels per group (ResNeXt's first
// stage): CH = 16 as four groups, one output vec4 each, S = 32. The block's groups read
// Cin/G input channels each (`cg4` vec4s apart in the input); per kernel row and input vec4 of
// a group, its strip's 34 input vec4s feed only that group's output vec4 (the block-diagonal
// products of conv_sg_grouped.wgsl), so each group keeps its own 32 pixels × 1 vec4.

// One output vec4 of eight pixels.
struct R8 {
    a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>,
    a4: vec4<f32>, a5: vec4<f32>, a6: vec4<f32>, a7: vec4<f32>,
}
// One group's strip: four runs of eight pixels.
struct Runs4 { r0: R8, r1: R8, r2: R8, r3: R8 }
fn zero_runs4() -> Runs4 {
    let z = vec4<f32>(0.0);
    let r = R8(z, z, z, z, z, z, z, z);
    return Runs4(r, r, r, r);
}

// One kernel row over a run of eight outputs (as row8, one output vec4).
fn row8v(r: R8, e0: vec4<f32>, e1: vec4<f32>, x: X8, w0: Col4, w1: Col4, w2: Col4) -> R8 {
    return R8(
        tap3v(r.a0, e0, e1, x.x0, w0, w1, w2),
        tap3v(r.a1, e1, x.x0, x.x1, w0, w1, w2),
        tap3v(r.a2, x.x0, x.x1, x.x2, w0, w1, w2),
        tap3v(r.a3, x.x1, x.x2, x.x3, w0, w1, w2),
        tap3v(r.a4, x.x2, x.x3, x.x4, w0, w1, w2),
        tap3v(r.a5, x.x3, x.x4, x.x5, w0, w1, w2),
        tap3v(r.a6, x.x4, x.x5, x.x6, w0, w1, w2),
        tap3v(r.a7, x.x5, x.x6, x.x7, w0, w1, w2),
    );
}

// One group's strip under one kernel row and input vec4 c: its 34 columns loaded once.
fn strip_group(g: Runs4, at: StripCols, c: u32, w0: Col4, w1: Col4, w2: Col4) -> Runs4 {
    let x = load_strip(at, c);
    return Runs4(row8v(g.r0, x.h0, x.h1, x.x0, w0, w1, w2),
                 row8v(g.r1, x.x0.x6, x.x0.x7, x.x1, w0, w1, w2),
                 row8v(g.r2, x.x1.x6, x.x1.x7, x.x2, w0, w1, w2),
                 row8v(g.r3, x.x2.x6, x.x2.x7, x.x3, w0, w1, w2));
}

// Eight pixels' 16 channels from the four groups' output vec4s.
fn join8(a: R8, b: R8, c: R8, d: R8) -> Rows8x16 {
    return Rows8x16(Acc(a.a0, b.a0, c.a0, d.a0), Acc(a.a1, b.a1, c.a1, d.a1),
                    Acc(a.a2, b.a2, c.a2, d.a2), Acc(a.a3, b.a3, c.a3, d.a3),
                    Acc(a.a4, b.a4, c.a4, d.a4), Acc(a.a5, b.a5, c.a5, d.a5),
                    Acc(a.a6, b.a6, c.a6, d.a6), Acc(a.a7, b.a7, c.a7, d.a7));
}

// CH = 16 (four groups of 4 output channels), S = 32.
@compute @workgroup_size(8, 1, 1)
fn g16(
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    init_write();
    let cb = wid.x * 4u;
    let sb = (wid.z * nwg.y + wid.y) * 8u;
    if (cb >= p.out_c4 || !strip(sb, 32u).valid) {
        return;
    }
    let l = lane % 8u;
    let st = strip(sb + li, 32u);
    let ix = i32(st.ox) - i32(p.pad_l);
    var g0 = zero_runs4();
    var g1 = zero_runs4();
    var g2 = zero_runs4();
    var g3 = zero_runs4();
    let cin_g = p.in_c / p.groups;
    let cg4 = cin_g / 4u;
    // Vec4 column cb is group cb (4 channels per group): its inputs start at cb · Cin/G.
    let first4 = cb * cg4;
    var ky = 0u;
    var k = 0u;
    var at = strip_cols(st, 0u, ix, p.in_c / 4u, true);
    for (var s = 0u; s < 3u * cg4; s++) {
        let row = ky * 3u * cin_g + 4u * k;
        let w0 = by_columns(share_w16(row, cb, l));
        let w1 = by_columns(share_w16(row + cin_g, cb, l));
        let w2 = by_columns(share_w16(row + 2u * cin_g, cb, l));
        let c = first4 + k;
        g0 = strip_group(g0, at, c, w0.k0, w1.k0, w2.k0);
        g1 = strip_group(g1, at, c + cg4, w0.k1, w1.k1, w2.k1);
        g2 = strip_group(g2, at, c + 2u * cg4, w0.k2, w1.k2, w2.k2);
        g3 = strip_group(g3, at, c + 3u * cg4, w0.k3, w1.k3, w2.k3);
        k += 1u;
        if (k == cg4) {
            k = 0u;
            ky += 1u;
            at = strip_cols(st, ky, ix, p.in_c / 4u, true);
        }
    }
    if (!st.valid) {
        return;
    }
    let m = st.row * p.out_w + st.ox;
    let b = load_bias16(cb);
    store_run8(m, st.ox, cb, join8(g0.r0, g1.r0, g2.r0, g3.r0), b);
    store_run8(m + 8u, st.ox + 8u, cb, join8(g0.r1, g1.r1, g2.r1, g3.r1), b);
    store_run8(m + 16u, st.ox + 16u, cb, join8(g0.r2, g1.r2, g2.r2, g3.r2), b);
    store_run8(m + 24u, st.ox + 24u, cb, join8(g0.r3, g1.r3, g2.r3, g3.r3), b);
}
