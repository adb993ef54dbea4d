// Piece: what every Winograd pass shares, first in each Winograd module: the parameters
// (src/gpu/kernels/winograd.rs `WinoParams`) and where an invocation of a transform pass
// works. The bindings follow in wino_io (vec4s) or wino_pairs (u64 pairs).

struct WinoParams {
    batch: u32, in_h: u32, in_w: u32, in_c4: u32,
    out_h: u32, out_w: u32, out_c: u32, out_c4: u32,
    tiles_h: u32, tiles_w: u32, tiles: u32, pad_t: u32,
    pad_l: u32, _unused: u32, relu: u32, _pad: u32,
}

@group(0) @binding(9) var<uniform> p: WinoParams;

// What invocation i of a transform pass (one per tile and column of channels, `per_tile`
// columns: vec4s, or 8 channels in wino_pairs) works on: its column c4, and its tile's image
// n, row ty and column tx in tiles. (Its tile is t = i / per_tile, so i itself indexes the
// tile's column c4 in V's and M's planes.)
struct TileAt { c4: u32, n: u32, ty: u32, tx: u32 }

fn tile_at(i: u32, per_tile: u32) -> TileAt {
    let t = i / per_tile;
    let per_image = p.tiles_h * p.tiles_w;
    let r = t % per_image;
    return TileAt(i % per_tile, t / per_image, r / p.tiles_w, r % p.tiles_w);
}
