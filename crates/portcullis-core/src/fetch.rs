//! Fetching a JSON document under hard limits: the one HTTP stack of the crate, shared by the
//! key cache (JWK Sets, discovery documents) and the client flows (token, introspection, device
//! and revocation endpoints).
//!
//! Everything here fails closed and small: https only (plain http for loopback hosts or an explicit
//! `dangerous` opt-in), no redirects, 2 s to connect, 5 s in all, 64 KiB of body, status 200 (or
//! 304 for a conditional request) and a JSON media type.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::{StatusCode, Url};

use crate::error::ConfigError;

/// Connect timeout of the default client: 2 s (a reachable issuer answers in milliseconds).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Total timeout of one fetch: 5 s (jose uses the same).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest accepted body: 64 KiB (real key sets are 1-10 KiB; Nimbus caps at 50 KB).
pub const MAX_BODY: usize = 64 * 1024;

/// The HTTP side of a remote source: the client and the URL rule.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    allow_http: bool,
    limits: Limits,
}

/// The limits of one fetch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connect: Duration,
    pub(crate) total: Duration,
    pub(crate) max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect: CONNECT_TIMEOUT,
            total: FETCH_TIMEOUT,
            max_body: MAX_BODY,
        }
    }
}

/// What one fetch produced.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// 304: the cached document is still current.
    NotModified { max_age: Option<Duration> },
    /// 200 with a JSON body.
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        max_age: Option<Duration>,
    },
}

impl Fetcher {
    /// With `client: None`, a client with the limits above, rustls, and no redirects.
    pub(crate) fn new(
        client: Option<reqwest::Client>,
        allow_http: bool,
        limits: Limits,
    ) -> Result<Self, ConfigError> {
        let client = match client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(limits.connect)
                .timeout(limits.total)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|_| ConfigError::InvalidValue {
                    name: "http client",
                    why: "the TLS backend could not be initialised",
                })?,
        };
        Ok(Self {
            client,
            allow_http,
            limits,
        })
    }

    /// The deadline of one fetch, enforced around any client (a caller's too).
    pub(crate) fn deadline(&self) -> Duration {
        self.limits.total
    }

    /// Parses `url` and applies the https rule.
    pub(crate) fn check_url(&self, url: &str) -> Result<Url, ConfigError> {
        check_url(url, self.allow_http)
    }

    /// GETs `url` (conditionally when `etag` is given). Errors are short strings for the audit
    /// log: they never include the body.
    pub(crate) async fn get_json(&self, url: &Url, etag: Option<&str>) -> Result<Fetched, String> {
        let mut request = self.client.get(url.clone()).header(
            reqwest::header::ACCEPT,
            "application/jwk-set+json, application/json",
        );
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let mut response = request.send().await.map_err(describe)?;
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_MODIFIED if etag.is_some() => {
                return Ok(Fetched::NotModified { max_age });
            }
            status => return Err(format!("status {}", status.as_u16())),
        }
        let json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        if !json {
            return Err("content type is not JSON".into());
        }
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let max_body = self.limits.max_body;
        if declared.is_some_and(|len| len > max_body as u64) {
            return Err(format!("body larger than {max_body} bytes"));
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::with_capacity(declared.map_or(8 * 1024, |l| l as usize));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| "body read failed".to_owned())?
        {
            if bytes.len() + chunk.len() > max_body {
                return Err(format!("body larger than {max_body} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            bytes,
            etag,
            max_age,
        })
    }
}

#[cfg(feature = "client")]
impl Fetcher {
    /// Sends one request of the OAuth 2.0 client flows under the same limits: the deadline, no
    /// redirects, and at most `max_body` bytes of response. Any status is returned (error
    /// responses carry the RFC 6749 `error` code); errors are short strings without bodies.
    pub(crate) async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, String> {
        let request = reqwest::Request::try_from(request).map_err(|_| "invalid request")?;
        let max_body = self.limits.max_body;
        let exchange = async {
            let mut response = self.client.execute(request).await.map_err(describe)?;
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|_| "body read failed".to_owned())?
            {
                if body.len() + chunk.len() > max_body {
                    return Err(format!("body larger than {max_body} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            builder
                .body(body)
                .map_err(|_| "invalid response".to_owned())
        };
        tokio::time::timeout(self.limits.total, exchange)
            .await
            .map_err(|_| "timed out".to_owned())?
    }
}

/// Whether `url` names this host: `localhost` or a loopback address.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// https, or http to a loopback host (tests, sidecars), or http anywhere with the dangerous opt-in.
pub(crate) fn check_url(url: &str, allow_http: bool) -> Result<Url, ConfigError> {
    let parsed = Url::parse(url).map_err(|_| ConfigError::InvalidValue {
        name: "url",
        why: "not an absolute URL",
    })?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) || allow_http => {}
        _ => {
            return Err(ConfigError::InvalidValue {
                name: "url",
                why: "must be https (plain http only for loopback hosts or with dangerous_allow_http)",
            });
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ConfigError::InvalidValue {
            name: "url",
            why: "must not carry credentials",
        });
    }
    Ok(parsed)
}

/// `application/json`, `application/jwk-set+json` or any `+json` type, parameters ignored.
pub(crate) fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case("application/json")
        || media
            .get(media.len().saturating_sub(5)..)
            .is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"))
            && media.len() > 17
            && media
                .get(..12)
                .is_some_and(|p| p.eq_ignore_ascii_case("application/"))
}

/// `max-age` from `Cache-Control`, or zero for `no-store` / `no-cache` (the caller clamps).
fn max_age(cache_control: &str) -> Option<Duration> {
    let mut result = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache")
        {
            return Some(Duration::ZERO);
        }
        if let Some((name, value)) = directive.split_once('=')
            && name.trim().eq_ignore_ascii_case("max-age")
            && let Ok(secs) = value.trim().trim_matches('"').parse::<u64>()
        {
            result = Some(Duration::from_secs(secs));
        }
    }
    result
}

/// A transport error without its URL (the URL is in the event already) or body.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_redirect() {
        "redirect refused"
    } else if e.is_body() || e.is_decode() {
        "body read failed"
    } else {
        "request failed"
    };
    kind.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rule() {
        assert!(check_url("https://issuer.example/jwks", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks", false).is_ok());
        assert!(check_url("http://localhost/jwks", false).is_ok());
        assert!(check_url("http://[::1]:9/jwks", false).is_ok());
        assert!(check_url("http://issuer.example/jwks", false).is_err());
        assert!(check_url("http://issuer.example/jwks", true).is_ok());
        assert!(check_url("http://127.0.0.1.evil.example/jwks", false).is_err());
        assert!(check_url("ftp://issuer.example/jwks", true).is_err());
        assert!(check_url("https://user:pw@issuer.example/jwks", false).is_err());
        assert!(check_url("/jwks", false).is_err());
    }

    #[test]
    fn json_media_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/jwk-set+json",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in [
            "text/html",
            "text/json",
            "application/jsonp",
            "application/+json",
            "+json",
            "",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
    }

    #[test]
    fn cache_control() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("max-age=\"60\""), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-store, max-age=300"), Some(Duration::ZERO));
        assert_eq!(max_age("private"), None);
        assert_eq!(max_age("max-age=-1"), None);
    }
}
