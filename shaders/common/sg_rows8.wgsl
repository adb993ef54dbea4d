// Piece: the groups of eight rows (pixels, or Winograd tiles) of the 64-channel subgroup
// GEMMs (needs sg64): how many rows a group really has, and a group's multiply-adds. An
// invocation takes ROWS rows r0 + 8i in groups of `group_rows`; a group's input vec4s are
// loaded together (an `X8`) before `mac_rows8` uses them.

// Rows per group of an invocation: 8, or 7 for blocks of 112 and 56 rows, which divide the
// 49 · 4^k pixels of a map 7 · 2^k pixels a side and F(4,3)'s tiles on such maps. A pipeline
// constant (src/gpu/kernels/mod.rs `Kernel::constants`), so that with 7 the guards on the
// eighth row fold away with its work, instead of running masked as a runtime condition
// would on CPU drivers.
override group_rows: u32 = 8u;

// r + xs · b for the group's rows (4 input channels).
fn mac_rows8(r: Rows8, xs: X8, b: B64) -> Rows8 {
    var o = Rows8(mac64(r.a0, xs.x0, b), mac64(r.a1, xs.x1, b), mac64(r.a2, xs.x2, b),
                  mac64(r.a3, xs.x3, b), mac64(r.a4, xs.x4, b), mac64(r.a5, xs.x5, b),
                  mac64(r.a6, xs.x6, b), r.a7);
    if (group_rows > 7u) {
        o.a7 = mac64(r.a7, xs.x7, b);
    }
    return o;
}
