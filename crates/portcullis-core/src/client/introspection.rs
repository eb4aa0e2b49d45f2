//! RFC 7662 token introspection as the verifier's path for opaque access tokens, and RFC 7009
//! revocation.
//!
//! The resource server authenticates to the introspection endpoint as a client, asks about the
//! token, and trusts the answer only when it says, unambiguously, "an active access token":
//! `active` is the JSON `true`, `token_type` is `Bearer` or `DPoP` (so a refresh token, which
//! introspects as active too, is not accepted in its place), and a `DPoP` token names its key in
//! `cnf.jkt`. The verifier then applies its own policy to the claims: issuer, audience, times,
//! required claims, and the confirmation: a token with `cnf` needs its proof (RFC 9449 §6.2).
//!
//! Answers are cached per token (moka, bounded): an active one for at most the configured TTL
//! and never past its `exp`, an inactive one briefly, so a flood of one bad token costs one
//! request per few seconds. Concurrent lookups of one token share one request. Transport
//! failures are not cached and surface as 503.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::TokenError;
use super::auth::ClientAuth;
use super::endpoint::{ClientSetup, Endpoint, Party, client_setters, post_form};
use super::http::Http;
use crate::error::{ConfigError, KeySourceError};
use crate::fetch::{Fetcher, Limits};
use crate::oauth_response::{Introspected, introspection_answer};
use crate::verifier::{OpaqueFuture, OpaqueTokens};

/// Default longest reuse of an "active" answer: 60 s. Revocation at the issuer takes effect
/// here within this time; an answer is also never reused past the token's `exp`.
pub const DEFAULT_INTROSPECTION_TTL: Duration = Duration::from_secs(60);
/// Default reuse of an "inactive" answer: 5 s, enough to absorb a flood of one bad token while a
/// token that has just been issued is not refused for long.
pub const DEFAULT_INACTIVE_TTL: Duration = Duration::from_secs(5);
/// Default cap on cached answers: 10 000, like the verified-token cache.
pub const DEFAULT_INTROSPECTION_ENTRIES: u64 = 10_000;
/// Longest opaque token sent to the endpoint: 1 KiB. Real opaque tokens are 32 to 200
/// characters; a longer one is answered "inactive" without a request, so garbage can neither
/// be forwarded to the issuer nor fill the answer cache with large keys (10 000 entries then
/// hold at most ~10 MiB of keys).
pub const MAX_OPAQUE_TOKEN_LEN: usize = 1024;
/// How long callers are told to wait when the introspection endpoint fails: 5 s.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Opaque access tokens resolved by RFC 7662 introspection. Give it to
/// [`VerifierBuilder::opaque_tokens`](crate::VerifierBuilder::opaque_tokens). Cheap to clone.
#[derive(Clone)]
pub struct Introspection {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audiences: Vec<String>,
    client_id: String,
    auth: ClientAuth,
    endpoint: Endpoint,
    fetcher: Fetcher,
    ttl: Duration,
    inactive_ttl: Duration,
    require_token_type: bool,
    answers: moka::future::Cache<Box<str>, Answer>,
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field("client_id", &self.inner.client_id)
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Answer {
    claims: Option<Arc<str>>,
    ttl: Duration,
}

struct AnswerLifetime;

impl moka::Expiry<Box<str>, Answer> for AnswerLifetime {
    fn expire_after_create(&self, _: &Box<str>, answer: &Answer, _: Instant) -> Option<Duration> {
        Some(answer.ttl)
    }
}

/// Builds [`Introspection`].
///
/// | option | default | why |
/// |---|---|---|
/// | [`client`](Self::client) | none: **required** | the endpoint only answers authenticated resource servers |
/// | [`audience`](Self::audience) | none: **at least one** | a token for another API must not work here |
/// | [`endpoint`](Self::endpoint) | discovered from the issuer (`introspection_endpoint`) | |
/// | [`ttl`](Self::ttl) | 60 s ([`DEFAULT_INTROSPECTION_TTL`]), never past `exp` | how late a revocation may take effect |
/// | [`inactive_ttl`](Self::inactive_ttl) | 5 s ([`DEFAULT_INACTIVE_TTL`]) | absorbs floods of one bad token |
/// | [`max_entries`](Self::max_entries) | 10 000 | bounded memory |
/// | [`accept_missing_token_type`](Self::accept_missing_token_type) | `token_type: Bearer` required | a refresh token introspects as active too |
pub struct IntrospectionBuilder {
    issuer: String,
    audiences: Vec<String>,
    client: Option<(String, ClientAuth)>,
    url: Option<String>,
    ttl: Duration,
    inactive_ttl: Duration,
    max_entries: u64,
    require_token_type: bool,
    http: Option<reqwest::Client>,
    allow_http: bool,
}

impl fmt::Debug for IntrospectionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

impl Introspection {
    /// Introspection at `issuer` (its tokens' `iss`, and where the endpoint is discovered).
    pub fn builder(issuer: impl Into<String>) -> IntrospectionBuilder {
        IntrospectionBuilder {
            issuer: issuer.into(),
            audiences: Vec::new(),
            client: None,
            url: None,
            ttl: DEFAULT_INTROSPECTION_TTL,
            inactive_ttl: DEFAULT_INACTIVE_TTL,
            max_entries: DEFAULT_INTROSPECTION_ENTRIES,
            require_token_type: true,
            http: None,
            allow_http: false,
        }
    }

    async fn ask(&self, token: &str) -> Result<Answer, KeySourceError> {
        let inner = &*self.inner;
        let unavailable = |detail: String| {
            crate::audit::introspection_failed(&inner.issuer, &detail);
            KeySourceError::Unavailable {
                detail,
                retry_after: RETRY_AFTER,
            }
        };
        let url = inner
            .endpoint
            .url(&inner.fetcher)
            .await
            .map_err(unavailable)?;
        let mut form = vec![
            ("token", token.to_owned()),
            ("token_type_hint", "access_token".to_owned()),
        ];
        let basic = inner
            .auth
            .apply(&inner.client_id, url.as_str(), &mut form)
            .map_err(|e| unavailable(e.to_string()))?;
        let response = post_form(&Http::new(&inner.fetcher), url, &form, basic)
            .await
            .map_err(unavailable)?;
        if response.status() != http::StatusCode::OK {
            return Err(unavailable(format!(
                "introspection: status {}",
                response.status().as_u16()
            )));
        }
        let answer = introspection_answer(response.body(), inner.require_token_type)
            .map_err(|why| unavailable(format!("introspection: {why}")))?;
        let Introspected::Active(claims) = answer else {
            return Ok(Answer {
                claims: None,
                ttl: inner.inactive_ttl,
            });
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let ttl = match claims.get("exp").and_then(Value::as_u64) {
            Some(exp) => inner.ttl.min(Duration::from_secs(exp.saturating_sub(now))),
            None => inner.ttl,
        };
        Ok(Answer {
            claims: Some(Value::Object(claims).to_string().into()),
            ttl,
        })
    }
}

impl OpaqueTokens for Introspection {
    fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    fn claims<'a>(&'a self, token: &'a str) -> OpaqueFuture<'a> {
        Box::pin(async move {
            if token.len() > MAX_OPAQUE_TOKEN_LEN {
                return Ok(None);
            }
            self.inner
                .answers
                .try_get_with(token.into(), self.ask(token))
                .await
                .map(|answer| answer.claims)
                .map_err(|e| (*e).clone())
        })
    }
}

impl IntrospectionBuilder {
    /// The resource server's own client registration at the issuer.
    pub fn client(mut self, client_id: impl Into<String>, auth: ClientAuth) -> Self {
        self.client = Some((client_id.into(), auth));
        self
    }

    /// Adds an accepted audience: the answer's `aud` must contain one of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The introspection endpoint (default: the issuer's `introspection_endpoint`, discovered).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Longest reuse of an "active" answer, at most 10 min.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Reuse of an "inactive" answer, at most 1 min (zero: not cached).
    pub fn inactive_ttl(mut self, ttl: Duration) -> Self {
        self.inactive_ttl = ttl;
        self
    }

    /// Most answers kept, at least 1.
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.max_entries = entries;
        self
    }

    /// Accepts answers without `token_type`, for servers that omit it. Such a server may then
    /// have a refresh token accepted as an access token, unless its answers differ otherwise.
    pub fn accept_missing_token_type(mut self) -> Self {
        self.require_token_type = false;
        self
    }

    /// Sends requests with this client (redirects must be disabled on it).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Allows plain `http` endpoints on any host (loopback always is).
    pub fn dangerous_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<Introspection, ConfigError> {
        if self.issuer.is_empty() {
            return Err(ConfigError::MissingIssuer);
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::MissingAudience);
        }
        let (client_id, auth) = self.client.ok_or(ConfigError::InvalidValue {
            name: "client",
            why: "call `client(..)`: introspection endpoints answer authenticated clients only",
        })?;
        if self.ttl > Duration::from_secs(600) || self.inactive_ttl > Duration::from_secs(60) {
            return Err(ConfigError::InvalidValue {
                name: "ttl",
                why: "at most 10 min for active answers and 1 min for inactive ones",
            });
        }
        if self.max_entries == 0 {
            return Err(ConfigError::InvalidValue {
                name: "max_entries",
                why: "at least 1",
            });
        }
        let fetcher = Fetcher::new(self.http, self.allow_http, Limits::default())?;
        let endpoint = Endpoint::new(self.url, &self.issuer, "introspection_endpoint", &fetcher)?;
        Ok(Introspection {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                audiences: self.audiences,
                client_id,
                auth,
                endpoint,
                fetcher,
                ttl: self.ttl,
                inactive_ttl: self.inactive_ttl,
                require_token_type: self.require_token_type,
                answers: moka::future::Cache::builder()
                    .max_capacity(self.max_entries)
                    .expire_after(AnswerLifetime)
                    .build(),
            }),
        })
    }
}

/// Revokes tokens at an RFC 7009 revocation endpoint.
#[derive(Debug)]
pub struct Revocation {
    party: Party,
    endpoint: Endpoint,
}

/// Builds a [`Revocation`]. Only the client a token was issued to may revoke it, so this is
/// that client ([`auth`](Self::auth) for a confidential one).
#[derive(Debug)]
pub struct RevocationBuilder {
    setup: ClientSetup,
    endpoint: Option<String>,
}

impl RevocationBuilder {
    client_setters!();

    /// The revocation endpoint, instead of the issuer's discovered `revocation_endpoint`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Checks the configuration. Nothing is fetched yet: call
    /// [`warm_up`](Revocation::warm_up) to find the endpoint at start-up.
    pub fn build(self) -> Result<Revocation, ConfigError> {
        let (issuer, party) = self.setup.party()?;
        Ok(Revocation {
            endpoint: Endpoint::new(
                self.endpoint,
                &issuer,
                "revocation_endpoint",
                &party.fetcher,
            )?,
            party,
        })
    }
}

/// Which kind of token is being revoked (RFC 7009 §2.1 `token_type_hint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenTypeHint {
    /// An access token.
    AccessToken,
    /// A refresh token (revoking it usually revokes its access tokens too).
    RefreshToken,
}

impl Revocation {
    /// Revocation at `issuer` (its `revocation_endpoint`, discovered unless
    /// [`endpoint`](RevocationBuilder::endpoint) is given) for the client `client_id`.
    pub fn builder(issuer: &str, client_id: impl Into<String>) -> RevocationBuilder {
        RevocationBuilder {
            setup: ClientSetup::new(issuer, client_id),
            endpoint: None,
        }
    }

    /// Finds the revocation endpoint now (discovery), so a wrong issuer fails at start-up.
    pub async fn warm_up(&self) -> Result<(), TokenError> {
        self.party.resolve(&self.endpoint).await.map(drop)
    }

    /// Revokes `token`. Success includes tokens the server did not know (RFC 7009 §2.2).
    pub async fn revoke(&self, token: &str, hint: TokenTypeHint) -> Result<(), TokenError> {
        let hint = match hint {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        };
        let form = vec![
            ("token", token.to_owned()),
            ("token_type_hint", hint.into()),
        ];
        self.party.post(&self.endpoint, form, false).await.map(drop)
    }
}
