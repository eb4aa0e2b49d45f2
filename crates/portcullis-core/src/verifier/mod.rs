//! [`Verifier`]: where a request's token is verified, start to finish.
//!
//! [`Verifier::verify`] runs DESIGN §2 in order. Each step either passes or rejects with one
//! [`Reason`]; nothing is retried with a looser rule.
//!
//! 1. size cap, three segments, strict base64url (`token::compact`);
//! 2. header policy: a known `alg` (never `none`), no `crit`, `typ` per [`TypPolicy`];
//! 3. the claims parsed once (no duplicate members anywhere), registered claims type-checked;
//! 4. issuer routing: the unverified `iss` picks a [`TrustedIssuer`]; anything else is rejected
//!    before any I/O; then that issuer's algorithm allow-list;
//! 5. key selection by `kid` and algorithm compatibility (one refresh on an unknown key), and the
//!    signature;
//! 6. claims policy: `iss` exact, `aud` contains a configured audience, `exp`/`nbf`/`iat` with
//!    leeway, required claims;
//! 7. the caller's claims type;
//! 8. continuous validation, on cache hits too: the maximum token age, then the revocations
//!    (`crate::revocation`).
//!
//! Before step 1, the verified-token cache ([`TokenCache`], on by default) may answer for a
//! token that already passed all of this, when its times, its issuer's configuration and its
//! key set are unchanged (`cache`).

mod builder;
mod cache;
mod header_cache;
mod issuer;
mod opaque;
pub(crate) mod verified;

use std::fmt;
use std::sync::Arc;

use serde::de::{DeserializeOwned, IgnoredAny};

pub use builder::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN, MAX_LEEWAY, VerifierBuilder};
pub use cache::{
    DEFAULT_TOKEN_CACHE_BYTES, DEFAULT_TOKEN_CACHE_ENTRIES, DEFAULT_TOKEN_CACHE_TTL, TokenCache,
    TokenCacheUsage,
};
pub use issuer::{IssuerResolver, RESOLVED_ISSUERS, ResolveFuture, TrustedIssuer};
pub use opaque::{OpaqueFuture, OpaqueTokens};
pub use verified::Verified;

use crate::audit;
use crate::clock::Clock;
use crate::dpop::DpopMode;
use crate::error::{AuthError, KeySourceError, Reason};
use crate::json::Tape;
use crate::keys::{KeySet, KeySourceHealth, Refresh};
use crate::request::context::RequestContext;
use crate::revocation::Revocations;
use crate::token::claims::Registered;
use crate::token::{Header, TypPolicy, compact};
use cache::Cache;
use header_cache::HeaderCache;
use issuer::{IssuerPolicy, Issuers};
use verified::Core;
pub(crate) use verified::Presentation;

/// Verifies JWT access tokens under one policy. Cheap to clone (one `Arc`), `Send + Sync`.
///
/// Build it with [`Verifier::builder`]; every option and its default is documented there.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Policy>,
}

/// The whole policy of a verifier, fixed at `build()`.
#[derive(Debug)]
struct Policy {
    issuers: Issuers,
    typ: TypPolicy,
    leeway: u64,
    max_token_len: usize,
    require_exp: bool,
    required_claims: Vec<&'static str>,
    clock: Arc<dyn Clock>,
    cache: Option<Cache>,
    headers: HeaderCache,
    opaque: Option<Arc<dyn OpaqueTokens>>,
    /// Seconds.
    max_token_age: Option<u64>,
    revocations: Option<Revocations>,
}

/// Whether a decision came from the verified-token cache (for the audit event and metrics).
#[derive(Clone, Copy)]
pub(crate) enum CacheUse {
    Hit,
    Miss,
    Off,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl Verifier {
    /// A builder with the documented safe defaults.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// The health of each statically configured issuer's key source, by issuer.
    pub fn health(&self) -> Vec<(String, KeySourceHealth)> {
        self.inner.issuers.health()
    }

    /// The issuers this verifier trusts without asking a resolver: the fixed ones and the
    /// opaque-token source's, sorted.
    pub(crate) fn trusted_issuers(&self) -> Vec<String> {
        let mut issuers: Vec<String> = self.inner.issuers.names();
        if let Some(opaque) = &self.inner.opaque {
            issuers.push(opaque.issuer().to_owned());
        }
        issuers.sort();
        issuers.dedup();
        issuers
    }

    /// Now, by the verifier's clock (a DPoP proof's `iat` is judged by the same clock as the
    /// token's times).
    pub(crate) fn now(&self) -> u64 {
        self.inner.clock.now()
    }

    /// How full the verified-token cache is, or `None` when it is disabled.
    pub fn token_cache_usage(&self) -> Option<TokenCacheUsage> {
        self.inner.cache.as_ref().map(Cache::usage)
    }

    /// Verifies `token` (the bare token, without `Bearer `) and returns its claims typed as `C`.
    ///
    /// Every call emits one audit event. Errors are [`AuthError::InvalidToken`] (401) for anything
    /// wrong with the token and [`AuthError::Unavailable`] (503) when no usable key set exists.
    ///
    /// A token served by the verified-token cache is typed as `C` again from its claims text;
    /// to skip that too, take [`Verified<IgnoredAny>`] from [`authenticate`](Self::authenticate)
    /// and call [`Verified::typed`] only where a handler needs the claims.
    pub async fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<Verified<C>, AuthError> {
        self.decide(
            token,
            |tape| tape.deserialize().ok(),
            |text| serde_json::from_str(text).ok(),
        )
        .await
    }

    /// Verifies `token` like [`verify`](Self::verify) without typing its claims: the cheapest
    /// path, and the one the framework adapters take (a cache hit does no parsing at all).
    pub async fn authenticate(&self, token: &str) -> Result<Verified<IgnoredAny>, AuthError> {
        self.decide(token, |_| Some(IgnoredAny), |_| Some(IgnoredAny))
            .await
    }

    /// [`authenticate`](Self::authenticate) for one request of an authenticator: the audit event
    /// names the request, and `dpop` is the authenticator's DPoP mode, for issuers without
    /// their own.
    pub(crate) async fn authenticate_request(
        &self,
        token: &str,
        request: &RequestContext,
        dpop: DpopMode,
    ) -> Result<Verified<IgnoredAny>, AuthError> {
        let checked = self
            .check_presented(
                token,
                Presentation::Bearer,
                dpop,
                |_| Some(IgnoredAny),
                |_| Some(IgnoredAny),
            )
            .await;
        self.record(checked, token, Some(request))
    }

    async fn decide<C>(
        &self,
        token: &str,
        from_tape: impl FnOnce(&Tape<'_>) -> Option<C>,
        from_text: impl FnOnce(&str) -> Option<C>,
    ) -> Result<Verified<C>, AuthError> {
        let checked = self
            .check_presented(
                token,
                Presentation::Bearer,
                DpopMode::default(),
                from_tape,
                from_text,
            )
            .await;
        self.record(checked, token, None)
    }

    /// Verifies `token` as presented, without the audit event and count: the DPoP path runs
    /// its replay check in between and then [`record`](Self::record)s the whole decision.
    pub(crate) async fn check_presented<C>(
        &self,
        token: &str,
        presentation: Presentation<'_>,
        dpop: DpopMode,
        from_tape: impl FnOnce(&Tape<'_>) -> Option<C>,
        from_text: impl FnOnce(&str) -> Option<C>,
    ) -> Result<(Verified<C>, CacheUse), AuthError> {
        let (verified, cache) = self.verify_inner(token, from_tape, from_text).await?;
        verified
            .confirm(presentation, dpop)
            .map_err(AuthError::InvalidToken)?;
        self.check_continuous(&verified)?;
        Ok((verified, cache))
    }

    /// Continuous validation, after verification so that it covers cache hits and opaque
    /// tokens alike: the token's age, then revocation.
    fn check_continuous<C>(&self, verified: &Verified<C>) -> Result<(), AuthError> {
        let policy = &*self.inner;
        if policy.max_token_age.is_none() && policy.revocations.is_none() {
            return Ok(());
        }
        let now = policy.clock.now();
        if let Some(age) = policy.max_token_age {
            let iat = verified
                .issued_at()
                .ok_or(AuthError::InvalidToken(Reason::MissingClaim("iat")))?;
            if now > iat.saturating_add(age).saturating_add(policy.leeway) {
                return Err(AuthError::InvalidToken(Reason::TokenTooOld));
            }
        }
        match &policy.revocations {
            Some(revocations) => revocations.check(verified, now),
            None => Ok(()),
        }
    }

    /// The audit event and count of one token decision.
    pub(crate) fn record<C>(
        &self,
        decided: Result<(Verified<C>, CacheUse), AuthError>,
        token: &str,
        request: Option<&RequestContext>,
    ) -> Result<Verified<C>, AuthError> {
        match decided {
            Ok((verified, cache)) => {
                // Literal labels make a static key: nothing allocated or hashed per request.
                match cache {
                    CacheUse::Hit => metrics::counter!("portcullis_verify_total", "outcome" => "accept", "cache" => "hit"),
                    CacheUse::Miss => metrics::counter!("portcullis_verify_total", "outcome" => "accept", "cache" => "miss"),
                    CacheUse::Off => metrics::counter!("portcullis_verify_total", "outcome" => "accept", "cache" => "off"),
                }
                .increment(1);
                audit::accepted(
                    verified.issuer(),
                    verified.subject(),
                    verified.kid(),
                    verified.alg(),
                    matches!(cache, CacheUse::Hit),
                    request,
                );
                Ok(verified)
            }
            Err(error) => {
                let reason = error.reason().code();
                metrics::counter!("portcullis_verify_total", "outcome" => "reject", "reason" => reason).increment(1);
                audit::rejected(error.reason(), token, self.inner.max_token_len, request);
                Err(error)
            }
        }
    }

    /// Checks only the JWS layer of `jws`: size cap, encoding, header policy, key selection and
    /// signature, against the verifier's only issuer (with several issuers there is no `iss` to
    /// choose by, so this rejects). No claim is read: this is for JWS-signed payloads that are
    /// not access tokens (and for conformance vectors); use [`verify`](Self::verify) for tokens.
    pub async fn verify_signature(&self, jws: &str) -> Result<Header, AuthError> {
        let (parts, header) = self.parse_header(jws).map_err(AuthError::InvalidToken)?;
        let header = Header::clone(&header);
        // The payload is not read, but it must still be strict base64url: otherwise two spellings
        // of one payload would both verify.
        compact::decode(parts.claims).map_err(AuthError::InvalidToken)?;
        let issuer = self
            .inner
            .issuers
            .only()
            .ok_or(AuthError::InvalidToken(Reason::BadIssuer))?;
        check_signature(issuer, &parts, &header).await?;
        Ok(header)
    }

    async fn verify_inner<C>(
        &self,
        token: &str,
        from_tape: impl FnOnce(&Tape<'_>) -> Option<C>,
        from_text: impl FnOnce(&str) -> Option<C>,
    ) -> Result<(Verified<C>, CacheUse), AuthError> {
        let policy = &*self.inner;
        // A JWS always has two dots; anything else can only be an opaque token.
        if let Some(opaque) = &policy.opaque
            && !token.contains('.')
        {
            let verified = self
                .verify_opaque(opaque.as_ref(), token, from_text)
                .await?;
            return Ok((verified, CacheUse::Off));
        }
        // A token over the size cap is refused below without a lookup.
        let cache = policy
            .cache
            .as_ref()
            .filter(|_| token.len() <= policy.max_token_len)
            .map(|cache| (cache, cache.key(token)));
        if let Some((cache, key)) = cache
            && let Some(core) = self.cached(cache, key, token).await
        {
            let typed =
                from_text(core.json()).ok_or(AuthError::InvalidToken(Reason::ClaimsType))?;
            return Ok((Verified::new(typed, core), CacheUse::Hit));
        }

        let (parts, header) = self.parse_header(token).map_err(AuthError::InvalidToken)?;
        let claims = compact::decode(parts.claims)
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| Reason::BadJson))
            .map_err(AuthError::InvalidToken)?;
        let tape = Tape::parse(&claims).map_err(AuthError::InvalidToken)?;
        let registered = Registered::read(&tape, &claims, &policy.required_claims)
            .map_err(AuthError::InvalidToken)?;

        // Routing reads the unverified `iss`; an untrusted one stops here, before any key
        // source (and so any network) is touched.
        let iss = registered
            .iss
            .as_ref()
            .map(|iss| iss.resolve(&claims))
            .ok_or(AuthError::InvalidToken(Reason::MissingClaim("iss")))?;
        let issuer = policy
            .issuers
            .route(iss)
            .await
            .ok_or(AuthError::InvalidToken(Reason::BadIssuer))?;
        let key_version = check_signature(&issuer, &parts, &header).await?;
        self.check_claims(&issuer, &registered, &claims)
            .map_err(AuthError::InvalidToken)?;

        // Replayed from the tape: the claims text is parsed exactly once.
        let typed = from_tape(&tape);
        drop(tape);
        let core = Arc::new(Core::new(registered, Some(header), claims, issuer.dpop));
        let used = match cache {
            Some((cache, key)) => {
                cache.insert(key, token, Arc::clone(&core), issuer.id, key_version);
                CacheUse::Miss
            }
            None => CacheUse::Off,
        };
        let typed = typed.ok_or(AuthError::InvalidToken(Reason::ClaimsType))?;
        Ok((Verified::new(typed, core), used))
    }

    /// An opaque token: its issuer's answer (introspection) instead of a signature, then the
    /// same claims policy as a JWT's. `iss` may be absent (RFC 7662 makes it optional) but not
    /// wrong; `aud` is required; `exp` is optional because the issuer vouched for the token just
    /// now, and checked when present.
    async fn verify_opaque<C>(
        &self,
        opaque: &dyn OpaqueTokens,
        token: &str,
        from_text: impl FnOnce(&str) -> Option<C>,
    ) -> Result<Verified<C>, AuthError> {
        let policy = &*self.inner;
        if token.is_empty() {
            return Err(AuthError::InvalidToken(Reason::Malformed));
        }
        if token.len() > policy.max_token_len {
            return Err(AuthError::InvalidToken(Reason::TokenTooLarge));
        }
        let claims = match opaque.claims(token).await {
            Ok(Some(claims)) => claims.to_string(),
            Ok(None) => return Err(AuthError::InvalidToken(Reason::Inactive)),
            Err(KeySourceError::Unavailable { retry_after, .. }) => {
                return Err(AuthError::Unavailable {
                    reason: Reason::IntrospectionUnavailable,
                    retry_after,
                });
            }
        };
        let tape = Tape::parse(&claims).map_err(AuthError::InvalidToken)?;
        let registered = Registered::read(&tape, &claims, &policy.required_claims)
            .map_err(AuthError::InvalidToken)?;
        drop(tape);
        if registered
            .iss
            .as_ref()
            .is_some_and(|iss| iss.resolve(&claims) != opaque.issuer())
        {
            return Err(AuthError::InvalidToken(Reason::BadIssuer));
        }
        check_audience(&registered, &claims, opaque.audiences())
            .and_then(|()| self.check_times(&registered, false))
            .map_err(AuthError::InvalidToken)?;
        let typed = from_text(&claims).ok_or(AuthError::InvalidToken(Reason::ClaimsType))?;
        Ok(Verified::new(
            typed,
            Arc::new(Core::new(registered, None, claims, None)),
        ))
    }

    /// A cached verification of exactly `token`, if everything it depended on is unchanged:
    /// its times (checked by the cache), its issuer's configuration and its key set.
    async fn cached(&self, cache: &Cache, key: cache::Key, token: &str) -> Option<Arc<Core>> {
        let entry = cache.get(key, token)?;
        let core = &entry.core;
        let iss = core.registered().iss.as_ref()?.resolve(core.json());
        let issuer = self.inner.issuers.route(iss).await;
        let unchanged = issuer
            .filter(|issuer| issuer.id == entry.issuer_id)
            .is_some_and(|issuer| match entry.key_version {
                None => true,
                Some(version) => issuer
                    .keys
                    .as_ref()
                    .and_then(|keys| keys.current())
                    .is_some_and(|set| set.version() == version),
            });
        if !unchanged {
            cache.forget(key);
            return None;
        }
        Some(Arc::clone(core))
    }

    /// Steps 1-2: everything about the header, which needs no key.
    fn parse_header<'t>(
        &self,
        token: &'t str,
    ) -> Result<(compact::Compact<'t>, Arc<Header>), Reason> {
        let policy = &*self.inner;
        let parts = compact::split(token, policy.max_token_len)?;
        let header = policy.headers.get_or_parse(parts.header, || {
            Header::from_json(&compact::decode(parts.header)?, policy.typ)
        })?;
        Ok((parts, header))
    }

    /// Step 6, on claims whose types [`Registered::read`] already checked.
    fn check_claims(
        &self,
        issuer: &IssuerPolicy,
        claims: &Registered,
        text: &str,
    ) -> Result<(), Reason> {
        match claims.iss.as_ref().map(|iss| iss.resolve(text)) {
            None => return Err(Reason::MissingClaim("iss")),
            Some(iss) if iss != issuer.issuer => return Err(Reason::BadIssuer),
            Some(_) => {}
        }
        check_audience(claims, text, &issuer.audiences)?;
        self.check_times(claims, self.inner.require_exp)
    }

    /// `exp`, `nbf` and `iat` with leeway, then the required claims.
    fn check_times(&self, claims: &Registered, require_exp: bool) -> Result<(), Reason> {
        let policy = &*self.inner;
        let now = policy.clock.now();
        match claims.exp {
            Some(exp) if now >= exp.saturating_add(policy.leeway) => return Err(Reason::Expired),
            None if require_exp => return Err(Reason::MissingClaim("exp")),
            _ => {}
        }
        if let Some(nbf) = claims.nbf
            && nbf > now.saturating_add(policy.leeway)
        {
            return Err(Reason::NotYetValid);
        }
        if let Some(iat) = claims.iat
            && iat > now.saturating_add(policy.leeway)
        {
            return Err(Reason::IssuedInFuture);
        }
        match claims.missing_required {
            Some(name) => Err(Reason::MissingClaim(name)),
            None => Ok(()),
        }
    }
}

/// `aud` is required and must contain one of `audiences`.
fn check_audience(claims: &Registered, text: &str, audiences: &[String]) -> Result<(), Reason> {
    let auds = match claims.aud.as_ref().map(|a| a.as_slice()) {
        None | Some([]) => return Err(Reason::MissingClaim("aud")),
        Some(auds) => auds,
    };
    if auds
        .iter()
        .any(|a| audiences.iter().any(|want| a.resolve(text) == want))
    {
        Ok(())
    } else {
        Err(Reason::BadAudience)
    }
}

/// Steps 4-5 for one issuer: its algorithm allow-list, then the signature under its configured
/// secret (HMAC) or a key from its source. Returns the version of the key set that verified it
/// (`None` for the HMAC secret).
async fn check_signature(
    issuer: &IssuerPolicy,
    parts: &compact::Compact<'_>,
    header: &Header,
) -> Result<Option<u64>, AuthError> {
    if !issuer.algorithms.contains(header.alg) {
        return Err(AuthError::InvalidToken(Reason::AlgNotAllowed));
    }
    let message = parts.signing_input.as_bytes();
    if header.alg.is_hmac() {
        // Only the configured secret, never a key set: a public key must never become an
        // HMAC secret (the RS256 -> HS256 confusion attack).
        return with_signature(parts.signature, |signature| {
            let ok = issuer
                .hmac
                .as_ref()
                .is_some_and(|k| k.verify(header.alg, message, signature));
            if ok {
                Ok(None)
            } else {
                Err(Reason::BadSignature)
            }
        })
        .map_err(AuthError::InvalidToken);
    }
    let Some(source) = &issuer.keys else {
        return Err(AuthError::InvalidToken(Reason::AlgNotAllowed));
    };
    let (kid, alg) = (header.kid.as_deref(), header.alg);
    let set = match source.current() {
        Some(set) => set,
        None => source.refresh(Refresh::Cold).await.map_err(unavailable)?,
    };
    let verify = |set: &KeySet| {
        with_signature(parts.signature, |signature| {
            set.verify(kid, alg, message, signature)
                .map(|()| Some(set.version()))
        })
    };
    match verify(&set) {
        // One refresh at most; the source decides whether that means a fetch.
        Err(Reason::UnknownKey) => {
            let newer = source
                .refresh(Refresh::UnknownKey { kid })
                .await
                .map_err(unavailable)?;
            verify(&newer)
        }
        outcome => outcome,
    }
    .map_err(AuthError::InvalidToken)
}

/// `check` on the decoded signature. Synchronous, so the buffer lives on the stack of this call
/// and never in a future's state across an `.await`.
fn with_signature<T>(
    segment: &str,
    check: impl FnOnce(&[u8]) -> Result<T, Reason>,
) -> Result<T, Reason> {
    let mut buf = compact::signature_buf();
    check(compact::decode_signature(segment, &mut buf)?)
}

fn unavailable(e: KeySourceError) -> AuthError {
    match e {
        KeySourceError::Unavailable { retry_after, .. } => AuthError::Unavailable {
            reason: Reason::KeysUnavailable,
            retry_after,
        },
    }
}
