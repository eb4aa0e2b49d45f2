use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::Request;
use portcullis_core::authz::Requirement;
use portcullis_core::state;
use tower_layer::Layer;
use tower_service::Service;

use crate::render::to_response;
use crate::view::is_grpc;

/// Requires `requirement` on a route (use with `route_layer`, inside an [`AuthLayer`](crate::AuthLayer)).
/// A caller that does not meet it gets 403 `insufficient_scope`; an anonymous request gets 401;
/// a route without the layer gets 500. Decided by core's
/// [`RequestState::require`](portcullis_core::RequestState::require).
pub fn require(requirement: Requirement) -> RequireLayer {
    RequireLayer {
        requirement: Arc::new(requirement),
    }
}

/// The layer [`require`] returns.
#[derive(Debug, Clone)]
pub struct RequireLayer {
    requirement: Arc<Requirement>,
}

impl<S> Layer<S> for RequireLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Require<S> {
        Require {
            inner,
            requirement: Arc::clone(&self.requirement),
        }
    }
}

/// The service [`RequireLayer`] wraps around yours.
#[derive(Debug, Clone)]
pub struct Require<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

impl<S, B> Service<Request<B>> for Require<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let grpc = || is_grpc(request.headers());
        let refused = state::require(request.extensions().get(), grpc, &self.requirement).err();
        Box::pin(async move {
            if let Some(refusal) = refused {
                return Ok(to_response(refusal.into_rejection()).map(Body::from));
            }
            inner.call(request).await.map(IntoResponse::into_response)
        })
    }
}
