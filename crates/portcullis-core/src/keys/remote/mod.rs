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
//!
//! One concept per file: `builder` (the options and their checks), `state` (what is loaded and
//! how a fetch or an unknown kid changes it), `refresh` (the background task and its timing) and
//! `health`.

mod builder;
mod health;
mod refresh;
mod state;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{KeySet, KeySource, KeySourceHealth, KeysFuture, Refresh};
use crate::error::KeySourceError;
use builder::Location;
pub use builder::RemoteJwksBuilder;
use state::Shared;

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
            .fetch_shared(false)
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
