//! Recording a call: the input write, one command buffer per segment (stem, each residual
//! block, head) and the logits copy, submitted in growing groups as they are recorded.
//!
//! Recording costs the host a few microseconds per dispatch (wgpu's validation and tracking;
//! with the input write, 0.6–0.8 ms for resnet50's 82–103 dispatches at batch 1 on a 2-core
//! Xeon), and a device runs nothing of a call before its first submission. So the first group
//! is submitted once it holds [`FIRST_GROUP`] dispatches, and each later group once it holds
//! twice as many as the group before it (the rest go with the last):
//!
//! ```text
//! group 0: segments until ≥ FIRST_GROUP dispatches
//! group g: segments until ≥ 2 · dispatches(group g − 1)       (g ≥ 1)
//! ```
//!
//! The device runs group g while the host records group g + 1, and the submissions stay few
//! (4 for resnet50: each costs the host tens of microseconds). On CPU adapters, and where
//! `RESNET_SUBMIT_GROUPS=0`, a call is one group (see `Context::submit_groups`).

use super::Model;
use crate::error::Result;
use crate::gpu::schedule::{Schedule, Step};
use crate::gpu::workspace::Workspace;

/// Dispatches in the first submitted group of a call.
pub(crate) const FIRST_GROUP: usize = 8;

/// Where the submitted groups end: for segments of `dispatches[i]` dispatches each, the
/// exclusive segment index that ends each group, in order; the last is `dispatches.len()`.
pub(crate) fn group_ends(dispatches: &[usize]) -> Vec<usize> {
    let mut ends = Vec::new();
    let (mut want, mut held) = (FIRST_GROUP, 0usize);
    for (i, &d) in dispatches.iter().enumerate() {
        held += d;
        if held >= want && i + 1 < dispatches.len() {
            ends.push(i + 1);
            want = 2 * held;
            held = 0;
        }
    }
    ends.push(dispatches.len());
    ends
}

/// Dispatches in each group of segments of `dispatches[i]` dispatches ending at `ends`.
fn group_sizes(dispatches: &[usize], ends: &[usize]) -> Vec<usize> {
    let mut start = 0;
    ends.iter()
        .map(|&end| {
            let d = dispatches[start..end].iter().sum();
            start = end;
            d
        })
        .collect()
}

/// Dispatches per segment of `schedule`.
fn dispatch_counts(schedule: &Schedule) -> Vec<usize> {
    schedule.segments.iter().map(Vec::len).collect()
}

impl Model {
    /// Dispatches in each submission of one chunk of a call of `n` images of `h × w`, in order
    /// (one entry where the engine submits each call whole).
    pub fn submission_dispatches(&self, n: usize, h: usize, w: usize) -> Result<Vec<usize>> {
        let chunk = self.chunk_size(n, h, w)?;
        let shaped = self.shaped(chunk, h, w)?;
        let counts = dispatch_counts(&shaped.schedule);
        Ok(group_sizes(&counts, &self.group_ends_of(&counts)))
    }

    /// [`group_ends`] where the engine submits in groups, else one group.
    fn group_ends_of(&self, counts: &[usize]) -> Vec<usize> {
        if self.ctx.submit_groups {
            group_ends(counts)
        } else {
            vec![counts.len()]
        }
    }

    /// Writes the input, then records and submits the call's command buffers in the groups of
    /// [`group_ends`]; the logits copy goes with the last. Returns the last submission.
    pub(crate) fn submit_recorded(
        &self,
        schedule: &Schedule,
        ws: &Workspace,
        input: &[f32],
    ) -> wgpu::SubmissionIndex {
        self.write_input(ws, input);
        let ends = self.group_ends_of(&dispatch_counts(schedule));
        let (mut start, mut index) = (0usize, 0usize);
        let mut last = None;
        for end in ends {
            let mut cmds = Vec::with_capacity(end - start + 1);
            for seg in &schedule.segments[start..end] {
                cmds.push(self.record_segment(seg, ws, &mut index, None));
            }
            if end == schedule.segments.len() {
                cmds.push(self.record_output_copy(schedule, ws));
            }
            last = Some(self.ctx.queue.submit(cmds));
            start = end;
        }
        // The groups always end with the last segment, so there was a submission.
        last.unwrap_or_else(|| self.ctx.queue.submit([]))
    }

    /// Writes the input and records one command buffer per segment, then the logits copy,
    /// without submitting. With `timestamps`, every dispatch gets its own pass that writes
    /// query `2i` at its start and `2i + 1` at its end (`i` counts dispatches in order).
    pub(crate) fn record(
        &self,
        schedule: &Schedule,
        ws: &Workspace,
        input: &[f32],
        timestamps: Option<&wgpu::QuerySet>,
    ) -> Vec<wgpu::CommandBuffer> {
        self.write_input(ws, input);
        let mut cmds = Vec::with_capacity(schedule.segments.len() + 1);
        let mut index = 0usize;
        for seg in &schedule.segments {
            cmds.push(self.record_segment(seg, ws, &mut index, timestamps));
        }
        cmds.push(self.record_output_copy(schedule, ws));
        cmds
    }

    fn write_input(&self, ws: &Workspace, input: &[f32]) {
        self.ctx
            .queue
            .write_buffer(&ws.input, 0, bytemuck::cast_slice(input));
    }

    /// One segment's command buffer; `index` is the number of dispatches recorded before it
    /// (the bind group and timestamp index of its first), advanced past its own.
    fn record_segment(
        &self,
        seg: &[Step],
        ws: &Workspace,
        index: &mut usize,
        timestamps: Option<&wgpu::QuerySet>,
    ) -> wgpu::CommandBuffer {
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        match timestamps {
            None => {
                let mut pass = enc.begin_compute_pass(&Default::default());
                for step in seg {
                    self.dispatch(&mut pass, step, &ws.bind_groups[*index]);
                    *index += 1;
                }
            }
            Some(qs) => {
                for step in seg {
                    let i = *index as u32;
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: None,
                        timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                            query_set: qs,
                            beginning_of_pass_write_index: Some(2 * i),
                            end_of_pass_write_index: Some(2 * i + 1),
                        }),
                    });
                    self.dispatch(&mut pass, step, &ws.bind_groups[*index]);
                    *index += 1;
                }
            }
        }
        enc.finish()
    }

    /// The copy of the logits into the readback buffer.
    fn record_output_copy(&self, schedule: &Schedule, ws: &Workspace) -> wgpu::CommandBuffer {
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        let bytes = schedule.memory.output_bytes();
        enc.copy_buffer_to_buffer(ws.output(schedule), 0, &ws.readback, 0, bytes);
        enc.finish()
    }

    /// Records `step` into `pass` with its bind group.
    pub(crate) fn dispatch(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        step: &Step,
        bind_group: &wgpu::BindGroup,
    ) {
        pass.set_pipeline(&self.pipelines.get(step.kernel, step.write).pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.dispatch_workgroups(step.grid[0], step.grid[1], step.grid[2]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dispatches per group for segments of `counts`.
    fn groups(counts: &[usize]) -> Vec<usize> {
        group_sizes(counts, &group_ends(counts))
    }

    #[test]
    fn groups_double_from_the_first_and_cover_every_segment() {
        // resnet50 at batch 1 on lavapipe's plan: the stem (layout, conv, pool), a first block
        // of 6 dispatches, the blocks, the head.
        let counts = [3, 6, 5, 5, 4, 5, 5, 5, 4, 5, 5, 5, 5, 5, 4, 5, 5, 1];
        // 3 + 6 = 9 ≥ 8; then 19 ≥ 18; then 39 ≥ 38; the last 15 close the call.
        assert_eq!(group_ends(&counts), vec![2, 6, 14, 18]);
        let g = groups(&counts);
        assert_eq!(g, vec![9, 19, 39, 15]);
        assert_eq!(g.iter().sum::<usize>(), counts.iter().sum::<usize>());
    }

    #[test]
    fn small_schedules_are_one_group() {
        assert_eq!(group_ends(&[3, 2, 1]), vec![3]);
        assert_eq!(group_ends(&[20]), vec![1]);
        assert_eq!(group_ends(&[]), vec![0]);
        // Enough for a first group, but the last segment always closes the last group.
        assert_eq!(group_ends(&[8, 1]), vec![1, 2]);
    }
}
