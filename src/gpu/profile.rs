//! Per-layer GPU times of a model.
//!
//! With `TIMESTAMP_QUERY` every dispatch of the plan runs in its own compute pass bracketed by
//! timestamps (one submit for the whole network); without it every dispatch is submitted alone
//! and timed by wall clock around submit-and-wait, which adds the submit latency to each layer.
//! Dispatches of the same graph node (a layer that needs several kernels, such as Winograd's
//! input transform, GEMM and output transform) are summed into the layer's time, and each is
//! also kept as one of the layer's [`PassTime`]s. With timestamps a run also gives its span,
//! from the first dispatch's start to the last one's end; the span less the run's dispatch
//! times is the time between dispatches (barriers, launches), what fewer passes would save.
//!
//! Work per layer, for a batch of N:
//! - FLOPs: conv 2·N·OH·OW·KH·KW·Cin·Cout, linear 2·N·in·out, every other op 0;
//! - bytes: 4 · (N · (elements of every input and of the output) + weights and biases), the
//!   traffic of an ideal kernel that reads and writes everything once.

use std::time::Instant;

use super::executor::Model;
use super::pending::read_buffer;
use super::schedule::Schedule;
use super::timer::{PassTimer, PassTimes, Timing};
use super::workspace::Workspace;
use crate::error::{Error, Result};
use crate::model::{Op, Shape};
use crate::weights::Tensor;

/// One layer's share of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerTime {
    /// Index of the node in [`crate::Graph::nodes`] order.
    pub node: usize,
    pub name: String,
    /// The op kind (`conv`, `maxpool`, ...).
    pub op: &'static str,
    /// The kernel variant(s) that ran it, `+`-joined when there are several.
    pub kernel: String,
    /// Per-image shapes of the first input and of the output.
    pub input: Shape,
    pub output: Shape,
    pub flops: f64,
    pub bytes: f64,
    /// GPU seconds (the median over runs in a [`Profile`]).
    pub seconds: f64,
    /// The layer's dispatches in the order they run, each with its own median: one pass for
    /// most layers, three for Winograd (their medians need not sum to `seconds`, which is the
    /// median of the per-run sums).
    pub passes: Vec<PassTime>,
}

/// One dispatch of a layer.
#[derive(Clone, Debug, PartialEq)]
pub struct PassTime {
    /// The kernel it runs.
    pub kernel: String,
    /// GPU seconds (the median over runs in a [`Profile`]).
    pub seconds: f64,
}

/// Per-layer times of a network at one input size: medians over `runs` runs.
#[derive(Clone, Debug)]
pub struct Profile {
    pub batch: usize,
    pub height: usize,
    pub width: usize,
    pub runs: usize,
    pub timing: Timing,
    pub layers: Vec<LayerTime>,
    /// With timestamps, the median over runs of the seconds from the first dispatch's start
    /// to the last one's end ([`super::timer::PassTimes::span`]); `None` without them.
    pub span_seconds: Option<f64>,
    /// With timestamps, the median over runs of that span less the run's dispatch times: the
    /// time between dispatches (barriers, launches) where they run one after another,
    /// negative where a device overlaps them; `None` without timestamps.
    pub gap_seconds: Option<f64>,
}

impl Profile {
    /// Sum of the layer times.
    pub fn total_seconds(&self) -> f64 {
        self.layers.iter().map(|l| l.seconds).sum()
    }

    /// FLOPs and seconds of the conv layers.
    pub fn conv_work(&self) -> (f64, f64) {
        self.layers
            .iter()
            .filter(|l| l.op == "conv")
            .fold((0.0, 0.0), |(f, s), l| (f + l.flops, s + l.seconds))
    }
}

/// The median of `values` (the mean of the middle two for an even count; 0 when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of `values` (0 when empty).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

impl Model {
    /// Times every layer on `input` (NCHW) in `runs` runs; each layer's time is its median.
    /// Warm the model up first (one [`Model::infer`] at this size) to leave pipeline and
    /// buffer creation out.
    pub fn profile(&self, input: &Tensor, runs: usize) -> Result<Profile> {
        let (n, h, w) = self.graph().check_input(input)?;
        let chunk = self.chunk_size(n, h, w)?;
        if chunk < n {
            return Err(Error::InvalidInput(format!(
                "profiling a batch of {n} that runs in chunks of {chunk}: profile a batch that fits"
            )));
        }
        let (layers, timing, span) = self.with_workspace(n, h, w, |plan, ws| {
            let mut layers = self.layers(plan)?;
            let mut timing = Timing::Timestamps;
            let slots = self.dispatch_layers(plan, &layers);
            let mut samples: Vec<Vec<f64>> = vec![Vec::new(); layers.len()];
            let mut pass_samples: Vec<Vec<f64>> = vec![Vec::new(); slots.len()];
            let (mut spans, mut gaps) = (Vec::new(), Vec::new());
            for _ in 0..runs.max(1) {
                let times = match self.time_dispatches(plan, ws, input)? {
                    DispatchTimes::Timestamps(t) => {
                        spans.push(t.span);
                        gaps.push(t.span - t.seconds.iter().sum::<f64>());
                        t.seconds
                    }
                    DispatchTimes::Each(seconds) => {
                        timing = Timing::SubmitAndWait;
                        seconds
                    }
                };
                let mut per_layer = vec![0.0; layers.len()];
                for ((&slot, t), pass) in slots.iter().zip(times).zip(&mut pass_samples) {
                    per_layer[slot] += t;
                    pass.push(t);
                }
                for (s, t) in samples.iter_mut().zip(per_layer) {
                    s.push(t);
                }
            }
            for (layer, s) in layers.iter_mut().zip(&samples) {
                layer.seconds = median(s);
            }
            for ((&slot, d), s) in slots.iter().zip(plan.steps()).zip(&pass_samples) {
                layers[slot].passes.push(PassTime {
                    kernel: format!("{:?}", d.kernel),
                    seconds: median(s),
                });
            }
            let span = (!spans.is_empty()).then(|| (median(&spans), median(&gaps)));
            Ok((layers, timing, span))
        })?;
        Ok(Profile {
            batch: n,
            height: h,
            width: w,
            runs: runs.max(1),
            timing,
            layers,
            span_seconds: span.map(|s| s.0),
            gap_seconds: span.map(|s| s.1),
        })
    }

    /// One row per node that has dispatches, in order of first dispatch (times zero).
    fn layers(&self, plan: &Schedule) -> Result<Vec<LayerTime>> {
        let nodes: Vec<_> = self.graph().nodes().collect();
        let n = plan.memory.batch as f64;
        let shapes = &plan.memory.shapes;
        let mut layers: Vec<LayerTime> = Vec::new();
        for d in plan.steps() {
            let kernel = format!("{:?}", d.kernel);
            if let Some(l) = layers.iter_mut().find(|l| l.node == d.node) {
                if !l.kernel.split('+').any(|k| k == kernel) {
                    l.kernel = format!("{}+{kernel}", l.kernel);
                }
                continue;
            }
            let node = nodes.get(d.node).ok_or_else(|| Error::Gpu {
                during: "profiling".into(),
                message: format!("a dispatch names node {} of {}", d.node, nodes.len()),
            })?;
            let input = shapes[node.inputs[0]];
            let output = shapes[node.output];
            let activations: usize =
                node.inputs.iter().map(|&v| shapes[v].len()).sum::<usize>() + output.len();
            let (flops, weights) = match &node.op {
                Op::Conv { conv, .. } => (
                    2.0 * n * (output.h * output.w * conv.weight_len()) as f64,
                    conv.weight_len() + conv.out_c,
                ),
                Op::Linear { in_f, out_f, .. } => {
                    (2.0 * n * (in_f * out_f) as f64, in_f * out_f + out_f)
                }
                Op::Affine { scale, .. } => (0.0, 2 * scale.len()),
                _ => (0.0, 0),
            };
            layers.push(LayerTime {
                node: d.node,
                name: node.name.clone(),
                op: node.op.kind(),
                kernel,
                input,
                output,
                flops,
                bytes: 4.0 * (n * activations as f64 + weights as f64),
                seconds: 0.0,
                passes: Vec::new(),
            });
        }
        Ok(layers)
    }

    /// For every dispatch in order, the index of its row in `layers`.
    fn dispatch_layers(&self, plan: &Schedule, layers: &[LayerTime]) -> Vec<usize> {
        plan.steps()
            .map(|d| layers.iter().position(|l| l.node == d.node).unwrap_or(0))
            .collect()
    }

    /// Times every dispatch of one run, in order.
    pub(crate) fn time_dispatches(
        &self,
        plan: &Schedule,
        ws: &Workspace,
        input: &Tensor,
    ) -> Result<DispatchTimes> {
        let ctx = self.ctx().clone();
        let count = plan.steps().count();
        ctx.scoped("profiling", || match PassTimer::new(&ctx, count)? {
            Some(timer) => {
                let mut cmds = self.record(plan, ws, &input.data, Some(&timer.query_set));
                cmds.push(timer.resolve(&ctx, count as u32));
                ctx.queue.submit(cmds);
                let bytes = plan.memory.output_bytes();
                read_buffer(&ctx, &ws.readback, bytes, "reading back the logits")?;
                Ok(DispatchTimes::Timestamps(timer.read(&ctx, count as u32)?))
            }
            None => {
                // record() writes the input; its command buffers are dropped unsubmitted and
                // every dispatch is submitted on its own instead, in the same order.
                drop(self.record(plan, ws, &input.data, None));
                let mut times = Vec::with_capacity(count);
                for (d, bind_group) in plan.steps().zip(&ws.bind_groups) {
                    let mut enc = ctx.device.create_command_encoder(&Default::default());
                    {
                        let mut pass = enc.begin_compute_pass(&Default::default());
                        self.dispatch(&mut pass, d, bind_group);
                    }
                    let start = Instant::now();
                    ctx.queue.submit([enc.finish()]);
                    ctx.wait("profiling a layer")?;
                    times.push(start.elapsed().as_secs_f64());
                }
                Ok(DispatchTimes::Each(times))
            }
        })
    }
}

/// One run's dispatch times, in order: from timestamps (with the run's span), or by wall
/// clock with each dispatch submitted and waited for alone.
pub(crate) enum DispatchTimes {
    Timestamps(PassTimes),
    Each(Vec<f64>),
}

#[cfg(test)]
mod tests {
    use super::{median, percentile};

    #[test]
    fn median_and_percentile_follow_their_definitions() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 90.0), 9.0);
        assert_eq!(percentile(&v, 100.0), 10.0);
        assert_eq!(percentile(&[5.0, 1.0], 90.0), 5.0);
    }
}
