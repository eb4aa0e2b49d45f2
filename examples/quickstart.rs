//! The portcullis tour, with nothing to install or configure:
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! It starts an embedded test issuer (real RSA, EC and Ed25519 keys, JWKS and discovery served on
//! 127.0.0.1), builds a `Verifier` for it, mints a good token and a handful of hostile ones, and
//! prints what a client of your API would get back for each: the HTTP status and the RFC 6750
//! `WWW-Authenticate` challenge. The audit log (target `portcullis::audit`, on stderr) shows the
//! reason behind every decision; set `RUST_LOG=portcullis::audit=off` to hide it.
//!
//! The axum and actix-web adapters, which turn this into middleware, arrive in a later release.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use portcullis::challenge::ChallengeOptions;
use portcullis::keys::RemoteJwks;
use portcullis::testing::TestIssuer;
use portcullis::{Algorithm, Challenge, Verifier};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "portcullis::audit=info".into()),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let (issuer, server) = TestIssuer::serve().await?;
    println!("test issuer    {}", issuer.issuer());
    println!("its JWKS       {}\n", server.jwks_url());

    // Keys come from the issuer's discovery document and JWKS, cached and refreshed in the
    // background; warm_up() fetches now so a bad issuer URL fails at start-up.
    let keys = RemoteJwks::discover(issuer.issuer()).build()?;
    keys.warm_up().await?;
    let verifier = Verifier::builder()
        .issuer(issuer.issuer())
        .audience(issuer.audience())
        .require_at_jwt()
        .key_source(keys)
        .build()?;
    let render = ChallengeOptions::default().realm("quickstart")?;

    let good = issuer.token().subject("alice").scope("read:users").sign()?;
    let cases = [
        ("valid RS256 token", good.clone()),
        (
            "valid EdDSA token",
            issuer.token().alg(Algorithm::EdDSA).subject("bob").sign()?,
        ),
        (
            "expired an hour ago",
            issuer.token().expires_in(-3600).sign()?,
        ),
        (
            "meant for another API",
            issuer.token().audience("https://billing.example").sign()?,
        ),
        ("alg: none", issuer.token().header("alg", "none").sign()?),
        ("signature tampered", tamper(&good)),
        (
            "unknown signing key",
            issuer.token().kid("rotated-away").sign()?,
        ),
        (
            "an ID token, not an access token",
            issuer.token().header("typ", "JWT").sign()?,
        ),
    ];

    for (name, token) in cases {
        match verifier.verify::<Value>(&token).await {
            Ok(ok) => println!(
                "{name:<42} -> 200  sub={} scopes=[{}]",
                ok.subject().unwrap_or("-"),
                ok.scopes().collect::<Vec<_>>().join(" ")
            ),
            Err(err) => {
                let c = Challenge::from_error(&err, &render);
                println!(
                    "{name:<42} -> {}  WWW-Authenticate: {}",
                    c.status,
                    c.www_authenticate.unwrap_or_default()
                );
            }
        }
    }
    println!("\ntry it yourself:\n  token={good}");
    Ok(())
}

/// Flips one character in the middle of the signature.
fn tamper(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let i = token.len() - 20;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap_or_default()
}
