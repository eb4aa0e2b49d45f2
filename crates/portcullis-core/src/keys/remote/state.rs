//! What a remote key source holds and how it changes: the loaded set with its freshness and
//! stale bounds, the fetch status, the kids known to be missing, and the decisions of a refresh
//! (cold start, unknown kid, cooldown) and of a fetch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use reqwest::Url;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::audit;
use crate::error::KeySourceError;
use crate::fetch::{Fetched, Fetcher};
use crate::keys::discovery::{Discovery, TtlPolicy};
use crate::keys::{KeySet, Refresh};
use crate::single_flight::SingleFlight;

/// Kids remembered as missing after a fresh fetch; the memory is cleared when it fills up and on
/// every new key set.
const MISSING_KIDS: usize = 1024;

pub(super) struct Shared {
    pub(super) source: Source,
    pub(super) fetcher: Fetcher,
    pub(super) policy: Policy,
    pub(super) current: ArcSwapOption<Loaded>,
    /// Held for the duration of one fetch: the single flight.
    /// One fetch at a time; a waiter that sees one finish takes its result.
    pub(super) flight: SingleFlight,
    pub(super) status: Mutex<Status>,
    /// Woken after every fetch attempt, so the background task plans from what was loaded.
    pub(super) fetched: Arc<Notify>,
    pub(super) serving_stale: AtomicBool,
    /// Whether a background task refreshes this source (only inside a Tokio runtime).
    pub(super) refresher: bool,
    pub(super) stop: Arc<Notify>,
}

pub(super) enum Source {
    Url(Url),
    Discovered(Box<Discovery>),
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    pub(super) default_ttl: Duration,
    pub(super) min_ttl: Duration,
    pub(super) max_ttl: Duration,
    pub(super) refresh_ahead: Duration,
    pub(super) kid_cooldown: Duration,
    pub(super) max_stale: Duration,
    pub(super) missing_kid_memory: Duration,
}

pub(super) struct Loaded {
    pub(super) set: Arc<KeySet>,
    pub(super) fresh_until: Instant,
    pub(super) stale_until: Instant,
}

#[derive(Default)]
pub(super) struct Status {
    pub(super) last_attempt: Option<Instant>,
    /// The last fetch an unknown kid caused: the start of its cooldown.
    pub(super) last_kid_fetch: Option<Instant>,
    pub(super) last_success: Option<(Instant, SystemTime)>,
    pub(super) last_error: Option<String>,
    pub(super) etag: Option<String>,
    /// Kids absent after a fresh fetch, and when that was seen.
    pub(super) missing: HashMap<String, Instant>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop.notify_one();
    }
}

impl Shared {
    pub(super) fn status(&self) -> MutexGuard<'_, Status> {
        // A panic while holding this lock cannot leave it inconsistent (plain field writes).
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn source_label(&self) -> String {
        match &self.source {
            Source::Url(url) => url.to_string(),
            Source::Discovered(d) => format!("discovery: {}", d.issuer()),
        }
    }

    /// The set to use now, and whether it is past its freshness. An expired set is usable
    /// until its stale bound while something is retrying: the background task, or (without
    /// one) the request path once a fetch has failed; otherwise the caller fetches.
    pub(super) fn usable(&self) -> Option<(Arc<KeySet>, bool)> {
        let guard = self.current.load();
        let loaded = guard.as_ref()?;
        let now = Instant::now();
        if now < loaded.fresh_until {
            return Some((Arc::clone(&loaded.set), false));
        }
        let retrying = self.refresher || self.status().last_error.is_some();
        if now < loaded.stale_until && retrying {
            return Some((Arc::clone(&loaded.set), true));
        }
        None
    }

    pub(super) fn note_stale(&self) {
        metrics::counter!("portcullis_jwks_stale_served_total").increment(1);
        if !self.serving_stale.swap(true, Ordering::Relaxed) {
            audit::jwks_serving_stale(&self.source_label());
        }
    }

    pub(super) async fn refresh(&self, why: Refresh<'_>) -> Result<Arc<KeySet>, KeySourceError> {
        match why {
            Refresh::Cold => {
                // Right after a failed fetch, answer 503 at once instead of sending every
                // request's fetch to an issuer that is down; the background task retries.
                let failed_recently = {
                    let status = self.status();
                    status.last_error.is_some()
                        && status
                            .last_attempt
                            .is_some_and(|t| t.elapsed() < self.policy.kid_cooldown)
                };
                if failed_recently {
                    return self.last_outcome();
                }
                self.fetch_for_request(true).await
            }
            Refresh::UnknownKey { kid } => {
                metrics::counter!("portcullis_jwks_kid_miss_total").increment(1);
                if let Some((set, _)) = self.usable() {
                    let known_missing = kid.is_some_and(|k| {
                        self.status()
                            .missing
                            .get(k)
                            .is_some_and(|at| at.elapsed() < self.policy.missing_kid_memory)
                    });
                    // Checked and claimed under one lock: of concurrent unknown kids, one starts
                    // the cooldown and the others share its fetch or are turned away.
                    let mut status = self.status();
                    let cooling = status
                        .last_kid_fetch
                        .is_some_and(|t| t.elapsed() < self.policy.kid_cooldown);
                    if known_missing || cooling {
                        return Ok(set);
                    }
                    status.last_kid_fetch = Some(Instant::now());
                } else {
                    self.status().last_kid_fetch = Some(Instant::now());
                }
                let set = self.fetch_for_request(false).await?;
                // Long kids are not remembered: the memory is bounded in bytes, not just entries.
                if let Some(kid) = kid
                    && kid.len() <= 256
                    && !set.contains_kid(kid)
                {
                    let mut status = self.status();
                    if status.missing.len() >= MISSING_KIDS {
                        status.missing.clear();
                    }
                    status.missing.insert(kid.to_owned(), Instant::now());
                }
                Ok(set)
            }
        }
    }

    /// One fetch for all concurrent callers: whoever takes the gate fetches; whoever waited on it
    /// gets what that fetch produced. `Err` is the failure of the fetch itself, before any
    /// fallback to a stale set. `unless_fresh`: a caller that found no set takes a fresh one that
    /// arrived before its turn, since a fetch finishing between its look and its queueing does not
    /// count as one it waited out (200 concurrent first requests fetched twice without this).
    pub(super) async fn fetch_shared(&self, unless_fresh: bool) -> Result<Arc<KeySet>, String> {
        let turn = self.flight.turn().await;
        if unless_fresh && let Some((set, false)) = self.usable() {
            return Ok(set);
        }
        if turn.waited_out_an_attempt() {
            let failed = self.status().last_error.clone();
            return match (failed, self.current.load_full()) {
                (None, Some(loaded)) => Ok(Arc::clone(&loaded.set)),
                (error, _) => Err(error.unwrap_or_else(|| "no key set fetched yet".into())),
            };
        }
        let outcome = turn.attempt(self.fetch_once()).await;
        self.fetched.notify_one();
        outcome
    }

    /// A fetch for a request: on failure, the last good set within its stale bound, else 503.
    pub(super) async fn fetch_for_request(
        &self,
        unless_fresh: bool,
    ) -> Result<Arc<KeySet>, KeySourceError> {
        match self.fetch_shared(unless_fresh).await {
            Ok(set) => Ok(set),
            Err(_) => self.last_outcome(),
        }
    }

    /// After a fetch: the fresh set, else the last good set within its stale bound, else 503.
    pub(super) fn last_outcome(&self) -> Result<Arc<KeySet>, KeySourceError> {
        if let Some((set, stale)) = self.usable() {
            if stale {
                self.note_stale();
            }
            return Ok(set);
        }
        let detail = self
            .status()
            .last_error
            .clone()
            .unwrap_or_else(|| "no key set fetched yet".into());
        Err(KeySourceError::Unavailable {
            detail,
            retry_after: self.policy.kid_cooldown,
        })
    }

    pub(super) async fn fetch_once(&self) -> Result<Arc<KeySet>, String> {
        let etag = {
            let mut status = self.status();
            status.last_attempt = Some(Instant::now());
            // A conditional request only makes sense while we still hold the set it refers to.
            self.current.load().as_ref().and(status.etag.clone())
        };
        // The default client times out after 5 s per request; this bounds a caller-supplied
        // client too (twice: discovery, then the key set), so a hung issuer can never hold the
        // single-flight gate indefinitely.
        let result = tokio::time::timeout(
            self.fetcher.deadline() * 2,
            self.fetch_and_parse(etag.as_deref()),
        )
        .await
        .unwrap_or_else(|_| Err("timed out".into()));
        let label = self.source_label();
        match &result {
            Ok(set) => {
                metrics::counter!("portcullis_jwks_fetch_total", "outcome" => "ok").increment(1);
                self.serving_stale.store(false, Ordering::Relaxed);
                let mut status = self.status();
                status.last_error = None;
                status.last_success = Some((Instant::now(), SystemTime::now()));
                audit::jwks_fetched(&label, set.len());
            }
            Err(error) => {
                metrics::counter!("portcullis_jwks_fetch_total", "outcome" => "error").increment(1);
                self.status().last_error = Some(error.clone());
                audit::jwks_fetch_failed(&label, error);
            }
        }
        result
    }

    pub(super) async fn fetch_and_parse(&self, etag: Option<&str>) -> Result<Arc<KeySet>, String> {
        let url = match &self.source {
            Source::Url(url) => url.clone(),
            Source::Discovered(discovery) => {
                discovery
                    .endpoint(&self.fetcher, &self.policy_ttl())
                    .await?
            }
        };
        match self.fetcher.get_json(&url, etag).await? {
            Fetched::NotModified { max_age } => {
                let guard = self.current.load();
                let loaded = guard.as_ref().ok_or("304 without a cached set")?;
                let set = Arc::clone(&loaded.set);
                self.store(Arc::clone(&set), max_age);
                Ok(set)
            }
            Fetched::Body {
                bytes,
                etag,
                max_age,
            } => {
                let set = KeySet::from_jwks_json(&bytes).map_err(|e| e.to_string())?;
                if set.is_empty() {
                    return Err("key set has no usable key".into());
                }
                let set = Arc::new(set);
                self.store(Arc::clone(&set), max_age);
                let mut status = self.status();
                status.etag = etag;
                status.missing.clear();
                Ok(set)
            }
        }
    }

    pub(super) fn policy_ttl(&self) -> TtlPolicy {
        TtlPolicy {
            default: self.policy.default_ttl,
            min: self.policy.min_ttl,
            max: self.policy.max_ttl,
            max_stale: self.policy.max_stale,
        }
    }

    pub(super) fn store(&self, set: Arc<KeySet>, max_age: Option<Duration>) {
        let ttl = self.policy_ttl().ttl(max_age);
        let now = Instant::now();
        self.current.store(Some(Arc::new(Loaded {
            set,
            fresh_until: now + ttl,
            stale_until: now + ttl + self.policy.max_stale,
        })));
    }
}
