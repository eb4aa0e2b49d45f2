//! The remote JWKS cache against a real loopback server (the test kit's), counted and misbehaving
//! on demand: single-flight, the unknown-kid cooldown, rotation, hangs, outages, limits,
//! discovery, and the background task's lifetime. Every test runs on paused tokio time (the
//! cache's clock): waits and timeouts advance it instantly and exactly, so the sub-second windows
//! below cannot flake on a loaded machine; the servers are real loopback sockets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::time::Duration;

use tokio::time::Instant;

use portcullis_core::keys::{RemoteJwks, RemoteJwksBuilder};
use portcullis_core::testing::{JwksMode, KID_RSA, TestIssuer, TestServer};
use portcullis_core::{AuthError, KeySource, Reason, Verifier};
use serde_json::{Value, json};

fn verifier(issuer: &TestIssuer, source: RemoteJwks) -> Verifier {
    Verifier::builder()
        .issuer(issuer.issuer())
        .audience(issuer.audience())
        .key_source(source)
        .build()
        .expect("config")
}

/// Short lifetimes so expiry, cooldowns and the stale bound happen inside a test.
fn quick(builder: RemoteJwksBuilder) -> RemoteJwksBuilder {
    builder
        .default_ttl(Duration::from_millis(400))
        .ttl_bounds(Duration::from_millis(200), Duration::from_secs(2))
        .refresh_ahead(Duration::from_millis(50))
        .kid_cooldown(Duration::from_millis(300))
        .max_stale(Duration::from_millis(600))
}

async fn reason(v: &Verifier, token: &str) -> Result<(), String> {
    v.verify::<Value>(token)
        .await
        .map(|_| ())
        .map_err(|e| e.reason().code().to_owned())
}

async fn serve() -> (TestIssuer, TestServer) {
    TestIssuer::serve().await.expect("loopback issuer")
}

#[tokio::test(start_paused = true)]
async fn cold_cache_single_flight() {
    let (issuer, server) = serve().await;
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    let v = verifier(&issuer, source);
    let token = issuer.token().sign().expect("sign");
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (v, token) = (v.clone(), token.clone());
            tokio::spawn(async move { v.verify::<Value>(&token).await.is_ok() })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.expect("join"));
    }
    assert_eq!(accepted, 1000);
    assert_eq!(
        server.jwks_requests(),
        1,
        "1000 concurrent cold verifications, one fetch"
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_kid_flood_is_rate_limited() {
    let (issuer, server) = serve().await;
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    source.warm_up().await.expect("warm up");
    let v = verifier(&issuer, source);
    assert_eq!(server.jwks_requests(), 1);

    // One signing key, 10 000 different kids: within one cooldown window (30 s default).
    let template = issuer.token().kid("kid-00000").sign().expect("sign");
    for i in 0..10_000u32 {
        let token = forge_kid(&template, &format!("kid-{i:05}"));
        assert_eq!(reason(&v, &token).await, Err("unknown_key".into()));
    }
    assert!(
        server.jwks_requests() <= 2,
        "at most one refetch: {}",
        server.jwks_requests()
    );
}

/// Rewrites the header's kid (the signature no longer matches; the kid is all that matters here).
fn forge_kid(token: &str, kid: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (header, rest) = token.split_once('.').expect("token");
    let mut h: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("json");
    h["kid"] = json!(kid);
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(h.to_string()))
}

#[tokio::test(start_paused = true)]
async fn rotation_adds_and_retires_keys() {
    let (issuer, server) = serve().await;
    let source = quick(RemoteJwks::builder(server.jwks_url()))
        .build()
        .expect("config");
    source.warm_up().await.expect("warm up");
    let v = verifier(&issuer, source.clone());
    let old_token = issuer.token().sign().expect("sign");
    assert_eq!(reason(&v, &old_token).await, Ok(()));

    // The issuer publishes a new key next to the old one and starts signing with it.
    let next = TestIssuer::new()
        .expect("keys")
        .with_issuer(issuer.issuer());
    let mut next_jwk = next.rsa_jwk();
    next_jwk["kid"] = json!("rsa-next");
    server.set_jwks(json!({"keys": [issuer.rsa_jwk(), next_jwk.clone()]}));
    let new_token = next.token().kid("rsa-next").sign().expect("sign");

    tokio::time::sleep(Duration::from_millis(350)).await; // past the unknown-kid cooldown
    let before = server.jwks_requests();
    assert_eq!(
        reason(&v, &new_token).await,
        Ok(()),
        "accepted after one fetch"
    );
    assert!(server.jwks_requests() - before <= 1);

    // The old key leaves the set; after the next refresh its tokens are rejected.
    server.set_jwks(json!({"keys": [next_jwk]}));
    let deadline = Instant::now() + Duration::from_secs(5);
    while source
        .current()
        .is_some_and(|set| set.contains_kid(KID_RSA))
    {
        assert!(
            Instant::now() < deadline,
            "the background refresh never dropped the old key"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fresh_old = issuer.token().sign().expect("sign");
    assert_eq!(reason(&v, &fresh_old).await, Err("unknown_key".into()));
    assert_eq!(reason(&v, &new_token).await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn hanging_endpoint_never_blocks_cached_kids() {
    let (issuer, server) = serve().await;
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    source.warm_up().await.expect("warm up");
    let v = verifier(&issuer, source.clone());
    server.set_mode(JwksMode::Hang);

    // A reload is now stuck on the endpoint (holding the single-flight gate) for up to 5 s.
    let stuck = tokio::spawn(async move { source.reload().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let token = issuer.token().sign().expect("sign");
    for _ in 0..200 {
        assert_eq!(reason(&v, &token).await, Ok(()));
    }
    assert!(
        !stuck.is_finished(),
        "all 200 verifications finished while the fetch was still hanging"
    );
    let outcome = stuck.await.expect("join");
    assert!(outcome.is_err(), "the hanging fetch times out");
}

#[tokio::test(start_paused = true)]
async fn outage_serves_stale_keys_then_503() {
    let (issuer, server) = serve().await;
    let source = quick(RemoteJwks::builder(server.jwks_url()))
        .build()
        .expect("config");
    source.warm_up().await.expect("warm up");
    let v = verifier(&issuer, source.clone());
    let token = issuer.token().sign().expect("sign");
    server.set_mode(JwksMode::Status(500));

    // Past the 400 ms freshness, inside the 600 ms stale bound: still accepted.
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(reason(&v, &token).await, Ok(()));
    let health = source.health();
    assert!(
        health.serving_stale && health.usable && !health.fresh,
        "{health:?}"
    );
    assert_eq!(health.last_error.as_deref(), Some("status 500"));

    // Past the stale bound: 503, never 401.
    tokio::time::sleep(Duration::from_millis(600)).await;
    match v.verify::<Value>(&token).await {
        Err(AuthError::Unavailable {
            reason,
            retry_after,
        }) => {
            assert_eq!(reason, Reason::KeysUnavailable);
            assert!(retry_after >= Duration::from_millis(300));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(!source.health().usable);

    // Recovery: the endpoint comes back and the next request fetches.
    server.set_mode(JwksMode::Normal);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(reason(&v, &token).await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn max_stale_zero_fails_closed_at_expiry() {
    let (issuer, server) = serve().await;
    let source = quick(RemoteJwks::builder(server.jwks_url()))
        .max_stale(Duration::ZERO)
        .build()
        .expect("config");
    source.warm_up().await.expect("warm up");
    let v = verifier(&issuer, source);
    server.set_mode(JwksMode::Status(503));
    tokio::time::sleep(Duration::from_millis(450)).await;
    let token = issuer.token().sign().expect("sign");
    assert_eq!(reason(&v, &token).await, Err("keys_unavailable".into()));
}

#[tokio::test(start_paused = true)]
async fn hostile_endpoints_are_refused() {
    let (issuer, server) = serve().await;
    let cases = [
        (JwksMode::Status(500), "status 500"),
        (JwksMode::Status(404), "status 404"),
        (JwksMode::Garbage, "invalid key set"),
        (JwksMode::Huge, "body larger than 65536 bytes"),
        (JwksMode::WrongContentType, "content type is not JSON"),
        (JwksMode::Redirect(server.jwks_url()), "status 302"),
        (JwksMode::DropConnection, "request failed"),
    ];
    let token = issuer.token().sign().expect("sign");
    for (mode, why) in cases {
        server.set_mode(mode.clone());
        let source = RemoteJwks::builder(server.jwks_url())
            .build()
            .expect("config");
        assert!(source.warm_up().await.is_err(), "{mode:?}");
        let error = source.health().last_error.unwrap_or_default();
        assert!(error.contains(why), "{mode:?}: {error}");
        let v = verifier(&issuer, source);
        assert_eq!(
            reason(&v, &token).await,
            Err("keys_unavailable".into()),
            "{mode:?}"
        );
    }
    // A set whose every key is refused is a failed fetch too, not an empty success.
    server.set_mode(JwksMode::Normal);
    server.set_jwks(json!({"keys": [{"kty": "oct", "k": "AAAA"}]}));
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    assert!(source.warm_up().await.is_err());
    assert!(
        source
            .health()
            .last_error
            .unwrap_or_default()
            .contains("no usable key")
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_fetch_never_wipes_the_cache() {
    let (issuer, server) = serve().await;
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    source.warm_up().await.expect("warm up");
    server.set_mode(JwksMode::Garbage);
    assert!(source.reload().await.is_err());
    let v = verifier(&issuer, source.clone());
    assert_eq!(
        reason(&v, &issuer.token().sign().expect("sign")).await,
        Ok(())
    );
    assert_eq!(
        source.health().keys,
        issuer.jwks()["keys"].as_array().map_or(0, |k| k.len())
            - usize::from(!portcullis_core::Algorithm::ES512.is_supported())
    );
}

#[tokio::test(start_paused = true)]
async fn conditional_requests_keep_the_set() {
    let (issuer, server) = serve().await;
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    source.warm_up().await.expect("warm up");
    let version = source.current().expect("set").version();
    source.reload().await.expect("304 is a success");
    assert_eq!(server.jwks_requests(), 2);
    assert_eq!(
        source.current().expect("set").version(),
        version,
        "a 304 keeps the parsed set"
    );
    let v = verifier(&issuer, source);
    assert_eq!(
        reason(&v, &issuer.token().sign().expect("sign")).await,
        Ok(())
    );
}

#[tokio::test(start_paused = true)]
async fn discovery_finds_the_jwks_and_checks_the_issuer() {
    let (issuer, server) = serve().await;
    let source = RemoteJwks::discover(issuer.issuer())
        .build()
        .expect("config");
    let v = verifier(&issuer, source.clone());
    assert_eq!(
        reason(&v, &issuer.token().sign().expect("sign")).await,
        Ok(())
    );
    assert_eq!(
        (server.discovery_requests(), server.jwks_requests()),
        (1, 1)
    );
    assert!(source.health().source.starts_with("discovery: "));

    server.set_discovery_issuer(Some("https://evil.example"));
    let mismatched = RemoteJwks::discover(issuer.issuer())
        .build()
        .expect("config");
    let error = mismatched.warm_up().await.expect_err("issuer mismatch");
    assert!(
        error.to_string().contains("issuer does not match"),
        "{error}"
    );
    let v = verifier(&issuer, mismatched);
    assert_eq!(
        reason(&v, &issuer.token().sign().expect("sign")).await,
        Err("keys_unavailable".into())
    );
    assert_eq!(
        server.jwks_requests(),
        1,
        "the mismatched document's jwks_uri was never fetched"
    );
}

#[test]
fn plain_http_only_for_loopback() {
    assert!(
        RemoteJwks::builder("http://keys.example.com/jwks")
            .build()
            .is_err()
    );
    assert!(
        RemoteJwks::builder("http://keys.example.com/jwks")
            .dangerous_allow_http()
            .build()
            .is_ok()
    );
    assert!(
        RemoteJwks::builder("https://keys.example.com/jwks")
            .build()
            .is_ok()
    );
    assert!(
        RemoteJwks::discover("http://login.example.com")
            .build()
            .is_err()
    );
    assert!(
        RemoteJwks::builder("https://k.example/jwks")
            .kid_cooldown(Duration::ZERO)
            .build()
            .is_err()
    );
    assert!(
        RemoteJwks::builder("https://k.example/jwks")
            .refresh_ahead(Duration::from_secs(120))
            .build()
            .is_err()
    );
}

#[test]
fn background_task_stops_with_the_last_handle() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    runtime.block_on(async {
        let alive = || {
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks()
        };
        let before = alive();
        let source = RemoteJwks::builder("https://keys.example.invalid/jwks")
            .build()
            .expect("config");
        let clone = source.clone();
        tokio::task::yield_now().await;
        assert_eq!(
            alive(),
            before + 1,
            "one refresh task per source, not per clone"
        );
        drop(source);
        tokio::task::yield_now().await;
        assert_eq!(alive(), before + 1, "a clone still holds the source");
        drop(clone);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(alive(), before, "the task ended with the last handle");
    });
}

#[tokio::test(start_paused = true)]
async fn health_reports_kids_and_age() {
    let (issuer, server) = serve().await;
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    let cold = source.health();
    assert_eq!(
        (cold.keys, cold.usable, cold.last_fetch_unix),
        (0, false, None)
    );
    source.warm_up().await.expect("warm up");
    let warm = source.health();
    assert!(warm.fresh && warm.usable && !warm.serving_stale);
    assert!(warm.kids.iter().any(|k| k == KID_RSA));
    assert!(warm.last_fetch_unix.is_some() && warm.age_secs == Some(0));
    let as_json = serde_json::to_value(&warm).expect("serialize");
    assert_eq!(as_json["source"], json!(server.jwks_url()));
    drop(issuer);
}

#[tokio::test(start_paused = true)]
async fn a_down_issuer_is_not_hammered() {
    let (issuer, server) = serve().await;
    server.set_mode(JwksMode::Status(500));
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    assert!(source.warm_up().await.is_err());
    let v = verifier(&issuer, source);
    let token = issuer.token().sign().expect("sign");
    for _ in 0..100 {
        assert_eq!(reason(&v, &token).await, Err("keys_unavailable".into()));
    }
    assert_eq!(
        server.jwks_requests(),
        1,
        "within the retry interval requests get 503 without fetching"
    );
}

#[tokio::test(start_paused = true)]
async fn a_caller_supplied_client_is_used() {
    let (issuer, server) = serve().await;
    let client = reqwest::Client::builder()
        .user_agent("my-service/1.0")
        .build()
        .expect("client");
    let source = RemoteJwks::builder(server.jwks_url())
        .http_client(client)
        .build()
        .expect("config");
    source.warm_up().await.expect("warm up");
    let v = verifier(&issuer, source);
    assert_eq!(
        reason(&v, &issuer.token().sign().expect("sign")).await,
        Ok(())
    );
    assert_eq!(server.jwks_requests(), 1);
}

#[test]
fn without_a_runtime_the_request_path_refetches() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("rt");
    let (issuer, server) = runtime.block_on(serve());
    // Built outside the runtime: no background task.
    let source = quick(RemoteJwks::builder(server.jwks_url()))
        .build()
        .expect("config");
    runtime.block_on(async {
        source.warm_up().await.expect("warm up");
        tokio::time::sleep(Duration::from_millis(450)).await; // past the 400 ms freshness
        assert_eq!(
            server.jwks_requests(),
            1,
            "nobody refreshed in the background"
        );
        let v = verifier(&issuer, source.clone());
        assert_eq!(
            reason(&v, &issuer.token().sign().expect("sign")).await,
            Ok(())
        );
        assert_eq!(
            server.jwks_requests(),
            2,
            "the expired set was fetched again, not served stale"
        );
        assert!(source.health().fresh);
    });
}

#[tokio::test(start_paused = true)]
async fn limits_are_configurable() {
    let (issuer, server) = serve().await;
    // The test issuer's set is ~2.5 KiB: under a 1 KiB cap it is refused, under the default accepted.
    let small = RemoteJwks::builder(server.jwks_url())
        .max_body(1024)
        .build()
        .expect("config");
    assert!(small.warm_up().await.is_err());
    assert!(
        small
            .health()
            .last_error
            .unwrap_or_default()
            .contains("body larger than 1024 bytes")
    );
    server.set_mode(JwksMode::Hang);
    let impatient = RemoteJwks::builder(server.jwks_url())
        .timeouts(Duration::from_millis(200), Duration::from_millis(300))
        .build()
        .expect("config");
    let started = Instant::now();
    assert!(impatient.warm_up().await.is_err());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(1),
        "the 300 ms total timeout applied, not the 5 s default: {waited:?}"
    );
    assert_eq!(impatient.health().last_error.as_deref(), Some("timed out"));
    drop(issuer);
}

#[tokio::test(start_paused = true)]
async fn the_test_servers_token_endpoint_checks_its_clients() {
    let (issuer, server) = serve().await;
    server.register_client("svc", "s&cret");
    let http = reqwest::Client::new();
    let post = |auth: Option<(&str, &str)>, body: &str| {
        let mut request = http
            .post(server.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some((id, secret)) = auth {
            request = request.basic_auth(id, Some(secret));
        }
        request.send()
    };
    // Basic with the secret form-encoded (RFC 6749 §2.3.1), as a client sends it.
    let ok = post(
        Some(("svc", "s%26cret")),
        "grant_type=client_credentials&scope=read%3Ausers",
    )
    .await
    .expect("send");
    assert_eq!(ok.status(), 200);
    let body: Value = serde_json::from_slice(&ok.bytes().await.expect("body")).expect("json");
    let v = verifier(
        &issuer,
        RemoteJwks::builder(server.jwks_url())
            .build()
            .expect("config"),
    );
    let verified = v
        .verify::<Value>(body["access_token"].as_str().expect("token"))
        .await
        .expect("the minted token verifies");
    assert_eq!(verified.client_id(), Some("svc"));
    assert!(verified.has_scope("read:users"));
    for (auth, form, status) in [
        (Some(("svc", "wrong")), "grant_type=client_credentials", 401),
        (None, "grant_type=client_credentials", 401),
        (Some(("svc", "s%26cret")), "grant_type=password", 400),
    ] {
        let response = post(auth, form).await.expect("send");
        assert_eq!(response.status(), status, "{form}");
    }
    assert_eq!(server.token_requests(), 4);
}

/// A process starts (a herd of first requests shares one fetch), and the issuer rotates its key
/// `offset` later: the new kid must be fetched at once. (The background task used to fetch on a
/// timer of its own about 30 s after start, and that routine fetch started the unknown-kid
/// cooldown: 27 s of 401s for valid tokens signed by the new key.) Paused time, default policy.
async fn rotation_after_start(offset: Duration) {
    let (issuer, server) = serve().await;
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    let v = verifier(&issuer, source);
    let token = issuer.token().sign().expect("sign");
    let herd: Vec<_> = (0..200)
        .map(|_| {
            let (v, token) = (v.clone(), token.clone());
            tokio::spawn(async move { v.verify::<Value>(&token).await.is_ok() })
        })
        .collect();
    for task in herd {
        assert!(task.await.expect("join"));
    }
    assert_eq!(server.jwks_requests(), 1, "the herd shares one fetch");

    tokio::time::sleep(offset).await;
    assert_eq!(
        server.jwks_requests(),
        1,
        "no routine fetch while the set is fresh"
    );
    let next = TestIssuer::new()
        .expect("keys")
        .with_issuer(issuer.issuer());
    let mut next_jwk = next.rsa_jwk();
    next_jwk["kid"] = json!("rsa-next");
    server.set_jwks(json!({"keys": [issuer.rsa_jwk(), next_jwk]}));
    let rotated = next.token().kid("rsa-next").sign().expect("sign");
    assert_eq!(reason(&v, &rotated).await, Ok(()), "rotated at +{offset:?}");
    assert_eq!(server.jwks_requests(), 2);

    // The flood bound stays: another unknown kid inside that fetch's cooldown costs nothing.
    let forged = forge_kid(&rotated, "rsa-unknown");
    assert_eq!(reason(&v, &forged).await, Err("unknown_key".into()));
    assert_eq!(server.jwks_requests(), 2);
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(reason(&v, &forged).await, Err("unknown_key".into()));
    assert_eq!(server.jwks_requests(), 3, "one fetch per cooldown");
}

#[tokio::test(start_paused = true)]
async fn rotation_31_s_after_start_is_accepted() {
    rotation_after_start(Duration::from_secs(31)).await;
}

#[tokio::test(start_paused = true)]
async fn rotation_34_s_after_start_is_accepted() {
    // Past the old timer's latest jitter (30 s × 1.1): the case that always failed.
    rotation_after_start(Duration::from_secs(34)).await;
}

/// The refresh-ahead fetch keeps the set fresh without starting the unknown-kid cooldown, and
/// lands before expiry (the delay is only ever shortened by its jitter).
#[tokio::test(start_paused = true)]
async fn a_routine_refresh_never_holds_back_a_new_kid() {
    let (issuer, server) = serve().await;
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    source.warm_up().await.expect("warm up");
    let v = verifier(&issuer, source.clone());
    // Default TTL 600 s, refresh 30 s ahead, at most 10 % earlier: between 513 s and 570 s.
    tokio::time::sleep(Duration::from_secs(512)).await;
    assert_eq!(server.jwks_requests(), 1);
    tokio::time::sleep(Duration::from_secs(59)).await;
    assert_eq!(server.jwks_requests(), 2, "refreshed ahead of expiry");
    assert!(source.health().fresh && !source.health().serving_stale);

    let next = TestIssuer::new()
        .expect("keys")
        .with_issuer(issuer.issuer());
    let mut next_jwk = next.rsa_jwk();
    next_jwk["kid"] = json!("rsa-next");
    server.set_jwks(json!({"keys": [issuer.rsa_jwk(), next_jwk]}));
    let rotated = next.token().kid("rsa-next").sign().expect("sign");
    assert_eq!(reason(&v, &rotated).await, Ok(()));
    assert_eq!(server.jwks_requests(), 3);
}
