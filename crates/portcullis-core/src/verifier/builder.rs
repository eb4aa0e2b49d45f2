use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretBox};

use super::{Policy, Verifier};
use crate::clock::{Clock, SystemClock};
use crate::crypto::HmacKey;
use crate::error::ConfigError;
use crate::keys::KeySource;
use crate::token::{Algorithm, AlgorithmSet, TypPolicy};

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
pub struct VerifierBuilder {
    issuer: Option<String>,
    audiences: Vec<String>,
    algorithms: Option<AlgorithmSet>,
    typ: TypPolicy,
    leeway: Duration,
    max_token_len: usize,
    require_exp: bool,
    required_claims: Vec<&'static str>,
    clock: Arc<dyn Clock>,
    keys: Option<Arc<dyn KeySource>>,
    hmac: Option<(Algorithm, SecretBox<[u8]>)>,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        Self {
            issuer: None,
            audiences: Vec::new(),
            algorithms: None,
            typ: TypPolicy::default(),
            leeway: DEFAULT_LEEWAY,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            require_exp: true,
            required_claims: Vec::new(),
            clock: Arc::new(SystemClock),
            keys: None,
            hmac: None,
        }
    }
}

impl std::fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .field(
                "hmac",
                &self.hmac.as_ref().map(|(alg, _)| (alg, "<redacted>")),
            )
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// The issuer: `iss` must equal it exactly (no normalisation, no trailing-slash tolerance).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Adds an accepted audience: `aud` must contain at least one of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Replaces the algorithm allow-list. An HMAC algorithm here also needs
    /// [`shared_secret`](Self::shared_secret).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
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
        self.keys = Some(Arc::new(source));
        self
    }

    /// Accepts HMAC tokens signed with this shared secret, for `alg` only, and adds `alg` to the
    /// allow-list. The secret must be at least as long as the hash output (RFC 7518 §3.2). It is
    /// the only way an HMAC key exists: never from a key set.
    pub fn shared_secret(mut self, alg: Algorithm, secret: SecretBox<[u8]>) -> Self {
        self.hmac = Some((alg, secret));
        self
    }

    /// Accepts tokens without `exp`. Such a token is valid until its key is retired.
    pub fn dangerous_allow_missing_exp(mut self) -> Self {
        self.require_exp = false;
        self
    }

    /// Checks the configuration and builds the verifier.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        let issuer = self
            .issuer
            .filter(|i| !i.is_empty())
            .ok_or(ConfigError::MissingIssuer)?;
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::MissingAudience);
        }
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
        // With only a shared secret (no key source), the secret's algorithm is the whole
        // allow-list; with both, the asymmetric default plus the secret's algorithm.
        let mut algorithms = match (self.algorithms, &self.hmac, &self.keys) {
            (Some(set), _, _) => set,
            (None, Some(_), None) => AlgorithmSet::EMPTY,
            (None, _, _) => AlgorithmSet::asymmetric_default(),
        };
        if let Some(unsupported) = algorithms.iter().find(|a| !a.is_supported()) {
            return Err(ConfigError::UnsupportedAlgorithm(unsupported.name()));
        }
        let hmac = match self.hmac {
            Some((alg, secret)) => {
                let min = match alg {
                    Algorithm::HS256 => 32,
                    Algorithm::HS384 => 48,
                    Algorithm::HS512 => 64,
                    _ => return Err(ConfigError::HmacWithoutSecret),
                };
                if secret.expose_secret().len() < min {
                    return Err(ConfigError::SecretTooShort {
                        alg: alg.name(),
                        min,
                    });
                }
                algorithms.insert(alg);
                Some(
                    HmacKey::new(alg, secret.expose_secret())
                        .ok_or(ConfigError::HmacWithoutSecret)?,
                )
            }
            None => None,
        };
        if algorithms
            .iter()
            .any(|a| a.is_hmac() && hmac.as_ref().is_none_or(|k| k.algorithm() != a))
        {
            return Err(ConfigError::HmacWithoutSecret);
        }
        if algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        let has_asymmetric = algorithms.iter().any(|a| !a.is_hmac());
        if has_asymmetric && self.keys.is_none() {
            return Err(ConfigError::MissingKeySource);
        }
        Ok(Verifier {
            inner: Arc::new(Policy {
                issuer,
                audiences: self.audiences,
                algorithms,
                typ: self.typ,
                leeway: self.leeway.as_secs(),
                max_token_len: self.max_token_len,
                require_exp: self.require_exp,
                required_claims: self.required_claims,
                clock: self.clock,
                keys: self.keys,
                hmac,
            }),
        })
    }
}
