//! Security audit events, all under the `tracing` target `portcullis::audit`.
//!
//! Every request an [`Authenticator`](crate::authenticator::Authenticator) decides gets one event:
//! `event = "verify"` when it carried a token (`outcome = "accept" | "reject"`), else
//! `event = "request"` (`outcome = "anonymous"`, or `"reject"` for a missing or malformed
//! credential). A route's requirement adds `event = "authorize"` (`outcome = "deny"`) when it
//! fails. Each of these names the request: `method`, `path`, `uri` (the effective request URI),
//! `peer` and `request_id` (the incoming `x-request-id`, else generated), empty when a
//! [`Verifier`](crate::Verifier) is called directly.
//!
//! Other fields: `reason` (a stable [`Reason`] code), `iss`, `sub`, `kid`, `alg`. Values from a
//! request or a rejected token are unverified: they are truncated to 128 characters, control
//! characters are replaced, and `verified = false` says not to trust them. Key-set events
//! (`key_rejected`, `key_set_truncated`, `jwks_*`) come from the key cache. The token and secrets
//! are never recorded.

use std::fmt;
use std::net::SocketAddr;

use crate::error::Reason;
use crate::json;
use crate::request::RequestId;
use crate::request::context::RequestContext;
use crate::token::{Algorithm, compact};

/// The `tracing` target of every audit event.
pub const TARGET: &str = "portcullis::audit";

/// The longest field value recorded from a request or an unverified token (128 characters).
pub const MAX_FIELD: usize = 128;

/// Whether the request-path events are recorded at all (so their fields are worth collecting).
pub(crate) fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

/// The request an event is about, as fields.
#[derive(Clone, Copy)]
struct At<'a>(Option<&'a RequestContext>);

impl<'a> At<'a> {
    fn detail(self, pick: impl Fn(&'a crate::request::context::Detail) -> &'a str) -> &'a str {
        self.0.and_then(|c| c.detail.as_deref()).map_or("", pick)
    }
    fn method(self) -> &'a str {
        self.detail(|d| &d.method)
    }
    fn path(self) -> &'a str {
        self.detail(|d| &d.path)
    }
    fn uri(self) -> &'a str {
        self.detail(|d| &d.uri)
    }
    fn peer(self) -> Blank<SocketAddr> {
        Blank(self.0.and_then(|c| c.peer))
    }
    fn id(self) -> Blank<&'a RequestId> {
        Blank(self.0.map(|c| &c.id))
    }
}

/// Displays nothing for `None`.
struct Blank<T>(Option<T>);

impl<T: fmt::Display> fmt::Display for Blank<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => Ok(()),
        }
    }
}

/// Makes an untrusted string safe for a log line: bounded length, no control characters.
pub(crate) fn sanitize(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(MAX_FIELD)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if value.chars().nth(MAX_FIELD).is_some() {
        out.push('…');
    }
    out
}

pub(crate) fn accepted(
    iss: &str,
    sub: Option<&str>,
    kid: Option<&str>,
    alg: Option<Algorithm>,
    cached: bool,
    request: Option<&RequestContext>,
) {
    let at = At(request);
    tracing::info!(
        target: TARGET,
        event = "verify",
        outcome = "accept",
        verified = true,
        cached,
        method = at.method(),
        path = at.path(),
        uri = at.uri(),
        peer = %at.peer(),
        request_id = %at.id(),
        iss = sanitize(iss).as_str(),
        sub = sub.map(sanitize).as_deref().unwrap_or(""),
        kid = kid.map(sanitize).as_deref().unwrap_or(""),
        alg = alg.map_or("opaque", Algorithm::name),
    );
}

/// Logs a rejection. The token is re-read leniently here, on the failure path only, so the
/// success path never pays for collecting audit context.
pub(crate) fn rejected(
    reason: Reason,
    token: &str,
    max_len: usize,
    request: Option<&RequestContext>,
) {
    if !enabled() {
        return;
    }
    let ctx = UnverifiedContext::read(token, max_len);
    let at = At(request);
    tracing::info!(
        target: TARGET,
        event = "verify",
        outcome = "reject",
        verified = false,
        reason = reason.code(),
        method = at.method(),
        path = at.path(),
        uri = at.uri(),
        peer = %at.peer(),
        request_id = %at.id(),
        detail = reason.subject().unwrap_or(""),
        iss = ctx.iss.as_deref().unwrap_or(""),
        sub = ctx.sub.as_deref().unwrap_or(""),
        kid = ctx.kid.as_deref().unwrap_or(""),
        alg = ctx.alg.as_deref().unwrap_or(""),
    );
}

pub(crate) fn key_rejected(kid: Option<&str>, why: &'static str) {
    tracing::warn!(
        target: TARGET,
        event = "key_rejected",
        kid = kid.map(sanitize).as_deref().unwrap_or(""),
        reason = why,
    );
}

#[cfg_attr(not(feature = "remote"), allow(dead_code))]
pub(crate) fn jwks_fetched(source: &str, keys: usize) {
    tracing::info!(target: TARGET, event = "jwks_fetched", source, keys);
}

#[cfg_attr(not(feature = "remote"), allow(dead_code))]
pub(crate) fn jwks_fetch_failed(source: &str, error: &str) {
    tracing::warn!(target: TARGET, event = "jwks_fetch_failed", source, error);
}

#[cfg_attr(not(feature = "remote"), allow(dead_code))]
pub(crate) fn jwks_serving_stale(source: &str) {
    tracing::warn!(target: TARGET, event = "jwks_serving_stale", source);
}

/// A client credentials token could not be refreshed ahead of expiry; the still-valid one keeps
/// being served until it expires.
#[cfg(feature = "client")]
pub(crate) fn token_refresh_failed(client_id: &str, error: &dyn fmt::Display) {
    tracing::warn!(
        target: TARGET,
        event = "token_refresh_failed",
        client_id = sanitize(client_id).as_str(),
        error = %error,
    );
}

/// The introspection endpoint could not answer; opaque tokens get 503 meanwhile.
#[cfg(feature = "client")]
pub(crate) fn introspection_failed(issuer: &str, error: &str) {
    tracing::warn!(
        target: TARGET,
        event = "introspection_failed",
        issuer = sanitize(issuer).as_str(),
        error,
    );
}

/// A request decided without verifying a token: anonymous, or refused before any token was read
/// (missing or malformed credential).
pub(crate) fn request(outcome: &'static str, reason: Option<Reason>, request: &RequestContext) {
    let at = At(Some(request));
    tracing::info!(
        target: TARGET,
        event = "request",
        outcome,
        verified = false,
        reason = reason.map_or("", Reason::code),
        method = at.method(),
        path = at.path(),
        uri = at.uri(),
        peer = %at.peer(),
        request_id = %at.id(),
    );
}

/// An extractor or requirement ran on a route without an authenticator: a server bug.
pub(crate) fn no_authenticator() {
    tracing::error!(
        target: TARGET,
        event = "request",
        outcome = "error",
        reason = "no_authenticator",
        detail = "a portcullis extractor or requirement is used on a route without its layer or middleware",
    );
}

/// A verified token's claims do not fit the type a handler asked for.
pub(crate) fn claims_mismatch(iss: &str, sub: Option<&str>, request: Option<&RequestContext>) {
    let at = At(request);
    tracing::info!(
        target: TARGET,
        event = "claims",
        outcome = "reject",
        reason = "claims_type",
        verified = true,
        method = at.method(),
        path = at.path(),
        uri = at.uri(),
        peer = %at.peer(),
        request_id = %at.id(),
        iss = sanitize(iss).as_str(),
        sub = sub.map(sanitize).as_deref().unwrap_or(""),
    );
}

/// A verified token did not meet a route's requirement.
/// `caller` (`iss`, `sub`) is `None` for an anonymous request.
pub(crate) fn denied(
    caller: Option<(&str, Option<&str>)>,
    requirement: &crate::authz::Requirement,
    reason: Reason,
    request: Option<&RequestContext>,
) {
    let at = At(request);
    let (iss, sub) = caller.unwrap_or(("", None));
    tracing::info!(
        target: TARGET,
        event = "authorize",
        outcome = "deny",
        reason = reason.code(),
        verified = caller.is_some(),
        method = at.method(),
        path = at.path(),
        uri = at.uri(),
        peer = %at.peer(),
        request_id = %at.id(),
        iss = sanitize(iss).as_str(),
        sub = sub.map(sanitize).as_deref().unwrap_or(""),
        requirement = %requirement,
    );
}

/// A resolver's configuration for an issuer was unusable; its tokens are rejected.
pub(crate) fn issuer_rejected(issuer: &str, why: &str) {
    tracing::warn!(target: TARGET, event = "issuer_rejected", iss = sanitize(issuer).as_str(), reason = why);
}

pub(crate) fn key_set_truncated(found: usize, kept: usize) {
    tracing::warn!(target: TARGET, event = "key_set_truncated", found, kept);
}

#[derive(Default)]
struct UnverifiedContext {
    iss: Option<String>,
    sub: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
}

impl UnverifiedContext {
    fn read(token: &str, max_len: usize) -> Self {
        let Ok(parts) = compact::split(token, max_len) else {
            return Self::default();
        };
        let field = |segment: &str, name: &str| -> Option<String> {
            let bytes = compact::decode(segment).ok()?;
            let map = json::parse_object(&bytes).ok()?;
            map.get(name)?.as_str().map(sanitize)
        };
        Self {
            iss: field(parts.claims, "iss"),
            sub: field(parts.claims, "sub"),
            kid: field(parts.header, "kid"),
            alg: field(parts.header, "alg"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes() {
        assert_eq!(sanitize("a\nb\u{1b}c"), "a?b?c");
        let long = "x".repeat(500);
        assert_eq!(sanitize(&long).chars().count(), MAX_FIELD + 1);
        assert_eq!(sanitize("short"), "short");
    }
}
