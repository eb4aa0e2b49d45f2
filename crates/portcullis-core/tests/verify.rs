//! The verification rules of DESIGN §2, one table row per rule, accept and reject, with the reason
//! code asserted. Runs once per crypto backend (see `.ci/run`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::clock::ManualClock;
use portcullis_core::testing::{KID_P256, KID_RSA, TestIssuer, TokenBuilder};
use portcullis_core::token::TypPolicy;
use portcullis_core::{Algorithm, AuthError, ConfigError, StaticJwks, Verifier};
use secrecy::SecretBox;
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000;

static ISSUER: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new().expect("test keys"));

fn clock() -> ManualClock {
    ManualClock::new(NOW)
}

fn issuer() -> TestIssuer {
    ISSUER.clone().with_clock(clock())
}

fn verifier() -> Verifier {
    builder().build().expect("valid config")
}

fn builder() -> portcullis_core::VerifierBuilder {
    issuer().verifier().expect("jwks")
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn check(v: &Verifier, token: &str) -> Result<Value, String> {
    run(v.verify::<Value>(token))
        .map(|ok| ok.into_claims())
        .map_err(|e| e.reason().code().to_owned())
}

type Case = (
    &'static str,
    fn(TokenBuilder<'_>) -> TokenBuilder<'_>,
    Option<&'static str>,
);

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

#[test]
fn rules_table() {
    let i = issuer();
    let v = verifier();
    let cases: Vec<Case> = vec![
        // accepted
        ("rs256", |t| t, None),
        ("rs384", |t| t.alg(Algorithm::RS384), None),
        ("rs512", |t| t.alg(Algorithm::RS512), None),
        ("ps256", |t| t.alg(Algorithm::PS256), None),
        ("ps384", |t| t.alg(Algorithm::PS384), None),
        ("ps512", |t| t.alg(Algorithm::PS512), None),
        ("es256", |t| t.alg(Algorithm::ES256), None),
        ("es384", |t| t.alg(Algorithm::ES384), None),
        ("eddsa", |t| t.alg(Algorithm::EdDSA), None),
        (
            "aud array containing ours",
            |t| t.audience(json!(["other", "https://api.portcullis.test"])),
            None,
        ),
        ("typ absent", |t| t.header("typ", Value::Null), None),
        ("typ JWT", |t| t.header("typ", "JWT"), None),
        (
            "typ application/at+jwt",
            |t| t.header("typ", "application/AT+JWT"),
            None,
        ),
        (
            "no kid, one compatible key",
            |t| t.alg(Algorithm::ES256).without_kid(),
            None,
        ),
        ("expired within leeway", |t| t.claim("exp", NOW - 30), None),
        ("nbf within leeway", |t| t.claim("nbf", NOW + 30), None),
        ("iat within leeway", |t| t.claim("iat", NOW + 30), None),
        (
            "fractional exp",
            |t| t.claim("exp", NOW as f64 + 100.5),
            None,
        ),
        (
            "jku/x5u/jwk/x5c ignored",
            |t| {
                t.header("jku", "https://evil.example/jwks")
                    .header("x5u", "https://evil.example/c")
                    .header("x5c", json!(["AAAA"]))
            },
            None,
        ),
        // header policy
        ("alg none", |t| t.header("alg", "none"), Some("alg_none")),
        ("alg NONE", |t| t.header("alg", "NONE"), Some("alg_none")),
        ("alg nOnE", |t| t.header("alg", "nOnE"), Some("alg_none")),
        (
            "alg unknown",
            |t| t.header("alg", "RS1"),
            Some("alg_not_allowed"),
        ),
        (
            "alg lowercase",
            |t| t.header("alg", "rs256"),
            Some("alg_not_allowed"),
        ),
        (
            "alg missing",
            |t| t.header("alg", Value::Null),
            Some("alg_not_allowed"),
        ),
        (
            "alg not a string",
            |t| t.header("alg", 256),
            Some("bad_header"),
        ),
        (
            "hmac without configured secret",
            |t| t.alg(Algorithm::HS256).hmac_secret(&[7; 32]),
            Some("alg_not_allowed"),
        ),
        (
            "crit",
            |t| t.header("crit", json!(["exp"])).header("exp", 1),
            Some("crit_unsupported"),
        ),
        (
            "crit b64",
            |t| t.header("crit", json!(["b64"])).header("b64", false),
            Some("crit_unsupported"),
        ),
        (
            "typ dpop+jwt",
            |t| t.header("typ", "dpop+jwt"),
            Some("bad_typ"),
        ),
        (
            "typ logout+jwt",
            |t| t.header("typ", "application/logout+jwt"),
            Some("bad_typ"),
        ),
        (
            "kid not a string",
            |t| t.header("kid", 5),
            Some("bad_header"),
        ),
        ("zip", |t| t.header("zip", "DEF"), Some("bad_header")),
        // keys
        ("unknown kid", |t| t.kid("nobody"), Some("unknown_key")),
        (
            "kid of another key type",
            |t| t.alg(Algorithm::ES256).kid(KID_RSA),
            Some("key_mismatch"),
        ),
        (
            "ec key, wrong curve alg",
            |t| t.alg(Algorithm::ES384).kid(KID_P256),
            Some("key_mismatch"),
        ),
        (
            "embedded jwk with attacker kid",
            |t| {
                t.kid("attacker")
                    .header("jwk", json!({"kty":"oct","k":"AAAA"}))
            },
            Some("unknown_key"),
        ),
        (
            "PSS signature under RS256 header",
            |t| t.alg(Algorithm::PS256).header("alg", "RS256"),
            Some("bad_signature"),
        ),
        (
            "RS256 signature under PS256 header",
            |t| t.header("alg", "PS256"),
            Some("bad_signature"),
        ),
        (
            "forged signature",
            |t| t.raw_signature(URL_SAFE_NO_PAD.encode([0u8; 256])),
            Some("bad_signature"),
        ),
        // encoding
        (
            "duplicate header member",
            |t| t.raw_header_json(r#"{"alg":"RS256","kid":"rsa-2048","alg":"RS256"}"#),
            Some("duplicate_member"),
        ),
        (
            "duplicate claim",
            |t| {
                t.raw_claims_json(format!(
                    r#"{{"iss":"{0}","iss":"{0}","aud":"https://api.portcullis.test","exp":{1}}}"#,
                    "https://issuer.portcullis.test/",
                    NOW + 60
                ))
            },
            Some("duplicate_member"),
        ),
        (
            "duplicate nested claim",
            |t| {
                t.raw_claims_json(format!(r#"{{"iss":"https://issuer.portcullis.test/","aud":"https://api.portcullis.test","exp":{NOW},"realm_access":{{"roles":[],"roles":["admin"]}}}}"#))
            },
            Some("duplicate_member"),
        ),
        (
            "header is an array",
            |t| t.raw_header_json("[]"),
            Some("bad_json"),
        ),
        (
            "claims are a string",
            |t| t.raw_claims_json("\"hello\""),
            Some("bad_json"),
        ),
        (
            "claims not JSON",
            |t| t.raw_claims_json("{not json"),
            Some("bad_json"),
        ),
        (
            "signature with padding",
            |t| t.raw_signature("AAAA="),
            Some("bad_base64"),
        ),
        (
            "signature with + and /",
            |t| t.raw_signature("ab+/"),
            Some("bad_base64"),
        ),
        // claims
        ("expired", |t| t.claim("exp", NOW - 61), Some("expired")),
        (
            "expired exactly at leeway edge",
            |t| t.claim("exp", NOW - 60),
            Some("expired"),
        ),
        (
            "exp missing",
            |t| t.without_claim("exp"),
            Some("missing_claim"),
        ),
        (
            "exp as string",
            |t| t.claim("exp", (NOW + 60).to_string()),
            Some("bad_claim"),
        ),
        ("exp negative", |t| t.claim("exp", -1), Some("bad_claim")),
        ("exp absurd", |t| t.claim("exp", 1e20), Some("bad_claim")),
        (
            "nbf in future",
            |t| t.claim("nbf", NOW + 61),
            Some("not_yet_valid"),
        ),
        ("nbf as string", |t| t.claim("nbf", "0"), Some("bad_claim")),
        (
            "iat in future",
            |t| t.claim("iat", NOW + 61),
            Some("issued_in_future"),
        ),
        (
            "iss missing",
            |t| t.without_claim("iss"),
            Some("missing_claim"),
        ),
        (
            "iss other",
            |t| t.issuer("https://evil.example/"),
            Some("bad_issuer"),
        ),
        (
            "iss without trailing slash",
            |t| t.issuer("https://issuer.portcullis.test"),
            Some("bad_issuer"),
        ),
        (
            "iss not a string",
            |t| t.claim("iss", json!(["https://issuer.portcullis.test/"])),
            Some("bad_claim"),
        ),
        (
            "aud missing",
            |t| t.without_claim("aud"),
            Some("missing_claim"),
        ),
        (
            "aud other",
            |t| t.audience("https://other-api"),
            Some("bad_audience"),
        ),
        (
            "aud empty array",
            |t| t.audience(json!([])),
            Some("missing_claim"),
        ),
        (
            "aud with a non-string member",
            |t| t.audience(json!(["https://api.portcullis.test", 1])),
            Some("bad_claim"),
        ),
        (
            "sub not a string",
            |t| t.claim("sub", 42),
            Some("bad_claim"),
        ),
        (
            "client_id not a string",
            |t| t.claim("client_id", true),
            Some("bad_claim"),
        ),
        // sender-constrained tokens presented as Bearer (RFC 9449 §7.2 downgrade)
        (
            "cnf.jkt as Bearer",
            |t| {
                t.claim(
                    "cnf",
                    json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
                )
            },
            Some("unverified_confirmation"),
        ),
        (
            "cnf.x5t#S256 as Bearer",
            |t| {
                t.claim(
                    "cnf",
                    json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
                )
            },
            Some("unverified_confirmation"),
        ),
        (
            "cnf.jwk",
            |t| {
                t.claim(
                    "cnf",
                    json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA"}}),
                )
            },
            Some("unverified_confirmation"),
        ),
        (
            "cnf with two methods",
            |t| t.claim("cnf", json!({"jkt": "a", "x5t#S256": "b"})),
            Some("unverified_confirmation"),
        ),
        (
            "cnf empty object",
            |t| t.claim("cnf", json!({})),
            Some("unverified_confirmation"),
        ),
        (
            "cnf not an object",
            |t| t.claim("cnf", "jkt"),
            Some("unverified_confirmation"),
        ),
        (
            "cnf.jkt not a string",
            |t| t.claim("cnf", json!({"jkt": 7})),
            Some("unverified_confirmation"),
        ),
    ];
    let mut failures = Vec::new();
    for (name, make, want) in &cases {
        let token = make(i.token()).sign().expect("sign");
        let got = check(&v, &token);
        let ok = match (want, &got) {
            (None, Ok(_)) => true,
            (Some(code), Err(got)) => code == got,
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_bound_token_is_refused_as_bearer_on_a_cache_hit_too() {
    let i = issuer();
    let v = builder()
        .token_cache(portcullis_core::TokenCache::new())
        .build()
        .expect("config");
    let bound = i
        .token()
        .claim(
            "cnf",
            json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
        )
        .sign()
        .expect("sign");
    let plain = i.token().sign().expect("sign");
    for _ in 0..3 {
        assert_eq!(check(&v, &bound), Err("unverified_confirmation".to_owned()));
        let err = run(v.authenticate(&bound)).expect_err("bound token as bearer");
        assert_eq!(err.status(), 401);
        assert!(check(&v, &plain).is_ok());
    }
    // Both verifications are cached (the bound token's signature was good), so the later rounds
    // were cache hits: the presentation is checked on every request, never cached.
    assert_eq!(v.token_cache_usage().expect("cache on").entries, 2);
}

#[test]
fn es512_follows_the_backend() {
    let t = issuer().token().alg(Algorithm::ES512).sign().expect("sign");
    if Algorithm::ES512.is_supported() {
        assert_eq!(check(&verifier(), &t).map(|_| ()), Ok(()));
    } else {
        assert_eq!(check(&verifier(), &t).unwrap_err(), "alg_not_allowed");
        let err = builder()
            .algorithms([Algorithm::ES512])
            .build()
            .unwrap_err();
        assert!(
            matches!(err, ConfigError::UnsupportedAlgorithm("ES512")),
            "{err}"
        );
    }
}

#[test]
fn compact_shape_and_size() {
    let v = verifier();
    let good = issuer().token().sign().expect("sign");
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        (format!("{}.{}", parts[0], parts[1]), "malformed"),
        (format!("{good}.{}", parts[2]), "malformed"),
        (format!("{}.{}.", parts[0], parts[1]), "malformed"),
        (format!(" {good}"), "bad_base64"),
        (
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            "bad_base64",
        ),
        (
            format!("{}.{}\n.{}", parts[0], parts[1], parts[2]),
            "bad_base64",
        ),
        (String::new(), "malformed"),
        ("x".repeat(16 * 1024 + 1), "token_too_large"),
    ];
    for (token, want) in cases {
        assert_eq!(
            check(&v, &token).unwrap_err(),
            want,
            "{:?}",
            token.get(..40)
        );
    }
    // The cap is configurable and applies before decoding.
    let small = builder().max_token_len(256).build().expect("config");
    assert_eq!(check(&small, &good).unwrap_err(), "token_too_large");
    // alg "none" with an empty signature never gets as far as the header.
    let unsigned = format!("{}.{}.", b64(r#"{"alg":"none"}"#), parts[1]);
    assert_eq!(check(&v, &unsigned).unwrap_err(), "malformed");
}

#[test]
fn require_at_jwt() {
    let v = builder().require_at_jwt().build().expect("config");
    let i = issuer();
    assert!(check(&v, &i.token().sign().expect("sign")).is_ok());
    assert_eq!(
        check(&v, &i.token().header("typ", "JWT").sign().expect("sign")).unwrap_err(),
        "bad_typ"
    );
    assert_eq!(
        check(
            &v,
            &i.token().header("typ", Value::Null).sign().expect("sign")
        )
        .unwrap_err(),
        "bad_typ"
    );
    let relaxed = builder()
        .typ(TypPolicy::AccessTokenOrJwt)
        .build()
        .expect("config");
    assert!(
        check(
            &relaxed,
            &i.token().header("typ", "JWT").sign().expect("sign")
        )
        .is_ok()
    );
}

#[test]
fn algorithm_allow_list() {
    let only_es = builder()
        .algorithms([Algorithm::ES256])
        .build()
        .expect("config");
    let i = issuer();
    assert!(
        check(
            &only_es,
            &i.token().alg(Algorithm::ES256).sign().expect("sign")
        )
        .is_ok()
    );
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::EdDSA,
        Algorithm::ES384,
    ] {
        assert_eq!(
            check(&only_es, &i.token().alg(alg).sign().expect("sign")).unwrap_err(),
            "alg_not_allowed",
            "{alg}"
        );
    }
}

#[test]
fn hmac_only_through_an_explicit_secret() {
    let i = issuer();
    let secret = [42u8; 32];
    let v = Verifier::builder()
        .issuer(i.issuer())
        .audience(i.audience())
        .clock(clock())
        .shared_secret(Algorithm::HS256, SecretBox::new(Box::new(secret)))
        .build()
        .expect("config");
    assert!(
        check(
            &v,
            &i.token()
                .alg(Algorithm::HS256)
                .hmac_secret(&secret)
                .sign()
                .expect("sign")
        )
        .is_ok()
    );
    assert_eq!(
        check(
            &v,
            &i.token()
                .alg(Algorithm::HS256)
                .hmac_secret(&[1; 32])
                .sign()
                .expect("sign")
        )
        .unwrap_err(),
        "bad_signature"
    );
    assert_eq!(
        check(
            &v,
            &i.token()
                .alg(Algorithm::HS384)
                .hmac_secret(&[42; 48])
                .sign()
                .expect("sign")
        )
        .unwrap_err(),
        "alg_not_allowed"
    );
    // With only a secret configured, asymmetric tokens are outside the allow-list.
    assert_eq!(
        check(&v, &i.token().sign().expect("sign")).unwrap_err(),
        "alg_not_allowed"
    );

    // The RS256 -> HS256 confusion: an HMAC keyed with the public key's bytes must not verify,
    // whether or not the verifier also has a secret.
    let rsa = i.rsa_jwk();
    let public_n = URL_SAFE_NO_PAD
        .decode(rsa["n"].as_str().expect("n"))
        .expect("b64");
    let confused = i
        .token()
        .alg(Algorithm::HS256)
        .hmac_secret(&public_n)
        .sign()
        .expect("sign");
    assert_eq!(
        check(&verifier(), &confused).unwrap_err(),
        "alg_not_allowed"
    );
    assert_eq!(check(&v, &confused).unwrap_err(), "bad_signature");
    let jwks_bytes = i.jwks().to_string();
    let confused = i
        .token()
        .alg(Algorithm::HS256)
        .hmac_secret(jwks_bytes.as_bytes())
        .sign()
        .expect("sign");
    assert_eq!(
        check(&verifier(), &confused).unwrap_err(),
        "alg_not_allowed"
    );
}

#[test]
fn builder_refuses_nonsense() {
    let i = issuer();
    let base = || Verifier::builder().key_source(i.static_jwks().expect("jwks"));
    assert!(matches!(
        base().audience("a").build(),
        Err(ConfigError::MissingIssuer)
    ));
    assert!(matches!(
        base().issuer("").audience("a").build(),
        Err(ConfigError::MissingIssuer)
    ));
    assert!(matches!(
        base().issuer("i").build(),
        Err(ConfigError::MissingAudience)
    ));
    assert!(matches!(
        base().issuer("i").audience("").build(),
        Err(ConfigError::MissingAudience)
    ));
    assert!(matches!(
        Verifier::builder().issuer("i").audience("a").build(),
        Err(ConfigError::MissingKeySource)
    ));
    assert!(matches!(
        base().issuer("i").audience("a").algorithms([]).build(),
        Err(ConfigError::NoAlgorithms)
    ));
    assert!(matches!(
        base()
            .issuer("i")
            .audience("a")
            .leeway(Duration::from_secs(301))
            .build(),
        Err(ConfigError::InvalidValue { name: "leeway", .. })
    ));
    assert!(matches!(
        base().issuer("i").audience("a").max_token_len(10).build(),
        Err(ConfigError::InvalidValue {
            name: "max_token_len",
            ..
        })
    ));
    assert!(matches!(
        base()
            .issuer("i")
            .audience("a")
            .algorithms([Algorithm::HS256])
            .build(),
        Err(ConfigError::HmacWithoutSecret)
    ));
    let short = Verifier::builder()
        .issuer("i")
        .audience("a")
        .shared_secret(Algorithm::HS256, SecretBox::new(Box::new([0u8; 31])));
    assert!(matches!(
        short.build(),
        Err(ConfigError::SecretTooShort {
            alg: "HS256",
            min: 32
        })
    ));
    let short = Verifier::builder()
        .issuer("i")
        .audience("a")
        .shared_secret(Algorithm::HS512, SecretBox::new(Box::new([0u8; 63])));
    assert!(matches!(
        short.build(),
        Err(ConfigError::SecretTooShort {
            alg: "HS512",
            min: 64
        })
    ));
    // The secret never shows in Debug output.
    let b = Verifier::builder().shared_secret(
        Algorithm::HS256,
        SecretBox::new(Box::new(*b"super-secret-value-0123456789abcd")),
    );
    assert!(!format!("{b:?}").contains("super-secret"));
    let v = b.issuer("i").audience("a").build().expect("config");
    assert!(!format!("{v:?}").contains("super-secret"));
}

#[test]
fn leeway_and_missing_exp_are_configurable() {
    let i = issuer();
    let strict = builder().leeway(Duration::ZERO).build().expect("config");
    assert_eq!(
        check(&strict, &i.token().claim("exp", NOW).sign().expect("sign")).unwrap_err(),
        "expired"
    );
    assert!(
        check(
            &strict,
            &i.token().claim("exp", NOW + 1).sign().expect("sign")
        )
        .is_ok()
    );
    let no_exp = i.token().without_claim("exp").sign().expect("sign");
    assert_eq!(check(&verifier(), &no_exp).unwrap_err(), "missing_claim");
    let lax = builder()
        .dangerous_allow_missing_exp()
        .build()
        .expect("config");
    assert!(check(&lax, &no_exp).is_ok());
}

#[test]
fn required_claims() {
    let v = builder()
        .require_claim("client_id")
        .build()
        .expect("config");
    let i = issuer();
    assert_eq!(
        check(&v, &i.token().sign().expect("sign")).unwrap_err(),
        "missing_claim"
    );
    assert_eq!(
        check(
            &v,
            &i.token()
                .claim("client_id", Value::Null)
                .sign()
                .expect("sign")
        )
        .unwrap_err(),
        "missing_claim"
    );
    assert!(
        check(
            &v,
            &i.token().claim("client_id", "svc").sign().expect("sign")
        )
        .is_ok()
    );
}

#[test]
fn typed_claims_and_accessors() {
    #[derive(serde::Deserialize, Debug)]
    struct Mine {
        sub: String,
        tenant: String,
    }
    let i = issuer();
    let v = verifier();
    let token = i
        .token()
        .subject("alice")
        .claim("tenant", "acme")
        .claim("client_id", "web")
        .scope("read:users write:users")
        .sign()
        .expect("sign");
    let ok = run(v.verify::<Mine>(&token)).expect("valid");
    assert_eq!(
        (ok.claims().sub.as_str(), ok.claims().tenant.as_str()),
        ("alice", "acme")
    );
    assert_eq!(ok.issuer(), i.issuer());
    assert_eq!(ok.subject(), Some("alice"));
    assert_eq!(ok.audiences().collect::<Vec<_>>(), vec![i.audience()]);
    assert_eq!(ok.expires_at(), Some(NOW + 600));
    assert_eq!(ok.issued_at(), Some(NOW));
    assert_eq!(ok.client_id(), Some("web"));
    assert!(ok.jwt_id().is_some());
    assert_eq!(
        ok.scopes().collect::<Vec<_>>(),
        ["read:users", "write:users"]
    );
    assert!(ok.has_scope("read:users") && !ok.has_scope("read"));
    assert_eq!(ok.raw_claims()["tenant"], json!("acme"));
    assert_eq!(ok.raw_claims().len(), 9);
    assert_eq!(
        (ok.kid(), ok.alg(), ok.typ()),
        (Some(KID_RSA), Some(Algorithm::RS256), Some("at+jwt"))
    );
    let missing_tenant = i.token().sign().expect("sign");
    let err = run(v.verify::<Mine>(&missing_tenant)).unwrap_err();
    assert_eq!(
        err,
        AuthError::InvalidToken(portcullis_core::Reason::ClaimsType)
    );
}

#[test]
fn ambiguous_kidless_token() {
    let i = issuer();
    let mut second = i.rsa_jwk();
    second["kid"] = json!("rsa-copy");
    let jwks = json!({"keys": [i.rsa_jwk(), second]});
    let v = Verifier::builder()
        .issuer(i.issuer())
        .audience(i.audience())
        .clock(clock())
        .key_source(StaticJwks::from_json(jwks.to_string()).expect("jwks"))
        .build()
        .expect("config");
    assert_eq!(
        check(&v, &i.token().without_kid().sign().expect("sign")).unwrap_err(),
        "ambiguous_key"
    );
    assert!(check(&v, &i.token().kid("rsa-copy").sign().expect("sign")).is_ok());
}

#[test]
fn signature_from_another_issuer_key_is_rejected() {
    let other = TestIssuer::new()
        .expect("keys")
        .with_issuer(ISSUER.issuer())
        .with_clock(clock());
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let forged = other.token().alg(alg).sign().expect("sign");
        assert_eq!(
            check(&verifier(), &forged).unwrap_err(),
            "bad_signature",
            "{alg}"
        );
    }
}

#[test]
fn same_token_verifies_on_every_clone_and_thread() {
    let v = verifier();
    let token = issuer().token().sign().expect("sign");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (v, token) = (v.clone(), token.clone());
            std::thread::spawn(move || check(&v, &token).is_ok())
        })
        .collect();
    for h in handles {
        assert!(h.join().expect("thread"));
    }
}

#[test]
fn tokens_from_jsonwebtoken_verify() {
    // An independent signer: jsonwebtoken with aws-lc-rs, through its explicit provider API.
    use jsonwebtoken::{EncodingKey, Header, encode};
    let i = issuer();
    let der = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .expect("keygen");
    let pkcs8 = der.to_pkcs8v1().expect("pkcs8");
    let public = aws_lc_rs::signature::KeyPair::public_key(&der)
        .as_ref()
        .to_vec();
    let jwk = json!({"kty":"EC","crv":"P-256","kid":"jwt-rs","x": URL_SAFE_NO_PAD.encode(&public[1..33]),"y": URL_SAFE_NO_PAD.encode(&public[33..])});
    let v = Verifier::builder()
        .issuer(i.issuer())
        .audience(i.audience())
        .clock(clock())
        .key_source(StaticJwks::from_json(json!({"keys":[jwk]}).to_string()).expect("jwks"))
        .build()
        .expect("config");
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("jwt-rs".into());
    let claims = json!({"iss": i.issuer(), "aud": i.audience(), "sub": "x", "exp": NOW + 60});
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
    let token =
        encode(&header, &claims, &EncodingKey::from_ec_der(pkcs8.as_ref())).expect("encode");
    assert!(check(&v, &token).is_ok(), "{:?}", check(&v, &token));
}

#[test]
fn verifier_is_cheap_to_share() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Verifier>();
    shareable::<StaticJwks>();
    // A clone shares the policy: one allocation, not a copy of the key set.
    let v = verifier();
    assert!(std::mem::size_of_val(&v) <= std::mem::size_of::<usize>());
}
