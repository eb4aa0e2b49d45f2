//! The Redis replay store against a real `redis-server` (one per test): one acceptance per
//! proof across replicas, 503 while Redis is down, recovery without restarting, AUTH and key
//! prefixes.
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
use portcullis_core::authenticator::Authenticator;
use portcullis_core::dpop::{DpopPolicy, Insert, ReplayKey, ReplayStore};
use portcullis_core::render::Rejection;
use portcullis_core::request::RequestView;
use portcullis_core::testing::{DpopKey, HeaderList, TestIssuer};
use portcullis_core::{Algorithm, RequestState};
use portcullis_redis::{RedisError, RedisStore};
use serde_json::json;

const URI: &str = "https://api.example.com/users";

async fn store(redis: &Redis) -> RedisStore {
    RedisStore::builder(redis.url())
        .connect()
        .await
        .expect("connect")
}

/// Two replicas: one verifier configuration each, each its own connection to one Redis.
struct Fleet {
    key: DpopKey,
    token: String,
    replicas: [Authenticator; 2],
}

impl Fleet {
    async fn new(redis: &Redis) -> Self {
        let issuer = TestIssuer::new().unwrap();
        let key = DpopKey::generate(Algorithm::ES256).unwrap();
        let token = issuer
            .token()
            .claim("cnf", json!({"jkt": key.thumbprint()}))
            .sign()
            .unwrap();
        let mut replicas = Vec::new();
        for _ in 0..2 {
            let verifier = issuer.verifier().unwrap().build().unwrap();
            let policy = DpopPolicy::default().replay_store(store(redis).await);
            replicas.push(Authenticator::new(verifier).dpop(policy));
        }
        let replicas = replicas.try_into().unwrap();
        Self {
            key,
            token,
            replicas,
        }
    }

    fn proof(&self) -> String {
        self.key
            .proof("GET", URI)
            .access_token(&self.token)
            .sign()
            .unwrap()
    }

    async fn send(&self, replica: usize, proof: &str) -> Result<RequestState, Rejection> {
        let headers = HeaderList(vec![
            ("authorization", format!("DPoP {}", self.token)),
            ("dpop", proof.to_owned()),
        ]);
        let view = RequestView::new("GET", "/users", &headers)
            .authority(Some("api.example.com"))
            .secure(true);
        self.replicas[replica].authenticate(&view).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_is_fresh_once_for_every_connection_and_expires_in_redis() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (store(&redis).await, store(&redis).await);
    let key = ReplayKey::new("jkt", "jti-1");
    let ttl = Duration::from_secs(70);
    assert_eq!(
        a.insert_if_absent(&key, ttl).await.ok(),
        Some(Insert::Fresh)
    );
    assert_eq!(
        b.insert_if_absent(&key, ttl).await.ok(),
        Some(Insert::Replayed)
    );
    assert_eq!(
        a.insert_if_absent(&key, ttl).await.ok(),
        Some(Insert::Replayed)
    );
    // Redis expires the record: its TTL is the one asked for, read back from the server.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("portcullis:dpop:*")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(
        keys[0].len(),
        "portcullis:dpop:".len() + 64,
        "fixed-length key"
    );
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((60_000..=70_000).contains(&pttl), "{pttl}");
}

/// A proof used at one replica is a replay at the other; 1 000 concurrent presentations of one
/// proof spread over both replicas find exactly one acceptance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_redis_accept_each_proof_once() {
    let Some(redis) = Redis::start() else { return };
    let fleet = std::sync::Arc::new(Fleet::new(&redis).await);
    let proof = fleet.proof();
    assert!(fleet.send(0, &proof).await.is_ok());
    let replayed = fleet.send(1, &proof).await.unwrap_err();
    assert_eq!(replayed.status, 401);

    let proof = std::sync::Arc::new(fleet.proof());
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let (fleet, proof) = (std::sync::Arc::clone(&fleet), std::sync::Arc::clone(&proof));
            tokio::spawn(async move { fleet.send(i % 2, &proof).await.is_ok() })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap());
    }
    assert_eq!(accepted, 1);
}

/// Redis down: 503 with `Retry-After`, never an accept and never a 401. Redis back (empty, on
/// the same port): the same stores accept new proofs without being rebuilt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_503_and_its_return_needs_no_restart() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let fleet = Fleet::new(&redis).await;
    assert!(fleet.send(0, &fleet.proof()).await.is_ok());
    redis.kill();
    for replica in 0..2 {
        let refused = fleet.send(replica, &fleet.proof()).await.unwrap_err();
        assert_eq!(refused.status, 503, "replica {replica}");
        assert!(
            refused.headers.iter().any(|(n, _)| *n == "retry-after"),
            "{:?}",
            refused.headers
        );
    }
    redis.restart_empty();
    let deadline = Instant::now() + Duration::from_secs(10);
    for replica in 0..2 {
        loop {
            match fleet.send(replica, &fleet.proof()).await {
                Ok(_) => break,
                Err(r) => {
                    assert_eq!(r.status, 503, "only 503 while reconnecting");
                    assert!(Instant::now() < deadline, "no reconnect within 10 s");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_come_in_the_url_and_prefixes_keep_services_apart() {
    let Some(redis) = Redis::start_with(Some("s3cret-pass")) else {
        return;
    };
    let with = |url: String| RedisStore::builder(url);
    let good = redis.url();
    assert!(with(good.clone()).connect().await.is_ok());
    let wrong = good.replace("s3cret-pass", "wrong");
    let error = with(wrong).connect().await.unwrap_err();
    assert!(matches!(error, RedisError::Unavailable(_)), "{error}");
    assert!(
        !error.to_string().contains("wrong"),
        "no password in errors: {error}"
    );
    let none = format!("redis://127.0.0.1:{}/0", redis.port);
    assert!(
        with(none).connect().await.is_err(),
        "NOAUTH at the start-up PING"
    );

    let orders = with(good.clone())
        .key_prefix("orders:")
        .connect()
        .await
        .unwrap();
    let billing = with(good.clone())
        .key_prefix("billing:")
        .connect()
        .await
        .unwrap();
    let key = ReplayKey::new("jkt", "shared-jti");
    let ttl = Duration::from_secs(5);
    assert_eq!(
        orders.insert_if_absent(&key, ttl).await.ok(),
        Some(Insert::Fresh)
    );
    assert_eq!(
        billing.insert_if_absent(&key, ttl).await.ok(),
        Some(Insert::Fresh)
    );
    assert!(
        with(good)
            .key_prefix("x".repeat(65))
            .connect()
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_fails_at_start_and_a_bad_url_is_a_config_error() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let url = redis.url();
    redis.kill();
    let started = Instant::now();
    let error = RedisStore::builder(url)
        .connect_timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(error, RedisError::Unavailable(_)), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the timeout"
    );
    let error = RedisStore::builder("http://example.com")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(error, RedisError::Config(_)), "{error}");
}
