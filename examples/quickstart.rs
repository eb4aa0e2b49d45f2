//! The portcullis tour, with nothing to install or configure:
//!
//! ```text
//! cargo run --example quickstart            # serve until Ctrl-C
//! cargo run --example quickstart -- --once  # exit after the self-demo
//! ```
//!
//! It starts an embedded test issuer (real RSA, EC and Ed25519 keys; JWKS and OIDC discovery on
//! 127.0.0.1) and an axum API on 127.0.0.1 with three routes:
//!
//! - `GET /public`: no authentication;
//! - `GET /me`: any valid access token;
//! - `GET /admin`: a token with the `read:users` scope.
//!
//! It mints a token for a reader and one for an admin, prints ready-to-paste curl commands, then
//! makes those requests itself (plus a few hostile ones) and prints each outcome: 200, or
//! 401 / 403 with the RFC 6750 challenge. The audit log (target `portcullis::audit`) goes to
//! stderr; `RUST_LOG=portcullis::audit=off` hides it.
//!
//! In your application, depend on `portcullis` with the `axum` feature and write
//! `portcullis::axum::{AuthLayer, Claims, require}`; this example names the adapter crate
//! directly so that it runs without feature flags.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use portcullis::Verifier;
use portcullis::authz::scope;
use portcullis::keys::RemoteJwks;
use portcullis::testing::TestIssuer;
use portcullis_axum::{AuthLayer, Claims, require};
use serde_json::Value;

async fn me(claims: Claims<Value>) -> String {
    format!("hello {}", claims.subject().unwrap_or("?"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let once = std::env::args().any(|a| a == "--once");
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "portcullis::audit=info".into()),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    // The issuer: in production this is your IdP; here it runs in-process on loopback.
    let (issuer, _issuer_server) = TestIssuer::serve().await?;

    // Keys through OIDC discovery, cached and refreshed in the background; warm_up() fails fast.
    let keys = RemoteJwks::discover(issuer.issuer()).build()?;
    keys.warm_up().await?;
    let verifier = Verifier::builder()
        .issuer(issuer.issuer())
        .audience(issuer.audience())
        .key_source(keys)
        .build()?;

    let api = Router::new()
        .route("/me", get(me))
        .route("/admin", get(me).route_layer(require(scope("read:users"))))
        .layer(AuthLayer::new(verifier))
        .route("/public", get(|| async { "public" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, api).await });

    let reader = issuer.token().subject("reader").scope("openid").sign()?;
    let admin = issuer
        .token()
        .subject("admin")
        .scope("openid read:users")
        .sign()?;
    println!("API on http://{addr}  (issuer {})\n", issuer.issuer());
    println!("try it:");
    println!("  curl -i http://{addr}/public");
    println!("  curl -i http://{addr}/me");
    println!("  curl -i -H 'Authorization: Bearer {reader}' http://{addr}/me");
    println!("  curl -i -H 'Authorization: Bearer {reader}' http://{addr}/admin");
    println!("  curl -i -H 'Authorization: Bearer {admin}' http://{addr}/admin\n");

    let expired = issuer.token().subject("reader").expires_in(-3600).sign()?;
    let forged = issuer
        .token()
        .subject("admin")
        .header("alg", "none")
        .sign()?;
    let demo = [
        ("/public", None, "no token needed"),
        ("/me", None, "no token"),
        ("/me", Some(&reader), "reader"),
        ("/admin", Some(&reader), "reader, lacks read:users"),
        ("/admin", Some(&admin), "admin"),
        ("/me", Some(&expired), "expired token"),
        ("/admin", Some(&forged), "alg: none"),
    ];
    for (path, token, label) in demo {
        println!(
            "GET {path:<8} {label:<26} -> {}",
            call(addr, path, token.map(String::as_str)).await?
        );
    }

    if once {
        server.abort();
        return Ok(());
    }
    println!("\nserving on http://{addr}; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    server.abort();
    Ok(())
}

/// One request over plain HTTP/1.1; returns the status and the challenge or body.
async fn call(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
) -> Result<String, Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.get(9..12).unwrap_or("???");
    let challenge = head
        .lines()
        .find_map(|l| l.strip_prefix("www-authenticate: "))
        .map(|c| format!("WWW-Authenticate: {c}"));
    Ok(format!(
        "{status}  {}",
        challenge.unwrap_or_else(|| body.trim().to_owned())
    ))
}
