//! The same table of requests against an axum app and an actix-web app built from the same
//! verifiers: status, `WWW-Authenticate` and body must be identical, and as DESIGN §4 says.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::net::SocketAddr;
use std::sync::mpsc;

use portcullis::Verifier;
use portcullis::authz::scope;
use portcullis::keys::RemoteJwks;
use portcullis::testing::{JwksMode, TestIssuer};
use serde_json::Value;

fn greet(subject: Option<&str>) -> String {
    format!("hello {}", subject.unwrap_or("?"))
}

async fn serve_axum(v: Verifier, down: Verifier) -> SocketAddr {
    use axum::Router;
    use axum::routing::get;
    use portcullis::axum::{AuthLayer, Claims, require};
    async fn me(c: Claims<Value>) -> String {
        greet(c.subject())
    }
    async fn maybe(c: Option<Claims<Value>>) -> String {
        c.map_or_else(|| "anonymous".into(), |c| greet(c.subject()))
    }
    let app = Router::new()
        .merge(
            Router::new()
                .route("/me", get(me))
                .route("/admin", get(me).route_layer(require(scope("read:users"))))
                .layer(AuthLayer::new(v.clone())),
        )
        .merge(
            Router::new()
                .route("/maybe", get(maybe))
                .layer(AuthLayer::new(v).optional()),
        )
        .merge(
            Router::new()
                .route("/down/me", get(me))
                .layer(AuthLayer::new(down)),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

/// Runs the actix app on its own thread and runtime; returns its address and a stop handle.
fn serve_actix(
    v: Verifier,
    down: Verifier,
) -> (
    SocketAddr,
    actix_web::dev::ServerHandle,
    std::thread::JoinHandle<()>,
) {
    use actix_web::{App, HttpServer, web};
    use portcullis::actix::{Authenticate, Claims, require};
    async fn me(c: Claims<Value>) -> String {
        greet(c.subject())
    }
    async fn maybe(c: Option<Claims<Value>>) -> String {
        c.map_or_else(|| "anonymous".into(), |c| greet(c.subject()))
    }
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .service(
                        web::scope("/down")
                            .wrap(Authenticate::new(down.clone()))
                            .route("/me", web::get().to(me)),
                    )
                    .service(
                        web::scope("/maybe")
                            .wrap(Authenticate::new(v.clone()).optional())
                            .route("", web::get().to(maybe)),
                    )
                    .service(
                        web::scope("")
                            .wrap(Authenticate::new(v.clone()))
                            .route("/me", web::get().to(me))
                            .service(
                                web::resource("/admin")
                                    .wrap(require(scope("read:users")))
                                    .route(web::get().to(me)),
                            ),
                    )
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .expect("bind");
            let addr = server.addrs()[0];
            let server = server.run();
            tx.send((addr, server.handle())).expect("send");
            server.await.expect("actix server");
        });
    });
    let (addr, handle) = rx.recv().expect("actix started");
    (addr, handle, thread)
}

#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    challenge: Option<String>,
    retry_after: Option<String>,
    body: String,
}

async fn ask(addr: SocketAddr, path: &str, authorization: &[String]) -> Answer {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    for value in authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (challenge, retry_after) = (header("www-authenticate"), header("retry-after"));
    Answer {
        status: response.status().as_u16(),
        challenge,
        retry_after,
        body: response.text().await.expect("body"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_and_actix_answer_alike() {
    let (issuer, keys) = TestIssuer::serve().await.expect("issuer");
    let (down_issuer, down_keys) = TestIssuer::serve().await.expect("issuer");
    down_keys.set_mode(JwksMode::Status(500));
    let verifier = |i: &TestIssuer, url: String| {
        Verifier::builder()
            .issuer(i.issuer())
            .audience(i.audience())
            .key_source(RemoteJwks::builder(url).build().expect("config"))
            .build()
            .expect("config")
    };
    let v = verifier(&issuer, keys.jwks_url());
    let down = verifier(&down_issuer, down_keys.jwks_url());
    let axum = serve_axum(v.clone(), down.clone()).await;
    let (actix, actix_handle, actix_thread) = serve_actix(v, down);

    let token =
        |b: portcullis::testing::TokenBuilder<'_>| format!("Bearer {}", b.sign().expect("sign"));
    let good = token(issuer.token().subject("alice").scope("read:users"));
    let reader = token(issuer.token().subject("bob").scope("openid"));
    let tampered = {
        let mut t = good.clone().into_bytes();
        let at = t.len() - 10;
        t[at] = if t[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(t).expect("utf8")
    };
    let cases: Vec<(&str, &str, Vec<String>, u16)> = vec![
        ("no credential", "/me", vec![], 401),
        ("bad scheme", "/me", vec!["Basic dXNlcjpwYXNz".into()], 401),
        ("two headers", "/me", vec![good.clone(), good.clone()], 400),
        ("empty bearer", "/me", vec!["Bearer ".into()], 400),
        (
            "header and query token",
            "/me?access_token=a.b.c",
            vec![good.clone()],
            400,
        ),
        (
            "query token, not enabled",
            "/me?access_token=a.b.c",
            vec![],
            401,
        ),
        (
            "malformed token",
            "/me",
            vec!["Bearer not-a-jwt".into()],
            401,
        ),
        ("bad signature", "/me", vec![tampered], 401),
        (
            "expired",
            "/me",
            vec![token(issuer.token().expires_in(-3600))],
            401,
        ),
        (
            "wrong audience",
            "/me",
            vec![token(issuer.token().audience("https://other.example"))],
            401,
        ),
        (
            "unknown kid",
            "/me",
            vec![token(issuer.token().kid("gone"))],
            401,
        ),
        ("insufficient scope", "/admin", vec![reader.clone()], 403),
        ("valid", "/me", vec![good.clone()], 200),
        ("valid with scope", "/admin", vec![good.clone()], 200),
        ("optional route, anonymous", "/maybe", vec![], 200),
        ("optional route, valid", "/maybe", vec![reader], 200),
        (
            "optional route, invalid token",
            "/maybe",
            vec![token(issuer.token().expires_in(-3600))],
            401,
        ),
        (
            "keys unavailable",
            "/down/me",
            vec![token(down_issuer.token())],
            503,
        ),
    ];
    let mut failures = Vec::new();
    for (name, path, headers, status) in &cases {
        let from_axum = ask(axum, path, headers).await;
        let from_actix = ask(actix, path, headers).await;
        if from_axum != from_actix {
            failures.push(format!(
                "{name}: axum {from_axum:?}\n   actix {from_actix:?}"
            ));
        }
        if from_axum.status != *status {
            failures.push(format!(
                "{name}: status {} (want {status}): {}",
                from_axum.status, from_axum.body
            ));
        }
    }
    actix_handle.stop(true).await;
    actix_thread.join().expect("actix thread");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
