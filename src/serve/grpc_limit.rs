//! gRPC requests over `--max-body-bytes`. tonic refuses a message past its decoding limit
//! before the service sees it, answering `OUT_OF_RANGE` in a trailers-only response, and the
//! failure is neither counted nor logged. gRPC's status-code table gives `RESOURCE_EXHAUSTED`
//! to "sent or received message was larger than configured limit", which is also what the
//! server answers for its other size limits (HTTP 413). [`SizeLimited`] wraps the service and
//! turns that answer into the server's own `TooLarge` failure: `RESOURCE_EXHAUSTED`, a message
//! naming the flag, one log line and one count under the model `""` (the message was never
//! decoded, so its model is unknown). The service itself never answers `OUT_OF_RANGE`.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::{http, BoxFuture, Service};
use tonic::server::NamedService;
use tonic::{Code, Status};

use super::error::{ApiError, Kind};
use super::state::ServerState;

/// The service `S` with tonic's size refusals answered as the server's `TooLarge`.
#[derive(Clone)]
pub struct SizeLimited<S> {
    inner: S,
    state: Arc<ServerState>,
    limit: usize,
}

impl<S> SizeLimited<S> {
    pub fn new(inner: S, state: Arc<ServerState>, limit: usize) -> Self {
        SizeLimited {
            inner,
            state,
            limit,
        }
    }
}

impl<S: NamedService> NamedService for SizeLimited<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for SizeLimited<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let answer = self.inner.call(req);
        let (state, limit) = (self.state.clone(), self.limit);
        Box::pin(async move {
            let response = answer.await?;
            let refused = Status::from_header_map(response.headers())
                .filter(|s| s.code() == Code::OutOfRange);
            let Some(status) = refused else {
                return Ok(response);
            };
            let e = ApiError::new(
                Kind::TooLarge,
                format!(
                    "request message over the limit of {limit} bytes (--max-body-bytes): {}",
                    status.message()
                ),
            );
            state.failed("grpc", "", &e);
            Ok(Status::from(e).into_http())
        })
    }
}
