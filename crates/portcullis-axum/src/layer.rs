use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::{Either, Full};
use portcullis_core::challenge::ChallengeOptions;
use portcullis_core::credential::{BearerRules, RequestParts};
use portcullis_core::{AuthError, Challenge, Verified, Verifier};
use serde::de::IgnoredAny;
use tower_layer::Layer;
use tower_service::Service;

use crate::render::to_response;
use portcullis_core::render::{Grpc, ProblemJson, Renderer, is_grpc};

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

/// How this request's rejections are rendered, shared with the extractors and `require`.
#[derive(Clone)]
pub(crate) struct Rendering(pub(crate) Arc<Config>);

pub(crate) struct Config {
    verifier: Verifier,
    rules: BearerRules,
    optional: bool,
    challenge: ChallengeOptions,
    renderer: Arc<dyn Renderer>,
}

impl Config {
    pub(crate) fn reject(&self, error: &AuthError) -> Response<Bytes> {
        let challenge = Challenge::from_error(error, &self.challenge);
        to_response(self.renderer.render(error, &challenge))
    }

    /// A gRPC client cannot read an HTTP error body: it gets the gRPC form instead.
    fn reject_for<B>(&self, request: &Request<B>, error: &AuthError) -> Response<Bytes> {
        let grpc = request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| is_grpc(ct.as_bytes()));
        if grpc {
            to_response(Grpc.render(error, &Challenge::from_error(error, &self.challenge)))
        } else {
            self.reject(error)
        }
    }
}

/// Renders without a layer's configuration (a route used without [`AuthLayer`]).
pub(crate) fn reject_default(error: &AuthError) -> Response<Bytes> {
    let challenge = Challenge::from_error(error, &ChallengeOptions::default());
    to_response(ProblemJson.render(error, &challenge))
}

/// Authenticates every request with a [`Verifier`]. See the crate docs.
#[derive(Clone)]
pub struct AuthLayer {
    config: Arc<Config>,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("verifier", &self.config.verifier)
            .field("rules", &self.config.rules)
            .field("optional", &self.config.optional)
            .finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// Requires a valid bearer token in the `Authorization` header on every request.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            config: Arc::new(Config {
                verifier,
                rules: BearerRules::default(),
                optional: false,
                challenge: ChallengeOptions::default(),
                renderer: Arc::new(ProblemJson),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        match Arc::get_mut(&mut self.config) {
            Some(config) => f(config),
            None => {
                let c = &self.config;
                let mut copy = Config {
                    verifier: c.verifier.clone(),
                    rules: c.rules.clone(),
                    optional: c.optional,
                    challenge: c.challenge.clone(),
                    renderer: Arc::clone(&c.renderer),
                };
                f(&mut copy);
                self.config = Arc::new(copy);
            }
        }
        self
    }

    /// Lets requests without any credential through as anonymous (read them with
    /// `Option<Claims<C>>`). A credential that is present but invalid is still rejected.
    pub fn optional(self) -> Self {
        self.edit(|c| c.optional = true)
    }

    /// Where tokens may come from (query string and cookie are opt-in).
    pub fn rules(self, rules: BearerRules) -> Self {
        self.edit(|c| c.rules = rules)
    }

    /// The challenge's `realm` and detail level.
    pub fn challenge(self, options: ChallengeOptions) -> Self {
        self.edit(|c| c.challenge = options)
    }

    /// A custom rejection renderer (the default is [`ProblemJson`]).
    pub fn renderer(self, renderer: impl Renderer) -> Self {
        self.edit(|c| c.renderer = Arc::new(renderer))
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service [`AuthLayer`] wraps around yours.
#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    config: Arc<Config>,
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
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            let token = match find_token(&config.rules, &request) {
                Ok(token) => token,
                Err(error) => return Ok(rejection(&config, &request, &error)),
            };
            match token {
                None if config.optional => {}
                None => return Ok(rejection(&config, &request, &AuthError::MissingCredential)),
                Some(token) => match config.verifier.verify::<IgnoredAny>(&token).await {
                    Ok(verified) => {
                        request
                            .extensions_mut()
                            .insert(Principal(Arc::new(verified)));
                    }
                    Err(error) => return Ok(rejection(&config, &request, &error)),
                },
            }
            request
                .extensions_mut()
                .insert(Rendering(Arc::clone(&config)));
            let response = inner.call(request).await?;
            Ok(response.map(Either::Left))
        })
    }
}

fn find_token<B>(rules: &BearerRules, request: &Request<B>) -> Result<Option<String>, AuthError> {
    let authorization: Vec<&[u8]> = request
        .headers()
        .get_all(header::AUTHORIZATION)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    let cookies: Vec<&[u8]> = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    let parts = RequestParts {
        authorization: &authorization,
        query: request.uri().query(),
        cookies: &cookies,
    };
    rules.extract(&parts).map(|t| t.map(str::to_owned))
}

fn rejection<B, R>(
    config: &Config,
    request: &Request<R>,
    error: &AuthError,
) -> Response<AuthBody<B>> {
    config
        .reject_for(request, error)
        .map(|bytes| Either::Right(Full::new(bytes)))
}
