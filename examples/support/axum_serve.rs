//! What the axum example servers share: the unauthenticated `/health` route and serving with
//! the peer address on 127.0.0.1.

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router, extract::State};
use portcullis::keys::RemoteJwks;
use serde_json::Value;

async fn health(State(keys): State<RemoteJwks>) -> Json<Value> {
    Json(serde_json::to_value(keys.health()).unwrap_or(Value::Null))
}

/// `GET /health`: the key source's health, no authentication.
#[allow(dead_code)] // the MCP example has no health route
pub(crate) fn health_route(keys: RemoteJwks) -> Router {
    Router::new().route("/health", get(health)).with_state(keys)
}

/// Serves `app` on 127.0.0.1:`port` until Ctrl-C, with the peer address (`ConnectInfo`) so that
/// audit events name it and trusted proxies are recognised.
pub(crate) async fn serve(app: Router, port: u16, what: &str) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("listening on http://{}{what}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
