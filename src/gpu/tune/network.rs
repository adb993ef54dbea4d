//! The network check of `tune`: a shape whose fastest candidate on its own differs from the
//! heuristic's variant keeps that candidate only if the whole network runs the shape's layers
//! faster with it.
//!
//! A conv timed alone runs with its input and weights warm in the caches and no neighbours,
//! and a shared host's spells of load can favour one candidate over the few rounds it is timed
//! in; either can rank the candidates differently from the network. On a 2-core EPYC host the
//! choices of a tune run made in a noisy spell ran resnet50's changed layers 1.3× slower in the
//! network than the heuristic's (BENCHMARKS.md, twenty-fifth round).
//!
//! The check builds the network twice, with every differing shape on its fastest candidate
//! (`tuned`) and with the heuristic's variants, and profiles the two in alternating rounds
//! (each round one run of each, the first of the pair alternating). Per shape and run, the
//! times of all of its layers are summed:
//!
//! ```text
//! keep the candidate  ⇔  median over runs (tuned sum)  <  median over runs (heuristic sum)
//! ```

use std::collections::HashMap;

use super::super::context::Engine;
use super::super::executor::Model;
use super::super::options::ModelOptions;
use super::super::profile::median;
use super::Choices;
use crate::error::Result;
use crate::model::Graph;
use crate::weights::{random_input, Tensor};

/// A shape's layers in the network under both choices: the medians over the rounds of the
/// summed milliseconds of its layers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetworkCheck {
    pub heuristic_ms: f64,
    pub tuned_ms: f64,
}

impl NetworkCheck {
    /// Whether the fastest candidate alone also runs faster in the network.
    pub fn keeps_tuned(&self) -> bool {
        self.tuned_ms < self.heuristic_ms
    }
}

/// Per-run milliseconds of each shape's layers, summed over the layers: `runs[r][layer]` is
/// one run's time per layer name, `shapes` names each shape's layers.
fn shape_times(
    runs: &[HashMap<String, f64>],
    shapes: &[(String, Vec<String>)],
) -> HashMap<String, Vec<f64>> {
    shapes
        .iter()
        .map(|(key, layers)| {
            let per_run = runs
                .iter()
                .map(|run| layers.iter().filter_map(|l| run.get(l)).sum())
                .collect();
            (key.clone(), per_run)
        })
        .collect()
}

/// Compares the medians of each shape's summed layer times under both networks.
fn compare(
    heuristic: &[HashMap<String, f64>],
    tuned: &[HashMap<String, f64>],
    shapes: &[(String, Vec<String>)],
) -> HashMap<String, NetworkCheck> {
    let h = shape_times(heuristic, shapes);
    let t = shape_times(tuned, shapes);
    shapes
        .iter()
        .map(|(key, _)| {
            let check = NetworkCheck {
                heuristic_ms: median(&h[key]),
                tuned_ms: median(&t[key]),
            };
            (key.clone(), check)
        })
        .collect()
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

/// Runs the check for `shapes` (each differing shape's key and the names of all of its layers)
/// on `graph` at `batch × h × w`: the heuristic's network against the one given `tuned`
/// (each differing shape's fastest candidate), in `rounds` alternating rounds.
pub(super) fn check_in_network(
    engine: &Engine,
    graph: &Graph,
    (batch, h, w): (usize, usize, usize),
    tuned: Choices,
    shapes: &[(String, Vec<String>)],
    rounds: usize,
) -> Result<HashMap<String, NetworkCheck>> {
    let heuristic_net = Model::new(engine, graph.clone())?;
    let options = ModelOptions {
        tuned,
        ..ModelOptions::default()
    };
    let tuned_net = Model::with_options(engine, graph.clone(), options)?;
    let len = batch * graph.input_channels * h * w;
    let input = Tensor::new(
        vec![batch, graph.input_channels, h, w],
        random_input(23, len),
    );
    // Warm-up: pipelines and buffers are made on the first call.
    heuristic_net.infer(&input)?;
    tuned_net.infer(&input)?;
    let (mut heuristic, mut tuned) = (Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        if round % 2 == 0 {
            heuristic.push(layer_ms(&heuristic_net, &input)?);
            tuned.push(layer_ms(&tuned_net, &input)?);
        } else {
            tuned.push(layer_ms(&tuned_net, &input)?);
            heuristic.push(layer_ms(&heuristic_net, &input)?);
        }
    }
    Ok(compare(&heuristic, &tuned, shapes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(times: &[(&str, f64)]) -> HashMap<String, f64> {
        times.iter().map(|&(l, t)| (l.to_string(), t)).collect()
    }

    #[test]
    fn a_shape_is_judged_by_the_median_of_its_layers_summed_per_run() {
        // Shape `a` has two layers, `b` one; `c` names a layer no run has (0 ms either way).
        let shapes = vec![
            ("a".to_string(), vec!["a1".to_string(), "a2".to_string()]),
            ("b".to_string(), vec!["b1".to_string()]),
            ("c".to_string(), vec!["gone".to_string()]),
        ];
        // Per run, a = a1 + a2: heuristic 3, 5, 4 (median 4), tuned 3.5, 3.9, 9 (median 3.9).
        let heuristic = [
            run(&[("a1", 1.0), ("a2", 2.0), ("b1", 1.0)]),
            run(&[("a1", 2.0), ("a2", 3.0), ("b1", 1.0)]),
            run(&[("a1", 2.0), ("a2", 2.0), ("b1", 1.0)]),
        ];
        let tuned = [
            run(&[("a1", 1.5), ("a2", 2.0), ("b1", 2.0)]),
            run(&[("a1", 1.9), ("a2", 2.0), ("b1", 0.5)]),
            run(&[("a1", 5.0), ("a2", 4.0), ("b1", 2.0)]),
        ];
        let checks = compare(&heuristic, &tuned, &shapes);
        assert_eq!(
            checks["a"],
            NetworkCheck {
                heuristic_ms: 4.0,
                tuned_ms: 3.9
            }
        );
        assert!(checks["a"].keeps_tuned());
        // b: heuristic 1 every run, tuned median 2: the heuristic stays.
        assert_eq!(checks["b"].tuned_ms, 2.0);
        assert!(!checks["b"].keeps_tuned());
        // A tie keeps the heuristic.
        assert!(!checks["c"].keeps_tuned());
    }
}
