//! [`Revocations`]: the mirror a verifier consults on every token, and the task that keeps it
//! in step with the fleet's store.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::list::{DEFAULT_REVOCATION_CAPACITY, Inserted, List, Names};
use super::store::{RevocationError, RevocationSink, RevocationStore};
use super::{Revocation, SKEW_MARGIN};
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, Reason};
use crate::verifier::Verified;

/// How long a revocation is remembered when nothing says when its tokens expire (24 h), and so
/// the longest token lifetime (`exp - iat`) a verifier with revocations accepts. Access tokens
/// live minutes to hours; Auth0's longest default is 24 h.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// The shortest retention accepted (1 min): shorter would refuse tokens of ordinary lifetimes.
pub const MIN_RETENTION: Duration = Duration::from_secs(60);

/// The longest retention accepted (30 days): past it, memory holds revocations of tokens that
/// should never have been issued for so long.
pub const MAX_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How often the mirror asks the store whether anything changed (5 s): one cheap version read
/// per replica, and an announcement lost in transit is picked up within this.
pub const DEFAULT_RESYNC_INTERVAL: Duration = Duration::from_secs(5);

/// How long the mirror keeps deciding without the store's confirmation (30 s, six missed
/// resyncs) before every decision is 503: a replica cut off from the fleet may miss a
/// revocation made elsewhere, so it stops trusting itself.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(30);

/// The shortest resync interval accepted (100 ms): a version read per replica more often than
/// this is load on the store for no gain, since announcements already arrive at once.
pub const MIN_RESYNC_INTERVAL: Duration = Duration::from_millis(100);

/// `Retry-After` while the mirror is stale (5 s, the default resync interval): the next resync
/// is the next chance to be current again.
pub const REVOCATIONS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Announcements buffered between the store's subscription and the mirror (1 024): the store
/// waits when it is full, so none is dropped.
const ANNOUNCEMENT_BUFFER: usize = 1024;

/// Builds [`Revocations`]; [`start`](Self::start) loads and subscribes.
///
/// | option | default |
/// |---|---|
/// | [`store`](Self::store) | none: this process only |
/// | [`capacity`](Self::capacity) | [`DEFAULT_REVOCATION_CAPACITY`] |
/// | [`retention`](Self::retention) | [`DEFAULT_RETENTION`], between [`MIN_RETENTION`] and [`MAX_RETENTION`] |
/// | [`resync_interval`](Self::resync_interval) | [`DEFAULT_RESYNC_INTERVAL`], at least [`MIN_RESYNC_INTERVAL`] |
/// | [`max_staleness`](Self::max_staleness) | [`DEFAULT_MAX_STALENESS`], more than the resync interval |
/// | [`clock`](Self::clock) | the system clock |
pub struct RevocationsBuilder {
    store: Option<Arc<dyn RevocationStore>>,
    capacity: usize,
    retention: Duration,
    resync_interval: Duration,
    max_staleness: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for RevocationsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationsBuilder")
            .field("store", &self.store)
            .field("capacity", &self.capacity)
            .field("retention", &self.retention)
            .field("resync_interval", &self.resync_interval)
            .field("max_staleness", &self.max_staleness)
            .finish_non_exhaustive()
    }
}

impl RevocationsBuilder {
    /// The fleet's store: revocations are published there and mirrored from it.
    pub fn store(mut self, store: impl RevocationStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Live revocations held at most (at least 1).
    pub fn capacity(mut self, entries: usize) -> Self {
        self.capacity = entries.max(1);
        self
    }

    /// How long a revocation without its own expiry is remembered, and the longest token
    /// lifetime accepted: at least as long as your issuers' longest access-token lifetime.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// How often the store is asked whether anything changed.
    pub fn resync_interval(mut self, interval: Duration) -> Self {
        self.resync_interval = interval;
        self
    }

    /// How long decisions go on without the store's confirmation before they are 503.
    pub fn max_staleness(mut self, staleness: Duration) -> Self {
        self.max_staleness = staleness;
        self
    }

    /// The clock for expiries (tests use [`ManualClock`](crate::clock::ManualClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the configuration, then with a store: subscribes, loads every live revocation,
    /// and starts the task that keeps the mirror current (it ends with the last clone). A store
    /// that does not answer is an error here, so a replica never starts without the fleet's
    /// revocations. Call inside a tokio runtime.
    pub async fn start(self) -> Result<Revocations, RevocationError> {
        if !(MIN_RETENTION..=MAX_RETENTION).contains(&self.retention) {
            return Err(RevocationError::Invalid(
                "retention must be between 1 min and 30 days",
            ));
        }
        if self.resync_interval < MIN_RESYNC_INTERVAL {
            return Err(RevocationError::Invalid(
                "the resync interval must be at least 100 ms",
            ));
        }
        if self.max_staleness <= self.resync_interval {
            return Err(RevocationError::Invalid(
                "max staleness must be longer than the resync interval",
            ));
        }
        let shared = Arc::new(Shared {
            list: RwLock::new(List::new(self.capacity)),
            live: AtomicUsize::new(0),
            store: self.store,
            retention: self.retention.as_secs(),
            max_staleness: self.max_staleness,
            clock: self.clock,
            epoch: Instant::now(),
            confirmed_at: AtomicU64::new(0),
            overflow: AtomicBool::new(false),
        });
        if let Some(store) = shared.store.clone() {
            let (sink, announcements) = mpsc::channel(ANNOUNCEMENT_BUFFER);
            store.subscribe(RevocationSink(sink)).await?;
            let snapshot = store.load().await?;
            shared.merge(&snapshot.revocations);
            shared.confirm();
            let follower = Follower {
                shared: Arc::downgrade(&shared),
                store,
                announcements: Some(announcements),
                version: snapshot.version,
                interval: self.resync_interval,
            };
            tokio::spawn(follower.run());
        }
        Ok(Revocations { shared })
    }
}

/// The revocations every token is checked against: in memory, and with a store the fleet's.
/// Cheap to clone (one `Arc`); clones share the mirror.
///
/// Give it to [`VerifierBuilder::revocations`](crate::VerifierBuilder::revocations); revoke
/// through [`revoke`](Self::revoke) from your own admin or logout endpoints.
#[derive(Clone)]
pub struct Revocations {
    shared: Arc<Shared>,
}

struct Shared {
    list: RwLock<List>,
    /// The list's length, read without the lock: most requests meet an empty list.
    live: AtomicUsize,
    store: Option<Arc<dyn RevocationStore>>,
    retention: u64,
    max_staleness: Duration,
    clock: Arc<dyn Clock>,
    epoch: Instant,
    /// When the store last confirmed the mirror, in milliseconds since `epoch`.
    confirmed_at: AtomicU64,
    /// A revocation from the store did not fit: the mirror is incomplete until a full load fits.
    overflow: AtomicBool,
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocations")
            .field("store", &self.shared.store)
            .field("live", &self.len())
            .field("retention", &self.shared.retention)
            .finish_non_exhaustive()
    }
}

impl Revocations {
    /// A builder with the documented defaults.
    pub fn builder() -> RevocationsBuilder {
        RevocationsBuilder {
            store: None,
            capacity: DEFAULT_REVOCATION_CAPACITY,
            retention: DEFAULT_RETENTION,
            resync_interval: DEFAULT_RESYNC_INTERVAL,
            max_staleness: DEFAULT_MAX_STALENESS,
            clock: Arc::new(SystemClock),
        }
    }

    /// Revokes: enforced on this replica at once, then published to the store for the fleet.
    /// Without its own expiry it is remembered for the retention (from its cut-off, for a
    /// subject or client revocation dated later than now), plus the verifiers' largest leeway.
    ///
    /// [`RevocationError::Unavailable`] means this replica enforces it and the fleet may not:
    /// retry (publishing again is harmless).
    pub async fn revoke(&self, revocation: Revocation) -> Result<(), RevocationError> {
        revocation.validate()?;
        let now = self.shared.clock.now();
        let mut revocation = revocation;
        if revocation.expires_at.is_none() {
            let from = revocation.before.unwrap_or(now).max(now);
            revocation.expires_at = Some(
                from.saturating_add(self.shared.retention)
                    .saturating_add(SKEW_MARGIN),
            );
        }
        self.shared.insert(&revocation, now)?;
        tracing::info!(
            target: "portcullis::audit",
            event = "revocation",
            kind = revocation.kind.name(),
            iss = revocation.issuer.as_str(),
            value = revocation.value.as_str(),
            before = revocation.before,
            "revoked"
        );
        metrics::counter!("portcullis_revocations_total", "kind" => revocation.kind.name())
            .increment(1);
        match &self.shared.store {
            Some(store) => store.publish(&revocation).await,
            None => Ok(()),
        }
    }

    /// Live revocations held.
    pub fn len(&self) -> usize {
        self.shared.live.load(Ordering::Relaxed)
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether decisions can rely on the mirror: always without a store; with one, the store
    /// confirmed it within the max staleness and everything it holds fit.
    pub fn is_current(&self) -> bool {
        self.shared.is_current()
    }

    /// The check a verifier runs on every token it accepts, cached or not.
    pub(crate) fn check<C>(&self, token: &Verified<C>, now: u64) -> Result<(), AuthError> {
        let shared = &self.shared;
        // Lifetime from `iat`, or at least from now: a token with no expiry, or one that lives
        // longer than a revocation is remembered, could outlive its revocation.
        let from = token.issued_at().unwrap_or(now).min(now);
        if token
            .expires_at()
            .is_none_or(|exp| exp.saturating_sub(from) > shared.retention)
        {
            return Err(AuthError::InvalidToken(Reason::LifetimeTooLong));
        }
        if shared.live.load(Ordering::Acquire) > 0 {
            let names = Names {
                jti: token.jwt_id(),
                sid: token.session_id(),
                sub: token.subject(),
                client_id: token.client_id(),
                iat: token.issued_at(),
            };
            let list = shared
                .list
                .read()
                .map_err(|_| unavailable("the revocation list lock is poisoned"))?;
            if let Some(kind) = list.matches(token.issuer(), &names, now) {
                tracing::debug!(target: "portcullis::audit", event = "revoked", kind = kind.name(), "revocation matched");
                return Err(AuthError::InvalidToken(Reason::Revoked));
            }
        }
        if !shared.is_current() {
            return Err(unavailable("the mirror is stale"));
        }
        Ok(())
    }
}

fn unavailable(why: &'static str) -> AuthError {
    tracing::warn!(target: "portcullis::audit", event = "revocations", why, "revocations unavailable");
    AuthError::Unavailable {
        reason: Reason::RevocationsUnavailable,
        retry_after: REVOCATIONS_RETRY_AFTER,
    }
}

impl Shared {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn confirm(&self) {
        self.confirmed_at
            .store(self.elapsed_ms(), Ordering::Release);
    }

    fn is_current(&self) -> bool {
        if self.store.is_none() {
            return true;
        }
        let age = self
            .elapsed_ms()
            .saturating_sub(self.confirmed_at.load(Ordering::Acquire));
        !self.overflow.load(Ordering::Acquire) && u128::from(age) <= self.max_staleness.as_millis()
    }

    fn insert(&self, revocation: &Revocation, now: u64) -> Result<Inserted, RevocationError> {
        let mut list = self.list.write().map_err(|_| {
            RevocationError::Unavailable("the revocation list lock is poisoned".into())
        })?;
        let inserted = list.insert(revocation, now);
        self.live.store(list.len(), Ordering::Release);
        inserted
    }

    /// Adds what the store holds; drops nothing (a store that lost data must not make the
    /// mirror forget). Reports whether everything fit.
    fn merge(&self, revocations: &[Revocation]) -> bool {
        let now = self.clock.now();
        let mut fit = true;
        for revocation in revocations {
            if revocation.validate().is_err() {
                continue;
            }
            if let Err(error) = self.insert(revocation, now) {
                tracing::error!(target: "portcullis::audit", event = "revocations", error = %error, "a revocation from the store did not fit");
                fit = false;
            }
        }
        self.overflow.store(!fit, Ordering::Release);
        fit
    }

    fn apply(&self, revocation: &Revocation) {
        if revocation.validate().is_err() {
            return;
        }
        if let Err(error) = self.insert(revocation, self.clock.now()) {
            tracing::error!(target: "portcullis::audit", event = "revocations", error = %error, "an announced revocation did not fit");
            self.overflow.store(true, Ordering::Release);
        }
    }

    fn prune(&self) {
        if let Ok(mut list) = self.list.write() {
            list.prune(self.clock.now());
            self.live.store(list.len(), Ordering::Release);
        }
    }
}

/// The task that keeps one mirror in step with its store.
struct Follower {
    shared: Weak<Shared>,
    store: Arc<dyn RevocationStore>,
    /// `None` while not subscribed.
    announcements: Option<mpsc::Receiver<Revocation>>,
    /// The store's version the mirror last loaded.
    version: String,
    interval: Duration,
}

impl Follower {
    async fn run(mut self) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            tokio::select! {
                announced = next(&mut self.announcements) => match announced {
                    Some(revocation) => match self.shared.upgrade() {
                        Some(shared) => shared.apply(&revocation),
                        None => return,
                    },
                    None => {
                        tracing::warn!(target: "portcullis::audit", event = "revocations", "subscription to the revocation store lost");
                        self.announcements = None;
                    }
                },
                _ = ticks.tick() => match self.shared.upgrade() {
                    Some(shared) => self.resync(&shared).await,
                    None => return,
                },
            }
        }
    }

    /// Subscribes again if needed, then reloads when the version moved (or anything may have
    /// been missed), and confirms the mirror only when all of that succeeded.
    async fn resync(&mut self, shared: &Shared) {
        let mut reload = shared.overflow.load(Ordering::Acquire);
        if self.announcements.is_none() {
            let (sink, announcements) = mpsc::channel(ANNOUNCEMENT_BUFFER);
            if let Err(error) = self.store.subscribe(RevocationSink(sink)).await {
                tracing::warn!(target: "portcullis::audit", event = "revocations", error = %error, "cannot subscribe to the revocation store");
                return;
            }
            self.announcements = Some(announcements);
            reload = true;
        }
        let version = match self.store.version().await {
            Ok(version) => version,
            Err(error) => {
                tracing::warn!(target: "portcullis::audit", event = "revocations", error = %error, "revocation store unavailable");
                return;
            }
        };
        if reload || version != self.version {
            match self.store.load().await {
                Ok(snapshot) => {
                    shared.merge(&snapshot.revocations);
                    self.version = snapshot.version;
                }
                Err(error) => {
                    tracing::warn!(target: "portcullis::audit", event = "revocations", error = %error, "cannot load revocations");
                    return;
                }
            }
        }
        shared.prune();
        shared.confirm();
    }
}

async fn next(announcements: &mut Option<mpsc::Receiver<Revocation>>) -> Option<Revocation> {
    match announcements {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}
