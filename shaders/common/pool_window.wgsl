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

// (image, row, column) of output pixel `pix`.
fn out_pixel(pix: u32) -> vec3<u32> {
    let ohw = p.out_h * p.out_w;
    let r = pix % ohw;
    return vec3<u32>(pix / ohw, r / p.out_w, r % p.out_w);
}

// The max pools walk their window in one flat loop, (ky, kx) advanced without a division:
// nested loops over ky and kx cost CPU drivers more than the window's loads (resnet50's max
// pool on lavapipe: 0.82 of the time; sg_tile's `Step` does the same for the convs).

// Input row and column under tap (0, 0) of output pixel (oy, ox)'s window.
fn window_top(oy: u32, ox: u32) -> vec2<i32> {
    return vec2<i32>(i32(oy * p.stride_h) - i32(p.pad_t), i32(ox * p.stride_w) - i32(p.pad_l));
}

fn inside(iy: i32, ix: i32) -> bool {
    return iy >= 0 && iy < i32(p.in_h) && ix >= 0 && ix < i32(p.in_w);
}

// Pixel (iy, ix) of image n, inside the input.
fn input_pixel(n: u32, iy: i32, ix: i32) -> u32 {
    return (n * p.in_h + u32(iy)) * p.in_w + u32(ix);
}
