//! Kernel choice by measurement (`--tune`): every conv variant that supports a layer's shape is
//! run on the user's adapter, checked against the CPU reference on that shape (a variant that
//! disagrees is never chosen), and timed in interleaved rounds; the choice is cached on disk,
//! keyed by adapter, driver and shape, and used by every later run on the same adapter.
//! Without a cache entry the heuristic of [`super::kernels::conv::choose`] decides, so tuning
//! is never needed for correct results.
//!
//! The timings alone pick each shape's contenders (its baseline, the heuristic's variant where
//! usable, and the candidates nearest the fastest); the whole network then decides between
//! them (`network.rs`), the baseline kept unless another is faster there by over a margin:
//! timed alone, a conv can rank the candidates differently from the network.
//!
//! The cache file and its keys live in `cache.rs`; how a layer's candidates are measured and
//! which one is fastest (a candidate that fails on the driver is reported, not fatal) in
//! `candidates.rs`; the network search in `network.rs`; what a tune reports as it goes in
//! `progress.rs`.

mod cache;
mod candidates;
mod network;
mod progress;

use std::collections::HashMap;
use std::time::Instant;

pub use cache::{adapter_key, cache_path, load_choices, shape_key, Choices};
pub use candidates::{tolerance, Candidate, PRUNE_FACTOR, TUNE_TOLERANCE, TUNE_TOLERANCE_F16};
pub use network::{
    Contender, NetworkSearch, CONTENDER_SLACK, MAX_CONTENDERS, NETWORK_MARGIN, ROUNDS_PER_ITER,
};
pub use progress::TuneProgress;

use super::context::Engine;
use super::executor::Model;
use super::kernels::conv::ConvVariant;
use super::kernels::Precision;
use super::options::ModelOptions;
use super::timer::timestamps_enabled;
use crate::compare::compare;
use crate::cpu::CpuModel;
use crate::error::{Error, Result};
use crate::model::ir::{GraphBuilder, Op};
use crate::model::{Conv2d, Graph};
use crate::weights::{random_input, Tensor};
use cache::{save_choices, writable_cache};
use candidates::{fastest, measure_candidates};
use network::{contenders, search_in_network, SearchShape};

/// The tuning of one distinct conv shape.
#[derive(Clone, Debug)]
pub struct LayerTuning {
    pub key: String,
    /// The batch it was tuned at: the images per chunk that the network runs a call of the
    /// requested batch in (the executor picks a chunk's kernels by the chunk's size).
    pub batch: usize,
    /// Every layer with this shape, in network order (never empty).
    pub layers: Vec<String>,
    /// What is cached: the network search's choice (`NetworkSearch::chosen`), or, for a
    /// shape with one contender, its baseline (the heuristic's variant where it ran and agreed
    /// with the CPU reference, else `fastest`).
    pub chosen: ConvVariant,
    /// The fastest verified candidate timed alone, of those timed in every round (a pruned one
    /// took over twice its time in the first).
    pub fastest: ConvVariant,
    /// The variant the per-device heuristic gives this layer in the network, without a cache
    /// entry.
    pub heuristic: ConvVariant,
    pub candidates: Vec<Candidate>,
    /// The network search, where the shape had more than one contender.
    pub network: Option<NetworkSearch>,
}

impl LayerTuning {
    /// The first layer with this shape.
    pub fn layer(&self) -> &str {
        &self.layers[0]
    }

    /// The measured time of `variant` on this layer, if it was a candidate and did not fail.
    pub fn ms_of(&self, variant: ConvVariant) -> Option<f64> {
        self.candidates
            .iter()
            .find(|c| c.variant == variant && c.failed.is_none())
            .map(|c| c.ms)
    }
}

/// One measurement of a one-conv model on `input`, in milliseconds. With timestamps the upload,
/// the input's layout conversion and the readback stay out: at a batch of 64 a 56² layer's
/// activations are about 200 MB each way, which on a discrete GPU's bus would outweigh the
/// conv and hide the differences between candidates.
fn conv_ms(model: &Model, input: &Tensor, timestamps: bool) -> Result<f64> {
    if timestamps {
        return Ok(model.profile(input, 1)?.conv_work().1 * 1e3);
    }
    let t = Instant::now();
    model.infer(input)?;
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

fn one_conv_graph(conv: &Conv2d, weight: &[f32], bias: &[f32], relu: bool) -> Graph {
    let mut g = GraphBuilder::new("tune", conv.in_c);
    let x = g.push("input", Op::InputToNhwc, vec![0], conv.in_c);
    let op = Op::Conv {
        conv: *conv,
        weight: weight.to_vec(),
        bias: bias.to_vec(),
        relu,
    };
    let y = g.push("conv", op, vec![x], conv.out_c);
    g.finish(y)
}

/// One distinct conv shape to tune: its cache key, the layers with it, the conv as the
/// executor sees it (stem input padded), a one-conv network of it and the NCHW shape of its
/// input.
struct LayerCase {
    key: String,
    /// Every layer with this shape, in network order (never empty).
    layers: Vec<String>,
    conv: Conv2d,
    graph: Graph,
    input_shape: Vec<usize>,
}

impl LayerCase {
    /// The seeded input the candidates run on (made when the case is tuned: at large batches
    /// the inputs of all cases together would take gigabytes).
    fn input(&self) -> Tensor {
        let len = self.input_shape.iter().product();
        Tensor::new(self.input_shape.clone(), random_input(17, len))
    }
}

/// The distinct conv shapes of `graph` at `batch × h × w`, in order of first use. Keys and
/// candidates follow the executor's view of its convs (after the stem's input is padded to 4
/// channels); each one-conv network is built from the unpadded conv, so that it pads its own
/// input as the whole network does and runs the same kernels (the stem's 16-pixel tile is
/// then the build that leaves out the padding channel, as in the network).
fn layer_cases(
    graph: &Graph,
    batch: usize,
    h: usize,
    w: usize,
    precision: Precision,
) -> Result<Vec<LayerCase>> {
    let mut padded = graph.clone();
    crate::model::passes::pad_input_channels(&mut padded);
    let shapes = padded.shapes(h, w)?;
    let mut cases: Vec<LayerCase> = Vec::new();
    for (node, unpadded) in padded.nodes().zip(graph.nodes()) {
        let (
            Op::Conv { conv, .. },
            Op::Conv {
                conv: data_conv,
                weight,
                bias,
                relu,
            },
        ) = (&node.op, &unpadded.op)
        else {
            continue;
        };
        let x = shapes[node.inputs[0]];
        let key = shape_key(conv, batch, x.h, x.w, precision);
        if let Some(case) = cases.iter_mut().find(|c: &&mut LayerCase| c.key == key) {
            case.layers.push(node.name.clone());
            continue;
        }
        cases.push(LayerCase {
            key,
            layers: vec![node.name.clone()],
            conv: *conv,
            graph: one_conv_graph(data_conv, weight, bias, *relu),
            input_shape: vec![batch, data_conv.in_c, x.h, x.w],
        });
    }
    Ok(cases)
}

/// Tunes every distinct conv shape of `graph` for calls of `batch` inputs of `h × w`, caches
/// the choices and returns what was measured.
///
/// A batch whose activations exceed the device's binding limit runs in chunks, and the
/// executor picks each chunk's kernels by the chunk's size; such a batch is tuned at its
/// chunk size (keys `_n{chunk}_`), the batch its convs really run at. (Where the chunks are
/// uneven, the smaller last chunk keeps the heuristic.)
///
/// Everything runs in `precision`, whose kernels and speeds differ: f16 choices are keyed
/// apart (`_f16`), and f16 candidates must match the f32 CPU reference within
/// [`TUNE_TOLERANCE_F16`] instead of [`TUNE_TOLERANCE`].
///
/// `progress` hears each step as it starts or ends ([`TuneProgress`]).
#[allow(clippy::too_many_arguments)]
pub fn tune(
    engine: &Engine,
    graph: &Graph,
    batch: usize,
    h: usize,
    w: usize,
    iters: usize,
    precision: Precision,
    progress: &mut dyn FnMut(TuneProgress<'_>),
) -> Result<Vec<LayerTuning>> {
    // A cache that could not be written, or would be lost, fails now rather than after the
    // timing.
    writable_cache()?;
    let timestamps = timestamps_enabled(engine.features());
    // The network without tuned choices: its chunk size, and the heuristic's variant of each
    // conv as the network runs it.
    let (batch, heuristic) = {
        let net = Model::with_options(engine, graph.clone(), ModelOptions::precision(precision))?;
        let batch = net.chunk_size(batch, h, w)?;
        let variants: HashMap<String, ConvVariant> =
            net.conv_variants(batch, h, w)?.into_iter().collect();
        (batch, variants)
    };
    let mut out = Vec::new();
    let cases = layer_cases(graph, batch, h, w, precision)?;
    let total = cases.len();
    for (index, case) in cases.into_iter().enumerate() {
        let start = Instant::now();
        let input = case.input();
        let LayerCase {
            key,
            layers,
            conv,
            graph: g,
            ..
        } = case;
        let layer = &layers[0];
        let reference = CpuModel::new(g.clone())?.infer(&input)?;
        // Every candidate is loaded and checked first, then timed in interleaved rounds, so
        // that a machine whose speed drifts (shared hosts do, by 20 % within seconds) slows
        // every candidate alike instead of whichever ran during the slow spell. The layer's
        // candidates are all loaded at once meanwhile (each a one-conv network and one
        // workspace).
        let variants: Vec<ConvVariant> = ConvVariant::ALL
            .into_iter()
            .filter(|v| v.runs_on(&conv, engine.conv_caps().for_precision(precision)))
            .collect();
        progress(TuneProgress::Shape {
            index,
            total,
            layer,
            layers: layers.len(),
            candidates: variants.len(),
        });
        let candidates = measure_candidates(
            variants,
            iters.max(1),
            tolerance(precision),
            |variant| {
                let options = ModelOptions {
                    precision,
                    variant: Some(variant),
                    ..ModelOptions::default()
                };
                let model = Model::with_options(engine, g.clone(), options)?;
                let check = compare(&model.infer(&input)?, &reference)?;
                Ok((model, check))
            },
            |model| conv_ms(model, &input, timestamps),
        )?;
        let best = fastest(&candidates).ok_or_else(|| Error::Gpu {
            during: format!("tuning layer `{layer}`"),
            message: format!(
                "no conv variant ran and agreed with the CPU reference ({})",
                candidates
                    .iter()
                    .map(|c| match &c.failed {
                        Some(e) => format!("{}: {e}", c.variant.name()),
                        None => format!("{}: rel. error {:.1e}", c.variant.name(), c.rel_err),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        })?;
        let heuristic = *heuristic.get(layer).ok_or_else(|| Error::Gpu {
            during: format!("tuning layer `{layer}`"),
            message: "the network has no conv variant for it".into(),
        })?;
        let tuning = LayerTuning {
            key,
            batch,
            layers,
            chosen: best,
            fastest: best,
            heuristic,
            candidates,
            network: None,
        };
        progress(TuneProgress::Measured {
            index,
            total,
            layer: tuning.layer(),
            fastest: best,
            ms: tuning.ms_of(best).unwrap_or(f64::NAN),
            seconds: start.elapsed().as_secs_f64(),
        });
        out.push(tuning);
    }
    search_choices(
        engine,
        graph,
        (batch, h, w),
        precision,
        iters,
        &mut out,
        progress,
    )?;
    let new: Vec<(String, ConvVariant)> = out.iter().map(|l| (l.key.clone(), l.chosen)).collect();
    save_choices(engine, &new)?;
    Ok(out)
}

/// The network search (`network.rs`) over every shape's contenders, in `ROUNDS_PER_ITER` ×
/// `rounds` rounds: each shape gets its baseline unless another contender ran its layers
/// faster in the network by over the margin.
fn search_choices(
    engine: &Engine,
    graph: &Graph,
    size: (usize, usize, usize),
    precision: Precision,
    rounds: usize,
    tunings: &mut [LayerTuning],
    progress: &mut dyn FnMut(TuneProgress<'_>),
) -> Result<()> {
    let shapes: Vec<SearchShape> = tunings
        .iter()
        .map(|l| SearchShape {
            key: l.key.clone(),
            layers: l.layers.clone(),
            heuristic: l.heuristic,
            contenders: contenders(&l.candidates, l.heuristic),
        })
        .collect();
    let found = search_in_network(
        engine,
        graph,
        size,
        precision,
        &shapes,
        rounds * ROUNDS_PER_ITER,
        progress,
    )?;
    for (l, s) in tunings.iter_mut().zip(&shapes) {
        l.chosen = s.contenders.first().copied().unwrap_or(l.fastest);
        if let Some(search) = found.get(&l.key) {
            l.chosen = search.chosen();
            l.network = Some(search.clone());
        }
    }
    Ok(())
}

/// Distinct variants for the unit tests of this module's parts (which ones does not matter).
#[cfg(test)]
mod test_variants {
    use super::ConvVariant;

    pub const A: ConvVariant = ConvVariant::Direct;
    pub const B: ConvVariant = ConvVariant::Gemm1x1;
    pub const C: ConvVariant = ConvVariant::Winograd;
    pub const D: ConvVariant = ConvVariant::Tiled;
    pub const E: ConvVariant = ConvVariant::Small;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_are_tuned_as_the_network_runs_them_the_stem_on_its_padded_input() {
        let graph = crate::loader::load_graph(
            crate::model::Architecture::ImageNet(18),
            &crate::loader::Weights::Random(1),
            crate::model::BuildOptions::default(),
        )
        .unwrap();
        let cases = layer_cases(&graph, 2, 64, 64, Precision::F32).unwrap();
        // The stem, layer1's 3×3, and per later stage its strided 3×3, 3×3 and downsample.
        assert_eq!(cases.len(), 11);
        let stem = &cases[0];
        assert_eq!(stem.layers[0], "conv1");
        assert_eq!(stem.key, "cin4_cout64_k7x7_s2x2_p3-3-3-3_n2_64x64");
        // f16 choices are keyed apart.
        let f16 = layer_cases(&graph, 2, 64, 64, Precision::F16).unwrap();
        assert_eq!(f16[0].key, "cin4_cout64_k7x7_s2x2_p3-3-3-3_n2_64x64_f16");
        assert_eq!(
            (stem.conv.in_c, stem.input_shape.clone()),
            (4, vec![2, 3, 64, 64])
        );
        assert_eq!(stem.input().data.len(), 2 * 3 * 64 * 64);
        // The one-conv network pads its input as the whole network does.
        let mut one = stem.graph.clone();
        assert!(crate::model::passes::pad_input_channels(&mut one));
        assert!(crate::model::passes::padded_input(&one).is_some());
        let layer4 = cases
            .iter()
            .find(|c| c.layers[0] == "layer4.0.conv1")
            .unwrap();
        assert_eq!(layer4.key, "cin256_cout512_k3x3_s2x2_p1-1-1-1_n2_4x4");
        assert_eq!(layer4.input_shape, vec![2, 256, 4, 4]);
        // A shape lists every layer with it: layer1's four 3×3 convs share one.
        let layer1 = cases
            .iter()
            .find(|c| c.layers[0] == "layer1.0.conv1")
            .unwrap();
        assert_eq!(
            layer1.layers,
            [
                "layer1.0.conv1",
                "layer1.0.conv2",
                "layer1.1.conv1",
                "layer1.1.conv2"
            ]
        );
        assert_eq!(cases.iter().map(|c| c.layers.len()).sum::<usize>(), 20);
    }
}
