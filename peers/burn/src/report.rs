//! The harness's output: a header naming both engines and their adapters, one markdown row per
//! architecture, and the same as JSON on request.

use serde_json::{json, Value};

use crate::timing::Stats;

/// One architecture's result.
pub struct Row {
    pub arch: String,
    pub batch: usize,
    pub ours: Stats,
    pub burn: Stats,
    /// max |ours − burn| / max |ours|
    pub rel_err: f64,
    /// Fraction of images whose top-1 class agrees.
    pub top1: f64,
}

pub const HEADER: &str = "| arch | batch | ours median ms | ours min ms | burn median ms | burn min ms | ours/burn (median) | max abs Δ / max abs logit | top-1 agree |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|";

impl Row {
    pub fn markdown(&self) -> String {
        format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1e} | {:.0}% |",
            self.arch,
            self.batch,
            self.ours.median_ms,
            self.ours.min_ms,
            self.burn.median_ms,
            self.burn.min_ms,
            self.ours.median_ms / self.burn.median_ms,
            self.rel_err,
            self.top1 * 100.0
        )
    }

    pub fn json(&self) -> Value {
        let stats = |s: &Stats| json!({"median_ms": s.median_ms, "min_ms": s.min_ms, "samples_ms": s.samples_ms});
        json!({
            "arch": self.arch, "batch": self.batch,
            "ours": stats(&self.ours), "burn": stats(&self.burn),
            "ratio_median_ours_over_burn": self.ours.median_ms / self.burn.median_ms,
            "max_abs_diff_over_max_abs_logit": self.rel_err, "top1_agreement": self.top1,
        })
    }
}
