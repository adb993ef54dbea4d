//! Per-model counters, rendered as Prometheus text under Triton's metric names (so existing
//! dashboards read them):
//!
//! | metric                                   | kind    | meaning                                   |
//! |------------------------------------------|---------|-------------------------------------------|
//! | `nv_inference_request_success`           | counter | requests answered                         |
//! | `nv_inference_request_failure{reason=…}` | counter | requests refused or failed, by reason     |
//! | `nv_inference_count`                     | counter | images inferred (a request of batch n: n) |
//! | `nv_inference_exec_count`                | counter | model executions (batches run)            |
//! | `nv_inference_pending_request_count`     | gauge   | requests waiting in the queue             |
//! | `nv_inference_request_duration_us`       | counter | cumulative end-to-end time of answered requests |
//! | `nv_inference_queue_duration_us`         | counter | cumulative time answered requests queued  |
//! | `nv_inference_compute_infer_duration_us` | counter | cumulative time answered requests' batches ran |
//!
//! `nv_inference_count / nv_inference_exec_count` is the average batch size. Failures of
//! requests that name no served model count under `model=""`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// One model's counters.
#[derive(Default, Debug)]
pub struct ModelMetrics {
    pub success: AtomicU64,
    pub inferences: AtomicU64,
    pub executions: AtomicU64,
    pub pending: AtomicU64,
    pub request_us: AtomicU64,
    pub queue_us: AtomicU64,
    pub compute_us: AtomicU64,
    failures: Mutex<BTreeMap<&'static str, u64>>,
}

impl ModelMetrics {
    pub fn fail(&self, reason: &'static str) {
        if let Ok(mut f) = self.failures.lock() {
            *f.entry(reason).or_default() += 1;
        }
    }

    pub fn failures(&self) -> BTreeMap<&'static str, u64> {
        self.failures.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// Records one answered request.
    pub fn succeed(&self, request_us: u64, queue_us: u64, compute_us: u64) {
        self.success.fetch_add(1, Relaxed);
        self.request_us.fetch_add(request_us, Relaxed);
        self.queue_us.fetch_add(queue_us, Relaxed);
        self.compute_us.fetch_add(compute_us, Relaxed);
    }
}

/// Renders the metrics of `(model name, counters)` pairs.
pub fn render<'a>(models: impl IntoIterator<Item = (&'a str, &'a ModelMetrics)>) -> String {
    let models: Vec<_> = models.into_iter().collect();
    let mut out = String::new();
    let counter = |out: &mut String,
                   name: &str,
                   help: &str,
                   kind: &str,
                   get: &dyn Fn(&ModelMetrics) -> u64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (m, c) in &models {
            let _ = writeln!(
                out,
                "{name}{{model=\"{}\",version=\"1\"}} {}",
                escape(m),
                get(c)
            );
        }
    };
    counter(
        &mut out,
        "nv_inference_request_success",
        "Requests answered",
        "counter",
        &|c| c.success.load(Relaxed),
    );
    let _ = writeln!(
        out,
        "# HELP nv_inference_request_failure Requests refused or failed, by reason"
    );
    let _ = writeln!(out, "# TYPE nv_inference_request_failure counter");
    for (m, c) in &models {
        for (reason, n) in c.failures() {
            let _ = writeln!(
                out,
                "nv_inference_request_failure{{model=\"{}\",version=\"1\",reason=\"{reason}\"}} {n}",
                escape(m)
            );
        }
    }
    counter(
        &mut out,
        "nv_inference_count",
        "Images inferred (a request of batch n counts n)",
        "counter",
        &|c| c.inferences.load(Relaxed),
    );
    counter(
        &mut out,
        "nv_inference_exec_count",
        "Model executions (batches run)",
        "counter",
        &|c| c.executions.load(Relaxed),
    );
    counter(
        &mut out,
        "nv_inference_pending_request_count",
        "Requests waiting in the queue",
        "gauge",
        &|c| c.pending.load(Relaxed),
    );
    counter(
        &mut out,
        "nv_inference_request_duration_us",
        "Cumulative end-to-end time of answered requests",
        "counter",
        &|c| c.request_us.load(Relaxed),
    );
    counter(
        &mut out,
        "nv_inference_queue_duration_us",
        "Cumulative time answered requests waited in the queue",
        "counter",
        &|c| c.queue_us.load(Relaxed),
    );
    counter(
        &mut out,
        "nv_inference_compute_infer_duration_us",
        "Cumulative time the batches of answered requests ran",
        "counter",
        &|c| c.compute_us.load(Relaxed),
    );
    out
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family() {
        let m = ModelMetrics::default();
        m.succeed(10, 3, 5);
        m.inferences.fetch_add(4, Relaxed);
        m.executions.fetch_add(1, Relaxed);
        m.fail("bad_request");
        m.fail("bad_request");
        let text = render([("cifar", &m)]);
        assert!(text.contains("nv_inference_request_success{model=\"cifar\",version=\"1\"} 1\n"));
        assert!(text.contains(
            "nv_inference_request_failure{model=\"cifar\",version=\"1\",reason=\"bad_request\"} 2\n"
        ));
        assert!(text.contains("nv_inference_count{model=\"cifar\",version=\"1\"} 4\n"));
        assert!(text.contains("nv_inference_queue_duration_us{model=\"cifar\",version=\"1\"} 3\n"));
    }
}
