//! The HTTP/REST routes of the KServe V2 protocol (axum). Every model route also exists
//! under `/v2/models/{name}/versions/{version}/…`. Errors are `{"error": "..."}` with the
//! status of [`ApiError::http_status`].
//!
//! | route                              | answer                                         |
//! |------------------------------------|------------------------------------------------|
//! | `GET /v2/health/live`              | 200 while the process runs                     |
//! | `GET /v2/health/ready`             | 200 once every model is loaded, else 503       |
//! | `GET /v2`                          | server metadata                                |
//! | `GET /v2/models/{name}`            | model metadata                                 |
//! | `GET /v2/models/{name}/ready`      | 200 or 503                                     |
//! | `GET /v2/models/{name}/config`     | Triton model configuration                     |
//! | `POST /v2/models/{name}/infer`     | inference (JSON or binary tensor data)         |
//! | `GET /metrics`                     | Prometheus text                                |

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::error::{ApiError, Kind};
use super::metadata;
use super::state::ServerState;
use super::v2json;

/// The request and response header of the binary tensor data extension.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

type Params = Path<BTreeMap<String, String>>;

/// Every route of the protocol, plus `/metrics`.
pub fn router(state: Arc<ServerState>) -> Router {
    let mut r = Router::new()
        .route("/v2", get(server_metadata))
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/metrics", get(metrics));
    for base in ["/v2/models/{name}", "/v2/models/{name}/versions/{version}"] {
        r = r
            .route(base, get(model_metadata))
            .route(&format!("{base}/ready"), get(model_ready))
            .route(&format!("{base}/config"), get(model_config))
            .route(&format!("{base}/infer"), post(infer));
    }
    r.fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
}

/// The metrics port's only route.
pub fn metrics_router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
}

fn json_response(status: u16, v: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.http_status(), &json!({"error": e.message}))
}

/// A route asked with the other method: 405 with a JSON error, like every other failure.
async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    json_response(
        405,
        &json!({"error": format!(
            "{method} {}: wrong method; expected POST for .../infer and GET for every other route",
            uri.path()
        )}),
    )
}

async fn no_route(uri: axum::http::Uri) -> Response {
    error_response(&ApiError::not_found(format!(
        "no route `{}`; the routes are /v2, /v2/health/{{live,ready}}, /v2/models/NAME[/versions/V][/ready|/config|/infer], /metrics",
        uri.path()
    )))
}

async fn live() -> Response {
    json_response(200, &json!({"live": true}))
}

async fn ready(State(s): State<Arc<ServerState>>) -> Response {
    let ready = s.ready();
    json_response(if ready { 200 } else { 503 }, &json!({"ready": ready}))
}

async fn metrics(State(s): State<Arc<ServerState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics_text(),
    )
        .into_response()
}

async fn server_metadata() -> Response {
    json_response(200, &metadata::server_metadata())
}

fn name_version(p: &BTreeMap<String, String>) -> (&str, Option<&str>) {
    (
        p.get("name").map(String::as_str).unwrap_or(""),
        p.get("version").map(String::as_str),
    )
}

async fn model_metadata(State(s): State<Arc<ServerState>>, Path(p): Params) -> Response {
    let (name, version) = name_version(&p);
    match s.model(name, version) {
        Ok(m) => json_response(200, &metadata::model_metadata(&m.info)),
        Err(e) => error_response(&e),
    }
}

async fn model_config(State(s): State<Arc<ServerState>>, Path(p): Params) -> Response {
    let (name, version) = name_version(&p);
    match s.model(name, version) {
        Ok(m) => json_response(200, &metadata::model_config(&m.info)),
        Err(e) => error_response(&e),
    }
}

async fn model_ready(State(s): State<Arc<ServerState>>, Path(p): Params) -> Response {
    let (name, version) = name_version(&p);
    if let Err(e) = s.model(name, version) {
        if e.kind == Kind::NotFound {
            return error_response(&e);
        }
    }
    let ready = s.model_ready(name, version);
    json_response(
        if ready { 200 } else { 503 },
        &json!({"name": name, "ready": ready}),
    )
}

async fn infer(
    State(s): State<Arc<ServerState>>,
    Path(p): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (name, version) = name_version(&p);
    match infer_inner(&s, name, version, &headers, body).await {
        Ok(r) => r,
        Err(e) => {
            s.failed("http", name, &e);
            error_response(&e)
        }
    }
}

async fn infer_inner(
    s: &Arc<ServerState>,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let model = s.model(name, version)?;
    // While stopping, requests on open connections are still answered (they are in flight).
    let limit = s.max_body_bytes;
    let too_large = |found: String| {
        ApiError::new(
            Kind::TooLarge,
            format!(
                "the request body is {found}, over the limit of {limit} bytes (--max-body-bytes)"
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|&n| n > limit as u64) {
        return Err(too_large(format!("{n} bytes")));
    }
    let header_len = match headers.get(HEADER_LENGTH) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                "Inference-Header-Content-Length must be a non-negative integer, found {v:?}"
            ))
                })?,
        ),
    };
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if e.to_string().contains("length limit exceeded") {
            too_large("larger".into())
        } else {
            ApiError::bad_request(format!("reading the request body: {e}"))
        }
    })?;
    let req = v2json::parse_request(&bytes, header_len)?;
    let id = req.id.clone();
    let outputs = model.infer(req).await?;
    let (body, json_len) = v2json::response(name, id.as_deref(), &outputs);
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    match json_len {
        Some(len) => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            h.insert(HEADER_LENGTH, HeaderValue::from(len));
        }
        None => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
    }
    Ok(resp)
}
