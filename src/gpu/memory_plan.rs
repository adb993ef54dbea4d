//! The memory plan of a graph at one (batch, height, width): pure arithmetic, no device.
//!
//! Stages, each a function of the ones before:
//! 1. shapes — the per-image shape of every value ([`Graph::shapes`]);
//! 2. fusions — global average pools whose only reader is the classifier, which then averages
//!    and classifies in one pass ([`fused_pools`]);
//! 3. liveness — the index of the last node that reads each value ([`last_uses`]);
//! 4. assignment — every value gets an activation buffer: the smallest free one that fits, else
//!    the largest free one grown to fit, else a new one; a buffer is free again after the last
//!    read of its value ([`assign`]).
//!
//! Sizes: a value of per-image shape `(h, w, c)` takes `n · h · w · c · e` bytes rounded up to 16,
//! with `e` = 4 for the NCHW f32 input and the classifier's f32 logits and the storage
//! precision's size for every other activation.

use std::collections::HashMap;

use super::kernels::linear;
use crate::error::{Error, Result};
use crate::model::{Graph, Op, Shape};

/// Where every value of a graph lives for one (batch, height, width).
#[derive(Clone, Debug)]
pub(crate) struct MemoryPlan {
    pub batch: usize,
    pub shapes: Vec<Shape>,
    /// Pooled value → the pool's input, for pools fused into the classifier.
    pub pooled_by: HashMap<usize, usize>,
    /// Activation buffer of each value (`usize::MAX` for the input and for skipped values).
    pub slot: Vec<usize>,
    /// Size in bytes of each activation buffer.
    pub capacity: Vec<u64>,
    /// Bytes of each value's binding.
    pub value_bytes: Vec<u64>,
    /// The graph's output value and whether it is stored in f16.
    pub output: usize,
    pub output_f16: bool,
    /// The largest number of bytes of values alive at the same time.
    pub live_peak: u64,
}

impl MemoryPlan {
    /// Plans `graph` for `n` images of `h × w` with activations of `act_bytes` bytes; every
    /// binding must fit in `limit` bytes.
    pub fn new(
        graph: &Graph,
        n: usize,
        h: usize,
        w: usize,
        act_bytes: usize,
        limit: u64,
    ) -> Result<Self> {
        if n == 0 {
            return Err(Error::InvalidInput(
                "batch: expected at least 1 image, found 0".into(),
            ));
        }
        let shapes = graph.shapes(h, w)?;
        let nodes: Vec<_> = graph.nodes().collect();
        let f32_output = nodes
            .iter()
            .any(|nd| nd.output == graph.output && matches!(nd.op, Op::Linear { .. }));
        let output_elem = if f32_output { 4 } else { act_bytes };
        let value_bytes: Vec<u64> = (0..shapes.len())
            .map(|v| {
                let elem = match v {
                    0 => 4,
                    v if v == graph.output => output_elem,
                    _ => act_bytes,
                };
                // Saturating: a batch too large to count in bytes fails the limit below.
                let bytes = (n as u64)
                    .saturating_mul(shapes[v].len() as u64)
                    .saturating_mul(elem as u64);
                bytes.max(16).div_ceil(16).saturating_mul(16)
            })
            .collect();
        if value_bytes[0] > limit {
            return Err(Error::TooLarge {
                what: "the input".into(),
                needed: value_bytes[0],
                limit,
            });
        }
        let pooled_by = fused_pools(graph, &shapes);
        let last_use = last_uses(graph, &pooled_by);
        let (slot, capacity, live_peak) = assign(graph, &last_use, &value_bytes, limit)?;
        Ok(MemoryPlan {
            batch: n,
            shapes,
            pooled_by,
            slot,
            capacity,
            value_bytes,
            output: graph.output,
            output_f16: output_elem == 2,
            live_peak,
        })
    }

    /// Bytes of the input binding.
    pub fn input_bytes(&self) -> u64 {
        self.value_bytes[0]
    }

    /// Bytes of the output (what is read back).
    pub fn output_bytes(&self) -> u64 {
        (self.batch * self.shapes[self.output].len() * if self.output_f16 { 2 } else { 4 }) as u64
    }

    /// Bytes of one workspace: input, activations, readback and `scratch`.
    pub fn workspace_bytes(&self, scratch: u64) -> u64 {
        self.input_bytes() + self.activation_bytes() + self.output_bytes().max(16) + scratch
    }

    /// Bytes of all activation buffers together.
    pub fn activation_bytes(&self) -> u64 {
        self.capacity.iter().sum()
    }
}

/// Stage 2: global average pools read only by a classifier (which can average them itself),
/// as pooled value → the pool's input.
pub(crate) fn fused_pools(graph: &Graph, shapes: &[Shape]) -> HashMap<usize, usize> {
    let nodes: Vec<_> = graph.nodes().collect();
    nodes
        .iter()
        .filter(|p| {
            matches!(p.op, Op::GlobalAvgPool)
                && shapes[p.output].c <= linear::POOL_LINEAR_MAX_IN
                && p.output != graph.output
        })
        .filter(|p| {
            let mut readers = nodes.iter().filter(|r| r.inputs.contains(&p.output));
            matches!(
                (readers.next(), readers.next()),
                (Some(r), None) if matches!(r.op, Op::Linear { .. })
            )
        })
        .map(|p| (p.output, p.inputs[0]))
        .collect()
}

/// Stage 3: for every value, the index of the last node that reads it (`usize::MAX` for the
/// output, which lives to the end).
pub(crate) fn last_uses(graph: &Graph, pooled_by: &HashMap<usize, usize>) -> Vec<usize> {
    let mut last_use = vec![0usize; graph.value_channels.len()];
    for (i, node) in graph.nodes().enumerate() {
        for &v in &node.inputs {
            last_use[v] = i;
            // A fused classifier reads the pool's input directly.
            if let Some(&pool_input) = pooled_by.get(&v) {
                last_use[pool_input] = i;
            }
        }
    }
    last_use[graph.output] = usize::MAX;
    last_use
}

/// Stage 4: (buffer of each value, buffer sizes, peak of live bytes).
pub(crate) fn assign(
    graph: &Graph,
    last_use: &[usize],
    value_bytes: &[u64],
    limit: u64,
) -> Result<(Vec<usize>, Vec<u64>, u64)> {
    let mut capacity: Vec<u64> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut slot = vec![usize::MAX; value_bytes.len()];
    let (mut live, mut live_peak) = (0u64, 0u64);
    for (i, node) in graph.nodes().enumerate() {
        let need = value_bytes[node.output];
        if need > limit {
            return Err(Error::TooLarge {
                what: format!("the activation of `{}`", node.name),
                needed: need,
                limit,
            });
        }
        let pick = free
            .iter()
            .enumerate()
            .filter(|(_, &b)| capacity[b] >= need)
            .min_by_key(|(_, &b)| capacity[b])
            .or_else(|| free.iter().enumerate().max_by_key(|(_, &b)| capacity[b]))
            .map(|(pos, _)| pos);
        let b = match pick {
            Some(pos) => free.swap_remove(pos),
            None => {
                capacity.push(0);
                capacity.len() - 1
            }
        };
        capacity[b] = capacity[b].max(need);
        slot[node.output] = b;
        live += need;
        live_peak = live_peak.max(live);
        for &v in &node.inputs {
            if v != 0 && last_use[v] == i && !free.contains(&slot[v]) {
                free.push(slot[v]);
                live = live.saturating_sub(value_bytes[v]);
            }
        }
    }
    Ok((slot, capacity, live_peak))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ir::GraphBuilder;
    use crate::model::Conv2d;

    fn chain(convs: usize) -> Graph {
        let mut g = GraphBuilder::new("chain", 3);
        let mut x = g.push("input", Op::InputToNhwc, vec![0], 3);
        let mut c = 3;
        for i in 0..convs {
            let conv = Conv2d::square(c, 8, 3, 1, 1);
            let op = Op::Conv {
                conv,
                weight: vec![0.0; conv.weight_len()],
                bias: vec![0.0; 8],
                relu: true,
            };
            x = g.push(&format!("conv{i}"), op, vec![x], 8);
            c = 8;
        }
        g.finish(x)
    }

    #[test]
    fn a_chain_reuses_two_buffers_and_sizes_follow_the_batch() {
        let g = chain(5);
        let p = MemoryPlan::new(&g, 2, 10, 10, 4, u64::MAX).unwrap();
        // input→nhwc, then each conv reads the previous value: two buffers ping-pong.
        assert_eq!(p.capacity.len(), 2);
        assert_eq!(p.value_bytes[0], (2 * 3 * 10 * 10 * 4) as u64);
        assert_eq!(p.capacity.iter().max(), Some(&((2 * 8 * 100 * 4) as u64)));
        // Two values alive at once at most: a conv's input and output.
        assert_eq!(p.live_peak, 2 * (2 * 8 * 100 * 4) as u64);
        let half = MemoryPlan::new(&g, 1, 10, 10, 2, u64::MAX).unwrap();
        assert_eq!(half.activation_bytes() * 4, p.activation_bytes());
    }

    #[test]
    fn a_binding_over_the_limit_is_an_error_naming_the_layer() {
        let g = chain(2);
        let e = MemoryPlan::new(&g, 1, 10, 10, 4, 1000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("the input") || e.contains("conv"), "{e}");
        let e = MemoryPlan::new(&g, 1, 10, 10, 4, 1500)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`input`") || e.contains("`conv0`"), "{e}");
        assert!(e.contains("1500"), "{e}");
    }
}
