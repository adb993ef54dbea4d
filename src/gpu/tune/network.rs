//! The network search of `tune`: a shape's choice is made by timing its leading candidates in
//! the whole network, not alone.
//!
//! A conv timed alone runs with its input and weights warm in the caches and no neighbours,
//! and a shared host's spells of load can favour one candidate over the few rounds it is timed
//! in; either can rank the candidates differently from the network. On a 2-core EPYC host the
//! choices of a tune run made in a noisy spell ran resnet50's changed layers 1.3× slower in the
//! network than the heuristic's (BENCHMARKS.md, twenty-fifth round).
//!
//! Each shape gets its contenders: its baseline (the heuristic's variant where it ran and
//! agreed with the CPU reference, else the fastest candidate alone), then the other usable
//! candidates whose time alone is within [`CONTENDER_SLACK`] of the fastest, fastest first,
//! [`MAX_CONTENDERS`] in all (none of them a candidate pruned after the first round, which
//! took over twice the fastest's time: `candidates.rs`). Network `j` runs every shape on its
//! contender `j` (its baseline where it has fewer), and the networks are profiled in rotating
//! rounds (round `r` starts at network `r mod n`), [`ROUNDS_PER_ITER`] × `--iters` of them.
//! Per shape, network and round, the times of all of the shape's layers are summed to
//! `S(j, r)`:
//!
//! ```text
//! ms(shape, j)    = median over the rounds r of S(j, r)
//! ratio(shape, j) = median over the rounds r of S(j, r) / S(0, r)
//! chosen(shape)   = of the contenders j ≥ 1 with ratio(shape, j) < 1 − NETWORK_MARGIN, the one
//!                   of least ratio (the earlier on a tie); the baseline where there is none
//! ```
//!
//! The ratio pairs each run with the baseline's run of the same round: the networks of a round
//! run back to back, so a spell of load that slows a round slows them all. The margin keeps
//! the rest of the noise from choosing: on a shared CPU host the same layer differs by 10–20 %
//! from run to run, and the least of four such figures is biased low. Deciding by the least of
//! the medians of 5 rounds, a resnet18 search on a 2-core EPYC host chose three shapes that had
//! run 2–5 % faster, which an A/B then ran 1.06× slower; with the medians and the margin two
//! searches in a row chose differently (BENCHMARKS.md, twenty-sixth round).
//!
//! A shape with one contender is not searched: its baseline is chosen.

use std::collections::HashMap;

use super::super::context::Engine;
use super::super::executor::Model;
use super::super::kernels::conv::ConvVariant;
use super::super::kernels::Precision;
use super::super::options::ModelOptions;
use super::super::profile::median;
use super::candidates::rotation;
use super::{Candidate, Choices, TuneProgress};
use crate::error::Result;
use crate::model::Graph;
use crate::weights::{random_input, Tensor};

/// How much slower alone than the fastest candidate a candidate may be and still be searched.
pub const CONTENDER_SLACK: f64 = 1.25;

/// The most contenders of a shape, its baseline included (each is one more network loaded and
/// profiled).
pub const MAX_CONTENDERS: usize = 4;

/// How much faster in the network than the baseline another contender must be to be chosen
/// (its median ratio to the baseline under 1 − this).
pub const NETWORK_MARGIN: f64 = 0.05;

/// Rounds of the network search per `--iters`: a network run costs about as much as its convs
/// timed alone once, far less than the candidates' rounds, and the more rounds the less noise.
pub const ROUNDS_PER_ITER: usize = 3;

/// One contender of a shape in the network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Contender {
    pub variant: ConvVariant,
    /// The median over the rounds of its layers' summed milliseconds.
    pub ms: f64,
    /// The median over the rounds of that sum over the baseline's in the same round (1 for the
    /// baseline).
    pub ratio: f64,
}

/// A shape's contenders in the network, the baseline first.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSearch {
    pub contenders: Vec<Contender>,
}

impl NetworkSearch {
    /// The choice: of the contenders whose ratio is under 1 − [`NETWORK_MARGIN`], the one of
    /// least ratio (the earlier on a tie); the baseline where there is none.
    pub fn chosen(&self) -> ConvVariant {
        let mut best: Option<Contender> = None;
        for &c in &self.contenders[1..] {
            if c.ratio < 1.0 - NETWORK_MARGIN && best.is_none_or(|b| c.ratio < b.ratio) {
                best = Some(c);
            }
        }
        best.unwrap_or(self.contenders[0]).variant
    }
}

/// The contenders of a shape whose candidates were timed alone, the baseline first (see the
/// module doc). Empty when no candidate is usable.
pub(super) fn contenders(candidates: &[Candidate], heuristic: ConvVariant) -> Vec<ConvVariant> {
    // Those timed in every round (a pruned candidate is over twice the fastest).
    let mut usable: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.usable() && !c.pruned)
        .collect();
    usable.sort_by(|a, b| a.ms.total_cmp(&b.ms));
    let Some(fastest) = usable.first() else {
        return Vec::new();
    };
    let baseline = if candidates
        .iter()
        .any(|c| c.variant == heuristic && c.usable())
    {
        heuristic
    } else {
        fastest.variant
    };
    let limit = CONTENDER_SLACK * fastest.ms;
    let mut out = vec![baseline];
    out.extend(
        usable
            .iter()
            .filter(|c| c.variant != baseline && c.ms <= limit)
            .map(|c| c.variant)
            .take(MAX_CONTENDERS - 1),
    );
    out
}

/// One shape in the search: its cache key, the names of all of its layers, the heuristic's
/// variant and its contenders (baseline first).
#[derive(Clone, Debug)]
pub(super) struct SearchShape {
    pub key: String,
    pub layers: Vec<String>,
    pub heuristic: ConvVariant,
    pub contenders: Vec<ConvVariant>,
}

impl SearchShape {
    /// The variant this shape runs in network `j`.
    fn variant_in(&self, j: usize) -> ConvVariant {
        *self.contenders.get(j).unwrap_or(&self.contenders[0])
    }
}

/// The tuned choices of network `j`: each shape's variant there, where it is not the
/// heuristic's (those shapes run as a model without a cache runs them).
fn network_choices(shapes: &[SearchShape], j: usize) -> Choices {
    shapes
        .iter()
        .filter(|s| s.variant_in(j) != s.heuristic)
        .map(|s| (s.key.clone(), s.variant_in(j)))
        .collect()
}

/// Each searched shape's contenders with their times: `runs[j][r]` is network `j`'s run in
/// round `r`, milliseconds per layer name. A layer missing from a run counts 0 (a ratio of
/// two zero sums is 1).
fn judge(
    runs: &[Vec<HashMap<String, f64>>],
    shapes: &[SearchShape],
) -> HashMap<String, NetworkSearch> {
    shapes
        .iter()
        .filter(|s| s.contenders.len() > 1)
        .map(|s| {
            // S(j, r) for each contender j, round by round.
            let sums: Vec<Vec<f64>> = runs[..s.contenders.len()]
                .iter()
                .map(|net| {
                    net.iter()
                        .map(|run| s.layers.iter().filter_map(|l| run.get(l)).sum())
                        .collect()
                })
                .collect();
            let contenders = s
                .contenders
                .iter()
                .zip(&sums)
                .map(|(&variant, own)| {
                    let ratios: Vec<f64> = own
                        .iter()
                        .zip(&sums[0])
                        .map(|(&t, &b)| ratio(t, b))
                        .collect();
                    Contender {
                        variant,
                        ms: median(own),
                        ratio: median(&ratios),
                    }
                })
                .collect();
            (s.key.clone(), NetworkSearch { contenders })
        })
        .collect()
}

/// `t / b`, where two zero times are a tie.
fn ratio(t: f64, b: f64) -> f64 {
    if b > 0.0 {
        t / b
    } else if t > 0.0 {
        f64::INFINITY
    } else {
        1.0
    }
}

/// One profiled run of `model`: milliseconds per layer name.
fn layer_ms(model: &Model, input: &Tensor) -> Result<HashMap<String, f64>> {
    Ok(model
        .profile(input, 1)?
        .layers
        .into_iter()
        .map(|l| (l.name, l.seconds * 1e3))
        .collect())
}

/// Searches the contenders of `shapes` in the network `graph` at `batch × h × w` in
/// `precision`, profiling every network in each of `rounds` rotating rounds (the caller passes
/// [`ROUNDS_PER_ITER`] × `--iters`). Returns the shapes that had more than one contender; none
/// when no shape had. Tells `progress` when it starts.
pub(super) fn search_in_network(
    engine: &Engine,
    graph: &Graph,
    (batch, h, w): (usize, usize, usize),
    precision: Precision,
    shapes: &[SearchShape],
    rounds: usize,
    progress: &mut dyn FnMut(TuneProgress<'_>),
) -> Result<HashMap<String, NetworkSearch>> {
    let n = shapes.iter().map(|s| s.contenders.len()).max().unwrap_or(0);
    if n < 2 {
        return Ok(HashMap::new());
    }
    let rounds = rounds.max(1);
    progress(TuneProgress::Search {
        shapes: shapes.iter().filter(|s| s.contenders.len() > 1).count(),
        networks: n,
        rounds,
    });
    let len = batch * graph.input_channels * h * w;
    let input = Tensor::new(
        vec![batch, graph.input_channels, h, w],
        random_input(23, len),
    );
    let mut nets = Vec::with_capacity(n);
    for j in 0..n {
        let options = ModelOptions {
            tuned: network_choices(shapes, j),
            precision,
            ..ModelOptions::default()
        };
        let net = Model::with_options(engine, graph.clone(), options)?;
        // Warm-up: pipelines and buffers are made on the first call.
        net.infer(&input)?;
        nets.push(net);
    }
    let mut runs = vec![Vec::new(); n];
    for round in 0..rounds {
        for j in rotation(n, round) {
            runs[j].push(layer_ms(&nets[j], &input)?);
        }
    }
    Ok(judge(&runs, shapes))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_variants::{A, B, C, D, E};

    fn candidate(variant: ConvVariant, ms: f64, usable: bool) -> Candidate {
        Candidate {
            variant,
            ms,
            rel_err: if usable { 1e-7 } else { 1e-2 },
            verified: usable,
            failed: None,
            pruned: false,
        }
    }

    #[test]
    fn contenders_are_the_baseline_then_the_usable_candidates_near_the_fastest() {
        let cands = [
            candidate(A, 1.30, true),
            candidate(B, 1.00, true),
            candidate(C, 1.20, true),
            candidate(D, 1.10, false),
            candidate(E, 1.26, true),
        ];
        // The heuristic's A first, although it is 1.3× the fastest; then B and C (within
        // 1.25×, fastest first); not D (disagreed with the reference), not E (1.26×).
        assert_eq!(contenders(&cands, A), [A, B, C]);
        // Where the heuristic's variant is the fastest it still comes first.
        assert_eq!(contenders(&cands, B), [B, C]);
        // A heuristic variant that is not usable (D) or not a candidate (tiled_split_k):
        // the fastest alone is the baseline.
        assert_eq!(contenders(&cands, D), [B, C]);
        assert_eq!(contenders(&cands, ConvVariant::TiledSplitK), [B, C]);
        // At most MAX_CONTENDERS, the nearest kept.
        let close: Vec<Candidate> = [A, B, C, D, E]
            .iter()
            .enumerate()
            .map(|(i, &v)| candidate(v, 1.0 + 0.01 * i as f64, true))
            .collect();
        assert_eq!(contenders(&close, E), [E, A, B, C]);
        assert_eq!(MAX_CONTENDERS, 4);
        // A pruned heuristic variant (over twice the fastest in the first round) is still the
        // baseline; a pruned candidate is never another contender.
        let mut pruned = cands.to_vec();
        pruned[0].pruned = true;
        pruned[2].pruned = true;
        assert_eq!(contenders(&pruned, A), [A, B]);
        // No usable candidate, no contenders.
        assert!(contenders(&[candidate(A, 1.0, false)], A).is_empty());
    }

    fn shape(key: &str, layers: &[&str], contenders: &[ConvVariant]) -> SearchShape {
        SearchShape {
            key: key.into(),
            layers: layers.iter().map(|l| l.to_string()).collect(),
            heuristic: A,
            contenders: contenders.to_vec(),
        }
    }

    #[test]
    fn each_network_runs_contender_j_where_a_shape_has_one_and_leaves_the_heuristic_out() {
        let shapes = [
            shape("s", &["s1"], &[A, B, C]),
            shape("t", &["t1"], &[B, C]),
            shape("u", &["u1"], &[A]),
        ];
        let choices = |j| {
            let mut v: Vec<(String, ConvVariant)> =
                network_choices(&shapes, j).into_iter().collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        // Network 0: every baseline, the heuristic's A left to the heuristic.
        assert_eq!(choices(0), [("t".to_string(), B)]);
        assert_eq!(choices(1), [("s".to_string(), B), ("t".to_string(), C)]);
        // t has no third contender: its baseline again.
        assert_eq!(choices(2), [("s".to_string(), C), ("t".to_string(), B)]);
    }

    fn run(times: &[(&str, f64)]) -> HashMap<String, f64> {
        times.iter().map(|&(l, t)| (l.to_string(), t)).collect()
    }

    fn contender(variant: ConvVariant, ms: f64, ratio: f64) -> Contender {
        Contender { variant, ms, ratio }
    }

    #[test]
    fn a_shape_is_judged_by_its_summed_layer_times_paired_with_the_baseline_per_round() {
        // Shape `a` has two layers and three contenders, `b` one layer and two, `c` a layer no
        // run has (0 ms everywhere), `d` one contender (not searched).
        let shapes = [
            shape("a", &["a1", "a2"], &[A, B, C]),
            shape("b", &["b1"], &[A, B]),
            shape("c", &["gone"], &[A, C]),
            shape("d", &["d1"], &[A]),
        ];
        // Per round, a = a1 + a2: network 0 4, 8, 4 (median 4); network 1 3.6, 7.2, 4.4
        // (median 4.4, ratios 0.9, 0.9, 1.1: median 0.9); network 2 4, 4, 4 (ratios 1, 0.5,
        // 1: median 1). Round 1 is a slow spell for networks 0 and 1.
        let runs = vec![
            vec![
                run(&[("a1", 2.0), ("a2", 2.0), ("b1", 1.0), ("d1", 1.0)]),
                run(&[("a1", 4.0), ("a2", 4.0), ("b1", 1.0), ("d1", 1.0)]),
                run(&[("a1", 2.0), ("a2", 2.0), ("b1", 1.0), ("d1", 1.0)]),
            ],
            vec![
                run(&[("a1", 1.6), ("a2", 2.0), ("b1", 2.0)]),
                run(&[("a1", 3.2), ("a2", 4.0), ("b1", 0.5)]),
                run(&[("a1", 2.4), ("a2", 2.0), ("b1", 2.0)]),
            ],
            vec![
                run(&[("a1", 2.0), ("a2", 2.0)]),
                run(&[("a1", 2.0), ("a2", 2.0)]),
                run(&[("a1", 2.0), ("a2", 2.0)]),
            ],
        ];
        let found = judge(&runs, &shapes);
        let a = &found["a"].contenders;
        assert_eq!((a[0].variant, a[0].ms, a[0].ratio), (A, 4.0, 1.0), "{a:?}");
        assert_eq!(a[1].variant, B);
        assert!(
            (a[1].ms - 4.4).abs() < 1e-12 && (a[1].ratio - 0.9).abs() < 1e-12,
            "{a:?}"
        );
        assert_eq!((a[2].variant, a[2].ms, a[2].ratio), (C, 4.0, 1.0), "{a:?}");
        // B's median is above the baseline's, but paired per round it is 10 % faster.
        assert_eq!(found["a"].chosen(), B);
        // b: ratios 2, 0.5, 2 (median 2): the baseline stays.
        assert_eq!(found["b"].contenders[1].ratio, 2.0);
        assert_eq!(found["b"].chosen(), A);
        // Two zero sums are a tie, which keeps the baseline.
        assert_eq!(found["c"].contenders[1].ratio, 1.0);
        assert_eq!(found["c"].chosen(), A);
        assert!(!found.contains_key("d"));
        // Faster by less than the margin: the baseline stays.
        let near = NetworkSearch {
            contenders: vec![
                contender(A, 1.0, 1.0),
                contender(B, 0.9, 0.96),
                contender(C, 0.9, 0.951),
            ],
        };
        assert_eq!(near.chosen(), A);
        // Of those over the margin the least ratio, a tie keeping the earlier.
        let tie = NetworkSearch {
            contenders: vec![
                contender(A, 2.0, 1.0),
                contender(B, 1.0, 0.5),
                contender(C, 1.0, 0.5),
                contender(D, 0.9, 0.75),
            ],
        };
        assert_eq!(tie.chosen(), B);
    }
}
