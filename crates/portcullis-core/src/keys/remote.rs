//! [`RemoteJwks`]: a key set fetched over HTTPS that survives rotation, floods and outages.
//!
//! The request path reads the current set with one atomic load ([`KeySource::current`]); it never
//! takes a lock held across I/O. Fetches happen in three places only:
//!
//! - **refresh-ahead**: a background task fetches 30 s before the set expires (its delay cut by
//!   up to 10 % at random, never lengthened), so requests never see an expired set while the
//!   issuer is up; until a first set is loaded it waits for one instead of fetching;
//! - **cold start**: the first request (or [`RemoteJwks::warm_up`]) fetches, and concurrent
//!   callers share that one fetch (single-flight);
//! - **unknown `kid`**: at most one fetch per 30 s per source, counted from the last fetch an
//!   unknown kid caused (a routine refresh never holds one back); inside the cooldown, and for a
//!   kid already known to be missing, the request is rejected at once without waiting.
//!
//! When fetches fail, the last good set keeps being served for up to 1 h past its expiry (then
//! verification answers 503 `Unavailable`, never 401); a failure never wipes the cache.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use reqwest::Url;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::discovery::Discovery;
use super::{KeySet, KeySource, KeySourceHealth, KeysFuture, Refresh};
use crate::audit;
use crate::error::{ConfigError, KeySourceError};
use crate::fetch::{Fetched, Fetcher, Limits};
use crate::single_flight::SingleFlight;

/// Freshness when the response has no `Cache-Control: max-age`: 10 min (jose, auth0, Envoy).
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// `max-age` is clamped to at least 1 min, so a `no-cache` issuer cannot make us fetch per request.
pub const MIN_TTL: Duration = Duration::from_secs(60);
/// ... and to at most 24 h, so a rotated-out key cannot stay trusted for days.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// The background refresh runs this long before expiry (Nimbus uses 30 s).
pub const REFRESH_AHEAD: Duration = Duration::from_secs(30);
/// At most one fetch per this interval for unknown `kid`s, and the retry interval after a failed
/// fetch (jose, Nimbus, auth0: 30 s).
pub const KID_COOLDOWN: Duration = Duration::from_secs(30);
/// How long past expiry the last good set is served while fetches fail: 1 h (.NET's
/// last-known-good). Zero fails closed at expiry.
pub const MAX_STALE: Duration = Duration::from_secs(3600);
/// Kids remembered as missing after a fresh fetch; the memory is cleared when it fills up and on
/// every new key set.
const MISSING_KIDS: usize = 1024;
/// How long a kid found missing is rejected without another fetch: 2 min. Longer would block a
/// key the issuer started using a little before publishing it; shorter lets one bad token cost a
/// fetch every cooldown.
pub const MISSING_KID_MEMORY: Duration = Duration::from_secs(120);

/// A JWKS fetched from a URL, or from the `jwks_uri` that OIDC / RFC 8414 discovery names.
///
/// Cheap to clone; clones share one cache. The background refresh task stops when the last clone
/// is dropped.
#[derive(Clone)]
pub struct RemoteJwks {
    shared: Arc<Shared>,
}

/// Builds a [`RemoteJwks`]. Every default is a public constant of this module.
#[derive(Debug)]
pub struct RemoteJwksBuilder {
    location: Result<Location, ConfigError>,
    client: Option<reqwest::Client>,
    allow_http: bool,
    default_ttl: Duration,
    min_ttl: Duration,
    max_ttl: Duration,
    refresh_ahead: Duration,
    kid_cooldown: Duration,
    max_stale: Duration,
    missing_kid_memory: Duration,
    limits: Limits,
}

#[derive(Debug)]
enum Location {
    Url(String),
    Issuer(String),
}

struct Shared {
    source: Source,
    fetcher: Fetcher,
    policy: Policy,
    current: ArcSwapOption<Loaded>,
    /// Held for the duration of one fetch: the single flight.
    /// One fetch at a time; a waiter that sees one finish takes its result.
    flight: SingleFlight,
    status: Mutex<Status>,
    /// Woken after every fetch attempt, so the background task plans from what was loaded.
    fetched: Arc<Notify>,
    serving_stale: AtomicBool,
    /// Whether a background task refreshes this source (only inside a Tokio runtime).
    refresher: bool,
    stop: Arc<Notify>,
}

enum Source {
    Url(Url),
    Discovered(Box<Discovery>),
}

#[derive(Debug, Clone, Copy)]
struct Policy {
    default_ttl: Duration,
    min_ttl: Duration,
    max_ttl: Duration,
    refresh_ahead: Duration,
    kid_cooldown: Duration,
    max_stale: Duration,
    missing_kid_memory: Duration,
}

struct Loaded {
    set: Arc<KeySet>,
    fresh_until: Instant,
    stale_until: Instant,
}

#[derive(Default)]
struct Status {
    last_attempt: Option<Instant>,
    /// The last fetch an unknown kid caused: the start of its cooldown.
    last_kid_fetch: Option<Instant>,
    last_success: Option<(Instant, SystemTime)>,
    last_error: Option<String>,
    etag: Option<String>,
    /// Kids absent after a fresh fetch, and when that was seen.
    missing: HashMap<String, Instant>,
}

impl RemoteJwks {
    /// A source for the JWK Set at `url` (https; plain http only for loopback hosts).
    pub fn builder(url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder::new(Ok(Location::Url(url.into())))
    }

    /// A source for the key set of `issuer`, found through OIDC discovery
    /// (`/.well-known/openid-configuration`) and then RFC 8414
    /// (`/.well-known/oauth-authorization-server`). The document's `issuer` must equal `issuer`
    /// exactly.
    pub fn discover(issuer: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder::new(Ok(Location::Issuer(issuer.into())))
    }

    /// Fetches now (sharing a fetch already in flight) and reports whether that fetch succeeded.
    /// Call it at start-up to fail fast when the issuer is unreachable, instead of on the first
    /// request. A failure leaves any cached set in place.
    pub async fn warm_up(&self) -> Result<(), KeySourceError> {
        self.shared
            .fetch_shared()
            .await
            .map(|_| ())
            .map_err(|detail| KeySourceError::Unavailable {
                detail,
                retry_after: self.shared.policy.kid_cooldown,
            })
    }

    /// Fetches now, ignoring the unknown-kid cooldown (after a known rotation, say).
    pub async fn reload(&self) -> Result<(), KeySourceError> {
        self.warm_up().await
    }

    /// What this source holds and when it last fetched, for a health endpoint.
    pub fn health(&self) -> KeySourceHealth {
        self.shared.health()
    }
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("source", &self.shared.source_label())
            .field("policy", &self.shared.policy)
            .finish_non_exhaustive()
    }
}

impl KeySource for RemoteJwks {
    fn current(&self) -> Option<Arc<KeySet>> {
        let (set, stale) = self.shared.usable()?;
        if stale {
            self.shared.note_stale();
        }
        Some(set)
    }

    fn refresh<'a>(&'a self, why: Refresh<'a>) -> KeysFuture<'a> {
        Box::pin(self.shared.refresh(why))
    }

    fn health(&self) -> KeySourceHealth {
        self.shared.health()
    }
}

impl RemoteJwksBuilder {
    fn new(location: Result<Location, ConfigError>) -> Self {
        Self {
            location,
            client: None,
            allow_http: false,
            default_ttl: DEFAULT_TTL,
            min_ttl: MIN_TTL,
            max_ttl: MAX_TTL,
            refresh_ahead: REFRESH_AHEAD,
            kid_cooldown: KID_COOLDOWN,
            max_stale: MAX_STALE,
            missing_kid_memory: MISSING_KID_MEMORY,
            limits: Limits::default(),
        }
    }

    /// Uses your `reqwest::Client` (proxies, a private CA, mTLS). Configure its timeouts and
    /// redirect policy yourself: the 64 KiB body cap and the status/content-type rules still apply.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Freshness when the response has no `max-age` (default [`DEFAULT_TTL`]).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Clamp for `Cache-Control: max-age` (default [`MIN_TTL`]..=[`MAX_TTL`]).
    pub fn ttl_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_ttl = min;
        self.max_ttl = max;
        self
    }

    /// How long before expiry the background refresh runs (default [`REFRESH_AHEAD`]).
    pub fn refresh_ahead(mut self, ahead: Duration) -> Self {
        self.refresh_ahead = ahead;
        self
    }

    /// Minimum interval between fetches caused by unknown `kid`s, and between retries after a
    /// failed fetch (default [`KID_COOLDOWN`]).
    pub fn kid_cooldown(mut self, cooldown: Duration) -> Self {
        self.kid_cooldown = cooldown;
        self
    }

    /// How long past expiry the last good set is served while fetches fail (default
    /// [`MAX_STALE`]; zero fails closed at expiry).
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// How long a kid found missing after a fresh fetch is rejected without fetching again
    /// (default [`MISSING_KID_MEMORY`]; zero disables the memory, leaving only the cooldown).
    pub fn missing_kid_memory(mut self, memory: Duration) -> Self {
        self.missing_kid_memory = memory;
        self
    }

    /// Connect and total timeouts of the default client (defaults [`CONNECT_TIMEOUT`],
    /// [`FETCH_TIMEOUT`]). The total also bounds a caller-supplied client's fetches.
    ///
    /// [`CONNECT_TIMEOUT`]: crate::fetch::CONNECT_TIMEOUT
    /// [`FETCH_TIMEOUT`]: crate::fetch::FETCH_TIMEOUT
    pub fn timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.limits.connect = connect;
        self.limits.total = total;
        self
    }

    /// Largest accepted response body, at most 1 MiB (default [`MAX_BODY`], 64 KiB).
    ///
    /// [`MAX_BODY`]: crate::fetch::MAX_BODY
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.limits.max_body = bytes;
        self
    }

    /// Allows plain-http URLs to non-loopback hosts. Anyone on the path can then swap the keys.
    pub fn dangerous_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Checks the configuration and builds the source. Inside a Tokio runtime this also starts
    /// the background refresh task; outside one, an expired set is fetched again on the request
    /// path (and served stale only after that fetch fails).
    /// Nothing is fetched yet: call [`RemoteJwks::warm_up`] to fetch at start-up.
    pub fn build(self) -> Result<RemoteJwks, ConfigError> {
        if self.min_ttl.is_zero()
            || self.min_ttl > self.max_ttl
            || self.default_ttl < self.min_ttl
            || self.default_ttl > self.max_ttl
        {
            return Err(ConfigError::InvalidValue {
                name: "ttl",
                why: "need 0 < min_ttl <= default_ttl <= max_ttl",
            });
        }
        if self.refresh_ahead >= self.min_ttl {
            return Err(ConfigError::InvalidValue {
                name: "refresh_ahead",
                why: "must be shorter than the minimum ttl",
            });
        }
        if self.kid_cooldown.is_zero() {
            return Err(ConfigError::InvalidValue {
                name: "kid_cooldown",
                why: "must be positive: every attacker chooses the kid they send",
            });
        }
        if self.limits.connect.is_zero()
            || self.limits.total.is_zero()
            || self.limits.connect > self.limits.total
        {
            return Err(ConfigError::InvalidValue {
                name: "timeouts",
                why: "need 0 < connect <= total",
            });
        }
        if !(1024..=1024 * 1024).contains(&self.limits.max_body) {
            return Err(ConfigError::InvalidValue {
                name: "max_body",
                why: "must be between 1 KiB and 1 MiB",
            });
        }
        let fetcher = Fetcher::new(self.client, self.allow_http, self.limits)?;
        let source = match self.location? {
            Location::Url(url) => Source::Url(fetcher.check_url(&url)?),
            Location::Issuer(issuer) => {
                Source::Discovered(Box::new(Discovery::new(issuer, "jwks_uri", &fetcher)?))
            }
        };
        let runtime = tokio::runtime::Handle::try_current().ok();
        let shared = Arc::new(Shared {
            source,
            fetcher,
            policy: Policy {
                default_ttl: self.default_ttl,
                min_ttl: self.min_ttl,
                max_ttl: self.max_ttl,
                refresh_ahead: self.refresh_ahead,
                kid_cooldown: self.kid_cooldown,
                max_stale: self.max_stale,
                missing_kid_memory: self.missing_kid_memory,
            },
            current: ArcSwapOption::empty(),
            flight: SingleFlight::default(),
            status: Mutex::new(Status::default()),
            fetched: Arc::new(Notify::new()),
            serving_stale: AtomicBool::new(false),
            refresher: runtime.is_some(),
            stop: Arc::new(Notify::new()),
        });
        if let Some(runtime) = runtime {
            runtime.spawn(refresh_loop(
                Arc::downgrade(&shared),
                Arc::clone(&shared.fetched),
                Arc::clone(&shared.stop),
            ));
        }
        Ok(RemoteJwks { shared })
    }
}

/// Refresh-ahead: sleeps until the next refresh is due, fetches, repeats. Until a first set is
/// loaded there is nothing to refresh ahead of, so it waits for the first fetch (the first
/// request's, or `warm_up`'s) instead of fetching on a timer of its own. Holds only a weak
/// reference between rounds, and stops as soon as the last handle is dropped.
async fn refresh_loop(shared: std::sync::Weak<Shared>, fetched: Arc<Notify>, stop: Arc<Notify>) {
    loop {
        let Some(due) = shared.upgrade().map(|s| s.next_refresh_in()) else {
            return;
        };
        let woken = async {
            match due {
                Some(delay) => tokio::time::sleep(delay).await,
                None => fetched.notified().await,
            }
        };
        tokio::select! {
            () = woken => {}
            () = stop.notified() => return,
        }
        let Some(strong) = shared.upgrade() else {
            return;
        };
        // A wake-up from a fetch only means "plan again"; a due refresh fetches. Failures are
        // recorded (status, audit, metric) inside; the loop just plans the retry.
        if due.is_some() {
            let _ = strong.fetch_shared().await;
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop.notify_one();
    }
}

impl Shared {
    fn status(&self) -> MutexGuard<'_, Status> {
        // A panic while holding this lock cannot leave it inconsistent (plain field writes).
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn source_label(&self) -> String {
        match &self.source {
            Source::Url(url) => url.to_string(),
            Source::Discovered(d) => format!("discovery: {}", d.issuer()),
        }
    }

    /// The set to use now, and whether it is past its freshness. An expired set is usable
    /// until its stale bound while something is retrying: the background task, or (without
    /// one) the request path once a fetch has failed; otherwise the caller fetches.
    fn usable(&self) -> Option<(Arc<KeySet>, bool)> {
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

    fn note_stale(&self) {
        metrics::counter!("portcullis_jwks_stale_served_total").increment(1);
        if !self.serving_stale.swap(true, Ordering::Relaxed) {
            audit::jwks_serving_stale(&self.source_label());
        }
    }

    async fn refresh(&self, why: Refresh<'_>) -> Result<Arc<KeySet>, KeySourceError> {
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
                self.fetch_for_request().await
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
                let set = self.fetch_for_request().await?;
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
    /// fallback to a stale set.
    async fn fetch_shared(&self) -> Result<Arc<KeySet>, String> {
        let turn = self.flight.turn().await;
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
    async fn fetch_for_request(&self) -> Result<Arc<KeySet>, KeySourceError> {
        match self.fetch_shared().await {
            Ok(set) => Ok(set),
            Err(_) => self.last_outcome(),
        }
    }

    /// After a fetch: the fresh set, else the last good set within its stale bound, else 503.
    fn last_outcome(&self) -> Result<Arc<KeySet>, KeySourceError> {
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

    async fn fetch_once(&self) -> Result<Arc<KeySet>, String> {
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

    async fn fetch_and_parse(&self, etag: Option<&str>) -> Result<Arc<KeySet>, String> {
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

    fn policy_ttl(&self) -> super::discovery::TtlPolicy {
        super::discovery::TtlPolicy {
            default: self.policy.default_ttl,
            min: self.policy.min_ttl,
            max: self.policy.max_ttl,
            max_stale: self.policy.max_stale,
        }
    }

    fn store(&self, set: Arc<KeySet>, max_age: Option<Duration>) {
        let ttl = self.policy_ttl().ttl(max_age);
        let now = Instant::now();
        self.current.store(Some(Arc::new(Loaded {
            set,
            fresh_until: now + ttl,
            stale_until: now + ttl + self.policy.max_stale,
        })));
    }

    /// Time until the background task should fetch: `refresh_ahead` before expiry, or one
    /// cooldown after a failure; `None` while nothing was ever fetched (there is nothing to
    /// refresh yet, and a timer of its own would spend the unknown-kid cooldown's budget for
    /// nothing). Jittered ([`jitter`]) so replicas do not fetch in lockstep.
    fn next_refresh_in(&self) -> Option<Duration> {
        let failed = self.status().last_error.is_some();
        let due = match self.current.load().as_ref() {
            Some(loaded) if !failed => loaded
                .fresh_until
                .saturating_duration_since(Instant::now())
                .saturating_sub(self.policy.refresh_ahead),
            _ if failed => self.policy.kid_cooldown,
            _ => return None,
        };
        Some(jitter(due.max(MIN_REFRESH_DELAY), clock_noise()))
    }

    fn health(&self) -> KeySourceHealth {
        let guard = self.current.load();
        let status = self.status();
        let now = Instant::now();
        KeySourceHealth {
            source: self.source_label(),
            keys: guard.as_ref().map_or(0, |l| l.set.len()),
            kids: guard
                .as_ref()
                .map(|l| {
                    l.set
                        .kids()
                        .map(|k| k.unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            age_secs: status
                .last_success
                .map(|(at, _)| now.saturating_duration_since(at).as_secs()),
            last_fetch_unix: status
                .last_success
                .and_then(|(_, at)| at.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
            last_error: status.last_error.clone(),
            fresh: guard.as_ref().is_some_and(|l| now < l.fresh_until),
            serving_stale: guard
                .as_ref()
                .is_some_and(|l| now >= l.fresh_until && now < l.stale_until),
            usable: guard.as_ref().is_some_and(|l| now < l.stale_until),
        }
    }
}

/// The background task never sleeps less than this between rounds, whatever a short TTL says.
const MIN_REFRESH_DELAY: Duration = Duration::from_millis(100);

/// A delay shortened by 0 to 10 %, never lengthened: a refresh planned `refresh_ahead` before
/// expiry must not slide past expiry (a longer delay would have a healthy issuer's set served
/// stale). `noise` is any number; its value modulo 1001 picks the cut.
fn jitter(d: Duration, noise: u32) -> Duration {
    d.mul_f64(1.0 - f64::from(noise % 1001) / 10_000.0)
}

/// The clock's sub-second nanoseconds: enough to spread replicas, no randomness needed.
fn clock_noise() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_only_shortens_by_at_most_a_tenth() {
        let d = Duration::from_secs(570);
        let mut shortest = d;
        for noise in (0..2_000_000u32).step_by(7) {
            let j = jitter(d, noise);
            assert!(j <= d, "{noise}: {j:?} is later than {d:?}");
            assert!(
                j >= d.mul_f64(0.9),
                "{noise}: {j:?} is more than 10 % early"
            );
            shortest = shortest.min(j);
        }
        assert_eq!(jitter(d, 0), d);
        assert_eq!(jitter(d, 1000), Duration::from_secs(513));
        assert!(shortest < d.mul_f64(0.901), "the whole range is used");
    }
}
