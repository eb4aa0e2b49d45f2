//! One token request in flight for everyone who needs it, and a failure shared rather than
//! repeated: the rule behind both the client-credentials cache and a user session's refresh.
//!
//! A caller takes a [`Turn`] at the gate. While it holds the turn nobody else sends a request;
//! callers queued behind it learn, once they get their own turn, whether an attempt finished
//! while they waited, and take that attempt's outcome instead of asking again. A failure is
//! also shared with anyone who asks within [`RETRY_AFTER_FAILURE`], so a failing endpoint sees
//! at most one request per 2 s however many callers ask.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::Instant;

use super::TokenError;
use super::credentials::RETRY_AFTER_FAILURE;

#[derive(Default)]
pub(super) struct SingleFlight {
    gate: tokio::sync::Mutex<()>,
    /// Completed attempts, so a caller that waited can tell that one finished meanwhile.
    attempts: AtomicU64,
    /// The last failed attempt and when it failed; cleared by a success.
    last_failure: Mutex<Option<(TokenError, Instant)>>,
}

/// The right to send the one request; the gate opens again when it is dropped.
pub(super) struct Turn<'a> {
    flight: &'a SingleFlight,
    _gate: tokio::sync::MutexGuard<'a, ()>,
    waited_out_an_attempt: bool,
}

impl SingleFlight {
    /// The last failure, if it happened within [`RETRY_AFTER_FAILURE`].
    pub(super) fn recent_failure(&self) -> Option<TokenError> {
        self.failure()
            .filter(|(_, at)| at.elapsed() < RETRY_AFTER_FAILURE)
            .map(|(error, _)| error)
    }

    /// Waits for the turn.
    pub(super) async fn turn(&self) -> Turn<'_> {
        let seen = self.attempts.load(Ordering::Acquire);
        let gate = self.gate.lock().await;
        Turn {
            flight: self,
            _gate: gate,
            waited_out_an_attempt: self.attempts.load(Ordering::Acquire) != seen,
        }
    }

    /// The turn if nobody holds it, without waiting.
    pub(super) fn try_turn(&self) -> Option<Turn<'_>> {
        let gate = self.gate.try_lock().ok()?;
        Some(Turn {
            flight: self,
            _gate: gate,
            waited_out_an_attempt: false,
        })
    }

    fn failure(&self) -> Option<(TokenError, Instant)> {
        self.last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Turn<'_> {
    /// Whether an attempt finished while this caller waited for its turn: its result, stored
    /// by whoever made it, is the one to use.
    pub(super) fn waited_out_an_attempt(&self) -> bool {
        self.waited_out_an_attempt
    }

    /// The failure this caller should take instead of asking again: that of an attempt that
    /// finished while it waited, or of one within [`RETRY_AFTER_FAILURE`].
    pub(super) fn shared_failure(&self) -> Option<TokenError> {
        let (error, at) = self.flight.failure()?;
        (self.waited_out_an_attempt || at.elapsed() < RETRY_AFTER_FAILURE).then_some(error)
    }

    /// Makes the attempt and records its outcome for the callers queued behind this one. The
    /// attempt stores its own result before it returns, so a waiter that sees the new count
    /// also sees the result.
    pub(super) async fn attempt<T>(
        self,
        attempt: impl Future<Output = Result<T, TokenError>>,
    ) -> Result<T, TokenError> {
        let outcome = attempt.await;
        *self
            .flight
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = outcome
            .as_ref()
            .err()
            .map(|error| (error.clone(), Instant::now()));
        self.flight.attempts.fetch_add(1, Ordering::Release);
        outcome
    }
}
