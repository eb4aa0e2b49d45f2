//! Browser login with OpenID Connect: the authorization code flow with PKCE, in a small axum app.
//!
//! ```sh
//! PORTCULLIS_ISSUER=https://login.example.com/ CLIENT_ID=web-app cargo run --example login
//! ```
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `PORTCULLIS_ISSUER` | the OpenID provider (discovered) | required |
//! | `CLIENT_ID` | a public client with the redirect `http://127.0.0.1:<PORT>/callback` registered | required |
//! | `PORT` | where this app listens, on 127.0.0.1 | `3000` |
//! | `SCOPES` | space-separated scopes | `openid email offline_access` |
//! | `PORTCULLIS_RESOURCE` | an RFC 8707 resource the access token is for | none |
//!
//! Routes: `GET /` (who is signed in), `GET /login`, `GET /callback`, `GET /me` (the session as
//! JSON, 401 without one), `GET /logout`.
//!
//! What it shows: the pending login (state, nonce, PKCE verifier) stays on the server, keyed by
//! an HttpOnly cookie; the callback is checked (state, RFC 9207 `iss`, ID token) before anything
//! else; the session id is replaced at login (no session fixation); sessions are bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use portcullis::client::{LoggedIn, Login, PendingLogin, TokenRequest};
use serde_json::json;

/// At most this many sessions (pending or signed in); the oldest go first.
const MAX_SESSIONS: usize = 10_000;
const COOKIE: &str = "login_session";

enum Session {
    Pending(PendingLogin),
    SignedIn(LoggedIn),
}

#[derive(Clone)]
struct App {
    login: Login,
    request: TokenRequest,
    sessions: Arc<Mutex<Sessions>>,
}

#[derive(Default)]
struct Sessions {
    by_id: HashMap<String, Session>,
    order: std::collections::VecDeque<String>,
}

impl Sessions {
    fn insert(&mut self, id: String, session: Session) {
        while self.by_id.len() >= MAX_SESSIONS {
            match self.order.pop_front() {
                Some(old) => {
                    self.by_id.remove(&old);
                }
                None => break,
            }
        }
        self.order.push_back(id.clone());
        self.by_id.insert(id, session);
    }
}

fn new_id() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).unwrap_or_else(|_| fail("randomness", "unavailable"));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
}

fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; HttpOnly; SameSite=Lax; Path=/")
}

fn sessions(app: &App) -> std::sync::MutexGuard<'_, Sessions> {
    app.sessions.lock().unwrap_or_else(|p| p.into_inner())
}

async fn index(State(app): State<App>, headers: HeaderMap) -> String {
    let sessions = sessions(&app);
    match cookie(&headers).and_then(|id| sessions.by_id.get(&id)) {
        Some(Session::SignedIn(user)) => {
            format!("signed in as {} (GET /me, /logout)", user.subject)
        }
        _ => "not signed in: GET /login".to_owned(),
    }
}

async fn start_login(State(app): State<App>) -> Response {
    let (url, pending) = app.login.start(&app.request);
    let id = new_id();
    sessions(&app).insert(id.clone(), Session::Pending(pending));
    (
        [(header::SET_COOKIE, set_cookie(&id))],
        Redirect::to(url.as_str()),
    )
        .into_response()
}

async fn finish_login(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pending = cookie(&headers).and_then(|id| match sessions(&app).by_id.remove(&id) {
        Some(Session::Pending(pending)) => Some(pending),
        _ => None,
    });
    let Some(pending) = pending else {
        return (StatusCode::BAD_REQUEST, "no login in progress").into_response();
    };
    match app
        .login
        .finish(pending, query.as_deref().unwrap_or(""))
        .await
    {
        Ok(user) => {
            // A new session id at sign-in: an id planted before login is worth nothing after.
            let id = new_id();
            sessions(&app).insert(id.clone(), Session::SignedIn(user));
            ([(header::SET_COOKIE, set_cookie(&id))], Redirect::to("/")).into_response()
        }
        Err(error) => {
            eprintln!("login failed: {error}");
            (StatusCode::BAD_REQUEST, "login failed").into_response()
        }
    }
}

async fn me(State(app): State<App>, headers: HeaderMap) -> Response {
    let user = {
        let sessions = sessions(&app);
        match cookie(&headers).and_then(|id| sessions.by_id.get(&id)) {
            Some(Session::SignedIn(user)) => Some((
                user.subject.clone(),
                user.email.clone(),
                user.tokens.clone(),
            )),
            _ => None,
        }
    };
    let Some((subject, email, tokens)) = user else {
        return (StatusCode::UNAUTHORIZED, "not signed in").into_response();
    };
    // A fresh access token for calling APIs on the user's behalf (refreshed when due).
    let access = tokens.access_token().await.is_ok();
    axum::Json(json!({"sub": subject, "email": email, "access_token_available": access}))
        .into_response()
}

async fn logout(State(app): State<App>, headers: HeaderMap) -> Redirect {
    if let Some(id) = cookie(&headers) {
        sessions(&app).by_id.remove(&id);
    }
    Redirect::to("/")
}

fn fail(variable: &str, why: &str) -> ! {
    eprintln!("error: {variable}: {why}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let issuer = var("PORTCULLIS_ISSUER").unwrap_or_else(|| fail("PORTCULLIS_ISSUER", "required"));
    let client_id = var("CLIENT_ID").unwrap_or_else(|| fail("CLIENT_ID", "required"));
    let port: u16 = var("PORT")
        .unwrap_or_else(|| "3000".into())
        .parse()
        .unwrap_or_else(|_| fail("PORT", "not a port number"));
    let mut request = TokenRequest::new();
    for scope in var("SCOPES")
        .unwrap_or_else(|| "openid email offline_access".into())
        .split_whitespace()
    {
        request = request.scope(scope);
    }
    if let Some(resource) = var("PORTCULLIS_RESOURCE") {
        request = request.resource(resource);
    }
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let login = Login::discover(&issuer, client_id, &redirect)
        .await
        .unwrap_or_else(|e| fail("PORTCULLIS_ISSUER", &e.to_string()));
    let app = App {
        login,
        request,
        sessions: Arc::default(),
    };
    let router = Router::new()
        .route("/", get(index))
        .route("/login", get(start_login))
        .route("/callback", get(finish_login))
        .route("/me", get(me))
        .route("/logout", get(logout))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| fail("PORT", &e.to_string()));
    eprintln!("listening on http://127.0.0.1:{port} (sign in at /login)");
    if let Err(e) = axum::serve(listener, router).await {
        fail("server", &e.to_string());
    }
}
