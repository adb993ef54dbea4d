//! What every route shares: the models (set once all are loaded and warmed up), readiness,
//! the metrics of requests that name no served model, and the server's limits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};

use super::error::{log_failure, ApiError};
use super::metrics::{self, ModelMetrics};
use super::served::ServedModel;

/// The server's name in its metadata.
pub const SERVER_NAME: &str = "resnet-wgpu";

/// The protocol extensions this server implements (listed by `GET /v2`).
pub const EXTENSIONS: [&str; 3] = [
    "binary_tensor_data",
    "classification",
    "model_configuration",
];

/// The only model version served.
pub const VERSION: &str = "1";

pub struct ServerState {
    /// The models, in name order, once every one is loaded.
    models: OnceLock<BTreeMap<String, Arc<ServedModel>>>,
    /// The names of the models to be served (known before they are loaded).
    names: Vec<String>,
    shutting_down: AtomicBool,
    /// Failures of requests that name no served model.
    unknown: ModelMetrics,
    pub max_body_bytes: usize,
}

impl ServerState {
    pub fn new(names: Vec<String>, max_body_bytes: usize) -> Arc<Self> {
        Arc::new(ServerState {
            models: OnceLock::new(),
            names,
            shutting_down: AtomicBool::new(false),
            unknown: ModelMetrics::default(),
            max_body_bytes,
        })
    }

    /// Installs the loaded models: the server is ready from now on.
    pub fn set_models(&self, models: Vec<ServedModel>) {
        let map = models
            .into_iter()
            .map(|m| (m.info.name.clone(), Arc::new(m)))
            .collect();
        let _ = self.models.set(map);
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, SeqCst);
    }

    /// Every model is loaded and the server is not shutting down.
    pub fn ready(&self) -> bool {
        self.models.get().is_some() && !self.shutting_down.load(SeqCst)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The model `name` at `version` (none, empty or "1").
    pub fn model(&self, name: &str, version: Option<&str>) -> Result<Arc<ServedModel>, ApiError> {
        if !self.names.iter().any(|n| n == name) {
            return Err(ApiError::unknown_model(name, &self.names));
        }
        if let Some(v) = version.filter(|v| !v.is_empty() && *v != VERSION) {
            return Err(ApiError::not_found(format!(
                "model `{name}` has no version `{v}`; the only version is {VERSION}"
            )));
        }
        match self.models.get().and_then(|m| m.get(name)) {
            Some(m) => Ok(m.clone()),
            None => Err(ApiError::unavailable(format!(
                "model `{name}` is still loading; retry when /v2/health/ready answers 200"
            ))),
        }
    }

    /// Whether the model `name` is ready (false for unknown names).
    pub fn model_ready(&self, name: &str, version: Option<&str>) -> bool {
        self.ready() && self.model(name, version).is_ok()
    }

    /// Counts and logs a failed inference request.
    pub fn failed(&self, protocol: &str, model: &str, e: &ApiError) {
        match self.models.get().and_then(|m| m.get(model)) {
            Some(m) => m.metrics.fail(e.reason()),
            None => self.unknown.fail(e.reason()),
        }
        log_failure(protocol, model, e);
    }

    /// The Prometheus text of every model.
    pub fn metrics_text(&self) -> String {
        let mut rows: Vec<(&str, &ModelMetrics)> = Vec::new();
        if let Some(models) = self.models.get() {
            rows.extend(models.iter().map(|(n, m)| (n.as_str(), m.metrics.as_ref())));
        }
        rows.push(("", &self.unknown));
        metrics::render(rows)
    }
}
