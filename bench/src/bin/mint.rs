//! Writes `data/jwks.json`, `data/token.txt` (one RS256 token, reused by every request) and
//! `data/tokens.txt` (`BENCH_TOKENS` distinct tokens, default 300 000, one per line). The claims
//! are the ~800-byte set of the criterion benchmark; tokens are valid for 24 h. For the `dpop`
//! mode, `data/dpop_key.der` (an ES256 key, PKCS#8) and `data/dpop_token.txt` (the same claims
//! bound to that key by `cnf.jkt`); `mint_proofs` signs the proofs just before each run.

use portcullis::testing::TestIssuer;
use portcullis_bench::{AUDIENCE, ISSUER, data_dir};
use serde_json::json;

fn mint(issuer: &TestIssuer, n: usize) -> String {
    claims(issuer, n).sign().expect("sign")
}

fn claims(issuer: &TestIssuer, n: usize) -> portcullis::testing::TokenBuilder<'_> {
    issuer
        .token()
        .subject(&format!("auth0|5f7c8ec7c33c6c00{n:08}"))
        .scope("openid profile email read:users write:users read:orders offline_access")
        .claim("client_id", "0oa1b2c3d4e5f6g7h8i9")
        .claim("tenant", "acme-corporation-eu-west-1")
        .claim("roles", json!(["admin", "billing", "support"]))
        .claim("azp", "0oa1b2c3d4e5f6g7h8i9")
        .claim("auth_time", 1_700_000_000u64)
        .claim("acr", "urn:mace:incommon:iap:silver")
        .claim("amr", json!(["pwd", "mfa"]))
        .claim("sid", "08a5019c-17e1-4977-8f42-65a12843ea02")
        .expires_in(86_400)
}

fn main() {
    let count: usize = std::env::var("BENCH_TOKENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("data dir");
    let issuer = TestIssuer::new()
        .expect("keys")
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE);
    let mut jwks = issuer.jwks();
    // RS256 only, as every peer is configured.
    jwks["keys"]
        .as_array_mut()
        .expect("keys")
        .retain(|k| k["kty"] == "RSA");
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).expect("write jwks");
    std::fs::write(dir.join("token.txt"), mint(&issuer, 0)).expect("write token");
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let der = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &rng,
    )
    .expect("ES256 key");
    let key =
        portcullis::client::DpopKey::from_pkcs8_der(der.as_ref(), portcullis::Algorithm::ES256)
            .expect("DPoP key");
    let bound = claims(&issuer, 0)
        .claim("cnf", json!({"jkt": key.thumbprint()}))
        .sign()
        .expect("sign");
    std::fs::write(dir.join("dpop_key.der"), der.as_ref()).expect("write DPoP key");
    std::fs::write(dir.join("dpop_token.txt"), bound).expect("write DPoP token");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let issuer = &issuer;
                s.spawn(move || {
                    let mut out = String::new();
                    for n in (1..=count).filter(|n| n % threads == t) {
                        out.push_str(&mint(issuer, n));
                        out.push('\n');
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("mint"))
            .collect()
    });
    std::fs::write(dir.join("tokens.txt"), chunks.concat()).expect("write tokens");
    eprintln!("minted 1 + {count} tokens into {}", dir.display());
}
