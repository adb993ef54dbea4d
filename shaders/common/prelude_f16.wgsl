// Piece: the f16 prelude (adapters with SHADER_F16). Activations and conv weights are stored
// in f16; every kernel converts on load and accumulates in f32. Assembled first by
// src/gpu/kernels/shaders.rs.
enable f16;
alias act = f16;
alias act4 = vec4<f16>;
alias wgt4 = vec4<f16>;
