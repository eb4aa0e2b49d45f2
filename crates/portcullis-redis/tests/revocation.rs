//! The Redis revocation store against a real `redis-server` (one per test), with two mirrors
//! as two replicas: a revocation at one is enforced at the other (and the propagation delay
//! over 1 000 revocations is printed); Redis killed → the mirror decides within its bound,
//! then 503, then recovers on its own; Redis restarted empty → what the mirrors held stays
//! enforced; the key layout and an unreadable member.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

#[path = "common/redis.rs"]
mod common;

use std::time::{Duration, Instant};

use common::Redis;
use portcullis_core::revocation::{Revocation, RevocationError, Revocations};
use portcullis_core::testing::TestIssuer;
use portcullis_core::{Reason, Verifier};
use portcullis_redis::RedisStore;
use serde_json::Value;

const RESYNC: Duration = Duration::from_millis(200);
const STALENESS: Duration = Duration::from_secs(1);

struct Replica {
    revocations: Revocations,
    verifier: Verifier,
}

async fn replica(redis: &Redis, issuer: &TestIssuer) -> Result<Replica, RevocationError> {
    let store = RedisStore::builder(redis.url())
        .connect()
        .await
        .map_err(|e| RevocationError::Unavailable(e.to_string()))?;
    let revocations = Revocations::builder()
        .store(store)
        .resync_interval(RESYNC)
        .max_staleness(STALENESS)
        .start()
        .await?;
    let verifier = issuer
        .verifier()
        .unwrap()
        .revocations(revocations.clone())
        .build()
        .unwrap();
    Ok(Replica {
        revocations,
        verifier,
    })
}

async fn reason(replica: &Replica, token: &str) -> Option<Reason> {
    replica
        .verifier
        .verify::<Value>(token)
        .await
        .err()
        .map(|e| e.reason())
}

/// Polls `done` for at most `limit`, yielding between polls (a sleep would round every
/// measured delay up to the timer's millisecond).
async fn within(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Some(start.elapsed());
        }
        tokio::task::yield_now().await;
    }
    None
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_at_one_replica_is_enforced_at_the_other() {
    let Some(redis) = Redis::start() else { return };
    let issuer = TestIssuer::new().unwrap();
    let a = replica(&redis, &issuer).await.unwrap();
    let b = replica(&redis, &issuer).await.unwrap();
    let token = issuer.token().claim("sid", "s-1").sign().unwrap();
    assert_eq!(reason(&b, &token).await, None);
    a.revocations
        .revoke(Revocation::session(issuer.issuer(), "s-1"))
        .await
        .unwrap();
    within(Duration::from_secs(5), || b.revocations.len() == 1)
        .await
        .expect("announced within 5 s");
    assert_eq!(reason(&b, &token).await, Some(Reason::Revoked));
    // A replica started afterwards loads it.
    let c = replica(&redis, &issuer).await.unwrap();
    assert_eq!(reason(&c, &token).await, Some(Reason::Revoked));

    // The propagation delay: from the call at A to B's mirror holding it.
    let mut delays = Vec::with_capacity(1000);
    for i in 0..1000 {
        let start = Instant::now();
        a.revocations
            .revoke(Revocation::token(issuer.issuer(), format!("jti-{i}")))
            .await
            .unwrap();
        within(Duration::from_secs(5), || b.revocations.len() == i + 2)
            .await
            .expect("announced within 5 s");
        delays.push(start.elapsed());
    }
    delays.sort();
    println!(
        "propagation over 1000 revocations: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays[999]
    );
    let last = issuer.token().claim("jti", "jti-999").sign().unwrap();
    assert_eq!(reason(&b, &last).await, Some(Reason::Revoked));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_at_start_fails_the_start() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let store = RedisStore::builder(redis.url()).connect().await.unwrap();
    redis.kill();
    let started = Revocations::builder().store(store).start().await;
    assert!(matches!(started, Err(RevocationError::Unavailable(_))));
}

/// Redis killed: within the bound the mirror decides (a revoked token stays refused, never a
/// 200); past it every decision is 503; Redis back, empty, on the same port: the mirrors
/// recover without a restart, still enforce what they held, and hear new revocations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_fails_closed_past_the_bound_and_recovers_on_its_own() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let issuer = TestIssuer::new().unwrap();
    let a = replica(&redis, &issuer).await.unwrap();
    let b = replica(&redis, &issuer).await.unwrap();
    let revoked = issuer.token().subject("alice").sign().unwrap();
    let fine = issuer.token().subject("bob").sign().unwrap();
    a.revocations
        .revoke(Revocation::subject_before(
            issuer.issuer(),
            "alice",
            issuer_now(),
        ))
        .await
        .unwrap();
    within(Duration::from_secs(5), || b.revocations.len() == 1)
        .await
        .expect("announced");
    redis.kill();
    let started = Instant::now();
    while started.elapsed() < STALENESS * 3 {
        for replica in [&a, &b] {
            match reason(replica, &revoked).await {
                Some(Reason::Revoked) => {}
                Some(Reason::RevocationsUnavailable) => {}
                other => panic!("a revoked token: {other:?}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for replica in [&a, &b] {
        assert!(!replica.revocations.is_current());
        assert_eq!(
            reason(replica, &fine).await,
            Some(Reason::RevocationsUnavailable),
            "past the bound, nothing is accepted"
        );
    }
    // A revocation made while Redis is down holds locally and reports the failure.
    let carol = issuer.token().subject("carol").sign().unwrap();
    let local = a
        .revocations
        .revoke(Revocation::subject_before(
            issuer.issuer(),
            "carol",
            issuer_now(),
        ))
        .await;
    assert!(matches!(local, Err(RevocationError::Unavailable(_))));

    redis.restart_empty();
    for replica in [&a, &b] {
        within(Duration::from_secs(10), || replica.revocations.is_current())
            .await
            .expect("current again within 10 s");
        assert_eq!(reason(replica, &fine).await, None);
        assert_eq!(
            reason(replica, &revoked).await,
            Some(Reason::Revoked),
            "the emptied Redis does not make the mirror forget"
        );
    }
    assert_eq!(reason(&a, &carol).await, Some(Reason::Revoked));
    // Subscribed again: a new revocation reaches the other replica.
    let held = b.revocations.len();
    a.revocations
        .revoke(Revocation::subject_before(
            issuer.issuer(),
            "bob",
            issuer_now(),
        ))
        .await
        .unwrap();
    within(Duration::from_secs(5), || b.revocations.len() == held + 1)
        .await
        .expect("announced after the restart");
    assert_eq!(reason(&b, &fine).await, Some(Reason::Revoked));
}

fn issuer_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_share_one_slot_and_an_unreadable_member_is_skipped() {
    let Some(redis) = Redis::start() else { return };
    let issuer = TestIssuer::new().unwrap();
    let store = RedisStore::builder(redis.url())
        .key_prefix("orders:")
        .connect()
        .await
        .unwrap();
    let revocations = Revocations::builder()
        .store(store.clone())
        .start()
        .await
        .unwrap();
    // Read once: two reads of the wall clock can straddle a second.
    let expires = issuer_now() + 600;
    revocations
        .revoke(Revocation::token(issuer.issuer(), "j-1").expires_at(expires))
        .await
        .unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut raw)
        .await
        .unwrap();
    keys.sort();
    assert_eq!(
        keys,
        ["orders:{revocations}:set", "orders:{revocations}:version"]
    );
    let member = Revocation::token(issuer.issuer(), "j-1").to_member();
    let score: u64 = redis::cmd("ZSCORE")
        .arg("orders:{revocations}:set")
        .arg(&member)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(score, expires);
    let _: i64 = redis::cmd("ZADD")
        .arg("orders:{revocations}:set")
        .arg(expires)
        .arg("not a revocation")
        .query_async(&mut raw)
        .await
        .unwrap();
    let fresh = Revocations::builder().store(store).start().await.unwrap();
    assert_eq!(fresh.len(), 1, "the readable one is loaded");
}
