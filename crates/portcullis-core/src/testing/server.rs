//! A loopback HTTP server for the issuer's JWKS and OIDC discovery documents, with switchable
//! misbehaviour for testing key sources against outages and hostile endpoints, and a minimal
//! client-credentials token endpoint for clients registered with
//! [`TestServer::register_client`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{TestIssuer, TestKitError};

/// How the JWKS endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksMode {
    /// 200 with the current document, an `ETag`, and 304 for a matching `If-None-Match`.
    Normal,
    /// This status and an empty body.
    Status(u16),
    /// Never answers (until the client gives up).
    Hang,
    /// 200, `application/json`, and a body that is not JSON.
    Garbage,
    /// 200 with a 1 MiB JSON body.
    Huge,
    /// 200 with the document but `Content-Type: text/html`.
    WrongContentType,
    /// 302 to this location.
    Redirect(String),
    /// Starts a 200 JSON body, then aborts the connection mid-body.
    DropConnection,
}

/// A body that sends a first chunk and then fails, which makes the server abort the connection.
struct Truncated {
    sent: bool,
}

impl http_body::Body for Truncated {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        if self.sent {
            return std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "dropped on purpose",
            ))));
        }
        self.sent = true;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from_static(
            b"{\"keys\": [",
        )))))
    }
}

#[derive(Clone)]
struct Shared {
    issuer: String,
    kit: TestIssuer,
    clients: Arc<RwLock<HashMap<String, String>>>,
    token_hits: Arc<AtomicUsize>,
    discovery_issuer: Arc<RwLock<Option<String>>>,
    jwks: Arc<RwLock<Value>>,
    mode: Arc<RwLock<JwksMode>>,
    cache_control: Arc<RwLock<Option<String>>>,
    jwks_hits: Arc<AtomicUsize>,
    discovery_hits: Arc<AtomicUsize>,
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
            .route("/jwks.json", get(jwks))
            .route("/token", post(token))
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

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read()
        .map_or_else(|p| p.into_inner().clone(), |g| g.clone())
}

fn write<T>(lock: &RwLock<T>, value: T) {
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

async fn jwks(State(s): State<Shared>, headers: HeaderMap) -> Response {
    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let doc = read(&s.jwks).to_string();
    let etag = format!("\"{:x}\"", fnv(doc.as_bytes()));
    let json = HeaderValue::from_static("application/json");
    match read(&s.mode) {
        JwksMode::Normal => {
            let mut response = if headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some(etag.as_str())
            {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                ([(header::CONTENT_TYPE, json)], doc).into_response()
            };
            if let Ok(etag) = HeaderValue::from_str(&etag) {
                response.headers_mut().insert(header::ETAG, etag);
            }
            if let Some(cc) = read(&s.cache_control).and_then(|cc| HeaderValue::from_str(&cc).ok())
            {
                response.headers_mut().insert(header::CACHE_CONTROL, cc);
            }
            response
        }
        JwksMode::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        JwksMode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        JwksMode::Garbage => ([(header::CONTENT_TYPE, json)], "{\"keys\": [oops").into_response(),
        JwksMode::Huge => {
            let padding = "x".repeat(1024 * 1024);
            (
                [(header::CONTENT_TYPE, json)],
                format!("{{\"keys\":[],\"pad\":\"{padding}\"}}"),
            )
                .into_response()
        }
        JwksMode::WrongContentType => (
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
            doc,
        )
            .into_response(),
        JwksMode::DropConnection => (
            [(header::CONTENT_TYPE, json)],
            axum::body::Body::new(Truncated { sent: false }),
        )
            .into_response(),
        JwksMode::Redirect(to) => match HeaderValue::from_str(&to) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    }
}

/// `POST /token`: the client credentials grant for registered clients (`client_secret_basic` or
/// `client_secret_post`). The token is an RS256 JWT: `sub` and `client_id` are the client, `aud`
/// the `resource` or `audience` parameter (else the issuer's default), `scope` as asked, 300 s.
async fn token(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    s.token_hits.fetch_add(1, Ordering::SeqCst);
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let error = |status: StatusCode, code: &str| {
        (status, axum::Json(json!({ "error": code }))).into_response()
    };
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    let (client_id, secret) = match basic {
        Some(pair) => pair,
        None => match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return error(StatusCode::UNAUTHORIZED, "invalid_client"),
        },
    };
    // Constant time, as a real token endpoint must compare secrets.
    let known = read(&s.clients).get(&client_id).is_some_and(|k| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            k.as_bytes(),
            secret.as_bytes(),
        ))
    });
    if !known {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let audience = form
        .get("resource")
        .or_else(|| form.get("audience"))
        .cloned()
        .unwrap_or_else(|| s.kit.audience().to_owned());
    let scope = form.get("scope").cloned().unwrap_or_default();
    let minted = s
        .kit
        .token()
        .subject(&client_id)
        .claim("client_id", client_id.as_str())
        .audience(audience)
        .scope(&scope)
        .expires_in(300)
        .sign();
    match minted {
        Ok(token) => axum::Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": scope,
        }))
        .into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
    }
}

/// FNV-1a: a stable ETag without a hashing dependency.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
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
