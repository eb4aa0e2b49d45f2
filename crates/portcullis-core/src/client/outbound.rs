//! Attaching tokens to outbound requests: a reqwest-middleware [`BearerMiddleware`] and a tower
//! [`BearerLayer`]. Both set `Authorization` from a [`TokenSource`]: `Bearer <token>`, or, for a
//! DPoP-bound token, `DPoP <token>` with a fresh proof per request (with `ath`) signed by the
//! source's [`DpopKey`]. They retry once:
//! - on a `401` with `error="invalid_token"` (the token was revoked or its key rotated before
//!   it expired): that token is invalidated and a new one fetched;
//! - on a `401` with `error="use_dpop_nonce"` and a new `DPoP-Nonce` (RFC 9449 §9): the proof
//!   is signed again with that nonce, which the key keeps for the next requests to that server.
//!
//! A second refusal is returned as it is: retrying further would only hammer both servers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::credentials::TokenSource;
use super::dpop::DpopKey;
use super::{AccessToken, TokenError};

/// Why a response is worth one more try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// The token itself was refused (RFC 6750 §3.1): fetch another.
    NewToken,
    /// The resource server wants a proof with its new nonce.
    Nonce,
}

/// Reads a response: keeps a `DPoP-Nonce`, and says whether to retry.
fn retry(
    status: StatusCode,
    headers: &HeaderMap,
    key: Option<&DpopKey>,
    url: &str,
) -> Option<Retry> {
    let renewed = key.is_some_and(|key| {
        headers
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|nonce| key.remember_nonce(url, nonce))
    });
    if status != StatusCode::UNAUTHORIZED {
        return None;
    }
    let says = |error: &str| {
        headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains(&format!("error=\"{error}\"")))
    };
    if renewed && says("use_dpop_nonce") {
        Some(Retry::Nonce)
    } else if says("invalid_token") {
        Some(Retry::NewToken)
    } else {
        None
    }
}

fn sensitive(value: String) -> Result<HeaderValue, TokenError> {
    let mut value = HeaderValue::from_str(&value)
        .map_err(|_| TokenError::unavailable("the token is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Sets `Authorization` (and `DPoP`, for a bound token) on a request to `url`.
fn authorize(
    headers: &mut HeaderMap,
    token: &AccessToken,
    key: Option<&DpopKey>,
    method: &str,
    url: &str,
) -> Result<(), TokenError> {
    if !token.is_dpop() {
        headers.insert(
            AUTHORIZATION,
            sensitive(format!("Bearer {}", token.secret()))?,
        );
        return Ok(());
    }
    let key = key.ok_or_else(|| {
        TokenError::unavailable("a DPoP-bound token from a source without a DPoP key")
    })?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(TokenError::unavailable(
            "a DPoP proof needs the request's absolute URI",
        ));
    }
    let proof = key.proof(method, url, Some(token.secret()))?;
    headers.insert(
        AUTHORIZATION,
        sensitive(format!("DPoP {}", token.secret()))?,
    );
    headers.insert("dpop", sensitive(proof)?);
    Ok(())
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
        let source = &*self.source;
        let key = source.dpop_key();
        let (method, url) = (request.method().to_string(), request.url().to_string());
        let token = source.token().await.map_err(anyhow_error)?;
        authorize(request.headers_mut(), &token, key, &method, &url).map_err(anyhow_error)?;
        let again = request.try_clone();
        let response = next.clone().run(request, extensions).await?;
        let Some(mut again) = again else {
            return Ok(response);
        };
        let token = match retry(response.status(), response.headers(), key, &url) {
            None => return Ok(response),
            Some(Retry::Nonce) => token,
            Some(Retry::NewToken) => {
                source.invalidate(token.secret());
                source.token().await.map_err(anyhow_error)?
            }
        };
        authorize(again.headers_mut(), &token, key, &method, &url).map_err(anyhow_error)?;
        next.run(again, extensions).await
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
            let key = source.dpop_key();
            let (method, url) = (request.method().to_string(), request.uri().to_string());
            let token = source.token().await?;
            authorize(request.headers_mut(), &token, key, &method, &url)?;
            let mut again = request.clone();
            let response = inner.call(request).await.map_err(Into::into)?;
            let token = match retry(response.status(), response.headers(), key, &url) {
                None => return Ok(response),
                Some(Retry::Nonce) => token,
                Some(Retry::NewToken) => {
                    source.invalidate(token.secret());
                    source.token().await?
                }
            };
            authorize(again.headers_mut(), &token, key, &method, &url)?;
            std::future::poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            inner.call(again).await.map_err(Into::into)
        })
    }
}
