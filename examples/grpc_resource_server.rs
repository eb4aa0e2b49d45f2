//! A gRPC resource server (tonic) behind portcullis, configured through the environment like
//! `axum_resource_server` (same variables):
//!
//! ```text
//! PORTCULLIS_ISSUER=https://login.example.com/ PORTCULLIS_AUDIENCE=https://api.example.com \
//!     cargo run --example grpc_resource_server
//! ```
//!
//! It serves the standard `grpc.health.v1.Health` service over HTTP/2 (cleartext, binds
//! 127.0.0.1, `PORT` default 3000). Every call needs a bearer token in the `authorization`
//! metadata and `health:read`, as a scope or in the `permissions` claim:
//!
//! | call | status |
//! |---|---|
//! | no token, or an invalid one | `UNAUTHENTICATED` (16), with the `WWW-Authenticate` challenge |
//! | a valid token without `health:read` | `PERMISSION_DENIED` (7), with `scope="health:read"` in the challenge |
//! | a valid token with it | `OK` |
//!
//! `GET /health` (plain HTTP, no authentication) reports the key source's health, as in the other
//! examples. The audit log goes to stderr. gRPC requests are recognised by their
//! `content-type: application/grpc`, and every rejection (from the layer or from `require`) takes
//! the gRPC form: HTTP 200 with `grpc-status` and `grpc-message`.

#[path = "support/axum_serve.rs"]
mod axum_serve;
#[path = "support/env_config.rs"]
mod env_config;

use portcullis_axum::{AuthLayer, require};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_config::audit_log_to_stderr();
    let config = env_config::from_env().await;
    let (reporter, health_service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    // The gRPC services as an axum router, so that the layers and `ConnectInfo` (the peer in
    // audit events) are the same as for an HTTP API. `layer` covers every service.
    let grpc = tonic::service::Routes::new(health_service)
        .into_axum_router()
        .layer(require(env_config::granted("health:read")))
        .layer(AuthLayer::from(config.authenticator));
    let app = axum_serve::health_route(config.keys).merge(grpc);
    axum_serve::serve(app, config.port, " (gRPC over HTTP/2)").await?;
    Ok(())
}
