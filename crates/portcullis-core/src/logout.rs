//! [`BackChannelLogout`]: the receiver of OpenID Connect Back-Channel Logout 1.0. The provider
//! POSTs a logout token when a user's session ends there; a valid one revokes that session (or,
//! with only `sub`, every token of that user issued until now) in [`Revocations`], so with a
//! store every replica refuses the user's access tokens.
//!
//! A logout token is checked as strictly as an access token (signature by the issuer's keys,
//! `iss` exact, `aud` containing the client id, `exp` and `iat` required), plus its own rules
//! (§2.6): `typ`, when present, is `logout+jwt` or the generic `JWT` (never `at+jwt`);
//! `events` holds the back-channel-logout member as a JSON object and there is no `nonce`, so
//! an access or ID token is never taken for one; `sid` and/or `sub`; a short lifetime; and a `jti` used once (the DPoP replay store's trait). The answer
//! is 200, 400 for anything wrong with the request (the detail goes to the audit log), or 503
//! when the replay store or the revocation store could not take it, so the provider can retry.
//! Every answer has `Cache-Control: no-store`.

use std::sync::Arc;
use std::time::Duration;

use serde::de::IgnoredAny;
use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::dpop::{Insert, MemoryReplayStore, ReplayKey, ReplayStore};
use crate::error::{AuthError, ConfigError, Reason};
use crate::keys::KeySource;
use crate::render::Rejection;
use crate::revocation::{Revocation, RevocationError, RevocationKind, Revocations};
use crate::token::{Algorithm, TypPolicy};
use crate::verifier::{TokenCache, Verified, Verifier};

/// The `events` member that makes a JWT a back-channel logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The longest a logout token may live, `exp - iat`, by default (5 min): logout tokens are sent
/// the moment a session ends (oidc-provider gives them 2 min), so a longer-lived one is not one
/// to act on, and its `jti` need not be remembered longer.
pub const DEFAULT_LOGOUT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// The longest `max_lifetime` accepted (1 h).
pub const MAX_LOGOUT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The largest logout request body read (32 KiB): one form parameter holding a token of at
/// most 16 KiB, percent-encoded.
pub const MAX_LOGOUT_REQUEST_LEN: usize = 32 * 1024;

/// `Retry-After` when the logout could not be recorded (5 s).
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why a logout request was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutError {
    /// Not a form POST with exactly one `logout_token`: 400.
    #[error("invalid logout request: {0}")]
    InvalidRequest(&'static str),
    /// The logout token is not acceptable (the verifier's reason, or a logout-token rule): 400.
    #[error("invalid logout token: {0}")]
    InvalidToken(Reason),
    /// The issuer's keys, the replay store or the revocation store did not answer: 503. The
    /// provider should send the logout again.
    #[error("logout unavailable: {0}")]
    Unavailable(String),
}

impl LogoutError {
    /// The HTTP status: 400 or 503.
    pub fn status(&self) -> u16 {
        match self {
            LogoutError::InvalidRequest(_) | LogoutError::InvalidToken(_) => 400,
            LogoutError::Unavailable(_) => 503,
        }
    }
}

/// Builds a [`BackChannelLogout`].
///
/// | option | default |
/// |---|---|
/// | [`key_source`](Self::key_source) | none: **required** (the issuer's keys, e.g. the same `RemoteJwks` as its access tokens) |
/// | [`algorithms`](Self::algorithms) | the verifier's asymmetric default |
/// | [`replay_store`](Self::replay_store) | a [`MemoryReplayStore`]; share one (Redis) across replicas |
/// | [`max_lifetime`](Self::max_lifetime) | [`DEFAULT_LOGOUT_TOKEN_LIFETIME`], at most [`MAX_LOGOUT_TOKEN_LIFETIME`] |
/// | [`leeway`](Self::leeway) | the verifier's default, 60 s |
/// | [`clock`](Self::clock) | the system clock |
pub struct BackChannelLogoutBuilder {
    verifier: crate::verifier::VerifierBuilder,
    revocations: Revocations,
    replay: Arc<dyn ReplayStore>,
    max_lifetime: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for BackChannelLogoutBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackChannelLogoutBuilder")
            .field("verifier", &self.verifier)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl BackChannelLogoutBuilder {
    /// Where the issuer's signing keys come from.
    pub fn key_source(mut self, source: impl KeySource) -> Self {
        self.verifier = self.verifier.key_source(source);
        self
    }

    /// Replaces the algorithm allow-list.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.verifier = self.verifier.algorithms(algorithms);
        self
    }

    /// Where each logout token's `jti` is recorded so it acts once: the same store on every
    /// replica, or a replayed token is acted on again elsewhere (harmless for a revocation,
    /// but the rule is the spec's).
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.replay = Arc::new(store);
        self
    }

    /// The longest `exp - iat` accepted.
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// Clock-skew allowance for `exp` and `iat` (see [`VerifierBuilder::leeway`](crate::VerifierBuilder::leeway)).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.verifier = self.verifier.leeway(leeway);
        self
    }

    /// The clock for `exp` and `iat` (tests use [`ManualClock`](crate::clock::ManualClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(clock);
        self.verifier = self.verifier.clock(Arc::clone(&clock));
        self.clock = clock;
        self
    }

    /// Checks the configuration and builds the receiver.
    pub fn build(self) -> Result<BackChannelLogout, ConfigError> {
        if self.max_lifetime.is_zero() || self.max_lifetime > MAX_LOGOUT_TOKEN_LIFETIME {
            return Err(ConfigError::InvalidValue {
                name: "max_lifetime",
                why: "must be between 1 s and 1 h",
            });
        }
        let verifier = self
            .verifier
            .typ(TypPolicy::LogoutToken)
            .require_claim("iat")
            .require_claim("jti")
            // One use each: caching a logout token's verification would only hold memory.
            .token_cache(TokenCache::disabled())
            .build()?;
        Ok(BackChannelLogout {
            inner: Arc::new(Receiver {
                verifier,
                revocations: self.revocations,
                replay: self.replay,
                max_lifetime: self.max_lifetime.as_secs(),
                clock: self.clock,
            }),
        })
    }
}

/// The back-channel logout receiver of one client at one issuer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BackChannelLogout {
    inner: Arc<Receiver>,
}

#[derive(Debug)]
struct Receiver {
    verifier: Verifier,
    revocations: Revocations,
    replay: Arc<dyn ReplayStore>,
    max_lifetime: u64,
    clock: Arc<dyn Clock>,
}

impl BackChannelLogout {
    /// A receiver for logout tokens from `issuer` for the client `client_id` (their `aud`),
    /// revoking into `revocations`.
    pub fn builder(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        revocations: Revocations,
    ) -> BackChannelLogoutBuilder {
        BackChannelLogoutBuilder {
            verifier: Verifier::builder().issuer(issuer).audience(client_id),
            revocations,
            replay: Arc::new(MemoryReplayStore::new()),
            max_lifetime: DEFAULT_LOGOUT_TOKEN_LIFETIME,
            clock: Arc::new(SystemClock),
        }
    }

    /// Handles one logout request (its `Content-Type` and body) and answers it: what the
    /// adapters' routes return. 200, 400 or 503, with `Cache-Control: no-store`.
    pub async fn respond(&self, content_type: Option<&str>, body: &[u8]) -> Rejection {
        let mut headers = vec![
            ("cache-control", "no-store".to_owned()),
            ("content-type", "application/json".to_owned()),
        ];
        match self.receive(content_type, body).await {
            Ok(_) => Rejection::new(200, headers, b"{}".to_vec()),
            Err(error) => {
                let body = match error.status() {
                    400 => br#"{"error":"invalid_request"}"#.to_vec(),
                    _ => {
                        headers.push(("retry-after", RETRY_AFTER.as_secs().to_string()));
                        br#"{"error":"temporarily_unavailable"}"#.to_vec()
                    }
                };
                Rejection::new(error.status(), headers, body)
            }
        }
    }

    /// Checks one logout request and revokes what it names: the session when the token has a
    /// `sid`, else every token of its `sub` issued until now. Returns what was revoked.
    pub async fn receive(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<RevocationKind, LogoutError> {
        let outcome = self.decide(content_type, body).await;
        match &outcome {
            Ok((kind, issuer)) => {
                tracing::info!(target: "portcullis::audit", event = "logout", outcome = "accept", iss = issuer.as_str(), revoked = kind.name(), "back-channel logout");
                metrics::counter!("portcullis_logout_total", "outcome" => "accept").increment(1);
            }
            Err(error) => {
                tracing::warn!(target: "portcullis::audit", event = "logout", outcome = "reject", error = %error, "back-channel logout refused");
                metrics::counter!("portcullis_logout_total", "outcome" => "reject").increment(1);
            }
        }
        outcome.map(|(kind, _)| kind)
    }

    async fn decide(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(RevocationKind, String), LogoutError> {
        let token = logout_token(content_type, body)?;
        let inner = &*self.inner;
        let verified = inner
            .verifier
            .authenticate(&token)
            .await
            .map_err(|error| match error {
                AuthError::Unavailable { reason, .. } => {
                    LogoutError::Unavailable(reason.code().to_owned())
                }
                other => LogoutError::InvalidToken(other.reason()),
            })?;
        let revocation = logout_rules(&verified, inner.max_lifetime, inner.clock.now())?;
        self.record_once(&verified).await?;
        let kind = revocation.kind();
        let issuer = revocation.issuer().to_owned();
        inner
            .revocations
            .revoke(revocation)
            .await
            .map_err(|error| match error {
                RevocationError::Invalid(why) => LogoutError::InvalidRequest(why),
                other => LogoutError::Unavailable(other.to_string()),
            })?;
        Ok((kind, issuer))
    }

    /// The `jti` is recorded for as long as the token could be presented again.
    async fn record_once(&self, verified: &Verified<IgnoredAny>) -> Result<(), LogoutError> {
        let inner = &*self.inner;
        let jti = verified
            .jwt_id()
            .ok_or(LogoutError::InvalidToken(Reason::MissingClaim("jti")))?;
        // Scoped by issuer; a DPoP key's thumbprint never contains a space, so the two kinds of
        // record cannot collide.
        let key = ReplayKey::new(&format!("logout {}", verified.issuer()), jti);
        let now = inner.clock.now();
        let until = verified
            .expires_at()
            .unwrap_or(now)
            .saturating_add(crate::verifier::MAX_LEEWAY.as_secs());
        let ttl = Duration::from_secs(until.saturating_sub(now).max(1));
        match inner.replay.insert_if_absent(&key, ttl).await {
            Ok(Insert::Fresh) => Ok(()),
            Ok(_) => Err(LogoutError::InvalidToken(Reason::TokenReplayed)),
            Err(error) => Err(LogoutError::Unavailable(error.to_string())),
        }
    }
}

/// The logout token's own rules (§2.6), after the verifier's, and what it revokes.
fn logout_rules(
    verified: &Verified<IgnoredAny>,
    max_lifetime: u64,
    now: u64,
) -> Result<Revocation, LogoutError> {
    let invalid = |reason| Err(LogoutError::InvalidToken(reason));
    let claims = verified.raw_claims();
    match claims.get("events") {
        Some(Value::Object(events)) => match events.get(BACKCHANNEL_LOGOUT_EVENT) {
            Some(Value::Object(_)) => {}
            _ => return invalid(Reason::BadClaim("events")),
        },
        Some(_) => return invalid(Reason::BadClaim("events")),
        None => return invalid(Reason::MissingClaim("events")),
    }
    if claims.contains_key("nonce") {
        return invalid(Reason::BadClaim("nonce"));
    }
    let (Some(exp), Some(iat)) = (verified.expires_at(), verified.issued_at()) else {
        return invalid(Reason::MissingClaim("exp"));
    };
    if exp.saturating_sub(iat) > max_lifetime {
        return invalid(Reason::LifetimeTooLong);
    }
    let issuer = verified.issuer();
    match (verified.session_id(), verified.subject()) {
        (Some(sid), _) => Ok(Revocation::session(issuer, sid)),
        // Every session of the user: every token issued until the logout was received.
        (None, Some(sub)) => Ok(Revocation::subject_before(issuer, sub, now.max(iat))),
        (None, None) => invalid(Reason::MissingClaim("sid")),
    }
}

/// The one `logout_token` parameter of a form body (§2.5).
pub(crate) fn logout_token(content_type: Option<&str>, body: &[u8]) -> Result<String, LogoutError> {
    let form = content_type
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(LogoutError::InvalidRequest(
            "not application/x-www-form-urlencoded",
        ));
    }
    if body.len() > MAX_LOGOUT_REQUEST_LEN {
        return Err(LogoutError::InvalidRequest("body larger than 32 KiB"));
    }
    let mut token = None;
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => {
                let (name, rest) = pair.split_at(at);
                (name, rest.get(1..).unwrap_or_default())
            }
            None => (pair, &b""[..]),
        };
        if form_decode(name)? != "logout_token" {
            continue;
        }
        if token.is_some() {
            return Err(LogoutError::InvalidRequest("logout_token given twice"));
        }
        token = Some(form_decode(value)?);
    }
    match token {
        Some(token) if !token.is_empty() => Ok(token),
        _ => Err(LogoutError::InvalidRequest("no logout_token")),
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; a broken escape
/// or a result that is not UTF-8 is an error, never a guess.
fn form_decode(raw: &[u8]) -> Result<String, LogoutError> {
    let bad = LogoutError::InvalidRequest("malformed form encoding");
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
                let (Some(high), Some(low)) = (hex(bytes.next()), hex(bytes.next())) else {
                    return Err(bad);
                };
                out.push((high * 16 + low) as u8);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|_| bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn the_form_holds_exactly_one_logout_token() {
        let token = |body: &str| logout_token(FORM, body.as_bytes()).map_err(|e| e.to_string());
        assert_eq!(token("logout_token=a.b.c").unwrap(), "a.b.c");
        assert_eq!(token("x=1&logout_token=a%2Eb.c&y").unwrap(), "a.b.c");
        assert_eq!(token("logout%5Ftoken=a+b").unwrap(), "a b");
        for bad in [
            "",
            "logout_token=",
            "token=a.b.c",
            "logout_token=a&logout_token=b",
            "logout_token=a%2",
            "logout_token=a%zz",
            "logout_token=%ff",
        ] {
            assert!(token(bad).is_err(), "{bad}");
        }
        assert!(logout_token(Some("application/json"), b"logout_token=a").is_err());
        assert!(logout_token(None, b"logout_token=a").is_err());
        assert!(
            logout_token(
                Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
                b"logout_token=a"
            )
            .is_ok()
        );
        let huge = format!("logout_token={}", "a".repeat(MAX_LOGOUT_REQUEST_LEN));
        assert!(token(&huge).is_err());
    }
}
