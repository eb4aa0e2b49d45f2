//! DPoP (RFC 9449): access tokens bound to a key the client proves it holds on every request,
//! so that a stolen token is worthless without the key.
//!
//! A DPoP request carries `Authorization: DPoP <token>` and exactly one `DPoP` header, a proof
//! JWT signed by the client's key. The [`Authenticator`](crate::authenticator::Authenticator)
//! checks, in this order, failing closed at each step:
//!
//! 1. the proof ([`proof`]): compact JWS, `typ: dpop+jwt`, an asymmetric `alg` on the
//!    [`DpopPolicy`]'s allow-list, a public `jwk` (no private members; `jku`, `x5u`, `x5c`,
//!    `crit` refused), its signature by that key, `htm` = the method, `htu` = the effective
//!    request URI after RFC 3986 normalisation ([`htu`]), `iat` within the window, `jti`
//!    present and bounded, `ath` = the access token's SHA-256;
//! 2. the access token, like a bearer token, plus `cnf.jkt` = the proof key's RFC 7638
//!    thumbprint; the verified-token cache may answer for the token, never for
//!    the proof;
//! 3. last, the replay check ([`replay`]): the proof's `(jkt, jti)` recorded in the
//!    [`ReplayStore`] or the request refused, so that no failed request burns a `jti`. A store
//!    that cannot answer is 503, never an accept.
//!
//! A token bound with `cnf` is never accepted as a bearer token (RFC 9449 §7.2).

pub mod htu;
pub mod nonce;
pub mod proof;
pub mod replay;
pub(crate) mod thumbprint;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use htu::MAX_HTU_LEN;
pub use nonce::{
    DEFAULT_NONCE_LIFETIME, DpopNonces, MAX_NONCE_LEN, MAX_NONCE_LIFETIME, MIN_NONCE_LIFETIME,
    NONCE_KEY_LEN, NonceKey,
};
pub use proof::{MAX_JTI_LEN, MAX_PROOF_LEN, PROOF_KEY_CACHE_BYTES};
pub use replay::{
    DEFAULT_REPLAY_CAPACITY, Insert, MemoryReplayStore, ReplayFuture, ReplayKey, ReplayStore,
    ReplayStoreError,
};

use crate::error::{AuthError, ConfigError, Reason};
use crate::token::{Algorithm, AlgorithmSet};
use nonce::NonceCheck;
use proof::{CheckedProof, Expected, ProofKeys};

/// How long a proof is accepted after its `iat` (60 s): RFC 9449 §11.1 asks for a short window;
/// a minute absorbs slow networks and retries, and every accepted proof occupies the replay
/// store for this long, so it also sizes the store.
pub const DEFAULT_PROOF_MAX_AGE: Duration = Duration::from_secs(60);

/// The longest window [`DpopPolicy::max_age`] accepts (300 s, express-oauth2-jwt-bearer's
/// default): past it a captured proof stays usable for minutes.
pub const MAX_PROOF_MAX_AGE: Duration = Duration::from_secs(300);

/// How far in the future a proof's `iat` may be (10 s): client clocks drift more than servers';
/// server nonces (RFC 9449 §8) remove the dependency on client clocks altogether.
pub const DEFAULT_PROOF_LEEWAY: Duration = Duration::from_secs(10);

/// The largest [`DpopPolicy::leeway`] (60 s).
pub const MAX_PROOF_LEEWAY: Duration = Duration::from_secs(60);

/// The proof algorithms accepted by default: what DPoP clients sign with (ES256 above all,
/// then EdDSA, ES384 and the RSA pair). Asymmetric only, as RFC 9449 §4.2 requires.
pub const DEFAULT_DPOP_ALGORITHMS: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::PS256,
    Algorithm::RS256,
];

/// Whether requests may, or must, prove possession of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DpopMode {
    /// The `DPoP` scheme is not recognised (a request using it has no credential). Bound
    /// tokens are still refused as Bearer.
    Disabled,
    /// Bearer and DPoP both work; a DPoP-bound token only with a valid proof.
    #[default]
    Allowed,
    /// Every token must come with a valid proof: Bearer is refused.
    Required,
}

/// The DPoP policy of an authenticator: one struct says all of it.
///
/// | option | default |
/// |---|---|
/// | [`mode`](Self::mode) | [`DpopMode::Allowed`] |
/// | [`algorithms`](Self::algorithms) | [`DEFAULT_DPOP_ALGORITHMS`] |
/// | [`max_age`](Self::max_age) | [`DEFAULT_PROOF_MAX_AGE`] (60 s, at most [`MAX_PROOF_MAX_AGE`]) |
/// | [`leeway`](Self::leeway) | [`DEFAULT_PROOF_LEEWAY`] (10 s, at most [`MAX_PROOF_LEEWAY`]) |
/// | [`replay_store`](Self::replay_store) | a [`MemoryReplayStore`] of [`DEFAULT_REPLAY_CAPACITY`] entries: one process only |
/// | [`nonces`](Self::nonces) | off ([`DpopNonces`]: stateless server nonces, RFC 9449 §8-9) |
///
/// ```
/// use std::time::Duration;
/// use portcullis_core::dpop::{DpopMode, DpopPolicy, MemoryReplayStore};
///
/// let policy = DpopPolicy::default()
///     .mode(DpopMode::Required)
///     .max_age(Duration::from_secs(30))?
///     .replay_store(MemoryReplayStore::new().with_capacity(10_000));
/// # Ok::<(), portcullis_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct DpopPolicy {
    mode: DpopMode,
    algorithms: AlgorithmSet,
    max_age: Duration,
    leeway: Duration,
    store: Arc<dyn ReplayStore>,
    nonces: Option<DpopNonces>,
    keys: ProofKeys,
}

impl fmt::Debug for DpopPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopPolicy")
            .field("mode", &self.mode)
            .field("algorithms", &self.algorithms)
            .field("max_age", &self.max_age)
            .field("leeway", &self.leeway)
            .field("store", &self.store)
            .field("nonces", &self.nonces)
            .finish()
    }
}

impl Default for DpopPolicy {
    fn default() -> Self {
        Self {
            mode: DpopMode::default(),
            algorithms: DEFAULT_DPOP_ALGORITHMS.into_iter().collect(),
            max_age: DEFAULT_PROOF_MAX_AGE,
            leeway: DEFAULT_PROOF_LEEWAY,
            store: Arc::new(MemoryReplayStore::new()),
            nonces: None,
            keys: ProofKeys::default(),
        }
    }
}

impl DpopPolicy {
    /// Disabled, allowed or required.
    pub fn mode(mut self, mode: DpopMode) -> Self {
        self.mode = mode;
        self
    }

    /// The proof algorithms accepted: not empty, asymmetric, and supported by the crypto
    /// backend.
    pub fn algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, ConfigError> {
        let set: AlgorithmSet = algorithms.into_iter().collect();
        if set.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        if let Some(alg) = set.iter().find(|a| a.is_hmac() || !a.is_supported()) {
            return Err(ConfigError::UnsupportedAlgorithm(alg.name()));
        }
        self.algorithms = set;
        Ok(self)
    }

    /// How long after its `iat` a proof is accepted: 1 s to [`MAX_PROOF_MAX_AGE`].
    pub fn max_age(mut self, max_age: Duration) -> Result<Self, ConfigError> {
        if max_age < Duration::from_secs(1) || max_age > MAX_PROOF_MAX_AGE {
            return Err(ConfigError::InvalidValue {
                name: "dpop max_age",
                why: "must be between 1 s and 300 s",
            });
        }
        self.max_age = max_age;
        Ok(self)
    }

    /// How far in the future a proof's `iat` may be: at most [`MAX_PROOF_LEEWAY`].
    pub fn leeway(mut self, leeway: Duration) -> Result<Self, ConfigError> {
        if leeway > MAX_PROOF_LEEWAY {
            return Err(ConfigError::InvalidValue {
                name: "dpop leeway",
                why: "must be at most 60 s",
            });
        }
        self.leeway = leeway;
        Ok(self)
    }

    /// Where accepted proofs are recorded. Replicas must share one, or a proof replayed to
    /// another replica is accepted there.
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Requires every proof to carry a server nonce (RFC 9449 §8-9): a proof without the
    /// current one is answered `use_dpop_nonce` with a fresh nonce in `DPoP-Nonce`. Replicas
    /// must share the nonce keys.
    pub fn nonces(mut self, nonces: DpopNonces) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// The current server nonce, when nonces are on: what `DPoP-Nonce` carries.
    pub(crate) fn current_nonce(&self, now: u64) -> Option<Arc<str>> {
        self.nonces.as_ref().and_then(|n| n.current(now))
    }

    /// The mode.
    pub fn current_mode(&self) -> DpopMode {
        self.mode
    }

    /// The accepted proof algorithms, space-separated: the challenge's `algs` (RFC 9449 §7.1).
    pub(crate) fn algs(&self) -> String {
        self.algorithms
            .iter()
            .map(Algorithm::name)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// How long a proof's record must outlive the request: a proof dated `leeway` ahead stays
    /// acceptable for `max_age + leeway`.
    pub(crate) fn replay_ttl(&self) -> Duration {
        self.max_age + self.leeway
    }

    pub(crate) fn check(
        &self,
        proof: &str,
        method: &str,
        htu: &htu::Target,
        now: u64,
    ) -> Result<CheckedProof, AuthError> {
        let mut checked = proof::check(
            proof,
            &Expected {
                method,
                htu,
                now,
                max_age: self.max_age.as_secs(),
                leeway: self.leeway.as_secs(),
                algorithms: self.algorithms,
            },
            &self.keys,
        )
        .map_err(AuthError::InvalidDpopProof)?;
        // After every other rule: a proof that is wrong anyway is told so, not sent for a nonce.
        if let Some(nonces) = &self.nonces {
            let nonce = checked
                .nonce
                .as_deref()
                .ok_or(AuthError::UseDpopNonce(Reason::DpopNonceMissing))?;
            checked.renew_nonce = nonces
                .check(nonce, now, self.leeway.as_secs())
                .map_err(AuthError::UseDpopNonce)?
                == NonceCheck::Renew;
        }
        Ok(checked)
    }

    /// The replay check, last: records the proof or refuses the request.
    pub(crate) async fn record(&self, proof: &CheckedProof) -> Result<(), AuthError> {
        let key = ReplayKey::new(&proof.jkt, &proof.jti);
        match self.store.insert_if_absent(&key, self.replay_ttl()).await {
            Ok(Insert::Fresh) => Ok(()),
            Ok(Insert::Replayed) => Err(AuthError::InvalidDpopProof(Reason::DpopReplayed)),
            Err(error) => {
                tracing::warn!(target: "portcullis::audit", event = "replay_store", error = %error, "dpop replay store failed");
                Err(AuthError::Unavailable {
                    reason: Reason::ReplayStoreUnavailable,
                    retry_after: REPLAY_STORE_RETRY_AFTER,
                })
            }
        }
    }
}

/// `Retry-After` when the replay store cannot answer (1 s): a full in-memory store frees slots
/// every second, and a networked one usually reconnects within that.
pub const REPLAY_STORE_RETRY_AFTER: Duration = Duration::from_secs(1);
