// Piece: the conv kernels' shape parameters (src/gpu/kernels/conv.rs `ConvParams`, checked
// field by field by tests/shaders.rs) and their bindings after the input `x` (which a
// conv_x1/conv_x4 piece declares): weights HWIO (Cin/groups rows per tap) with Cout padded to 16,
// as elements of the weights view (`wgt_t`, read through its load_w4/load_w8); the f32 bias
// padded the same way; the residual operand and the output (elements of the write step's
// output view, `out_t`); the parameters.
struct ConvParams {
    batch: u32, in_h: u32, in_w: u32, in_c: u32,
    out_h: u32, out_w: u32, out_c: u32, out_c4: u32,
    k_h: u32, k_w: u32, stride_h: u32, stride_w: u32,
    pad_t: u32, pad_l: u32, _unused: u32, relu: u32,
    groups: u32, dil_h: u32, dil_w: u32, k_splits: u32,
}

@group(0) @binding(1) var<storage, read> w: array<wgt_t>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> residual: array<out_t>;
@group(0) @binding(4) var<storage, read_write> y: array<out_t>;
@group(0) @binding(5) var<uniform> p: ConvParams;

// Output pixels of the dispatch (GEMM rows).
fn pixels() -> u32 {
    return p.batch * p.out_h * p.out_w;
}
