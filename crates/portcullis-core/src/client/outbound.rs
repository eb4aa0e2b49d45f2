//! Attaching tokens to outbound requests: a reqwest-middleware [`BearerMiddleware`] and a tower
//! [`BearerLayer`]. Both set `Authorization: Bearer` from a [`TokenSource`] and, when the
//! resource server answers `401` with `error="invalid_token"` (the token was revoked or its key
//! rotated before it expired), invalidate that token, fetch a new one and retry once. A second
//! `401` is returned as it is: retrying further would only hammer both servers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::credentials::TokenSource;
use super::{AccessToken, TokenError};

/// Whether a response says the presented token itself was refused (RFC 6750 §3.1).
fn token_refused(status: StatusCode, headers: &HeaderMap) -> bool {
    status == StatusCode::UNAUTHORIZED
        && headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("error=\"invalid_token\""))
}

fn bearer(token: &AccessToken) -> Result<HeaderValue, TokenError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.secret()))
        .map_err(|_| TokenError::unavailable("the token is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// reqwest-middleware middleware that authenticates every request with a [`TokenSource`].
///
/// A request whose body cannot be cloned (a stream) is sent once, without the retry.
#[derive(Clone)]
pub struct BearerMiddleware {
    source: Arc<dyn TokenSource>,
}

impl std::fmt::Debug for BearerMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerMiddleware").finish_non_exhaustive()
    }
}

impl BearerMiddleware {
    /// Takes tokens from `source` (a [`ClientCredentials`](super::ClientCredentials), say).
    pub fn new(source: impl TokenSource) -> Self {
        Self {
            source: Arc::new(source),
        }
    }
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for BearerMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let token = self.source.token().await.map_err(anyhow_error)?;
        request
            .headers_mut()
            .insert(AUTHORIZATION, bearer(&token).map_err(anyhow_error)?);
        let retry = request.try_clone();
        let response = next.clone().run(request, extensions).await?;
        let Some(mut retry) = retry else {
            return Ok(response);
        };
        if !token_refused(response.status(), response.headers()) {
            return Ok(response);
        }
        self.source.invalidate(token.secret());
        let token = self.source.token().await.map_err(anyhow_error)?;
        retry
            .headers_mut()
            .insert(AUTHORIZATION, bearer(&token).map_err(anyhow_error)?);
        next.run(retry, extensions).await
    }
}

fn anyhow_error(error: TokenError) -> reqwest_middleware::Error {
    reqwest_middleware::Error::middleware(error)
}

/// A tower layer that authenticates every request with a [`TokenSource`].
///
/// The retry after an `invalid_token` answer replays the request, so the body type must be
/// `Clone` (`Full<Bytes>`, `String`, ...).
#[derive(Clone)]
pub struct BearerLayer {
    source: Arc<dyn TokenSource>,
}

impl std::fmt::Debug for BearerLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerLayer").finish_non_exhaustive()
    }
}

impl BearerLayer {
    /// Takes tokens from `source`.
    pub fn new(source: impl TokenSource) -> Self {
        Self {
            source: Arc::new(source),
        }
    }
}

impl<S> Layer<S> for BearerLayer {
    type Service = BearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerService {
            inner,
            source: Arc::clone(&self.source),
        }
    }
}

/// The service [`BearerLayer`] builds.
#[derive(Clone)]
pub struct BearerService<S> {
    inner: S,
    source: Arc<dyn TokenSource>,
}

impl<S> std::fmt::Debug for BearerService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerService").finish_non_exhaustive()
    }
}

/// The error of [`BearerService`]: the inner service's, or a [`TokenError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B, RB> Service<http::Request<B>> for BearerService<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    B: Clone + Send + 'static,
    RB: Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The service polled ready is the one that must be called; a clone serves the retry.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let source = Arc::clone(&self.source);
        Box::pin(async move {
            let token = source.token().await?;
            request.headers_mut().insert(AUTHORIZATION, bearer(&token)?);
            let retry = request.clone();
            let response = inner.call(request).await.map_err(Into::into)?;
            if !token_refused(response.status(), response.headers()) {
                return Ok(response);
            }
            source.invalidate(token.secret());
            let token = source.token().await?;
            let mut retry = retry;
            retry.headers_mut().insert(AUTHORIZATION, bearer(&token)?);
            std::future::poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            inner.call(retry).await.map_err(Into::into)
        })
    }
}
