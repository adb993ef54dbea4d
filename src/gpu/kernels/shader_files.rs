//! Every kernel file the engine compiles ([`FILES`]): its fragment under `shaders/`, the
//! shared pieces it is assembled after (in order), and which builds and views it offers
//! (subgroups, u64 pairs). [`super::shaders`] assembles them.

use super::shaders::{Piece, ShaderFile};

use Piece::*;

const CONV4: &[Piece] = &[ConvIo, ConvX4, Window, WriteStep, Acc16, ConvStore];
/// The workgroup-memory implicit GEMM over 128 × 128 tiles (`conv2d_tiled128.wgsl`, whose tile
/// shape is its own); the 64 × 64 one (`conv2d_tiled.wgsl`) adds the tile shape it shares with
/// Winograd's tiled GEMM. Both run the K loop of `tile_loop`.
const TILED: &[Piece] = &[
    ConvIo, ConvX4, Window, WriteStep, Acc16, ConvStore, TiledStage, TiledConv, TileLoop,
];
const TILED64: &[Piece] = &[
    ConvIo, ConvX4, Window, WriteStep, Acc16, ConvStore, TiledStage, TiledConv, TileLoop, Tiled64,
];
/// The subgroup implicit GEMMs over 64-channel groups (`conv_sg.wgsl`, `conv_sg_wide.wgsl`).
const SG_GEMM: &[Piece] = &[
    ConvIo, ConvX4, Window, WriteStep, Acc16, ConvStore, Sg64, SgTile, SgRows8, SgBlock,
];
const SG_NARROW: &[Piece] = &[
    ConvIo, ConvX4, Window, WriteStep, Acc16, ConvStore, Sg64, SgTile, SgW16,
];

/// Every kernel file the engine compiles.
pub const FILES: &[ShaderFile] = &[
    ShaderFile {
        name: "conv2d.wgsl",
        pieces: &[ConvIo, ConvX1, Window, WriteStep, Acc16, ConvStore],
        body: include_str!("../../../shaders/conv2d.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv2d_vec4.wgsl",
        pieces: CONV4,
        body: include_str!("../../../shaders/conv2d_vec4.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv1x1.wgsl",
        pieces: CONV4,
        body: include_str!("../../../shaders/conv1x1.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv2d_tiled.wgsl",
        pieces: TILED64,
        body: include_str!("../../../shaders/conv2d_tiled.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv2d_tiled128.wgsl",
        pieces: TILED,
        body: include_str!("../../../shaders/conv2d_tiled128.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv2d_small.wgsl",
        pieces: CONV4,
        body: include_str!("../../../shaders/conv2d_small.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv_grouped.wgsl",
        pieces: &[ConvIo, ConvX1, Window, WriteStep, Acc16, ConvStore],
        body: include_str!("../../../shaders/conv_grouped.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv_sg.wgsl",
        pieces: SG_GEMM,
        body: include_str!("../../../shaders/conv_sg.wgsl"),
        subgroups: true,
        weight_pairs: true,
        output_pairs: true,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv_sg_wide.wgsl",
        pieces: SG_GEMM,
        body: include_str!("../../../shaders/conv_sg_wide.wgsl"),
        subgroups: true,
        weight_pairs: true,
        output_pairs: true,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv_sg_narrow.wgsl",
        pieces: SG_NARROW,
        body: include_str!("../../../shaders/conv_sg_narrow.wgsl"),
        subgroups: true,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv_sg_grouped.wgsl",
        pieces: SG_NARROW,
        body: include_str!("../../../shaders/conv_sg_grouped.wgsl"),
        subgroups: true,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "conv_sg_strip.wgsl",
        pieces: SG_NARROW,
        body: include_str!("../../../shaders/conv_sg_strip.wgsl"),
        subgroups: true,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "winograd.wgsl",
        pieces: &[WinoParams, WinoIo, WinoOut, WriteStep, Acc16],
        body: include_str!("../../../shaders/winograd.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "winograd4.wgsl",
        pieces: &[WinoParams, WinoIo, WinoOut, WriteStep, Acc16, Wino4Math],
        body: include_str!("../../../shaders/winograd4.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "winograd_tiled.wgsl",
        pieces: &[WinoParams, WinoIo, Acc16, TiledStage, TileLoop, Tiled64],
        body: include_str!("../../../shaders/winograd_tiled.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "winograd_sg.wgsl",
        pieces: &[WinoParams, WinoIo, Acc16, Sg64, SgRows8],
        body: include_str!("../../../shaders/winograd_sg.wgsl"),
        subgroups: true,
        weight_pairs: true,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "winograd4_in8.wgsl",
        pieces: &[WinoParams, WinoPairs, Wino4Math],
        body: include_str!("../../../shaders/winograd4_in8.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: true,
    },
    ShaderFile {
        name: "winograd4_out8.wgsl",
        pieces: &[WinoParams, WinoPairs, WinoOut, WriteStep, Wino4Math],
        body: include_str!("../../../shaders/winograd4_out8.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: true,
        pairs_only: true,
    },
    ShaderFile {
        name: "eltwise.wgsl",
        pieces: &[],
        body: include_str!("../../../shaders/eltwise.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "layout.wgsl",
        pieces: &[],
        body: include_str!("../../../shaders/layout.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "pool.wgsl",
        pieces: &[PoolWindow],
        body: include_str!("../../../shaders/pool.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "pool_pairs.wgsl",
        pieces: &[PoolWindow],
        body: include_str!("../../../shaders/pool_pairs.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: true,
    },
    ShaderFile {
        name: "linear.wgsl",
        pieces: &[LinearIo],
        body: include_str!("../../../shaders/linear.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: false,
    },
    ShaderFile {
        name: "linear_pairs.wgsl",
        pieces: &[LinearIo],
        body: include_str!("../../../shaders/linear_pairs.wgsl"),
        subgroups: false,
        weight_pairs: false,
        output_pairs: false,
        pairs_only: true,
    },
];

/// The kernel file called `name`.
pub fn file(name: &str) -> Option<&'static ShaderFile> {
    FILES.iter().find(|f| f.name == name)
}
