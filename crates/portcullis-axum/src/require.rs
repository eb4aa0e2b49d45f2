use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::Request;
use portcullis_core::AuthError;
use portcullis_core::authz::Requirement;
use tower_layer::Layer;
use tower_service::Service;

use crate::extract::render;
use crate::layer::{Principal, Rendering};

/// Requires `requirement` on a route (use with `route_layer`, inside an [`AuthLayer`](crate::AuthLayer)).
/// A token that does not meet it gets 403 `insufficient_scope`; a request without a verified
/// token gets 401.
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
        let requirement = Arc::clone(&self.requirement);
        Box::pin(async move {
            let outcome = match request.extensions().get::<Principal>() {
                Some(Principal(verified)) => verified.check(&requirement),
                None => Err(AuthError::MissingCredential),
            };
            if let Err(error) = outcome {
                let (parts, _) = request.into_parts();
                let response = match parts.extensions.get::<Rendering>() {
                    Some(_) => render(&parts, &error),
                    None => {
                        let mut r = Response::new(Body::from(
                            "portcullis: require() used on a route without AuthLayer",
                        ));
                        *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                        r
                    }
                };
                return Ok(response);
            }
            inner.call(request).await.map(IntoResponse::into_response)
        })
    }
}
