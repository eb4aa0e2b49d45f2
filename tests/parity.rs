//! The same table of requests against an axum app and an actix-web app built from the same
//! verifiers: status, `WWW-Authenticate` and body must be identical, and as DESIGN §4 says.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

#[path = "common/servers.rs"]
mod servers;

use std::net::SocketAddr;

use portcullis::Verifier;
use portcullis::authz::{any_of, permission, scope};
use portcullis::keys::RemoteJwks;
use portcullis::testing::{JwksMode, TestIssuer};
use serde_json::Value;

fn greet(subject: Option<&str>) -> String {
    format!("hello {}", subject.unwrap_or("?"))
}

fn describe(p: &portcullis::Principal) -> String {
    let permissions: Vec<&str> = p.permissions().collect();
    format!(
        "{} {} {:?} {permissions:?}",
        p.method().name(),
        p.subject().unwrap_or("?"),
        p.scopes().collect::<Vec<_>>()
    )
}

/// `/users`, as the examples guard it: the seeds' `checkPermissions(['read:users'])`.
fn users() -> portcullis::authz::Requirement {
    any_of([scope("read:users"), permission("read:users")])
}

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

async fn serve_axum(v: Verifier, down: Verifier) -> SocketAddr {
    use axum::Router;
    use axum::routing::get;
    use portcullis::axum::{AuthLayer, Authenticated, Claims, require};
    async fn me(c: Claims<Value>) -> String {
        greet(c.subject())
    }
    async fn maybe(c: Option<Claims<Value>>) -> String {
        c.map_or_else(|| "anonymous".into(), |c| greet(c.subject()))
    }
    async fn who(p: Authenticated) -> String {
        describe(&p)
    }
    async fn typed(c: Claims<Tenant>) -> String {
        c.claims().tenant.clone()
    }
    let app = Router::new()
        .merge(
            Router::new()
                .route("/me", get(me))
                .route("/who", get(who))
                .route("/typed", get(typed))
                .route("/admin", get(me).route_layer(require(scope("read:users"))))
                .route("/users", get(me).route_layer(require(users())))
                .layer(AuthLayer::new(v.clone())),
        )
        .merge(
            Router::new()
                .route("/maybe", get(maybe))
                .route("/maybe/me", get(me))
                .route(
                    "/maybe/admin",
                    get(me).route_layer(require(scope("read:users"))),
                )
                .layer(AuthLayer::new(v).optional()),
        )
        .merge(Router::new().route("/naked/me", get(me)).route(
            "/naked/admin",
            get(|| async { "admin" }).route_layer(require(scope("read:users"))),
        ))
        .merge(
            Router::new()
                .route("/down/me", get(me))
                .layer(AuthLayer::new(down)),
        );
    servers::axum(app).await
}

/// Runs the actix app on its own thread and runtime.
fn serve_actix(v: Verifier, down: Verifier) -> servers::Actix {
    use actix_web::{App, web};
    use portcullis::actix::{Authenticate, Authenticated, Claims, require};
    async fn me(c: Claims<Value>) -> String {
        greet(c.subject())
    }
    async fn maybe(c: Option<Claims<Value>>) -> String {
        c.map_or_else(|| "anonymous".into(), |c| greet(c.subject()))
    }
    async fn who(p: Authenticated) -> String {
        describe(&p)
    }
    async fn typed(c: Claims<Tenant>) -> String {
        c.claims().tenant.clone()
    }
    servers::Actix::start(move || {
        App::new()
            .service(
                web::scope("/down")
                    .wrap(Authenticate::new(down.clone()))
                    .route("/me", web::get().to(me)),
            )
            .service(
                web::scope("/maybe")
                    .wrap(Authenticate::new(v.clone()).optional())
                    .route("", web::get().to(maybe))
                    .route("/me", web::get().to(me))
                    .service(
                        web::resource("/admin")
                            .wrap(require(scope("read:users")))
                            .route(web::get().to(me)),
                    ),
            )
            .service(
                web::scope("/naked")
                    .route("/me", web::get().to(me))
                    .service(
                        web::resource("/admin")
                            .wrap(require(scope("read:users")))
                            .route(web::get().to(|| async { "admin" })),
                    ),
            )
            .service(
                web::scope("")
                    .wrap(Authenticate::new(v.clone()))
                    .route("/me", web::get().to(me))
                    .route("/who", web::get().to(who))
                    .route("/typed", web::get().to(typed))
                    .service(
                        web::resource("/admin")
                            .wrap(require(scope("read:users")))
                            .route(web::get().to(me)),
                    )
                    .service(
                        web::resource("/users")
                            .wrap(require(users()))
                            .route(web::get().to(me)),
                    ),
            )
    })
}

#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    challenge: Option<String>,
    retry_after: Option<String>,
    content_type: Option<String>,
    grpc_status: Option<String>,
    body: String,
}

async fn ask(addr: SocketAddr, path: &str, headers: &[(&str, String)], id: &str) -> Answer {
    let mut request = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .header("x-request-id", id);
    for (name, value) in headers {
        request = request.header(*name, value);
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
    let (content_type, grpc_status) = (header("content-type"), header("grpc-status"));
    Answer {
        status: response.status().as_u16(),
        challenge,
        retry_after,
        content_type,
        grpc_status,
        body: response.text().await.expect("body"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_and_actix_answer_alike() {
    audit::install();
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
    let actix_server = serve_actix(v, down);
    let actix = actix_server.addr;

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
    let auth = |v: &str| vec![("authorization", v.to_owned())];
    let grpc = |mut h: Vec<(&'static str, String)>| {
        h.push(("content-type", "application/grpc".to_owned()));
        h
    };
    let permitted = token(
        issuer
            .token()
            .subject("carol")
            .claim("permissions", serde_json::json!(["read:users"])),
    );
    let expired = token(issuer.token().expires_in(-3600));
    let tenant = token(issuer.token().subject("dan").claim("tenant", "acme"));
    type Case = (&'static str, &'static str, Vec<(&'static str, String)>, u16);
    let cases: Vec<Case> = vec![
        ("no credential", "/me", vec![], 401),
        ("bad scheme", "/me", auth("Basic dXNlcjpwYXNz"), 401),
        (
            "two headers",
            "/me",
            vec![
                ("authorization", good.clone()),
                ("authorization", good.clone()),
            ],
            400,
        ),
        ("empty bearer", "/me", auth("Bearer "), 400),
        (
            "header and query token",
            "/me?access_token=a.b.c",
            auth(&good),
            400,
        ),
        (
            "query token, not enabled",
            "/me?access_token=a.b.c",
            vec![],
            401,
        ),
        ("malformed token", "/me", auth("Bearer not-a-jwt"), 401),
        ("bad signature", "/me", auth(&tampered), 401),
        ("expired", "/me", auth(&expired), 401),
        (
            "wrong audience",
            "/me",
            auth(&token(issuer.token().audience("https://other.example"))),
            401,
        ),
        (
            "unknown kid",
            "/me",
            auth(&token(issuer.token().kid("gone"))),
            401,
        ),
        ("insufficient scope", "/admin", auth(&reader), 403),
        ("valid", "/me", auth(&good), 200),
        ("valid with scope", "/admin", auth(&good), 200),
        ("Authenticated extractor", "/who", auth(&permitted), 200),
        ("Authenticated, no credential", "/who", vec![], 401),
        ("typed claims", "/typed", auth(&tenant), 200),
        (
            "claims that do not fit the type",
            "/typed",
            auth(&good),
            401,
        ),
        ("read:users by scope", "/users", auth(&good), 200),
        ("read:users by permission", "/users", auth(&permitted), 200),
        ("read:users by neither", "/users", auth(&reader), 403),
        ("optional route, anonymous", "/maybe", vec![], 200),
        ("optional route, valid", "/maybe", auth(&reader), 200),
        (
            "optional route, invalid token",
            "/maybe",
            auth(&expired),
            401,
        ),
        (
            "optional route, Claims, anonymous",
            "/maybe/me",
            vec![],
            401,
        ),
        (
            "optional route, require, anonymous",
            "/maybe/admin",
            vec![],
            401,
        ),
        (
            "optional route, require, valid",
            "/maybe/admin",
            auth(&good),
            200,
        ),
        ("no layer, Claims", "/naked/me", auth(&good), 500),
        ("no layer, require", "/naked/admin", auth(&good), 500),
        (
            "keys unavailable",
            "/down/me",
            auth(&token(down_issuer.token())),
            503,
        ),
        ("gRPC, no credential", "/me", grpc(vec![]), 200),
        (
            "gRPC, insufficient scope",
            "/admin",
            grpc(auth(&reader)),
            200,
        ),
        (
            "gRPC, claims that do not fit",
            "/typed",
            grpc(auth(&good)),
            200,
        ),
        (
            "gRPC, optional route, require",
            "/maybe/admin",
            grpc(vec![]),
            200,
        ),
        ("gRPC, no layer", "/naked/me", grpc(auth(&good)), 200),
    ];
    let grpc_status = |name: &str| match name {
        "gRPC, no credential"
        | "gRPC, claims that do not fit"
        | "gRPC, optional route, require" => Some("16"),
        "gRPC, insufficient scope" => Some("7"),
        "gRPC, no layer" => Some("13"),
        _ => None,
    };
    let mut failures = Vec::new();
    for (i, (name, path, headers, status)) in cases.iter().enumerate() {
        let from_axum = ask(axum, path, headers, &format!("axum-{i}")).await;
        let from_actix = ask(actix, path, headers, &format!("actix-{i}")).await;
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
        if from_axum.grpc_status.as_deref() != grpc_status(name) {
            failures.push(format!("{name}: grpc-status {:?}", from_axum.grpc_status));
        }
        let (axum_events, actix_events) = (
            audit::events(&format!("axum-{i}"), axum),
            audit::events(&format!("actix-{i}"), actix),
        );
        if axum_events != actix_events {
            failures.push(format!(
                "{name}: audit events differ\n   axum {axum_events:?}\n   actix {actix_events:?}"
            ));
        }
        // Every request the authenticator saw is one decision event; a route without it has
        // none (nothing ran that could name the request).
        let decisions = axum_events
            .iter()
            .filter(|e| matches!(audit::field(e, "event"), "verify" | "request"))
            .count();
        let want = usize::from(!path.starts_with("/naked"));
        if decisions != want {
            failures.push(format!(
                "{name}: {decisions} decision events: {axum_events:?}"
            ));
        }
    }
    let expect_event = |id: &str, event: &str, outcome: &str, reason: &str| {
        let events = audit::events(id, axum);
        let found = events.iter().any(|e| {
            audit::field(e, "event") == event
                && audit::field(e, "outcome") == outcome
                && audit::field(e, "reason") == reason
        });
        assert!(found, "{id}: no {event}/{outcome}/{reason} in {events:?}");
        for e in &events {
            assert_eq!(audit::field(e, "method"), "GET");
            assert!(audit::field(e, "uri").starts_with("http://ADDR/"), "{e:?}");
            assert!(audit::field(e, "peer").starts_with("127.0.0.1:"), "{e:?}");
        }
    };
    let index = |name: &str| cases.iter().position(|c| c.0 == name).expect("case");
    expect_event(
        &format!("axum-{}", index("no credential")),
        "request",
        "reject",
        "missing_credential",
    );
    expect_event(
        &format!("axum-{}", index("two headers")),
        "request",
        "reject",
        "malformed_request",
    );
    expect_event(
        &format!("axum-{}", index("expired")),
        "verify",
        "reject",
        "expired",
    );
    expect_event(
        &format!("axum-{}", index("read:users by neither")),
        "authorize",
        "deny",
        "insufficient_scope",
    );
    expect_event(
        &format!("axum-{}", index("optional route, anonymous")),
        "request",
        "anonymous",
        "",
    );
    expect_event(
        &format!("axum-{}", index("optional route, require, anonymous")),
        "authorize",
        "deny",
        "missing_credential",
    );
    expect_event(
        &format!("axum-{}", index("claims that do not fit the type")),
        "claims",
        "reject",
        "claims_type",
    );
    assert!(
        audit::all()
            .iter()
            .any(|e| audit::field(e, "reason") == "no_authenticator"),
        "the no-layer cases are audited"
    );
    actix_server.stop().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The audit events of this process, recorded by a `tracing` layer.
mod audit {
    use std::collections::BTreeMap;
    use std::net::SocketAddr;
    use std::sync::Mutex;

    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

    type Event = BTreeMap<String, String>;
    static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());

    struct Record;

    struct Fields<'a>(&'a mut Event);
    impl Visit for Fields<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.to_owned());
        }
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}"));
        }
    }

    impl<S: tracing::Subscriber> Layer<S> for Record {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            if event.metadata().target() != portcullis::audit::TARGET {
                return;
            }
            let mut fields = Event::new();
            event.record(&mut Fields(&mut fields));
            EVENTS.lock().expect("events").push(fields);
        }
    }

    pub(super) fn install() {
        let subscriber = tracing_subscriber::registry().with(Record);
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
    }

    /// A field of an event, empty when it has none.
    pub(super) fn field<'a>(event: &'a Event, name: &str) -> &'a str {
        event.get(name).map_or("", String::as_str)
    }

    pub(super) fn all() -> Vec<Event> {
        EVENTS.lock().expect("events").clone()
    }

    /// The events of request `id`, without what differs between two servers (the request id,
    /// the client's port, the server's address).
    pub(super) fn events(id: &str, server: SocketAddr) -> Vec<Event> {
        all()
            .into_iter()
            .filter(|e| e.get("request_id").map(String::as_str) == Some(id))
            .map(|mut e| {
                e.remove("request_id");
                if let Some(peer) = e.get_mut("peer") {
                    *peer = peer.split(':').next().unwrap_or_default().to_owned() + ":";
                }
                if let Some(uri) = e.get_mut("uri") {
                    *uri = uri.replace(&server.to_string(), "ADDR");
                }
                e
            })
            .collect()
    }
}

/// Server nonces reach the client through both adapters alike: on the 401 `use_dpop_nonce`, and
/// on a success whose nonce is due for renewal (core's `RequestState::response_headers`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_nonces_reach_the_response_in_both_adapters() {
    use portcullis::clock::ManualClock;
    use portcullis::dpop::{DpopNonces, DpopPolicy, NonceKey};
    use portcullis::testing::DpopKey;

    let clock = ManualClock::new(1_800_000_000);
    let issuer = TestIssuer::new().expect("issuer").with_clock(clock.clone());
    let key = DpopKey::generate(portcullis::Algorithm::EdDSA)
        .expect("key")
        .with_clock(clock.clone());
    let token = issuer
        .token()
        .claim("cnf", serde_json::json!({"jkt": key.thumbprint()}))
        .sign()
        .expect("sign");
    let verifier = issuer
        .verifier()
        .expect("verifier")
        .build()
        .expect("config");
    let policy = DpopPolicy::default().nonces(DpopNonces::new(
        NonceKey::new(1, &[3; 32]).expect("nonce key"),
    ));

    let axum = {
        use axum::routing::get;
        use portcullis::axum::AuthLayer;
        servers::axum(
            axum::Router::new()
                .route("/me", get(|| async { "ok" }))
                .layer(AuthLayer::new(verifier.clone()).dpop(policy.clone())),
        )
        .await
    };
    let actix_server = servers::Actix::start(move || {
        use actix_web::{App, web};
        use portcullis::actix::Authenticate;
        App::new()
            .wrap(Authenticate::new(verifier.clone()).dpop(policy.clone()))
            .route("/me", web::get().to(|| async { "ok" }))
    });
    let actix = actix_server.addr;

    let client = reqwest::Client::new();
    let call = |addr: SocketAddr, nonce: Option<String>| {
        let mut proof = key
            .proof("GET", &format!("http://{addr}/me"))
            .access_token(&token);
        if let Some(nonce) = nonce {
            proof = proof.claim("nonce", nonce);
        }
        let proof = proof.sign().expect("proof");
        let request = client
            .get(format!("http://{addr}/me"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof);
        async move {
            let response = request.send().await.expect("request");
            let nonce = response
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (response.status().as_u16(), nonce)
        }
    };
    let mut seen = Vec::new();
    for addr in [axum, actix] {
        let (status, nonce) = call(addr, None).await;
        assert_eq!(status, 401);
        let nonce = nonce.expect("use_dpop_nonce carries the nonce");
        let (status, renewed) = call(addr, Some(nonce.clone())).await;
        assert_eq!((status, renewed), (200, None), "a current nonce");
        seen.push(nonce);
    }
    // Both adapters share one policy: the nonce of this period is the same.
    assert_eq!(seen[0], seen[1]);
    clock.advance(60);
    for addr in [axum, actix] {
        let (status, renewed) = call(addr, Some(seen[0].clone())).await;
        assert_eq!(status, 200);
        let renewed = renewed.expect("a success renews an old nonce");
        assert_ne!(renewed, seen[0]);
    }
    actix_server.stop().await;
}
