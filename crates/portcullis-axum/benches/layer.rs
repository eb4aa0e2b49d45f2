//! What `AuthLayer` costs a request in process, without sockets or HTTP parsing: the same axum
//! router and handler with and without the layer, driven by `tower::ServiceExt::oneshot` on a
//! request built the same way for both. Run: `cargo bench -p portcullis-axum --bench layer`.
//!
//! The table (`--bench`) interleaves the two routers (median of 21 rounds) and prints the
//! layer's cost as the difference: a reused token (a verified-token cache hit, what most
//! requests are) and the layer on a route without a token (`optional`, the anonymous path).
//! Beside it, the whole request decision core makes (`Authenticator::authenticate`), so the
//! adapter's own share is the rest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // bench code
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group};
use http::Request;
use portcullis_axum::{AuthLayer, Authenticated};
use portcullis_core::authenticator::Authenticator;
use portcullis_core::request::RequestView;
use portcullis_core::testing::{HeaderList, TestIssuer};
use tower::ServiceExt as _;

/// Polls a future that must complete without waiting (no socket, a static key source).
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-process request completes immediately"),
    }
}

async fn protected(Authenticated(principal): Authenticated) -> String {
    principal.subject().unwrap_or_default().to_owned()
}

async fn subject() -> String {
    "auth0|5f7c8ec7c33c6c004bbafe82".to_owned()
}

/// A request as a client sends it: a few ordinary headers and, when given, the token.
fn request(token: Option<&str>) -> Request<Body> {
    let mut builder = Request::get("http://api.example.com/protected")
        .header("host", "api.example.com")
        .header("user-agent", "bench/1.0")
        .header("accept", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Body::empty()).unwrap()
}

fn call(router: &Router, token: Option<&str>) -> bool {
    now(router.clone().oneshot(request(token)))
        .unwrap()
        .status()
        .is_success()
}

struct Setup {
    bare: Router,
    layered: Router,
    optional: Router,
    authenticator: Authenticator,
    token: String,
}

fn setup() -> Setup {
    let issuer = TestIssuer::new().expect("keys");
    let token = issuer
        .token()
        .subject("auth0|5f7c8ec7c33c6c004bbafe82")
        .scope("openid profile email read:users write:users read:orders offline_access")
        .claim("client_id", "0oa1b2c3d4e5f6g7h8i9")
        .claim("tenant", "acme-corporation-eu-west-1")
        .claim("sid", "08a5019c-17e1-4977-8f42-65a12843ea02")
        .sign()
        .expect("sign");
    let verifier = issuer.verifier().expect("jwks").build().expect("config");
    let bare = Router::new().route("/protected", get(subject));
    let layered = Router::new()
        .route("/protected", get(protected))
        .layer(AuthLayer::new(verifier.clone()));
    let optional = Router::new()
        .route("/protected", get(subject))
        .layer(AuthLayer::new(verifier.clone()).optional());
    let authenticator = Authenticator::new(verifier);
    let s = Setup {
        bare,
        layered,
        optional,
        authenticator,
        token,
    };
    // The doorkeeper admits the token on its second sighting: from the third on, hits.
    for _ in 0..3 {
        assert!(call(&s.layered, Some(&s.token)));
    }
    assert!(call(&s.bare, Some(&s.token)) && call(&s.optional, None));
    s
}

fn decision(s: &Setup, headers: &HeaderList) -> bool {
    let view = RequestView::new("GET", "/protected", headers);
    now(s.authenticator.authenticate(&view)).is_ok()
}

fn headers(token: &str) -> HeaderList {
    HeaderList(vec![
        ("host", "api.example.com".into()),
        ("user-agent", "bench/1.0".into()),
        ("accept", "application/json".into()),
        ("authorization", format!("Bearer {token}")),
    ])
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let mut group = c.benchmark_group("layer");
    group.bench_function("bare_router", |b| {
        b.iter(|| call(&s.bare, black_box(Some(&s.token))))
    });
    group.bench_function("auth_layer_hit", |b| {
        b.iter(|| call(&s.layered, black_box(Some(&s.token))))
    });
    group.bench_function("auth_layer_anonymous", |b| {
        b.iter(|| call(&s.optional, black_box(None)))
    });
    group.finish();
}

/// The interleaved table: per round a batch of each, medians of 21 rounds.
fn table() {
    let s = setup();
    let list = headers(&s.token);
    let batch = 2000;
    let cases: [(&str, &dyn Fn() -> bool); 4] = [
        ("bare router, token sent", &|| call(&s.bare, Some(&s.token))),
        ("AuthLayer, cache hit", &|| call(&s.layered, Some(&s.token))),
        ("AuthLayer optional, no token", &|| call(&s.optional, None)),
        ("Authenticator::authenticate alone, hit", &|| {
            decision(&s, &list)
        }),
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..21 {
        for (i, (_, f)) in cases.iter().enumerate() {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(f());
            }
            samples[i].push(t.elapsed().as_secs_f64() * 1e6 / f64::from(batch));
        }
    }
    let medians: Vec<f64> = samples
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[10]
        })
        .collect();
    println!("\n{:<42} {:>8} {:>14}", "case", "µs", "- bare router");
    for ((name, _), m) in cases.iter().zip(&medians) {
        println!("{name:<42} {m:>8.3} {:>14.3}", m - medians[0]);
    }
}

criterion_group!(benches, bench);

/// `PORTCULLIS_BENCH_PROFILE=hit` (or `anonymous`): only that case, in a loop for 5 s, for
/// `perf record`; nothing else runs.
fn profile(case: &str) {
    let s = setup();
    let start = Instant::now();
    while start.elapsed().as_secs() < 5 {
        for _ in 0..1000 {
            black_box(match case {
                "anonymous" => call(&s.optional, None),
                _ => call(&s.layered, Some(&s.token)),
            });
        }
    }
}

fn main() {
    if let Ok(case) = std::env::var("PORTCULLIS_BENCH_PROFILE") {
        return profile(&case);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --all-targets` runs benches once as a smoke test (no `--bench`).
    if std::env::args().any(|a| a == "--bench") {
        table();
    }
}
