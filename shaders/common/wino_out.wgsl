// Piece: the Winograd output transforms' residual operand and output, elements of the write
// step's output view (`out_t`); the other Winograd bindings are in wino_io.
@group(0) @binding(7) var<storage, read> residual: array<out_t>;
@group(0) @binding(8) var<storage, read_write> y: array<out_t>;
