//! Winograd convolution for 3×3 stride-1 convs in two forms, F(2×2, 3×3)
//! (shaders/winograd.wgsl) and F(4×4, 3×3) (shaders/winograd4.wgsl): the weight transform
//! `U = G g Gᵀ` (done once, in f64, at load time), and the parameters and grids of the three
//! passes (input transform, one GEMM per element of the transformed tile, output transform with
//! the fused write step). An m × m output tile reads an (m + 2) × (m + 2) input patch and takes
//! E = (m + 2)² GEMMs: per output pixel and channel pair, 9 multiply-adds become E / m², 4 for
//! F(2,3) and 2.25 for F(4,3), whose transforms also move E / m² values per pixel instead of 4.
//! F(4,3)'s larger constants cost precision (about 3e-6 of the largest output in f32 with 256
//! input channels, against 3e-7) and its U is 4× the 3×3 weights (1.8× for F(2,3)).
//!
//! The GEMM pass comes in three forms: `winograd.wgsl`'s `gemm` (F(2,3) only; 8 tiles × 16
//! channels per invocation, weights loaded by every lane), `winograd_sg.wgsl` (either form;
//! 64 channels × [`sg_rows`] tiles per invocation, weights loaded once per subgroup and
//! broadcast) and `winograd_tiled.wgsl` (either form; 64 tiles × 64 channels per workgroup
//! through workgroup memory, for GPUs: [`tiled_gemm_grid`]).

use bytemuck::{Pod, Zeroable};

use super::conv::padded_out_c;
use super::{grid_1d, Kernel};
use crate::model::Conv2d;

/// The two Winograd forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// F(2×2, 3×3): 2 × 2 output tiles, 16 GEMMs.
    F2,
    /// F(4×4, 3×3): 4 × 4 output tiles, 36 GEMMs.
    F4,
}

impl Form {
    /// Side of the output tile.
    pub fn m(self) -> usize {
        match self {
            Form::F2 => 2,
            Form::F4 => 4,
        }
    }

    /// GEMMs per tile: the elements of the (m + 2)² transformed tile.
    pub fn e(self) -> usize {
        (self.m() + 2) * (self.m() + 2)
    }

    /// Index of its transformed weights among a conv node's weight buffers (packed weights,
    /// bias, F(2,3)'s U, F(4,3)'s U).
    pub fn weight_index(self) -> usize {
        match self {
            Form::F2 => 2,
            Form::F4 => 3,
        }
    }

    /// The input and output transform kernels with one vec4 of channels per invocation.
    pub fn transforms(self) -> (Kernel, Kernel) {
        match self {
            Form::F2 => (Kernel::WinogradInput, Kernel::WinogradOutput),
            Form::F4 => (Kernel::Winograd4Input, Kernel::Winograd4Output),
        }
    }

    /// G, (m + 2) × 3.
    fn g(self) -> &'static [[f64; 3]] {
        const G2: [[f64; 3]; 4] = [
            [1.0, 0.0, 0.0],
            [0.5, 0.5, 0.5],
            [0.5, -0.5, 0.5],
            [0.0, 0.0, 1.0],
        ];
        const G4: [[f64; 3]; 6] = [
            [1.0 / 4.0, 0.0, 0.0],
            [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
            [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
            [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
            [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
            [0.0, 0.0, 1.0],
        ];
        match self {
            Form::F2 => &G2,
            Form::F4 => &G4,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct WinoParams {
    pub batch: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub in_c4: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub out_c: u32,
    pub out_c4: u32,
    pub tiles_h: u32,
    pub tiles_w: u32,
    pub tiles: u32,
    pub pad_t: u32,
    pub pad_l: u32,
    /// Unused (the residual add is the write step's pipeline constant `has_residual`).
    pub _unused: u32,
    pub relu: u32,
    pub _pad: u32,
}

/// Whether a conv can run as Winograd F(2,3) here: 3×3, stride 1, channels multiples of 4 and
/// at least 16 (below that the transforms cost more than they save); neither grouped nor
/// dilated.
pub fn eligible(conv: &Conv2d) -> bool {
    conv.is_plain()
        && conv.kernel == [3, 3]
        && conv.stride == [1, 1]
        && conv.in_c.is_multiple_of(4)
        && conv.in_c >= 16
        && conv.out_c >= 16
}

/// Whether F(4,3) is offered too: an F(2,3)-eligible conv of at most 256 × 256 channels. Its U
/// is 36 · Cin · Cout values, 4× the conv's weights, uploaded beside F(2,3)'s on every
/// adapter, since its tiled GEMM needs no subgroups (resnet50's 14² stage: 45 MiB, resnet34's:
/// 99 MiB).
/// The 512-channel 3×3s run on 7 × 7 maps, where F(4,3)'s 4 tiles an image never pay.
pub fn eligible_f4(conv: &Conv2d) -> bool {
    eligible(conv) && conv.in_c <= 256 && conv.out_c <= 256
}

/// `U[e][ci][co]` (Cout padded to 16) of `form` from HWIO weights, `U = G g Gᵀ` per (ci, co).
pub fn transform_weights(conv: &Conv2d, hwio: &[f32], form: Form) -> Vec<f32> {
    let g_mat = form.g();
    let n = g_mat.len();
    let (cin, cout) = (conv.in_c, conv.out_c);
    let cp = padded_out_c(cout);
    let mut u = vec![0.0f32; n * n * cin * cp];
    let mut gg = vec![[0.0f64; 3]; n];
    for ci in 0..cin {
        for co in 0..cout {
            let g = |ky: usize, kx: usize| hwio[((ky * 3 + kx) * cin + ci) * cout + co] as f64;
            // G g: n × 3
            for (i, row) in gg.iter_mut().enumerate() {
                for (kx, v) in row.iter_mut().enumerate() {
                    *v = (0..3).map(|ky| g_mat[i][ky] * g(ky, kx)).sum();
                }
            }
            for i in 0..n {
                for j in 0..n {
                    let v: f64 = (0..3).map(|kx| gg[i][kx] * g_mat[j][kx]).sum();
                    u[((i * n + j) * cin + ci) * cp + co] = v as f32;
                }
            }
        }
    }
    u
}

/// Tiles of an `oh × ow` output: (rows, cols, total for the batch).
pub fn tiles(batch: usize, oh: usize, ow: usize, form: Form) -> (usize, usize, usize) {
    let (th, tw) = (oh.div_ceil(form.m()), ow.div_ceil(form.m()));
    (th, tw, batch * th * tw)
}

/// Bytes of the transformed input V and the GEMM output M.
pub fn scratch_bytes(conv: &Conv2d, batch: usize, oh: usize, ow: usize, form: Form) -> (u64, u64) {
    let (_, _, t) = tiles(batch, oh, ow, form);
    let e = form.e();
    (
        (e * t * conv.in_c * 4) as u64,
        (e * t * padded_out_c(conv.out_c) * 4) as u64,
    )
}

/// Parameters and the grids of the input, GEMM (`winograd.wgsl`'s) and output passes with one
/// vec4 of channels per transform invocation ([`transform_passes`] has the 8-channel ones).
#[allow(clippy::too_many_arguments)]
pub fn params(
    conv: &Conv2d,
    batch: usize,
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
    relu: bool,
    form: Form,
) -> (WinoParams, [[u32; 3]; 3]) {
    let (th, tw, t) = tiles(batch, out_h, out_w, form);
    let out_c4 = padded_out_c(conv.out_c) / 4;
    let p = WinoParams {
        batch: batch as u32,
        in_h: in_h as u32,
        in_w: in_w as u32,
        in_c4: (conv.in_c / 4) as u32,
        out_h: out_h as u32,
        out_w: out_w as u32,
        out_c: conv.out_c as u32,
        out_c4: out_c4 as u32,
        tiles_h: th as u32,
        tiles_w: tw as u32,
        tiles: t as u32,
        pad_t: conv.pad[0] as u32,
        pad_l: conv.pad[1] as u32,
        _unused: 0,
        relu: relu as u32,
        _pad: 0,
    };
    let input = grid_1d((t * conv.in_c / 4).div_ceil(64) as u32);
    // winograd.wgsl's GEMM: x = groups of 8 × 16 channels, y = groups of 8 × 8 tiles, z = the
    // products.
    let gemm = [
        (out_c4 / 4).div_ceil(8) as u32,
        t.div_ceil(64) as u32,
        form.e() as u32,
    ];
    let output = grid_1d((t * out_c4).div_ceil(64) as u32);
    (p, [input, gemm, output])
}

/// The input and output transform passes (kernel and grid) of a conv whose parameters are
/// `p` and whose vec4 grids `params` gave: in u64-pairs builds (`pairs`) F(4,3)'s transforms
/// over 8 channels per invocation where the channels come in eights (Cin for the input
/// transform, Cout for the output one, whose write step then stores pairs), since on lavapipe
/// their time follows their loads and stores; the vec4 ones elsewhere.
pub fn transform_passes(
    p: &WinoParams,
    form: Form,
    grids: &[[u32; 3]; 3],
    pairs: bool,
) -> [(Kernel, [u32; 3]); 2] {
    let (input, output) = form.transforms();
    let eights = |c: u32| pairs && form == Form::F4 && c.is_multiple_of(8);
    let by_eights = |c4: u32| grid_1d((p.tiles * c4 / 2).div_ceil(64));
    [
        if eights(4 * p.in_c4) {
            (Kernel::Winograd4Input8, by_eights(p.in_c4))
        } else {
            (input, grids[0])
        },
        if eights(p.out_c) {
            (Kernel::Winograd4Output8, by_eights(p.out_c4))
        } else {
            (output, grids[2])
        },
    ]
}

/// Whether F(4,3) should beat F(2,3) on `batch` maps of `oh × ow` with the subgroup GEMM: its
/// GEMM work (products × tiles, padded to the GEMM's tile blocks) at most 3/4 of F(2,3)'s.
/// Before padding the work is 36/64 of F(2,3)'s. Measured per layer of resnet50 at batch 1 on
/// lavapipe, F(4,3) took 0.92–0.95 of F(2,3)'s time on 56² maps (16-tile blocks), 0.82–0.87 on
/// 28² (8-tile blocks) and 0.79 on 14² (16 tiles, `gemm_t16`; 1.1–1.2 while that block was
/// `gemm2`'s 2 tiles a lane). On 8 × 8 maps at batch 1 (4 tiles) F(2,3) wins.
pub fn prefer_f4(batch: usize, oh: usize, ow: usize) -> bool {
    let work = |form: Form| {
        let (_, _, t) = tiles(batch, oh, ow, form);
        let block = 8 * sg_rows(t);
        form.e() * t.div_ceil(block) * block
    };
    4 * work(Form::F4) <= 3 * work(Form::F2)
}

/// Tiles per invocation of the subgroup GEMM's entry points `gemm16`, `gemm8`; 2 stands for
/// `gemm_t16`, whose workgroup shares 16 tiles (2 per lane) and spreads its lanes over the
/// channels.
pub const SG_ROWS: [usize; 3] = [16, 8, 2];

/// Tiles per invocation of the subgroup GEMM for `t` tiles: the most (each weight row then
/// feeds the most FMAs) whose padded tile count is within a quarter of the least padded one
/// (7 × 7 maps at batch 1 have 16 tiles: 8 × 16 per workgroup would compute 112 of padding);
/// then 14 for 16 and 7 for 8 where those blocks of 112 and 56 tiles pad less (F(4,3) on a
/// 56² map has 196 tiles, which 128-tile blocks pad to 256 and 112-tile ones to 224; a 28² map
/// 49, which 64 pads to 64 and 56 to 56).
pub fn sg_rows(t: usize) -> usize {
    let padded = |rows: usize| super::conv_sg::padded(t, rows);
    let least = SG_ROWS.iter().map(|&r| padded(r)).min().unwrap_or(0);
    let rows = SG_ROWS
        .into_iter()
        .find(|&r| 4 * padded(r) <= 5 * least)
        .unwrap_or(2);
    match rows {
        16 if padded(14) < padded(16) => 14,
        8 if padded(7) < padded(8) => 7,
        _ => rows,
    }
}

/// The subgroup GEMM's entry point and grid for `t` tiles, `out_c4` (padded) output vec4
/// columns and `e` products: x = channel blocks (64 channels, or 128 for `gemm_t16`), y =
/// blocks of 8 · rows tiles, z = the products.
pub fn sg_gemm(t: usize, out_c4: usize, e: usize) -> (Kernel, [u32; 3]) {
    let rows = sg_rows(t);
    let (kernel, channels) = match rows {
        16 => (Kernel::WinogradGemmSg16, 16),
        14 => (Kernel::WinogradGemmSg14, 16),
        8 => (Kernel::WinogradGemmSg8, 16),
        7 => (Kernel::WinogradGemmSg7, 16),
        _ => (Kernel::WinogradGemmT16, 32),
    };
    let grid = [
        out_c4.div_ceil(channels) as u32,
        t.div_ceil(8 * rows) as u32,
        e as u32,
    ];
    (kernel, grid)
}

/// The grid of `winograd_tiled.wgsl`'s GEMM for `t` tiles, `out_c4` (padded) output vec4
/// columns and `e` products: x = 64-channel tiles, y = 64-tile rows, z = the products.
pub fn tiled_gemm_grid(t: usize, out_c4: usize, e: usize) -> [u32; 3] {
    [out_c4.div_ceil(16) as u32, t.div_ceil(64) as u32, e as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A is the 3×3 correlation of the patch d with g, for both
    /// forms, with the Bᵀ and Aᵀ that shaders/winograd.wgsl and winograd4.wgsl apply.
    #[test]
    fn transforms_give_the_correlation() {
        let bt2: &[&[f64]] = &[
            &[1., 0., -1., 0.],
            &[0., 1., 1., 0.],
            &[0., -1., 1., 0.],
            &[0., 1., 0., -1.],
        ];
        let at2: &[&[f64]] = &[&[1., 1., 1., 0.], &[0., 1., -1., -1.]];
        let bt4: &[&[f64]] = &[
            &[4., 0., -5., 0., 1., 0.],
            &[0., -4., -4., 1., 1., 0.],
            &[0., 4., -4., -1., 1., 0.],
            &[0., -2., -1., 2., 1., 0.],
            &[0., 2., -1., -2., 1., 0.],
            &[0., 4., 0., -5., 0., 1.],
        ];
        let at4: &[&[f64]] = &[
            &[1., 1., 1., 1., 1., 0.],
            &[0., 1., -1., 2., -2., 0.],
            &[0., 1., 1., 4., 4., 0.],
            &[0., 1., -1., 8., -8., 1.],
        ];
        for (form, bt, at) in [(Form::F2, bt2, at2), (Form::F4, bt4, at4)] {
            let (m, n) = (form.m(), form.m() + 2);
            assert_eq!(n * n, form.e());
            let conv = Conv2d::square(1, 1, 3, 1, 1);
            // HWIO with Cin = Cout = 1: g[ky][kx].
            let g: Vec<f32> = (0..9).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
            let u = transform_weights(&conv, &g, form);
            let cp = padded_out_c(1);
            let d: Vec<f64> = (0..n * n)
                .map(|i| ((i * 5 % 13) as f64 - 6.0) / 3.0)
                .collect();
            // V = Bᵀ d B
            let v = |i: usize, j: usize| -> f64 {
                (0..n)
                    .flat_map(|a| (0..n).map(move |b| (a, b)))
                    .map(|(a, b)| bt[i][a] * d[a * n + b] * bt[j][b])
                    .sum()
            };
            for oy in 0..m {
                for ox in 0..m {
                    let mut y = 0.0;
                    for i in 0..n {
                        for j in 0..n {
                            y += at[oy][i] * (u[(i * n + j) * cp] as f64 * v(i, j)) * at[ox][j];
                        }
                    }
                    let want: f64 = (0..3)
                        .flat_map(|ky| (0..3).map(move |kx| (ky, kx)))
                        .map(|(ky, kx)| d[(oy + ky) * n + ox + kx] * g[ky * 3 + kx] as f64)
                        .sum();
                    assert!(
                        (y - want).abs() < 1e-5,
                        "{form:?} ({oy}, {ox}): {y} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn f4_where_its_padded_gemm_work_is_small() {
        // resnet50's narrow 3×3s at batch 1: 56² and 28² maps.
        assert!(prefer_f4(1, 56, 56));
        assert!(prefer_f4(1, 28, 28));
        // CIFAR's 8 × 8 maps: 4 tiles of 4 × 4 an image, padded to 16, at batch 1; filled at 16.
        assert!(!prefer_f4(1, 8, 8));
        assert!(prefer_f4(16, 8, 8));
        // 14² at batch 1: 16 tiles, one `gemm_t16` block, against F(2,3)'s 49 in 64.
        assert!(prefer_f4(1, 14, 14));
        // 7² at batch 1: 4 tiles padded to 16, against F(2,3)'s 16 filling the block.
        assert!(!prefer_f4(1, 7, 7));
    }

    #[test]
    fn sg_rows_follow_the_tile_count() {
        // resnet50 at batch 1: 56², 28², 14², 7² maps.
        // F(2,3) tiles: 28 · 28, 14 · 14, 7 · 7, 4 · 4.
        assert_eq!(sg_rows(28 * 28), 14);
        assert_eq!(sg_rows(14 * 14), 14);
        assert_eq!(sg_rows(7 * 7), 7);
        assert_eq!(sg_rows(4 * 4), 2);
        assert_eq!(sg_rows(1), 2);
        // A batch of 64 fills the large block exactly.
        assert_eq!(sg_rows(64 * 16), 16);
        assert_eq!(sg_rows(128), 16);
        assert_eq!(sg_rows(64), 8);
    }

    #[test]
    fn sg_grid_covers_every_tile_and_channel_block() {
        for t in [1, 16, 49, 64, 128, 196, 392, 784, 1000] {
            for out_c4 in [4, 16, 20, 128] {
                let (k, g) = sg_gemm(t, out_c4, 16);
                let (rows, cols) = match k {
                    Kernel::WinogradGemmSg16 => (16, 16),
                    Kernel::WinogradGemmSg14 => (14, 16),
                    Kernel::WinogradGemmSg8 => (8, 16),
                    Kernel::WinogradGemmSg7 => (7, 16),
                    Kernel::WinogradGemmT16 => (2, 32),
                    other => panic!("{other:?} is not a subgroup Winograd GEMM"),
                };
                assert_eq!(rows, sg_rows(t));
                assert!(g[0] as usize * cols >= out_c4 && (g[0] as usize - 1) * cols < out_c4);
                assert!(g[1] as usize * 8 * rows >= t && (g[1] as usize - 1) * 8 * rows < t);
                assert_eq!(g[2], 16);
            }
        }
    }

    /// The 8-channel transforms only where the build has pairs, the form is F(4,3) and the
    /// side's channels come in eights; their grids cover every (tile, 8 channels) once.
    #[test]
    fn transform_passes_take_pairs_where_channels_come_in_eights() {
        let conv = |cin, cout| Conv2d::square(cin, cout, 3, 1, 1);
        for (cin, cout, form, pairs, want) in [
            (
                64,
                64,
                Form::F4,
                true,
                [Kernel::Winograd4Input8, Kernel::Winograd4Output8],
            ),
            (
                24,
                20,
                Form::F4,
                true,
                [Kernel::Winograd4Input8, Kernel::Winograd4Output],
            ),
            (
                20,
                24,
                Form::F4,
                true,
                [Kernel::Winograd4Input, Kernel::Winograd4Output8],
            ),
            (
                64,
                64,
                Form::F4,
                false,
                [Kernel::Winograd4Input, Kernel::Winograd4Output],
            ),
            (
                64,
                64,
                Form::F2,
                true,
                [Kernel::WinogradInput, Kernel::WinogradOutput],
            ),
        ] {
            let c = conv(cin, cout);
            let (p, grids) = params(&c, 3, 15, 15, 15, 15, true, form);
            let passes = transform_passes(&p, form, &grids, pairs);
            assert_eq!(
                passes.map(|(k, _)| k),
                want,
                "{cin}->{cout} {form:?} pairs {pairs}"
            );
            for ((k, g), c4) in passes.into_iter().zip([p.in_c4, p.out_c4]) {
                let per_invocation = match k {
                    Kernel::Winograd4Input8 | Kernel::Winograd4Output8 => 2,
                    _ => 1,
                };
                let invocations = (p.tiles * c4 / per_invocation) as usize;
                let workgroups = (g[0] * g[1] * g[2]) as usize;
                assert!(workgroups * 64 >= invocations && (workgroups - 1) * 64 < invocations);
            }
        }
    }
}
