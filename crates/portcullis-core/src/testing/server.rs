//! A loopback HTTP server for the issuer's JWKS and OIDC discovery documents.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{TestIssuer, TestKitError};

#[derive(Clone)]
struct Shared {
    issuer: String,
    jwks: Arc<RwLock<Value>>,
    jwks_hits: Arc<AtomicUsize>,
}

/// A running loopback server: `GET /.well-known/openid-configuration` and `GET /jwks.json`.
/// Stops when dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    jwks: Arc<RwLock<Value>>,
    jwks_hits: Arc<AtomicUsize>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestIssuer {
    /// Generates keys and serves them on `127.0.0.1` (a free port). The returned issuer's
    /// identifier is the server's base URL, as discovery requires. Needs a Tokio runtime.
    pub async fn serve() -> Result<(TestIssuer, TestServer), TestKitError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let issuer = TestIssuer::new()?.with_issuer(format!("http://{addr}"));
        let shared = Shared {
            issuer: issuer.issuer().to_owned(),
            jwks: Arc::new(RwLock::new(issuer.jwks())),
            jwks_hits: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks.json", get(jwks))
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok((
            issuer,
            TestServer {
                addr,
                jwks: shared.jwks,
                jwks_hits: shared.jwks_hits,
                shutdown: Some(tx),
                task,
            },
        ))
    }
}

async fn discovery(State(s): State<Shared>) -> Json<Value> {
    Json(json!({
        "issuer": s.issuer,
        "jwks_uri": format!("{}/jwks.json", s.issuer),
        "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    }))
}

async fn jwks(State(s): State<Shared>) -> Json<Value> {
    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let doc = s.jwks.read().map(|g| g.clone()).unwrap_or(Value::Null);
    Json(doc)
}

impl TestServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    /// Replaces the served JWKS (key rotation in tests).
    pub fn set_jwks(&self, jwks: Value) {
        if let Ok(mut guard) = self.jwks.write() {
            *guard = jwks;
        }
    }

    /// How many times the JWKS was requested.
    pub fn jwks_requests(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}
