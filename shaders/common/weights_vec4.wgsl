// Piece: the conv weights read one vec4 per load (every device). Declares `wgt_t`, the element
// of the weight binding (`w`, declared by conv_io or wino_io), and the two ways kernels read
// it, in units of vec4 (4 output channels of one weight row):
//   load_w4(i) = w[i]                  load_w8(i) = (w[i], w[i + 1])   (i even)
alias wgt_t = wgt4;

// Two vec4s of weights: 8 consecutive output channels of one row.
struct W8 { a: vec4<f32>, b: vec4<f32> }

fn load_w4(i: u32) -> vec4<f32> {
    return vec4<f32>(w[i]);
}

fn load_w8(i: u32) -> W8 {
    return W8(vec4<f32>(w[i]), vec4<f32>(w[i + 1u]));
}
