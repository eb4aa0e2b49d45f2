//! User login: the OpenID Connect authorization code flow with PKCE (on `openidconnect` 4), and
//! the user's tokens kept fresh with refresh-token rotation.
//!
//! [`Login::start`] builds the authorization URL with a random `state`, a random `nonce` and an
//! S256 PKCE challenge, and returns a [`PendingLogin`] to keep server-side (never in the
//! browser). [`Login::finish`] takes the callback: it checks `state` (the request is the one this
//! server started, so no login CSRF), then `iss` (RFC 9207: the answer comes from the issuer the
//! request went to, so no mix-up attack), exchanges the code with the PKCE verifier, and
//! validates the ID token (signature, issuer, audience, expiry, and the `nonce`). Only then is
//! there a [`LoggedIn`].
//!
//! [`UserTokens`] refreshes the access token ahead of expiry. Concurrent refreshes of one session
//! share one request, and a rotated refresh token replaces the old one atomically together with
//! the new access token: presenting an already rotated refresh token makes servers revoke the
//! whole grant (reuse detection), so two requests racing with the same one would log the user
//! out.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClient, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse as _,
    PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl, RefreshToken, Scope,
    TokenResponse as _,
};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::auth::ClientAuth;
use super::credentials::{
    DEFAULT_REFRESH_AHEAD, DEFAULT_UNKNOWN_LIFETIME, TokenRequest, refresh_after,
};
use super::flight::TokenFlight;
use super::http::Http;
use super::{AccessToken, ErrorCode, TokenError, TokenSource, TokenSourceFuture, printable};
use crate::error::ConfigError;
use crate::fetch::{Fetcher, Limits};

/// The one discovery member `openidconnect`'s core metadata leaves out: whether the issuer puts
/// `iss` in its authorization responses (RFC 9207 §3).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct IssParameter {
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl openidconnect::AdditionalProviderMetadata for IssParameter {}

type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Why a login did not complete, grouped by what the caller does.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The callback is not the answer to a login this server started, or not from the right
    /// issuer: refuse it (400) and start over. Never retry with it.
    #[error("login callback refused: {0}")]
    Callback(&'static str),
    /// The user or the issuer refused (`access_denied`, `login_required`, ...): show it.
    #[error("the issuer refused the login: {code}")]
    Denied {
        /// The `error` of the callback.
        code: ErrorCode,
    },
    /// The ID token failed validation: refuse the login.
    #[error("invalid ID token: {0}")]
    IdToken(String),
    /// The code exchange failed (see [`TokenError`] for what to do).
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// The authorization code flow for one client at one issuer. Cheap to clone.
#[derive(Clone)]
pub struct Login {
    inner: Arc<LoginInner>,
}

struct LoginInner {
    metadata: Metadata,
    issuer: String,
    client_id: String,
    auth: ClientAuth,
    redirect: RedirectUrl,
    fetcher: Fetcher,
}

/// Builds a [`Login`]: a public client (PKCE, no secret) unless [`auth`](Self::auth) says
/// otherwise; confidential clients use PKCE too.
pub struct LoginBuilder {
    issuer: String,
    client_id: String,
    redirect_uri: String,
    auth: ClientAuth,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for LoginBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginBuilder")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl LoginBuilder {
    /// How the client authenticates at the token endpoint (default: `ClientAuth::None`).
    pub fn auth(mut self, auth: ClientAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Sends requests with this client (redirects must be disabled on it).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Discovers the issuer (its `issuer` must match exactly).
    pub async fn discover(self) -> Result<Login, TokenError> {
        let fetcher = Fetcher::new(self.http, false, Limits::default())?;
        fetcher.check_url(&self.issuer)?;
        let issuer_url = IssuerUrl::new(self.issuer.clone()).map_err(|_| {
            TokenError::Config(ConfigError::InvalidValue {
                name: "issuer",
                why: "not a URL",
            })
        })?;
        let redirect = RedirectUrl::new(self.redirect_uri).map_err(|_| {
            TokenError::Config(ConfigError::InvalidValue {
                name: "redirect_uri",
                why: "not a URL",
            })
        })?;
        let metadata = Metadata::discover_async(issuer_url, &Http(&fetcher))
            .await
            .map_err(|e| TokenError::unavailable(printable(&format!("discovery: {e}"), 160)))?;
        Ok(Login {
            inner: Arc::new(LoginInner {
                metadata,
                issuer: self.issuer,
                client_id: self.client_id,
                auth: self.auth,
                redirect,
                fetcher,
            }),
        })
    }
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.client_id)
            .field("redirect", &self.inner.redirect.as_str())
            .finish_non_exhaustive()
    }
}

/// A login in progress: keep it server-side, keyed by the browser's session, until the
/// callback. `Debug` shows none of its secrets.
pub struct PendingLogin {
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
    resources: Vec<String>,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin").finish_non_exhaustive()
    }
}

/// A completed login: the validated ID token's claims and the user's tokens.
#[derive(Debug)]
#[non_exhaustive]
pub struct LoggedIn {
    /// The ID token's `sub`.
    pub subject: String,
    /// The ID token's `email`, when the `email` scope was granted.
    pub email: Option<String>,
    /// The user's access and refresh tokens, refreshed on demand.
    pub tokens: UserTokens,
}

impl Login {
    /// Discovers `issuer` (its `issuer` must match exactly) for the client `client_id`, a public
    /// client using PKCE, with `redirect_uri` registered at the issuer. See
    /// [`builder`](Self::builder) for confidential clients and a custom HTTP client.
    pub async fn discover(
        issuer: &str,
        client_id: impl Into<String>,
        redirect_uri: &str,
    ) -> Result<Self, TokenError> {
        Self::builder(issuer, client_id, redirect_uri)
            .discover()
            .await
    }

    /// A builder for the same, with [`LoginBuilder::auth`] and [`LoginBuilder::http_client`].
    pub fn builder(issuer: &str, client_id: impl Into<String>, redirect_uri: &str) -> LoginBuilder {
        LoginBuilder {
            issuer: issuer.to_owned(),
            client_id: client_id.into(),
            redirect_uri: redirect_uri.to_owned(),
            auth: ClientAuth::None,
            http: None,
        }
    }

    /// The `private_key_jwt` parameters of a token request, when that is how this client
    /// authenticates.
    fn assertion(&self) -> Result<Vec<(&'static str, String)>, TokenError> {
        if !matches!(self.inner.auth, ClientAuth::PrivateKeyJwt(_)) {
            return Ok(Vec::new());
        }
        let audience = self
            .inner
            .metadata
            .token_endpoint()
            .ok_or_else(|| TokenError::unavailable("the issuer publishes no token endpoint"))?;
        self.inner
            .auth
            .assertion_params(&self.inner.client_id, audience.as_str())
    }

    fn client(
        &self,
    ) -> CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        let (secret, auth_type) = self.inner.auth.oauth2_secret();
        CoreClient::from_provider_metadata(
            self.inner.metadata.clone(),
            ClientId::new(self.inner.client_id.clone()),
            secret,
        )
        .set_auth_type(auth_type)
        .set_redirect_uri(self.inner.redirect.clone())
    }

    /// The URL to send the browser to, and the login to keep until the callback. `request`
    /// names the scopes (`openid` is always asked) and resources; asking `offline_access` adds
    /// `prompt=consent`, which issuers require before they issue a refresh token.
    pub fn start(&self, request: &TokenRequest) -> (Url, PendingLogin) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let mut authorize = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in request.scopes() {
            if scope != "openid" {
                authorize = authorize.add_scope(Scope::new(scope.to_owned()));
            }
        }
        if request.scopes().any(|s| s == "offline_access") {
            authorize = authorize.add_prompt(CoreAuthPrompt::Consent);
        }
        for resource in request.resources() {
            authorize = authorize.add_extra_param("resource", resource.to_owned());
        }
        let (url, state, nonce) = authorize.url();
        (
            url,
            PendingLogin {
                state,
                nonce,
                verifier,
                resources: request.resources().map(str::to_owned).collect(),
            },
        )
    }

    /// Completes `pending` with the callback URL's query (`code`, `state`, `iss`, or `error`).
    pub async fn finish(&self, pending: PendingLogin, query: &str) -> Result<LoggedIn, LoginError> {
        let mut code = None;
        let mut state = None;
        let mut iss = None;
        let mut error = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*name {
                "code" => &mut code,
                "state" => &mut state,
                "iss" => &mut iss,
                "error" => &mut error,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(LoginError::Callback("a parameter appears twice"));
            }
        }
        // `state` first: until it matches, nothing in this callback is ours to act on.
        let expected = pending.state.secret().as_bytes();
        // Constant time: how long the comparison takes says nothing about how much matched.
        if !state.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected))) {
            return Err(LoginError::Callback("state does not match the login"));
        }
        match iss {
            Some(iss) if iss != self.inner.issuer => {
                return Err(LoginError::Callback("iss names another issuer (RFC 9207)"));
            }
            None if self
                .inner
                .metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported =>
            {
                return Err(LoginError::Callback("iss is missing (RFC 9207)"));
            }
            _ => {}
        }
        if let Some(error) = error {
            return Err(LoginError::Denied {
                code: ErrorCode::parse(&error),
            });
        }
        let code = code.ok_or(LoginError::Callback("no code"))?;
        let client = self.client();
        let mut exchange = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|_| TokenError::unavailable("the issuer publishes no token endpoint"))?
            .set_pkce_verifier(pending.verifier);
        for resource in &pending.resources {
            exchange = exchange.add_extra_param("resource", resource.clone());
        }
        for (name, value) in self.assertion()? {
            exchange = exchange.add_extra_param(name, value);
        }
        let sent = Instant::now();
        let response = exchange
            .request_async(&Http(&self.inner.fetcher))
            .await
            .map_err(super::credentials::token_error)?;
        let id_token = response
            .id_token()
            .ok_or_else(|| LoginError::IdToken("the token response has no ID token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &pending.nonce)
            .map_err(|e| LoginError::IdToken(printable(&e.to_string(), 160)))?;
        let access = AccessToken::new(
            SecretString::from(response.access_token().secret().to_owned()),
            response.expires_in(),
        );
        let refresh = response
            .refresh_token()
            .map(|r| SecretString::from(r.secret().to_owned()));
        Ok(LoggedIn {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            tokens: UserTokens {
                inner: Arc::new(UserInner {
                    login: self.clone(),
                    state: ArcSwap::from_pointee(TokenState::new(access, refresh, sent)),
                    flight: TokenFlight::default(),
                    resources: pending.resources,
                }),
            },
        })
    }
}

/// A user's tokens after login: the access token, refreshed ahead of expiry with the refresh
/// token (rotated atomically). Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct UserTokens {
    inner: Arc<UserInner>,
}

struct UserInner {
    login: Login,
    state: ArcSwap<TokenState>,
    flight: TokenFlight,
    resources: Vec<String>,
}

struct TokenState {
    access: AccessToken,
    refresh: Option<SecretString>,
    refresh_at: Instant,
    expires_at: Instant,
}

impl TokenState {
    fn new(access: AccessToken, refresh: Option<SecretString>, sent: Instant) -> Self {
        let lifetime = access.expires_in().unwrap_or(DEFAULT_UNKNOWN_LIFETIME);
        Self {
            access,
            refresh,
            refresh_at: sent + refresh_after(lifetime, DEFAULT_REFRESH_AHEAD),
            expires_at: sent + lifetime,
        }
    }
}

impl fmt::Debug for UserTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.load();
        f.debug_struct("UserTokens")
            .field("access_token", &state.access)
            .field(
                "refresh_token",
                &state.refresh.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl UserTokens {
    /// A valid access token: the current one, or a refreshed one from the refresh point on.
    pub async fn access_token(&self) -> Result<AccessToken, TokenError> {
        let state = self.inner.state.load_full();
        if Instant::now() < state.refresh_at {
            return Ok(state.access.clone());
        }
        match self.refresh_shared(&state).await {
            // A failed refresh ahead of expiry keeps the token that is still valid.
            Err(_) if Instant::now() < state.expires_at => Ok(state.access.clone()),
            outcome => outcome,
        }
    }

    /// Refreshes now (the access token was refused, say): the result is newer than the token
    /// current when this was called. Callers that ask while a refresh is in flight share it.
    pub async fn refresh(&self) -> Result<AccessToken, TokenError> {
        let seen = self.inner.state.load_full();
        self.refresh_shared(&seen).await
    }

    /// The current refresh token, to persist the session (it changes on rotation).
    pub fn refresh_token(&self) -> Option<String> {
        self.inner
            .state
            .load()
            .refresh
            .as_ref()
            .map(|r| r.expose_secret().to_owned())
    }

    /// One refresh for everyone who needs one: `stale` is the state the caller found wanting.
    /// Once it is this caller's turn, a newer state (someone refreshed meanwhile) is shared, and
    /// so is a failure that ran while it waited or moments ago (as client credentials do).
    async fn refresh_shared(&self, stale: &Arc<TokenState>) -> Result<AccessToken, TokenError> {
        let inner = &*self.inner;
        let turn = inner.flight.turn().await;
        let state = inner.state.load_full();
        if !Arc::ptr_eq(&state, stale) && Instant::now() < state.expires_at {
            return Ok(state.access.clone());
        }
        if let Some(error) = turn.shared_failure() {
            return Err(error);
        }
        turn.attempt(self.refresh_once()).await
    }

    async fn refresh_once(&self) -> Result<AccessToken, TokenError> {
        let inner = &*self.inner;
        let current = inner.state.load_full();
        let Some(refresh) = &current.refresh else {
            return Err(TokenError::Rejected {
                code: ErrorCode::InvalidGrant,
                description: Some("no refresh token was issued".into()),
            });
        };
        let client = inner.login.client();
        let refresh_token = RefreshToken::new(refresh.expose_secret().to_owned());
        let mut request = client
            .exchange_refresh_token(&refresh_token)
            .map_err(|_| TokenError::unavailable("the issuer publishes no token endpoint"))?;
        for resource in &inner.resources {
            request = request.add_extra_param("resource", resource.clone());
        }
        for (name, value) in inner.login.assertion()? {
            request = request.add_extra_param(name, value);
        }
        let sent = Instant::now();
        let response = request
            .request_async(&Http(&inner.login.inner.fetcher))
            .await
            .map_err(super::credentials::token_error)?;
        let access = AccessToken::new(
            SecretString::from(response.access_token().secret().to_owned()),
            response.expires_in(),
        );
        // Rotation: the new refresh token, or the old one when the server keeps it. Stored in
        // one swap with the access token, so no caller ever pairs the new access token with a
        // refresh token that is already spent.
        let refresh = response
            .refresh_token()
            .map(|r| SecretString::from(r.secret().to_owned()))
            .or_else(|| current.refresh.clone());
        inner
            .state
            .store(Arc::new(TokenState::new(access.clone(), refresh, sent)));
        Ok(access)
    }
}

impl TokenSource for UserTokens {
    fn token(&self) -> TokenSourceFuture<'_> {
        Box::pin(self.access_token())
    }

    fn invalidate(&self, token: &str) {
        // Mark it due: the next `token()` refreshes (once, however many callers).
        self.inner.state.rcu(|state| {
            if bool::from(state.access.secret().as_bytes().ct_eq(token.as_bytes())) {
                Arc::new(TokenState {
                    access: state.access.clone(),
                    refresh: state.refresh.clone(),
                    refresh_at: Instant::now(),
                    expires_at: Instant::now(),
                })
            } else {
                Arc::clone(state)
            }
        });
    }
}
