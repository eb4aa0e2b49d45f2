use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::jwk::{self, Jwk};
use crate::audit;
use crate::error::{ConfigError, Reason};
use crate::token::{Algorithm, json};

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

/// The outcome of key selection for one token.
pub(crate) enum Selection<'a> {
    /// Keys that may verify the token (almost always one).
    Candidates(Vec<&'a Jwk>),
    /// No key has the token's `kid`, or no compatible key exists for a `kid`-less token.
    Unknown,
    /// The `kid` exists but no key with it accepts the token's `alg`.
    Mismatch,
    /// No `kid`, and more than one compatible key.
    Ambiguous,
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

    /// Picks the keys that may verify a token with this `kid` and `alg`.
    ///
    /// With a `kid`, every key carrying it and accepting `alg` is a candidate (a set may
    /// legitimately reuse a kid across key types). Without one, exactly one compatible key must
    /// exist: guessing among several would let a token choose its key.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Selection<'_> {
        match kid {
            Some(kid) => {
                let mut named = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .peekable();
                if named.peek().is_none() {
                    return Selection::Unknown;
                }
                let fits: Vec<&Jwk> = named.filter(|k| k.accepts(alg)).collect();
                if fits.is_empty() {
                    Selection::Mismatch
                } else {
                    Selection::Candidates(fits)
                }
            }
            None => {
                let mut fits = self.keys.iter().filter(|k| k.accepts(alg));
                match (fits.next(), fits.next()) {
                    (None, _) => Selection::Unknown,
                    (Some(only), None) => Selection::Candidates(vec![only]),
                    (Some(_), Some(_)) => Selection::Ambiguous,
                }
            }
        }
    }

    pub(crate) fn selection_error(selection: &Selection<'_>) -> Option<Reason> {
        match selection {
            Selection::Candidates(_) => None,
            Selection::Unknown => Some(Reason::UnknownKey),
            Selection::Mismatch => Some(Reason::KeyMismatch),
            Selection::Ambiguous => Some(Reason::AmbiguousKey),
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
