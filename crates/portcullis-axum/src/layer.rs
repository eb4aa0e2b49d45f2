use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::{Either, Full};
use portcullis_core::authenticator::{Authenticator, Outcome, reject_unconfigured};
use portcullis_core::challenge::ChallengeOptions;
use portcullis_core::credential::{BearerRules, RequestParts};
use portcullis_core::render::{Renderer, is_grpc};
use portcullis_core::{AuthError, Verified, Verifier};
use serde::de::IgnoredAny;
use tower_layer::Layer;
use tower_service::Service;

use crate::render::to_response;

/// The verified token of a request, put in its extensions by [`AuthLayer`]. Handlers that are not
/// axum handlers (tonic services, plain tower services) read it with
/// `request.extensions().get::<Principal>()`; axum handlers use [`Claims`](crate::Claims).
#[derive(Clone)]
pub struct Principal(pub(crate) Arc<Verified<IgnoredAny>>);

impl Principal {
    /// The verified token (registered claims, scopes, `check`).
    pub fn verified(&self) -> &Verified<IgnoredAny> {
        &self.0
    }

    /// The token's claims as `C`.
    pub fn claims<C: serde::de::DeserializeOwned>(&self) -> Result<Verified<C>, AuthError> {
        self.0.typed()
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("iss", &self.0.issuer())
            .field("sub", &self.0.subject())
            .finish_non_exhaustive()
    }
}

/// The authenticator of this request, for the extractors' and `require`'s rejections.
#[derive(Clone)]
pub(crate) struct Rendering(pub(crate) Authenticator);

impl Rendering {
    pub(crate) fn reject(&self, error: &AuthError) -> Response<Bytes> {
        to_response(self.0.reject(error, false))
    }
}

/// Renders without a layer's configuration (a route used without [`AuthLayer`]).
pub(crate) fn reject_default(error: &AuthError) -> Response<Bytes> {
    to_response(reject_unconfigured(error))
}

/// Authenticates every request with a [`Verifier`]: a thin wrapper over core's
/// [`Authenticator`], which makes every decision. See the crate docs.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    authenticator: Authenticator,
}

impl From<Authenticator> for AuthLayer {
    fn from(authenticator: Authenticator) -> Self {
        Self { authenticator }
    }
}

impl AuthLayer {
    /// Requires a valid bearer token in the `Authorization` header on every request.
    pub fn new(verifier: Verifier) -> Self {
        Authenticator::new(verifier).into()
    }

    /// Lets requests without any credential through as anonymous (read them with
    /// `Option<Claims<C>>`). A credential that is present but invalid is still rejected.
    pub fn optional(self) -> Self {
        self.authenticator.optional().into()
    }

    /// Where tokens may come from (query string and cookie are opt-in).
    pub fn rules(self, rules: BearerRules) -> Self {
        self.authenticator.rules(rules).into()
    }

    /// The challenge's `realm` and detail level.
    pub fn challenge(self, options: ChallengeOptions) -> Self {
        self.authenticator.challenge(options).into()
    }

    /// A custom rejection renderer (the default is core's `ProblemJson`).
    pub fn renderer(self, renderer: impl Renderer) -> Self {
        self.authenticator.renderer(renderer).into()
    }
}

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

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            let outcome = {
                let headers = request.headers();
                let authorization: Vec<&[u8]> = headers
                    .get_all(header::AUTHORIZATION)
                    .iter()
                    .map(|v| v.as_bytes())
                    .collect();
                let cookies: Vec<&[u8]> = headers
                    .get_all(header::COOKIE)
                    .iter()
                    .map(|v| v.as_bytes())
                    .collect();
                let parts = RequestParts {
                    authorization: &authorization,
                    query: request.uri().query(),
                    cookies: &cookies,
                };
                authenticator.authenticate(&parts).await
            };
            match outcome {
                Ok(Outcome::Authenticated(verified)) => {
                    request.extensions_mut().insert(Principal(verified));
                }
                Ok(Outcome::Anonymous) => {}
                Err(error) => {
                    let grpc = request
                        .headers()
                        .get(header::CONTENT_TYPE)
                        .is_some_and(|ct| is_grpc(ct.as_bytes()));
                    let rejection = to_response(authenticator.reject(&error, grpc));
                    return Ok(rejection.map(|bytes| Either::Right(Full::new(bytes))));
                }
            }
            request.extensions_mut().insert(Rendering(authenticator));
            let response = inner.call(request).await?;
            Ok(response.map(Either::Left))
        })
    }
}
