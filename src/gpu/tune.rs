//! Kernel choice by measurement (`--tune`): every conv variant that supports a layer's shape is
//! run on the user's adapter, checked against the CPU reference on that shape (a variant that
//! disagrees is never chosen), and timed in interleaved rounds; the fastest is cached on disk,
//! keyed by adapter, driver and shape, and used by every later run on the same adapter. Without
//! a cache entry the heuristic of [`super::kernels::conv::choose`] decides, so tuning is never needed for
//! correct results.
//!
//! Cache file: `$RESNET_TUNE_CACHE`, else `$XDG_CACHE_HOME/resnet-wgpu/tune.json`, else
//! `~/.cache/resnet-wgpu/tune.json`; a JSON object `{ "<adapter key>": { "<shape key>": "variant" } }`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use super::context::Engine;
use super::executor::Model;
use super::kernels::conv::ConvVariant;
use super::profile::median;
use super::timer::timestamps_enabled;
use crate::compare::compare;
use crate::cpu::CpuModel;
use crate::error::{Error, Result};
use crate::model::ir::{GraphBuilder, Op};
use crate::model::{Conv2d, Graph};
use crate::weights::{random_input, Tensor};

/// Largest accepted `max |Δ| / max |reference|` of a candidate on its layer.
pub const TUNE_TOLERANCE: f64 = 1e-4;

/// The key of one conv shape at one batch and input size (`_g{groups}` and `_d{dh}x{dw}`
/// follow the padding only for grouped or dilated convs, so plain keys stay as they were).
pub fn shape_key(conv: &Conv2d, batch: usize, h: usize, w: usize) -> String {
    let mut extra = String::new();
    if conv.groups != 1 {
        extra.push_str(&format!("_g{}", conv.groups));
    }
    if conv.dilation != [1, 1] {
        extra.push_str(&format!("_d{}x{}", conv.dilation[0], conv.dilation[1]));
    }
    format!(
        "cin{}_cout{}_k{}x{}_s{}x{}_p{}-{}-{}-{}{extra}_n{}_{}x{}",
        conv.in_c,
        conv.out_c,
        conv.kernel[0],
        conv.kernel[1],
        conv.stride[0],
        conv.stride[1],
        conv.pad[0],
        conv.pad[1],
        conv.pad[2],
        conv.pad[3],
        batch,
        h,
        w
    )
}

/// The key of an adapter: name, backend and driver.
pub fn adapter_key(engine: &Engine) -> String {
    let i = engine.adapter_info();
    format!(
        "{} | {:?} | {} {}",
        i.name, i.backend, i.driver, i.driver_info
    )
}

/// Where the cache lives.
pub fn cache_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RESNET_TUNE_CACHE") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("resnet-wgpu").join("tune.json"))
}

/// Tuned choices of one adapter, by shape key.
pub type Choices = HashMap<String, ConvVariant>;

type CacheFile = BTreeMap<String, BTreeMap<String, String>>;

fn read_cache() -> CacheFile {
    cache_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .map(|v| {
            let mut out = CacheFile::new();
            if let Some(obj) = v.as_object() {
                for (adapter, shapes) in obj {
                    let entry = out.entry(adapter.clone()).or_default();
                    for (shape, variant) in shapes.as_object().into_iter().flatten() {
                        if let Some(name) = variant.as_str() {
                            entry.insert(shape.clone(), name.to_string());
                        }
                    }
                }
            }
            out
        })
        .unwrap_or_default()
}

/// The cached choices for this engine's adapter (empty when there is no cache; an unreadable
/// cache is treated as empty, since the heuristic is always correct).
pub fn load_choices(engine: &Engine) -> Choices {
    read_cache()
        .remove(&adapter_key(engine))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((k, ConvVariant::from_name(&v)?)))
        .collect()
}

fn save_choices(engine: &Engine, new: &[(String, ConvVariant)]) -> Result<PathBuf> {
    let path = cache_path().ok_or_else(|| {
        Error::InvalidInput("no cache directory: set RESNET_TUNE_CACHE or HOME".into())
    })?;
    let mut cache = read_cache();
    let entry = cache.entry(adapter_key(engine)).or_default();
    for (k, v) in new {
        entry.insert(k.clone(), v.name().to_string());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let text =
        serde_json::to_string_pretty(&cache).map_err(|e| Error::InvalidInput(e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

/// One candidate's result on one layer shape.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub variant: ConvVariant,
    /// Median milliseconds of the conv: the GPU time of its dispatches (all of them, a split K's
    /// reduce pass and Winograd's transforms included) where the adapter has timestamp queries,
    /// else the wall clock of one whole call (upload, conv, readback).
    pub ms: f64,
    /// `max |Δ| / max |reference|` against the CPU reference.
    pub rel_err: f64,
    pub verified: bool,
}

/// The tuning of one distinct conv shape.
#[derive(Clone, Debug)]
pub struct LayerTuning {
    pub key: String,
    /// The batch it was tuned at: the images per chunk that the network runs a call of the
    /// requested batch in (the executor picks a chunk's kernels by the chunk's size).
    pub batch: usize,
    pub layer: String,
    pub chosen: ConvVariant,
    /// The variant the per-device heuristic gives this layer in the network, without a cache
    /// entry.
    pub heuristic: ConvVariant,
    pub candidates: Vec<Candidate>,
}

impl LayerTuning {
    /// The measured time of `variant` on this layer, if it was a candidate.
    pub fn ms_of(&self, variant: ConvVariant) -> Option<f64> {
        self.candidates
            .iter()
            .find(|c| c.variant == variant)
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

/// The median of `rounds` measurements of each of `n` candidates, measured in rounds that
/// take every candidate once, each round starting one candidate later than the previous one
/// (so that no candidate always runs first, or always right after the same other one).
fn interleaved_medians(
    n: usize,
    rounds: usize,
    mut measure: impl FnMut(usize) -> Result<f64>,
) -> Result<Vec<f64>> {
    let mut times = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            times[i].push(measure(i)?);
        }
    }
    Ok(times.iter().map(|t| median(t)).collect())
}

/// One distinct conv shape to tune: its cache key, the first layer with it, the conv as the
/// executor sees it (stem input padded), a one-conv network of it and the NCHW shape of its
/// input.
struct LayerCase {
    key: String,
    layer: String,
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
fn layer_cases(graph: &Graph, batch: usize, h: usize, w: usize) -> Result<Vec<LayerCase>> {
    let mut padded = graph.clone();
    crate::model::passes::pad_input_channels(&mut padded);
    let shapes = padded.shapes(h, w)?;
    let mut seen = std::collections::HashSet::new();
    let mut cases = Vec::new();
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
        let key = shape_key(conv, batch, x.h, x.w);
        if !seen.insert(key.clone()) {
            continue;
        }
        cases.push(LayerCase {
            key,
            layer: node.name.clone(),
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
pub fn tune(
    engine: &Engine,
    graph: &Graph,
    batch: usize,
    h: usize,
    w: usize,
    iters: usize,
) -> Result<Vec<LayerTuning>> {
    let timestamps = timestamps_enabled(engine.features());
    // The network without tuned choices: its chunk size, and the heuristic's variant of each
    // conv as the network runs it.
    let (batch, heuristic) = {
        let net = Model::new(engine, graph.clone())?;
        let batch = net.chunk_size(batch, h, w)?;
        let variants: HashMap<String, ConvVariant> =
            net.conv_variants(batch, h, w)?.into_iter().collect();
        (batch, variants)
    };
    let mut out = Vec::new();
    for case in layer_cases(graph, batch, h, w)? {
        let input = case.input();
        let LayerCase {
            key,
            layer,
            conv,
            graph: g,
            ..
        } = case;
        let reference = CpuModel::new(g.clone()).infer(&input)?;
        // Every candidate is loaded and checked first, then timed in interleaved rounds, so
        // that a machine whose speed drifts (shared hosts do, by 20 % within seconds) slows
        // every candidate alike instead of whichever ran during the slow spell. The layer's
        // candidates are all loaded at once meanwhile (each a one-conv network and one
        // workspace).
        let mut loaded = Vec::new();
        for variant in ConvVariant::ALL
            .into_iter()
            .filter(|v| v.runs_on(&conv, engine.conv_caps()))
        {
            let model = Model::with_variant(engine, g.clone(), variant)?;
            let cmp = compare(&model.infer(&input)?, &reference);
            loaded.push((variant, model, cmp));
        }
        let medians = interleaved_medians(loaded.len(), iters.max(1), |i| {
            conv_ms(&loaded[i].1, &input, timestamps)
        })?;
        let candidates: Vec<Candidate> = loaded
            .iter()
            .zip(medians)
            .map(|((variant, _, cmp), ms)| Candidate {
                variant: *variant,
                ms,
                rel_err: cmp.max_rel_err,
                verified: cmp.max_rel_err <= TUNE_TOLERANCE && cmp.max_abs_err.is_finite(),
            })
            .collect();
        let chosen = candidates
            .iter()
            .filter(|c| c.verified)
            .min_by(|a, b| a.ms.total_cmp(&b.ms))
            .map(|c| c.variant)
            .ok_or_else(|| Error::Gpu {
                during: format!("tuning layer `{layer}`"),
                message: "no conv variant agreed with the CPU reference".into(),
            })?;
        let heuristic = *heuristic.get(&layer).ok_or_else(|| Error::Gpu {
            during: format!("tuning layer `{layer}`"),
            message: "the network has no conv variant for it".into(),
        })?;
        out.push(LayerTuning {
            key,
            batch,
            layer,
            chosen,
            heuristic,
            candidates,
        });
    }
    let new: Vec<(String, ConvVariant)> = out.iter().map(|l| (l.key.clone(), l.chosen)).collect();
    save_choices(engine, &new)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_timed_in_rotating_rounds_and_each_gets_its_own_median() {
        let mut order = Vec::new();
        // Candidate i's k-th measurement is 10·i + (k-th value of 3, 1, 2, 5, 4).
        let mut seen = [0usize; 3];
        let medians = interleaved_medians(3, 5, |i| {
            order.push(i);
            let v = [3.0, 1.0, 2.0, 5.0, 4.0][seen[i]];
            seen[i] += 1;
            Ok(10.0 * i as f64 + v)
        })
        .unwrap();
        assert_eq!(order, [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2, 1, 2, 0]);
        assert_eq!(medians, [3.0, 13.0, 23.0]);
    }

    #[test]
    fn layers_are_tuned_as_the_network_runs_them_the_stem_on_its_padded_input() {
        let graph = crate::loader::load_graph(
            crate::model::Architecture::ImageNet(18),
            &crate::loader::Weights::Random(1),
            crate::model::BuildOptions::default(),
        )
        .unwrap();
        let cases = layer_cases(&graph, 2, 64, 64).unwrap();
        // The stem, layer1's 3×3, and per later stage its strided 3×3, 3×3 and downsample.
        assert_eq!(cases.len(), 11);
        let stem = &cases[0];
        assert_eq!(stem.layer, "conv1");
        assert_eq!(stem.key, "cin4_cout64_k7x7_s2x2_p3-3-3-3_n2_64x64");
        assert_eq!(
            (stem.conv.in_c, stem.input_shape.clone()),
            (4, vec![2, 3, 64, 64])
        );
        assert_eq!(stem.input().data.len(), 2 * 3 * 64 * 64);
        // The one-conv network pads its input as the whole network does.
        let mut one = stem.graph.clone();
        assert!(crate::model::passes::pad_input_channels(&mut one));
        assert!(crate::model::passes::padded_input(&one).is_some());
        let layer4 = cases.iter().find(|c| c.layer == "layer4.0.conv1").unwrap();
        assert_eq!(layer4.key, "cin256_cout512_k3x3_s2x2_p1-1-1-1_n2_4x4");
        assert_eq!(layer4.input_shape, vec![2, 256, 4, 4]);
    }

    #[test]
    fn a_failed_measurement_stops_the_tuning() {
        let r = interleaved_medians(2, 3, |i| {
            if i == 1 {
                Err(Error::InvalidInput("lost".into()))
            } else {
                Ok(1.0)
            }
        });
        assert!(r.is_err());
        assert_eq!(
            interleaved_medians(0, 3, |_| Ok(1.0)).unwrap(),
            Vec::<f64>::new()
        );
    }
}
