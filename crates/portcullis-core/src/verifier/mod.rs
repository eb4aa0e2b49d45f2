//! [`Verifier`]: where a request's token is verified, start to finish.
//!
//! [`Verifier::verify`] runs DESIGN §2 in order. Each step either passes or rejects with one
//! [`Reason`]; nothing is retried with a looser rule.
//!
//! 1. size cap, three segments, strict base64url ([`token::compact`](crate::token));
//! 2. header and claims as JSON objects with no duplicate members;
//! 3. header policy: `alg` allowed, no `crit`, `typ` per [`TypPolicy`];
//! 4. key selection by `kid` and algorithm compatibility, one refresh on an unknown key;
//! 5. the signature;
//! 6. claims policy: `iss` exact, `aud` contains a configured audience, `exp`/`nbf`/`iat` with
//!    leeway, required claims, date types;
//! 7. the caller's claims type.

mod builder;
mod verified;

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

pub use builder::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN, MAX_LEEWAY, VerifierBuilder};
pub use verified::Verified;

use crate::audit;
use crate::clock::Clock;
use crate::crypto::HmacKey;
use crate::error::{AuthError, KeySourceError, Reason};
use crate::keys::{KeySource, Refresh};
use crate::token::claims::Registered;
use crate::token::json::Tape;
use crate::token::{AlgorithmSet, Header, TypPolicy, compact};

/// Verifies JWT access tokens under one policy. Cheap to clone (one `Arc`), `Send + Sync`.
///
/// Build it with [`Verifier::builder`]; every option and its default is documented there.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Policy>,
}

/// The whole policy of a verifier, fixed at `build()`.
struct Policy {
    issuer: String,
    audiences: Vec<String>,
    algorithms: AlgorithmSet,
    typ: TypPolicy,
    leeway: u64,
    max_token_len: usize,
    require_exp: bool,
    required_claims: Vec<&'static str>,
    clock: Arc<dyn Clock>,
    keys: Option<Arc<dyn KeySource>>,
    hmac: Option<HmacKey>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.inner;
        f.debug_struct("Verifier")
            .field("issuer", &p.issuer)
            .field("audiences", &p.audiences)
            .field("algorithms", &p.algorithms)
            .field("typ", &p.typ)
            .field("leeway", &p.leeway)
            .field("max_token_len", &p.max_token_len)
            .field("require_exp", &p.require_exp)
            .field("required_claims", &p.required_claims)
            .field("keys", &p.keys)
            .field("hmac", &p.hmac)
            .finish()
    }
}

impl Verifier {
    /// A builder with the documented safe defaults.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Verifies `token` (the bare token, without `Bearer `) and returns its claims typed as `C`.
    ///
    /// Every call emits one audit event. Errors are [`AuthError::InvalidToken`] (401) for anything
    /// wrong with the token and [`AuthError::Unavailable`] (503) when no usable key set exists.
    pub async fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<Verified<C>, AuthError> {
        match self.verify_inner(token).await {
            Ok(verified) => {
                metrics::counter!("portcullis_verify_total", "outcome" => "accept").increment(1);
                audit::accepted(
                    verified.issuer(),
                    verified.subject(),
                    verified.kid(),
                    verified.alg(),
                );
                Ok(verified)
            }
            Err(error) => {
                let reason = error.reason().code();
                metrics::counter!("portcullis_verify_total", "outcome" => "reject", "reason" => reason).increment(1);
                audit::rejected(error.reason(), token, self.inner.max_token_len);
                Err(error)
            }
        }
    }

    /// Checks only the JWS layer of `jws`: size cap, encoding, header policy, key selection and
    /// signature. No claim is read, so this is for JWS-signed payloads that are not access tokens
    /// (and for conformance vectors); use [`verify`](Self::verify) for access tokens.
    pub async fn verify_signature(&self, jws: &str) -> Result<Header, AuthError> {
        let (parts, header) = self.parse_header(jws).map_err(AuthError::InvalidToken)?;
        // The payload is not read, but it must still be strict base64url: otherwise two spellings
        // of one payload would both verify.
        compact::decode(parts.claims).map_err(AuthError::InvalidToken)?;
        self.check_signature(&parts, &header).await?;
        Ok(header)
    }

    async fn verify_inner<C: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Verified<C>, AuthError> {
        let (parts, header) = self.parse_header(token).map_err(AuthError::InvalidToken)?;
        // The claims are read before the key is chosen: issuer routing reads the unverified
        // `iss`, and a malformed claims segment is rejected without any crypto.
        let claims = compact::decode(parts.claims)
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| Reason::BadJson))
            .map_err(AuthError::InvalidToken)?;
        let tape = Tape::parse(&claims).map_err(AuthError::InvalidToken)?;
        let registered = Registered::read(&tape, &claims, &self.inner.required_claims)
            .map_err(AuthError::InvalidToken)?;
        self.check_signature(&parts, &header).await?;
        self.check_claims(&registered, &claims)
            .map_err(AuthError::InvalidToken)?;
        // Replayed from the tape: the claims text is parsed exactly once.
        let typed = tape
            .deserialize()
            .map_err(|_| AuthError::InvalidToken(Reason::ClaimsType))?;
        Ok(Verified::new(typed, registered, header, claims))
    }

    /// Steps 1-3: everything about the header, which needs no key.
    fn parse_header<'t>(&self, token: &'t str) -> Result<(compact::Compact<'t>, Header), Reason> {
        let policy = &*self.inner;
        let parts = compact::split(token, policy.max_token_len)?;
        let header = Header::from_json(&compact::decode(parts.header)?, policy.typ)?;
        if !policy.algorithms.contains(header.alg) {
            return Err(Reason::AlgNotAllowed);
        }
        Ok((parts, header))
    }

    /// Steps 4-5: the signature, under the configured secret (HMAC) or a key from the source.
    async fn check_signature(
        &self,
        parts: &compact::Compact<'_>,
        header: &Header,
    ) -> Result<(), AuthError> {
        let mut signature = Vec::with_capacity(parts.signature.len() * 3 / 4 + 3);
        compact::decode_into(parts.signature, &mut signature).map_err(AuthError::InvalidToken)?;
        let message = parts.signing_input.as_bytes();
        if header.alg.is_hmac() {
            // Only the configured secret, never a key set: a public key must never become an
            // HMAC secret (the RS256 -> HS256 confusion attack).
            let ok = self
                .inner
                .hmac
                .as_ref()
                .is_some_and(|k| k.verify(header.alg, message, &signature));
            return if ok {
                Ok(())
            } else {
                Err(AuthError::InvalidToken(Reason::BadSignature))
            };
        }
        let Some(source) = &self.inner.keys else {
            return Err(AuthError::InvalidToken(Reason::AlgNotAllowed));
        };
        let (kid, alg) = (header.kid.as_deref(), header.alg);
        let set = match source.current() {
            Some(set) => set,
            None => source.refresh(Refresh::Cold).await.map_err(unavailable)?,
        };
        match set.verify(kid, alg, message, &signature) {
            // One refresh at most; the source decides whether that means a fetch.
            Err(Reason::UnknownKey) => {
                let newer = source
                    .refresh(Refresh::UnknownKey { kid })
                    .await
                    .map_err(unavailable)?;
                newer.verify(kid, alg, message, &signature)
            }
            outcome => outcome,
        }
        .map_err(AuthError::InvalidToken)
    }

    /// Step 6, on claims whose types [`Registered::read`] already checked.
    fn check_claims(&self, claims: &Registered, text: &str) -> Result<(), Reason> {
        let policy = &*self.inner;
        match claims.iss.as_ref().map(|iss| iss.resolve(text)) {
            None => return Err(Reason::MissingClaim("iss")),
            Some(iss) if iss != policy.issuer => return Err(Reason::BadIssuer),
            Some(_) => {}
        }
        let auds = match claims.aud.as_ref().map(|a| a.as_slice()) {
            None | Some([]) => return Err(Reason::MissingClaim("aud")),
            Some(auds) => auds,
        };
        if !auds
            .iter()
            .any(|a| policy.audiences.iter().any(|want| a.resolve(text) == want))
        {
            return Err(Reason::BadAudience);
        }

        let now = policy.clock.now();
        match claims.exp {
            Some(exp) if now >= exp.saturating_add(policy.leeway) => return Err(Reason::Expired),
            None if policy.require_exp => return Err(Reason::MissingClaim("exp")),
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

fn unavailable(e: KeySourceError) -> AuthError {
    match e {
        KeySourceError::Unavailable { retry_after, .. } => AuthError::Unavailable {
            reason: Reason::KeysUnavailable,
            retry_after,
        },
    }
}
