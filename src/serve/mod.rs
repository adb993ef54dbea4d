//! `resnet serve`: an inference server of the KServe V2 / Open Inference Protocol, the
//! protocol of NVIDIA Triton, KServe and Seldon MLServer, so that unmodified `tritonclient`
//! code and a KServe `ServingRuntime` work against it.
//!
//! - HTTP/REST (axum, [`http`]) and gRPC (tonic, [`grpc`], plus `grpc.health.v1`) on their
//!   own ports, Prometheus text at `/metrics` ([`metrics`]) on the HTTP port and a metrics
//!   port;
//! - each model loaded once, warmed up, and shared by every connection through a dynamic
//!   batcher ([`batcher`]) with a bounded queue;
//! - ready only after every model is loaded; on SIGTERM or Ctrl-C it stops accepting, lets
//!   in-flight requests finish, and returns.
//!
//! The ports are bound before the models load and printed on the first lines of stdout
//! (`http ADDR`, `grpc ADDR`, `metrics ADDR`), then `ready` once the models are in.

pub mod batcher;
pub mod config;
pub mod error;
pub mod grpc;
pub mod grpc_codec;
pub mod grpc_limit;
pub mod http;
pub mod metadata;
pub mod metrics;
pub mod repository;
pub mod served;
pub mod state;
pub mod tensors;
pub mod v2json;

use std::io::Write as _;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic_health::ServingStatus;

pub use config::{ModelSettings, ModelSpec, ServeOptions};
pub use state::ServerState;

use crate::{Engine, EngineOptions};

/// The gRPC service name the health service reports on (besides the server's "").
const GRPC_SERVICE: &str = "inference.GRPCInferenceService";

async fn bind(host: std::net::IpAddr, port: u16, what: &str) -> Result<TcpListener, String> {
    TcpListener::bind(SocketAddr::new(host, port))
        .await
        .map_err(|e| format!("binding the {what} port {host}:{port}: {e}"))
}

fn local(l: &TcpListener) -> String {
    l.local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Resolves once SIGTERM or Ctrl-C arrives.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the server until a stop signal; returns once in-flight requests are answered.
pub async fn serve(opts: ServeOptions, engine_opts: EngineOptions) -> Result<(), String> {
    if opts.models.is_empty() {
        return Err("no models to serve: give --model NAME=FILE or --model-repository DIR".into());
    }
    let mut names: Vec<String> = opts.models.iter().map(|m| m.name.clone()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("model name `{}` is given twice", w[0]));
    }
    let http_l = bind(opts.host, opts.http_port, "HTTP").await?;
    let grpc_l = bind(opts.host, opts.grpc_port, "gRPC").await?;
    let metrics_l = match opts.metrics_port {
        Some(p) => Some(bind(opts.host, p, "metrics").await?),
        None => None,
    };
    println!("http {}", local(&http_l));
    println!("grpc {}", local(&grpc_l));
    if let Some(l) = &metrics_l {
        println!("metrics {}", local(l));
    }
    let _ = std::io::stdout().flush();

    let state = ServerState::new(names, opts.max_body_bytes);
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    health
        .set_service_status(GRPC_SERVICE, ServingStatus::NotServing)
        .await;

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    {
        let state = state.clone();
        let health = health.clone();
        tokio::spawn(async move {
            stop_signal().await;
            eprintln!("stopping: no new connections; finishing in-flight requests");
            state.begin_shutdown();
            health
                .set_service_status("", ServingStatus::NotServing)
                .await;
            health
                .set_service_status(GRPC_SERVICE, ServingStatus::NotServing)
                .await;
            let _ = stop_tx.send(true);
        });
    }

    let mut servers = Vec::new();
    let app = http::router(state.clone());
    let stop = stopped();
    servers.push(tokio::spawn(async move {
        axum::serve(http_l, app)
            .with_graceful_shutdown(stop)
            .await
            .map_err(|e| format!("HTTP server: {e}"))
    }));
    if let Some(l) = metrics_l {
        let app = http::metrics_router(state.clone());
        let stop = stopped();
        servers.push(tokio::spawn(async move {
            axum::serve(l, app)
                .with_graceful_shutdown(stop)
                .await
                .map_err(|e| format!("metrics server: {e}"))
        }));
    }
    let grpc_svc = grpc_limit::SizeLimited::new(
        grpc::server(state.clone(), opts.max_body_bytes),
        state.clone(),
        opts.max_body_bytes,
    );
    let stop = stopped();
    servers.push(tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(grpc_svc)
            .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(grpc_l), stop)
            .await
            .map_err(|e| format!("gRPC server: {e}"))
    }));

    // Models load on a blocking thread while the ports already answer (live, not ready).
    let specs = opts.models.clone();
    let loading = tokio::task::spawn_blocking(move || -> Result<Vec<served::Loaded>, String> {
        let engine = Engine::with_options(&engine_opts).map_err(|e| e.to_string())?;
        if let Some(note) = engine.backend_note() {
            eprintln!("{note}");
        }
        specs.iter().map(|s| served::load(&engine, s)).collect()
    });
    let loaded = tokio::select! {
        r = loading => r.map_err(|e| format!("loading the models stopped: {e}"))?,
        _ = stopped() => {
            eprintln!("stopped while loading the models");
            return Ok(());
        }
    };
    let loaded = loaded?;
    let models: Vec<served::ServedModel> =
        loaded.into_iter().map(served::ServedModel::start).collect();
    state.set_models(models);
    health.set_service_status("", ServingStatus::Serving).await;
    health
        .set_service_status(GRPC_SERVICE, ServingStatus::Serving)
        .await;
    println!("ready {}", state.names().join(" "));
    let _ = std::io::stdout().flush();

    let grace = opts.shutdown_grace;
    let all_done = async move {
        let mut first_err = None;
        for s in servers {
            match s.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => first_err = first_err.or(Some(e)),
                Err(e) => first_err = first_err.or(Some(format!("server task: {e}"))),
            }
        }
        first_err
    };
    let grace_over = async {
        stopped().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        first_err = all_done => match first_err {
            Some(e) => Err(e),
            None => {
                eprintln!("stopped");
                Ok(())
            }
        },
        _ = grace_over => {
            eprintln!("stopped: requests still open after the {} s grace period were cut", grace.as_secs());
            Ok(())
        }
    }
}
