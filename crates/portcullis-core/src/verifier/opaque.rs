//! Opaque access tokens: tokens that are not JWS (no `.` in them) are handed to an
//! [`OpaqueTokens`] implementation, such as RFC 7662 introspection (feature `client`,
//! `client::Introspection`), which answers with the token's claims or says it is not active.
//! The claims then go through the same policy as a JWT's: issuer, audience, times, required
//! claims.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::KeySourceError;

/// The future [`OpaqueTokens::claims`] returns.
pub type OpaqueFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Arc<str>>, KeySourceError>> + Send + 'a>>;

/// Resolves opaque tokens to their claims.
pub trait OpaqueTokens: Send + Sync + fmt::Debug + 'static {
    /// The issuer whose tokens this resolves: `iss`, when the claims carry it, must equal it.
    fn issuer(&self) -> &str;

    /// The audiences a token must name one of in `aud` (which is then required).
    fn audiences(&self) -> &[String];

    /// The claims of an active `token` as a JSON object's text, `Ok(None)` when the token is not
    /// active (unknown, expired, revoked), or `Err` when no answer can be had (503).
    fn claims<'a>(&'a self, token: &'a str) -> OpaqueFuture<'a>;
}
