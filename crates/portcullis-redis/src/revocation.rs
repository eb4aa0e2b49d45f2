//! The revocation store: one sorted set per service (member: the revocation's canonical text,
//! score: when it can be forgotten), a version string, and a channel announcing each one.
//!
//! The three names share the hash tag `{revocations}`, so in a Redis Cluster they live in one
//! slot and the publishing script may touch them together.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use portcullis_core::revocation::{
    Revocation, RevocationError, RevocationFuture, RevocationSink, RevocationSnapshot,
    RevocationStore,
};

use crate::store::{RedisStore, unavailable};

/// Members read per `ZSCAN` step (1 000): each step stays well under the command timeout, and
/// a set of 1 000 000 loads in 1 000 steps.
const SCAN_BATCH: usize = 1000;

/// The most `ZSCAN` steps one load takes (10 000, ten times what a full default-capacity set
/// needs): a bound on the loop, should the set keep growing while it is read.
const MAX_SCAN_STEPS: usize = 10_000;

/// The largest expiry kept (2^53 s, beyond any real date): Redis scores are doubles, exact up
/// to there.
const MAX_SCORE: u64 = 1 << 53;

/// Adds the member (or moves its expiry later), drops expired members, gives the set a new
/// version and announces the member, atomically.
const PUBLISH: &str = r"
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('SET', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
";

impl RedisStore {
    fn revocation_key(&self, what: &str) -> String {
        format!("{}{{revocations}}:{what}", self.prefix)
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        what: &'static str,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RevocationError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(RevocationError::Unavailable(format!(
                "{what}: {}",
                unavailable(error)
            ))),
            Err(_) => Err(RevocationError::Unavailable(format!("{what}: timed out"))),
        }
    }

    async fn publish_revocation(&self, revocation: &Revocation) -> Result<(), RevocationError> {
        let expiry = revocation
            .expiry()
            .ok_or(RevocationError::Invalid(
                "a published revocation needs its expiry",
            ))?
            .min(MAX_SCORE);
        let revocation = revocation.clone().expires_at(expiry);
        let announcement = revocation
            .to_announcement()
            .ok_or(RevocationError::Invalid(
                "a published revocation needs its expiry",
            ))?;
        let mut connection = self.connection.clone();
        let script = redis::Script::new(PUBLISH);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.revocation_key("set"))
            .key(self.revocation_key("version"))
            .arg(expiry)
            .arg(revocation.to_member())
            .arg(now())
            .arg(new_version())
            .arg(self.revocation_key("announce"))
            .arg(announcement);
        self.run::<i64>("publish", invocation.invoke_async(&mut connection))
            .await
            .map(drop)
    }

    async fn current_version(&self) -> Result<String, RevocationError> {
        let mut connection = self.connection.clone();
        let mut get = redis::cmd("GET");
        get.arg(self.revocation_key("version"));
        let version = self
            .run::<Option<String>>("version", get.query_async(&mut connection))
            .await?;
        Ok(version.unwrap_or_default())
    }

    /// The version first, then every member by `ZSCAN` (which returns each member present for
    /// the whole scan): one added meanwhile arrives by announcement, and changes the version
    /// the next resync compares.
    async fn load_all(&self) -> Result<RevocationSnapshot, RevocationError> {
        let version = self.current_version().await?;
        let key = self.revocation_key("set");
        let now = now();
        let mut connection = self.connection.clone();
        let mut revocations = Vec::new();
        let mut cursor = 0u64;
        for _ in 0..MAX_SCAN_STEPS {
            let mut scan = redis::cmd("ZSCAN");
            scan.arg(&key).arg(cursor).arg("COUNT").arg(SCAN_BATCH);
            let (next, items) = self
                .run::<(u64, Vec<String>)>("load", scan.query_async(&mut connection))
                .await?;
            for pair in items.chunks_exact(2) {
                let [member, score] = pair else { continue };
                let Some(expiry) = parse_score(score) else {
                    tracing::error!(target: "portcullis::audit", event = "revocations", "a revocation with an unreadable expiry in redis");
                    continue;
                };
                if expiry <= now {
                    continue;
                }
                match Revocation::from_member(member, expiry) {
                    Ok(revocation) => revocations.push(revocation),
                    Err(error) => {
                        tracing::error!(target: "portcullis::audit", event = "revocations", error = %error, "an unreadable revocation in redis");
                    }
                }
            }
            if next == 0 {
                return Ok(RevocationSnapshot::new(version, revocations));
            }
            cursor = next;
        }
        Err(RevocationError::Unavailable(
            "load: the set did not finish scanning".into(),
        ))
    }

    /// A connection of its own, subscribed, then a task that forwards each announcement until
    /// the connection drops or the mirror is gone.
    async fn subscribe_announcements(&self, sink: RevocationSink) -> Result<(), RevocationError> {
        let subscribe = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(self.revocation_key("announce")).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = match tokio::time::timeout(self.connect_timeout, subscribe).await {
            Ok(Ok(pubsub)) => pubsub,
            Ok(Err(error)) => {
                return Err(RevocationError::Unavailable(format!(
                    "subscribe: {}",
                    unavailable(error)
                )));
            }
            Err(_) => {
                return Err(RevocationError::Unavailable("subscribe: timed out".into()));
            }
        };
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let Ok(text) = std::str::from_utf8(message.get_payload_bytes()) else {
                    continue;
                };
                match Revocation::from_announcement(text) {
                    Ok(revocation) => {
                        if !sink.deliver(revocation).await {
                            return;
                        }
                    }
                    Err(error) => {
                        tracing::error!(target: "portcullis::audit", event = "revocations", error = %error, "an unreadable revocation announcement");
                    }
                }
            }
        });
        Ok(())
    }
}

impl RevocationStore for RedisStore {
    fn publish<'a>(&'a self, revocation: &'a Revocation) -> RevocationFuture<'a, ()> {
        Box::pin(self.publish_revocation(revocation))
    }

    fn version(&self) -> RevocationFuture<'_, String> {
        Box::pin(self.current_version())
    }

    fn load(&self) -> RevocationFuture<'_, RevocationSnapshot> {
        Box::pin(self.load_all())
    }

    fn subscribe(&self, sink: RevocationSink) -> RevocationFuture<'_, ()> {
        Box::pin(self.subscribe_announcements(sink))
    }
}

/// Seconds since the epoch (0 for a clock before 1970, which keeps every member).
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A version no replica used before: it only has to differ from every earlier one, including
/// those of a Redis that restarted empty (a counter would start again at the same numbers).
fn new_version() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}{:016x}", hasher.finish(), std::process::id())
}

/// A score as Redis prints it: an integer, or a float for one written by something else.
fn parse_score(score: &str) -> Option<u64> {
    score.parse::<u64>().ok().or_else(|| {
        score
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64)
    })
}
