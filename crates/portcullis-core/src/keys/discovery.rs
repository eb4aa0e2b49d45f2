//! Finding one of an issuer's endpoints (its `jwks_uri`, or for the client flows its
//! `token_endpoint`, ...): OIDC discovery, then RFC 8414 authorization server metadata.
//!
//! The document is read by [`metadata`](super::metadata): its `issuer` must equal the configured
//! issuer exactly.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::Url;
use tokio::time::Instant;

use super::metadata;
use crate::error::ConfigError;
use crate::fetch::{Fetched, Fetcher};

/// Freshness rules shared by the key set and the discovery document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TtlPolicy {
    pub(crate) default: Duration,
    pub(crate) min: Duration,
    pub(crate) max: Duration,
    pub(crate) max_stale: Duration,
}

impl TtlPolicy {
    /// `max-age` clamped to `[min, max]`, or the default without one.
    pub(crate) fn ttl(&self, max_age: Option<Duration>) -> Duration {
        max_age.map_or(self.default, |age| age.clamp(self.min, self.max))
    }
}

pub(crate) struct Discovery {
    issuer: String,
    /// The metadata member this discovery is for.
    member: &'static str,
    /// OIDC first, then RFC 8414.
    candidates: [Url; 2],
    cached: Mutex<Option<Cached>>,
}

#[derive(Clone)]
struct Cached {
    url: Url,
    fresh_until: Instant,
    stale_until: Instant,
}

impl Discovery {
    pub(crate) fn new(
        issuer: String,
        member: &'static str,
        fetcher: &Fetcher,
    ) -> Result<Self, ConfigError> {
        let base = fetcher.check_url(&issuer)?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(ConfigError::InvalidValue {
                name: "issuer",
                why: "an issuer identifier has no query or fragment (RFC 8414 §2)",
            });
        }
        let path = base.path().trim_end_matches('/');
        let invalid = |_| ConfigError::InvalidValue {
            name: "issuer",
            why: "cannot build the metadata URL",
        };
        // OIDC Discovery §4: append to the issuer. RFC 8414 §3.1: insert between host and path.
        let oidc = Url::parse(&format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))
        .map_err(invalid)?;
        let mut rfc8414 = base.clone();
        rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
        Ok(Self {
            issuer,
            member,
            candidates: [oidc, rfc8414],
            cached: Mutex::new(None),
        })
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    fn cached(&self) -> Option<Cached> {
        self.cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The endpoint, from cache while fresh; a failed refresh falls back to the last good value
    /// within the stale bound.
    pub(crate) async fn endpoint(&self, fetcher: &Fetcher, ttl: &TtlPolicy) -> Result<Url, String> {
        let cached = self.cached();
        let now = Instant::now();
        if let Some(c) = &cached
            && now < c.fresh_until
        {
            return Ok(c.url.clone());
        }
        match self.fetch(fetcher).await {
            Ok((url, max_age)) => {
                let fresh = ttl.ttl(max_age);
                let now = Instant::now();
                *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
                    url: url.clone(),
                    fresh_until: now + fresh,
                    stale_until: now + fresh + ttl.max_stale,
                });
                Ok(url)
            }
            Err(e) => match cached {
                Some(c) if now < c.stale_until => Ok(c.url),
                _ => Err(e),
            },
        }
    }

    async fn fetch(&self, fetcher: &Fetcher) -> Result<(Url, Option<Duration>), String> {
        let mut last_error = String::new();
        for url in &self.candidates {
            let (bytes, max_age) = match fetcher.get_json(url, None).await {
                Ok(Fetched::Body { bytes, max_age, .. }) => (bytes, max_age),
                Ok(Fetched::NotModified { .. }) => return Err("discovery: unexpected 304".into()),
                // Not published at this location: try the next one.
                Err(e) => {
                    last_error = format!("discovery: {e}");
                    continue;
                }
            };
            // A document that exists but names another issuer is an error, not a reason to look
            // elsewhere.
            let url = metadata::endpoint(&bytes, &self.issuer, self.member)?;
            let url = fetcher
                .check_url(&url)
                .map_err(|e| format!("discovery: {} refused: {e}", self.member))?;
            return Ok((url, max_age));
        }
        Err(last_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(issuer: &str) -> [String; 2] {
        let fetcher = Fetcher::new(None, false, Default::default()).unwrap();
        let d = Discovery::new(issuer.into(), "jwks_uri", &fetcher).unwrap();
        d.candidates.map(|u| u.to_string())
    }

    #[test]
    fn metadata_locations() {
        assert_eq!(
            urls("https://login.example.com"),
            [
                "https://login.example.com/.well-known/openid-configuration",
                "https://login.example.com/.well-known/oauth-authorization-server"
            ]
        );
        assert_eq!(
            urls("https://login.example.com/"),
            [
                "https://login.example.com/.well-known/openid-configuration",
                "https://login.example.com/.well-known/oauth-authorization-server"
            ]
        );
        assert_eq!(
            urls("https://login.example.com/tenant/v2"),
            [
                "https://login.example.com/tenant/v2/.well-known/openid-configuration",
                "https://login.example.com/.well-known/oauth-authorization-server/tenant/v2"
            ]
        );
    }

    #[test]
    fn issuer_rules() {
        let fetcher = Fetcher::new(None, false, Default::default()).unwrap();
        assert!(Discovery::new("http://login.example.com".into(), "jwks_uri", &fetcher).is_err());
        assert!(
            Discovery::new(
                "https://login.example.com/?tenant=1".into(),
                "jwks_uri",
                &fetcher
            )
            .is_err()
        );
        assert!(Discovery::new("http://127.0.0.1:8080".into(), "jwks_uri", &fetcher).is_ok());
    }

    #[test]
    fn ttl_clamp() {
        let p = TtlPolicy {
            default: Duration::from_secs(600),
            min: Duration::from_secs(60),
            max: Duration::from_secs(86400),
            max_stale: Duration::ZERO,
        };
        assert_eq!(p.ttl(None), Duration::from_secs(600));
        assert_eq!(p.ttl(Some(Duration::ZERO)), Duration::from_secs(60));
        assert_eq!(
            p.ttl(Some(Duration::from_secs(300))),
            Duration::from_secs(300)
        );
        assert_eq!(
            p.ttl(Some(Duration::from_secs(10 * 86400))),
            Duration::from_secs(86400)
        );
    }
}
