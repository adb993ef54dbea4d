//! The throughput path: [`Model::infer_stream`] keeps up to K calls submitted while the
//! oldest is read back, so uploads, GPU work and readbacks of consecutive inputs overlap.
//! Results come out in input order, each beside the item it came from.

use std::collections::VecDeque;

use super::executor::Model;
use super::pending::Pending;
use crate::error::Result;
use crate::weights::Tensor;

/// An iterator of `(item, result)` over inputs, with up to `in_flight` calls submitted ahead.
pub struct InferStream<'m, I: Iterator> {
    model: &'m Model,
    inputs: I,
    queue: VecDeque<(I::Item, Result<Pending>)>,
    in_flight: usize,
}

impl<'m, I> Iterator for InferStream<'m, I>
where
    I: Iterator,
    I::Item: AsRef<Tensor>,
{
    type Item = (I::Item, Result<Tensor>);

    fn next(&mut self) -> Option<Self::Item> {
        while self.queue.len() < self.in_flight {
            let Some(item) = self.inputs.next() else {
                break;
            };
            let pending = self.model.submit(item.as_ref());
            self.queue.push_back((item, pending));
        }
        let (item, pending) = self.queue.pop_front()?;
        Some((item, pending.and_then(Pending::wait)))
    }
}

impl Model {
    /// Runs every input (anything that is `AsRef<Tensor>`, such as a decoded
    /// [`crate::preprocess::Batch`]), keeping up to `in_flight` (≥ 1) submitted at once; yields
    /// each input with its output, in input order. One failed input does not stop the others.
    pub fn infer_stream<I>(&self, inputs: I, in_flight: usize) -> InferStream<'_, I::IntoIter>
    where
        I: IntoIterator,
        I::Item: AsRef<Tensor>,
    {
        InferStream {
            model: self,
            inputs: inputs.into_iter(),
            queue: VecDeque::new(),
            in_flight: in_flight.max(1),
        }
    }
}
