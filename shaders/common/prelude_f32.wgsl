// Piece: the f32 prelude. Storage types of activations (`act`, `act4`) and conv weights
// (`wgt4`); arithmetic is f32 in every build. Assembled first by src/gpu/kernels/shaders.rs.
alias act = f32;
alias act4 = vec4<f32>;
alias wgt4 = vec4<f32>;
