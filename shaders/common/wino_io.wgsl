// Piece: the Winograd passes' parameters and bindings (shaders/winograd.wgsl and
// winograd4.wgsl have the formulas), the input transforms' reads of the input, and the GEMMs'
// access to the transformed input V [E][T][Cin/4] vec4 and the products M [E][T][Cout16/4]
// vec4, where E = 16 (F(2,3)) or 36 (F(4,3)) and T = p.tiles; tiles past T read 0 and are not
// stored. The output transforms' residual and output (bindings 7 and 8) are in wino_out.

struct WinoParams {
    batch: u32, in_h: u32, in_w: u32, in_c4: u32,
    out_h: u32, out_w: u32, out_c: u32, out_c4: u32,
    tiles_h: u32, tiles_w: u32, tiles: u32, pad_t: u32,
    pad_l: u32, _unused: u32, relu: u32, _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<act4>;
@group(0) @binding(1) var<storage, read_write> v_out: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v_in: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<wgt_t>;  // U
@group(0) @binding(4) var<storage, read_write> m_out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> m_in: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(9) var<uniform> p: WinoParams;

// What invocation i of a transform pass (one per tile and vec4 column, `per_tile` columns)
// works on: its column c4, and its tile's image n, row ty and column tx in tiles. (Its tile
// is t = i / per_tile, so i itself indexes the tile's vec4 c4 in V's and M's planes.)
struct TileAt { c4: u32, n: u32, ty: u32, tx: u32 }

fn tile_at(i: u32, per_tile: u32) -> TileAt {
    let t = i / per_tile;
    let per_image = p.tiles_h * p.tiles_w;
    let r = t % per_image;
    return TileAt(i % per_tile, t / per_image, r / p.tiles_w, r % p.tiles_w);
}

// Input vec4 c4 of pixel (iy, ix) of image n; 0 outside the image (the padding).
fn input_at(n: u32, iy: i32, ix: i32, c4: u32) -> vec4<f32> {
    if (iy < 0 || ix < 0 || iy >= i32(p.in_h) || ix >= i32(p.in_w)) {
        return vec4<f32>(0.0);
    }
    return vec4<f32>(x[((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.in_c4 + c4]);
}

fn load_v(e: u32, t: u32, c: u32) -> vec4<f32> {
    if (t >= p.tiles) {
        return vec4<f32>(0.0);
    }
    return v_in[(e * p.tiles + t) * p.in_c4 + c];
}

fn store_m(e: u32, t: u32, c4: u32, a: Acc) {
    if (t >= p.tiles) {
        return;
    }
    let b = (e * p.tiles + t) * p.out_c4 + c4;
    m_out[b] = a.c0;
    m_out[b + 1u] = a.c1;
    m_out[b + 2u] = a.c2;
    m_out[b + 3u] = a.c3;
}
