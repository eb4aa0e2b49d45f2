//! The floor under any DPoP verifier: axum plus one raw aws-lc-rs ES256 check of the `DPoP`
//! proof's signature with the key parsed once at start, and nothing else (no header, claims,
//! token, `htu` or replay check). Not a verifier; it measures what the proof's signature alone
//! costs a server, so the `dpop` mode has a ceiling measured in the same run.

use std::sync::Arc;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    ParsedPublicKey,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Router, routing::get};

async fn protected(State(key): State<Arc<ParsedPublicKey>>, headers: HeaderMap) -> StatusCode {
    let verified = headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proof| portcullis_bench::raw_check(&key, proof));
    if verified {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let der =
        std::fs::read(portcullis_bench::data_dir().join("dpop_key.der")).expect("dpop_key.der");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).expect("ES256 key");
    let key = ParsedPublicKey::new(
        &ECDSA_P256_SHA256_FIXED,
        pair.public_key().as_ref().to_vec(),
    )
    .expect("P-256 point");
    let app = Router::new()
        .route("/protected", get(protected))
        .with_state(Arc::new(key))
        .route("/open", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(portcullis_bench::addr())
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
