//! [`ReplayStore`]: where the `jti` of every accepted DPoP proof is recorded for as long as the
//! proof could be presented again, so that a captured request cannot be replayed.
//!
//! One atomic insert-if-absent per proof: a check-then-set in two steps lets two replicas (or
//! two tasks) both see "absent" and both accept. [`MemoryReplayStore`] serves one process; a
//! fleet shares a networked store (Redis `SET key 1 NX PX ttl`) through the same trait.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::crypto::sha256;

/// Entries the in-memory store holds before it refuses new proofs (100 000): about 10 MB, room
/// for 1 400 DPoP requests per second sustained, each entry kept for the default 60 s window
/// plus 10 s leeway.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// The name of one proof in a store: SHA-256 over the proof key's thumbprint and the proof's
/// `jti`. Fixed-size, so a client cannot inflate entries or choose the characters of a store
/// key; scoped by key, so two clients' `jti`s never collide.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplayKey([u8; 32]);

impl ReplayKey {
    /// The key of the proof with this `jti` by the key of this RFC 7638 thumbprint.
    pub fn new(jkt: &str, jti: &str) -> Self {
        // Length-prefixed, so no (jkt, jti) pair can spell another.
        let mut input = Vec::with_capacity(8 + jkt.len() + jti.len());
        input.extend_from_slice(&(jkt.len() as u64).to_be_bytes());
        input.extend_from_slice(jkt.as_bytes());
        input.extend_from_slice(jti.as_bytes());
        Self(sha256(&input))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayKey(")?;
        for b in self.0.get(..4).unwrap_or_default() {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

/// What an insert found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Insert {
    /// The key was absent and is now recorded: the proof is fresh.
    Fresh,
    /// The key was already recorded and not expired: a replay.
    Replayed,
}

/// The store could not answer: the request is refused with 503, never accepted and never
/// blamed on the client.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayStoreError {
    /// Every slot holds a live entry; evicting one would reopen its replay window.
    #[error("replay store full ({0} live entries)")]
    Full(usize),
    /// The store is unreachable or failed.
    #[error("replay store unavailable: {0}")]
    Unavailable(String),
}

/// The future [`ReplayStore::insert_if_absent`] returns.
pub type ReplayFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Insert, ReplayStoreError>> + Send + 'a>>;

/// Records proofs so each is accepted once.
pub trait ReplayStore: Send + Sync + fmt::Debug + 'static {
    /// Records `key` for `ttl` unless a live record exists, in one atomic step.
    fn insert_if_absent<'a>(&'a self, key: &'a ReplayKey, ttl: Duration) -> ReplayFuture<'a>;
}

/// A bounded in-process [`ReplayStore`]: right for one instance; replicas behind a load balancer
/// need a shared store, or a proof replayed to another replica is accepted there.
///
/// When all [`capacity`](Self::with_capacity) slots hold live entries it answers
/// [`ReplayStoreError::Full`] (503) instead of evicting one: an eviction would let that proof be
/// replayed, so a flood of DPoP requests costs availability, never replay protection.
#[derive(Clone)]
pub struct MemoryReplayStore {
    inner: Arc<Mutex<Entries>>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct Entries {
    /// Each live key and the second it expires.
    live: HashMap<ReplayKey, u64>,
    /// Keys in insertion order with their expiry: with one TTL per configuration, also expiry
    /// order, so expired entries leave from the front without a scan.
    order: VecDeque<(u64, ReplayKey)>,
}

impl fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryReplayStore {
    /// A store of [`DEFAULT_REPLAY_CAPACITY`] entries on the system clock.
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
            capacity: DEFAULT_REPLAY_CAPACITY,
            clock: Arc::new(SystemClock),
        }
    }

    /// At most `capacity` live entries (at least 1).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The clock entries expire by (tests move it).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Live entries now.
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        self.entries().live.values().filter(|e| **e > now).count()
    }

    /// Whether no entry is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that
        // accepts a replay (an insert is one map write), so a poisoned lock is still used.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, key: ReplayKey, ttl: Duration) -> Result<Insert, ReplayStoreError> {
        let now = self.clock.now();
        let mut entries = self.entries();
        let Entries { live, order } = &mut *entries;
        while let Some(&(expires, old)) = order.front() {
            if expires > now {
                break;
            }
            order.pop_front();
            if live.get(&old) == Some(&expires) {
                live.remove(&old);
            }
        }
        if live.get(&key).is_some_and(|expires| *expires > now) {
            return Ok(Insert::Replayed);
        }
        if live.len() >= self.capacity && !live.contains_key(&key) {
            return Err(ReplayStoreError::Full(live.len()));
        }
        // Whole seconds, rounded up: an entry never leaves before its TTL.
        let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let expires = now.saturating_add(secs.max(1));
        live.insert(key, expires);
        order.push_back((expires, key));
        Ok(Insert::Fresh)
    }
}

impl ReplayStore for MemoryReplayStore {
    fn insert_if_absent<'a>(&'a self, key: &'a ReplayKey, ttl: Duration) -> ReplayFuture<'a> {
        let answer = self.insert(*key, ttl);
        Box::pin(std::future::ready(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn put(
        store: &MemoryReplayStore,
        key: &ReplayKey,
        ttl: u64,
    ) -> Result<Insert, ReplayStoreError> {
        store.insert(*key, Duration::from_secs(ttl))
    }

    #[test]
    fn a_key_is_fresh_once_until_it_expires() {
        let clock = ManualClock::new(1_000);
        let store = MemoryReplayStore::new().with_clock(clock.clone());
        let key = ReplayKey::new("jkt", "jti-1");
        assert_eq!(put(&store, &key, 70).ok(), Some(Insert::Fresh));
        assert_eq!(put(&store, &key, 70).ok(), Some(Insert::Replayed));
        clock.advance(69);
        assert_eq!(put(&store, &key, 70).ok(), Some(Insert::Replayed));
        clock.advance(1);
        assert_eq!(put(&store, &key, 70).ok(), Some(Insert::Fresh));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn keys_are_scoped_by_proof_key() {
        assert_ne!(ReplayKey::new("a", "b.c"), ReplayKey::new("a.b", "c"));
        assert_ne!(ReplayKey::new("k1", "j"), ReplayKey::new("k2", "j"));
        assert_eq!(ReplayKey::new("k1", "j"), ReplayKey::new("k1", "j"));
    }

    #[test]
    fn a_full_store_refuses_instead_of_evicting() {
        let clock = ManualClock::new(1_000);
        let store = MemoryReplayStore::new()
            .with_capacity(2)
            .with_clock(clock.clone());
        let [a, b, c] = ["a", "b", "c"].map(|j| ReplayKey::new("jkt", j));
        assert_eq!(put(&store, &a, 60).ok(), Some(Insert::Fresh));
        assert_eq!(put(&store, &b, 60).ok(), Some(Insert::Fresh));
        assert!(matches!(
            put(&store, &c, 60),
            Err(ReplayStoreError::Full(2))
        ));
        // The live entries are still there: no replay window reopened.
        assert_eq!(put(&store, &a, 60).ok(), Some(Insert::Replayed));
        assert_eq!(put(&store, &b, 60).ok(), Some(Insert::Replayed));
        clock.advance(60);
        assert_eq!(put(&store, &c, 60).ok(), Some(Insert::Fresh));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn concurrent_inserts_of_one_key_find_one_fresh() {
        let store = MemoryReplayStore::new();
        let key = ReplayKey::new("jkt", "once");
        let fresh = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| s.spawn(|| put(&store, &key, 60).ok() == Some(Insert::Fresh)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(false))
                .filter(|f| *f)
                .count()
        });
        assert_eq!(fresh, 1);
    }
}
