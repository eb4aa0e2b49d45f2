//! The verified-token cache: a hit only while the token's times, its issuer's configuration and
//! its key set are unchanged; never for a token that differs by one byte; bounded in entries and
//! bytes; a token is stored the second time it verifies (the doorkeeper). Hits are observed
//! through the audit event's `cached` field.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod common;

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::clock::ManualClock;
use portcullis_core::keys::RemoteJwks;
use portcullis_core::testing::{KID_RSA, TestIssuer};
use portcullis_core::{
    Algorithm, ConfigError, IssuerResolver, Reason, TokenCache, TrustedIssuer, Verifier,
};
use secrecy::SecretBox;
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Verifies `token` and reports whether the decision was served from the cache.
fn verify(rt: &tokio::runtime::Runtime, v: &Verifier, token: &str) -> Result<bool, Reason> {
    let (outcome, log) = common::audit_log(|| rt.block_on(v.verify::<Value>(token)));
    match outcome {
        Ok(_) => {
            assert!(log.contains("outcome=\"accept\""), "{log}");
            Ok(log.contains("cached=true"))
        }
        Err(e) => {
            assert!(
                !log.contains("cached=true"),
                "a rejection from the cache: {log}"
            );
            Err(e.reason())
        }
    }
}

/// The first two verifications of a token are full ones (the second stores it).
fn warm(rt: &tokio::runtime::Runtime, v: &Verifier, token: &str) {
    assert_eq!(verify(rt, v, token), Ok(false), "first sight");
    assert_eq!(
        verify(rt, v, token),
        Ok(false),
        "second sight: verified and stored"
    );
}

fn setup(cache: TokenCache) -> (TestIssuer, ManualClock, Verifier) {
    let clock = ManualClock::new(NOW);
    let issuer = TestIssuer::new().expect("keys").with_clock(clock.clone());
    let v = issuer
        .verifier()
        .expect("jwks")
        .token_cache(cache)
        .build()
        .expect("config");
    (issuer, clock, v)
}

#[test]
fn a_verified_token_is_served_from_the_cache_the_second_time() {
    let rt = runtime();
    let (issuer, _, v) = setup(TokenCache::new());
    let token = issuer.token().subject("alice").sign().expect("sign");
    warm(&rt, &v, &token);
    assert_eq!(verify(&rt, &v, &token), Ok(true));
    let hit = rt.block_on(v.verify::<Value>(&token)).expect("hit");
    assert_eq!(hit.subject(), Some("alice"));
    assert_eq!(hit.claims()["sub"], "alice");
    assert_eq!(hit.kid(), Some(KID_RSA));
    assert_eq!(v.token_cache_usage().map(|u| u.entries), Some(1));
}

#[test]
fn a_cached_token_expires_on_the_verifiers_clock() {
    let rt = runtime();
    let (issuer, clock, v) = setup(TokenCache::new());
    let token = issuer.token().expires_in(120).sign().expect("sign");
    warm(&rt, &v, &token);
    clock.advance(170); // inside exp + 60 s leeway
    assert_eq!(verify(&rt, &v, &token), Ok(true));
    clock.advance(10); // exp + leeway reached
    assert_eq!(verify(&rt, &v, &token), Err(Reason::Expired));
    assert_eq!(verify(&rt, &v, &token), Err(Reason::Expired));
}

#[test]
fn a_clock_set_back_before_iat_is_not_answered_from_the_cache() {
    let rt = runtime();
    let (issuer, clock, v) = setup(TokenCache::new());
    let token = issuer.token().sign().expect("sign");
    warm(&rt, &v, &token);
    assert_eq!(verify(&rt, &v, &token), Ok(true));
    clock.set(NOW - 3600);
    assert_eq!(verify(&rt, &v, &token), Err(Reason::IssuedInFuture));
}

#[test]
fn a_token_one_byte_away_from_a_cached_one_is_verified_in_full() {
    let rt = runtime();
    let (issuer, _, v) = setup(TokenCache::new());
    let token = issuer.token().sign().expect("sign");
    warm(&rt, &v, &token);
    let mut altered = token.clone().into_bytes();
    for at in [altered.len() - 2, token.find('.').expect("dot") + 3] {
        let original = altered[at];
        altered[at] = if original == b'A' { b'B' } else { b'A' };
        let twin = String::from_utf8(altered.clone()).expect("ascii");
        assert!(verify(&rt, &v, &twin).is_err(), "byte {at}");
        altered[at] = original;
    }
    // A prefix or an extension of a cached token is another key, not a near match.
    assert!(verify(&rt, &v, &token[..token.len() - 1]).is_err());
    assert!(verify(&rt, &v, &format!("{token}A")).is_err());
    assert_eq!(verify(&rt, &v, &token), Ok(true));
    assert_eq!(v.token_cache_usage().map(|u| u.entries), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_whose_key_left_the_key_set_is_never_served_from_the_cache() {
    let (issuer, server) = TestIssuer::serve().await.expect("loopback issuer");
    let source = RemoteJwks::builder(server.jwks_url())
        .kid_cooldown(Duration::from_millis(1))
        .build()
        .expect("config");
    source.warm_up().await.expect("warm up");
    let v = issuer
        .verifier()
        .expect("jwks")
        .key_source(source.clone())
        .build()
        .expect("config");
    let rsa = issuer.token().sign().expect("sign");
    let ec = issuer.token().alg(Algorithm::ES256).sign().expect("sign");
    for _ in 0..3 {
        v.verify::<Value>(&rsa).await.expect("rsa");
        v.verify::<Value>(&ec).await.expect("ec");
    }

    // The RSA key is retired; the EC key stays.
    let mut jwks = issuer.jwks();
    jwks["keys"]
        .as_array_mut()
        .expect("keys")
        .retain(|k| k["kid"] != KID_RSA);
    server.set_jwks(jwks);
    source.reload().await.expect("reload");

    let err = v.verify::<Value>(&rsa).await.expect_err("retired key");
    assert_eq!(err.reason(), Reason::UnknownKey);
    v.verify::<Value>(&ec).await.expect("a key still present");
}

#[test]
fn an_unchanged_key_set_refetched_sends_tokens_through_full_verification_once() {
    // A new key-set version (rotation or plain refetch) invalidates every entry: correctness over
    // hit rate, at the cost of one signature check per live token per key-set refresh.
    let rt = runtime();
    let (issuer, server) = rt.block_on(TestIssuer::serve()).expect("loopback issuer");
    let source = RemoteJwks::builder(server.jwks_url())
        .build()
        .expect("config");
    rt.block_on(source.warm_up()).expect("warm up");
    let v = issuer
        .verifier()
        .expect("jwks")
        .key_source(source.clone())
        .build()
        .expect("config");
    let token = issuer.token().sign().expect("sign");
    warm(&rt, &v, &token);
    assert_eq!(verify(&rt, &v, &token), Ok(true));
    // A changed body, so the refetch cannot be answered with 304 and keep the old version.
    let mut jwks = issuer.jwks();
    jwks["note"] = json!("refreshed");
    server.set_jwks(jwks);
    rt.block_on(source.reload()).expect("reload");
    // Verified again in full, and stored again at once (the doorkeeper already knows it).
    assert_eq!(verify(&rt, &v, &token), Ok(false));
    assert_eq!(verify(&rt, &v, &token), Ok(true));
    drop(server);
}

/// Trusts every `https://tenant…example/` issuer with the test keys; `https://tenant.example/`
/// with whatever audience `audience` currently holds.
#[derive(Debug)]
struct Tenant {
    issuer: TestIssuer,
    audience: Arc<std::sync::Mutex<String>>,
}

impl IssuerResolver for Tenant {
    fn resolve<'a>(&'a self, issuer: &'a str) -> portcullis_core::verifier::ResolveFuture<'a> {
        Box::pin(async move {
            let audience = if issuer == self.issuer.issuer() {
                self.audience.lock().expect("audience").clone()
            } else {
                self.issuer.audience().to_owned()
            };
            (issuer.starts_with("https://tenant") && issuer.ends_with(".example/")).then(|| {
                TrustedIssuer::new(issuer)
                    .audience(audience)
                    .key_source(self.issuer.static_jwks().expect("jwks"))
            })
        })
    }
}

#[test]
fn an_issuer_resolved_again_with_another_configuration_is_a_miss() {
    let rt = runtime();
    let issuer = TestIssuer::new()
        .expect("keys")
        .with_issuer("https://tenant.example/");
    let audience = Arc::new(std::sync::Mutex::new(issuer.audience().to_owned()));
    let v = Verifier::builder()
        .resolver(Tenant {
            issuer: issuer.clone(),
            audience: Arc::clone(&audience),
        })
        .build()
        .expect("config");
    let token = issuer.token().sign().expect("sign");
    warm(&rt, &v, &token);
    assert_eq!(verify(&rt, &v, &token), Ok(true));

    // The tenant's configuration changes and the resolver is asked again (here: after the
    // verifier's resolved issuers are dropped by evicting them with 100 other tenants).
    *audience.lock().expect("audience") = "https://another.api".into();
    for n in 0..portcullis_core::verifier::RESOLVED_ISSUERS * 2 {
        let other = issuer
            .clone()
            .with_issuer(format!("https://tenant-{n}.example/"));
        rt.block_on(v.verify::<Value>(&other.token().sign().expect("sign")))
            .expect("another tenant");
    }
    let outcome = verify(&rt, &v, &token);
    assert_ne!(outcome, Ok(true), "served under the old configuration");
    assert_eq!(outcome, Err(Reason::BadAudience));
}

#[test]
fn hmac_tokens_are_cached_too() {
    let rt = runtime();
    let clock = ManualClock::new(NOW);
    let issuer = TestIssuer::new().expect("keys").with_clock(clock.clone());
    let secret = [7u8; 32];
    let v = Verifier::builder()
        .issuer(issuer.issuer())
        .audience(issuer.audience())
        .clock(clock)
        .shared_secret(
            Algorithm::HS256,
            SecretBox::new(Box::<[u8]>::from(&secret[..])),
        )
        .build()
        .expect("config");
    let token = issuer
        .token()
        .alg(Algorithm::HS256)
        .hmac_secret(&secret)
        .sign()
        .expect("sign");
    warm(&rt, &v, &token);
    assert_eq!(verify(&rt, &v, &token), Ok(true));
}

#[test]
fn a_disabled_cache_verifies_every_time() {
    let rt = runtime();
    let (issuer, _, v) = setup(TokenCache::disabled());
    let token = issuer.token().sign().expect("sign");
    for _ in 0..3 {
        assert_eq!(verify(&rt, &v, &token), Ok(false));
    }
    assert_eq!(v.token_cache_usage(), None);
}

#[test]
fn the_entry_and_memory_caps_hold() {
    let rt = runtime();
    let issuer = TestIssuer::new().expect("keys");
    let build = |cache| {
        issuer
            .verifier()
            .expect("jwks")
            .token_cache(cache)
            .build()
            .expect("config")
    };
    let by_count = build(TokenCache::new().max_entries(10));
    let by_bytes = build(TokenCache::new().max_bytes(64 * 1024));
    // ~1.3 KiB tokens: 200 of them is ~260 KiB, four times the byte cap.
    let padding = "x".repeat(600);
    for n in 0..200 {
        let token = issuer
            .token()
            .subject(&format!("user-{n}"))
            .claim("pad", padding.clone())
            .sign()
            .expect("sign");
        // Twice each: a token is stored at its second verification.
        for _ in 0..2 {
            rt.block_on(by_count.verify::<Value>(&token))
                .expect("valid");
            rt.block_on(by_bytes.verify::<Value>(&token))
                .expect("valid");
        }
    }
    let count = by_count.token_cache_usage().expect("on");
    assert!(count.entries <= 10, "{count:?}");
    assert!(count.entries > 0, "{count:?}");
    let bytes = by_bytes.token_cache_usage().expect("on");
    assert!(bytes.bytes <= 64 * 1024, "{bytes:?}");
    assert!(bytes.entries > 0 && bytes.entries < 200, "{bytes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hits_and_inserts_return_each_tokens_own_claims() {
    let issuer = TestIssuer::new().expect("keys");
    let v = issuer
        .verifier()
        .expect("jwks")
        .token_cache(TokenCache::new().max_entries(50))
        .build()
        .expect("config");
    // More tokens than entries, so inserts, hits and evictions interleave.
    let tokens: Arc<Vec<(String, String)>> = Arc::new(
        (0..120)
            .map(|n| {
                let sub = format!("user-{n}");
                let token = issuer.token().subject(&sub).sign().expect("sign");
                (sub, token)
            })
            .collect(),
    );
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let (v, tokens) = (v.clone(), Arc::clone(&tokens));
            tokio::spawn(async move {
                for round in 0..60 {
                    let (sub, token) = &tokens[(task * 7 + round * 13) % tokens.len()];
                    let verified = v.authenticate(token).await.expect("valid");
                    assert_eq!(verified.subject(), Some(sub.as_str()));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    assert!(v.token_cache_usage().expect("on").entries <= 50);
}

#[test]
fn out_of_range_cache_bounds_are_configuration_errors() {
    let issuer = TestIssuer::new().expect("keys");
    for cache in [
        TokenCache::new().max_entries(0),
        TokenCache::new().max_bytes(1024),
        TokenCache::new().max_ttl(Duration::ZERO),
        TokenCache::new().max_ttl(Duration::from_secs(7200)),
    ] {
        let built = issuer.verifier().expect("jwks").token_cache(cache).build();
        assert!(
            matches!(built, Err(ConfigError::InvalidValue { .. })),
            "{built:?}"
        );
    }
}

#[test]
fn a_token_seen_once_is_not_stored() {
    // Traffic where every request brings a new token must not churn the cache.
    let rt = runtime();
    let (issuer, _, v) = setup(TokenCache::new());
    for n in 0..50 {
        let token = issuer
            .token()
            .subject(&format!("u{n}"))
            .sign()
            .expect("sign");
        assert_eq!(verify(&rt, &v, &token), Ok(false));
    }
    assert_eq!(v.token_cache_usage().map(|u| u.entries), Some(0));
}
