//! Security audit events, all under the `tracing` target `portcullis::audit`.
//!
//! One event per verification decision (`event = "verify"`, `outcome = "accept" | "reject"`),
//! plus key-set events (`event = "key_rejected"`, `"key_set_truncated"`). Fields: `reason` (a
//! stable [`Reason`] code), `iss`, `sub`, `kid`, `alg`. Values from a rejected
//! token are unverified: they are truncated to 128 characters, control characters are replaced,
//! and `verified = false` says not to trust them. The token and secrets are never recorded.

use crate::error::Reason;
use crate::token::{Algorithm, compact, json};

/// The `tracing` target of every audit event.
pub const TARGET: &str = "portcullis::audit";

const MAX_FIELD: usize = 128;

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
) {
    tracing::info!(
        target: TARGET,
        event = "verify",
        outcome = "accept",
        verified = true,
        cached,
        iss = sanitize(iss).as_str(),
        sub = sub.map(sanitize).as_deref().unwrap_or(""),
        kid = kid.map(sanitize).as_deref().unwrap_or(""),
        alg = alg.map_or("opaque", Algorithm::name),
    );
}

/// Logs a rejection. The token is re-read leniently here, on the failure path only, so the
/// success path never pays for collecting audit context.
pub(crate) fn rejected(reason: Reason, token: &str, max_len: usize) {
    let ctx = UnverifiedContext::read(token, max_len);
    tracing::info!(
        target: TARGET,
        event = "verify",
        outcome = "reject",
        verified = false,
        reason = reason.code(),
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
pub(crate) fn token_refresh_failed(client_id: &str, error: &crate::client::TokenError) {
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

/// A verified token's claims do not fit the type a handler asked for.
pub(crate) fn claims_mismatch(iss: &str, sub: Option<&str>) {
    tracing::info!(
        target: TARGET,
        event = "claims",
        outcome = "reject",
        reason = "claims_type",
        verified = true,
        iss = sanitize(iss).as_str(),
        sub = sub.map(sanitize).as_deref().unwrap_or(""),
    );
}

/// A verified token did not meet a route's requirement.
pub(crate) fn denied(iss: &str, sub: Option<&str>, requirement: &crate::authz::Requirement) {
    tracing::info!(
        target: TARGET,
        event = "authorize",
        outcome = "deny",
        reason = "insufficient_scope",
        verified = true,
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
