use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::jwk::{self, Jwk};
use crate::audit;
use crate::error::{ConfigError, Reason};
use crate::json;
use crate::token::Algorithm;

/// At most this many keys are read from one key set document; the rest are ignored with an audit
/// event. Real issuers publish 2 to 5; a huge set only multiplies work for `kid`-less tokens.
pub const MAX_KEYS: usize = 100;

static NEXT_VERSION: AtomicU64 = AtomicU64::new(1);

/// A parsed, validated key set (JWKS). Keys are parsed once here, never per request.
///
/// Each set gets a process-unique [`version`](KeySet::version), so anything derived from a set
/// (a verified-token cache entry, say) can tell whether its set is still current.
pub struct KeySet {
    keys: Vec<Jwk>,
    version: u64,
}

impl KeySet {
    /// Parses a JWK Set document (`{"keys": [...]}`, RFC 7517 §5).
    ///
    /// The document must be a JSON object without duplicate members whose `keys` is an array.
    /// Within it, each unusable key (wrong type, too weak, malformed) is skipped with an audit
    /// event and never drops the others. A set may end up empty; [`StaticJwks`](super::StaticJwks)
    /// refuses that at start-up.
    pub fn from_jwks_json(document: &[u8]) -> Result<Self, ConfigError> {
        let map = json::parse_object(document)
            .map_err(|r| ConfigError::InvalidKeySet(format!("not a strict JSON object ({r})")))?;
        let Some(Value::Array(entries)) = map.get("keys") else {
            return Err(ConfigError::InvalidKeySet("no \"keys\" array".into()));
        };
        if entries.len() > MAX_KEYS {
            audit::key_set_truncated(entries.len(), MAX_KEYS);
        }
        let mut keys = Vec::with_capacity(entries.len().min(MAX_KEYS));
        for entry in entries.iter().take(MAX_KEYS) {
            let Value::Object(obj) = entry else {
                audit::key_rejected(None, "not a JSON object");
                continue;
            };
            match jwk::parse(obj) {
                Ok(key) => keys.push(key),
                Err(why) => audit::key_rejected(obj.get("kid").and_then(Value::as_str), why),
            }
        }
        Ok(Self::from_keys(keys))
    }

    pub(crate) fn from_keys(keys: Vec<Jwk>) -> Self {
        Self {
            keys,
            version: NEXT_VERSION.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids of the usable keys (`None` for keys without one).
    pub fn kids(&self) -> impl Iterator<Item = Option<&str>> {
        self.keys.iter().map(|k| k.kid.as_deref())
    }

    /// Whether a usable key has this `kid`.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Process-unique id of this parse of the set.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Checks `signature` over `message` with the key the token names.
    ///
    /// With a `kid`, every key carrying it and accepting `alg` is tried (a set may legitimately
    /// reuse a kid across key types). Without one, exactly one compatible key must exist:
    /// guessing among several would let a token choose its key. `UnknownKey` means no key has
    /// the `kid` (or no compatible key exists for a kid-less token), which is the one outcome a
    /// refreshed key set can change.
    pub(crate) fn verify(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), Reason> {
        let mut candidates = 0usize;
        match kid {
            Some(kid) => {
                let mut named = false;
                for key in self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)) {
                    named = true;
                    if key.accepts(alg) {
                        candidates += 1;
                        if key.key.verify(alg, message, signature) {
                            return Ok(());
                        }
                    }
                }
                match (named, candidates) {
                    (false, _) => Err(Reason::UnknownKey),
                    (true, 0) => Err(Reason::KeyMismatch),
                    _ => Err(Reason::BadSignature),
                }
            }
            None => {
                let mut fits = self.keys.iter().filter(|k| k.accepts(alg));
                match (fits.next(), fits.next()) {
                    (None, _) => Err(Reason::UnknownKey),
                    (Some(only), None) if only.key.verify(alg, message, signature) => Ok(()),
                    (Some(_), None) => Err(Reason::BadSignature),
                    (Some(_), Some(_)) => Err(Reason::AmbiguousKey),
                }
            }
        }
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("version", &self.version)
            .field("kids", &self.kids().collect::<Vec<_>>())
            .finish()
    }
}
