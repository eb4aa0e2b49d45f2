use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretBox;

use super::cache::TokenCache;
use super::header_cache::HeaderCache;
use super::issuer::{IssuerResolver, Issuers, TrustedIssuer};
use super::opaque::OpaqueTokens;
use super::{Policy, Verifier};
use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::keys::KeySource;
use crate::revocation::Revocations;
use crate::token::{Algorithm, TypPolicy};

/// Default clock-skew allowance for `exp`, `nbf` and `iat`: 60 s (Spring, Nimbus and Envoy use
/// the same; enough for NTP-synchronised hosts, small enough to keep expiry meaningful).
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// Largest leeway `build()` accepts: 5 min. More turns a 5-minute token into a 15-minute one.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Default token size cap: 16 KiB, checked before any decoding. Real access tokens are under
/// 4 KiB; the cap bounds the work an anonymous request can cause.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 16 * 1024;

/// Builds a [`Verifier`]. Every option has a safe default; `build()` refuses configurations that
/// would accept tokens meant for someone else.
///
/// | option | default | why |
/// |---|---|---|
/// | [`issuer`](Self::issuer) | none: **required** | a token must come from the issuer you trust |
/// | [`audience`](Self::audience) | none: **required** | a token for another API must not work here |
/// | [`algorithms`](Self::algorithms) | RS256/384/512, PS256/384/512, ES256, ES384, EdDSA (+ ES512 on aws-lc-rs); plus the HMAC algorithm of a [`shared_secret`](Self::shared_secret) (alone when no key source is set) | RFC 8725: asymmetric unless a secret is given |
/// | [`typ`](Self::typ) | [`TypPolicy::AccessTokenOrJwt`] | rejects other JWT kinds (`dpop+jwt`, ...) |
/// | [`leeway`](Self::leeway) | 60 s ([`DEFAULT_LEEWAY`]) | clock skew between hosts |
/// | [`max_token_len`](Self::max_token_len) | 16 KiB ([`DEFAULT_MAX_TOKEN_LEN`]) | bounds per-request work |
/// | `exp` | required | a token without expiry is valid forever |
/// | [`clock`](Self::clock) | the system clock | |
/// | [`trust`](Self::trust), [`resolver`](Self::resolver) | none | more issuers, routed by `iss` before any I/O |
/// | [`opaque_tokens`](Self::opaque_tokens) | none: opaque tokens are rejected | introspection only where configured |
/// | [`token_cache`](Self::token_cache) | on: 10 000 entries, 32 MiB, 10 min ([`TokenCache`]) | clients reuse a token for its lifetime; the signature need not be checked again while nothing it depended on changed |
/// | [`max_token_age`](Self::max_token_age) | none: `exp` alone bounds a token | a limit on how long ago a token was issued, whatever its `exp` |
/// | [`revocations`](Self::revocations) | none | revocation by token, session, subject or client, fleet-wide with a store |
pub struct VerifierBuilder {
    /// The issuer the single-issuer options configure; used when any of them was called.
    single: Option<TrustedIssuer>,
    typ: TypPolicy,
    leeway: Duration,
    max_token_len: usize,
    require_exp: bool,
    required_claims: Vec<&'static str>,
    clock: Arc<dyn Clock>,
    trusted: Vec<TrustedIssuer>,
    resolver: Option<Arc<dyn IssuerResolver>>,
    token_cache: TokenCache,
    opaque: Option<Arc<dyn OpaqueTokens>>,
    max_token_age: Option<Duration>,
    revocations: Option<Revocations>,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        Self {
            single: None,
            typ: TypPolicy::default(),
            leeway: DEFAULT_LEEWAY,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            require_exp: true,
            required_claims: Vec::new(),
            clock: Arc::new(SystemClock),
            trusted: Vec::new(),
            resolver: None,
            token_cache: TokenCache::default(),
            opaque: None,
            max_token_age: None,
            revocations: None,
        }
    }
}

impl std::fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("single", &self.single)
            .field("trusted", &self.trusted)
            .field("resolver", &self.resolver)
            .field("typ", &self.typ)
            .field("leeway", &self.leeway)
            .field("max_token_len", &self.max_token_len)
            .field("token_cache", &self.token_cache)
            .field("max_token_age", &self.max_token_age)
            .field("revocations", &self.revocations)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// The issuer: `iss` must equal it exactly (no normalisation, no trailing-slash tolerance).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        let mut single = self.single_issuer();
        single.issuer = issuer.into();
        self.single = Some(single);
        self
    }

    /// Adds an accepted audience: `aud` must contain at least one of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.single = Some(self.single_issuer().audience(audience));
        self
    }

    /// Replaces the algorithm allow-list. An HMAC algorithm here also needs
    /// [`shared_secret`](Self::shared_secret).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.single = Some(self.single_issuer().algorithms(algorithms));
        self
    }

    /// The issuer's own DPoP mode (see [`TrustedIssuer::dpop`]).
    pub fn dpop(mut self, mode: crate::dpop::DpopMode) -> Self {
        self.single = Some(self.single_issuer().dpop(mode));
        self
    }

    /// The `typ` header policy.
    pub fn typ(mut self, policy: TypPolicy) -> Self {
        self.typ = policy;
        self
    }

    /// Shorthand for `typ(TypPolicy::RequireAtJwt)`: require RFC 9068 access tokens.
    pub fn require_at_jwt(self) -> Self {
        self.typ(TypPolicy::RequireAtJwt)
    }

    /// Clock-skew allowance, at most [`MAX_LEEWAY`]; sub-second parts are ignored.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Token size cap in bytes, between 256 and 1 MiB.
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// Requires a claim to be present and not null.
    pub fn require_claim(mut self, name: &'static str) -> Self {
        self.required_claims.push(name);
        self
    }

    /// The clock used for `exp`, `nbf`, `iat` (tests use [`ManualClock`](crate::clock::ManualClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Where verification keys come from.
    pub fn key_source(mut self, source: impl KeySource) -> Self {
        self.single = Some(self.single_issuer().key_source(source));
        self
    }

    /// Accepts HMAC tokens signed with this shared secret, for `alg` only, and adds `alg` to the
    /// allow-list. The secret must be at least as long as the hash output (RFC 7518 §3.2). It is
    /// the only way an HMAC key exists: never from a key set.
    pub fn shared_secret(mut self, alg: Algorithm, secret: SecretBox<[u8]>) -> Self {
        self.single = Some(self.single_issuer().shared_secret(alg, secret));
        self
    }

    /// Accepts tokens without `exp`. Such a token is valid until its key is retired.
    pub fn dangerous_allow_missing_exp(mut self) -> Self {
        self.require_exp = false;
        self
    }

    /// The single issuer being configured (an unnamed one until `issuer(..)` is called, which
    /// `build()` refuses).
    fn single_issuer(&mut self) -> TrustedIssuer {
        self.single.take().unwrap_or_else(|| TrustedIssuer::new(""))
    }

    /// Trusts one more issuer, with its own audiences, algorithms and keys. Combine with (or use
    /// instead of) the single-issuer options above; tokens are routed by their `iss`.
    pub fn trust(mut self, issuer: TrustedIssuer) -> Self {
        self.trusted.push(issuer);
        self
    }

    /// Resolves issuers that are not configured statically (multi-tenant setups). Results are
    /// kept for the [`RESOLVED_ISSUERS`](super::RESOLVED_ISSUERS) most recently used issuers.
    pub fn resolver(mut self, resolver: impl IssuerResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// The verified-token cache's bounds, or [`TokenCache::disabled`]. See `docs/performance.md`
    /// for what a hit re-checks and what it saves.
    pub fn token_cache(mut self, cache: TokenCache) -> Self {
        self.token_cache = cache;
        self
    }

    /// Accepts opaque tokens (anything without a `.`) through `source`, such as RFC 7662
    /// introspection (`client::Introspection`, feature `client`). Without it, an opaque token
    /// is rejected as malformed. JWTs are never sent to it.
    pub fn opaque_tokens(mut self, source: impl OpaqueTokens) -> Self {
        self.opaque = Some(Arc::new(source));
        self
    }

    /// Rejects a token issued longer ago than `age` (plus the leeway), even if its `exp` is
    /// later (`token_too_old`); a token without `iat` is then rejected too, since its age is
    /// unknown (express-oauth2-jwt-bearer's `maxTokenAge`, Envoy's `max_lifetime`). Whole
    /// seconds, at least 1 s. Checked on every request, cache hits included.
    pub fn max_token_age(mut self, age: Duration) -> Self {
        self.max_token_age = Some(age);
        self
    }

    /// Checks every accepted token, cache hits included, against these revocations
    /// (see [`revocation`](crate::revocation)). Tokens that live longer than their retention,
    /// or have no `exp`, are then rejected (`lifetime_too_long`): no revocation of them could
    /// be remembered long enough.
    pub fn revocations(mut self, revocations: Revocations) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Checks the configuration and builds the verifier.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::InvalidValue {
                name: "leeway",
                why: "more than 300 s",
            });
        }
        if !(256..=1024 * 1024).contains(&self.max_token_len) {
            return Err(ConfigError::InvalidValue {
                name: "max_token_len",
                why: "must be between 256 bytes and 1 MiB",
            });
        }
        if self.max_token_age.is_some_and(|age| age.as_secs() == 0) {
            return Err(ConfigError::InvalidValue {
                name: "max_token_age",
                why: "less than 1 s would reject every token",
            });
        }
        let mut policies = Vec::with_capacity(self.trusted.len() + 1);
        match self.single {
            Some(single) => policies.push(single.compile()?),
            None if self.trusted.is_empty() && self.resolver.is_none() && self.opaque.is_none() => {
                return Err(ConfigError::MissingIssuer);
            }
            None => {}
        }
        for issuer in self.trusted {
            policies.push(issuer.compile()?);
        }
        let leeway = self.leeway.as_secs();
        let cache = self.token_cache.build(leeway, Arc::clone(&self.clock))?;
        Ok(Verifier {
            inner: Arc::new(Policy {
                issuers: Issuers::new(policies, self.resolver, self.opaque.is_some())?,
                typ: self.typ,
                leeway,
                max_token_len: self.max_token_len,
                require_exp: self.require_exp,
                required_claims: self.required_claims,
                clock: self.clock,
                cache,
                headers: HeaderCache::new(),
                opaque: self.opaque,
                max_token_age: self.max_token_age.map(|age| age.as_secs()),
                revocations: self.revocations,
            }),
        })
    }
}
