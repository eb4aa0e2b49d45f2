//! axum + portcullis: `GET /open`, and `GET /protected` behind `AuthLayer` (issuer, audience,
//! RS256 key from the local JWKS file). `BENCH_CACHE=off` disables the verified-token cache.
//! `BENCH_DPOP=required` requires DPoP: proofs up to 300 s old (they are minted before the run)
//! and a replay store large enough for every request of a run.

use axum::{Router, routing::get};
use portcullis::axum::{AuthLayer, Authenticated};
use std::time::Duration;

use portcullis::dpop::{DpopMode, DpopPolicy, MemoryReplayStore};
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
    let verifier = Verifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key_source(StaticJwks::from_json(jwks()).expect("jwks"))
        .token_cache(cache)
        .build()
        .expect("verifier");
    let mut layer = AuthLayer::new(verifier);
    if std::env::var("BENCH_DPOP").as_deref() == Ok("required") {
        layer = layer.dpop(
            DpopPolicy::default()
                .mode(DpopMode::Required)
                .max_age(Duration::from_secs(300))
                .expect("max age")
                .replay_store(MemoryReplayStore::new().with_capacity(4_000_000)),
        );
    }
    let app = Router::new()
        .route("/protected", get(protected))
        .layer(layer)
        .route("/open", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(portcullis_bench::addr())
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
