//! DPoP on the resource server (RFC 9449 §4.3, §7): every proof rule as a table row, the token
//! binding, the replay check and its place last, the modes and the challenges. Runs on whichever
//! crypto backend verifies; the test kit signs with aws-lc-rs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::authenticator::Authenticator;
use portcullis_core::challenge::ChallengeOptions;
use portcullis_core::clock::ManualClock;
use portcullis_core::dpop::{
    DpopMode, DpopNonces, DpopPolicy, MemoryReplayStore, NonceKey, ReplayFuture, ReplayKey,
    ReplayStore, ReplayStoreError,
};
use portcullis_core::principal::{AuthMethod, Binding};
use portcullis_core::render::Rejection;
use portcullis_core::request::RequestView;
use portcullis_core::testing::{DpopKey, HeaderList, ProofBuilder, TestIssuer};
use portcullis_core::{Algorithm, RequestState};
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000;
const URI: &str = "https://api.example.com/users";

struct Fixture {
    clock: ManualClock,
    issuer: TestIssuer,
    key: DpopKey,
    store: MemoryReplayStore,
    token: String,
}

impl Fixture {
    fn new() -> Self {
        let clock = ManualClock::new(NOW);
        let issuer = TestIssuer::new().unwrap().with_clock(clock.clone());
        let key = DpopKey::generate(Algorithm::ES256)
            .unwrap()
            .with_clock(clock.clone());
        let token = issuer
            .token()
            .claim("cnf", json!({"jkt": key.thumbprint()}))
            .sign()
            .unwrap();
        let store = MemoryReplayStore::new().with_clock(clock.clone());
        Self {
            clock,
            issuer,
            key,
            store,
            token,
        }
    }

    fn policy(&self) -> DpopPolicy {
        DpopPolicy::default().replay_store(self.store.clone())
    }

    fn authenticator(&self, policy: DpopPolicy) -> Authenticator {
        let verifier = self.issuer.verifier().unwrap().build().unwrap();
        Authenticator::new(verifier)
            .dpop(policy)
            .challenge(ChallengeOptions::default().detailed(true))
    }

    fn proof(&self) -> ProofBuilder<'_> {
        self.key.proof("GET", URI).access_token(&self.token)
    }
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn decide(
    auth: &Authenticator,
    headers: Vec<(&'static str, String)>,
) -> Result<RequestState, Rejection> {
    let headers = HeaderList(headers);
    let view = RequestView::new("GET", "/users", &headers)
        .authority(Some("api.example.com"))
        .secure(true);
    run(auth.authenticate(&view))
}

fn dpop(token: &str, proof: &str) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("DPoP {token}")),
        ("dpop", proof.to_owned()),
    ]
}

fn header<'a>(rejection: &'a Rejection, name: &str) -> Option<&'a str> {
    rejection
        .headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// The outcome as `ok` or `status description` (the detailed challenge names the reason).
fn outcome(decided: Result<RequestState, Rejection>) -> String {
    match decided {
        Ok(_) => "ok".to_owned(),
        Err(r) => {
            let challenge = header(&r, "www-authenticate").unwrap_or_default();
            let description = challenge
                .split("error_description=\"")
                .nth(1)
                .and_then(|d| d.split('"').next())
                .unwrap_or("");
            format!("{} {description}", r.status)
        }
    }
}

type Row = (&'static str, fn(&Fixture) -> String, &'static str);

#[test]
fn every_proof_rule() {
    let rows: Vec<Row> = vec![
        ("valid", |f| f.proof().sign().unwrap(), "ok"),
        (
            "htu spelled differently",
            |f| {
                f.key
                    .proof("GET", "HTTPS://API.Example.com:443/./users?page=2#top")
                    .access_token(&f.token)
                    .sign()
                    .unwrap()
            },
            "ok",
        ),
        (
            "iat at the window's start",
            |f| f.proof().claim("iat", NOW - 60).sign().unwrap(),
            "ok",
        ),
        (
            "iat within the leeway",
            |f| f.proof().claim("iat", NOW + 10).sign().unwrap(),
            "ok",
        ),
        (
            "not a JWS",
            |_| "not-a-proof".into(),
            "401 bad_dpop_proof: form",
        ),
        (
            "too long",
            |_| format!("a.{}.c", "b".repeat(9000)),
            "401 bad_dpop_proof: size",
        ),
        (
            "typ missing",
            |f| f.proof().header("typ", Value::Null).sign().unwrap(),
            "401 bad_dpop_proof: typ",
        ),
        (
            "typ JWT",
            |f| f.proof().header("typ", "JWT").sign().unwrap(),
            "401 bad_dpop_proof: typ",
        ),
        (
            "alg none",
            |f| f.proof().header("alg", "none").sign().unwrap(),
            "401 bad_dpop_proof: alg",
        ),
        (
            "alg HS256",
            |f| f.proof().header("alg", "HS256").sign().unwrap(),
            "401 bad_dpop_proof: alg",
        ),
        (
            "alg of another key type",
            |f| f.proof().header("alg", "RS256").sign().unwrap(),
            "401 bad_dpop_proof: alg",
        ),
        (
            "alg not allowed",
            |f| f.proof().header("alg", "ES512").sign().unwrap(),
            "401 bad_dpop_proof: alg",
        ),
        (
            "jwk missing",
            |f| f.proof().header("jwk", Value::Null).sign().unwrap(),
            "401 bad_dpop_proof: jwk",
        ),
        (
            "jwk with a private member",
            |f| {
                let mut jwk = f.key.public_jwk();
                jwk["d"] = "AAAA".into();
                f.proof().header("jwk", jwk).sign().unwrap()
            },
            "401 bad_dpop_proof: jwk",
        ),
        (
            "jwk symmetric",
            |f| {
                f.proof()
                    .header("jwk", json!({"kty": "oct", "k": "AAAA"}))
                    .sign()
                    .unwrap()
            },
            "401 bad_dpop_proof: jwk",
        ),
        (
            "jku",
            |f| {
                f.proof()
                    .header("jku", "https://evil.example/jwks")
                    .sign()
                    .unwrap()
            },
            "401 bad_dpop_proof: header",
        ),
        (
            "x5u",
            |f| {
                f.proof()
                    .header("x5u", "https://evil.example/c")
                    .sign()
                    .unwrap()
            },
            "401 bad_dpop_proof: header",
        ),
        (
            "x5c",
            |f| f.proof().header("x5c", json!(["AAAA"])).sign().unwrap(),
            "401 bad_dpop_proof: header",
        ),
        (
            "crit",
            |f| f.proof().header("crit", json!(["exp"])).sign().unwrap(),
            "401 bad_dpop_proof: header",
        ),
        (
            "signed by another key",
            |f| {
                let other = DpopKey::generate(Algorithm::ES256).unwrap();
                other
                    .proof("GET", URI)
                    .access_token(&f.token)
                    .header("jwk", f.key.public_jwk())
                    .sign()
                    .unwrap()
            },
            "401 bad_dpop_proof: signature",
        ),
        (
            "signature not base64url",
            |f| f.proof().raw_signature("!!").sign().unwrap(),
            "401 bad_dpop_proof: signature",
        ),
        (
            "htm other method",
            |f| f.proof().claim("htm", "POST").sign().unwrap(),
            "401 bad_dpop_proof: htm",
        ),
        (
            "htm lowercase",
            |f| f.proof().claim("htm", "get").sign().unwrap(),
            "401 bad_dpop_proof: htm",
        ),
        (
            "htm missing",
            |f| f.proof().claim("htm", Value::Null).sign().unwrap(),
            "401 bad_dpop_proof: htm",
        ),
        (
            "htu other path",
            |f| {
                f.proof()
                    .claim("htu", "https://api.example.com/admin")
                    .sign()
                    .unwrap()
            },
            "401 bad_dpop_proof: htu",
        ),
        (
            "htu other host",
            |f| {
                f.proof()
                    .claim("htu", "https://evil.example/users")
                    .sign()
                    .unwrap()
            },
            "401 bad_dpop_proof: htu",
        ),
        (
            "htu plain http",
            |f| {
                f.proof()
                    .claim("htu", "http://api.example.com/users")
                    .sign()
                    .unwrap()
            },
            "401 bad_dpop_proof: htu",
        ),
        (
            "htu relative",
            |f| f.proof().claim("htu", "/users").sign().unwrap(),
            "401 bad_dpop_proof: htu",
        ),
        (
            "iat too old",
            |f| f.proof().claim("iat", NOW - 61).sign().unwrap(),
            "401 bad_dpop_proof: iat",
        ),
        (
            "iat in the future",
            |f| f.proof().claim("iat", NOW + 11).sign().unwrap(),
            "401 bad_dpop_proof: iat",
        ),
        (
            "iat missing",
            |f| f.proof().claim("iat", Value::Null).sign().unwrap(),
            "401 bad_dpop_proof: iat",
        ),
        (
            "iat a string",
            |f| f.proof().claim("iat", "now").sign().unwrap(),
            "401 bad_dpop_proof: iat",
        ),
        (
            "jti missing",
            |f| f.proof().claim("jti", Value::Null).sign().unwrap(),
            "401 bad_dpop_proof: jti",
        ),
        (
            "jti empty",
            |f| f.proof().claim("jti", "").sign().unwrap(),
            "401 bad_dpop_proof: jti",
        ),
        (
            "jti too long",
            |f| f.proof().claim("jti", "j".repeat(257)).sign().unwrap(),
            "401 bad_dpop_proof: jti",
        ),
        (
            "ath missing",
            |f| f.key.proof("GET", URI).sign().unwrap(),
            "401 bad_dpop_proof: ath",
        ),
        (
            "ath of another token",
            |f| {
                f.key
                    .proof("GET", URI)
                    .access_token("other-token")
                    .sign()
                    .unwrap()
            },
            "401 bad_dpop_proof: ath",
        ),
        (
            "duplicate header member",
            |f| {
                let proof = f.proof().sign().unwrap();
                let mut parts = proof.split('.');
                let _ = parts.next();
                let claims = parts.next().unwrap();
                let header = base64_url(br#"{"typ":"dpop+jwt","typ":"dpop+jwt","alg":"ES256"}"#);
                format!("{header}.{claims}.AAAA")
            },
            "401 bad_dpop_proof: header",
        ),
    ];
    let mut failures = Vec::new();
    for (name, make, want) in &rows {
        let f = Fixture::new();
        let auth = f.authenticator(f.policy());
        let got = outcome(decide(&auth, dpop(&f.token, &make(&f))));
        if got != *want {
            failures.push(format!("{name}: want {want:?}, got {got:?}"));
        }
        // A refused proof never burns its jti; an accepted one is recorded.
        let recorded = if *want == "ok" { 1 } else { 0 };
        if f.store.len() != recorded {
            failures.push(format!("{name}: {} replay entries", f.store.len()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn the_dpop_header_must_appear_exactly_once() {
    let f = Fixture::new();
    let auth = f.authenticator(f.policy());
    let proof = f.proof().sign().unwrap();
    let none = vec![("authorization", format!("DPoP {}", f.token))];
    assert_eq!(outcome(decide(&auth, none)), "401 bad_dpop_proof: count");
    let mut twice = dpop(&f.token, &proof);
    twice.push(("dpop", proof.clone()));
    assert_eq!(outcome(decide(&auth, twice)), "401 bad_dpop_proof: count");
    assert!(f.store.is_empty());
}

#[test]
fn an_accepted_request_names_the_key() {
    let f = Fixture::new();
    let auth = f.authenticator(f.policy());
    let state = decide(&auth, dpop(&f.token, &f.proof().sign().unwrap())).unwrap();
    let principal = state.principal().unwrap();
    assert_eq!(principal.method(), AuthMethod::DpopJwt);
    assert_eq!(
        principal.binding(),
        &Binding::DpopKey {
            jkt: f.key.thumbprint()
        }
    );
    assert_eq!(principal.subject(), Some("test-user"));
}

#[test]
fn the_token_must_be_bound_to_the_proof_key() {
    let f = Fixture::new();
    let auth = f.authenticator(f.policy());
    let other = DpopKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_clock(f.clock.clone());
    // A valid proof by another key, for the token bound to f.key.
    let proof = other
        .proof("GET", URI)
        .access_token(&f.token)
        .sign()
        .unwrap();
    assert_eq!(
        outcome(decide(&auth, dpop(&f.token, &proof))),
        "401 confirmation_mismatch"
    );
    // A token bound to no key at all, with a valid proof.
    let unbound = f.issuer.token().sign().unwrap();
    let proof = f
        .key
        .proof("GET", URI)
        .access_token(&unbound)
        .sign()
        .unwrap();
    assert_eq!(
        outcome(decide(&auth, dpop(&unbound, &proof))),
        "401 confirmation_mismatch"
    );
    // An invalid token with a valid proof: the proof's jti stays unburnt either way.
    let expired = f
        .issuer
        .token()
        .claim("cnf", json!({"jkt": f.key.thumbprint()}))
        .expires_in(-3600)
        .sign()
        .unwrap();
    let proof = f
        .key
        .proof("GET", URI)
        .access_token(&expired)
        .sign()
        .unwrap();
    assert_eq!(
        outcome(decide(&auth, dpop(&expired, &proof))),
        "401 expired"
    );
    assert!(f.store.is_empty());
    // The bound token as Bearer: the §7.2 downgrade.
    let bearer = vec![("authorization", format!("Bearer {}", f.token))];
    assert_eq!(
        outcome(decide(&auth, bearer)),
        "401 unverified_confirmation"
    );
}

#[test]
fn a_proof_is_accepted_once() {
    let f = Fixture::new();
    let auth = f.authenticator(f.policy());
    let proof = f.proof().sign().unwrap();
    assert_eq!(outcome(decide(&auth, dpop(&f.token, &proof))), "ok");
    let replayed = decide(&auth, dpop(&f.token, &proof)).unwrap_err();
    assert_eq!(replayed.status, 401);
    let challenge = header(&replayed, "www-authenticate").unwrap();
    assert!(
        challenge.contains(r#"DPoP error="invalid_dpop_proof", error_description="dpop_replayed""#),
        "{challenge}"
    );
    // A fresh proof from the same key, and the same proof after its window, are new requests.
    assert_eq!(
        outcome(decide(&auth, dpop(&f.token, &f.proof().sign().unwrap()))),
        "ok"
    );
    f.clock.advance(71);
    assert_eq!(
        outcome(decide(&auth, dpop(&f.token, &proof))),
        "401 bad_dpop_proof: iat"
    );
}

#[test]
fn concurrent_replays_of_one_proof_find_one_acceptance() {
    let f = Fixture::new();
    let auth = Arc::new(f.authenticator(f.policy()));
    let proof = Arc::new(f.proof().sign().unwrap());
    let token = Arc::new(f.token.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let accepted = runtime.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (auth, proof, token) =
                    (Arc::clone(&auth), Arc::clone(&proof), Arc::clone(&token));
                tokio::spawn(async move {
                    let headers = HeaderList(dpop(&token, &proof));
                    let view = RequestView::new("GET", "/users", &headers)
                        .authority(Some("api.example.com"))
                        .secure(true);
                    auth.authenticate(&view).await.is_ok()
                })
            })
            .collect();
        let mut accepted = 0;
        for task in tasks {
            accepted += usize::from(task.await.unwrap());
        }
        accepted
    });
    assert_eq!(accepted, 1);
}

#[test]
fn modes_decide_which_schemes_work() {
    let f = Fixture::new();
    let plain = f.issuer.token().sign().unwrap();
    let bearer = || vec![("authorization", format!("Bearer {plain}"))];

    let allowed = f.authenticator(f.policy());
    assert_eq!(outcome(decide(&allowed, bearer())), "ok");
    let missing = decide(&allowed, vec![]).unwrap_err();
    assert_eq!(
        header(&missing, "www-authenticate"),
        Some(r#"Bearer, DPoP algs="RS256 PS256 ES256 ES384 EdDSA""#)
    );

    let required = f.authenticator(f.policy().mode(DpopMode::Required));
    let refused = decide(&required, bearer()).unwrap_err();
    assert_eq!(outcome(Err(refused.clone())), "401 dpop_required");
    let challenge = header(&refused, "www-authenticate").unwrap();
    assert!(
        challenge.starts_with("DPoP error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(!challenge.contains("Bearer"), "{challenge}");
    assert_eq!(
        outcome(decide(
            &required,
            dpop(&f.token, &f.proof().sign().unwrap())
        )),
        "ok"
    );

    let disabled = f.authenticator(f.policy().mode(DpopMode::Disabled));
    // The DPoP scheme is then unknown: no credential, and only Bearer is offered.
    let unknown = decide(&disabled, dpop(&f.token, &f.proof().sign().unwrap())).unwrap_err();
    assert_eq!(unknown.status, 401);
    assert_eq!(header(&unknown, "www-authenticate"), Some("Bearer"));
    assert_eq!(outcome(decide(&disabled, bearer())), "ok");
}

#[test]
fn a_full_or_failing_store_is_503_never_an_accept() {
    let f = Fixture::new();
    let auth = f.authenticator(
        f.policy().replay_store(
            MemoryReplayStore::new()
                .with_capacity(1)
                .with_clock(f.clock.clone()),
        ),
    );
    assert_eq!(
        outcome(decide(&auth, dpop(&f.token, &f.proof().sign().unwrap()))),
        "ok"
    );
    let full = decide(&auth, dpop(&f.token, &f.proof().sign().unwrap())).unwrap_err();
    assert_eq!(full.status, 503);
    assert_eq!(header(&full, "retry-after"), Some("1"));

    #[derive(Debug)]
    struct Down;
    impl ReplayStore for Down {
        fn insert_if_absent<'a>(&'a self, _: &'a ReplayKey, _: Duration) -> ReplayFuture<'a> {
            Box::pin(std::future::ready(Err(ReplayStoreError::Unavailable(
                "connection refused".into(),
            ))))
        }
    }
    let auth = f.authenticator(f.policy().replay_store(Down));
    let down = decide(&auth, dpop(&f.token, &f.proof().sign().unwrap())).unwrap_err();
    assert_eq!(down.status, 503);
    // A bearer request does not need the store.
    let plain = f.issuer.token().sign().unwrap();
    assert_eq!(
        outcome(decide(
            &auth,
            vec![("authorization", format!("Bearer {plain}"))]
        )),
        "ok"
    );
}

#[test]
fn policy_bounds_are_enforced() {
    assert!(DpopPolicy::default().max_age(Duration::ZERO).is_err());
    assert!(
        DpopPolicy::default()
            .max_age(Duration::from_secs(301))
            .is_err()
    );
    assert!(
        DpopPolicy::default()
            .max_age(Duration::from_secs(300))
            .is_ok()
    );
    assert!(
        DpopPolicy::default()
            .leeway(Duration::from_secs(61))
            .is_err()
    );
    assert!(DpopPolicy::default().algorithms([]).is_err());
    assert!(
        DpopPolicy::default()
            .algorithms([Algorithm::HS256])
            .is_err()
    );
    assert!(DpopPolicy::default().algorithms([Algorithm::EdDSA]).is_ok());
}

#[test]
fn an_issuer_can_require_or_refuse_dpop_for_its_tokens() {
    use portcullis_core::TrustedIssuer;
    let f = Fixture::new();
    let strict = f.issuer.clone().with_issuer("https://strict.example/");
    let legacy = f.issuer.clone().with_issuer("https://legacy.example/");
    let trust = |issuer: &TestIssuer, mode| {
        TrustedIssuer::new(issuer.issuer())
            .audience(issuer.audience())
            .key_source(issuer.static_jwks().unwrap())
            .dpop(mode)
    };
    let verifier = portcullis_core::Verifier::builder()
        .clock(f.clock.clone())
        .trust(trust(&strict, DpopMode::Required))
        .trust(trust(&legacy, DpopMode::Disabled))
        .build()
        .unwrap();
    let auth = Authenticator::new(verifier.clone())
        .dpop(f.policy())
        .challenge(ChallengeOptions::default().detailed(true));
    let bound = |issuer: &TestIssuer| {
        issuer
            .token()
            .claim("cnf", json!({"jkt": f.key.thumbprint()}))
            .sign()
            .unwrap()
    };
    let proof = |token: &str| f.key.proof("GET", URI).access_token(token).sign().unwrap();
    let bearer = |token: &str| vec![("authorization", format!("Bearer {token}"))];

    let strict_bound = bound(&strict);
    assert_eq!(
        outcome(decide(&auth, dpop(&strict_bound, &proof(&strict_bound)))),
        "ok"
    );
    let strict_plain = strict.token().sign().unwrap();
    assert_eq!(
        outcome(decide(&auth, bearer(&strict_plain))),
        "401 dpop_required"
    );
    // The verifier alone applies the issuer's rule too.
    let err = run(verifier.verify::<Value>(&strict_plain)).unwrap_err();
    assert_eq!(err.reason().code(), "dpop_required");

    let legacy_plain = legacy.token().sign().unwrap();
    assert_eq!(outcome(decide(&auth, bearer(&legacy_plain))), "ok");
    let legacy_bound = bound(&legacy);
    assert_eq!(
        outcome(decide(&auth, dpop(&legacy_bound, &proof(&legacy_bound)))),
        "401 dpop_not_allowed"
    );
    // Neither refusal burnt a jti.
    assert_eq!(f.store.len(), 1);
}

#[test]
fn an_issuer_mode_overrides_a_required_default() {
    use portcullis_core::TrustedIssuer;
    let f = Fixture::new();
    let open = f.issuer.clone().with_issuer("https://open.example/");
    let verifier = f
        .issuer
        .verifier()
        .unwrap()
        .trust(
            TrustedIssuer::new(open.issuer())
                .audience(open.audience())
                .key_source(open.static_jwks().unwrap())
                .dpop(DpopMode::Allowed),
        )
        .build()
        .unwrap();
    let auth = Authenticator::new(verifier)
        .dpop(f.policy().mode(DpopMode::Required))
        .challenge(ChallengeOptions::default().detailed(true));
    let bearer = |token: String| vec![("authorization", format!("Bearer {token}"))];
    assert_eq!(
        outcome(decide(&auth, bearer(open.token().sign().unwrap()))),
        "ok"
    );
    assert_eq!(
        outcome(decide(&auth, bearer(f.issuer.token().sign().unwrap()))),
        "401 dpop_required"
    );
}

fn nonces(id: u8, secret: u8) -> DpopNonces {
    DpopNonces::new(NonceKey::new(id, &[secret; 32]).unwrap())
}

/// Server nonces (RFC 9449 §8-9): no nonce, a forged one, one of another type, and an expired
/// one are each refused with the reason, `use_dpop_nonce` and the current nonce; a bad nonce
/// burns no `jti`; a nonce from an earlier period is accepted and renewed on the success.
#[test]
fn server_nonces_are_required_renewed_and_expire() {
    let f = Fixture::new();
    let auth = f.authenticator(f.policy().nonces(nonces(1, 7)));
    let Err(first) = decide(
        &auth,
        dpop(&f.token, &f.proof().claim("jti", "j-1").sign().unwrap()),
    ) else {
        panic!("a proof without a nonce is refused");
    };
    assert_eq!(first.status, 401);
    let challenge = header(&first, "www-authenticate").unwrap();
    assert!(
        challenge.contains("DPoP error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    assert!(challenge.contains("dpop_nonce_missing"), "{challenge}");
    let nonce = header(&first, "dpop-nonce").unwrap().to_owned();

    for (value, reason) in [
        (json!("forged"), "dpop_nonce_invalid"),
        (json!(42), "bad_dpop_proof: nonce"),
    ] {
        let proof = f
            .proof()
            .claim("jti", "j-1")
            .claim("nonce", value)
            .sign()
            .unwrap();
        let got = outcome(decide(&auth, dpop(&f.token, &proof)));
        assert!(got.starts_with("401") && got.contains(reason), "{got}");
    }
    // None of the refusals above recorded `j-1`.
    let proof = f
        .proof()
        .claim("jti", "j-1")
        .claim("nonce", nonce.as_str())
        .sign()
        .unwrap();
    let state = decide(&auth, dpop(&f.token, &proof)).unwrap();
    assert!(
        state.response_headers().is_empty(),
        "a current nonce is not renewed"
    );

    // One period (half the 120 s lifetime) later: accepted, and the answer carries a new one.
    f.clock.advance(60);
    let proof = f
        .proof()
        .claim("jti", "j-2")
        .claim("nonce", nonce.as_str())
        .sign()
        .unwrap();
    let state = decide(&auth, dpop(&f.token, &proof)).unwrap();
    let [("dpop-nonce", renewed)] = state.response_headers() else {
        panic!("no renewal: {:?}", state.response_headers());
    };
    assert_ne!(renewed, &nonce);

    f.clock.advance(61);
    let proof = f
        .proof()
        .claim("jti", "j-3")
        .claim("nonce", nonce.as_str())
        .sign()
        .unwrap();
    let got = outcome(decide(&auth, dpop(&f.token, &proof)));
    assert_eq!(got, "401 dpop_nonce_expired");
    let proof = f
        .proof()
        .claim("jti", "j-3")
        .claim("nonce", renewed.as_str())
        .sign()
        .unwrap();
    assert_eq!(outcome(decide(&auth, dpop(&f.token, &proof))), "ok");
}

/// The nonce comes on every 401 (so a Bearer caller refused under `Required` can send its first
/// proof with it), never on 400 or 503, and not at all while nonces are off.
#[test]
fn every_401_carries_the_nonce_when_nonces_are_on() {
    let f = Fixture::new();
    let with = f.authenticator(f.policy().mode(DpopMode::Required).nonces(nonces(1, 7)));
    let bearer = vec![("authorization", format!("Bearer {}", f.token))];
    let Err(refused) = decide(&with, bearer.clone()) else {
        panic!("bearer refused under Required");
    };
    assert!(header(&refused, "dpop-nonce").is_some());
    let Err(missing) = decide(&with, Vec::new()) else {
        panic!("no credential");
    };
    assert!(header(&missing, "dpop-nonce").is_some());
    let two = vec![
        ("authorization", format!("Bearer {}", f.token)),
        ("authorization", format!("Bearer {}", f.token)),
    ];
    let Err(malformed) = decide(&with, two) else {
        panic!("two credentials");
    };
    assert_eq!(malformed.status, 400);
    assert!(header(&malformed, "dpop-nonce").is_none());
    let without = f.authenticator(f.policy().mode(DpopMode::Required));
    let Err(refused) = decide(&without, bearer) else {
        panic!("bearer refused under Required");
    };
    assert!(header(&refused, "dpop-nonce").is_none());
}

/// During a key rotation, nonces of the previous key are still accepted and renewed at once to
/// the new key's.
#[test]
fn a_rotated_nonce_key_keeps_old_nonces_valid() {
    let f = Fixture::new();
    let old = f.authenticator(f.policy().nonces(nonces(1, 7)));
    let Err(first) = decide(&old, dpop(&f.token, &f.proof().sign().unwrap())) else {
        panic!("nonce needed");
    };
    let old_nonce = header(&first, "dpop-nonce").unwrap().to_owned();
    let rotated = nonces(2, 9)
        .also_accept(NonceKey::new(1, &[7; 32]).unwrap())
        .unwrap();
    let new = f.authenticator(f.policy().nonces(rotated));
    let proof = f.proof().claim("nonce", old_nonce.as_str()).sign().unwrap();
    let state = decide(&new, dpop(&f.token, &proof)).unwrap();
    assert_eq!(state.response_headers().len(), 1, "renewed to the new key");
    let dropped = f.authenticator(f.policy().nonces(nonces(2, 9)));
    let proof = f.proof().claim("nonce", old_nonce.as_str()).sign().unwrap();
    assert_eq!(
        outcome(decide(&dropped, dpop(&f.token, &proof))),
        "401 dpop_nonce_invalid"
    );
}

/// A proof key is parsed once per distinct header and reused; the reuse never skips the
/// signature, and a policy derived from this one (sharing what it parsed) still applies its own
/// algorithm list.
#[test]
fn a_reused_proof_key_still_needs_its_signature_and_the_allow_list() {
    let f = Fixture::new();
    let policy = f.policy();
    let auth = f.authenticator(policy.clone());
    assert_eq!(
        outcome(decide(&auth, dpop(&f.token, &f.proof().sign().unwrap()))),
        "ok"
    );
    // The same header, now known, with a forged signature.
    let forged = f
        .proof()
        .raw_signature(base64_url(&[7; 64]))
        .sign()
        .unwrap();
    assert_eq!(
        outcome(decide(&auth, dpop(&f.token, &forged))),
        "401 bad_dpop_proof: signature"
    );
    let narrowed = f.authenticator(policy.algorithms([Algorithm::EdDSA]).unwrap());
    assert_eq!(
        outcome(decide(
            &narrowed,
            dpop(&f.token, &f.proof().sign().unwrap())
        )),
        "401 bad_dpop_proof: alg"
    );
    assert_eq!(
        outcome(decide(&auth, dpop(&f.token, &f.proof().sign().unwrap()))),
        "ok"
    );
}
