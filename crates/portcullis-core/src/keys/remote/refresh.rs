//! The background refresh: when to fetch ahead of expiry, and the jitter that keeps replicas
//! apart without ever delaying a refresh past expiry.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::state::Shared;

/// Refresh-ahead: sleeps until the next refresh is due, fetches, repeats. Until a first set is
/// loaded there is nothing to refresh ahead of, so it waits for the first fetch (the first
/// request's, or `warm_up`'s) instead of fetching on a timer of its own. Holds only a weak
/// reference between rounds, and stops as soon as the last handle is dropped.
pub(super) async fn refresh_loop(
    shared: std::sync::Weak<Shared>,
    fetched: Arc<Notify>,
    stop: Arc<Notify>,
) {
    loop {
        let Some(due) = shared.upgrade().map(|s| s.next_refresh_in()) else {
            return;
        };
        let woken = async {
            match due {
                Some(delay) => tokio::time::sleep(delay).await,
                None => fetched.notified().await,
            }
        };
        tokio::select! {
            () = woken => {}
            () = stop.notified() => return,
        }
        let Some(strong) = shared.upgrade() else {
            return;
        };
        // A wake-up from a fetch only means "plan again"; a due refresh fetches. Failures are
        // recorded (status, audit, metric) inside; the loop just plans the retry.
        if due.is_some() {
            let _ = strong.fetch_shared(false).await;
        }
    }
}

impl Shared {
    /// Time until the background task should fetch: `refresh_ahead` before expiry, or one
    /// cooldown after a failure; `None` while nothing was ever fetched (there is nothing to
    /// refresh yet, and a timer of its own would spend the unknown-kid cooldown's budget for
    /// nothing). Jittered ([`jitter`]) so replicas do not fetch in lockstep.
    fn next_refresh_in(&self) -> Option<Duration> {
        let failed = self.status().last_error.is_some();
        let due = match self.current.load().as_ref() {
            Some(loaded) if !failed => loaded
                .fresh_until
                .saturating_duration_since(Instant::now())
                .saturating_sub(self.policy.refresh_ahead),
            _ if failed => self.policy.kid_cooldown,
            _ => return None,
        };
        Some(jitter(due.max(MIN_REFRESH_DELAY), clock_noise()))
    }
}

/// The background task never sleeps less than this between rounds, whatever a short TTL says.
const MIN_REFRESH_DELAY: Duration = Duration::from_millis(100);

/// A delay shortened by 0 to 10 %, never lengthened: a refresh planned `refresh_ahead` before
/// expiry must not slide past expiry (a longer delay would have a healthy issuer's set served
/// stale). `noise` is any number; its value modulo 1001 picks the cut.
fn jitter(d: Duration, noise: u32) -> Duration {
    d.mul_f64(1.0 - f64::from(noise % 1001) / 10_000.0)
}

/// The clock's sub-second nanoseconds: enough to spread replicas, no randomness needed.
fn clock_noise() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_only_shortens_by_at_most_a_tenth() {
        let d = Duration::from_secs(570);
        let mut shortest = d;
        for noise in (0..2_000_000u32).step_by(7) {
            let j = jitter(d, noise);
            assert!(j <= d, "{noise}: {j:?} is later than {d:?}");
            assert!(
                j >= d.mul_f64(0.9),
                "{noise}: {j:?} is more than 10 % early"
            );
            shortest = shortest.min(j);
        }
        assert_eq!(jitter(d, 0), d);
        assert_eq!(jitter(d, 1000), Duration::from_secs(513));
        assert!(shortest < d.mul_f64(0.901), "the whole range is used");
    }
}
