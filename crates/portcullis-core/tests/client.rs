//! Client credentials against a real OpenID provider (oidc-provider, `tests/idp/`), and the
//! cache and outbound retry against loopback servers where a test needs a misbehaving one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

#[path = "common/idp.rs"]
mod idp;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use idp::{Browser, Idp};
use portcullis_core::client::{
    AccessToken, AssertionKey, BearerLayer, BearerMiddleware, ClientAuth, ClientCredentials,
    DeviceFlow, ErrorCode, Introspection, LoggedIn, Login, Revocation, Subject, TokenError,
    TokenExchange, TokenRequest, TokenSource, TokenType, TokenTypeHint,
};
use portcullis_core::keys::RemoteJwks;
use portcullis_core::testing::TestIssuer;
use portcullis_core::{Algorithm, Verifier};
use portcullis_core::{AuthError, Reason};
use serde_json::{Value, json};

fn basic(idp: &Idp, request: TokenRequest) -> ClientCredentials {
    ClientCredentials::builder("service-basic")
        .auth(ClientAuth::SecretBasic(idp.secret("basic").into()))
        .issuer(&idp.issuer)
        .request(request)
        .build()
        .expect("config")
}

/// A verifier for the IdP's JWT access tokens for `audience`, keys found by discovery.
fn verifier(idp: &Idp, audience: &str) -> Verifier {
    Verifier::builder()
        .issuer(&idp.issuer)
        .audience(audience)
        .key_source(
            RemoteJwks::discover(&idp.issuer)
                .build()
                .expect("jwks config"),
        )
        .build()
        .expect("verifier")
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_authentication_method_gets_a_verifiable_jwt() {
    let Some(idp) = Idp::start() else { return };
    let request = TokenRequest::new()
        .scope("read:users")
        .resource(&idp.jwt_api);
    let key = AssertionKey::from_pkcs8_pem(&idp.assertion_key_pem, Algorithm::RS256)
        .expect("key")
        .kid(&idp.assertion_key_kid);
    let clients = [
        ("service-basic", basic(&idp, request.clone())),
        (
            "service-post",
            ClientCredentials::builder("service-post")
                .auth(ClientAuth::SecretPost(idp.secret("post").into()))
                .token_url(idp.token_url())
                .request(request.clone())
                .build()
                .expect("config"),
        ),
        (
            "service-jwt",
            ClientCredentials::builder("service-jwt")
                .auth(ClientAuth::PrivateKeyJwt(key))
                .issuer(&idp.issuer)
                .request(request.clone())
                .build()
                .expect("config"),
        ),
    ];
    let verifier = verifier(&idp, &idp.jwt_api);
    for (client_id, client) in clients {
        let token = client.access_token().await.expect(client_id);
        assert!(token.expires_in().is_some_and(|d| d.as_secs() > 0));
        let verified = verifier
            .verify::<Value>(token.secret())
            .await
            .unwrap_or_else(|e| panic!("{client_id}: {e:?}"));
        assert_eq!(verified.client_id(), Some(client_id));
        assert!(verified.has_scope("read:users"));
        assert!(!verified.has_scope("write:users"), "only what was asked");
        assert_eq!(verified.typ(), Some("at+jwt"));
    }
    // The same client's token for the opaque resource is not a JWT this verifier accepts.
    let opaque = basic(&idp, TokenRequest::new().resource(&idp.opaque_api))
        .access_token()
        .await
        .expect("opaque token");
    assert!(verifier.verify::<Value>(opaque.secret()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_callers_on_a_cold_cache_cost_one_token_request() {
    let Some(idp) = Idp::start() else { return };
    let client = basic(
        &idp,
        TokenRequest::new()
            .scope("read:users")
            .resource(&idp.jwt_api),
    );
    let mut tokens: Vec<String> = concurrently(500, || {
        let client = client.clone();
        async move { client.access_token().await }
    })
    .await
    .into_iter()
    .map(|t| t.expect("token").secret().to_owned())
    .collect();
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every caller got the same token");
    assert_eq!(idp.token_requests("service-basic").await, 1);
    // And the cache serves it from then on.
    client.access_token().await.expect("cached");
    assert_eq!(idp.token_requests("service-basic").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_errors_carry_the_rfc_6749_code() {
    let Some(idp) = Idp::start() else { return };
    let wrong_secret = ClientCredentials::builder("service-basic")
        .auth(ClientAuth::SecretBasic("not-the-secret".to_owned().into()))
        .token_url(idp.token_url())
        .build()
        .expect("config");
    match wrong_secret.access_token().await {
        Err(TokenError::Rejected { code, .. }) => assert_eq!(code, ErrorCode::InvalidClient),
        other => panic!("{other:?}"),
    }
    let unknown_resource = basic(
        &idp,
        TokenRequest::new().resource("https://unknown.portcullis.test"),
    );
    match unknown_resource.access_token().await {
        Err(TokenError::Rejected { code, .. }) => assert_eq!(code, ErrorCode::InvalidTarget),
        other => panic!("{other:?}"),
    }
    // A public client is not allowed the client credentials grant (oidc-provider answers
    // `invalid_request` where RFC 6749 §5.2 suggests `unauthorized_client`).
    let public = ClientCredentials::builder("web-app")
        .auth(ClientAuth::None)
        .token_url(idp.token_url())
        .build()
        .expect("config");
    match public.access_token().await {
        Err(TokenError::Rejected { code, description }) => {
            assert_eq!(code, ErrorCode::InvalidRequest);
            assert!(description.is_some_and(|d| d.contains("grant type")));
        }
        other => panic!("{other:?}"),
    }
    // Errors and Debug output never carry the secret.
    let shown = format!("{wrong_secret:?} {:?}", wrong_secret.access_token().await);
    assert!(!shown.contains("not-the-secret"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_token_endpoint_is_unavailable_and_failures_are_shared() {
    // A port that was just free: connection refused, quickly.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/token", listener.local_addr().expect("addr"));
    drop(listener);
    let client = ClientCredentials::builder("svc")
        .auth(ClientAuth::SecretBasic("s".to_owned().into()))
        .token_url(url)
        .build()
        .expect("config");
    let outcomes = concurrently(50, || {
        let client = client.clone();
        async move { client.access_token().await }
    })
    .await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Err(TokenError::Unavailable { .. })))
    );
}

/// A loopback authorization server whose token and revocation endpoints give one scripted
/// answer (status and body), with discovery, keys and a device endpoint that work, so every
/// flow reaches the scripted answer.
async fn scripted_server(
    answer: Arc<std::sync::Mutex<(u16, String)>>,
) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let jwks = TestIssuer::new().expect("keys").jwks();
    let discovery = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "revocation_endpoint": format!("{base}/revoke"),
        "device_authorization_endpoint": format!("{base}/device"),
        "jwks_uri": format!("{base}/jwks.json"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let token_hits = Arc::new(AtomicUsize::new(0));
    let hits = Arc::clone(&token_hits);
    let scripted = move || {
        let (status, body) = answer.lock().unwrap().clone();
        (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            body,
        )
    };
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route("/jwks.json", get(move || async move { Json(jwks) }))
        .route(
            "/device",
            post(|| async {
                // Short-lived codes, so a poll that keeps meeting failures ends within seconds.
                Json(json!({
                    "device_code": "dc", "user_code": "UC", "verification_uri": "http://x/",
                    "expires_in": 3, "interval": 1,
                }))
            }),
        )
        .route(
            "/token",
            post({
                let (scripted, hits) = (scripted.clone(), Arc::clone(&hits));
                move || async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    scripted()
                }
            }),
        )
        .route("/revoke", post(move || async move { scripted() }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, token_hits)
}

/// What each flow reports for each kind of error answer: a refusal of the request is
/// `Rejected` (retrying fails the same way), a failure of the server is `Unavailable`, whatever
/// the body says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_maps_error_answers_the_same_way() {
    #[derive(Debug, PartialEq)]
    enum Outcome {
        Done,
        Rejected(ErrorCode),
        Unavailable,
    }
    let answer = Arc::new(std::sync::Mutex::new((200, String::new())));
    let (base, token_hits) = scripted_server(Arc::clone(&answer)).await;
    let error = |code: &str| json!({ "error": code, "error_description": "why" }).to_string();
    let rows: Vec<(u16, String, Outcome)> = vec![
        (
            400,
            error("invalid_grant"),
            Outcome::Rejected(ErrorCode::InvalidGrant),
        ),
        (
            401,
            error("invalid_client"),
            Outcome::Rejected(ErrorCode::InvalidClient),
        ),
        (
            400,
            error("invalid_scope"),
            Outcome::Rejected(ErrorCode::InvalidScope),
        ),
        (400, error("server_error"), Outcome::Unavailable),
        (400, error("temporarily_unavailable"), Outcome::Unavailable),
        (500, error("server_error"), Outcome::Unavailable),
        // A 5xx is the server's failure even when its body names a refusal.
        (500, error("invalid_client"), Outcome::Unavailable),
        (503, String::new(), Outcome::Unavailable),
        (502, "<html>bad gateway</html>".into(), Outcome::Unavailable),
        (429, error("invalid_request"), Outcome::Unavailable),
        (400, "not json".into(), Outcome::Unavailable),
        (200, "not json".into(), Outcome::Unavailable),
    ];
    let outcome = |result: Result<(), TokenError>| match result {
        Ok(()) => Outcome::Done,
        Err(TokenError::Rejected { code, .. }) => Outcome::Rejected(code),
        Err(TokenError::Unavailable { .. }) => Outcome::Unavailable,
        other => panic!("{other:?}"),
    };
    let auth = || ClientAuth::SecretPost("s".to_owned().into());
    let login = Login::builder(&base, "web", CALLBACK)
        .discover()
        .await
        .expect("discovery");
    let device = DeviceFlow::builder(&base, "tv")
        .discover()
        .await
        .expect("discovery");
    let revocation = Revocation::builder(&base, "svc")
        .auth(auth())
        .build()
        .expect("config");
    let exchange = TokenExchange::builder(&base, "svc")
        .auth(auth())
        .token_url(format!("{base}/token"))
        .build()
        .expect("config");
    for (status, body, expected) in rows {
        let row = format!("{status} {body}");
        *answer.lock().unwrap() = (status, body);
        // A new client per row: a client shares a failure with its callers for a moment.
        let credentials = svc_client(format!("{base}/token"));
        let got = outcome(credentials.access_token().await.map(drop));
        assert_eq!(got, expected, "client credentials, {row}");

        // Any 200 is a revocation done (RFC 7009 §2.2: the body is not read).
        let got = outcome(revocation.revoke("t", TokenTypeHint::AccessToken).await);
        if status == 200 {
            assert_eq!(got, Outcome::Done, "revocation, {row}");
        } else {
            assert_eq!(got, expected, "revocation, {row}");
        }

        let subject = Subject::new("t", TokenType::AccessToken);
        let got = outcome(
            exchange
                .exchange(&subject, None, &TokenRequest::new())
                .await
                .map(drop),
        );
        assert_eq!(got, expected, "token exchange, {row}");

        let (url, pending) = login.start(&TokenRequest::new());
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .expect("state");
        let got = match login
            .finish(pending, &format!("code=c&state={state}"))
            .await
        {
            Err(error) => outcome(Err(error)),
            other => panic!("login, {row}: {other:?}"),
        };
        assert_eq!(got, expected, "login code exchange, {row}");

        // The device flow stops on a refusal, and keeps polling through failures until its
        // codes expire (3 s here), then reports the failure.
        let authorization = device.start(&TokenRequest::new()).await.expect("start");
        let before = token_hits.load(Ordering::SeqCst);
        let got = outcome(device.poll(&authorization).await.map(drop));
        assert_eq!(got, expected, "device poll, {row}");
        if status == 200 {
            // A 200 spends the device code: its answer is final, never polled again.
            assert_eq!(token_hits.load(Ordering::SeqCst) - before, 1, "{row}");
        }
    }
}

#[tokio::test]
async fn the_authorization_request_carries_scopes_resources_and_audience() {
    let (base, _) = scripted_server(Arc::default()).await;
    let login = Login::builder(&base, "web", CALLBACK)
        .discover()
        .await
        .expect("discovery");
    let request = TokenRequest::new()
        .scope("read:users")
        .resource("https://a.example")
        .resource("https://b.example")
        .audience("api://orders");
    let (url, _) = login.start(&request);
    let values = |name: &str| -> Vec<String> {
        url.query_pairs()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .collect()
    };
    assert_eq!(
        values("resource"),
        ["https://a.example", "https://b.example"]
    );
    assert_eq!(values("audience"), ["api://orders"]);
    assert_eq!(values("scope"), ["openid read:users"]);
    assert_eq!(values("client_id"), ["web"]);
}

/// RFC 9728 discovery refuses metadata about anything but the URL that was called, and needs
/// an authorization server whose own metadata reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_discovery_trusts_only_metadata_about_the_called_url() {
    use portcullis_core::client::ResourceDiscovery;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let doc = Arc::new(std::sync::Mutex::new(Value::Null));
    let challenge = Arc::new(std::sync::Mutex::new(None::<String>));
    let app = Router::new()
        .route(
            "/mcp",
            get({
                let challenge = Arc::clone(&challenge);
                move || async move {
                    match challenge.lock().unwrap().clone() {
                        Some(value) => (
                            StatusCode::UNAUTHORIZED,
                            [("www-authenticate", value)],
                        )
                            .into_response(),
                        None => StatusCode::OK.into_response(),
                    }
                }
            }),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get({
                let doc = Arc::clone(&doc);
                move || async move { Json(doc.lock().unwrap().clone()) }
            }),
        )
        .route(
            "/elsewhere.json",
            get({
                let base = base.clone();
                move || async move {
                    Json(json!({"resource": format!("{base}/other"), "authorization_servers": [base]}))
                }
            }),
        )
        .route(
            // Only the origin's document for this one (no path-inserted one).
            "/.well-known/oauth-protected-resource",
            get({
                let base = base.clone();
                move || async move {
                    Json(json!({"resource": format!("{base}/root-only"), "authorization_servers": [base]}))
                }
            }),
        )
        .route(
            "/.well-known/openid-configuration",
            get({
                let base = base.clone();
                move || async move {
                    Json(json!({"issuer": base, "token_endpoint": format!("{base}/token"), "jwks_uri": format!("{base}/jwks")}))
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let resource = format!("{base}/mcp");
    let metadata = format!("{base}/.well-known/oauth-protected-resource/mcp");
    let discovery = ResourceDiscovery::builder().build().expect("config");
    let set = |value: Value, pointer: Option<String>| {
        *doc.lock().unwrap() = value;
        *challenge.lock().unwrap() = pointer;
    };
    let good =
        json!({"resource": resource, "authorization_servers": [base], "scopes_supported": ["a"]});

    set(
        good.clone(),
        Some(format!("Bearer resource_metadata=\"{metadata}\"")),
    );
    let info = discovery.discover(&resource).await.expect("discovered");
    assert_eq!(info.authorization_server, base);
    assert_eq!(info.token_endpoint, format!("{base}/token"));
    assert_eq!(
        info.token_request(),
        TokenRequest::new().resource(&resource)
    );

    // No challenge (a 200): the well-known URL is tried.
    set(good.clone(), None);
    assert!(discovery.discover(&resource).await.is_ok());

    let invalid = |outcome: Result<_, TokenError>, what: &str| match outcome {
        Err(TokenError::Invalid(why)) => why,
        other => panic!("{what}: {other:?}"),
    };
    // A document about another resource, at the right place or where a forged pointer leads.
    set(
        json!({"resource": format!("{base}/other"), "authorization_servers": [base]}),
        None,
    );
    let why = invalid(discovery.discover(&resource).await, "another resource");
    assert!(why.contains("not the URI"), "{why}");
    set(
        good.clone(),
        Some(format!(
            "Bearer resource_metadata=\"{base}/elsewhere.json\""
        )),
    );
    let why = invalid(discovery.discover(&resource).await, "forged pointer");
    assert!(why.contains("not the URI"), "{why}");
    // No authorization server; a list that is not one.
    set(
        json!({"resource": resource, "authorization_servers": []}),
        None,
    );
    invalid(discovery.discover(&resource).await, "no server");
    set(
        json!({"resource": resource, "authorization_servers": base}),
        None,
    );
    invalid(discovery.discover(&resource).await, "not a list");
    // An authorization server whose metadata cannot be read.
    set(
        json!({"resource": resource, "authorization_servers": ["http://127.0.0.1:1"]}),
        None,
    );
    match discovery.discover(&resource).await {
        Err(TokenError::Unavailable { reason }) => {
            assert!(reason.contains("authorization server"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Without a path-inserted document, the origin's is tried (and held to the same rule).
    let info = discovery
        .discover(&format!("{base}/root-only"))
        .await
        .expect("the origin's document");
    assert_eq!(
        info.metadata_url,
        format!("{base}/.well-known/oauth-protected-resource")
    );
    // A client with credentials names the servers it trusts; others are refused.
    let picky = ResourceDiscovery::builder()
        .authorization_server("https://login.example.com")
        .build()
        .expect("config");
    set(good.clone(), None);
    let why = invalid(picky.discover(&resource).await, "untrusted server");
    assert!(why.contains("trusts"), "{why}");
    let trusting = ResourceDiscovery::builder()
        .authorization_server(&base)
        .build()
        .expect("config");
    assert!(trusting.discover(&resource).await.is_ok());
    // A public resource cannot send the client to a loopback address.
    let why = invalid(
        discovery
            .from_challenge(
                "https://api.example.com/mcp",
                Some(&format!("Bearer resource_metadata=\"{metadata}\"")),
            )
            .await,
        "loopback pointer",
    );
    assert!(why.contains("loopback"), "{why}");
    // A pointer over plain http to another host is refused before any request.
    set(
        good,
        Some("Bearer resource_metadata=\"http://metadata.example/x\"".to_owned()),
    );
    assert!(matches!(
        discovery.discover(&resource).await,
        Err(TokenError::Config(_))
    ));
}

/// Runs `n` calls of `call` at once, each on its own task, and returns their outcomes in order.
async fn concurrently<F, Fut>(n: usize, call: F) -> Vec<Result<AccessToken, TokenError>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<AccessToken, TokenError>> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(call())).collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out
}

/// A token endpoint on loopback that counts requests and answers with `response`.
async fn token_endpoint(response: Value) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/token",
            post(
                |State((count, response)): State<(Arc<AtomicUsize>, Value)>| async move {
                    let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                    let mut body = response.clone();
                    body["access_token"] = json!(format!("token-{n}"));
                    Json(body)
                },
            ),
        )
        .with_state((Arc::clone(&count), response));
    (format!("{}/token", serve(app).await), count)
}

/// An absurd `expires_in` is taken as a day, never as clock arithmetic that overflows.
#[tokio::test]
async fn an_absurd_lifetime_is_capped_not_a_panic() {
    let (url, count) = token_endpoint(json!({
        "token_type": "Bearer",
        "expires_in": u64::MAX,
    }))
    .await;
    let client = svc_client(url);
    let token = client.access_token().await.expect("a token");
    assert_eq!(token.expires_in(), Some(Duration::from_secs(24 * 3600)));
    client.access_token().await.expect("cached");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

/// A client-credentials client `svc` (`client_secret_post`) for a loopback token endpoint.
fn svc_client(token_url: String) -> ClientCredentials {
    ClientCredentials::builder("svc")
        .auth(ClientAuth::SecretPost("s".to_owned().into()))
        .token_url(token_url)
        .build()
        .expect("config")
}

/// Moves tokio's clock forward by `by` and lets it run on in real time again.
async fn skip(by: Duration) {
    tokio::time::pause();
    tokio::time::advance(by).await;
    tokio::time::resume();
}

#[tokio::test(flavor = "current_thread")]
async fn a_token_is_refreshed_ahead_of_expiry_and_never_served_past_it() {
    let (url, count) = token_endpoint(json!({"token_type": "Bearer", "expires_in": 300})).await;
    let client = svc_client(url);
    assert_eq!(
        client.access_token().await.expect("first").secret(),
        "token-1"
    );
    skip(Duration::from_secs(239)).await;
    assert_eq!(
        client.access_token().await.expect("cached").secret(),
        "token-1"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
    // 60 s before expiry: replaced.
    skip(Duration::from_secs(2)).await;
    assert_eq!(
        client.access_token().await.expect("refreshed").secret(),
        "token-2"
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn a_short_token_is_refreshed_at_80_percent_and_one_without_expires_in_after_48_s() {
    let (url, count) = token_endpoint(json!({"token_type": "bearer", "expires_in": 100})).await;
    let client = svc_client(url);
    client.access_token().await.expect("first");
    skip(Duration::from_secs(79)).await;
    client.access_token().await.expect("cached");
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "a 100 s token is kept for 80 s"
    );
    skip(Duration::from_secs(2)).await;
    client.access_token().await.expect("refreshed");
    assert_eq!(count.load(Ordering::SeqCst), 2);

    let (url, count) = token_endpoint(json!({"token_type": "Bearer"})).await;
    let client = svc_client(url);
    client.access_token().await.expect("first");
    skip(Duration::from_secs(47)).await;
    client.access_token().await.expect("cached");
    assert_eq!(count.load(Ordering::SeqCst), 1);
    skip(Duration::from_secs(2)).await;
    client.access_token().await.expect("refreshed");
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "no expires_in: at most 60 s, refreshed at 48 s"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_refresh_keeps_the_valid_token_until_it_expires() {
    let count = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/token",
            post(|State(count): State<Arc<AtomicUsize>>| async move {
                if count.fetch_add(1, Ordering::SeqCst) == 0 {
                    Ok(Json(
                        json!({"access_token": "only", "token_type": "Bearer", "expires_in": 100}),
                    ))
                } else {
                    Err(StatusCode::SERVICE_UNAVAILABLE)
                }
            }),
        )
        .with_state(Arc::clone(&count));
    let url = format!("{}/token", serve(app).await);
    let client = svc_client(url);
    client.access_token().await.expect("first");
    skip(Duration::from_secs(90)).await;
    assert_eq!(
        client.access_token().await.expect("still valid").secret(),
        "only"
    );
    skip(Duration::from_secs(11)).await;
    assert!(matches!(
        client.access_token().await,
        Err(TokenError::Unavailable { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbound_middleware_refreshes_once_on_invalid_token() {
    let (token_url, tokens) =
        token_endpoint(json!({"token_type": "Bearer", "expires_in": 3600})).await;
    // The resource server refuses the first token it sees (as if its key had rotated).
    let seen = Arc::new(AtomicUsize::new(0));
    let api = Router::new()
        .route(
            "/data",
            get(
                |State(seen): State<Arc<AtomicUsize>>, headers: HeaderMap| async move {
                    seen.fetch_add(1, Ordering::SeqCst);
                    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                        Some("Bearer token-1") => Err((
                            StatusCode::UNAUTHORIZED,
                            [("www-authenticate", "Bearer error=\"invalid_token\"")],
                        )),
                        Some(_) => Ok("ok"),
                        None => Err((StatusCode::UNAUTHORIZED, [("www-authenticate", "Bearer")])),
                    }
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let api = serve(api).await;
    let source = svc_client(token_url);
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerMiddleware::new(source.clone()))
        .build();
    let response = http.get(format!("{api}/data")).send().await.expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(seen.load(Ordering::SeqCst), 2, "one retry");
    assert_eq!(tokens.load(Ordering::SeqCst), 2, "one refresh");
    // The new token is cached: the next call is one request with it.
    let response = http.get(format!("{api}/data")).send().await.expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
    // A stale caller invalidating the old token does not throw the new one away.
    source.invalidate("token-1");
    assert_eq!(
        source.access_token().await.expect("cached").secret(),
        "token-2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_invalid_token_answer_is_returned_not_retried() {
    let (token_url, tokens) =
        token_endpoint(json!({"token_type": "Bearer", "expires_in": 3600})).await;
    let api = Router::new().route(
        "/data",
        get(|| async {
            (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Bearer error=\"invalid_token\"")],
            )
        }),
    );
    let api = serve(api).await;
    let source = svc_client(token_url);
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerMiddleware::new(source))
        .build();
    let response = http.get(format!("{api}/data")).send().await.expect("send");
    assert_eq!(response.status(), 401);
    assert_eq!(tokens.load(Ordering::SeqCst), 2, "one refresh, no loop");
}

#[test]
fn configuration_mistakes_are_refused_at_build() {
    let auth = || ClientAuth::SecretBasic("s".to_owned().into());
    for builder in [
        ClientCredentials::builder("svc").auth(auth()),
        ClientCredentials::builder("svc")
            .auth(auth())
            .token_url("https://a/token")
            .issuer("https://a/"),
        ClientCredentials::builder("svc")
            .auth(auth())
            .token_url("http://login.example.com/token"),
        ClientCredentials::builder("")
            .auth(auth())
            .token_url("https://a/token"),
        ClientCredentials::builder("svc").token_url("https://a/token"),
        ClientCredentials::builder("svc")
            .auth(auth())
            .token_url("https://user:pw@a/token"),
    ] {
        assert!(builder.build().is_err());
    }
    assert!(
        AssertionKey::from_pkcs8_pem("-----BEGIN RSA PRIVATE KEY-----", Algorithm::RS256).is_err()
    );
    assert!(AssertionKey::from_pkcs8_pem("", Algorithm::ES256).is_err());
}

fn introspection(idp: &Idp) -> portcullis_core::client::IntrospectionBuilder {
    Introspection::builder(&idp.issuer)
        .client(
            "resource-server",
            ClientAuth::SecretBasic(idp.secret("resourceServer").into()),
        )
        .audience(&idp.opaque_api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_tokens_are_verified_by_introspection_and_revocation_ends_them() {
    let Some(idp) = Idp::start() else { return };
    let verifier = Verifier::builder()
        .issuer(&idp.issuer)
        .audience(&idp.jwt_api)
        .key_source(RemoteJwks::discover(&idp.issuer).build().expect("jwks"))
        // No reuse of answers, so the revocation below shows at once.
        .opaque_tokens(
            introspection(&idp)
                .ttl(Duration::ZERO)
                .build()
                .expect("config"),
        )
        .build()
        .expect("verifier");
    let opaque = basic(
        &idp,
        TokenRequest::new()
            .scope("read:users")
            .resource(&idp.opaque_api),
    )
    .access_token()
    .await
    .expect("opaque token");
    assert!(!opaque.secret().contains('.'));
    let verified = verifier
        .verify::<Value>(opaque.secret())
        .await
        .expect("active");
    assert!(verified.is_opaque());
    assert_eq!(verified.alg(), None);
    assert_eq!(verified.issuer(), idp.issuer);
    assert_eq!(verified.client_id(), Some("service-basic"));
    assert!(verified.has_scope("read:users"));
    assert!(verified.expires_at().is_some());

    // A JWT on the same verifier still takes the signature path.
    let jwt = basic(
        &idp,
        TokenRequest::new()
            .scope("read:users")
            .resource(&idp.jwt_api),
    )
    .access_token()
    .await
    .expect("jwt");
    assert!(
        !verifier
            .verify::<Value>(jwt.secret())
            .await
            .expect("jwt")
            .is_opaque()
    );

    // Unknown tokens are inactive, not an error of the server.
    let err = verifier
        .verify::<Value>("made-up-token-0123456789")
        .await
        .expect_err("unknown");
    assert_eq!(err.reason(), Reason::Inactive);

    // The owner revokes it; the next verification says inactive.
    Revocation::builder(&idp.issuer, "service-basic")
        .auth(ClientAuth::SecretBasic(idp.secret("basic").into()))
        .build()
        .expect("config")
        .revoke(opaque.secret(), TokenTypeHint::AccessToken)
        .await
        .expect("revoked");
    let err = verifier
        .verify::<Value>(opaque.secret())
        .await
        .expect_err("revoked");
    assert_eq!(err.reason(), Reason::Inactive);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_answers_are_shared_and_cached_and_audience_is_enforced() {
    let Some(idp) = Idp::start() else { return };
    let opaque = basic(
        &idp,
        TokenRequest::new()
            .scope("read:users")
            .resource(&idp.opaque_api),
    )
    .access_token()
    .await
    .expect("opaque token");
    let verifier = Verifier::builder()
        .opaque_tokens(introspection(&idp).build().expect("config"))
        .build()
        .expect("an introspection-only verifier");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (v, t) = (verifier.clone(), opaque.secret().to_owned());
            tokio::spawn(async move { v.verify::<Value>(&t).await.is_ok() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("task"));
    }
    assert!(verifier.verify::<Value>(opaque.secret()).await.is_ok());
    assert_eq!(
        idp.token_requests("resource-server").await,
        1,
        "51 verifications, one introspection"
    );

    // The same active token at a resource server for another audience: refused.
    let elsewhere = Verifier::builder()
        .opaque_tokens(
            Introspection::builder(&idp.issuer)
                .client(
                    "resource-server",
                    ClientAuth::SecretBasic(idp.secret("resourceServer").into()),
                )
                .audience(&idp.jwt_api)
                .build()
                .expect("config"),
        )
        .build()
        .expect("verifier");
    let err = elsewhere
        .verify::<Value>(opaque.secret())
        .await
        .expect_err("wrong audience");
    assert_eq!(err.reason(), Reason::BadAudience);
}

/// A verifier for opaque tokens only, introspecting them at `url` for `https://api.example`.
fn introspecting_at(url: String) -> Verifier {
    Verifier::builder()
        .opaque_tokens(
            Introspection::builder("https://issuer.example/")
                .client("rs", ClientAuth::SecretBasic("s".to_owned().into()))
                .audience("https://api.example")
                .endpoint(url)
                .build()
                .expect("config"),
        )
        .build()
        .expect("verifier")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_introspection_endpoint_is_503_not_401() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/introspect", listener.local_addr().expect("addr"));
    drop(listener);
    let verifier = introspecting_at(url);
    match verifier.verify::<Value>("opaque-token").await {
        Err(AuthError::Unavailable { reason, .. }) => {
            assert_eq!(reason, Reason::IntrospectionUnavailable);
        }
        other => panic!("{other:?}"),
    }
    // Without an opaque-token source, the same token is simply malformed.
    let jwt_only = Verifier::builder()
        .issuer("https://issuer.example/")
        .audience("https://api.example")
        .key_source(portcullis_core::StaticJwks::from_json(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#).expect("jwks"))
        .build()
        .expect("verifier");
    let err = jwt_only
        .verify::<Value>("opaque-token")
        .await
        .expect_err("malformed");
    assert_eq!(err.reason(), Reason::Malformed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_and_sender_constrained_tokens_are_not_bearer_access_tokens() {
    // A loopback introspection endpoint answering `active: true` without `token_type` (what
    // oidc-provider says for a refresh token), with `token_type: refresh_token`, or with `cnf`.
    let app = Router::new().route(
        "/introspect",
        post(|body: String| async move {
            let token = body
                .split('&')
                .find_map(|p| p.strip_prefix("token="))
                .unwrap_or_default()
                .to_owned();
            let base = json!({"active": true, "aud": "https://api.example", "sub": "u", "exp": 4_102_444_800u64});
            let mut answer = base.clone();
            match token.as_str() {
                "no-type" => {}
                "refresh" => answer["token_type"] = json!("refresh_token"),
                "bound" => {
                    answer["token_type"] = json!("Bearer");
                    answer["cnf"] = json!({"jkt": "abc"});
                }
                "string-true" => {
                    answer["active"] = json!("true");
                    answer["token_type"] = json!("Bearer");
                }
                _ => answer["token_type"] = json!("Bearer"),
            }
            Json(answer)
        }),
    );
    let url = format!("{}/introspect", serve(app).await);
    let verifier = introspecting_at(url);
    assert!(verifier.verify::<Value>("good").await.is_ok());
    // Too long for an opaque token: inactive, and never sent (the endpoint would accept it).
    let long = "g".repeat(portcullis_core::client::MAX_OPAQUE_TOKEN_LEN + 1);
    assert_eq!(
        verifier
            .verify::<Value>(&long)
            .await
            .expect_err("too long")
            .reason(),
        Reason::Inactive
    );
    for token in ["no-type", "refresh", "string-true"] {
        let err = verifier.verify::<Value>(token).await.expect_err(token);
        assert_eq!(err.reason(), Reason::Inactive, "{token}");
    }
    // A bound opaque token is active, and refused as Bearer like a bound JWT.
    let err = verifier.verify::<Value>("bound").await.expect_err("bound");
    assert_eq!(err.reason(), Reason::UnverifiedConfirmation);
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    text.split(start)
        .nth(1)
        .and_then(|rest| rest.split(end).next())
        .unwrap_or_else(|| panic!("no {start} in the page"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_flow_gets_tokens_once_approved_and_stops_when_denied() {
    let Some(idp) = Idp::start() else { return };
    let flow = Arc::new(
        DeviceFlow::builder(&idp.issuer, "device-app")
            .discover()
            .await
            .expect("discovery"),
    );
    let request = TokenRequest::new()
        .scope("openid")
        .scope("offline_access")
        .scope("read:users")
        .resource(&idp.jwt_api);
    let approved = flow.start(&request).await.expect("start");
    let denied = flow.start(&request).await.expect("start");
    assert_ne!(approved.user_code, denied.user_code);
    assert!(approved.interval >= Duration::from_secs(1));
    let shown = format!("{approved:?}");
    assert!(shown.contains(&approved.user_code) && !shown.contains("device_code: \""));

    // The user, on another device: enters the first code, signs in as alice, consents.
    let browser = Browser::new("alice");
    let page = browser.page(&approved.verification_uri).await;
    let xsrf = between(&page, "name=\"xsrf\" value=\"", "\"").to_owned();
    let done = browser
        .submit(
            &approved.verification_uri,
            &[
                ("xsrf", &xsrf),
                ("user_code", &approved.user_code),
                ("confirm", "yes"),
            ],
            "http://never/",
        )
        .await;
    assert!(done.is_none(), "ends on the success page");
    // And aborts the second.
    let other = Browser::new("bob");
    let page = other.page(&denied.verification_uri).await;
    let xsrf = between(&page, "name=\"xsrf\" value=\"", "\"").to_owned();
    other
        .submit(
            &denied.verification_uri,
            &[
                ("xsrf", &xsrf),
                ("user_code", &denied.user_code),
                ("abort", "yes"),
            ],
            "http://never/",
        )
        .await;

    let (tokens, refusal) = tokio::join!(flow.poll(&approved), flow.poll(&denied));
    // What a login gives: a validated ID token and a session that refreshes.
    let user = tokens.expect("approved");
    assert_eq!(user.subject, "alice");
    assert_eq!(user.id_token.subject(), "alice");
    assert_eq!(
        user.id_token.verified().raw_claims()["aud"],
        json!("device-app")
    );
    let verifier = verifier(&idp, &idp.jwt_api);
    let access = user.tokens.access_token().await.expect("access token");
    let verified = verifier
        .verify::<Value>(access.secret())
        .await
        .expect("a JWT for the API");
    assert_eq!(verified.subject(), Some("alice"));
    assert_eq!(verified.client_id(), Some("device-app"));
    let refreshed = user.tokens.refresh().await.expect("the session refreshes");
    assert_ne!(refreshed.secret(), access.secret());
    assert!(verifier.verify::<Value>(refreshed.secret()).await.is_ok());
    match refusal {
        Err(TokenError::Rejected { code, .. }) => assert_eq!(code, ErrorCode::AccessDenied),
        other => panic!("{other:?}"),
    }
    // A used code cannot be polled again.
    assert!(flow.poll(&approved).await.is_err());
}

/// RFC 8693 against a loopback token endpoint (oidc-provider has no token-exchange grant): it
/// checks the request like an authorization server would and mints a real JWT with an `act`
/// claim for the requested audience, which the next service's verifier then accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_exchange_gets_a_delegated_token_for_the_next_service() {
    let issuer = Arc::new(TestIssuer::new().expect("keys"));
    let minter = Arc::clone(&issuer);
    let app = Router::new().route(
        "/token",
        post(move |headers: HeaderMap, body: String| {
            let issuer = Arc::clone(&minter);
            async move {
                let form: std::collections::HashMap<String, String> =
                    url::form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect();
                let field = |name: &str| form.get(name).map(String::as_str);
                let basic = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let bad = |error: &str| {
                    (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response()
                };
                if basic != "Basic b3JkZXJzOnMlM0FlY3JldA==" {
                    return (
                        StatusCode::UNAUTHORIZED,
                        Json(json!({"error": "invalid_client"})),
                    )
                        .into_response();
                }
                if field("grant_type") != Some("urn:ietf:params:oauth:grant-type:token-exchange")
                    || field("subject_token_type")
                        != Some("urn:ietf:params:oauth:token-type:access_token")
                    || field("requested_token_type")
                        != Some("urn:ietf:params:oauth:token-type:access_token")
                {
                    return bad("invalid_request");
                }
                if field("subject_token") != Some("user-token") {
                    return bad("invalid_grant");
                }
                let audience = field("audience").unwrap_or_default().to_owned();
                let mut token = issuer
                    .token()
                    .subject("alice")
                    .audience(audience)
                    .scope(field("scope").unwrap_or_default());
                if field("actor_token") == Some("orders-token") {
                    token = token.claim("act", json!({"sub": "orders"}));
                }
                let issued = if field("scope") == Some("weird") {
                    "urn:ietf:params:oauth:token-type:jwt"
                } else {
                    "urn:ietf:params:oauth:token-type:access_token"
                };
                Json(json!({
                    "access_token": token.sign().expect("sign"),
                    "issued_token_type": issued,
                    "token_type": "Bearer",
                    "expires_in": 60,
                }))
                .into_response()
            }
        }),
    );
    let token_url = format!("{}/token", serve(app).await);
    // A secret with a reserved character: RFC 6749 §2.3.1 form-encodes it inside Basic.
    let exchange = TokenExchange::builder("https://unused.example/", "orders")
        .auth(ClientAuth::SecretBasic("s:ecret".to_owned().into()))
        .token_url(token_url)
        .build()
        .expect("config");
    let user = Subject::new("user-token", TokenType::AccessToken);
    let me = Subject::new("orders-token", TokenType::AccessToken);
    let request = TokenRequest::new()
        .audience("https://billing.example")
        .scope("invoices:read");
    let token = exchange
        .exchange(&user, Some(&me), &request)
        .await
        .expect("exchanged");
    // The next service accepts it for its own audience and sees who acts for whom.
    let billing = issuer
        .verifier()
        .expect("jwks")
        .audience("https://billing.example")
        .build()
        .expect("verifier");
    let verified = billing
        .verify::<Value>(token.secret())
        .await
        .expect("accepted by the next service");
    assert_eq!(verified.subject(), Some("alice"));
    assert_eq!(verified.raw_claims()["act"]["sub"], "orders");
    assert!(verified.has_scope("invoices:read"));

    let expired = Subject::new("expired-token", TokenType::AccessToken);
    match exchange.exchange(&expired, None, &request).await {
        Err(TokenError::Rejected { code, .. }) => assert_eq!(code, ErrorCode::InvalidGrant),
        other => panic!("{other:?}"),
    }
    let weird = TokenRequest::new()
        .audience("https://billing.example")
        .scope("weird");
    assert!(matches!(
        exchange.exchange(&user, None, &weird).await,
        Err(TokenError::Unavailable { .. })
    ));
    assert!(!format!("{user:?} {token:?}").contains("user-token"));
}

const CALLBACK: &str = "http://127.0.0.1/callback";

async fn login(idp: &Idp) -> Login {
    Login::discover(&idp.issuer, "web-app", CALLBACK)
        .await
        .expect("discovery")
}

fn user_request(idp: &Idp) -> TokenRequest {
    TokenRequest::new()
        .scope("openid")
        .scope("email")
        .scope("offline_access")
        .scope("read:users")
        .resource(&idp.jwt_api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_pkce_checks_state_and_iss_and_refreshes_with_rotation() {
    // Token requests held 300 ms, so the 20 refreshes below certainly overlap.
    let Some(idp) = Idp::start_with(&[("IDP_TOKEN_DELAY_MS", "300")]) else {
        return;
    };
    let login = login(&idp).await;
    let (url, pending) = login.start(&user_request(&idp));
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert!(query.get("state").is_some_and(|s| s.len() >= 16));
    assert!(query.get("nonce").is_some_and(|s| s.len() >= 16));
    assert_eq!(query.get("prompt").map(String::as_str), Some("consent"));

    let callback = Browser::new("alice")
        .visit(url.as_str(), CALLBACK)
        .await
        .expect("redirected to the callback");
    let callback_query = callback.query().expect("query").to_owned();
    assert!(
        callback_query.contains("iss="),
        "RFC 9207 iss: {callback_query}"
    );
    let user = login
        .finish(pending, &callback_query)
        .await
        .expect("logged in");
    assert_eq!(user.subject, "alice");
    assert_eq!(user.email.as_deref(), Some("alice@example.test"));
    let verifier = verifier(&idp, &idp.jwt_api);
    let access = user.tokens.access_token().await.expect("access token");
    let verified = verifier
        .verify::<Value>(access.secret())
        .await
        .expect("a JWT for the API");
    assert_eq!(verified.subject(), Some("alice"));
    assert!(verified.has_scope("read:users"));

    // The refresh token must not pass for an access token at an introspecting API.
    let refresh = user
        .tokens
        .refresh_token()
        .expect("offline_access gives a refresh token");
    let introspecting = Verifier::builder()
        .opaque_tokens(introspection(&idp).build().expect("config"))
        .build()
        .expect("verifier");
    let err = introspecting
        .verify::<Value>(&refresh)
        .await
        .expect_err("a refresh token");
    assert_eq!(err.reason(), Reason::Inactive);

    // 20 concurrent forced refreshes: one request, one rotation, everyone gets the new token.
    let before = idp.token_requests("other").await;
    let mut fresh: Vec<String> = concurrently(20, || {
        let tokens = user.tokens.clone();
        async move { tokens.refresh().await }
    })
    .await
    .into_iter()
    .map(|t| t.expect("refreshed").secret().to_owned())
    .collect();
    fresh.dedup();
    assert_eq!(fresh.len(), 1, "one new access token for all");
    assert_eq!(
        idp.token_requests("other").await - before,
        1,
        "one refresh request"
    );
    let rotated = user.tokens.refresh_token().expect("refresh token");
    assert_ne!(
        rotated, refresh,
        "the public client's refresh token rotated"
    );
    assert_ne!(fresh[0], access.secret());
    assert!(verifier.verify::<Value>(&fresh[0]).await.is_ok());
    // And the session still refreshes after the rotation.
    user.tokens
        .refresh()
        .await
        .expect("refresh with the rotated token");
}

/// Signs `user` in on `login` through the provider's pages.
async fn sign_in(
    login: &Login,
    request: &TokenRequest,
    user: &str,
) -> Result<LoggedIn, TokenError> {
    sign_in_with(login, request, &Browser::new(user)).await
}

/// The same in `browser`, which keeps the provider's cookies.
async fn sign_in_with(
    login: &Login,
    request: &TokenRequest,
    browser: &Browser,
) -> Result<LoggedIn, TokenError> {
    let (url, pending) = login.start(request);
    let callback = browser
        .visit(url.as_str(), CALLBACK)
        .await
        .expect("redirected to the callback");
    login
        .finish(pending, callback.query().expect("query"))
        .await
}

/// A provider rotating its signing key is routine: the one `Login` a service builds at start-up
/// keeps working, its ID tokens checked on portcullis' key cache (which fetches the new key
/// when it first sees its `kid`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_login_survives_a_signing_key_rotation_at_the_provider() {
    let Some(idp) = Idp::start() else { return };
    let login = login(&idp).await;
    let request = user_request(&idp);
    let before = sign_in(&login, &request, "alice")
        .await
        .expect("first login");
    assert_eq!(before.id_token.verified().kid(), Some("idp-rs256"));
    let kid = idp.rotate().await;
    let after = sign_in(&login, &request, "bob")
        .await
        .expect("a login after the rotation");
    assert_eq!(after.id_token.verified().kid(), Some(kid.as_str()));
    assert_eq!(after.subject, "bob");
    assert_eq!(after.id_token.subject(), "bob");
    #[derive(serde::Deserialize)]
    struct Email {
        email: String,
        email_verified: bool,
    }
    let email: Email = after.id_token.claims().expect("typed claims");
    assert_eq!(email.email, "bob@example.test");
    assert!(email.email_verified);
    assert_eq!(
        after.id_token.verified().raw_claims()["aud"],
        json!("web-app")
    );
    assert!(!format!("{after:?}").contains(after.id_token.raw()));
}

/// UserInfo answers for the ID token's subject (and an answer for anyone else is refused);
/// RP-initiated logout ends the provider's session, so the next login asks for credentials
/// again in the same browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_names_the_subject_and_logout_ends_the_provider_session() {
    let Some(idp) = Idp::start() else { return };
    let login = login(&idp).await;
    // No resource: the access token is for the provider's own UserInfo endpoint.
    let request = TokenRequest::new().scope("openid").scope("email");
    let browser = Browser::new("carol");
    let user = sign_in_with(&login, &request, &browser)
        .await
        .expect("login");
    assert_eq!(browser.sign_ins(), 1);

    #[derive(serde::Deserialize)]
    struct Info {
        sub: String,
        email: String,
    }
    let info: Info = login
        .userinfo(&user.tokens, user.id_token.subject())
        .await
        .expect("userinfo");
    assert_eq!(info.sub, "carol");
    assert_eq!(info.email, "carol@example.test");
    match login.userinfo::<Value>(&user.tokens, "mallory").await {
        Err(TokenError::Invalid(why)) => assert!(why.contains("another subject"), "{why}"),
        other => panic!("{other:?}"),
    }

    // Signed in at the provider: a second login in this browser asks nothing.
    sign_in_with(&login, &request, &browser)
        .await
        .expect("second login");
    assert_eq!(browser.sign_ins(), 1);

    let url = login
        .end_session(&user.id_token)
        .post_logout_redirect_uri("http://127.0.0.1/logged-out")
        .state("bye-1")
        .url()
        .expect("end_session_endpoint");
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["id_token_hint"], user.id_token.raw());
    assert_eq!(query["client_id"], "web-app");
    let answer = browser.confirm_logout(url.as_str()).await;
    let location = answer.headers()["location"].to_str().expect("location");
    assert!(
        location.starts_with("http://127.0.0.1/logged-out") && location.contains("state=bye-1"),
        "{location}"
    );
    // The provider's session is over: the next login asks for credentials again.
    sign_in_with(&login, &request, &browser)
        .await
        .expect("login again");
    assert_eq!(browser.sign_ins(), 2);
}

/// A session stored after login is restored by another `Login` (as a restarted process would
/// build), uses the stored access token without a request, refreshes, and hands every rotated
/// refresh token to the hook, in order; the spent one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_session_is_restored_elsewhere_and_keeps_refreshing() {
    let Some(idp) = Idp::start() else { return };
    let user = sign_in(&login(&idp).await, &user_request(&idp), "alice")
        .await
        .expect("login");
    let saved = user
        .tokens
        .save()
        .expect("offline_access gives a refresh token");
    assert_eq!(
        saved.resources().collect::<Vec<_>>(),
        [idp.jwt_api.as_str()]
    );
    let (stored_access, expires_at) = saved.saved_access_token().expect("the access token");
    assert!(expires_at > std::time::SystemTime::now());
    let shown = format!("{saved:?}");
    assert!(!shown.contains(saved.refresh_token()) && !shown.contains(stored_access));
    let first_refresh = saved.refresh_token().to_owned();
    let stored_access = stored_access.to_owned();
    drop(user);

    // "After the restart": a new Login, the session rebuilt from storage.
    let login = login(&idp).await;
    let restored = login.restore(
        portcullis_core::client::SavedSession::new(saved.refresh_token())
            .access_token(&stored_access, expires_at)
            .resource(&idp.jwt_api),
    );
    let before = idp.token_requests("other").await;
    let access = restored.access_token().await.expect("the stored token");
    assert_eq!(access.secret(), stored_access);
    assert_eq!(idp.token_requests("other").await, before, "no request");

    let stored = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&stored);
    let session = restored.clone();
    restored.on_refresh(move |saved| {
        let (sink, session) = (Arc::clone(&sink), session.clone());
        async move {
            // The new tokens are in use before the hook runs, and asking for one from inside
            // it does not wait for the refresh it is part of.
            assert_eq!(
                session.refresh_token().as_deref(),
                Some(saved.refresh_token())
            );
            let access = session.access_token().await.expect("the new access token");
            assert_eq!(
                saved.saved_access_token().map(|(t, _)| t),
                Some(access.secret())
            );
            sink.lock().unwrap().push(saved.refresh_token().to_owned())
        }
    });
    let verifier = verifier(&idp, &idp.jwt_api);
    for _ in 0..2 {
        let fresh = restored.refresh().await.expect("refreshed");
        let verified = verifier
            .verify::<Value>(fresh.secret())
            .await
            .expect("a JWT for the API");
        assert_eq!(verified.subject(), Some("alice"));
    }
    let rotated = stored.lock().unwrap().clone();
    assert_eq!(rotated.len(), 2, "one hook call per refresh");
    assert_ne!(rotated[0], first_refresh);
    assert_ne!(rotated[1], rotated[0]);
    assert_eq!(
        restored.refresh_token().as_deref(),
        Some(rotated[1].as_str())
    );

    // Without its access token, a restored session refreshes on first use.
    let from_hook = login
        .restore(portcullis_core::client::SavedSession::new(&rotated[1]).resource(&idp.jwt_api));
    let access = from_hook
        .access_token()
        .await
        .expect("refreshed on first use");
    assert!(verifier.verify::<Value>(access.secret()).await.is_ok());

    // A spent refresh token is refused (and the provider ends the grant, so this goes last).
    let spent = login.restore(portcullis_core::client::SavedSession::new(&first_refresh));
    match spent.access_token().await {
        Err(TokenError::Rejected { code, .. }) => assert_eq!(code, ErrorCode::InvalidGrant),
        other => panic!("{other:?}"),
    }
}

/// The provider's own failures (`500 {"error":"server_error"}`, as oidc-provider answers
/// them) are `Unavailable` on every flow; its refusals stay `Rejected`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_is_unavailable_and_a_refusal_stays_rejected() {
    let Some(idp) = Idp::start() else { return };
    let unavailable = |result: Result<(), TokenError>, what: &str| match result {
        Err(TokenError::Unavailable { reason }) => {
            assert!(reason.contains("500"), "{what}: {reason}")
        }
        other => panic!("{what}: {other:?}"),
    };
    idp.fail_token(500, Some("server_error"), 1).await;
    unavailable(
        basic(&idp, TokenRequest::new().resource(&idp.jwt_api))
            .access_token()
            .await
            .map(drop),
        "client credentials",
    );
    let login = login(&idp).await;
    let (url, pending) = login.start(&user_request(&idp));
    let callback = Browser::new("alice")
        .visit(url.as_str(), CALLBACK)
        .await
        .expect("redirected to the callback");
    idp.fail_token(500, Some("server_error"), 1).await;
    match login
        .finish(pending, callback.query().expect("query"))
        .await
    {
        Err(error) => unavailable(Err(error), "code exchange"),
        other => panic!("code exchange: {other:?}"),
    }
    let user = sign_in(&login, &user_request(&idp), "alice")
        .await
        .expect("login");
    idp.fail_token(500, Some("server_error"), 1).await;
    unavailable(user.tokens.refresh().await.map(drop), "refresh");
    let revocation = Revocation::builder(&idp.issuer, "resource-server")
        .auth(ClientAuth::SecretBasic(idp.secret("resourceServer").into()))
        .build()
        .expect("config");
    idp.fail_token(500, Some("server_error"), 1).await;
    unavailable(
        revocation
            .revoke("some-token", TokenTypeHint::AccessToken)
            .await,
        "revocation",
    );
    // The same provider refusing a wrong secret: a refusal, not an outage.
    let wrong = ClientCredentials::builder("service-basic")
        .auth(ClientAuth::SecretBasic("wrong".to_owned().into()))
        .token_url(idp.token_url())
        .build()
        .expect("config");
    match wrong.access_token().await {
        Err(TokenError::Rejected { code, .. }) => assert_eq!(code, ErrorCode::InvalidClient),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_mixed_up_callback_is_refused() {
    let Some(idp) = Idp::start() else { return };
    let login = login(&idp).await;
    let request = user_request(&idp);

    // The browser completes a real login, but the callback's state is not ours.
    let (url, pending) = login.start(&request);
    let callback = Browser::new("mallory")
        .visit(url.as_str(), CALLBACK)
        .await
        .expect("callback");
    let query = callback.query().expect("query").to_owned();
    let (_, other) = login.start(&request);
    match login.finish(other, &query).await {
        Err(TokenError::Callback(why)) => assert!(why.contains("state"), "{why}"),
        other => panic!("{other:?}"),
    }
    drop(pending);

    // Same state, but `iss` names another issuer (a mix-up attack), or is missing.
    for (iss, why) in [("http://127.0.0.1:1", "another issuer"), ("", "missing")] {
        let (url, pending) = login.start(&request);
        let callback = Browser::new("alice")
            .visit(url.as_str(), CALLBACK)
            .await
            .expect("callback");
        let pairs: Vec<(String, String)> = callback
            .query_pairs()
            .into_owned()
            .filter(|(k, _)| k != "iss")
            .chain((!iss.is_empty()).then(|| ("iss".to_owned(), iss.to_owned())))
            .collect();
        let forged = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        match login.finish(pending, &forged).await {
            Err(TokenError::Callback(reason)) => assert!(reason.contains("iss"), "{why}: {reason}"),
            other => panic!("{why}: {other:?}"),
        }
    }

    // An error callback with our state and issuer is a refusal to show, not a crash.
    let (url, pending) = login.start(&request);
    let state: String = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    let denied = format!(
        "error=access_denied&state={}&iss={}",
        urlencode(&state),
        urlencode(&idp.issuer)
    );
    match login.finish(pending, &denied).await {
        Err(TokenError::Denied { code }) => assert_eq!(code, ErrorCode::AccessDenied),
        other => panic!("{other:?}"),
    }
    // A parameter given twice is refused before anything is read.
    let (_, pending) = login.start(&request);
    assert!(matches!(
        login.finish(pending, "code=a&code=b").await,
        Err(TokenError::Callback(_))
    ));
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A resource server as a plain tower service: refuses `token-1` as invalid, records what it saw.
#[derive(Clone)]
struct Api(Arc<std::sync::Mutex<Vec<String>>>);

impl tower_service::Service<http::Request<String>> for Api {
    type Response = http::Response<String>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<String>) -> Self::Future {
        let auth = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.0
            .lock()
            .expect("seen")
            .push(format!("{auth} {}", request.body()));
        let response = if auth == "Bearer token-1" {
            http::Response::builder()
                .status(401)
                .header("www-authenticate", "Bearer error=\"invalid_token\"")
                .body(String::new())
        } else {
            http::Response::builder().status(200).body("ok".to_owned())
        };
        std::future::ready(Ok(response.expect("response")))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tower_layer_attaches_tokens_and_replays_once_on_invalid_token() {
    use tower_layer::Layer as _;
    use tower_service::Service as _;
    let (token_url, tokens) =
        token_endpoint(json!({"token_type": "Bearer", "expires_in": 3600})).await;
    let source = svc_client(token_url);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut service = BearerLayer::new(source).layer(Api(Arc::clone(&seen)));
    for _ in 0..2 {
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .expect("ready");
        let request = http::Request::post("http://api.example/orders")
            .body("the body".to_owned())
            .expect("request");
        let response = service.call(request).await.expect("response");
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        *seen.lock().expect("seen"),
        vec![
            "Bearer token-1 the body",
            "Bearer token-2 the body",
            "Bearer token-2 the body"
        ],
        "refused once, replayed with the same body and a new token, then cached"
    );
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confidential_client_logs_in_with_its_secret_and_pkce() {
    let Some(idp) = Idp::start() else { return };
    let login = Login::builder(&idp.issuer, "web-confidential", CALLBACK)
        .auth(ClientAuth::SecretBasic(idp.secret("web").into()))
        .discover()
        .await
        .expect("discovery");
    let (url, pending) = login.start(&user_request(&idp));
    let callback = Browser::new("carol")
        .visit(url.as_str(), CALLBACK)
        .await
        .expect("callback");
    let user = login
        .finish(pending, callback.query().expect("query"))
        .await
        .expect("logged in");
    assert_eq!(user.subject, "carol");
    user.tokens
        .refresh()
        .await
        .expect("refresh with the secret");

    // The user's tokens as a TokenSource: an API refusing the first token it sees makes the
    // middleware invalidate it, which refreshes the session once, and the retry succeeds.
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let api = Router::new()
        .route(
            "/data",
            get(
                |State(seen): State<Arc<std::sync::Mutex<Vec<String>>>>, headers: HeaderMap| async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let mut seen = seen.lock().expect("seen");
                    let first = seen.is_empty();
                    seen.push(auth);
                    if first {
                        Err((
                            StatusCode::UNAUTHORIZED,
                            [("www-authenticate", "Bearer error=\"invalid_token\"")],
                        ))
                    } else {
                        Ok("ok")
                    }
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let api = serve(api).await;
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerMiddleware::new(user.tokens.clone()))
        .build();
    let before = user.tokens.refresh_token();
    let response = http.get(format!("{api}/data")).send().await.expect("send");
    assert_eq!(response.status(), 200);
    let seen = seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0], seen[1], "retried with a refreshed token");
    // oidc-provider rotates only public clients' refresh tokens: the confidential client's is
    // kept, and the session keeps using it.
    assert_eq!(user.tokens.refresh_token(), before);
    // The wrong secret fails at the code exchange, with the server's code.
    let wrong = Login::builder(&idp.issuer, "web-confidential", CALLBACK)
        .auth(ClientAuth::SecretBasic("wrong".to_owned().into()))
        .discover()
        .await
        .expect("discovery");
    let (url, pending) = wrong.start(&user_request(&idp));
    let callback = Browser::new("carol")
        .visit(url.as_str(), CALLBACK)
        .await
        .expect("callback");
    match wrong
        .finish(pending, callback.query().expect("query"))
        .await
    {
        Err(TokenError::Rejected { code, .. }) => {
            assert_eq!(code, ErrorCode::InvalidClient);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_failing_token_endpoint_gets_one_request_per_two_seconds() {
    let count = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/token",
            post(|State(count): State<Arc<AtomicUsize>>| async move {
                count.fetch_add(1, Ordering::SeqCst);
                StatusCode::SERVICE_UNAVAILABLE
            }),
        )
        .with_state(Arc::clone(&count));
    let url = format!("{}/token", serve(app).await);
    let client = svc_client(url);
    for _ in 0..5 {
        assert!(matches!(
            client.access_token().await,
            Err(TokenError::Unavailable { .. })
        ));
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "the failure is reused for 2 s"
    );
    skip(portcullis_core::client::RETRY_AFTER_FAILURE).await;
    assert!(client.access_token().await.is_err());
    assert_eq!(count.load(Ordering::SeqCst), 2, "then one new request");
}

/// An opaque token bound to a DPoP key (introspection answers `token_type: DPoP` with `cnf.jkt`,
/// RFC 9449 §6.2) is accepted with a proof by that key, and refused as Bearer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_bound_opaque_token_needs_its_proof() {
    use portcullis_core::authenticator::Authenticator;
    use portcullis_core::principal::{AuthMethod, Binding};
    use portcullis_core::request::RequestView;
    use portcullis_core::testing::{DpopKey, HeaderList};

    let key = DpopKey::generate(Algorithm::ES256).expect("key");
    let jkt = key.thumbprint();
    let answer = json!({
        "active": true, "token_type": "DPoP", "aud": "https://api.example", "sub": "holder",
        "exp": 4_102_444_800u64, "cnf": {"jkt": jkt},
    });
    let app = Router::new().route(
        "/introspect",
        post(move || {
            let answer = answer.clone();
            async move { Json(answer) }
        }),
    );
    let url = format!("{}/introspect", serve(app).await);
    let auth = Authenticator::new(introspecting_at(url));
    let decide = |headers: Vec<(&'static str, String)>| {
        let auth = auth.clone();
        async move {
            let headers = HeaderList(headers);
            let view = RequestView::new("GET", "/users", &headers)
                .authority(Some("api.example"))
                .secure(true);
            auth.authenticate(&view).await
        }
    };
    let proof = key
        .proof("GET", "https://api.example/users")
        .access_token("opaque-bound")
        .sign()
        .expect("proof");
    let state = decide(vec![
        ("authorization", "DPoP opaque-bound".to_owned()),
        ("dpop", proof),
    ])
    .await
    .expect("accepted with its proof");
    let principal = state.principal().expect("principal");
    assert_eq!(principal.method(), AuthMethod::DpopIntrospected);
    assert_eq!(principal.binding(), &Binding::DpopKey { jkt });
    let refused = decide(vec![("authorization", "Bearer opaque-bound".to_owned())])
        .await
        .expect_err("bound token as Bearer");
    assert_eq!(refused.status, 401);
}

/// A token issued as DPoP-bound to `key`'s thumbprint, by the test kit's issuer.
fn bound_token(issuer: &TestIssuer, key: &portcullis_core::client::DpopKey) -> String {
    issuer
        .token()
        .claim("cnf", json!({"jkt": key.thumbprint()}))
        .sign()
        .expect("sign")
}

/// The client's proofs pass portcullis' own resource-server checks, for each algorithm, with a
/// generated key and one loaded from PKCS#8 (PEM and DER), on whichever backend signs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_dpop_proofs_pass_the_resource_server_checks() {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
    use base64::Engine as _;
    use portcullis_core::authenticator::Authenticator;
    use portcullis_core::client::DpopKey;
    use portcullis_core::principal::Binding;
    use portcullis_core::request::RequestView;
    use portcullis_core::testing::HeaderList;

    let issuer = TestIssuer::new().expect("issuer");
    let auth = Authenticator::new(
        issuer
            .verifier()
            .expect("verifier")
            .build()
            .expect("config"),
    );
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let p256 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("p256");
    let ed = Ed25519KeyPair::generate_pkcs8(&rng).expect("ed25519");
    let pem = |der: &[u8]| {
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    };
    let keys = [
        DpopKey::generate(Algorithm::ES256).expect("generate"),
        DpopKey::generate(Algorithm::EdDSA).expect("generate"),
        DpopKey::from_pkcs8_der(p256.as_ref(), Algorithm::ES256).expect("der"),
        DpopKey::from_pkcs8_pem(&pem(ed.as_ref()), Algorithm::EdDSA).expect("pem"),
    ];
    assert!(DpopKey::from_pkcs8_der(p256.as_ref(), Algorithm::EdDSA).is_err());
    for key in keys {
        let token = bound_token(&issuer, &key);
        let proof = key
            .proof(
                "POST",
                "https://api.example.com/orders?id=7#x",
                Some(&token),
            )
            .expect("proof");
        let headers = HeaderList(vec![
            ("authorization", format!("DPoP {token}")),
            ("dpop", proof),
        ]);
        let view = RequestView::new("POST", "/orders", &headers)
            .authority(Some("api.example.com"))
            .secure(true);
        let state = auth.authenticate(&view).await.expect("accepted");
        let principal = state.principal().expect("principal");
        assert_eq!(
            principal.binding(),
            &Binding::DpopKey {
                jkt: key.thumbprint().to_owned()
            },
            "{key:?}"
        );
        // The same proof for another method is refused.
        let view = RequestView::new("GET", "/orders", &headers)
            .authority(Some("api.example.com"))
            .secure(true);
        assert!(auth.authenticate(&view).await.is_err(), "{key:?}");
    }
}

/// A client that proves a key must get `token_type: DPoP` back: a bearer token (the server
/// ignored the proof) is refused, and so is a DPoP token without a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_type_must_match_what_was_asked() {
    use portcullis_core::client::DpopKey;
    let key = DpopKey::generate(Algorithm::ES256).expect("key");
    let with_key = |url: String| {
        ClientCredentials::builder("svc")
            .auth(ClientAuth::SecretPost("s".to_owned().into()))
            .token_url(url)
            .dpop(key.clone())
            .build()
            .expect("config")
    };
    let (bearer_url, _) = token_endpoint(json!({"token_type": "Bearer", "expires_in": 60})).await;
    let error = with_key(bearer_url).access_token().await.unwrap_err();
    assert!(
        error.to_string().contains("Bearer token to a DPoP request"),
        "{error}"
    );
    let (dpop_url, _) = token_endpoint(json!({"token_type": "DPoP", "expires_in": 60})).await;
    assert!(
        with_key(dpop_url.clone())
            .access_token()
            .await
            .unwrap()
            .is_dpop()
    );
    assert!(svc_client(dpop_url).access_token().await.is_err());
}

/// The `cnf.jkt` of a JWT access token.
fn jkt_of(token: &str) -> Option<String> {
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1)?)
            .ok()?,
    )
    .ok()?;
    claims["cnf"]["jkt"].as_str().map(str::to_owned)
}

/// DPoP through the user flows against oidc-provider with nonces required: the authorization
/// request names the key (`dpop_jkt`), the code exchange and the refresh prove it (each after
/// the token endpoint's `use_dpop_nonce`), and every access token is bound to it; the session
/// hands the key to the outbound middleware. The device flow's tokens are bound too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_refresh_and_the_device_flow_get_dpop_bound_tokens() {
    use portcullis_core::client::DpopKey;
    let Some(idp) = Idp::start_with(&[("IDP_DPOP_NONCE", "1")]) else {
        return;
    };
    let key = DpopKey::generate(Algorithm::EdDSA).expect("key");
    let login = Login::builder(&idp.issuer, "web-app", CALLBACK)
        .dpop(key.clone())
        .discover()
        .await
        .expect("discovery");
    let (url, pending) = login.start(&user_request(&idp));
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("dpop_jkt").map(String::as_str),
        Some(key.thumbprint())
    );
    let callback = Browser::new("alice")
        .visit(url.as_str(), CALLBACK)
        .await
        .expect("redirected to the callback");
    let user = login
        .finish(pending, callback.query().expect("query"))
        .await
        .expect("logged in with DPoP");
    let access = user.tokens.access_token().await.expect("access token");
    assert!(access.is_dpop());
    assert_eq!(jkt_of(access.secret()).as_deref(), Some(key.thumbprint()));
    assert_eq!(
        user.tokens.dpop_key().map(DpopKey::thumbprint),
        Some(key.thumbprint())
    );
    let refreshed = user.tokens.refresh().await.expect("a refresh with a proof");
    assert!(refreshed.is_dpop());
    assert_ne!(refreshed.secret(), access.secret());
    assert_eq!(
        jkt_of(refreshed.secret()).as_deref(),
        Some(key.thumbprint())
    );

    // UserInfo with a DPoP-bound token: a proof with `ath`, and the provider's nonce followed.
    let own = TokenRequest::new().scope("openid").scope("email");
    let (url, pending) = login.start(&own);
    let callback = Browser::new("carol")
        .visit(url.as_str(), CALLBACK)
        .await
        .expect("redirected to the callback");
    let carol = login
        .finish(pending, callback.query().expect("query"))
        .await
        .expect("logged in with DPoP");
    assert!(carol.tokens.access_token().await.expect("token").is_dpop());
    let info: Value = login
        .userinfo(&carol.tokens, carol.id_token.subject())
        .await
        .expect("userinfo over DPoP");
    assert_eq!(info["sub"], "carol");

    // The device flow, approved by bob.
    let flow = DeviceFlow::builder(&idp.issuer, "device-app")
        .dpop(key.clone())
        .discover()
        .await
        .expect("discovery");
    let request = TokenRequest::new()
        .scope("openid")
        .scope("read:users")
        .resource(&idp.jwt_api);
    let authorization = flow.start(&request).await.expect("start");
    let browser = Browser::new("bob");
    let page = browser.page(&authorization.verification_uri).await;
    let xsrf = between(&page, "name=\"xsrf\" value=\"", "\"").to_owned();
    browser
        .submit(
            &authorization.verification_uri,
            &[
                ("xsrf", &xsrf),
                ("user_code", &authorization.user_code),
                ("confirm", "yes"),
            ],
            "http://never/",
        )
        .await;
    let user = flow.poll(&authorization).await.expect("approved");
    assert_eq!(user.subject, "bob");
    let access = user.tokens.access_token().await.expect("access token");
    assert!(access.is_dpop());
    assert_eq!(jkt_of(access.secret()).as_deref(), Some(key.thumbprint()));
}
