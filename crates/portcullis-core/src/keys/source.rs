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
}

impl<T: KeySource + ?Sized> KeySource for Arc<T> {
    fn current(&self) -> Option<Arc<KeySet>> {
        (**self).current()
    }

    fn refresh<'a>(&'a self, why: Refresh<'a>) -> KeysFuture<'a> {
        (**self).refresh(why)
    }
}
