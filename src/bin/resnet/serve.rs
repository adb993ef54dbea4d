//! `resnet serve`: the flags of the inference server (see `resnet_wgpu::serve`).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use resnet_wgpu::gpu::Precision;
use resnet_wgpu::serve::{
    config::parse_model_arg, repository, ModelSettings, ModelSpec, ServeOptions,
};
use resnet_wgpu::{EngineOptions, Error, Result};

#[derive(Args)]
pub struct ServeArgs {
    /// A model to serve: NAME=FILE.onnx, or NAME=FILE.safetensors:ARCH (repeatable).
    #[arg(long = "model", value_name = "NAME=FILE[:ARCH]")]
    models: Vec<String>,
    /// A folder with one sub-folder per model (its file and an optional config.json).
    #[arg(long, value_name = "DIR")]
    model_repository: Option<PathBuf>,
    /// Address to listen on (0.0.0.0 for every interface).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// HTTP/REST port (0: any free port; the bound ports are printed first).
    #[arg(long, default_value_t = 8000)]
    http_port: u16,
    /// gRPC port (0: any free port).
    #[arg(long, default_value_t = 8001)]
    grpc_port: u16,
    /// Prometheus metrics port (0: any free port); /metrics is also on the HTTP port.
    #[arg(long, default_value_t = 8002)]
    metrics_port: u16,
    /// Serve metrics only on the HTTP port.
    #[arg(long)]
    no_metrics_port: bool,
    /// Largest HTTP request body and gRPC message, in bytes.
    #[arg(long, default_value_t = 64 << 20, value_parser = crate::at_least_one)]
    max_body_bytes: usize,
    /// Largest batch the batcher forms, and the largest one request may carry.
    #[arg(long, default_value_t = 32)]
    max_batch_size: usize,
    /// Batch sizes sent without waiting out the delay once no other request is waiting
    /// (comma-separated, each at most --max-batch-size; Triton's preferred_batch_size).
    #[arg(long, value_delimiter = ',')]
    preferred_batch_size: Vec<usize>,
    /// How long the first request of a batch waits for more, in microseconds.
    #[arg(long, default_value_t = 2000)]
    max_queue_delay_us: u64,
    /// Requests that may wait per model; more are refused at once (503 / UNAVAILABLE).
    #[arg(long, default_value_t = 256)]
    max_queue_size: usize,
    /// A request still queued after this many milliseconds is dropped with an error.
    #[arg(long, default_value_t = 30000)]
    timeout_ms: u64,
    /// Run every request as its own batch (no dynamic batching).
    #[arg(long)]
    no_dynamic_batching: bool,
    /// Batches of one model run at once (each on its own workspace of the shared model).
    #[arg(long, default_value_t = 2)]
    in_flight: usize,
    /// Preprocessing preset of the raw-image input: imagenet, caffe, cifar (default by
    /// classes: 10 → cifar, else imagenet).
    #[arg(long)]
    preset: Option<String>,
    /// GPU storage precision of activations and conv weights.
    #[arg(long, default_value = "f32")]
    precision: Precision,
    /// Seconds to wait for in-flight requests after SIGTERM / Ctrl-C.
    #[arg(long, default_value_t = 30)]
    shutdown_grace_s: u64,
}

impl ServeArgs {
    fn settings(&self) -> ModelSettings {
        ModelSettings {
            max_batch_size: self.max_batch_size,
            preferred_batch_sizes: self.preferred_batch_size.clone(),
            dynamic_batching: !self.no_dynamic_batching,
            max_queue_delay: Duration::from_micros(self.max_queue_delay_us),
            max_queue_size: self.max_queue_size,
            timeout: Duration::from_millis(self.timeout_ms),
            in_flight: self.in_flight,
            preset: self.preset.clone(),
            labels: None,
            precision: self.precision,
        }
    }

    /// The models of `--model` and `--model-repository`.
    fn specs(&self) -> std::result::Result<Vec<ModelSpec>, String> {
        let settings = self.settings();
        let mut specs = Vec::new();
        for m in &self.models {
            let (name, file, arch) = parse_model_arg(m)?;
            settings.validate(&name)?;
            specs.push(ModelSpec {
                name,
                file,
                arch,
                settings: settings.clone(),
            });
        }
        if let Some(dir) = &self.model_repository {
            specs.extend(repository::read_repository(dir, &settings)?);
        }
        Ok(specs)
    }
}

pub fn run(cli: &crate::Cli, a: &ServeArgs) -> Result<()> {
    let models = a.specs().map_err(Error::Serve)?;
    let opts = ServeOptions {
        host: a.host,
        http_port: a.http_port,
        grpc_port: a.grpc_port,
        metrics_port: (!a.no_metrics_port).then_some(a.metrics_port),
        max_body_bytes: a.max_body_bytes,
        models,
        shutdown_grace: Duration::from_secs(a.shutdown_grace_s),
    };
    let engine = EngineOptions {
        backend: cli.backend.clone(),
        adapter_name: cli.adapter.clone(),
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Serve(format!("starting the async runtime: {e}")))?;
    let result = runtime.block_on(resnet_wgpu::serve::serve(opts, engine));
    // `serve` returns once its requests are answered or the grace period is over: a blocking
    // task still running then (a model still loading, its warm-up) does not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result.map_err(Error::Serve)
}
