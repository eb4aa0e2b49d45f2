//! The baseline: axum with no authentication, `GET /open`.

use axum::{Router, routing::get};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = Router::new().route("/open", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(portcullis_bench::addr())
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
