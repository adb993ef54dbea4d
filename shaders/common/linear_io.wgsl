// Piece: the classifier's parameters (src/gpu/kernels/linear.rs `LinearParams`), bias and
// logits bindings, and the fused pool + classifier's classes: invocation l of workgroup j
// computes classes o0 + 64r (o0 = 256j + l, r < 4) of image n.

struct LinearParams {
    batch: u32,
    in_f: u32,
    out_f: u32,
    // pixels per image (the pool_linear kernels only)
    hw: u32,
}

@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> logits: array<f32>;
@group(0) @binding(4) var<uniform> p: LinearParams;

// The first element of each of the four classes' weight rows, rows of `per_row` elements;
// classes past the last read row 0 (and are not stored).
fn class_rows(o0: u32, per_row: u32) -> vec4<u32> {
    let last = p.out_f - 1u;
    let o = vec4<u32>(o0, o0 + 64u, o0 + 128u, o0 + 192u);
    return select(vec4<u32>(0u), o, o <= vec4<u32>(last)) * per_row;
}

// logits[n][o0 + 64r] = s[r] + b[o0 + 64r] for the classes that exist.
fn store_classes(n: u32, o0: u32, s: vec4<f32>) {
    for (var r = 0u; r < 4u; r++) {
        let o = o0 + 64u * r;
        if (o < p.out_f) {
            logits[n * p.out_f + o] = s[r] + b[o];
        }
    }
}
