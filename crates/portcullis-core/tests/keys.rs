//! Key-set loading: weak or hostile keys are refused one by one, with an audit event, and never
//! take the good keys down with them. Also the loopback JWKS/discovery server of the test kit.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::io::{Read, Write};

mod common;
use common::audit_log;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::testing::{KID_RSA, TestIssuer};
use portcullis_core::{KeySet, StaticJwks, Verifier};
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn hostile_keys_are_refused_individually() {
    let issuer = TestIssuer::new().expect("keys");
    let good = issuer.rsa_jwk();
    let n_1024 = {
        let mut n = vec![0xC3u8; 128];
        n[127] |= 1;
        n
    };
    let n_good = URL_SAFE_NO_PAD
        .decode(good["n"].as_str().expect("n"))
        .expect("b64");
    let jwks = issuer.jwks();
    let p256 = jwks["keys"][1].clone();
    let mut off_curve = p256.clone();
    off_curve["kid"] = json!("off-curve");
    let mut y = URL_SAFE_NO_PAD
        .decode(p256["y"].as_str().expect("y"))
        .expect("b64");
    y[31] ^= 1;
    off_curve["y"] = json!(b64(&y));

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "rsa-1024",
            json!({"kty":"RSA","kid":"rsa-1024","n": b64(&n_1024),"e":"AQAB"}),
            "rsa modulus under 2048 bits",
        ),
        (
            "rsa-e1",
            json!({"kty":"RSA","kid":"rsa-e1","n": b64(&n_good),"e":"AQ"}),
            "rsa exponent is even or below 3",
        ),
        (
            "rsa-e2",
            json!({"kty":"RSA","kid":"rsa-e2","n": b64(&n_good),"e":"Ag"}),
            "rsa exponent is even or below 3",
        ),
        (
            "rsa-even",
            json!({"kty":"RSA","kid":"rsa-even","n": b64(&n_good),"e":"AQAA"}),
            "rsa exponent is even or below 3",
        ),
        (
            "rsa-16k",
            json!({"kty":"RSA","kid":"rsa-16k","n": b64(&vec![0xFF; 2048]),"e":"AQAB"}),
            "rsa modulus over 8192 bits",
        ),
        ("off-curve", off_curve, "ec point not on its curve"),
        (
            "oct",
            json!({"kty":"oct","kid":"oct","k": b64(&[1; 32])}),
            "symmetric keys are never taken from a key set",
        ),
        (
            "enc",
            {
                let mut k = good.clone();
                k["kid"] = json!("enc");
                k["use"] = json!("enc");
                k
            },
            "not a signing key (use)",
        ),
        (
            "ops",
            {
                let mut k = good.clone();
                k["kid"] = json!("ops");
                k["key_ops"] = json!(["encrypt"]);
                k
            },
            "key_ops does not allow verify",
        ),
        (
            "alg-mismatch",
            {
                let mut k = good.clone();
                k["kid"] = json!("alg-mismatch");
                k["alg"] = json!("ES256");
                k
            },
            "alg does not match the key type",
        ),
        (
            "alg-unknown",
            {
                let mut k = good.clone();
                k["kid"] = json!("alg-unknown");
                k["alg"] = json!("RSA-OAEP");
                k
            },
            "unsupported alg",
        ),
        (
            "padded",
            {
                let mut k = good.clone();
                k["kid"] = json!("padded");
                k["e"] = json!("AQAB=");
                k
            },
            "key member is not strict base64url",
        ),
        (
            "short-x",
            json!({"kty":"EC","kid":"short-x","crv":"P-256","x": b64(&[1; 31]),"y": b64(&[1; 32])}),
            "ec coordinate has the wrong length",
        ),
        (
            "ed448",
            json!({"kty":"OKP","kid":"ed448","crv":"Ed448","x": b64(&[1; 57])}),
            "unsupported curve",
        ),
        ("no-kty", json!({"kid":"no-kty","n":"AQAB"}), "missing kty"),
    ];
    for (kid, bad, why) in &cases {
        let doc = json!({"keys": [bad, good]}).to_string();
        let (set, log) =
            audit_log(|| KeySet::from_jwks_json(doc.as_bytes()).expect("document is valid"));
        assert_eq!(
            set.kids().collect::<Vec<_>>(),
            vec![Some(KID_RSA)],
            "{kid}: only the good key survives"
        );
        assert!(
            log.contains("key_rejected") && log.contains(why) && log.contains(kid),
            "{kid}: audit log was {log:?}"
        );
    }
}

#[test]
fn key_set_documents() {
    for bad in [
        "[]",
        "{}",
        r#"{"keys":{}}"#,
        r#"{"keys":[],"keys":[]}"#,
        "not json",
    ] {
        assert!(KeySet::from_jwks_json(bad.as_bytes()).is_err(), "{bad}");
    }
    let empty =
        KeySet::from_jwks_json(br#"{"keys":[1,"x",{"kty":"oct","k":"AA"}]}"#).expect("document ok");
    assert!(empty.is_empty());
    assert!(
        StaticJwks::from_json(r#"{"keys":[]}"#).is_err(),
        "a static set without a usable key is a start-up error"
    );

    let issuer = TestIssuer::new().expect("keys");
    let many: Vec<Value> = (0..150)
        .map(|i| {
            let mut k = issuer.rsa_jwk();
            k["kid"] = json!(format!("k{i}"));
            k
        })
        .collect();
    let (set, log) = audit_log(|| {
        KeySet::from_jwks_json(json!({"keys": many}).to_string().as_bytes()).expect("ok")
    });
    assert_eq!(set.len(), portcullis_core::keys::MAX_KEYS);
    assert!(log.contains("key_set_truncated"));
    let again = KeySet::from_jwks_json(issuer.jwks().to_string().as_bytes()).expect("ok");
    assert_ne!(
        set.version(),
        again.version(),
        "every parse gets its own version"
    );
}

#[test]
fn from_file() {
    let issuer = TestIssuer::new().expect("keys");
    let path = std::env::temp_dir().join(format!("portcullis-jwks-{}.json", std::process::id()));
    std::fs::write(&path, issuer.jwks().to_string()).expect("write");
    let jwks = StaticJwks::from_file(&path).expect("load");
    std::fs::remove_file(&path).expect("cleanup");
    assert_eq!(
        jwks.key_set().len(),
        if portcullis_core::Algorithm::ES512.is_supported() {
            5
        } else {
            4
        }
    );
    assert!(StaticJwks::from_file(&path).is_err());
}

#[test]
fn audit_events_never_carry_the_token() {
    let issuer = TestIssuer::new().expect("keys");
    let verifier = issuer.verifier().expect("jwks").build().expect("config");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    let good = issuer.token().subject("alice").sign().expect("sign");
    let expired = issuer
        .token()
        .subject("bob\nforged=1")
        .expires_in(-3600)
        .sign()
        .expect("sign");
    let ((), log) = audit_log(|| {
        assert!(rt.block_on(verifier.verify::<Value>(&good)).is_ok());
        assert!(rt.block_on(verifier.verify::<Value>(&expired)).is_err());
    });
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("portcullis::audit"))
        .collect();
    assert_eq!(lines.len(), 2, "one event per decision: {log}");
    assert!(
        lines[0].contains("outcome=\"accept\"") && lines[0].contains("alice"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("outcome=\"reject\"")
            && lines[1].contains("reason=\"expired\"")
            && lines[1].contains("verified=false"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("bob?forged=1"),
        "control characters are neutralised: {}",
        lines[1]
    );
    for token in [&good, &expired] {
        for part in token.split('.') {
            assert!(
                !log.contains(part),
                "the audit log contains a token segment"
            );
        }
    }
}

/// A plain HTTP/1.1 GET over loopback, so the test talks to the real server socket.
fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_issuer_serves_discovery_and_jwks() {
    let (issuer, server) = TestIssuer::serve().await.expect("serve");
    assert!(server.addr().ip().is_loopback());
    assert_eq!(issuer.issuer(), server.base_url());
    let addr = server.addr();

    let (status, body) =
        tokio::task::spawn_blocking(move || http_get(addr, "/.well-known/openid-configuration"))
            .await
            .expect("join");
    assert_eq!(status, 200);
    let discovery: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(discovery["issuer"], json!(issuer.issuer()));
    assert_eq!(discovery["jwks_uri"], json!(server.jwks_url()));

    let (status, body) = tokio::task::spawn_blocking(move || http_get(addr, "/jwks.json"))
        .await
        .expect("join");
    assert_eq!(status, 200);
    assert_eq!(server.jwks_requests(), 1);
    let verifier = Verifier::builder()
        .issuer(issuer.issuer())
        .audience(issuer.audience())
        .key_source(StaticJwks::from_json(&body).expect("served jwks parses"))
        .build()
        .expect("config");
    let token = issuer.token().sign().expect("sign");
    assert!(verifier.verify::<Value>(&token).await.is_ok());

    server.set_jwks(json!({"keys": []}));
    let (_, body) = tokio::task::spawn_blocking(move || http_get(addr, "/jwks.json"))
        .await
        .expect("join");
    assert_eq!(body, r#"{"keys":[]}"#);
    assert_eq!(server.jwks_requests(), 2);

    drop(server);
    let refused = tokio::task::spawn_blocking(move || {
        for _ in 0..50 {
            if std::net::TcpStream::connect(addr).is_err() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        false
    });
    assert!(
        refused.await.expect("join"),
        "the server stops when its handle drops"
    );
}
