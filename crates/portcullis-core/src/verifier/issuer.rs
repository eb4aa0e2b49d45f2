//! Trusted issuers: each with its own audiences, algorithms and keys, chosen by the token's
//! (unverified) `iss` from an allow-list, or by an [`IssuerResolver`] for multi-tenant setups.
//!
//! An `iss` that is not on the list is rejected before anything else happens: no key source is
//! built and nothing is fetched for it, so a token cannot make the verifier contact a URL of its
//! choosing (SSRF).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use foldhash::fast::RandomState;
use secrecy::{ExposeSecret, SecretBox};

use crate::crypto::HmacKey;
use crate::dpop::DpopMode;
use crate::error::ConfigError;
use crate::keys::KeySource;
use crate::token::{Algorithm, AlgorithmSet};

/// How many resolved issuers a verifier keeps (auth0's multi-custom-domain SDK uses 100).
pub const RESOLVED_ISSUERS: u64 = 100;

/// One issuer a verifier trusts, and what it trusts it for.
///
/// | option | default |
/// |---|---|
/// | [`audience`](Self::audience) | none: **required** |
/// | [`algorithms`](Self::algorithms) | the asymmetric default (plus a shared secret's HMAC algorithm) |
/// | [`key_source`](Self::key_source) | none: required unless only a shared secret is used |
/// | [`dpop`](Self::dpop) | none: the authenticator's [`DpopPolicy`](crate::dpop::DpopPolicy) mode |
pub struct TrustedIssuer {
    pub(super) issuer: String,
    audiences: Vec<String>,
    algorithms: Option<AlgorithmSet>,
    keys: Option<Arc<dyn KeySource>>,
    hmac: Option<(Algorithm, SecretBox<[u8]>)>,
    dpop: Option<DpopMode>,
}

impl fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedIssuer")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .field("keys", &self.keys)
            .field("dpop", &self.dpop)
            .field(
                "hmac",
                &self.hmac.as_ref().map(|(alg, _)| (alg, "<redacted>")),
            )
            .finish()
    }
}

impl TrustedIssuer {
    /// An issuer: `iss` must equal it exactly (no normalisation, no trailing-slash tolerance).
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: Vec::new(),
            algorithms: None,
            keys: None,
            hmac: None,
            dpop: None,
        }
    }

    /// Whether this issuer's tokens must, may or must not come with a DPoP proof, whatever the
    /// authenticator's default: `Required` refuses them as Bearer (`dpop_required`), `Disabled`
    /// refuses them with a proof (`dpop_not_allowed`). Where the authenticator's own mode is
    /// `Disabled`, the DPoP scheme is not recognised at all.
    pub fn dpop(mut self, mode: DpopMode) -> Self {
        self.dpop = Some(mode);
        self
    }

    /// Adds an accepted audience: `aud` must contain at least one of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Replaces the algorithm allow-list for this issuer.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Where this issuer's keys come from.
    pub fn key_source(mut self, source: impl KeySource) -> Self {
        self.keys = Some(Arc::new(source));
        self
    }

    /// Accepts HMAC tokens signed with this secret, for `alg` only (RFC 7518 §3.2 minimum
    /// lengths apply). It is the only way an HMAC key exists: never from a key set.
    pub fn shared_secret(mut self, alg: Algorithm, secret: SecretBox<[u8]>) -> Self {
        self.hmac = Some((alg, secret));
        self
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Checks this issuer's configuration: what `build()` refuses for one issuer.
    pub(crate) fn compile(self) -> Result<IssuerPolicy, ConfigError> {
        if self.issuer.is_empty() {
            return Err(ConfigError::MissingIssuer);
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::MissingAudience);
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
        if algorithms.iter().any(|a| !a.is_hmac()) && self.keys.is_none() {
            return Err(ConfigError::MissingKeySource);
        }
        Ok(IssuerPolicy {
            id: NEXT_POLICY_ID.fetch_add(1, Ordering::Relaxed),
            issuer: self.issuer,
            audiences: self.audiences,
            algorithms,
            keys: self.keys,
            hmac,
            dpop: self.dpop,
        })
    }
}

static NEXT_POLICY_ID: AtomicU64 = AtomicU64::new(1);

/// A checked [`TrustedIssuer`].
#[derive(Debug)]
pub(crate) struct IssuerPolicy {
    /// Process-unique: a verified-token cache entry made under another configuration of the
    /// same issuer (a resolver's later answer) is not reused.
    pub(crate) id: u64,
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: AlgorithmSet,
    pub(crate) keys: Option<Arc<dyn KeySource>>,
    pub(crate) hmac: Option<HmacKey>,
    /// The issuer's own DPoP mode, if it has one.
    pub(crate) dpop: Option<DpopMode>,
}

/// The future an [`IssuerResolver`] returns.
pub type ResolveFuture<'a> = Pin<Box<dyn Future<Output = Option<TrustedIssuer>> + Send + 'a>>;

/// Decides, for an `iss` that is not configured statically, whether it is trusted and how.
///
/// Called at most once per issuer while it stays among the [`RESOLVED_ISSUERS`] most recently
/// used (concurrent requests for a new issuer share one call). Untrusted answers are not cached,
/// so `resolve` must decide cheaply and **before** any I/O derived from `issuer`: match it
/// against your tenant pattern or table first; only then build its key source.
pub trait IssuerResolver: Send + Sync + fmt::Debug + 'static {
    /// `Some` to trust `issuer` with this configuration, `None` to reject its tokens.
    fn resolve<'a>(&'a self, issuer: &'a str) -> ResolveFuture<'a>;
}

/// A resolver and the issuers it has resolved (bounded; least recently used leave first).
type Resolved = (
    Arc<dyn IssuerResolver>,
    moka::future::Cache<String, Arc<IssuerPolicy>>,
);

/// The issuers of one verifier.
pub(crate) struct Issuers {
    /// Seeded foldhash: looked up on every request with the token's own `iss`, and only ever
    /// filled from configuration, so there is nothing for a hostile key to flood.
    fixed: HashMap<String, Arc<IssuerPolicy>, RandomState>,
    resolver: Option<Resolved>,
}

impl fmt::Debug for Issuers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuers")
            .field("fixed", &self.fixed.keys().collect::<Vec<_>>())
            .field("resolver", &self.resolver.as_ref().map(|(r, _)| r))
            .finish()
    }
}

impl Issuers {
    /// `opaque_only`: opaque tokens are accepted, so a verifier without any JWT issuer is valid.
    pub(crate) fn new(
        fixed: Vec<IssuerPolicy>,
        resolver: Option<Arc<dyn IssuerResolver>>,
        opaque_only: bool,
    ) -> Result<Self, ConfigError> {
        let mut map = HashMap::with_capacity_and_hasher(fixed.len(), RandomState::default());
        for policy in fixed {
            let name = policy.issuer.clone();
            if map.insert(name, Arc::new(policy)).is_some() {
                return Err(ConfigError::InvalidValue {
                    name: "issuer",
                    why: "configured twice",
                });
            }
        }
        if map.is_empty() && resolver.is_none() && !opaque_only {
            return Err(ConfigError::MissingIssuer);
        }
        Ok(Self {
            fixed: map,
            // Plain LRU, not moka's default TinyLFU admission: with more active tenants than
            // slots, TinyLFU could refuse a new tenant again and again, re-resolving (and
            // cold-fetching its keys) on every request.
            resolver: resolver.map(|r| {
                let cache = moka::future::Cache::builder()
                    .max_capacity(RESOLVED_ISSUERS)
                    .eviction_policy(moka::policy::EvictionPolicy::lru())
                    .build();
                (r, cache)
            }),
        })
    }

    /// The only issuer, when there is exactly one and no resolver.
    pub(crate) fn only(&self) -> Option<&Arc<IssuerPolicy>> {
        match (self.fixed.len(), &self.resolver) {
            (1, None) => self.fixed.values().next(),
            _ => None,
        }
    }

    /// The statically configured issuers.
    pub(crate) fn names(&self) -> Vec<String> {
        self.fixed.keys().cloned().collect()
    }

    /// Key-source health of the statically configured issuers.
    pub(crate) fn health(&self) -> Vec<(String, crate::keys::KeySourceHealth)> {
        let mut out: Vec<_> = self
            .fixed
            .values()
            .filter_map(|p| p.keys.as_ref().map(|k| (p.issuer.clone(), k.health())))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The policy for `iss`, or `None` when it is not trusted.
    pub(crate) async fn route(&self, iss: &str) -> Option<Arc<IssuerPolicy>> {
        if let Some(policy) = self.fixed.get(iss) {
            return Some(Arc::clone(policy));
        }
        // Boxed: inline, the resolver's future (about 1.5 KB, most of it moka's) would sit in
        // every request's future, and be copied with it, also for fixed issuers.
        Box::pin(self.resolve(iss)).await
    }

    /// `iss` through the resolver and its cache, when there is a resolver.
    async fn resolve(&self, iss: &str) -> Option<Arc<IssuerPolicy>> {
        let (resolver, cache) = self.resolver.as_ref()?;
        cache
            .optionally_get_with(iss.to_owned(), async {
                let trusted = resolver.resolve(iss).await?;
                // The resolver's answer must be for the issuer it was asked about.
                if trusted.issuer() != iss {
                    crate::audit::issuer_rejected(iss, "the resolver answered for another issuer");
                    return None;
                }
                match trusted.compile() {
                    Ok(policy) => Some(Arc::new(policy)),
                    Err(e) => {
                        crate::audit::issuer_rejected(iss, &e.to_string());
                        None
                    }
                }
            })
            .await
    }
}
