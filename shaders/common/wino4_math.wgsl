// Piece: Winograd F(4x4, 3x3)'s transforms along one row or column of a tile, four channels
// at a time (B^T and A^T are written out in shaders/winograd4.wgsl; src/gpu/kernels/winograd.rs
// tests them against the direct correlation), and the rows and columns of the arrays a
// transform keeps between its two directions.

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

// A tile's 6 × 6 values after the row transforms (w[6a + j]: row a, column j), and the 4 × 6
// left by A^T along the columns (q[6a + j]).
alias Patch36 = array<vec4<f32>, 36>;
alias Rows24 = array<vec4<f32>, 24>;

// Row a of w becomes s.
fn put_row(w: ptr<function, Patch36>, a: u32, s: Six) {
    let r = 6u * a;
    (*w)[r] = s.v0;
    (*w)[r + 1u] = s.v1;
    (*w)[r + 2u] = s.v2;
    (*w)[r + 3u] = s.v3;
    (*w)[r + 4u] = s.v4;
    (*w)[r + 5u] = s.v5;
}

// Column j of w.
fn column(w: ptr<function, Patch36>, j: u32) -> Six {
    return Six((*w)[j], (*w)[6u + j], (*w)[12u + j], (*w)[18u + j], (*w)[24u + j], (*w)[30u + j]);
}

// Column j of q becomes c.
fn put_column(q: ptr<function, Rows24>, j: u32, c: Four) {
    (*q)[j] = c.v0;
    (*q)[6u + j] = c.v1;
    (*q)[12u + j] = c.v2;
    (*q)[18u + j] = c.v3;
}

// Row a of q.
fn row(q: ptr<function, Rows24>, a: u32) -> Six {
    let r = 6u * a;
    return Six((*q)[r], (*q)[r + 1u], (*q)[r + 2u], (*q)[r + 3u], (*q)[r + 4u], (*q)[r + 5u]);
}
