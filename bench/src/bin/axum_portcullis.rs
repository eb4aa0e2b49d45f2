//! axum + portcullis: `GET /open`, and `GET /protected` behind `AuthLayer` (issuer, audience,
//! RS256 key from the local JWKS file). `BENCH_CACHE=off` disables the verified-token cache.
//! `BENCH_DPOP=required` requires DPoP: proofs up to 300 s old (they are minted before the run)
//! and a replay store large enough for every request of a run.
//! `BENCH_REDIS_URL` puts the replay store on that Redis and adds a revocation mirror of it,
//! holding `BENCH_REVOCATIONS` (default 10 000) revocations of other sessions, so every
//! request's check runs against a populated mirror.
//! `GET /cache` (no token) answers the verified-token cache's size, `entries bytes` (`0 0`
//! with the cache off), for the mixed mode's report.

use axum::{Router, routing::get};
use portcullis::axum::{AuthLayer, Authenticated};
use std::time::Duration;

use portcullis::dpop::{DpopMode, DpopPolicy, MemoryReplayStore};
use portcullis::redis::RedisStore;
use portcullis::revocation::{Revocation, Revocations};
use portcullis::{StaticJwks, TokenCache, Verifier};
use portcullis_bench::{AUDIENCE, ISSUER, jwks};

async fn protected(Authenticated(principal): Authenticated) -> String {
    principal.subject().unwrap_or_default().to_owned()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cache = match std::env::var("BENCH_CACHE").as_deref() {
        Ok("off") => TokenCache::disabled(),
        _ => TokenCache::new(),
    };
    let mut builder = Verifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key_source(StaticJwks::from_json(jwks()).expect("jwks"))
        .token_cache(cache);
    let redis = match std::env::var("BENCH_REDIS_URL") {
        Ok(url) => Some(RedisStore::builder(url).connect().await.expect("redis")),
        Err(_) => None,
    };
    if let Some(store) = &redis {
        let revocations = Revocations::builder()
            .store(store.clone())
            .start()
            .await
            .expect("revocations");
        let count: usize = std::env::var("BENCH_REVOCATIONS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        for i in 0..count {
            revocations
                .revoke(Revocation::session(ISSUER, format!("other-session-{i}")))
                .await
                .expect("revoke");
        }
        builder = builder.revocations(revocations);
    }
    let verifier = builder.build().expect("verifier");
    let usage = {
        let verifier = verifier.clone();
        move || async move {
            verifier
                .token_cache_usage()
                .map_or_else(|| "0 0".to_owned(), |u| format!("{} {}", u.entries, u.bytes))
        }
    };
    let mut layer = AuthLayer::new(verifier);
    if std::env::var("BENCH_DPOP").as_deref() == Ok("required") {
        let policy = DpopPolicy::default()
            .mode(DpopMode::Required)
            .max_age(Duration::from_secs(300))
            .expect("max age");
        let policy = match redis {
            Some(store) => policy.replay_store(store),
            None => policy.replay_store(MemoryReplayStore::new().with_capacity(4_000_000)),
        };
        layer = layer.dpop(policy);
    }
    let app = Router::new()
        .route("/protected", get(protected))
        .layer(layer)
        .route("/open", get(|| async { "ok" }))
        .route("/cache", get(usage));
    let listener = tokio::net::TcpListener::bind(portcullis_bench::addr())
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
