//! [`RevocationStore`]: where a fleet keeps its revocations, and how each replica hears of new
//! ones. The mirror ([`Revocations`](super::Revocations)) drives it; a store only stores and
//! announces.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

use super::Revocation;

/// Why a revocation was not recorded, or a store did not answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The revocation breaks a bound (empty or overlong issuer or value), or a store held text
    /// that is not a revocation: fix the input, do not retry.
    #[error("invalid revocation: {0}")]
    Invalid(&'static str),
    /// The mirror holds its capacity of live revocations; an eviction would forget one that is
    /// still in force. Retry once some expire, or raise the capacity.
    #[error("revocation list full ({0} live entries)")]
    Full(usize),
    /// The store is unreachable or failed: the revocation holds on this replica only. Retry.
    #[error("revocation store unavailable: {0}")]
    Unavailable(String),
}

/// The future every [`RevocationStore`] method returns.
pub type RevocationFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, RevocationError>> + Send + 'a>>;

/// Every live revocation a store holds, and the version of the set they form.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RevocationSnapshot {
    /// The store's version when the set was read (see [`RevocationStore::version`]).
    pub version: String,
    /// The revocations, each with its expiry.
    pub revocations: Vec<Revocation>,
}

impl RevocationSnapshot {
    /// A snapshot of `revocations` at `version`.
    pub fn new(version: String, revocations: Vec<Revocation>) -> Self {
        Self {
            version,
            revocations,
        }
    }
}

/// Where a store delivers the revocations it announces. Dropping it tells the mirror the
/// subscription ended, so it subscribes again and reloads what it may have missed.
#[derive(Debug, Clone)]
pub struct RevocationSink(pub(crate) mpsc::Sender<Revocation>);

impl RevocationSink {
    /// Delivers one announced revocation (with its expiry); `false` once the mirror is gone,
    /// and the subscription should end.
    pub async fn deliver(&self, revocation: Revocation) -> bool {
        self.0.send(revocation).await.is_ok()
    }

    /// Whether the mirror is gone.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// A fleet's shared set of revocations (Redis in `portcullis-redis`).
///
/// Every method answers within the store's own timeout: an unreachable store is an error,
/// never a hang, since the mirror's freshness depends on hearing back.
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// Adds `revocation` (its expiry set) to the set, or moves its expiry later if it is there,
    /// changes the version and announces it to every subscriber, in one atomic step.
    fn publish<'a>(&'a self, revocation: &'a Revocation) -> RevocationFuture<'a, ()>;

    /// The set's version: any change to the set changes it, and a store that lost its data
    /// reports a version it never reported before. Cheap, so the mirror asks on every resync.
    fn version(&self) -> RevocationFuture<'_, String>;

    /// Every live revocation and the version they form, read together.
    fn load(&self) -> RevocationFuture<'_, RevocationSnapshot>;

    /// Subscribes to announcements, delivering each to `sink` until the connection is lost or
    /// the sink closes, then dropping it. Resolves once the subscription is in place, so
    /// nothing published after it resolves is missed.
    fn subscribe(&self, sink: RevocationSink) -> RevocationFuture<'_, ()>;
}
