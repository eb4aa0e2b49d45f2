//! Multi-issuer routing: each issuer with its own audiences, algorithms and keys; untrusted
//! issuers rejected before any I/O; an async resolver for tenants, called once per issuer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use portcullis_core::keys::RemoteJwks;
use portcullis_core::testing::{TestIssuer, TestServer};
use portcullis_core::verifier::ResolveFuture;
use portcullis_core::{Algorithm, IssuerResolver, TrustedIssuer, Verifier};
use serde_json::Value;

async fn reason(v: &Verifier, token: &str) -> Result<(), String> {
    v.verify::<Value>(token)
        .await
        .map(|_| ())
        .map_err(|e| e.reason().code().to_owned())
}

fn trusted(issuer: &TestIssuer, audience: &str) -> TrustedIssuer {
    TrustedIssuer::new(issuer.issuer())
        .audience(audience)
        .key_source(
            RemoteJwks::discover(issuer.issuer())
                .build()
                .expect("config"),
        )
}

fn requests(server: &TestServer) -> usize {
    server.jwks_requests() + server.discovery_requests()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_by_issuer_with_per_issuer_policy() {
    let (a, a_server) = TestIssuer::serve().await.expect("a");
    let (b, b_server) = TestIssuer::serve().await.expect("b");
    let (c, c_server) = TestIssuer::serve().await.expect("c");
    let v = Verifier::builder()
        .trust(trusted(&a, "api-a").algorithms([Algorithm::ES256]))
        .trust(trusted(&b, "api-b"))
        .build()
        .expect("config");

    // An issuer that is not trusted: rejected, and nobody was contacted, not even the trusted.
    let from_c = c
        .token()
        .audience("api-a")
        .alg(Algorithm::ES256)
        .sign()
        .expect("sign");
    assert_eq!(reason(&v, &from_c).await, Err("bad_issuer".into()));
    assert_eq!(
        (
            requests(&a_server),
            requests(&b_server),
            requests(&c_server)
        ),
        (0, 0, 0)
    );

    let a_token = a
        .token()
        .audience("api-a")
        .alg(Algorithm::ES256)
        .sign()
        .expect("sign");
    let b_token = b.token().audience("api-b").sign().expect("sign");
    assert_eq!(reason(&v, &a_token).await, Ok(()));
    assert_eq!(reason(&v, &b_token).await, Ok(()));

    // Each issuer's own audience and algorithms.
    let a_for_b = a
        .token()
        .audience("api-b")
        .alg(Algorithm::ES256)
        .sign()
        .expect("sign");
    assert_eq!(reason(&v, &a_for_b).await, Err("bad_audience".into()));
    let a_rs256 = a.token().audience("api-a").sign().expect("sign");
    assert_eq!(reason(&v, &a_rs256).await, Err("alg_not_allowed".into()));

    // B's keys never verify a token that claims to come from A (same kids, different keys).
    let forged = b
        .token()
        .issuer(a.issuer())
        .audience("api-a")
        .alg(Algorithm::ES256)
        .sign()
        .expect("sign");
    assert_eq!(reason(&v, &forged).await, Err("bad_signature".into()));
    assert_eq!(requests(&c_server), 0);

    let health = v.health();
    assert_eq!(health.len(), 2);
    assert!(health.iter().all(|(_, h)| h.usable));
}

#[test]
fn issuer_configuration_is_checked() {
    let keys = || {
        TestIssuer::new()
            .expect("keys")
            .static_jwks()
            .expect("jwks")
    };
    assert!(
        Verifier::builder()
            .trust(TrustedIssuer::new("a").audience("x").key_source(keys()))
            .build()
            .is_ok()
    );
    let twice = Verifier::builder()
        .trust(TrustedIssuer::new("a").audience("x").key_source(keys()))
        .trust(TrustedIssuer::new("a").audience("y").key_source(keys()))
        .build();
    assert!(twice.is_err(), "the same issuer twice is ambiguous");
    assert!(
        Verifier::builder()
            .trust(TrustedIssuer::new("a").key_source(keys()))
            .build()
            .is_err()
    );
    assert!(
        Verifier::builder()
            .trust(TrustedIssuer::new("").audience("x").key_source(keys()))
            .build()
            .is_err()
    );
    assert!(Verifier::builder().build().is_err());
}

/// Trusts `http://127.0.0.1:<port>` for the ports it was given, like a tenant table.
#[derive(Debug)]
struct Tenants {
    allowed: Vec<String>,
    calls: Arc<AtomicUsize>,
    wrong_issuer: bool,
}

impl IssuerResolver for Tenants {
    fn resolve<'a>(&'a self, issuer: &'a str) -> ResolveFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            // Decide on the string first; only a trusted tenant gets a key source.
            if !self.allowed.iter().any(|a| a == issuer) {
                return None;
            }
            let configured = if self.wrong_issuer {
                "http://127.0.0.1:1"
            } else {
                issuer
            };
            Some(
                TrustedIssuer::new(configured)
                    .audience("tenant-api")
                    .key_source(RemoteJwks::discover(issuer).build().ok()?),
            )
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolver_is_called_once_per_tenant() {
    let (t1, t1_server) = TestIssuer::serve().await.expect("t1");
    let (evil, evil_server) = TestIssuer::serve().await.expect("evil");
    let calls = Arc::new(AtomicUsize::new(0));
    let v = Verifier::builder()
        .resolver(Tenants {
            allowed: vec![t1.issuer().to_owned()],
            calls: Arc::clone(&calls),
            wrong_issuer: false,
        })
        .build()
        .expect("config");

    let token = t1.token().audience("tenant-api").sign().expect("sign");
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (v, token) = (v.clone(), token.clone());
            tokio::spawn(async move { v.verify::<Value>(&token).await.is_ok() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("join"));
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "200 concurrent first requests, one resolution"
    );
    assert_eq!(t1_server.jwks_requests(), 1);

    let evil_token = evil.token().audience("tenant-api").sign().expect("sign");
    for _ in 0..3 {
        assert_eq!(reason(&v, &evil_token).await, Err("bad_issuer".into()));
    }
    assert_eq!(
        requests(&evil_server),
        0,
        "an untrusted tenant is never contacted"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "untrusted answers are not cached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolver_answer_must_match_the_issuer() {
    let (t1, t1_server) = TestIssuer::serve().await.expect("t1");
    let v = Verifier::builder()
        .resolver(Tenants {
            allowed: vec![t1.issuer().to_owned()],
            calls: Arc::default(),
            wrong_issuer: true,
        })
        .build()
        .expect("config");
    let token = t1.token().audience("tenant-api").sign().expect("sign");
    assert_eq!(reason(&v, &token).await, Err("bad_issuer".into()));
    assert_eq!(requests(&t1_server), 0);
}
