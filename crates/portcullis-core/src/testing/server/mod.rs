//! A loopback HTTP server for the test issuer: OIDC discovery (here), the JWKS endpoint with
//! switchable misbehaviour for testing key sources against outages and hostile endpoints
//! (`jwks.rs`), and a minimal client-credentials token endpoint for clients registered with
//! [`TestServer::register_client`] (`token.rs`).

mod jwks;
mod token;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use jwks::JwksMode;

use super::{TestIssuer, TestKitError};

#[derive(Clone)]
pub(super) struct Shared {
    pub(super) issuer: String,
    pub(super) kit: TestIssuer,
    pub(super) clients: Arc<RwLock<HashMap<String, String>>>,
    pub(super) token_hits: Arc<AtomicUsize>,
    pub(super) discovery_issuer: Arc<RwLock<Option<String>>>,
    pub(super) jwks: Arc<RwLock<Value>>,
    pub(super) mode: Arc<RwLock<JwksMode>>,
    pub(super) cache_control: Arc<RwLock<Option<String>>>,
    pub(super) jwks_hits: Arc<AtomicUsize>,
    pub(super) discovery_hits: Arc<AtomicUsize>,
}

/// A running loopback server: `GET /.well-known/openid-configuration` and `GET /jwks.json`.
/// Stops when dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    shared: SharedHandles,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct SharedHandles {
    clients: Arc<RwLock<HashMap<String, String>>>,
    token_hits: Arc<AtomicUsize>,
    jwks: Arc<RwLock<Value>>,
    mode: Arc<RwLock<JwksMode>>,
    cache_control: Arc<RwLock<Option<String>>>,
    discovery_issuer: Arc<RwLock<Option<String>>>,
    jwks_hits: Arc<AtomicUsize>,
    discovery_hits: Arc<AtomicUsize>,
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
            kit: issuer.clone(),
            clients: Arc::default(),
            token_hits: Arc::default(),
            discovery_issuer: Arc::default(),
            jwks: Arc::new(RwLock::new(issuer.jwks())),
            mode: Arc::new(RwLock::new(JwksMode::Normal)),
            cache_control: Arc::default(),
            jwks_hits: Arc::default(),
            discovery_hits: Arc::default(),
        };
        let handles = SharedHandles {
            clients: Arc::clone(&shared.clients),
            token_hits: Arc::clone(&shared.token_hits),
            jwks: Arc::clone(&shared.jwks),
            mode: Arc::clone(&shared.mode),
            cache_control: Arc::clone(&shared.cache_control),
            discovery_issuer: Arc::clone(&shared.discovery_issuer),
            jwks_hits: Arc::clone(&shared.jwks_hits),
            discovery_hits: Arc::clone(&shared.discovery_hits),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks.json", get(jwks::jwks))
            .route("/token", post(token::token))
            .with_state(shared);
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
                shared: handles,
                shutdown: Some(tx),
                task,
            },
        ))
    }
}

pub(super) fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read()
        .map_or_else(|p| p.into_inner().clone(), |g| g.clone())
}

pub(super) fn write<T>(lock: &RwLock<T>, value: T) {
    match lock.write() {
        Ok(mut g) => *g = value,
        Err(p) => *p.into_inner() = value,
    }
}

async fn discovery(State(s): State<Shared>) -> Response {
    s.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let issuer = read(&s.discovery_issuer).unwrap_or_else(|| s.issuer.clone());
    let doc = json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks.json", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
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
        write(&self.shared.jwks, jwks);
    }

    /// Switches how the JWKS endpoint answers.
    pub fn set_mode(&self, mode: JwksMode) {
        write(&self.shared.mode, mode);
    }

    /// Sends this `Cache-Control` header with normal JWKS answers (`None` for none).
    pub fn set_cache_control(&self, value: Option<&str>) {
        write(&self.shared.cache_control, value.map(str::to_owned));
    }

    /// Makes the discovery document claim another `issuer` (`None` restores the real one).
    pub fn set_discovery_issuer(&self, issuer: Option<&str>) {
        write(&self.shared.discovery_issuer, issuer.map(str::to_owned));
    }

    /// How many times the JWKS was requested.
    pub fn jwks_requests(&self) -> usize {
        self.shared.jwks_hits.load(Ordering::SeqCst)
    }

    /// Registers a confidential client for the token endpoint.
    pub fn register_client(&self, client_id: &str, secret: &str) {
        match self.shared.clients.write() {
            Ok(mut clients) => {
                clients.insert(client_id.to_owned(), secret.to_owned());
            }
            Err(poisoned) => {
                poisoned
                    .into_inner()
                    .insert(client_id.to_owned(), secret.to_owned());
            }
        }
    }

    /// The token endpoint's URL.
    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// How many token requests arrived.
    pub fn token_requests(&self) -> usize {
        self.shared.token_hits.load(Ordering::SeqCst)
    }

    /// How many times the discovery document was requested.
    pub fn discovery_requests(&self) -> usize {
        self.shared.discovery_hits.load(Ordering::SeqCst)
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
