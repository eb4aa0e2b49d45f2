use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::KeySet;
use crate::error::KeySourceError;

/// The future a [`KeySource`] returns when it has to do work (fetch, wait for a fetch).
pub type KeysFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<KeySet>, KeySourceError>> + Send + 'a>>;

/// Why the verifier asks a [`KeySource`] for a newer set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refresh<'a> {
    /// [`KeySource::current`] had nothing usable.
    Cold,
    /// The current set has no key for this token's `kid` (or, without a kid, no compatible key).
    /// A source should rate-limit these: every attacker controls the `kid` they send.
    UnknownKey {
        /// The token's `kid`, if it had one.
        kid: Option<&'a str>,
    },
}

/// Where a verifier's keys come from.
///
/// The split keeps the request path cheap: [`current`](KeySource::current) is synchronous and must
/// never wait on I/O or a lock held across I/O; only [`refresh`](KeySource::refresh), called when
/// the current set cannot answer, may fetch.
pub trait KeySource: Send + Sync + fmt::Debug + 'static {
    /// The key set to use right now, if one is usable.
    fn current(&self) -> Option<Arc<KeySet>>;

    /// A set that may answer what `current` could not. Returning the same set is a valid answer
    /// (a static source, or a rate-limited remote one); an error means no usable keys (503).
    fn refresh<'a>(&'a self, why: Refresh<'a>) -> KeysFuture<'a>;

    /// What the source holds, for a health endpoint. The default describes [`current`](Self::current).
    fn health(&self) -> KeySourceHealth {
        let set = self.current();
        KeySourceHealth {
            source: "static".into(),
            keys: set.as_ref().map_or(0, |s| s.len()),
            kids: set
                .as_ref()
                .map(|s| s.kids().map(|k| k.unwrap_or_default().to_owned()).collect())
                .unwrap_or_default(),
            age_secs: None,
            last_fetch_unix: None,
            last_error: None,
            fresh: set.is_some(),
            serving_stale: false,
            usable: set.is_some(),
        }
    }
}

/// A key source's state, serializable for a `/health` endpoint. Contains no key material.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct KeySourceHealth {
    /// Where the keys come from (a URL, `discovery: <issuer>`, or `static`).
    pub source: String,
    /// Number of usable keys.
    pub keys: usize,
    /// Their key ids (empty for keys without one).
    pub kids: Vec<String>,
    /// Seconds since the last successful fetch.
    pub age_secs: Option<u64>,
    /// Unix time of the last successful fetch.
    pub last_fetch_unix: Option<u64>,
    /// Why the last fetch failed, if it did.
    pub last_error: Option<String>,
    /// Whether the set is within its freshness lifetime.
    pub fresh: bool,
    /// Whether an expired set is being served because fetches fail.
    pub serving_stale: bool,
    /// Whether verification can use the set at all (fresh or stale within its bound).
    pub usable: bool,
}

impl<T: KeySource + ?Sized> KeySource for Arc<T> {
    fn current(&self) -> Option<Arc<KeySet>> {
        (**self).current()
    }

    fn refresh<'a>(&'a self, why: Refresh<'a>) -> KeysFuture<'a> {
        (**self).refresh(why)
    }

    fn health(&self) -> KeySourceHealth {
        (**self).health()
    }
}
