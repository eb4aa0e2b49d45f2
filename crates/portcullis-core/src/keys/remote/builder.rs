//! [`RemoteJwksBuilder`]: every option of the key cache, with its default and its check.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::sync::Notify;

use super::refresh::refresh_loop;
use super::state::{Policy, Shared, Source, Status};
use super::{
    DEFAULT_TTL, KID_COOLDOWN, MAX_STALE, MAX_TTL, MIN_TTL, MISSING_KID_MEMORY, REFRESH_AHEAD,
    RemoteJwks,
};
use crate::error::ConfigError;
use crate::fetch::{Fetcher, Limits};
use crate::keys::discovery::Discovery;
use crate::single_flight::SingleFlight;

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
pub(super) enum Location {
    Url(String),
    Issuer(String),
}

impl RemoteJwksBuilder {
    pub(super) fn new(location: Result<Location, ConfigError>) -> Self {
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
