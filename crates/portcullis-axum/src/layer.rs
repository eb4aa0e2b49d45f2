use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Full};
use portcullis_core::authenticator::Authenticator;
use tower_layer::Layer;
use tower_service::Service;

use crate::render::{append_headers, to_response};
use crate::view::{HeaderView, view};

/// Authenticates every request with a [`Verifier`](portcullis_core::Verifier): a thin wrapper over core's
/// [`Authenticator`], which makes every decision and whose
/// [`RequestState`](portcullis_core::RequestState) it puts in the request extensions (services
/// that are not axum handlers, such as tonic's, read it from there). See the crate docs.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    authenticator: Authenticator,
}

portcullis_core::adapter_options!(AuthLayer);

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around yours.
#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    authenticator: Authenticator,
}

impl<S: fmt::Debug> fmt::Debug for Auth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The response body: yours, or a rejection.
pub type AuthBody<B> = Either<B, Full<Bytes>>;

impl<S, B, ResBody> Service<Request<B>> for Auth<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            // Parts, not the request, are borrowed across the verification: the body need not
            // be `Sync`.
            let (mut parts, body) = request.into_parts();
            let decided = {
                let headers = HeaderView(&parts.headers);
                authenticator.authenticate(&view(&parts, &headers)).await
            };
            let extra = match decided {
                Ok(state) => {
                    let extra = state.response_headers().to_vec();
                    parts.extensions.insert(state);
                    extra
                }
                Err(rejection) => {
                    let response = to_response(rejection);
                    return Ok(response.map(|bytes| Either::Right(Full::new(bytes))));
                }
            };
            let mut response = inner.call(Request::from_parts(parts, body)).await?;
            append_headers(response.headers_mut(), extra);
            Ok(response.map(Either::Left))
        })
    }
}
