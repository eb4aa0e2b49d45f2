//! The client credentials grant (RFC 6749 §4.4) with a token cache that never stampedes.
//!
//! One cache slot per [`TokenRequest`] (the client is the [`ClientCredentials`] itself). A slot
//! holds the current token behind an `ArcSwap` (a hit is one atomic load, no lock) and a gate
//! that admits one token request at a time:
//! - before the refresh point, every caller gets the cached token;
//! - between the refresh point and expiry, one caller refreshes while the others keep getting
//!   the still-valid token (a failed refresh keeps it until it expires);
//! - with no valid token, callers queue on the gate; the first one fetches, and everyone who was
//!   waiting takes that attempt's outcome, success or failure, instead of fetching again.
//!
//! So however many callers ask at once, exactly one token request is in flight per slot.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use oauth2::basic::{BasicClient, BasicTokenType};
use oauth2::{ClientId, RequestTokenError, Scope, TokenResponse as _, TokenUrl};
use reqwest::Url;
use secrecy::SecretString;
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::auth::ClientAuth;
use super::dpop::DpopKey;
use super::endpoint::Endpoint;
use super::flight::TokenFlight;
use super::http::Http;
use super::{AccessToken, TokenError, printable};
use crate::error::ConfigError;
use crate::fetch::{Fetcher, Limits};

/// Default refresh point: 60 s before expiry (Spring and authlib use the same), or at 80 % of
/// the lifetime when that comes later (a 100-second token is refreshed after 80 s, not 40 s).
pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(60);
/// Lifetime assumed when the server sends no `expires_in`: 60 s. RFC 6749 makes the field
/// optional; assuming longer could serve a token the server already considers expired.
pub const DEFAULT_UNKNOWN_LIFETIME: Duration = Duration::from_secs(60);
/// How long after it was requested a token of `lifetime` is replaced: `ahead` before expiry, or
/// at 80 % of the lifetime when that is later (a 100-second token is kept 80 s, not 40 s).
pub(crate) fn refresh_after(lifetime: Duration, ahead: Duration) -> Duration {
    lifetime.saturating_sub(ahead).max(lifetime.mul_f64(0.8))
}

/// At most this many distinct token requests are cached per client; more means the scopes or
/// resources are being built from request data, which is a bug worth an error.
const MAX_SLOTS: usize = 256;

/// Where outbound requests get their bearer token from.
pub trait TokenSource: Send + Sync + 'static {
    /// A currently valid token (from cache when possible).
    fn token(&self) -> TokenSourceFuture<'_>;

    /// The resource server refused `token` as invalid: never serve it again. The next
    /// [`token`](Self::token) call fetches a new one (one request, however many callers).
    fn invalidate(&self, token: &str);

    /// The key DPoP-bound tokens from this source are bound to; the outbound middleware signs
    /// each request's proof with it. `None` (the default) for a source of bearer tokens only.
    fn dpop_key(&self) -> Option<&DpopKey> {
        None
    }
}

/// The future [`TokenSource::token`] returns.
pub type TokenSourceFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, TokenError>> + Send + 'a>>;

/// What to ask for: scopes and RFC 8707 resource indicators (or an `audience` parameter, as
/// Auth0 and Okta name it). One cache slot per distinct request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TokenRequest {
    scopes: Vec<String>,
    resources: Vec<String>,
    audience: Option<String>,
}

impl TokenRequest {
    /// No scope, no resource: the server's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a scope (order and duplicates do not matter).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        if let Err(at) = self.scopes.binary_search(&scope) {
            self.scopes.insert(at, scope);
        }
        self
    }

    /// Adds an RFC 8707 `resource` indicator (an absolute URI).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        let resource = resource.into();
        if let Err(at) = self.resources.binary_search(&resource) {
            self.resources.insert(at, resource);
        }
        self
    }

    /// Sends an `audience` parameter (for servers that use it instead of `resource`).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The scopes, sorted.
    pub(crate) fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(String::as_str)
    }

    /// The resource indicators, sorted.
    pub(crate) fn resources(&self) -> impl Iterator<Item = &str> {
        self.resources.iter().map(String::as_str)
    }

    /// The `audience` parameter, if any.
    pub(crate) fn audience_param(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The request's form parameters (`scope`, each `resource`, `audience`).
    pub(crate) fn form(&self) -> Vec<(&'static str, String)> {
        let mut form = Vec::new();
        if !self.scopes.is_empty() {
            form.push(("scope", self.scopes.join(" ")));
        }
        for resource in &self.resources {
            form.push(("resource", resource.clone()));
        }
        if let Some(audience) = &self.audience {
            form.push(("audience", audience.clone()));
        }
        form
    }
}

/// Client credentials tokens for one client, cached per [`TokenRequest`]. Cheap to clone.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use portcullis_core::client::{ClientAuth, ClientCredentials, TokenRequest};
///
/// let tokens = ClientCredentials::builder("orders-service")
///     .auth(ClientAuth::SecretBasic(std::env::var("CLIENT_SECRET")?.into()))
///     .issuer("https://login.example.com/")
///     .request(TokenRequest::new().scope("read:users").resource("https://users.example.com"))
///     .build()?;
/// let token = tokens.access_token().await?;
/// # let _ = token.secret();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    client_id: String,
    auth: ClientAuth,
    endpoint: Endpoint,
    fetcher: Fetcher,
    default: TokenRequest,
    refresh_ahead: Duration,
    dpop: Option<DpopKey>,
    slots: Mutex<HashMap<TokenRequest, Arc<Slot>>>,
}

#[derive(Default)]
struct Slot {
    current: ArcSwapOption<Cached>,
    flight: TokenFlight,
}

struct Cached {
    token: AccessToken,
    refresh_at: Instant,
    expires_at: Instant,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.inner.client_id)
            .field("auth", &self.inner.auth)
            .field("request", &self.inner.default)
            .field("dpop", &self.inner.dpop)
            .finish_non_exhaustive()
    }
}

/// Builds [`ClientCredentials`].
///
/// | option | default | why |
/// |---|---|---|
/// | [`auth`](Self::auth) | none: **required** | the token endpoint must know who asks |
/// | [`token_url`](Self::token_url) or [`issuer`](Self::issuer) | none: **one required** | where to ask |
/// | [`request`](Self::request) | no scope, no resource | what [`access_token`](ClientCredentials::access_token) asks for |
/// | [`refresh_ahead`](Self::refresh_ahead) | 60 s ([`DEFAULT_REFRESH_AHEAD`]), or 80 % of a short lifetime | a token is replaced before it can expire in flight |
/// | [`http_client`](Self::http_client) | rustls, 2 s connect, 5 s total, no redirects, 64 KiB body | a slow or hostile server cannot hold callers or memory |
/// | [`dangerous_allow_http`](Self::dangerous_allow_http) | https only (loopback excepted) | client secrets never cross a network in clear |
pub struct ClientCredentialsBuilder {
    client_id: String,
    auth: Option<ClientAuth>,
    token_url: Option<String>,
    issuer: Option<String>,
    request: TokenRequest,
    refresh_ahead: Duration,
    client: Option<reqwest::Client>,
    allow_http: bool,
    dpop: Option<DpopKey>,
}

impl fmt::Debug for ClientCredentialsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsBuilder")
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .field("token_url", &self.token_url)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// A builder for the client `client_id`.
    pub fn builder(client_id: impl Into<String>) -> ClientCredentialsBuilder {
        ClientCredentialsBuilder {
            client_id: client_id.into(),
            auth: None,
            token_url: None,
            issuer: None,
            request: TokenRequest::default(),
            refresh_ahead: DEFAULT_REFRESH_AHEAD,
            client: None,
            allow_http: false,
            dpop: None,
        }
    }

    /// Gets the configured request's token now (finding the endpoint first, with
    /// [`issuer`](ClientCredentialsBuilder::issuer)), so a wrong URL, secret or scope fails at
    /// start-up instead of on the first outbound call. The token is cached as usual.
    pub async fn warm_up(&self) -> Result<(), TokenError> {
        self.access_token().await.map(drop)
    }

    /// A valid token for the configured [`TokenRequest`]: the cached one, or a new one from
    /// its refresh point on.
    pub async fn access_token(&self) -> Result<AccessToken, TokenError> {
        self.access_token_for(&self.inner.default).await
    }

    /// A token for `request` (cached separately from every other request).
    pub async fn access_token_for(
        &self,
        request: &TokenRequest,
    ) -> Result<AccessToken, TokenError> {
        let slot = self.slot(request)?;
        if let Some(cached) = slot.current.load_full() {
            let now = Instant::now();
            if now < cached.refresh_at {
                return Ok(cached.token.clone());
            }
            if now < cached.expires_at {
                // One caller refreshes; the others keep the valid token meanwhile (and so does
                // everyone for a while after a refresh failed).
                if slot.flight.recent_failure().is_some() {
                    return Ok(cached.token.clone());
                }
                let Some(turn) = slot.flight.try_turn() else {
                    return Ok(cached.token.clone());
                };
                if let Some(newer) = slot.current.load_full()
                    && Instant::now() < newer.refresh_at
                {
                    return Ok(newer.token.clone());
                }
                return match turn.attempt(self.fetch(&slot, request)).await {
                    Ok(token) => Ok(token),
                    Err(error) => {
                        crate::audit::token_refresh_failed(&self.inner.client_id, &error);
                        Ok(cached.token.clone())
                    }
                };
            }
        }
        let turn = slot.flight.turn().await;
        if let Some(cached) = slot.current.load_full() {
            let now = Instant::now();
            // A token that an attempt made while this caller waited is shared while it is
            // valid; otherwise only one before its refresh point.
            let until = if turn.waited_out_an_attempt() {
                cached.expires_at
            } else {
                cached.refresh_at
            };
            if now < until {
                return Ok(cached.token.clone());
            }
        }
        if let Some(error) = turn.shared_failure() {
            return Err(error);
        }
        turn.attempt(self.fetch(&slot, request)).await
    }

    fn slot(&self, request: &TokenRequest) -> Result<Arc<Slot>, TokenError> {
        let mut slots = self.inner.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get(request) {
            return Ok(Arc::clone(slot));
        }
        if slots.len() >= MAX_SLOTS {
            return Err(TokenError::Config(ConfigError::InvalidValue {
                name: "token request",
                why: "more than 256 distinct token requests for one client",
            }));
        }
        let slot = Arc::new(Slot::default());
        slots.insert(request.clone(), Arc::clone(&slot));
        Ok(slot)
    }

    /// One token request, a new token stored in the slot. Made with the slot's turn held.
    async fn fetch(&self, slot: &Slot, request: &TokenRequest) -> Result<AccessToken, TokenError> {
        let sent = Instant::now();
        let token = self.request_token(request).await?;
        let lifetime = token.expires_in().unwrap_or(DEFAULT_UNKNOWN_LIFETIME);
        // Timed from when the request was sent: the server's clock started no earlier.
        slot.current.store(Some(Arc::new(Cached {
            token: token.clone(),
            refresh_at: sent + refresh_after(lifetime, self.inner.refresh_ahead),
            expires_at: sent + lifetime,
        })));
        Ok(token)
    }

    async fn token_url(&self) -> Result<Url, TokenError> {
        self.inner
            .endpoint
            .url(&self.inner.fetcher)
            .await
            .map_err(TokenError::unavailable)
    }

    async fn request_token(&self, request: &TokenRequest) -> Result<AccessToken, TokenError> {
        let inner = &*self.inner;
        let url = self.token_url().await?;
        let (secret, auth_type) = inner.auth.oauth2_secret();
        let mut client = BasicClient::new(ClientId::new(inner.client_id.clone()))
            .set_token_uri(TokenUrl::from_url(url.clone()))
            .set_auth_type(auth_type);
        if let Some(secret) = secret {
            client = client.set_client_secret(secret);
        }
        let mut exchange = client.exchange_client_credentials();
        for (name, value) in inner
            .auth
            .assertion_params(&inner.client_id, url.as_str())?
        {
            exchange = exchange.add_extra_param(name, value);
        }
        for scope in &request.scopes {
            exchange = exchange.add_scope(Scope::new(scope.clone()));
        }
        for resource in &request.resources {
            exchange = exchange.add_extra_param("resource", resource.clone());
        }
        if let Some(audience) = &request.audience {
            exchange = exchange.add_extra_param("audience", audience.clone());
        }
        let response = exchange
            .request_async(&Http::new(&inner.fetcher).dpop(inner.dpop.as_ref()))
            .await
            .map_err(token_error)?;
        let dpop = bound(response.token_type(), inner.dpop.is_some())?;
        Ok(AccessToken::new(
            SecretString::from(response.access_token().secret().to_owned()),
            response.expires_in(),
        )
        .bound(dpop))
    }
}

/// An `oauth2` request error as a [`TokenError`]: the server's `error` code when it sent one.
/// Whether an issued token is DPoP-bound, refusing what the client cannot use as asked: a
/// bearer token when it proved a key (the server ignored DPoP, so the token is as stealable
/// as any), a DPoP token without a key, or another type.
pub(crate) fn bound(token_type: &BasicTokenType, dpop: bool) -> Result<bool, TokenError> {
    match (token_type, dpop) {
        (BasicTokenType::Bearer, false) => Ok(false),
        (BasicTokenType::Extension(t), true) if t.eq_ignore_ascii_case("dpop") => Ok(true),
        (BasicTokenType::Bearer, true) => Err(TokenError::unavailable(
            "the token endpoint issued a Bearer token to a DPoP request (does it support DPoP?)",
        )),
        _ => Err(TokenError::unavailable(
            "the token endpoint issued a token of another type than asked",
        )),
    }
}

pub(crate) fn token_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse>(
    error: RequestTokenError<RE, T>,
) -> TokenError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let value = serde_json::to_value(&response).unwrap_or_default();
            let text = |name| value.get(name).and_then(serde_json::Value::as_str);
            TokenError::from_answer(
                text("error").unwrap_or("invalid_response"),
                text("error_description"),
            )
        }
        RequestTokenError::Request(e) => TokenError::unavailable(printable(&e.to_string(), 128)),
        RequestTokenError::Parse(_, _) => {
            TokenError::unavailable("the token response is not a valid token response")
        }
        RequestTokenError::Other(reason) => TokenError::unavailable(printable(&reason, 128)),
    }
}

impl TokenSource for ClientCredentials {
    fn token(&self) -> TokenSourceFuture<'_> {
        Box::pin(self.access_token())
    }

    fn dpop_key(&self) -> Option<&DpopKey> {
        self.inner.dpop.as_ref()
    }

    fn invalidate(&self, token: &str) {
        let slots = self.inner.slots.lock().unwrap_or_else(|p| p.into_inner());
        for slot in slots.values() {
            // Only the token that was refused: a caller late with the old one must not throw
            // away the replacement another caller already fetched.
            slot.current.rcu(|current| match current {
                Some(cached)
                    if bool::from(cached.token.secret().as_bytes().ct_eq(token.as_bytes())) =>
                {
                    None
                }
                other => other.clone(),
            });
        }
    }
}

impl ClientCredentialsBuilder {
    /// How the client authenticates.
    pub fn auth(mut self, auth: ClientAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The token endpoint.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// The token endpoint is `issuer`'s, found by OIDC discovery, then RFC 8414 metadata (the
    /// document's `issuer` must match exactly): on first use, or at
    /// [`warm_up`](ClientCredentials::warm_up).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// What [`ClientCredentials::access_token`] asks for.
    pub fn request(mut self, request: TokenRequest) -> Self {
        self.request = request;
        self
    }

    /// How long before expiry a token is replaced, at most 10 min.
    pub fn refresh_ahead(mut self, ahead: Duration) -> Self {
        self.refresh_ahead = ahead;
        self
    }

    /// Sends token requests with this client (for proxies or custom TLS roots). Redirects must
    /// be disabled on it; the 5 s deadline and 64 KiB body cap still apply.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Asks for DPoP-bound tokens (RFC 9449 §5): every token request carries a proof by `key`
    /// (retried once with the server's nonce on `use_dpop_nonce`), the token must come back
    /// with `token_type: DPoP`, and the outbound middleware sends it with a proof per request.
    /// Keep the key for as long as its tokens live ([`DpopKey::from_pkcs8_pem`]).
    pub fn dpop(mut self, key: DpopKey) -> Self {
        self.dpop = Some(key);
        self
    }

    /// Allows plain `http` token endpoints on any host. Client secrets then cross the network
    /// in clear; loopback hosts are always allowed.
    pub fn dangerous_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<ClientCredentials, ConfigError> {
        if self.client_id.is_empty() {
            return Err(ConfigError::InvalidValue {
                name: "client_id",
                why: "must not be empty",
            });
        }
        let auth = self.auth.ok_or(ConfigError::InvalidValue {
            name: "auth",
            why: "call `auth(..)`: the token endpoint must know who asks",
        })?;
        if self.refresh_ahead > Duration::from_secs(600) {
            return Err(ConfigError::InvalidValue {
                name: "refresh_ahead",
                why: "more than 10 min",
            });
        }
        let fetcher = Fetcher::new(self.client, self.allow_http, Limits::default())?;
        let endpoint = match (self.token_url, self.issuer) {
            (Some(url), None) => Endpoint::new(Some(url), "", "token_endpoint", &fetcher)?,
            (None, Some(issuer)) => Endpoint::new(None, &issuer, "token_endpoint", &fetcher)?,
            _ => {
                return Err(ConfigError::InvalidValue {
                    name: "token_url",
                    why: "call exactly one of `token_url(..)` and `issuer(..)`",
                });
            }
        };
        Ok(ClientCredentials {
            inner: Arc::new(Inner {
                client_id: self.client_id,
                auth,
                endpoint,
                fetcher,
                default: self.request,
                refresh_ahead: self.refresh_ahead,
                dpop: self.dpop,
                slots: Mutex::new(HashMap::new()),
            }),
        })
    }
}
