//! `Verifier::verify` against the physical limit: the raw aws-lc-rs signature check of the same
//! token with a key parsed once. Run: `cargo bench -p portcullis-core --features testing --bench verify`.
//!
//! Criterion reports each function; the closing table measures the raw check, `Verifier::verify`
//! and plain `jsonwebtoken::decode` interleaved in the same run (median of 21 rounds) and prints
//! each as a ratio to the raw check. Targets: <= 1.15x for RS256, <= 1.10x for ES256 and EdDSA.
//! That table runs with the verified-token cache disabled; a second table times cache hits (the
//! same token again, as clients send it) against the raw RS256 check. Target: a hit <= 1.5 µs.
//! Beside it, the whole request decision on a hit (`Authenticator::authenticate` over a request
//! view: credential extraction, request id, the request state an adapter stores), which is what
//! the adapters pay per request beyond their framework.
//! A third table times a DPoP request whose access token is a cache hit (`Authenticator::
//! authenticate` with `Authorization: DPoP` and a distinct, pre-minted proof per call, so the
//! replay store records every one) against the raw check of the proof's own signature. Target:
//! at most 3 µs above it, for ES256 and EdDSA.
//! No tracing subscriber is installed, as in a service that filters `portcullis::audit` out;
//! with one, the cost of formatting the audit line is added.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group};
use portcullis_core::authenticator::Authenticator;
use portcullis_core::request::RequestView;
use portcullis_core::testing::{HeaderList, TestIssuer};
use portcullis_core::{Algorithm, TokenCache, Verifier};
use serde::Deserialize;
use serde_json::{Value, json};

/// The claims type a service would declare.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Claims {
    sub: String,
    scope: String,
    client_id: String,
    tenant: String,
    roles: Vec<String>,
}

/// Polls a future that must complete without waiting (a static key source never waits).
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("static key sources complete immediately"),
    }
}

struct Case {
    alg: Algorithm,
    token: String,
    raw_key: ParsedPublicKey,
    jwt_key: jsonwebtoken::DecodingKey,
    jwt_validation: jsonwebtoken::Validation,
}

/// The verifier with its cache disabled (every call verifies in full), the same verifier with
/// the default cache, and the cases.
fn setup() -> (Verifier, Verifier, Vec<Case>) {
    let issuer = TestIssuer::new().expect("keys");
    let verifier = issuer
        .verifier()
        .expect("jwks")
        .token_cache(TokenCache::disabled())
        .build()
        .expect("config");
    let cached = issuer.verifier().expect("jwks").build().expect("config");
    let jwks = issuer.jwks();
    let jwk = |kid: &str| -> Value {
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["kid"] == kid)
            .cloned()
            .expect("kid")
    };
    let d = |v: &Value, name: &str| {
        URL_SAFE_NO_PAD
            .decode(v[name].as_str().expect("member"))
            .expect("b64")
    };
    let cases = [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    let cases = cases
        .into_iter()
        .map(|alg| {
            let token = issuer
                .token()
                .alg(alg)
                .subject("auth0|5f7c8ec7c33c6c004bbafe82")
                .scope("openid profile email read:users write:users read:orders offline_access")
                .claim("client_id", "0oa1b2c3d4e5f6g7h8i9")
                .claim("tenant", "acme-corporation-eu-west-1")
                .claim("roles", json!(["admin", "billing", "support"]))
                .claim("azp", "0oa1b2c3d4e5f6g7h8i9")
                .claim("auth_time", 1_700_000_000u64)
                .claim("acr", "urn:mace:incommon:iap:silver")
                .claim("amr", json!(["pwd", "mfa"]))
                .claim("sid", "08a5019c-17e1-4977-8f42-65a12843ea02")
                .sign()
                .expect("sign");
            let (alg_ref, key): (&'static dyn VerificationAlgorithm, Vec<u8>) = match alg {
                Algorithm::RS256 | Algorithm::PS256 => {
                    let k = jwk(portcullis_core::testing::KID_RSA);
                    let der = rsa_der(&d(&k, "n"), &d(&k, "e"));
                    let a: &'static dyn VerificationAlgorithm = if alg == Algorithm::RS256 {
                        &signature::RSA_PKCS1_2048_8192_SHA256
                    } else {
                        &signature::RSA_PSS_2048_8192_SHA256
                    };
                    (a, der)
                }
                Algorithm::ES256 | Algorithm::ES384 => {
                    let kid = if alg == Algorithm::ES256 {
                        portcullis_core::testing::KID_P256
                    } else {
                        portcullis_core::testing::KID_P384
                    };
                    let k = jwk(kid);
                    let mut point = vec![4];
                    point.extend(d(&k, "x"));
                    point.extend(d(&k, "y"));
                    let a: &'static dyn VerificationAlgorithm = if alg == Algorithm::ES256 {
                        &signature::ECDSA_P256_SHA256_FIXED
                    } else {
                        &signature::ECDSA_P384_SHA384_FIXED
                    };
                    (a, point)
                }
                _ => (
                    &signature::ED25519,
                    d(&jwk(portcullis_core::testing::KID_ED25519), "x"),
                ),
            };
            let raw_key = ParsedPublicKey::new(alg_ref, key).expect("raw key");
            let kid = match alg {
                Algorithm::RS256 | Algorithm::PS256 => portcullis_core::testing::KID_RSA,
                Algorithm::ES256 => portcullis_core::testing::KID_P256,
                Algorithm::ES384 => portcullis_core::testing::KID_P384,
                _ => portcullis_core::testing::KID_ED25519,
            };
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk(kid)).expect("jwk");
            let jwt_key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
            let jwt_alg = match alg {
                Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
                Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
                Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
                Algorithm::ES384 => jsonwebtoken::Algorithm::ES384,
                _ => jsonwebtoken::Algorithm::EdDSA,
            };
            let mut jwt_validation = jsonwebtoken::Validation::new(jwt_alg);
            jwt_validation.set_issuer(&[issuer.issuer()]);
            jwt_validation.set_audience(&[issuer.audience()]);
            Case {
                alg,
                token,
                raw_key,
                jwt_key,
                jwt_validation,
            }
        })
        .collect();
    (verifier, cached, cases)
}

/// DER `RSAPublicKey` for the raw baseline (kept separate from the library's own encoder).
fn rsa_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let mut body = if v[0] & 0x80 != 0 { vec![0] } else { vec![] };
        body.extend_from_slice(v);
        let mut out = vec![2];
        out.extend(len(body.len()));
        out.extend(body);
        out
    }
    fn len(l: usize) -> Vec<u8> {
        if l < 128 {
            vec![l as u8]
        } else if l < 256 {
            vec![0x81, l as u8]
        } else {
            vec![0x82, (l >> 8) as u8, l as u8]
        }
    }
    let body = [int(n), int(e)].concat();
    let mut out = vec![0x30];
    out.extend(len(body.len()));
    out.extend(body);
    out
}

fn raw_verify(case: &Case) -> bool {
    let (input, sig) = case.token.rsplit_once('.').expect("token");
    let sig = URL_SAFE_NO_PAD.decode(sig).expect("sig");
    case.raw_key.verify_sig(input.as_bytes(), &sig).is_ok()
}

fn jsonwebtoken_decode(case: &Case) -> bool {
    jsonwebtoken::decode::<Claims>(&case.token, &case.jwt_key, &case.jwt_validation).is_ok()
}

fn portcullis_verify(verifier: &Verifier, token: &str) -> bool {
    now(verifier.verify::<Claims>(token)).is_ok()
}

fn cache_hit(verifier: &Verifier, token: &str) -> bool {
    now(verifier.authenticate(token)).is_ok()
}

/// A request's headers as an adapter sees them: the credential and what a client typically sends.
fn request_headers(token: &str) -> HeaderList {
    HeaderList(vec![
        ("host", "api.example.com".into()),
        ("user-agent", "bench/1.0".into()),
        ("accept", "application/json".into()),
        ("authorization", format!("Bearer {token}")),
    ])
}

fn request_hit(authenticator: &Authenticator, headers: &HeaderList) -> bool {
    let view = RequestView::new("GET", "/users", headers);
    now(authenticator.authenticate(&view)).is_ok()
}

fn cache_hit_typed(verifier: &Verifier, token: &str) -> bool {
    now(verifier.verify::<Claims>(token)).is_ok()
}

fn bench(c: &mut Criterion) {
    let (verifier, cached, cases) = setup();
    let mut group = c.benchmark_group("verify");
    for case in &cases {
        assert!(
            raw_verify(case) && portcullis_verify(&verifier, &case.token),
            "{} token must verify",
            case.alg
        );
        group.bench_function(format!("{}/raw_aws_lc", case.alg), |b| {
            b.iter(|| raw_verify(black_box(case)))
        });
        group.bench_function(format!("{}/portcullis", case.alg), |b| {
            b.iter(|| portcullis_verify(&verifier, black_box(&case.token)))
        });
        if case.alg == Algorithm::RS256 {
            assert!(cache_hit(&cached, &case.token));
            group.bench_function("RS256/cache_hit", |b| {
                b.iter(|| cache_hit(&cached, black_box(&case.token)))
            });
            group.bench_function("RS256/cache_hit_typed", |b| {
                b.iter(|| cache_hit_typed(&cached, black_box(&case.token)))
            });
            let authenticator = Authenticator::new(cached.clone());
            let headers = request_headers(&case.token);
            assert!(request_hit(&authenticator, &headers));
            group.bench_function("RS256/request_cache_hit", |b| {
                b.iter(|| request_hit(&authenticator, black_box(&headers)))
            });
        }
    }
    group.finish();
}

/// Interleaved A/B timing: per round, a batch of raw verifies then a batch of portcullis
/// verifies; the ratio of medians is reported.
fn ratios() {
    let (verifier, cached, cases) = setup();
    println!(
        "\n{:<6} {:>6} {:>9} {:>13} {:>9} {:>15} {:>11}",
        "alg", "bytes", "raw µs", "portcullis µs", "ratio", "jsonwebtoken µs", "ratio"
    );
    // PORTCULLIS_BENCH_ALG=RS256 limits the table to one algorithm (for profiling).
    let only = std::env::var("PORTCULLIS_BENCH_ALG").ok();
    for case in cases
        .iter()
        .filter(|c| only.as_deref().is_none_or(|a| a == c.alg.name()))
    {
        let batch = if matches!(case.alg, Algorithm::RS256 | Algorithm::PS256) {
            400
        } else {
            200
        };
        let mut samples: [Vec<f64>; 3] = Default::default();
        let per_op = |f: &dyn Fn() -> bool| {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(f());
            }
            t.elapsed().as_secs_f64() / f64::from(batch)
        };
        for _ in 0..21 {
            samples[0].push(per_op(&|| raw_verify(black_box(case))));
            samples[1].push(per_op(&|| {
                portcullis_verify(&verifier, black_box(&case.token))
            }));
            samples[2].push(per_op(&|| jsonwebtoken_decode(black_box(case))));
        }
        let [raw, ours, jwt] = samples.map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[10] * 1e6
        });
        println!(
            "{:<6} {:>6} {:>9.2} {:>13.2} {:>8.3}x {:>15.2} {:>10.3}x",
            case.alg.name(),
            case.token.len(),
            raw,
            ours,
            ours / raw,
            jwt,
            jwt / raw
        );
    }
    hit_table(&cached, &cases);
    dpop_table();
}

/// A proof's signature checked with aws-lc-rs directly, the key parsed once: the floor of any
/// DPoP verification.
fn raw_proof_check(key: &ParsedPublicKey, proof: &str) -> bool {
    let (input, sig) = proof.rsplit_once('.').expect("proof");
    let sig = URL_SAFE_NO_PAD.decode(sig).expect("sig");
    key.verify_sig(input.as_bytes(), &sig).is_ok()
}

/// The proof key, parsed from a proof's `jwk` header the way a raw implementation would.
fn proof_key(alg: Algorithm, proof: &str) -> ParsedPublicKey {
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(proof.split('.').next().expect("header"))
            .expect("b64"),
    )
    .expect("json");
    let member = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(header["jwk"][name].as_str().expect("member"))
            .expect("b64")
    };
    match alg {
        Algorithm::ES256 => {
            let point = [vec![4], member("x"), member("y")].concat();
            ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).expect("p256")
        }
        _ => ParsedPublicKey::new(&signature::ED25519, member("x")).expect("ed25519"),
    }
}

/// DPoP requests with a cached access token against the raw proof check, interleaved.
fn dpop_table() {
    use portcullis_core::dpop::{DpopPolicy, MemoryReplayStore};
    use portcullis_core::testing::DpopKey;
    const BATCH: usize = 250;
    const ROUNDS: usize = 41;
    println!(
        "\n{:<6} {:>14} {:>20} {:>9} {:>9}",
        "proof", "raw proof µs", "DPoP request µs", "+ µs", "ratio"
    );
    let issuer = TestIssuer::new().expect("keys");
    let cached = issuer.verifier().expect("jwks").build().expect("config");
    let authenticator = Authenticator::new(cached).dpop(
        DpopPolicy::default()
            .replay_store(MemoryReplayStore::new().with_capacity(4 * BATCH * ROUNDS)),
    );
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let key = DpopKey::generate(alg).expect("key");
        let token = issuer
            .token()
            .subject("auth0|5f7c8ec7c33c6c004bbafe82")
            .scope("openid read:users")
            .claim("cnf", json!({"jkt": key.thumbprint()}))
            .sign()
            .expect("sign");
        // Every call needs its own proof: the replay store refuses a second use.
        let proofs: Vec<HeaderList> = (0..BATCH * ROUNDS + 1)
            .map(|_| {
                let proof = key
                    .proof("GET", "https://api.example.com/users")
                    .access_token(&token)
                    .sign()
                    .expect("proof");
                HeaderList(vec![
                    ("host", "api.example.com".into()),
                    ("user-agent", "bench/1.0".into()),
                    ("accept", "application/json".into()),
                    ("authorization", format!("DPoP {token}")),
                    ("dpop", proof),
                ])
            })
            .collect();
        let request = |headers: &HeaderList| {
            let view = RequestView::new("GET", "/users", headers)
                .authority(Some("api.example.com"))
                .secure(true);
            now(authenticator.authenticate(&view)).is_ok()
        };
        let (warm, rest) = proofs.split_first().expect("proofs");
        assert!(request(warm), "{alg:?}: the DPoP request must pass");
        let proof_of = |h: &HeaderList| h.0[4].1.clone();
        let raw_key = proof_key(alg, &proof_of(warm));
        assert!(raw_proof_check(&raw_key, &proof_of(warm)));
        let raw_proofs: Vec<String> = rest.iter().map(proof_of).collect();
        // Per round, the raw batch then the request batch; the extra cost is the median of the
        // per-round differences, so drift between rounds cancels out.
        let mut samples: [Vec<f64>; 3] = Default::default();
        for round in 0..ROUNDS {
            let slice = round * BATCH..(round + 1) * BATCH;
            let t = Instant::now();
            for proof in &raw_proofs[slice.clone()] {
                black_box(raw_proof_check(&raw_key, black_box(proof)));
            }
            samples[0].push(t.elapsed().as_secs_f64() / BATCH as f64);
            let t = Instant::now();
            for headers in &rest[slice] {
                assert!(request(black_box(headers)));
            }
            samples[1].push(t.elapsed().as_secs_f64() / BATCH as f64);
            samples[2].push(samples[1][round] - samples[0][round]);
        }
        let [raw, dpop, extra] = samples.map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[ROUNDS / 2] * 1e6
        });
        println!(
            "{:<6} {:>14.2} {:>20.2} {:>9.2} {:>8.3}x",
            alg.name(),
            raw,
            dpop,
            extra,
            dpop / raw
        );
    }
}

/// Cache hits against the raw RS256 check, interleaved the same way.
fn hit_table(cached: &Verifier, cases: &[Case]) {
    let Some(case) = cases.iter().find(|c| c.alg == Algorithm::RS256) else {
        return;
    };
    assert!(cache_hit(cached, &case.token));
    let authenticator = Authenticator::new(cached.clone());
    let headers = request_headers(&case.token);
    assert!(request_hit(&authenticator, &headers));
    let per_op = |batch: u32, f: &dyn Fn() -> bool| {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        t.elapsed().as_secs_f64() / f64::from(batch)
    };
    let mut samples: [Vec<f64>; 4] = Default::default();
    for _ in 0..21 {
        samples[0].push(per_op(400, &|| raw_verify(black_box(case))));
        samples[1].push(per_op(20_000, &|| {
            cache_hit(cached, black_box(&case.token))
        }));
        samples[2].push(per_op(20_000, &|| {
            cache_hit_typed(cached, black_box(&case.token))
        }));
        samples[3].push(per_op(20_000, &|| {
            request_hit(&authenticator, black_box(&headers))
        }));
    }
    let [raw, hit, typed, request] = samples.map(|mut v| {
        v.sort_by(f64::total_cmp);
        v[10] * 1e6
    });
    println!(
        "\n{:<6} {:>6} {:>9} {:>16} {:>9} {:>22} {:>9} {:>18}",
        "alg",
        "bytes",
        "raw µs",
        "cache hit µs",
        "ratio",
        "hit + typed claims µs",
        "ratio",
        "whole request µs"
    );
    println!(
        "{:<6} {:>6} {:>9.2} {:>16.3} {:>8.3}x {:>22.3} {:>8.3}x {:>18.3}",
        "RS256",
        case.token.len(),
        raw,
        hit,
        hit / raw,
        typed,
        typed / raw,
        request
    );
}

criterion_group!(benches, bench);

/// `PORTCULLIS_BENCH_PROFILE=EdDSA` (or another algorithm): only `Verifier::verify` with the cache
/// off, in a loop for 5 s, for `perf record`; nothing else runs.
fn profile(alg: &str) {
    let (verifier, _, cases) = setup();
    let case = cases
        .iter()
        .find(|c| c.alg.name() == alg)
        .expect("PORTCULLIS_BENCH_PROFILE names an algorithm");
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed().as_secs() < 5 {
        for _ in 0..100 {
            black_box(portcullis_verify(&verifier, black_box(&case.token)));
        }
        calls += 100;
    }
    println!(
        "{alg}: {calls} calls, {:.2} µs each",
        start.elapsed().as_secs_f64() * 1e6 / calls as f64
    );
}

fn main() {
    if let Ok(alg) = std::env::var("PORTCULLIS_BENCH_PROFILE") {
        return profile(&alg);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --all-targets` runs benches once as a smoke test (no `--bench`): skip the
    // timed table there.
    if std::env::args().any(|a| a == "--bench") {
        ratios();
    }
}
