//! What [`super::tune`] reports while it runs, step by step. On a CPU driver a tune lasts
//! minutes: every candidate's kernels compile at their first use (resnet50 at batch 1 took
//! 14 min on Mesa 25's lavapipe, BENCHMARKS.md, thirty-fourth round), and a caller that prints
//! nothing meanwhile looks hung. On a GPU the whole tune takes seconds.
//!
//! Order: for each distinct conv shape in network order, `Shape` then `Measured`; then
//! `Search` once, where some shape has more than one contender.

use crate::gpu::kernels::conv::ConvVariant;

/// One step of a tune.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TuneProgress<'a> {
    /// Shape `index` (from 0) of `total` is about to be measured: its first layer in network
    /// order, how many layers share the shape, and how many variants support it.
    Shape {
        index: usize,
        total: usize,
        layer: &'a str,
        layers: usize,
        candidates: usize,
    },
    /// That shape was measured: its fastest verified candidate timed alone
    /// ([`super::LayerTuning::fastest`]) with its median milliseconds, and the seconds the
    /// shape took (its candidates' loads, compiles, checks and timings).
    Measured {
        index: usize,
        total: usize,
        layer: &'a str,
        fastest: ConvVariant,
        ms: f64,
        seconds: f64,
    },
    /// The network search starts: `shapes` shapes have more than one contender, run as
    /// `networks` whole networks profiled in `rounds` rotating rounds.
    Search {
        shapes: usize,
        networks: usize,
        rounds: usize,
    },
}
