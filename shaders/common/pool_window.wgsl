// Piece: the pooling kernels' parameters (src/gpu/kernels/pool.rs `PoolParams`), the
// invocation index and the addressing of a max pool's window over NHWC activations.

struct PoolParams {
    count: u32,
    c: u32, in_h: u32, in_w: u32,
    out_h: u32, out_w: u32,
    k_h: u32, k_w: u32,
    stride_h: u32, stride_w: u32,
    pad_t: u32, pad_l: u32,
}

@group(0) @binding(2) var<uniform> p: PoolParams;

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * 256u + lid.x;
}

// The max pools walk their window in one flat loop, (ky, kx) advanced without a division:
// nested loops over ky and kx cost CPU drivers more than the window's loads (resnet50's max
// pool on lavapipe: 0.82 of the time; sg_tile's `Step` does the same for the convs).

// What max-pool invocation i (one per output pixel and column of channels, `p.c` columns)
// works on: its column c, its image n, and the input row and column under its window's tap
// (0, 0).
struct Window { c: u32, n: u32, top: vec2<i32> }

fn window_of(i: u32) -> Window {
    let pix = i / p.c;
    let ohw = p.out_h * p.out_w;
    let r = pix % ohw;
    let oy = r / p.out_w;
    let ox = r % p.out_w;
    let top = vec2<i32>(i32(oy * p.stride_h) - i32(p.pad_t), i32(ox * p.stride_w) - i32(p.pad_l));
    return Window(i % p.c, pix / ohw, top);
}

// A tap of the window, walked row by row.
struct Tap { ky: u32, kx: u32 }

fn next_tap(t: Tap) -> Tap {
    var n = Tap(t.ky, t.kx + 1u);
    if (n.kx == p.k_w) {
        n = Tap(t.ky + 1u, 0u);
    }
    return n;
}

// The input pixel under tap t of `win`, or -1 where the tap falls in the padding.
fn tap_pixel(win: Window, t: Tap) -> i32 {
    let iy = win.top.x + i32(t.ky);
    let ix = win.top.y + i32(t.kx);
    let inside = iy >= 0 && iy < i32(p.in_h) && ix >= 0 && ix < i32(p.in_w);
    return select(-1, (i32(win.n * p.in_h) + iy) * i32(p.in_w) + ix, inside);
}
