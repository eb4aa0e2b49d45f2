//! What a remote key source reports to a health endpoint.

use std::time::UNIX_EPOCH;

use tokio::time::Instant;

use super::state::Shared;
use crate::keys::KeySourceHealth;

impl Shared {
    pub(super) fn health(&self) -> KeySourceHealth {
        let guard = self.current.load();
        let status = self.status();
        let now = Instant::now();
        KeySourceHealth {
            source: self.source_label(),
            keys: guard.as_ref().map_or(0, |l| l.set.len()),
            kids: guard
                .as_ref()
                .map(|l| {
                    l.set
                        .kids()
                        .map(|k| k.unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            age_secs: status
                .last_success
                .map(|(at, _)| now.saturating_duration_since(at).as_secs()),
            last_fetch_unix: status
                .last_success
                .and_then(|(_, at)| at.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
            last_error: status.last_error.clone(),
            fresh: guard.as_ref().is_some_and(|l| now < l.fresh_until),
            serving_stale: guard
                .as_ref()
                .is_some_and(|l| now >= l.fresh_until && now < l.stale_until),
            usable: guard.as_ref().is_some_and(|l| now < l.stale_until),
        }
    }
}
