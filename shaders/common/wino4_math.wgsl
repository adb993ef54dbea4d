// Piece: Winograd F(4x4, 3x3)'s transforms along one row or column of a tile, four channels
// at a time (B^T and A^T are written out in shaders/winograd4.wgsl; src/gpu/kernels/winograd.rs
// tests them against the direct correlation).

struct Six { v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, v4: vec4<f32>, v5: vec4<f32> }
struct Four { v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32> }

// B^T d for six values d (a row or a column of the patch).
fn bt6(d: Six) -> Six {
    let a = d.v4 - 4.0 * d.v2;
    let b = d.v3 - 4.0 * d.v1;
    let c = d.v4 - d.v2;
    let e = 2.0 * (d.v3 - d.v1);
    return Six(4.0 * d.v0 - 5.0 * d.v2 + d.v4, a + b, a - b, c + e, c - e,
               4.0 * d.v1 - 5.0 * d.v3 + d.v5);
}

// A^T m for six values m.
fn at6(m: Six) -> Four {
    let s12 = m.v1 + m.v2;
    let d12 = m.v1 - m.v2;
    let s34 = m.v3 + m.v4;
    let d34 = m.v3 - m.v4;
    return Four(m.v0 + s12 + s34, d12 + 2.0 * d34, s12 + 4.0 * s34, d12 + 8.0 * d34 + m.v5);
}
