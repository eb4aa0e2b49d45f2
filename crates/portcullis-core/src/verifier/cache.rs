//! The verified-token cache: clients reuse one access token for its whole lifetime, so a token
//! that verified is not verified again while nothing its verification depended on has changed.
//!
//! An entry is keyed by a 64-bit hash of the exact token text under a per-process random key
//! ([`Key`], computed once per request and shared with the doorkeeper), holds the token itself
//! (compared in full on a hit, so a hash collision is a miss, never another token's claims) and
//! remembers the issuer configuration and the key-set version that verified it. A hit is served
//! only when, at that moment:
//! - `exp`, `nbf` and `iat` still pass against the verifier's clock (with its leeway);
//! - the token's `iss` still routes to the same issuer configuration;
//! - that issuer's key source still serves the same key set (any new set, rotation or plain
//!   refetch, sends the token through full verification again, so a token whose key left the
//!   set is never served from cache).
//!
//! Only successful verifications are cached: a rejected token costs full verification every
//! time (which is what makes it a rejection), and cannot push good entries out. And a token is
//! only stored the second time it verifies ([`Doorkeeper`]): when every request brings a new
//! token, storing and evicting on each one costs more than the cache could ever save.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::notification::RemovalCause;

use super::verified::Core;
use crate::clock::Clock;
use crate::error::ConfigError;

/// Default entry cap: 10 000. A service sees far fewer distinct live tokens than requests; this
/// many covers 10 000 active clients, and stays within [`DEFAULT_TOKEN_CACHE_BYTES`].
pub const DEFAULT_TOKEN_CACHE_ENTRIES: u64 = 10_000;
/// Default memory cap: 32 MiB of tokens and claims (about 3.3 KiB per entry at the entry cap; a
/// typical 800-byte token with its claims uses under 2 KiB). Larger entries count as several, so
/// both caps hold at once.
pub const DEFAULT_TOKEN_CACHE_BYTES: u64 = 32 * 1024 * 1024;
/// Default longest reuse of one verification: 10 min, the key-set cache's own default
/// freshness. Entries also leave at `exp` (plus leeway), whichever comes first.
pub const DEFAULT_TOKEN_CACHE_TTL: Duration = Duration::from_secs(600);

/// Slots of the doorkeeper: 16 384 (128 KiB). A token in steady use is back long before 16 384
/// other first-time tokens have passed.
const DOORKEEPER_SLOTS: usize = 16 * 1024;

/// Fixed bookkeeping per entry beyond the token and claims text (the entry, its `Arc`s and the
/// cache's own node), so many tiny tokens cannot exceed the memory cap.
const ENTRY_OVERHEAD: usize = 256;

/// Configuration of a [`Verifier`](super::Verifier)'s verified-token cache. On by default.
///
/// | option | default | why |
/// |---|---|---|
/// | [`max_entries`](Self::max_entries) | 10 000 ([`DEFAULT_TOKEN_CACHE_ENTRIES`]) | distinct live tokens, not requests |
/// | [`max_bytes`](Self::max_bytes) | 32 MiB ([`DEFAULT_TOKEN_CACHE_BYTES`]) | bounds memory whatever the token size |
/// | [`max_ttl`](Self::max_ttl) | 10 min ([`DEFAULT_TOKEN_CACHE_TTL`]) | bounds how long one decision is reused |
/// | [`disabled`](Self::disabled) | — | every request verifies the signature |
///
/// Eviction is moka's TinyLFU: a burst of new tokens does not push out the tokens in steady use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCache {
    enabled: bool,
    max_entries: u64,
    max_bytes: u64,
    max_ttl: Duration,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self {
            enabled: true,
            max_entries: DEFAULT_TOKEN_CACHE_ENTRIES,
            max_bytes: DEFAULT_TOKEN_CACHE_BYTES,
            max_ttl: DEFAULT_TOKEN_CACHE_TTL,
        }
    }
}

impl TokenCache {
    /// The cache with its documented defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// No cache: every token is verified in full on every request.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Most entries kept, between 1 and 10 000 000.
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.max_entries = entries;
        self
    }

    /// Most bytes of tokens and claims kept (an estimate that includes a fixed per-entry
    /// overhead), at least 64 KiB.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Longest time one verification is reused, between 1 s and 1 h.
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    pub(super) fn build(
        &self,
        leeway: u64,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<Cache>, ConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        if !(1..=10_000_000).contains(&self.max_entries) {
            return Err(ConfigError::InvalidValue {
                name: "token_cache.max_entries",
                why: "must be between 1 and 10 000 000",
            });
        }
        if self.max_bytes < 64 * 1024 {
            return Err(ConfigError::InvalidValue {
                name: "token_cache.max_bytes",
                why: "must be at least 64 KiB",
            });
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.max_ttl) {
            return Err(ConfigError::InvalidValue {
                name: "token_cache.max_ttl",
                why: "must be between 1 s and 1 h",
            });
        }
        let bytes = Arc::new(AtomicU64::new(0));
        // A fast keyed hash of the token: an attacker can only probe with lookups, and the
        // per-process random seed keeps those uniform (and collisions unplannable).
        let hasher = foldhash::fast::RandomState::default();
        let released = Arc::clone(&bytes);
        let entries = moka::sync::Cache::builder()
            .max_capacity(self.max_entries)
            .weigher(|_, entry: &Arc<Entry>| entry.weight)
            .expire_after(Lifetime)
            .eviction_listener(move |_, entry: Arc<Entry>, _: RemovalCause| {
                released.fetch_sub(entry.bytes, Ordering::Relaxed);
            })
            .build_with_hasher(hasher.clone());
        Ok(Some(Cache {
            entries,
            // Each weight unit stands for this many bytes: total weight <= max_entries then
            // bounds both the count and the bytes.
            unit: (self.max_bytes / self.max_entries).max(1),
            max_bytes: self.max_bytes,
            max_ttl: self.max_ttl,
            leeway,
            clock,
            bytes,
            doorkeeper: Doorkeeper {
                slots: (0..DOORKEEPER_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            },
            hasher,
        }))
    }
}

/// How full a verifier's token cache is (see [`Verifier::token_cache_usage`](super::Verifier::token_cache_usage)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct TokenCacheUsage {
    /// Entries held.
    pub entries: u64,
    /// Estimated bytes held (tokens, claims and per-entry overhead).
    pub bytes: u64,
}

/// A token's place in the cache: its keyed hash, computed once per request.
#[derive(Clone, Copy)]
pub(super) struct Key(u64);

/// One verified token: what it established and what that depended on.
pub(super) struct Entry {
    /// The token itself: a lookup by [`Key`] is a hit only when this is the presented token.
    token: Box<str>,
    pub(super) core: Arc<Core>,
    pub(super) issuer_id: u64,
    /// The key-set version whose key verified it; `None` for the issuer's HMAC secret, which
    /// cannot change without a new issuer configuration.
    pub(super) key_version: Option<u64>,
    ttl: Duration,
    weight: u32,
    bytes: u64,
}

/// Per-entry lifetime: computed at insertion from `exp` and the cap.
struct Lifetime;

impl moka::Expiry<u64, Arc<Entry>> for Lifetime {
    fn expire_after_create(&self, _: &u64, entry: &Arc<Entry>, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// Admission on second sight (TinyLFU's doorkeeper): each slot remembers the hash of the last
/// token that verified into it; a token is admitted when its slot still holds its hash.
///
/// Measured without it, under traffic where every request brings a new RS256 token: 49 µs of
/// server CPU per request with the cache on against 34 µs with it off (moka's table rehashing
/// under constant insert and evict). With it, such traffic never touches the cache, while a
/// token in steady use is stored at its second request.
struct Doorkeeper {
    slots: Box<[AtomicU64]>,
}

impl Doorkeeper {
    /// Records the token of `key`; whether it had been seen (in the same slot) before.
    fn seen_before(&self, key: Key) -> bool {
        // Never 0, the value of an empty slot.
        let hash = key.0 | 1;
        let index = (hash as usize) % self.slots.len();
        self.slots
            .get(index)
            .is_some_and(|slot| slot.swap(hash, Ordering::Relaxed) == hash)
    }
}

pub(crate) struct Cache {
    entries: moka::sync::Cache<u64, Arc<Entry>, foldhash::fast::RandomState>,
    hasher: foldhash::fast::RandomState,
    unit: u64,
    max_bytes: u64,
    max_ttl: Duration,
    leeway: u64,
    clock: Arc<dyn Clock>,
    bytes: Arc<AtomicU64>,
    doorkeeper: Doorkeeper,
}

impl Cache {
    /// Where `token` is (or would be) kept: one pass over the token per request, shared by the
    /// lookup, the doorkeeper and the insertion.
    pub(super) fn key(&self, token: &str) -> Key {
        use std::hash::BuildHasher as _;
        Key(self.hasher.hash_one(token))
    }

    /// The entry for exactly `token` (at `key`), if its times still pass; the caller checks the
    /// issuer and key set, which need routing.
    pub(super) fn get(&self, key: Key, token: &str) -> Option<Arc<Entry>> {
        let entry = self.entries.get(&key.0)?;
        // Not constant time, and needn't be: reaching this with another token takes a collision
        // of a 64-bit hash under a key the attacker never sees.
        if *entry.token != *token {
            return None;
        }
        let registered = entry.core.registered();
        let now = self.clock.now();
        let horizon = now.saturating_add(self.leeway);
        let expired = registered
            .exp
            .is_some_and(|exp| now >= exp.saturating_add(self.leeway));
        let early = registered.nbf.is_some_and(|nbf| nbf > horizon)
            || registered.iat.is_some_and(|iat| iat > horizon);
        if expired || early {
            self.entries.invalidate(&key.0);
            return None;
        }
        Some(entry)
    }

    /// Forgets the token at `key` (its issuer or key set changed); the fresh verification
    /// replaces it.
    pub(super) fn forget(&self, key: Key) {
        self.entries.invalidate(&key.0);
    }

    /// Remembers a successful verification, if this token verified before (the doorkeeper).
    pub(super) fn insert(
        &self,
        key: Key,
        token: &str,
        core: Arc<Core>,
        issuer_id: u64,
        key_version: Option<u64>,
    ) {
        if !self.doorkeeper.seen_before(key) {
            return;
        }
        let bytes = (token.len() + core.heap_size() + ENTRY_OVERHEAD) as u64;
        if bytes > self.max_bytes {
            return;
        }
        let weight = u32::try_from(bytes.div_ceil(self.unit)).unwrap_or(u32::MAX);
        let ttl = match core.registered().exp {
            Some(exp) => {
                let left = exp
                    .saturating_add(self.leeway)
                    .saturating_sub(self.clock.now());
                self.max_ttl.min(Duration::from_secs(left))
            }
            None => self.max_ttl,
        };
        if ttl.is_zero() {
            return;
        }
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.entries.insert(
            key.0,
            Arc::new(Entry {
                token: token.into(),
                core,
                issuer_id,
                key_version,
                ttl,
                weight,
                bytes,
            }),
        );
    }

    pub(super) fn usage(&self) -> TokenCacheUsage {
        self.entries.run_pending_tasks();
        TokenCacheUsage {
            entries: self.entries.entry_count(),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys: they are bearer tokens.
        f.debug_struct("Cache")
            .field("max_bytes", &self.max_bytes)
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}
