//! A production-shaped axum resource server, configured only through the environment:
//!
//! ```text
//! PORTCULLIS_ISSUER=https://login.example.com/ PORTCULLIS_AUDIENCE=https://api.example.com \
//!     cargo run --example axum_resource_server
//! ```
//!
//! | variable | |
//! |---|---|
//! | `PORTCULLIS_ISSUER` | required: the issuer (`iss`) |
//! | `PORTCULLIS_AUDIENCE` | required: this API's audience (`aud`) |
//! | `PORTCULLIS_JWKS_URL` | optional: the JWKS URL; OIDC / RFC 8414 discovery from the issuer otherwise |
//! | `PORTCULLIS_ALGORITHMS` | optional: comma list, e.g. `RS256,ES256` |
//! | `PORTCULLIS_REQUIRE_AT_JWT` | optional: `true` requires RFC 9068 `typ: at+jwt` |
//! | `PORTCULLIS_PUBLIC_URL` | optional: the base URL clients use, e.g. `https://api.example.com`; the effective request URI comes from it, never from `Host` or forwarding headers |
//! | `PORTCULLIS_TRUSTED_PROXIES` | optional: comma list of CIDRs (`10.0.0.0/8,::1`) whose `Forwarded` / `X-Forwarded-*` headers are believed; ignored from any other peer |
//! | `PORTCULLIS_DPOP` | optional: `off`, `allowed` (default: Bearer and DPoP) or `required`; a proof's `htu` is checked against the effective request URI (see `PORTCULLIS_PUBLIC_URL`) |
//! | `PORTCULLIS_DPOP_NONCE` | optional: `true` requires server nonces in DPoP proofs (RFC 9449 §8-9): a proof without the current one gets 401 `use_dpop_nonce` and a `DPoP-Nonce` header |
//! | `PORTCULLIS_REDIS_URL` | optional: `redis://[:password@]host[:port][/db]`; the DPoP replay store lives there, shared by every replica given the same URL (in memory, per process, without it); unreachable at start is a start-up error |
//! | `PORTCULLIS_DPOP_NONCE_KEY` | optional: the nonce key, 32 bytes in base64url, the same on every replica; random per process otherwise |
//! | `RUST_LOG` | optional: filters the audit log on stderr (default `portcullis::audit=info`) |
//! | `PORT` | optional: default 3000; binds 127.0.0.1 |
//!
//! Routes: `GET /protected` (any valid token: 200 with `sub`, `scopes` and `auth`, `"bearer"` or
//! `"dpop"`), `GET /users` (needs
//! `read:users` as a scope or in the `permissions` claim, 403 otherwise), `GET /health`
//! (key-source health, no authentication). Every decision is one audit line on stderr, with the
//! method, path, effective URI, peer address and request id (`x-request-id`, else generated).

#[path = "support/axum_serve.rs"]
mod axum_serve;
#[path = "support/env_config.rs"]
mod env_config;

use axum::routing::get;
use axum::{Json, Router};
use portcullis_axum::{AuthLayer, Authenticated, require};
use serde_json::Value;

async fn protected(Authenticated(principal): Authenticated) -> Json<Value> {
    Json(env_config::answer(&principal))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_config::audit_log_to_stderr();
    let config = env_config::from_env().await;
    let app = Router::new()
        .route("/protected", get(protected))
        .route(
            "/users",
            get(protected).route_layer(require(env_config::granted("read:users"))),
        )
        .layer(AuthLayer::from(config.authenticator))
        .merge(axum_serve::health_route(config.keys));
    axum_serve::serve(app, config.port, "").await?;
    Ok(())
}
