// Piece: the f32 conv weights read as vec4<u64>, two vec4s (32 bytes) per load, for CPU
// adapters with SHADER_INT64 (src/gpu/kernels/shaders.rs `WeightView::Pairs`). The same
// interface as weights_vec4, in units of f32 vec4:
//   load_w8(i) = (w4[i], w4[i + 1])   (i even)      load_w4(i) = w4[i]
// where w4 is the binding read as vec4<f32> (each u64 two f32, see u64_pairs).
//
// Why: lavapipe runs a storage load as a loop over the SIMD lanes that fetches every component
// of the lane's value per iteration, so the loop's cost follows the number of loads more than
// their width, and four u64 cost about what four f32 do. The subgroup GEMMs load 8 channels
// per lane and row; as one load they took 0.93-0.96 of resnet50's GPU time (BENCHMARKS.md).
alias wgt_t = vec4<u64>;

// Two vec4s of weights: 8 consecutive output channels of one row (u64_pairs' `Eight`).
alias W8 = Eight;

fn load_w8(i: u32) -> W8 {
    return unpack8(w[i / 2u]);
}

fn load_w4(i: u32) -> vec4<f32> {
    let pair = load_w8(i & ~1u);
    return select(pair.a, pair.b, (i & 1u) == 1u);
}
