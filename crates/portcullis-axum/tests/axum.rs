//! The axum adapter against a real axum server on loopback, driven by reqwest: every HTTP-level
//! rule and status of DESIGN §4, the extractors, `require`, the renderer hook.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use portcullis_axum::{AuthLayer, Claims, Rejection, Renderer, require};
use portcullis_core::authz::scope;
use portcullis_core::keys::RemoteJwks;
use portcullis_core::testing::{JwksMode, TestIssuer, TestServer};
use portcullis_core::{AuthError, Challenge, Verifier};
use serde_json::Value;

async fn me(claims: Claims<Value>) -> String {
    format!("hello {}", claims.subject().unwrap_or("?"))
}

async fn maybe(claims: Option<Claims<Value>>) -> String {
    match claims {
        Some(c) => format!("hello {}", c.subject().unwrap_or("?")),
        None => "anonymous".into(),
    }
}

fn app(verifier: Verifier) -> Router {
    let protected = Router::new()
        .route("/me", get(me))
        .route("/admin", get(me).route_layer(require(scope("read:users"))))
        .layer(AuthLayer::new(verifier.clone()));
    let optional = Router::new()
        .route("/maybe", get(maybe))
        .layer(AuthLayer::new(verifier).optional());
    let unguarded = Router::new().route("/forgot-the-layer", get(me));
    Router::new()
        .route("/public", get(|| async { "public" }))
        .merge(protected)
        .merge(optional)
        .merge(unguarded)
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    addr
}

struct Answer {
    status: u16,
    challenge: Option<String>,
    retry_after: Option<String>,
    content_type: Option<String>,
    body: String,
}

async fn get_with(addr: SocketAddr, path: &str, authorization: &[&str]) -> Answer {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    for value in authorization {
        request = request.header("authorization", *value);
    }
    let response = request.send().await.expect("request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (challenge, retry_after, content_type) = (
        header("www-authenticate"),
        header("retry-after"),
        header("content-type"),
    );
    Answer {
        status: response.status().as_u16(),
        challenge,
        retry_after,
        content_type,
        body: response.text().await.expect("body"),
    }
}

struct Fixture {
    issuer: TestIssuer,
    _keys: TestServer,
    addr: SocketAddr,
}

async fn fixture() -> Fixture {
    let (issuer, keys) = TestIssuer::serve().await.expect("issuer");
    let source = RemoteJwks::builder(keys.jwks_url())
        .build()
        .expect("config");
    let verifier = Verifier::builder()
        .issuer(issuer.issuer())
        .audience(issuer.audience())
        .key_source(source)
        .build()
        .expect("config");
    let addr = serve(app(verifier)).await;
    Fixture {
        issuer,
        _keys: keys,
        addr,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_and_challenges() {
    let f = fixture().await;
    let good = f
        .issuer
        .token()
        .subject("alice")
        .scope("read:users")
        .sign()
        .expect("sign");
    let reader = f
        .issuer
        .token()
        .subject("bob")
        .scope("openid")
        .sign()
        .expect("sign");
    let expired = f.issuer.token().expires_in(-3600).sign().expect("sign");
    let mut tampered = good.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("utf8");
    let bearer = |t: &str| format!("Bearer {t}");
    let invalid_token = Some(
        "Bearer error=\"invalid_token\", error_description=\"invalid access token\", DPoP algs=\"RS256 PS256 ES256 ES384 EdDSA\"",
    );
    let invalid_request = Some(
        "Bearer error=\"invalid_request\", error_description=\"malformed request\", DPoP algs=\"RS256 PS256 ES256 ES384 EdDSA\"",
    );

    // (name, path, Authorization headers, status, WWW-Authenticate, body on success)
    type Case<'a> = (&'a str, &'a str, Vec<String>, u16, Option<&'a str>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("public", "/public", vec![], 200, None, "public"),
        (
            "no credential",
            "/me",
            vec![],
            401,
            Some("Bearer, DPoP algs=\"RS256 PS256 ES256 ES384 EdDSA\""),
            "",
        ),
        (
            "other scheme",
            "/me",
            vec!["Basic dXNlcjpwYXNz".into()],
            401,
            Some("Bearer, DPoP algs=\"RS256 PS256 ES256 ES384 EdDSA\""),
            "",
        ),
        (
            "two headers",
            "/me",
            vec![bearer(&good), bearer(&good)],
            400,
            invalid_request,
            "",
        ),
        (
            "empty bearer",
            "/me",
            vec!["Bearer ".into()],
            400,
            invalid_request,
            "",
        ),
        (
            "malformed token",
            "/me",
            vec!["Bearer not-a-jwt".into()],
            401,
            invalid_token,
            "",
        ),
        (
            "bad signature",
            "/me",
            vec![bearer(&tampered)],
            401,
            invalid_token,
            "",
        ),
        (
            "expired",
            "/me",
            vec![bearer(&expired)],
            401,
            invalid_token,
            "",
        ),
        (
            "valid",
            "/me",
            vec![bearer(&good)],
            200,
            None,
            "hello alice",
        ),
        (
            "lower-case scheme",
            "/me",
            vec![format!("bearer {good}")],
            200,
            None,
            "hello alice",
        ),
        (
            "insufficient scope",
            "/admin",
            vec![bearer(&reader)],
            403,
            Some(
                "Bearer error=\"insufficient_scope\", error_description=\"insufficient scope\", scope=\"read:users\", DPoP algs=\"RS256 PS256 ES256 ES384 EdDSA\"",
            ),
            "",
        ),
        (
            "scope present",
            "/admin",
            vec![bearer(&good)],
            200,
            None,
            "hello alice",
        ),
        (
            "optional, anonymous",
            "/maybe",
            vec![],
            200,
            None,
            "anonymous",
        ),
        (
            "optional, valid",
            "/maybe",
            vec![bearer(&reader)],
            200,
            None,
            "hello bob",
        ),
        (
            "optional, invalid",
            "/maybe",
            vec![bearer(&expired)],
            401,
            invalid_token,
            "",
        ),
    ];
    for (name, path, headers, status, challenge, body) in cases {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let a = get_with(f.addr, path, &headers).await;
        assert_eq!(a.status, status, "{name}: {}", a.body);
        assert_eq!(a.challenge.as_deref(), challenge, "{name}");
        if status == 200 {
            assert_eq!(a.body, body, "{name}");
        } else {
            assert_eq!(
                a.content_type.as_deref(),
                Some("application/problem+json"),
                "{name}"
            );
            let problem: Value = serde_json::from_str(&a.body).expect("problem json");
            assert_eq!(problem["status"], status, "{name}");
            assert!(
                !a.body.contains("expired") && !a.body.contains("bad_signature"),
                "{name}: no internal detail"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_without_the_layer_is_a_server_error_not_an_anonymous_user() {
    let f = fixture().await;
    let a = get_with(f.addr, "/forgot-the-layer", &[]).await;
    assert_eq!(a.status, 500);
    assert!(a.body.contains("no authenticator"), "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_unavailable_is_503_with_retry_after() {
    let (issuer, keys) = TestIssuer::serve().await.expect("issuer");
    keys.set_mode(JwksMode::Status(500));
    let verifier = Verifier::builder()
        .issuer(issuer.issuer())
        .audience(issuer.audience())
        .key_source(
            RemoteJwks::builder(keys.jwks_url())
                .build()
                .expect("config"),
        )
        .build()
        .expect("config");
    let addr = serve(app(verifier)).await;
    let token = issuer.token().sign().expect("sign");
    let a = get_with(addr, "/me", &[&format!("Bearer {token}")]).await;
    assert_eq!(a.status, 503);
    assert_eq!(a.retry_after.as_deref(), Some("30"));
    assert_eq!(a.challenge, None);
}

#[derive(Debug)]
struct Teapot;

impl Renderer for Teapot {
    fn render(&self, _error: &AuthError, challenge: &Challenge) -> Rejection {
        Rejection::new(
            challenge.status,
            // An upper-case name is fine; an invalid one is dropped, never a panic.
            vec![("X-Custom", "yes".into()), ("bad header", "x".into())],
            format!("custom {}", challenge.status).into_bytes(),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_renderer_is_used_by_layer_and_require() {
    let issuer = TestIssuer::new().expect("keys");
    let verifier = issuer.verifier().expect("jwks").build().expect("config");
    let router = Router::new()
        .route("/admin", get(me).route_layer(require(scope("read:users"))))
        .layer(AuthLayer::new(verifier).renderer(Teapot));
    let addr = serve(router).await;
    assert_eq!(get_with(addr, "/admin", &[]).await.body, "custom 401");
    let raw = reqwest::get(format!("http://{addr}/admin"))
        .await
        .expect("request");
    assert_eq!(
        raw.headers().get("x-custom").and_then(|v| v.to_str().ok()),
        Some("yes")
    );
    let token = issuer.token().sign().expect("sign");
    let a = get_with(addr, "/admin", &[&format!("Bearer {token}")]).await;
    assert_eq!((a.status, a.body.as_str()), (403, "custom 403"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_tower_services_read_the_principal() {
    use portcullis_axum::RequestState;
    let issuer = TestIssuer::new().expect("keys");
    let verifier = issuer.verifier().expect("jwks").build().expect("config");
    let raw = tower::service_fn(|request: http::Request<axum::body::Body>| async move {
        let who = request
            .extensions()
            .get::<RequestState>()
            .and_then(|s| s.principal()?.subject().map(str::to_owned))
            .unwrap_or_default();
        Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::from(who)))
    });
    let addr = serve(
        Router::new()
            .route_service("/raw", raw)
            .layer(AuthLayer::new(verifier)),
    )
    .await;
    let token = issuer.token().subject("carol").sign().expect("sign");
    let a = get_with(addr, "/raw", &[&format!("Bearer {token}")]).await;
    assert_eq!((a.status, a.body.as_str()), (200, "carol"));
}
