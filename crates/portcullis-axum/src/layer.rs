use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Full};
use portcullis_core::Verifier;
use portcullis_core::authenticator::Authenticator;
use portcullis_core::challenge::ChallengeOptions;
use portcullis_core::credential::BearerRules;
use portcullis_core::render::Renderer;
use portcullis_core::request::{PublicUrl, TrustedProxies};
use tower_layer::Layer;
use tower_service::Service;

use crate::render::to_response;
use crate::view::{HeaderView, view};

/// Authenticates every request with a [`Verifier`]: a thin wrapper over core's
/// [`Authenticator`], which makes every decision and whose
/// [`RequestState`](portcullis_core::RequestState) it puts in the request extensions (services
/// that are not axum handlers, such as tonic's, read it from there). See the crate docs.
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

    /// The base URL clients address this service by (see [`Authenticator::public_url`]).
    pub fn public_url(self, url: PublicUrl) -> Self {
        self.authenticator.public_url(url).into()
    }

    /// The proxies whose forwarding headers are believed (see
    /// [`Authenticator::trusted_proxies`]).
    pub fn trusted_proxies(self, proxies: TrustedProxies) -> Self {
        self.authenticator.trusted_proxies(proxies).into()
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
            match decided {
                Ok(state) => {
                    parts.extensions.insert(state);
                }
                Err(rejection) => {
                    let response = to_response(rejection);
                    return Ok(response.map(|bytes| Either::Right(Full::new(bytes))));
                }
            }
            let response = inner.call(Request::from_parts(parts, body)).await?;
            Ok(response.map(Either::Left))
        })
    }
}
