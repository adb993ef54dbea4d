// Piece: a conv window's addressing (needs `p` with batch, in/out sizes, strides and pads).
//
// Window origin of output pixel m: (first input row of its image, top row, left column), or
// an origin far outside the image when m is past the last pixel, so that every tap reads 0.
// Computed once per pixel: integer division is costly on many devices.
fn origin(m: u32) -> vec3<i32> {
    if (m >= p.batch * p.out_h * p.out_w) {
        return vec3<i32>(0, -65536, -65536);
    }
    let hw = p.out_h * p.out_w;
    let n = m / hw;
    let r = m % hw;
    let iy = i32((r / p.out_w) * p.stride_h) - i32(p.pad_t);
    let ix = i32((r % p.out_w) * p.stride_w) - i32(p.pad_l);
    return vec3<i32>(i32(n * p.in_h), iy, ix);
}

// Index of channel 0 of the input pixel under tap (ky, kx) of a window, in units of
// `per_pixel` elements (Cin for scalar loads, Cin / 4 for vec4 loads); -1 in the padding.
fn tap(o: vec3<i32>, ky: u32, kx: u32, per_pixel: u32) -> i32 {
    let iy = o.y + i32(ky);
    let ix = o.z + i32(kx);
    if (iy < 0 || ix < 0 || iy >= i32(p.in_h) || ix >= i32(p.in_w)) {
        return -1;
    }
    return ((o.x + iy) * i32(p.in_w) + ix) * i32(per_pixel);
}
