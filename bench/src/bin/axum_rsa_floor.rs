//! The floor under any verifier of a new token per request: axum plus one raw aws-lc-rs RS256
//! check of the token's signature (key parsed once), and nothing else: no header or claims
//! parsing, no issuer, audience or time checks. Not a verifier; it measures what the RSA check
//! alone costs a server, so the `distinct` mode has a ceiling measured in the same run.

use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::{Router, routing::get};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// DER `RSAPublicKey` (PKCS #1) from the JWK's big-endian `n` and `e`.
fn rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn tlv(tag: u8, value: &[u8], out: &mut Vec<u8>) {
        out.push(tag);
        match value.len() {
            len @ 0..=0x7f => out.push(len as u8),
            len @ 0x80..=0xff => out.extend([0x81, len as u8]),
            len => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(value);
    }
    let unsigned = |v: &[u8]| {
        let mut int = if v[0] & 0x80 != 0 { vec![0] } else { vec![] };
        int.extend_from_slice(v);
        int
    };
    let mut body = Vec::new();
    tlv(0x02, &unsigned(n), &mut body);
    tlv(0x02, &unsigned(e), &mut body);
    let mut der = Vec::new();
    tlv(0x30, &body, &mut der);
    der
}

async fn protected(State(key): State<Arc<ParsedPublicKey>>, headers: HeaderMap) -> StatusCode {
    let verified = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| portcullis_bench::raw_check(&key, token));
    if verified {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let jwks: serde_json::Value = serde_json::from_str(&portcullis_bench::jwks()).expect("jwks");
    let member = |name: &str| {
        let text = jwks["keys"][0][name].as_str().expect("RSA key member");
        URL_SAFE_NO_PAD.decode(text).expect("base64url")
    };
    let der = rsa_public_key(&member("n"), &member("e"));
    let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).expect("RSA key");
    let app = Router::new()
        .route("/protected", get(protected))
        .with_state(Arc::new(key))
        .route("/open", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(portcullis_bench::addr())
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
