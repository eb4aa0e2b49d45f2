//! axum + portcullis: `GET /open`, and `GET /protected` behind `AuthLayer` (issuer, audience,
//! RS256 key from the local JWKS file). `BENCH_CACHE=off` disables the verified-token cache.

use axum::{Router, routing::get};
use portcullis::axum::{AuthLayer, Authenticated};
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
    let app = Router::new()
        .route("/protected", get(protected))
        .layer(AuthLayer::new(verifier))
        .route("/open", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(portcullis_bench::addr())
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
