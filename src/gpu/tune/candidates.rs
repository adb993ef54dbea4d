//! One layer's candidates: each conv variant is built and run once against the CPU reference,
//! then every one that ran is timed in interleaved rounds (round `r` takes candidate
//! `(r + k) mod n` as its `k`-th measurement, so that no candidate always runs first, or always
//! right after the same other one); its time is the median of its rounds.
//!
//! A candidate more than [`PRUNE_FACTOR`] times slower than the fastest verified one in the
//! first round is not timed again (its time is that round's): a machine's drift of 20 % cannot
//! bring it within the network search's slack (`network.rs`), and on a CPU driver the slowest
//! variants (a per-lane GEMM, workgroup-memory tiles) take 10–20× the fastest, so the later
//! rounds of the others cost a fraction of what all of them would.
//!
//! A candidate that fails (its pipeline does not compile on this driver, its buffers do not fit,
//! a run or a measurement errors) is kept with its error and never chosen, and the others are
//! still measured: one variant a driver rejects costs the tuning that variant, not the layer.
//! Only a lost device stops it, since no later candidate could run.

use super::super::profile::median;
use crate::compare::Comparison;
use crate::error::{Error, Result};
use crate::gpu::kernels::conv::ConvVariant;
use crate::gpu::kernels::Precision;

/// Largest accepted `max |Δ| / max |reference|` of a candidate on its layer, in f32.
pub const TUNE_TOLERANCE: f64 = 1e-4;

/// The same for a model that stores activations and weights in f16 (about 3 significant
/// digits a stored value; the kernel tests' bound for f16 against the f32 reference).
pub const TUNE_TOLERANCE_F16: f64 = 1e-2;

/// The tolerance for a model of `precision`.
pub fn tolerance(precision: Precision) -> f64 {
    match precision {
        Precision::F32 => TUNE_TOLERANCE,
        Precision::F16 => TUNE_TOLERANCE_F16,
    }
}

/// How many times the fastest verified candidate's first-round time a candidate may take in
/// that round and still be timed in the later rounds.
pub const PRUNE_FACTOR: f64 = 2.0;

/// One candidate's result on one layer shape.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub variant: ConvVariant,
    /// Median milliseconds of the conv: the GPU time of its dispatches (all of them, a split K's
    /// reduce pass and Winograd's transforms included) where the adapter has timestamp queries,
    /// else the wall clock of one whole call (upload, conv, readback). NaN when it failed.
    pub ms: f64,
    /// `max |Δ| / max |reference|` against the CPU reference (NaN when it failed before its
    /// check).
    pub rel_err: f64,
    /// Whether its output agreed with the CPU reference within the precision's tolerance
    /// ([`tolerance`]).
    pub verified: bool,
    /// The error that stopped it (building, running or timing it), on one line.
    pub failed: Option<String>,
    /// Whether it was timed in the first round only (over [`PRUNE_FACTOR`] times the fastest
    /// verified candidate there).
    pub pruned: bool,
}

impl Candidate {
    /// Whether it may be chosen: it ran, was timed and agreed with the CPU reference.
    pub fn usable(&self) -> bool {
        self.verified && self.failed.is_none()
    }
}

/// A lost device ends the tuning; any other error fails just the candidate it came from,
/// described on one line (wgpu's validation errors span several).
fn candidate_error(e: Error, stage: &str) -> Result<String> {
    match e {
        Error::DeviceLost { .. } => Err(e),
        e => Ok(format!(
            "{stage}: {}",
            e.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

/// The order of `n` items in round `round`: item `(round + k) mod n` as the `k`-th, so that
/// none always runs first, or always right after the same other one (the network search's
/// rounds take their networks in the same order).
pub(super) fn rotation(n: usize, round: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |k| (round + k) % n)
}

/// Whether a candidate's output agreed with the CPU reference within `tolerance`.
fn agrees(c: &Comparison, tolerance: f64) -> bool {
    c.max_rel_err <= tolerance && c.max_abs_err.is_finite()
}

/// One candidate while it is measured: its loaded model (dropped once it fails or is pruned,
/// so that its buffers go back) and its times so far.
struct Slot<M> {
    variant: ConvVariant,
    model: Option<M>,
    check: Option<Comparison>,
    times: Vec<f64>,
    failed: Option<String>,
    pruned: bool,
}

/// After the first round: drops the models of the candidates over [`PRUNE_FACTOR`] times the
/// fastest verified one's time (verified within `tolerance`).
fn prune<M>(slots: &mut [Slot<M>], tolerance: f64) {
    let best = slots
        .iter()
        .filter(|s| s.model.is_some() && s.check.as_ref().is_some_and(|c| agrees(c, tolerance)))
        .filter_map(|s| s.times.first().copied())
        .fold(f64::INFINITY, f64::min);
    for s in slots.iter_mut().filter(|s| s.model.is_some()) {
        if s.times.first().is_some_and(|&t| t > PRUNE_FACTOR * best) {
            s.model = None;
            s.pruned = true;
        }
    }
}

/// Loads and checks each of `variants` (`load`: its model and its output's comparison with the
/// CPU reference, which it must match within `tolerance`), then times every loaded one in
/// `rounds` interleaved rounds (`time`: one measurement in milliseconds), the ones far slower
/// than the fastest in the first round only.
pub(super) fn measure_candidates<M>(
    variants: impl IntoIterator<Item = ConvVariant>,
    rounds: usize,
    tolerance: f64,
    mut load: impl FnMut(ConvVariant) -> Result<(M, Comparison)>,
    mut time: impl FnMut(&M) -> Result<f64>,
) -> Result<Vec<Candidate>> {
    let mut slots = Vec::new();
    for variant in variants {
        let slot = match load(variant) {
            Ok((model, check)) => Slot {
                variant,
                model: Some(model),
                check: Some(check),
                times: Vec::with_capacity(rounds),
                failed: None,
                pruned: false,
            },
            Err(e) => Slot {
                variant,
                model: None,
                check: None,
                times: Vec::new(),
                failed: Some(candidate_error(e, "building and checking it")?),
                pruned: false,
            },
        };
        slots.push(slot);
    }
    let n = slots.len();
    for round in 0..rounds {
        for i in rotation(n, round) {
            let slot = &mut slots[i];
            let Some(model) = &slot.model else { continue };
            match time(model) {
                Ok(ms) => slot.times.push(ms),
                Err(e) => {
                    slot.failed = Some(candidate_error(e, "timing it")?);
                    slot.model = None;
                }
            }
        }
        if round == 0 && rounds > 1 {
            prune(&mut slots, tolerance);
        }
    }
    Ok(slots
        .into_iter()
        .map(|s| {
            let (rel_err, verified) = s.check.map_or((f64::NAN, false), |c| {
                (c.max_rel_err, agrees(&c, tolerance))
            });
            let ms = if s.failed.is_some() || s.times.is_empty() {
                f64::NAN
            } else {
                median(&s.times)
            };
            Candidate {
                variant: s.variant,
                ms,
                rel_err,
                verified,
                failed: s.failed,
                pruned: s.pruned,
            }
        })
        .collect())
}

/// The fastest usable candidate of those timed in every round (a pruned one's single time is
/// not weighed against medians).
pub(super) fn fastest(candidates: &[Candidate]) -> Option<ConvVariant> {
    candidates
        .iter()
        .filter(|c| c.usable() && !c.pruned)
        .min_by(|a, b| a.ms.total_cmp(&b.ms))
        .map(|c| c.variant)
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_variants::{A, B, C, D};

    fn agreeing(rel: f64) -> Comparison {
        Comparison {
            max_abs_err: rel,
            max_abs_ref: 1.0,
            max_rel_err: rel,
            top1_agreement: 1.0,
        }
    }

    fn gpu_error(what: &str) -> Error {
        Error::Gpu {
            during: "running `conv`".into(),
            message: format!("Validation Error\n\nCaused by:\n  {what}"),
        }
    }

    #[test]
    fn candidates_are_timed_in_rotating_rounds_and_each_gets_its_own_median() {
        let mut order = Vec::new();
        // Candidate i's k-th measurement is i + (k-th value of 3, 1, 2, 5, 4).
        let mut seen = [0usize; 3];
        let out = measure_candidates(
            [A, B, C],
            5,
            TUNE_TOLERANCE,
            |v| {
                Ok((
                    [A, B, C].iter().position(|&x| x == v).unwrap(),
                    agreeing(0.0),
                ))
            },
            |&i| {
                order.push(i);
                let v = [3.0, 1.0, 2.0, 5.0, 4.0][seen[i]];
                seen[i] += 1;
                Ok(i as f64 + v)
            },
        )
        .unwrap();
        assert_eq!(order, [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2, 1, 2, 0]);
        let ms: Vec<f64> = out.iter().map(|c| c.ms).collect();
        assert_eq!(ms, [3.0, 4.0, 5.0]);
        assert!(out.iter().all(|c| c.usable() && !c.pruned));
        assert_eq!(fastest(&out), Some(A));
    }

    #[test]
    fn a_candidate_that_fails_to_build_is_reported_and_the_rest_are_measured() {
        let mut timed = Vec::new();
        let out = measure_candidates(
            [A, B, C],
            3,
            TUNE_TOLERANCE,
            |v| {
                if v == A {
                    Err(gpu_error("shader did not compile"))
                } else {
                    Ok((v, agreeing(0.0)))
                }
            },
            |&v| {
                timed.push(v);
                Ok(if v == B { 2.0 } else { 3.0 })
            },
        )
        .unwrap();
        assert_eq!(timed.iter().filter(|&&v| v == A).count(), 0);
        assert_eq!(timed.len(), 6);
        let a = &out[0];
        assert!(!a.usable() && !a.verified && a.ms.is_nan() && a.rel_err.is_nan());
        let msg = a.failed.as_deref().unwrap();
        assert!(msg.starts_with("building and checking it: "), "{msg}");
        assert!(
            msg.contains("shader did not compile") && !msg.contains('\n'),
            "{msg}"
        );
        assert_eq!((out[1].ms, out[2].ms), (2.0, 3.0));
        assert_eq!(fastest(&out), Some(B));
    }

    #[test]
    fn a_candidate_whose_measurement_fails_is_dropped_from_the_later_rounds_and_never_chosen() {
        let mut calls = [0usize; 3];
        let out = measure_candidates(
            [A, B, C],
            4,
            TUNE_TOLERANCE,
            |v| Ok((v, agreeing(1e-6))),
            |&v| {
                let i = [A, B, C].iter().position(|&x| x == v).unwrap();
                calls[i] += 1;
                // The fastest candidate fails on its second measurement.
                match (v, calls[i]) {
                    (A, 2) => Err(gpu_error("out of memory")),
                    (A, _) => Ok(1.0),
                    (B, _) => Ok(1.5),
                    _ => Ok(1.8),
                }
            },
        )
        .unwrap();
        assert_eq!(calls, [2, 4, 4]);
        assert!(out[0].verified && !out[0].usable() && out[0].ms.is_nan());
        assert!(out[0].failed.as_deref().unwrap().starts_with("timing it: "));
        assert_eq!(fastest(&out), Some(B));
    }

    #[test]
    fn a_candidate_over_twice_the_fastest_verified_in_the_first_round_is_not_timed_again() {
        let mut calls = [0usize; 4];
        // First round: A 1 (disagrees with the reference, so it sets no bar), B 2, C 4
        // (exactly twice B: kept), D 4.1 (pruned); later rounds: every one 5.
        let out = measure_candidates(
            [A, B, C, D],
            3,
            TUNE_TOLERANCE,
            |v| Ok((v, agreeing(if v == A { 1e-2 } else { 1e-6 }))),
            |&v| {
                let i = [A, B, C, D].iter().position(|&x| x == v).unwrap();
                calls[i] += 1;
                Ok(if calls[i] > 1 {
                    5.0
                } else {
                    [1.0, 2.0, 4.0, 4.1][i]
                })
            },
        )
        .unwrap();
        assert_eq!(calls, [3, 3, 3, 1]);
        let pruned: Vec<bool> = out.iter().map(|c| c.pruned).collect();
        assert_eq!(pruned, [false, false, false, true]);
        // D keeps its one time and stays usable (verified, not failed), but its single time
        // is not weighed against the others' medians (all 5: the first usable one wins).
        assert_eq!(out[3].ms, 4.1);
        assert!(out[3].usable());
        assert_eq!(fastest(&out), Some(B));
        // One round: nothing is pruned.
        let once = measure_candidates(
            [B, D],
            1,
            TUNE_TOLERANCE,
            |v| Ok((v, agreeing(0.0))),
            |&v| Ok(if v == B { 1.0 } else { 9.0 }),
        )
        .unwrap();
        assert!(once.iter().all(|c| !c.pruned));
    }

    #[test]
    fn a_candidate_that_disagrees_with_the_reference_is_timed_but_not_chosen() {
        let out = measure_candidates(
            [A, B],
            2,
            TUNE_TOLERANCE,
            |v| Ok((v, agreeing(if v == A { 1e-2 } else { 1e-6 }))),
            |&v| Ok(if v == A { 1.0 } else { 2.0 }),
        )
        .unwrap();
        assert_eq!(
            (out[0].ms, out[0].verified, out[0].failed.is_none()),
            (1.0, false, true)
        );
        assert_eq!(fastest(&out), Some(B));
        // When no candidate is usable there is no choice.
        assert_eq!(fastest(&out[..1]), None);
    }

    #[test]
    fn a_lost_device_stops_the_tuning() {
        let lost = || Error::DeviceLost {
            adapter: "test".into(),
            reason: "Destroyed".into(),
        };
        let r = measure_candidates(
            [A, B],
            2,
            TUNE_TOLERANCE,
            |_| Err::<((), Comparison), _>(lost()),
            |_| Ok(1.0),
        );
        assert!(matches!(r, Err(Error::DeviceLost { .. })));
        let r = measure_candidates(
            [A, B],
            2,
            TUNE_TOLERANCE,
            |v| Ok((v, agreeing(0.0))),
            |_| Err(lost()),
        );
        assert!(matches!(r, Err(Error::DeviceLost { .. })));
    }
}
