//! Server nonces (RFC 9449 §8-9), stateless: a nonce is the start of the period it was minted
//! in, sealed with AES-256-GCM under a [`NonceKey`] whose one-byte id travels in clear. Every
//! replica holding the key accepts every other replica's nonces, with no shared store; during a
//! key rotation the previous key still opens nonces while the new one mints them.
//!
//! A nonce is accepted for [`DpopNonces::lifetime`] after its period began. A new period begins
//! every half lifetime, and a request whose nonce comes from an earlier period gets the current
//! one in `DPoP-Nonce` (on success too), so a client always switches with half a lifetime left.
//! A proof without a nonce, or with one that does not open or has expired, is answered 401
//! `use_dpop_nonce` with the current nonce.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::{SealingKey, fill_random};
use crate::error::{ConfigError, Reason};

/// How long a nonce is accepted after its period began (120 s): two minutes lets a client
/// switch at its leisure, and a captured proof's nonce (which a replayed proof would need) is
/// useless after that even where the replay store is not shared.
pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(120);

/// The shortest [`DpopNonces::lifetime`] (10 s): below that, clients would fetch a nonce for
/// nearly every request.
pub const MIN_NONCE_LIFETIME: Duration = Duration::from_secs(10);

/// The longest [`DpopNonces::lifetime`] (1 hour): a nonce is a freshness guarantee; past that it
/// guarantees little.
pub const MAX_NONCE_LIFETIME: Duration = Duration::from_secs(3600);

/// The longest nonce read (128 bytes): a portcullis nonce is 50 characters; anything much longer
/// is not one, and is refused before decoding.
pub const MAX_NONCE_LEN: usize = 128;

/// The secret length of a [`NonceKey`] (32 bytes, an AES-256 key).
pub const NONCE_KEY_LEN: usize = 32;

/// What binds the sealed bytes to their purpose: a nonce cannot be opened as anything else.
const AAD_CONTEXT: &[u8] = b"portcullis dpop nonce v1";

/// One nonce key: an id (so a replica knows which key opens a nonce) and a 32-byte secret.
/// `Debug` shows the id only.
#[derive(Clone)]
pub struct NonceKey {
    id: u8,
    key: Arc<SealingKey>,
}

impl fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl NonceKey {
    /// A key from its id and [`NONCE_KEY_LEN`] secret bytes (the same on every replica).
    pub fn new(id: u8, secret: &[u8]) -> Result<Self, ConfigError> {
        let secret: &[u8; NONCE_KEY_LEN] =
            secret.try_into().map_err(|_| ConfigError::InvalidValue {
                name: "dpop nonce key",
                why: "must be exactly 32 bytes",
            })?;
        let key = SealingKey::new(secret).ok_or(ConfigError::InvalidValue {
            name: "dpop nonce key",
            why: "the crypto backend refused it",
        })?;
        Ok(Self {
            id,
            key: Arc::new(key),
        })
    }

    /// A key from its id and its secret in base64url (padding optional), as kept in a secret
    /// store or an environment variable.
    pub fn from_base64url(id: u8, secret: &str) -> Result<Self, ConfigError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(secret.trim().trim_end_matches('='))
            .map_err(|_| ConfigError::InvalidValue {
                name: "dpop nonce key",
                why: "must be base64url",
            })?;
        Self::new(id, &bytes)
    }

    /// A random key: for a single replica (replicas that do not share a key reject each
    /// other's nonces, which costs clients a retry, not security).
    pub fn generate(id: u8) -> Result<Self, ConfigError> {
        let mut secret = [0; NONCE_KEY_LEN];
        fill_random(&mut secret).ok_or(ConfigError::InvalidValue {
            name: "dpop nonce key",
            why: "the system has no randomness",
        })?;
        Self::new(id, &secret)
    }

    fn aad(&self) -> [u8; AAD_CONTEXT.len() + 1] {
        let mut aad = [0; AAD_CONTEXT.len() + 1];
        let (context, id) = aad.split_at_mut(AAD_CONTEXT.len());
        context.copy_from_slice(AAD_CONTEXT);
        id.fill(self.id);
        aad
    }
}

/// Server nonces: the key that mints them, the keys that still open them, and their lifetime.
///
/// ```
/// use std::time::Duration;
/// use portcullis_core::dpop::{DpopNonces, DpopPolicy, NonceKey};
///
/// let current = NonceKey::from_base64url(2, "53GTv5gCbzuZ07-pfTMEbkF_feSitDjCPYZqWI36Uos")?;
/// let previous = NonceKey::from_base64url(1, "rgjcVsljtuH_zCNDzLMETH0YyPCQHzTVSwO--V8Fa_s")?;
/// let nonces = DpopNonces::new(current)
///     .also_accept(previous)?
///     .lifetime(Duration::from_secs(300))?;
/// let policy = DpopPolicy::default().nonces(nonces);
/// # Ok::<(), portcullis_core::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct DpopNonces {
    minting: NonceKey,
    accepted: Vec<NonceKey>,
    lifetime: Duration,
    current: Arc<RwLock<Option<Minted>>>,
}

/// The nonce minted for a period, by the period's start.
type Minted = (u64, Arc<str>);

/// What a presented nonce is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceCheck {
    /// From the current period.
    Current,
    /// Valid, from an earlier period: the response carries the current one.
    Renew,
}

impl DpopNonces {
    /// Nonces minted and opened with `key`, accepted for [`DEFAULT_NONCE_LIFETIME`].
    pub fn new(key: NonceKey) -> Self {
        Self {
            minting: key,
            accepted: Vec::new(),
            lifetime: DEFAULT_NONCE_LIFETIME,
            current: Arc::new(RwLock::new(None)),
        }
    }

    /// Another key whose nonces are still accepted (the previous key during a rotation). Ids
    /// must differ.
    pub fn also_accept(mut self, key: NonceKey) -> Result<Self, ConfigError> {
        if key.id == self.minting.id || self.accepted.iter().any(|k| k.id == key.id) {
            return Err(ConfigError::InvalidValue {
                name: "dpop nonce key",
                why: "key ids must be distinct",
            });
        }
        self.accepted.push(key);
        Ok(self)
    }

    /// How long a nonce is accepted: [`MIN_NONCE_LIFETIME`] to [`MAX_NONCE_LIFETIME`].
    pub fn lifetime(mut self, lifetime: Duration) -> Result<Self, ConfigError> {
        if !(MIN_NONCE_LIFETIME..=MAX_NONCE_LIFETIME).contains(&lifetime) {
            return Err(ConfigError::InvalidValue {
                name: "dpop nonce lifetime",
                why: "must be between 10 s and 1 hour",
            });
        }
        self.lifetime = lifetime;
        self.current = Arc::new(RwLock::new(None));
        Ok(self)
    }

    /// A new period begins every half lifetime.
    fn period(&self) -> u64 {
        (self.lifetime.as_secs() / 2).max(1)
    }

    fn period_start(&self, now: u64) -> u64 {
        now - now % self.period()
    }

    /// The nonce of the current period, minted once per period and replica.
    pub(crate) fn current(&self, now: u64) -> Option<Arc<str>> {
        let start = self.period_start(now);
        if let Ok(guard) = self.current.read()
            && let Some((minted, nonce)) = guard.as_ref()
            && *minted == start
        {
            return Some(Arc::clone(nonce));
        }
        let nonce: Arc<str> = self.mint(start)?.into();
        if let Ok(mut guard) = self.current.write() {
            *guard = Some((start, Arc::clone(&nonce)));
        }
        Some(nonce)
    }

    fn mint(&self, start: u64) -> Option<String> {
        let key = &self.minting;
        let sealed = key.key.seal(&key.aad(), &start.to_be_bytes())?;
        let mut bytes = Vec::with_capacity(1 + sealed.len());
        bytes.push(key.id);
        bytes.extend_from_slice(&sealed);
        Some(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Checks a proof's `nonce` claim at `now`; `skew` is how far ahead of this replica's clock
    /// another replica's may run.
    pub(crate) fn check(&self, nonce: &str, now: u64, skew: u64) -> Result<NonceCheck, Reason> {
        if nonce.len() > MAX_NONCE_LEN {
            return Err(Reason::DpopNonceInvalid);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| Reason::DpopNonceInvalid)?;
        let (id, sealed) = bytes.split_first().ok_or(Reason::DpopNonceInvalid)?;
        let key = std::iter::once(&self.minting)
            .chain(&self.accepted)
            .find(|k| k.id == *id)
            .ok_or(Reason::DpopNonceInvalid)?;
        let plain = key
            .key
            .open(&key.aad(), sealed)
            .ok_or(Reason::DpopNonceInvalid)?;
        let start = <[u8; 8]>::try_from(plain.as_slice())
            .map(u64::from_be_bytes)
            .map_err(|_| Reason::DpopNonceInvalid)?;
        if start > now.saturating_add(skew) {
            return Err(Reason::DpopNonceInvalid);
        }
        if now.saturating_sub(start) > self.lifetime.as_secs() {
            return Err(Reason::DpopNonceExpired);
        }
        if start >= self.period_start(now) && *id == self.minting.id {
            Ok(NonceCheck::Current)
        } else {
            Ok(NonceCheck::Renew)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u8, byte: u8) -> NonceKey {
        NonceKey::new(id, &[byte; 32]).unwrap()
    }

    #[test]
    fn a_nonce_is_current_in_its_period_then_renewed_then_expired() {
        let nonces = DpopNonces::new(key(1, 7));
        let now = 1_000_020;
        let nonce = nonces.current(now).unwrap();
        assert_eq!(nonces.check(&nonce, now, 5), Ok(NonceCheck::Current));
        assert_eq!(
            nonces.current(now + 1).unwrap(),
            nonce,
            "one nonce per period"
        );
        // Next period (60 s): still valid, but the response carries the new one.
        assert_eq!(nonces.check(&nonce, now + 60, 5), Ok(NonceCheck::Renew));
        assert_ne!(nonces.current(now + 60).unwrap(), nonce);
        let start = now - now % 60;
        assert_eq!(nonces.check(&nonce, start + 120, 5), Ok(NonceCheck::Renew));
        assert_eq!(
            nonces.check(&nonce, start + 121, 5),
            Err(Reason::DpopNonceExpired)
        );
    }

    #[test]
    fn replicas_sharing_a_key_accept_each_others_nonces() {
        let a = DpopNonces::new(key(1, 7));
        let b = DpopNonces::new(key(1, 7));
        let now = 5_000_000;
        assert_eq!(
            b.check(&a.current(now).unwrap(), now, 5),
            Ok(NonceCheck::Current)
        );
        let other = DpopNonces::new(key(1, 8));
        assert_eq!(
            other.check(&a.current(now).unwrap(), now, 5),
            Err(Reason::DpopNonceInvalid)
        );
    }

    #[test]
    fn the_previous_key_opens_during_a_rotation_and_asks_for_renewal() {
        let old = DpopNonces::new(key(1, 7));
        let rotated = DpopNonces::new(key(2, 9)).also_accept(key(1, 7)).unwrap();
        let now = 5_000_000;
        let nonce = old.current(now).unwrap();
        assert_eq!(rotated.check(&nonce, now, 5), Ok(NonceCheck::Renew));
        assert!(DpopNonces::new(key(2, 9)).also_accept(key(2, 1)).is_err());
    }

    #[test]
    fn forged_altered_and_future_nonces_are_invalid() {
        let nonces = DpopNonces::new(key(1, 7));
        let now = 5_000_000;
        let nonce = nonces.current(now).unwrap().to_string();
        for bad in ["", "!!!", "AQ", &"A".repeat(MAX_NONCE_LEN + 1)] {
            assert_eq!(
                nonces.check(bad, now, 5),
                Err(Reason::DpopNonceInvalid),
                "{bad}"
            );
        }
        let mut bytes = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(
            nonces.check(&altered, now, 5),
            Err(Reason::DpopNonceInvalid)
        );
        // Minted by a replica whose clock runs 60 s ahead: not yet valid here.
        let ahead = nonces.mint(now + 60).unwrap();
        assert_eq!(nonces.check(&ahead, now, 5), Err(Reason::DpopNonceInvalid));
        assert_eq!(nonce.len(), 50);
    }

    #[test]
    fn bounds_and_key_sizes() {
        assert!(NonceKey::new(1, &[0; 31]).is_err());
        assert!(NonceKey::from_base64url(1, "not base64!").is_err());
        assert!(NonceKey::generate(1).is_ok());
        let nonces = DpopNonces::new(key(1, 7));
        assert!(nonces.clone().lifetime(Duration::from_secs(9)).is_err());
        assert!(nonces.clone().lifetime(Duration::from_secs(3601)).is_err());
        assert!(nonces.lifetime(Duration::from_secs(10)).is_ok());
    }
}
