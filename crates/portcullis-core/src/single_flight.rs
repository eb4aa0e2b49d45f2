//! One attempt in flight for everyone who needs it: the key cache's fetches and the client's
//! token requests both take a [`Turn`] here.
//!
//! A caller takes a turn at the gate; while it holds it nobody else makes an attempt. A caller
//! that queued behind it learns, once it gets its own turn, whether an attempt finished while it
//! waited ([`Turn::waited_out_an_attempt`]), and then uses that attempt's stored result instead of
//! making another. What "the stored result" is belongs to the caller (a key set, a token, a
//! failure to share): this only orders the attempts and counts them.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

/// The gate and the count of completed attempts.
#[derive(Debug, Default)]
pub(crate) struct SingleFlight {
    gate: tokio::sync::Mutex<()>,
    attempts: AtomicU64,
}

/// The right to make the one attempt; the gate opens again when it is dropped.
pub(crate) struct Turn<'a> {
    flight: &'a SingleFlight,
    _gate: tokio::sync::MutexGuard<'a, ()>,
    waited_out_an_attempt: bool,
}

impl SingleFlight {
    /// Waits for the turn.
    pub(crate) async fn turn(&self) -> Turn<'_> {
        let seen = self.attempts.load(Ordering::Acquire);
        let gate = self.gate.lock().await;
        Turn {
            flight: self,
            _gate: gate,
            waited_out_an_attempt: self.attempts.load(Ordering::Acquire) != seen,
        }
    }

    /// The turn if nobody holds it, without waiting (the client's refresh-ahead, which must
    /// never make a caller wait).
    #[cfg(feature = "client")]
    pub(crate) fn try_turn(&self) -> Option<Turn<'_>> {
        let gate = self.gate.try_lock().ok()?;
        Some(Turn {
            flight: self,
            _gate: gate,
            waited_out_an_attempt: false,
        })
    }
}

impl Turn<'_> {
    /// Whether an attempt finished while this caller waited for its turn: its result, stored by
    /// whoever made it, is the one to use.
    pub(crate) fn waited_out_an_attempt(&self) -> bool {
        self.waited_out_an_attempt
    }

    /// Makes the attempt. The attempt must store its result before it completes: a waiter that
    /// sees the count move reads that result.
    pub(crate) async fn attempt<F: Future>(self, attempt: F) -> F::Output {
        let outcome = attempt.await;
        self.flight.attempts.fetch_add(1, Ordering::Release);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_attempt() {
        let flight = Arc::new(SingleFlight::default());
        let made = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..100)
            .map(|_| {
                let (flight, made) = (Arc::clone(&flight), Arc::clone(&made));
                tokio::spawn(async move {
                    let turn = flight.turn().await;
                    if turn.waited_out_an_attempt() {
                        return false;
                    }
                    turn.attempt(async {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        made.fetch_add(1, Ordering::SeqCst);
                    })
                    .await;
                    true
                })
            })
            .collect();
        let mut attempted = 0;
        for caller in callers {
            attempted += usize::from(caller.await.unwrap_or(false));
        }
        assert_eq!(
            made.load(Ordering::SeqCst),
            1,
            "one attempt for 100 callers"
        );
        assert_eq!(attempted, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_caller_attempts_again() {
        let flight = SingleFlight::default();
        flight.turn().await.attempt(async {}).await;
        let turn = flight.turn().await;
        assert!(
            !turn.waited_out_an_attempt(),
            "nothing finished while it waited"
        );
    }

    #[cfg(feature = "client")]
    #[tokio::test(start_paused = true)]
    async fn try_turn_does_not_wait() {
        let flight = SingleFlight::default();
        let held = flight.turn().await;
        assert!(flight.try_turn().is_none());
        drop(held);
        assert!(flight.try_turn().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_turn_counts_no_attempt() {
        let flight = SingleFlight::default();
        drop(flight.turn().await);
        let turn = flight.turn().await;
        assert!(!turn.waited_out_an_attempt());
    }
}
