//! Revocation: tokens, sessions and subjects that must stop working before their tokens expire,
//! known to every replica without a round trip per request.
//!
//! A [`Revocation`] names what stops working, always under one issuer: one token (`jti`), one
//! session (`sid`, what an OpenID back-channel logout ends), or every token of a subject or a
//! client issued at or before a time (Keycloak's "not before"). [`Revocations`] holds them in
//! memory (bounded) and, given a [`RevocationStore`], mirrors the fleet's set: loaded at
//! [`start`](RevocationsBuilder::start), kept current by the store's announcements, and resynced
//! in full on an interval. A verifier given [`Revocations`] checks every token against the
//! mirror, cache hits included.
//!
//! What the mirror promises:
//! - a revocation it has seen is enforced until no token it could match can still be valid,
//!   even if the store loses it (a resync adds entries, never drops one);
//! - when the store has not confirmed the mirror for [`max_staleness`](RevocationsBuilder::max_staleness),
//!   every decision is 503 (`revocations_unavailable`) until it does: a replica cut off from the
//!   fleet fails closed, and recovers on its own;
//! - a token valid for longer than the [`retention`](RevocationsBuilder::retention) is refused
//!   (`lifetime_too_long`): a revocation is remembered for that long, so no token may outlive
//!   what is remembered about it.

mod list;
mod revocations;
mod store;
mod wire;

pub use list::DEFAULT_REVOCATION_CAPACITY;
pub use revocations::{
    DEFAULT_MAX_STALENESS, DEFAULT_RESYNC_INTERVAL, DEFAULT_RETENTION, MAX_RETENTION,
    MIN_RESYNC_INTERVAL, MIN_RETENTION, REVOCATIONS_RETRY_AFTER, Revocations, RevocationsBuilder,
};
pub use store::{
    RevocationError, RevocationFuture, RevocationSink, RevocationSnapshot, RevocationStore,
};
pub use wire::{MAX_ISSUER_LEN, MAX_VALUE_LEN};

use std::fmt;

use crate::verifier::Verified;

/// The extra time a token is accepted past its `exp` at most (the largest leeway a verifier
/// takes, [`MAX_LEEWAY`](crate::verifier::MAX_LEEWAY)): every entry is kept that much longer.
const SKEW_MARGIN: u64 = crate::verifier::MAX_LEEWAY.as_secs();

/// What a revocation matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationKind {
    /// The token whose `jti` is the value.
    Token,
    /// Every token whose `sid` (the OpenID session) is the value.
    Session,
    /// Every token whose `sub` is the value, issued at or before the revocation's time.
    Subject,
    /// Every token whose `client_id` is the value, issued at or before the revocation's time.
    Client,
}

impl RevocationKind {
    /// The stable name, for logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            RevocationKind::Token => "token",
            RevocationKind::Session => "session",
            RevocationKind::Subject => "subject",
            RevocationKind::Client => "client",
        }
    }
}

impl fmt::Display for RevocationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One revocation: what stops working, under which issuer, and until when it must be
/// remembered.
///
/// ```
/// use portcullis_core::revocation::Revocation;
///
/// let issuer = "https://id.example.com/";
/// let one = Revocation::token(issuer, "b6a0c2f1");
/// let session = Revocation::session(issuer, "08a5019c-17e1-4977-8f42-65a12843ea02");
/// // Every token alice holds now (a password change, a stolen laptop).
/// let everything = Revocation::subject_before(issuer, "alice", 1_764_000_000);
/// # let _ = (one, session, everything);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub(crate) issuer: String,
    pub(crate) kind: RevocationKind,
    pub(crate) value: String,
    /// For subject and client revocations: tokens issued at or before this second.
    pub(crate) before: Option<u64>,
    /// The second after which it can be forgotten; `None` until [`Revocations`] fills in the
    /// default from its retention.
    pub(crate) expires_at: Option<u64>,
}

impl Revocation {
    fn new(
        issuer: impl Into<String>,
        kind: RevocationKind,
        value: impl Into<String>,
        before: Option<u64>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            kind,
            value: value.into(),
            before,
            expires_at: None,
        }
    }

    /// The token of `issuer` whose `jti` is `jti`. Without [`expires_at`](Self::expires_at) it
    /// is remembered for the retention; [`of_token`](Self::of_token) knows the token's expiry.
    pub fn token(issuer: impl Into<String>, jti: impl Into<String>) -> Self {
        Self::new(issuer, RevocationKind::Token, jti, None)
    }

    /// Every token of `issuer`'s session `sid`.
    pub fn session(issuer: impl Into<String>, sid: impl Into<String>) -> Self {
        Self::new(issuer, RevocationKind::Session, sid, None)
    }

    /// Every token of `issuer` for `subject` issued at or before `before` (seconds since the
    /// epoch; a token issued in that same second is revoked too, since `iat` has no finer
    /// grain). A token without `iat` cannot show it is newer, so it is revoked as well.
    pub fn subject_before(
        issuer: impl Into<String>,
        subject: impl Into<String>,
        before: u64,
    ) -> Self {
        Self::new(issuer, RevocationKind::Subject, subject, Some(before))
    }

    /// Every token of `issuer` for the OAuth client `client_id` (the RFC 9068 `client_id`
    /// claim) issued at or before `before`, as for [`subject_before`](Self::subject_before).
    pub fn client_before(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        before: u64,
    ) -> Self {
        Self::new(issuer, RevocationKind::Client, client_id, Some(before))
    }

    /// The verified token itself, remembered until it expires: what a "log out this token"
    /// endpoint revokes. `None` when the token has no `jti` (revoke its session or subject
    /// instead).
    pub fn of_token<C>(token: &Verified<C>) -> Option<Self> {
        let jti = token.jwt_id()?;
        let mut revocation = Self::token(token.issuer(), jti);
        revocation.expires_at = token
            .expires_at()
            .map(|exp| exp.saturating_add(SKEW_MARGIN));
        Some(revocation)
    }

    /// Remember it until `secs` (seconds since the epoch) instead of for the retention: the
    /// latest `exp` of any token it matches, plus the verifiers' leeway.
    pub fn expires_at(mut self, secs: u64) -> Self {
        self.expires_at = Some(secs);
        self
    }

    /// The issuer whose tokens it concerns.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// What it matches.
    pub fn kind(&self) -> RevocationKind {
        self.kind
    }

    /// The `jti`, `sid`, `sub` or `client_id` it matches.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// For subject and client revocations, the time at or before which tokens are revoked.
    pub fn before(&self) -> Option<u64> {
        self.before
    }

    /// When it can be forgotten, once set (by [`expires_at`](Self::expires_at), or by
    /// [`Revocations`] from its retention).
    pub fn expiry(&self) -> Option<u64> {
        self.expires_at
    }
}
