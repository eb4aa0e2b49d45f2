//! OAuth 2.0 client flows (feature `client`): how a service obtains the tokens it presents to
//! others, on `oauth2` 5 over portcullis' own HTTP client (one reqwest, no redirects, timeouts).
//!
//! - [`ClientCredentials`]: service-to-service tokens (RFC 6749 §4.4), cached per
//!   (client, resource, scope) with exactly one token request in flight per key, refreshed
//!   ahead of expiry and never served past it. Client authentication: [`ClientAuth`].
//! - [`TokenSource`]: what outbound requests take a token from; [`BearerMiddleware`]
//!   (reqwest-middleware) and [`BearerLayer`] (tower) attach it and, on a `401` with
//!   `error="invalid_token"`, refresh once and retry once.
//!
//! - [`Introspection`]: opaque access tokens checked by RFC 7662 introspection, as a path of the
//!   [`Verifier`](crate::Verifier) ([`VerifierBuilder::opaque_tokens`](crate::VerifierBuilder::opaque_tokens));
//!   [`Revocation`] (RFC 7009).
//!
//! - [`Login`]: OpenID Connect login with the authorization code flow and PKCE (on
//!   `openidconnect` 4), checking `state`, `iss` (RFC 9207) and the ID token; [`UserTokens`]
//!   refreshes with rotation safety.
//! - [`DeviceFlow`]: the device authorization grant (RFC 8628) with §3.5 polling.
//! - [`TokenExchange`]: RFC 8693 token exchange for on-behalf-of calls between services.
//!
//! Every flow's errors are [`TokenError`], grouped by what the caller does: fix the request or
//! credentials ([`TokenError::Rejected`], carrying the RFC 6749 `error` code), retry later
//! ([`TokenError::Unavailable`]), fix the configuration ([`TokenError::Config`]), or, for a
//! login, refuse the callback ([`TokenError::Callback`]), show the refusal
//! ([`TokenError::Denied`]) or refuse the identity ([`TokenError::Invalid`]). Secrets and
//! tokens are held in `secrecy` types and never appear in `Debug`, logs or errors.

mod auth;
mod credentials;
mod device;
mod dpop;
mod end_session;
mod endpoint;
mod exchange;
mod flight;
mod http;
mod id_token;
mod introspection;
mod login;
mod outbound;
mod provider;
mod resource;
mod session;
mod userinfo;

pub use auth::{AssertionKey, ClientAuth};
pub use credentials::{
    ClientCredentials, ClientCredentialsBuilder, DEFAULT_REFRESH_AHEAD, DEFAULT_UNKNOWN_LIFETIME,
    TokenRequest, TokenSource, TokenSourceFuture,
};
pub use device::{DEFAULT_POLL_INTERVAL, DeviceAuthorization, DeviceFlow, DeviceFlowBuilder};
pub use dpop::{DpopKey, MAX_CLIENT_NONCE_LEN, MAX_REMEMBERED_NONCES};
pub use end_session::EndSession;
pub use exchange::{Subject, TokenExchange, TokenExchangeBuilder, TokenType};
pub use flight::RETRY_AFTER_FAILURE;
pub use id_token::IdToken;
pub use introspection::{
    DEFAULT_INACTIVE_TTL, DEFAULT_INTROSPECTION_ENTRIES, DEFAULT_INTROSPECTION_TTL, Introspection,
    IntrospectionBuilder, MAX_OPAQUE_TOKEN_LEN, Revocation, RevocationBuilder, TokenTypeHint,
};
pub use login::{LoggedIn, Login, LoginBuilder, PendingLogin};
pub use outbound::{BearerLayer, BearerMiddleware, BearerService, BoxError};
pub use resource::{ResourceDiscovery, ResourceDiscoveryBuilder, ResourceInfo};
/// Secrets ([`ClientAuth`]'s, [`DpopKey`]'s) are `secrecy` types; re-exported so a client
/// secret needs no extra dependency: `SecretString::from(std::env::var("SECRET")?)`.
pub use secrecy::{ExposeSecret, SecretString};
pub use session::{SavedSession, UserTokens};

use std::fmt;
use std::time::Duration;

use crate::error::ConfigError;

/// An access token obtained from an authorization server. `Debug` never shows it.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    expires_in: Option<Duration>,
    dpop: bool,
}

/// A lifetime a server announces above this is taken as this: 24 h. A client refreshes a
/// longer-lived token after a day, which costs one request; believing `expires_in` as sent
/// could overflow the clock arithmetic (`u64::MAX` seconds) or keep a token long after it was
/// meant to be replaced.
pub(crate) const MAX_ANNOUNCED_LIFETIME: Duration = Duration::from_secs(24 * 3600);

impl AccessToken {
    pub(crate) fn new(secret: SecretString, expires_in: Option<Duration>) -> Self {
        Self {
            secret,
            expires_in: expires_in.map(|d| d.min(MAX_ANNOUNCED_LIFETIME)),
            dpop: false,
        }
    }

    /// Marks the token as DPoP-bound (`token_type: DPoP`).
    pub(crate) fn bound(mut self, dpop: bool) -> Self {
        self.dpop = dpop;
        self
    }

    /// Whether the token is DPoP-bound (`token_type: DPoP`): it goes in `Authorization: DPoP`
    /// with a proof by the key it was issued to, never as a bearer token.
    pub fn is_dpop(&self) -> bool {
        self.dpop
    }

    /// The token, to put in an `Authorization: Bearer` header.
    pub fn secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// The lifetime the server announced (`expires_in`, at most 24 h), if any.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("dpop", &self.dpop)
            .finish()
    }
}

/// An RFC 6749 §5.2 error code (plus those of RFC 8628, RFC 8707 and RFC 7009).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`: the client's credentials were refused.
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `invalid_target` (RFC 8707): the resource or audience is not known to the server.
    InvalidTarget,
    /// `authorization_pending` (RFC 8628)
    AuthorizationPending,
    /// `slow_down` (RFC 8628)
    SlowDown,
    /// `access_denied`
    AccessDenied,
    /// `expired_token` (RFC 8628)
    ExpiredToken,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// `server_error`: the server failed, not the request.
    ServerError,
    /// Any other code, as sent (truncated to 64 printable ASCII characters).
    Other(String),
}

impl ErrorCode {
    /// Reads a code as the server sent it.
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "invalid_target" => Self::InvalidTarget,
            "authorization_pending" => Self::AuthorizationPending,
            "slow_down" => Self::SlowDown,
            "access_denied" => Self::AccessDenied,
            "expired_token" => Self::ExpiredToken,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            "server_error" => Self::ServerError,
            other => Self::Other(printable(other, 64)),
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a token could not be obtained, grouped by what the caller does about it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The authorization server refused the request: fix the credentials, scope or resource.
    /// Retrying the same request will fail the same way.
    #[error("the authorization server refused the request: {code}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// The RFC 6749 `error` code.
        code: ErrorCode,
        /// `error_description`, truncated to 256 printable ASCII characters.
        description: Option<String>,
    },
    /// The server could not be reached, timed out, or answered with something unusable: retry
    /// later.
    #[error("the authorization server is unavailable: {reason}")]
    Unavailable {
        /// What failed (never a response body or a secret).
        reason: String,
    },
    /// The client is misconfigured (bad URL, unusable key, an endpoint the provider does not
    /// publish): fix the configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A login callback is not the answer to a login this server started, or not from the
    /// right issuer: refuse it (400) and start over. Never retry with it.
    #[error("login callback refused: {0}")]
    Callback(&'static str),
    /// The user or the provider refused the login (`access_denied`, `login_required`, ...):
    /// show it.
    #[error("the provider refused the login: {code}")]
    Denied {
        /// The `error` of the callback.
        code: ErrorCode,
    },
    /// What the provider said about the user cannot be trusted: an ID token that fails
    /// validation, a UserInfo answer about someone else. Refuse the login.
    #[error("invalid identity: {0}")]
    Invalid(String),
}

impl TokenError {
    pub(crate) fn unavailable(reason: impl Into<String>) -> Self {
        Self::Unavailable {
            reason: reason.into(),
        }
    }

    /// What an error answer (RFC 6749 §5.2) means to the caller, the one place every flow
    /// decides it. `server_error` and `temporarily_unavailable` say the server failed, so a
    /// retry may succeed; every other code is about the request. (A 5xx or 429 never gets here:
    /// the transport reports it as unavailable whatever its body says, see `http.rs`.)
    pub(crate) fn from_answer(code: &str, description: Option<&str>) -> Self {
        match ErrorCode::parse(code) {
            code @ (ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable) => {
                Self::unavailable(format!("the authorization server answered {code}"))
            }
            code => Self::Rejected {
                code,
                description: description.map(|d| printable(d, 256)),
            },
        }
    }
}

/// Server-provided text made safe for logs and errors: printable ASCII, at most `max` chars.
pub(crate) fn printable(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect()
}
