//! Request errors of the inference protocol: one kind per HTTP status / gRPC code, and a
//! short reason label (the `reason` of the failure metric and of the log line).
//!
//! | kind            | HTTP | gRPC                | reason           |
//! |-----------------|------|---------------------|------------------|
//! | `BadRequest`    | 400  | `INVALID_ARGUMENT`  | `bad_request`    |
//! | `NotFound`      | 404  | `NOT_FOUND`         | `not_found`      |
//! | `TooLarge`      | 413  | `RESOURCE_EXHAUSTED`| `too_large`      |
//! | `Unavailable`   | 503  | `UNAVAILABLE`       | `unavailable`    |
//! | `QueueFull`     | 503  | `UNAVAILABLE`       | `queue_full`     |
//! | `Timeout`       | 503  | `DEADLINE_EXCEEDED` | `timeout`        |
//! | `Internal`      | 500  | `INTERNAL`          | `internal`       |

use std::fmt;

/// What went wrong with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    NotFound,
    TooLarge,
    Unavailable,
    QueueFull,
    Timeout,
    Internal,
}

/// An error answered to one request; the message names what was wrong, what was expected and
/// what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub kind: Kind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Kind::Internal, message)
    }

    /// The model `name` is not served; lists the names that are.
    pub fn unknown_model(name: &str, served: &[String]) -> Self {
        Self::not_found(format!(
            "unknown model `{name}`; this server serves: {}",
            if served.is_empty() {
                "(none)".to_string()
            } else {
                served.join(", ")
            }
        ))
    }

    /// The HTTP status code.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            Kind::BadRequest => 400,
            Kind::NotFound => 404,
            Kind::TooLarge => 413,
            Kind::Unavailable | Kind::QueueFull | Kind::Timeout => 503,
            Kind::Internal => 500,
        }
    }

    /// The gRPC status code.
    pub fn grpc_code(&self) -> tonic::Code {
        match self.kind {
            Kind::BadRequest => tonic::Code::InvalidArgument,
            Kind::NotFound => tonic::Code::NotFound,
            Kind::TooLarge => tonic::Code::ResourceExhausted,
            Kind::Unavailable | Kind::QueueFull => tonic::Code::Unavailable,
            Kind::Timeout => tonic::Code::DeadlineExceeded,
            Kind::Internal => tonic::Code::Internal,
        }
    }

    /// The label of the failure metric and log line.
    pub fn reason(&self) -> &'static str {
        match self.kind {
            Kind::BadRequest => "bad_request",
            Kind::NotFound => "not_found",
            Kind::TooLarge => "too_large",
            Kind::Unavailable => "unavailable",
            Kind::QueueFull => "queue_full",
            Kind::Timeout => "timeout",
            Kind::Internal => "internal",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        tonic::Status::new(e.grpc_code(), e.message)
    }
}

/// Prints one structured (JSON) line on stderr for a failed request.
pub fn log_failure(protocol: &str, model: &str, e: &ApiError) {
    eprintln!(
        "{}",
        serde_json::json!({
            "level": "warn",
            "event": "request_failed",
            "protocol": protocol,
            "model": model,
            "status": e.http_status(),
            "reason": e.reason(),
            "error": e.message,
        })
    );
}
