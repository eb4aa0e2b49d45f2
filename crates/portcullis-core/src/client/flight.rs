//! The client's token requests on the crate's [`SingleFlight`], plus the rule both the
//! client-credentials cache and a user session's refresh follow: a failure is shared rather than
//! repeated. Anyone who asks within [`RETRY_AFTER_FAILURE`] of a failed attempt, or who waited
//! out an attempt that failed, takes that failure, so a failing endpoint sees at most one request
//! per 2 s however many callers ask.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::TokenError;
use crate::single_flight::{SingleFlight, Turn};

/// After a failed token request, the same request is not sent again for 2 s: callers get the
/// failure (or the still-valid token) meanwhile, so a failing endpoint sees at most one request
/// per 2 s per token request, however many callers ask.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(super) struct TokenFlight {
    flight: SingleFlight,
    /// The last failed attempt and when it failed; cleared by a success.
    last_failure: Mutex<Option<(TokenError, Instant)>>,
}

/// The right to send the one request.
pub(super) struct TokenTurn<'a> {
    owner: &'a TokenFlight,
    turn: Turn<'a>,
}

impl TokenFlight {
    /// The last failure, if it happened within [`RETRY_AFTER_FAILURE`].
    pub(super) fn recent_failure(&self) -> Option<TokenError> {
        self.failure()
            .filter(|(_, at)| at.elapsed() < RETRY_AFTER_FAILURE)
            .map(|(error, _)| error)
    }

    /// Waits for the turn.
    pub(super) async fn turn(&self) -> TokenTurn<'_> {
        TokenTurn {
            owner: self,
            turn: self.flight.turn().await,
        }
    }

    /// The turn if nobody holds it, without waiting.
    pub(super) fn try_turn(&self) -> Option<TokenTurn<'_>> {
        Some(TokenTurn {
            owner: self,
            turn: self.flight.try_turn()?,
        })
    }

    fn failure(&self) -> Option<(TokenError, Instant)> {
        self.last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl TokenTurn<'_> {
    /// Whether an attempt finished while this caller waited for its turn.
    pub(super) fn waited_out_an_attempt(&self) -> bool {
        self.turn.waited_out_an_attempt()
    }

    /// The failure this caller should take instead of asking again: that of an attempt that
    /// finished while it waited, or of one within [`RETRY_AFTER_FAILURE`].
    pub(super) fn shared_failure(&self) -> Option<TokenError> {
        let (error, at) = self.owner.failure()?;
        (self.waited_out_an_attempt() || at.elapsed() < RETRY_AFTER_FAILURE).then_some(error)
    }

    /// Makes the attempt and records its outcome for the callers queued behind this one.
    pub(super) async fn attempt<T>(
        self,
        attempt: impl Future<Output = Result<T, TokenError>>,
    ) -> Result<T, TokenError> {
        let owner = self.owner;
        self.turn
            .attempt(async {
                let outcome = attempt.await;
                *owner.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = outcome
                    .as_ref()
                    .err()
                    .map(|error| (error.clone(), Instant::now()));
                outcome
            })
            .await
    }
}
