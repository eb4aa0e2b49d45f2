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
//! | `PORTCULLIS_REDIS_URL` | optional: `redis://[:password@]host[:port][/db]`; the DPoP replay store and the revocation set live there, shared by every replica given the same URL (in memory, per process, without it); unreachable at start is a start-up error |
//! | `PORTCULLIS_LOGOUT_CLIENT_ID` | optional: enables `POST /backchannel-logout` (OpenID Back-Channel Logout 1.0) for logout tokens from the issuer to this client id; a valid one revokes its session (or subject) on every replica sharing the Redis |
//! | `PORTCULLIS_MAX_TOKEN_AGE` | optional: seconds; a token issued (`iat`) longer ago is rejected even if `exp` is later, and a token without `iat` too |
//! | `PORTCULLIS_DPOP_NONCE_KEY` | optional: the nonce key, 32 bytes in base64url, the same on every replica; random per process otherwise |
//! | `PORTCULLIS_RESOURCE` | optional: this API's canonical URI (RFC 9728), e.g. `https://api.example.com/mcp`: serves its protected resource metadata at `/.well-known/oauth-protected-resource<path>` and names it in every 401 and 403 challenge (`resource_metadata`) |
//! | `PORTCULLIS_SCOPES_SUPPORTED` | optional, with `PORTCULLIS_RESOURCE`: comma list for the metadata's `scopes_supported` |
//! | `RUST_LOG` | optional: filters the audit log on stderr (default `portcullis::audit=info`) |
//! | `PORT` | optional: default 3000; binds 127.0.0.1 |
//!
//! Routes: `GET /protected` (any valid token: 200 with `sub`, `scopes` and `auth`, `"bearer"` or
//! `"dpop"`), `GET /users` (needs
//! `read:users` as a scope or in the `permissions` claim, 403 otherwise), `POST /revoke` (any
//! valid token; revokes the caller's own `?what=token` (default), `session` or `subject`, on
//! every replica sharing the Redis: 200 `{"revoked": kind}`, 400 when the token lacks the
//! claim, 503 when the store did not take it), `POST /backchannel-logout` (with
//! `PORTCULLIS_LOGOUT_CLIENT_ID`; no access token: 200, 400 or 503, `Cache-Control: no-store`),
//! `GET /.well-known/oauth-protected-resource<resource path>` (with `PORTCULLIS_RESOURCE`; no
//! access token), `GET /health`
//! (key-source health, no authentication). Every decision is one audit line on stderr, with the
//! method, path, effective URI, peer address and request id (`x-request-id`, else generated).

#[path = "support/axum_serve.rs"]
mod axum_serve;
#[path = "support/env_config.rs"]
mod env_config;

use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use portcullis::revocation::Revocations;
use portcullis_axum::{AuthLayer, Authenticated, backchannel_logout, require, resource_metadata};
use serde_json::Value;

async fn protected(Authenticated(principal): Authenticated) -> Json<Value> {
    Json(env_config::answer(&principal))
}

async fn revoke(
    revocations: Revocations,
    Authenticated(principal): Authenticated,
    uri: Uri,
) -> (StatusCode, Json<Value>) {
    let (status, body) = env_config::revoke_own(&revocations, &principal, uri.query()).await;
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_config::audit_log_to_stderr();
    let config = env_config::from_env().await;
    let revocations = config.revocations.clone();
    let app = Router::new()
        .route("/protected", get(protected))
        .route(
            "/revoke",
            post(move |principal, uri| revoke(revocations.clone(), principal, uri)),
        )
        .route(
            "/users",
            get(protected).route_layer(require(env_config::granted("read:users"))),
        )
        .layer(AuthLayer::from(config.authenticator))
        .merge(axum_serve::health_route(config.keys));
    // Outside the layer: the provider proves itself with the logout token's signature.
    let app = match config.logout {
        Some(logout) => app.route("/backchannel-logout", backchannel_logout(logout)),
        None => app,
    };
    // Outside the layer too: clients read it before they have a token.
    let app = match config.metadata {
        Some(metadata) => {
            let path = metadata.path().to_owned();
            app.route(&path, resource_metadata(metadata))
        }
        None => app,
    };
    axum_serve::serve(app, config.port, "").await?;
    Ok(())
}
