//! The DPoP replay store: one `SET key 1 NX PX ttl` per accepted proof.

use std::fmt::Write as _;
use std::time::Duration;

use portcullis_core::dpop::{Insert, ReplayFuture, ReplayKey, ReplayStore, ReplayStoreError};

use crate::store::{RedisStore, unavailable};

impl RedisStore {
    /// `<prefix>dpop:<hex of the key>`: fixed length whatever the proof says, since the key is
    /// already SHA-256(thumbprint, `jti`).
    fn replay_key(&self, key: &ReplayKey) -> String {
        let mut name = String::with_capacity(self.prefix.len() + 5 + 64);
        name.push_str(&self.prefix);
        name.push_str("dpop:");
        for b in key.as_bytes() {
            let _ = write!(name, "{b:02x}");
        }
        name
    }

    async fn insert(&self, key: &ReplayKey, ttl: Duration) -> Result<Insert, ReplayStoreError> {
        // Whole milliseconds, rounded up: a record never leaves before its TTL.
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("SET");
        command
            .arg(self.replay_key(key))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ms);
        let set = command.query_async::<Option<String>>(&mut connection);
        // The connection has its own response timeout; this one also bounds a reconnect.
        let answer = tokio::time::timeout(self.timeout, set)
            .await
            .map_err(|_| ReplayStoreError::Unavailable("redis timed out".into()))?;
        match answer {
            Ok(Some(_)) => Ok(Insert::Fresh),
            Ok(None) => Ok(Insert::Replayed),
            Err(error) => Err(ReplayStoreError::Unavailable(
                unavailable(error).to_string(),
            )),
        }
    }
}

impl ReplayStore for RedisStore {
    fn insert_if_absent<'a>(&'a self, key: &'a ReplayKey, ttl: Duration) -> ReplayFuture<'a> {
        Box::pin(self.insert(key, ttl))
    }
}
