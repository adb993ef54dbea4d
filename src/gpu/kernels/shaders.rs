//! Shader assembly: the one place where WGSL modules are put together. WGSL has no includes,
//! so every piece that several kernels share (the storage-type prelude per precision, the conv
//! parameter struct and bindings, the window addressing, the fused write step, the accumulator
//! helpers) lives once in `shaders/common/`, and each kernel file in `shaders/` is a fragment
//! that lists the pieces it is assembled after:
//!
//! ```text
//! module = prelude(precision) + pieces (in the order listed) + the kernel's own source
//! ```
//!
//! A file with the fused write step is assembled in one form per [`OutputView`] it offers: the
//! view's piece (`out_scalar`, `out_vec4` or `out_pairs`, which declares the output's element
//! `out_t`, `write_out4` and `write_out8`) follows the write step. Scalars serve any Cout;
//! vec4s need Cout % 4 == 0; u64 pairs (f32 builds of the files that offer them) Cout % 8 == 0.
//!
//! A file that reads conv weights (through `conv_io` or `wino_io`, which declare the binding
//! `w: array<wgt_t>`) gets a [`WeightView`] piece just before that one: `weights_vec4` (one
//! vec4 per load, every device) or, for the files that offer it in f32, `weights_pairs` (two
//! vec4s per `vec4<u64>` load, for CPU adapters with `SHADER_INT64`). Both define `wgt_t`,
//! `load_w4` and `load_w8`, so a kernel reads weights the same way in either. A module with
//! either u64-pairs view starts, after the prelude, with `u64_pairs` (two f32 in a u64).
//!
//! A few files exist only in f32 u64-pairs builds ([`ShaderFile::pairs_only`]: F(4,3)'s
//! 8-channel transforms, the 8-channel max pool and pooled classifier, which declare their
//! bindings as u64 pairs outright). They are built in f32 alone, in the pairs output view
//! where they have a write step, and start with `u64_pairs` too. The list of files is
//! [`super::shader_files`].
//!
//! Nothing is rewritten: the precision only chooses the prelude (`alias act = f32;` or
//! `enable f16; alias act = f16;`), so a kernel that redefines an alias, or uses a name no
//! piece defines, fails to compile instead of silently keeping f32. `tests/shaders.rs`
//! validates every assembled module with naga in both precisions, checks that the f16 build
//! really stores f16, and compares each parameter struct with its Rust twin.

use super::Precision;

/// A shared piece of WGSL (`shaders/common/<name>.wgsl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Piece {
    /// `ConvParams`, the conv bindings 1–5 and `pixels()`.
    ConvIo,
    /// The conv input `x` as vec4 and its `load_x`.
    ConvX4,
    /// The conv input `x` as scalars and its `load_x`.
    ConvX1,
    /// `origin` and `tap`: window addressing.
    Window,
    /// `init_write`, `write_out4`, `write_pixel`: the bias + residual + ReLU write step.
    WriteStep,
    /// `Acc`, `W16`, `mac_row`, `mac4`, `mac`, `load_row`, `load_w16`.
    Acc16,
    /// `load_bias16`, `store4`, `store`, `store_biased`, `store16`: the conv kernels' stores
    /// through the write step.
    ConvStore,
    /// `Origins8`, `Taps8`, `load8`, `Step`: the pixel addressing of the subgroup implicit-GEMM
    /// convs.
    SgTile,
    /// `load_b`, `Acc64`, `B64`, `share_rows`, `X8`, `Rows8`: the subgroup GEMMs' register
    /// tiles.
    Sg64,
    /// `group_rows`, `mac_rows8`: the 64-channel subgroup GEMMs' groups of eight rows.
    SgRows8,
    /// `load_x8`, `load_bias`, `store64`: the subgroup implicit GEMMs' pixel blocks.
    SgBlock,
    /// `WinoParams` and its binding, `tile_at`: first in every Winograd module.
    WinoParams,
    /// The Winograd bindings as vec4s, `input_at`, `load_v`, `store_m`.
    WinoIo,
    /// The F(4,3) transforms' bindings as u64 pairs, `Eight`, `unpack8`, `pack8`, `input8_at`.
    WinoPairs,
    /// `Six`, `Four`, `bt6`, `at6`: F(4,3)'s transforms along a row or column.
    Wino4Math,
    /// `PoolParams` and its binding, `index`, `out_pixel`, the max pools' window addressing.
    PoolWindow,
    /// `LinearParams`, the classifier's bias, logits and parameter bindings, `class_rows`,
    /// `store_classes`.
    LinearIo,
    /// `Rows8x16`, `share_w16`, `share_w32`: the narrow subgroup convs' tiles and weights.
    SgW16,
    /// The Winograd output transforms' `residual` and `y` bindings.
    WinoOut,
    /// `Staged`, `store_staged`: storing one K chunk in the workgroup-memory GEMMs.
    TiledStage,
    /// `Loader`, `loader`, `chunks`, `stage`: the implicit GEMM's loads of one K chunk for the
    /// workgroup-memory tiles.
    TiledConv,
    /// The 64 × 64 workgroup-memory tile: its buffers, `Block`, `zero_block`, `mac_chunk`.
    Tiled64,
    /// `tile_sums`: the workgroup-memory tiles' double-buffered K loop, over a tile shape's
    /// `mac_chunk`.
    TileLoop,
    /// The write step's scalar output view (any Cout).
    OutScalar,
    /// The write step's vec4 output view (Cout % 4 == 0).
    OutVec4,
    /// The write step's f32 output view in u64 pairs (Cout % 8 == 0).
    OutPairs,
    /// The weights read one vec4 per load (`wgt_t`, `W8`, `load_w4`, `load_w8`).
    WeightsVec4,
    /// The f32 weights read two vec4s per `vec4<u64>` load (same names).
    WeightsPairs,
    /// `low_f32`, `high_f32`, `unpack2`, `pack2`: two f32 in a u64, for either pairs view.
    U64Pairs,
}

impl Piece {
    pub const ALL: [Piece; 29] = [
        Piece::ConvIo,
        Piece::ConvX4,
        Piece::ConvX1,
        Piece::Window,
        Piece::WriteStep,
        Piece::Acc16,
        Piece::ConvStore,
        Piece::SgTile,
        Piece::Sg64,
        Piece::SgRows8,
        Piece::SgBlock,
        Piece::WinoParams,
        Piece::WinoIo,
        Piece::WinoPairs,
        Piece::Wino4Math,
        Piece::PoolWindow,
        Piece::LinearIo,
        Piece::SgW16,
        Piece::WinoOut,
        Piece::TiledStage,
        Piece::TiledConv,
        Piece::Tiled64,
        Piece::TileLoop,
        Piece::OutScalar,
        Piece::OutVec4,
        Piece::OutPairs,
        Piece::WeightsVec4,
        Piece::WeightsPairs,
        Piece::U64Pairs,
    ];

    /// File name under `shaders/common/`.
    pub fn name(self) -> &'static str {
        match self {
            Piece::ConvIo => "conv_io.wgsl",
            Piece::ConvX4 => "conv_x4.wgsl",
            Piece::ConvX1 => "conv_x1.wgsl",
            Piece::Window => "window.wgsl",
            Piece::WriteStep => "write_step.wgsl",
            Piece::Acc16 => "acc16.wgsl",
            Piece::ConvStore => "conv_store.wgsl",
            Piece::SgTile => "sg_tile.wgsl",
            Piece::Sg64 => "sg64.wgsl",
            Piece::SgRows8 => "sg_rows8.wgsl",
            Piece::SgBlock => "sg_block.wgsl",
            Piece::WinoParams => "wino_params.wgsl",
            Piece::WinoIo => "wino_io.wgsl",
            Piece::WinoPairs => "wino_pairs.wgsl",
            Piece::Wino4Math => "wino4_math.wgsl",
            Piece::PoolWindow => "pool_window.wgsl",
            Piece::LinearIo => "linear_io.wgsl",
            Piece::SgW16 => "sg_w16.wgsl",
            Piece::WinoOut => "wino_out.wgsl",
            Piece::TiledStage => "tiled_stage.wgsl",
            Piece::TiledConv => "tiled_conv.wgsl",
            Piece::Tiled64 => "tiled64.wgsl",
            Piece::TileLoop => "tile_loop.wgsl",
            Piece::OutScalar => "out_scalar.wgsl",
            Piece::OutVec4 => "out_vec4.wgsl",
            Piece::OutPairs => "out_pairs.wgsl",
            Piece::WeightsVec4 => "weights_vec4.wgsl",
            Piece::WeightsPairs => "weights_pairs.wgsl",
            Piece::U64Pairs => "u64_pairs.wgsl",
        }
    }

    pub fn source(self) -> &'static str {
        match self {
            Piece::ConvIo => include_str!("../../../shaders/common/conv_io.wgsl"),
            Piece::ConvX4 => include_str!("../../../shaders/common/conv_x4.wgsl"),
            Piece::ConvX1 => include_str!("../../../shaders/common/conv_x1.wgsl"),
            Piece::Window => include_str!("../../../shaders/common/window.wgsl"),
            Piece::WriteStep => include_str!("../../../shaders/common/write_step.wgsl"),
            Piece::Acc16 => include_str!("../../../shaders/common/acc16.wgsl"),
            Piece::ConvStore => include_str!("../../../shaders/common/conv_store.wgsl"),
            Piece::SgTile => include_str!("../../../shaders/common/sg_tile.wgsl"),
            Piece::Sg64 => include_str!("../../../shaders/common/sg64.wgsl"),
            Piece::SgRows8 => include_str!("../../../shaders/common/sg_rows8.wgsl"),
            Piece::SgBlock => include_str!("../../../shaders/common/sg_block.wgsl"),
            Piece::WinoParams => include_str!("../../../shaders/common/wino_params.wgsl"),
            Piece::WinoIo => include_str!("../../../shaders/common/wino_io.wgsl"),
            Piece::WinoPairs => include_str!("../../../shaders/common/wino_pairs.wgsl"),
            Piece::Wino4Math => include_str!("../../../shaders/common/wino4_math.wgsl"),
            Piece::PoolWindow => include_str!("../../../shaders/common/pool_window.wgsl"),
            Piece::LinearIo => include_str!("../../../shaders/common/linear_io.wgsl"),
            Piece::SgW16 => include_str!("../../../shaders/common/sg_w16.wgsl"),
            Piece::WinoOut => include_str!("../../../shaders/common/wino_out.wgsl"),
            Piece::TiledStage => include_str!("../../../shaders/common/tiled_stage.wgsl"),
            Piece::TiledConv => include_str!("../../../shaders/common/tiled_conv.wgsl"),
            Piece::Tiled64 => include_str!("../../../shaders/common/tiled64.wgsl"),
            Piece::TileLoop => include_str!("../../../shaders/common/tile_loop.wgsl"),
            Piece::OutScalar => include_str!("../../../shaders/common/out_scalar.wgsl"),
            Piece::OutVec4 => include_str!("../../../shaders/common/out_vec4.wgsl"),
            Piece::OutPairs => include_str!("../../../shaders/common/out_pairs.wgsl"),
            Piece::WeightsVec4 => include_str!("../../../shaders/common/weights_vec4.wgsl"),
            Piece::WeightsPairs => include_str!("../../../shaders/common/weights_pairs.wgsl"),
            Piece::U64Pairs => include_str!("../../../shaders/common/u64_pairs.wgsl"),
        }
    }
}

/// The storage-type prelude of a precision (`shaders/common/prelude_*.wgsl`).
pub fn prelude(precision: Precision) -> &'static str {
    match precision {
        Precision::F32 => include_str!("../../../shaders/common/prelude_f32.wgsl"),
        Precision::F16 => include_str!("../../../shaders/common/prelude_f16.wgsl"),
    }
}

/// How the fused write step sees a conv's output and residual.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OutputView {
    /// Four scalar loads and stores per vec4 of channels, those past Cout skipped: any Cout.
    #[default]
    Scalar,
    /// One vec4 load and store per vec4 of channels: Cout % 4 == 0 only.
    Vec4,
    /// One `vec4<u64>` load and store per 8 f32 channels: Cout % 8 == 0, in the u64-pairs
    /// builds of the files that offer it ([`ShaderFile::output_pairs`]); elsewhere the vec4
    /// view serves it ([`ShaderFile::output_view`]).
    Pairs,
}

impl OutputView {
    pub const ALL: [OutputView; 3] = [OutputView::Scalar, OutputView::Vec4, OutputView::Pairs];

    /// The widest view an output of `channels` per pixel allows: pairs where they come in
    /// eights, vec4 in fours.
    pub fn for_channels(channels: usize) -> OutputView {
        if channels.is_multiple_of(8) {
            OutputView::Pairs
        } else if channels.is_multiple_of(4) {
            OutputView::Vec4
        } else {
            OutputView::Scalar
        }
    }

    /// The piece that follows the write step in this view's modules.
    pub fn piece(self) -> Piece {
        match self {
            OutputView::Scalar => Piece::OutScalar,
            OutputView::Vec4 => Piece::OutVec4,
            OutputView::Pairs => Piece::OutPairs,
        }
    }
}

/// How kernels read the conv weights (the piece before `conv_io` or `wino_io`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WeightView {
    /// One vec4 (f32 or f16) per load: every device, every file.
    #[default]
    Vec4,
    /// Two f32 vec4s per `vec4<u64>` load: f32 builds of the files that offer it
    /// ([`ShaderFile::weight_pairs`]), on devices with `SHADER_INT64`.
    Pairs,
}

impl WeightView {
    pub const ALL: [WeightView; 2] = [WeightView::Vec4, WeightView::Pairs];

    /// The view of a device's builds in `precision`: pairs on CPU adapters whose device has
    /// `SHADER_INT64` (`pairs` in [`super::conv::DeviceCaps`]), f32 only.
    pub fn for_build(pairs: bool, precision: Precision) -> WeightView {
        if pairs && precision == Precision::F32 {
            WeightView::Pairs
        } else {
            WeightView::Vec4
        }
    }

    pub fn piece(self) -> Piece {
        match self {
            WeightView::Vec4 => Piece::WeightsVec4,
            WeightView::Pairs => Piece::WeightsPairs,
        }
    }
}

/// One kernel file: its fragment and the pieces it is assembled after.
#[derive(Clone, Copy, Debug)]
pub struct ShaderFile {
    /// File name under `shaders/`.
    pub name: &'static str,
    pub pieces: &'static [Piece],
    pub body: &'static str,
    /// Whether the module uses subgroup built-ins (needs `Features::SUBGROUP`).
    pub subgroups: bool,
    /// Whether its f32 build reads the weights in pairs where the device allows
    /// ([`WeightView::Pairs`]): the subgroup GEMMs, whose lanes load 8 channels of a row.
    /// Elsewhere kernels load single vec4s, which the pairs view would only make dearer.
    pub weight_pairs: bool,
    /// Whether its f32 build stores 8-channel outputs in u64 pairs where the device allows
    /// ([`OutputView::Pairs`]): `sg_gemm`, whose stores go 16 channels at a time.
    pub output_pairs: bool,
    /// Whether the file exists only in f32 u64-pairs builds (its bindings are u64 pairs, not
    /// a view the assembly chooses): one module, f32, in the pairs output view where it has a
    /// write step.
    pub pairs_only: bool,
}

pub use super::shader_files::{file, FILES};

impl ShaderFile {
    /// Whether the file's kernels store through the fused write step (and so come in one
    /// module per [`OutputView`]).
    pub fn has_write_step(&self) -> bool {
        self.pieces.contains(&Piece::WriteStep)
    }

    /// The output views the file is assembled in: scalar and vec4 with a write step, and u64
    /// pairs where it offers them; else only the scalar one (which then adds nothing).
    pub fn views(&self) -> &'static [OutputView] {
        match (self.has_write_step(), self.output_pairs, self.pairs_only) {
            (false, _, _) => &OutputView::ALL[..1],
            (true, _, true) => &OutputView::ALL[2..],
            (true, false, false) => &OutputView::ALL[..2],
            (true, true, false) => &OutputView::ALL,
        }
    }

    /// The precisions the file is built in: f32 only for a pairs-only file.
    pub fn precisions(&self) -> &'static [Precision] {
        if self.pairs_only {
            &[Precision::F32]
        } else {
            &[Precision::F32, Precision::F16]
        }
    }

    /// Whether a device's builds in `precision`, with u64 pairs (`pairs`) or not, include
    /// the file.
    pub fn built_in(&self, precision: Precision, pairs: bool) -> bool {
        !self.pairs_only || (pairs && precision == Precision::F32)
    }

    /// The view a build of this file in `precision` with u64 pairs allowed (`pairs`) uses for
    /// an output that allows `view`: pairs narrow to vec4 where the file or build has none.
    pub fn output_view(&self, precision: Precision, view: OutputView, pairs: bool) -> OutputView {
        if view == OutputView::Pairs && !(pairs && self.output_pairs && precision == Precision::F32)
        {
            OutputView::Vec4
        } else {
            view
        }
    }

    /// The module for `precision` and output view `view` (ignored without a write step), with
    /// the weights read one vec4 per load.
    pub fn assemble(&self, precision: Precision, view: OutputView) -> String {
        self.assemble_with(precision, view, WeightView::Vec4)
    }

    /// The weight view this file is built with where a device's builds in `precision` read
    /// weights as `weights` ([`WeightView::for_build`]): pairs only where the file offers them.
    pub fn weight_view(&self, precision: Precision, weights: WeightView) -> WeightView {
        if self.weight_pairs && precision == Precision::F32 {
            weights
        } else {
            WeightView::Vec4
        }
    }

    /// The module for `precision`, output view `view` (ignored without a write step) and the
    /// weight view `weights` (as [`ShaderFile::weight_view`] narrows it): the prelude, the
    /// pieces, then the fragment, each headed by a comment naming where it comes from (so
    /// that a compiler message can be traced).
    pub fn assemble_with(
        &self,
        precision: Precision,
        view: OutputView,
        weights: WeightView,
    ) -> String {
        let weights = self.weight_view(precision, weights);
        let view = self.output_view(precision, view, true);
        let mut src = String::with_capacity(
            self.body.len() + self.pieces.iter().map(|p| p.source().len()).sum::<usize>() + 4096,
        );
        src.push_str(prelude(precision));
        let mut push = |piece: Piece| {
            src.push_str("\n// ---- shaders/common/");
            src.push_str(piece.name());
            src.push_str(" ----\n");
            src.push_str(piece.source());
        };
        if weights == WeightView::Pairs || view == OutputView::Pairs || self.pairs_only {
            push(Piece::U64Pairs);
        }
        for &piece in self.pieces {
            if piece == Piece::ConvIo || piece == Piece::WinoIo {
                push(weights.piece());
            }
            push(piece);
            if piece == Piece::WriteStep {
                push(view.piece());
            }
        }
        src.push_str("\n// ---- shaders/");
        src.push_str(self.name);
        src.push_str(" ----\n");
        src.push_str(self.body);
        src
    }
}
