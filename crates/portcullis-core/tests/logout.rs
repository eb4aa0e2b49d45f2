//! The back-channel logout receiver: a valid logout token revokes its session (or subject) and
//! the access tokens of it are then refused; forged, replayed, nonce-carrying, `events`-less,
//! long-lived, and access or ID tokens presented as logout tokens are 400 and revoke nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use portcullis_core::logout::{BACKCHANNEL_LOGOUT_EVENT, BackChannelLogout, LogoutError};
use portcullis_core::revocation::{RevocationKind, Revocations};
use portcullis_core::testing::{TestIssuer, TokenBuilder};
use portcullis_core::{Reason, Verifier};
use serde_json::{Value, json};

const CLIENT: &str = "web-app";
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

struct Setup {
    issuer: TestIssuer,
    revocations: Revocations,
    logout: BackChannelLogout,
    api: Verifier,
}

async fn setup() -> Setup {
    let issuer = TestIssuer::new().unwrap();
    let revocations = Revocations::builder().start().await.unwrap();
    let logout = BackChannelLogout::builder(issuer.issuer(), CLIENT, revocations.clone())
        .key_source(issuer.static_jwks().unwrap())
        .build()
        .unwrap();
    let api = issuer
        .verifier()
        .unwrap()
        .revocations(revocations.clone())
        .build()
        .unwrap();
    Setup {
        issuer,
        revocations,
        logout,
        api,
    }
}

/// A logout token as oidc-provider sends one.
fn logout_token(issuer: &TestIssuer) -> TokenBuilder<'_> {
    issuer
        .token()
        .header("typ", "logout+jwt")
        .audience(CLIENT)
        .expires_in(120)
        .claim("events", json!({ BACKCHANNEL_LOGOUT_EVENT: {} }))
        .claim("sid", "s-1")
}

fn form(token: &str) -> Vec<u8> {
    format!("logout_token={token}").into_bytes()
}

async fn refused(s: &Setup, token: &str) -> Reason {
    let answer = s.logout.respond(FORM, &form(token)).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .headers
            .contains(&("cache-control", "no-store".to_owned()))
    );
    match s.logout.receive(FORM, &form(token)).await {
        Err(LogoutError::InvalidToken(reason)) => reason,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_logout_token_revokes_its_session_everywhere_the_revocations_reach() {
    let s = setup().await;
    let access = s.issuer.token().claim("sid", "s-1").sign().unwrap();
    let other_session = s.issuer.token().claim("sid", "s-2").sign().unwrap();
    assert!(s.api.verify::<Value>(&access).await.is_ok());
    let token = logout_token(&s.issuer).sign().unwrap();
    let answer = s.logout.respond(FORM, &form(&token)).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .headers
            .contains(&("cache-control", "no-store".to_owned()))
    );
    assert_eq!(
        s.api.verify::<Value>(&access).await.unwrap_err().reason(),
        Reason::Revoked
    );
    assert!(s.api.verify::<Value>(&other_session).await.is_ok());
    // The same logout token again: its jti was used.
    assert_eq!(refused(&s, &token).await, Reason::TokenReplayed);
}

#[tokio::test]
async fn a_logout_token_without_sid_revokes_the_subject() {
    let s = setup().await;
    let access = s.issuer.token().subject("alice").sign().unwrap();
    let token = logout_token(&s.issuer)
        .without_claim("sid")
        .subject("alice")
        .sign()
        .unwrap();
    assert_eq!(
        s.logout.receive(FORM, &form(&token)).await.unwrap(),
        RevocationKind::Subject
    );
    assert_eq!(
        s.api.verify::<Value>(&access).await.unwrap_err().reason(),
        Reason::Revoked
    );
}

/// Providers typed logout tokens `JWT` (or not at all) before explicit typing was common:
/// Keycloak before 25, authentik before 2025.12.
#[tokio::test]
async fn logout_tokens_typed_jwt_or_untyped_are_accepted() {
    let s = setup().await;
    for (n, typ) in [Some("JWT"), None].into_iter().enumerate() {
        let sid = format!("s-{n}");
        let access = s.issuer.token().claim("sid", sid.as_str()).sign().unwrap();
        let token = logout_token(&s.issuer)
            .claim("sid", sid.as_str())
            .header("typ", typ.map_or(Value::Null, Value::from))
            .sign()
            .unwrap();
        assert_eq!(
            s.logout.receive(FORM, &form(&token)).await.unwrap(),
            RevocationKind::Session,
            "{typ:?}"
        );
        assert_eq!(
            s.api.verify::<Value>(&access).await.unwrap_err().reason(),
            Reason::Revoked,
            "{typ:?}"
        );
    }
}

#[tokio::test]
async fn what_is_not_a_logout_token_is_400_and_revokes_nothing() {
    let s = setup().await;
    let i = &s.issuer;
    let forged = {
        let good = logout_token(i).sign().unwrap();
        let (signing_input, _) = good.rsplit_once('.').unwrap();
        let other = logout_token(i).claim("sid", "s-9").sign().unwrap();
        format!("{signing_input}.{}", other.rsplit_once('.').unwrap().1)
    };
    let cases: Vec<(&str, String, Reason)> = vec![
        ("forged", forged, Reason::BadSignature),
        (
            "nonce",
            logout_token(i).claim("nonce", "n").sign().unwrap(),
            Reason::BadClaim("nonce"),
        ),
        (
            "no events",
            logout_token(i).without_claim("events").sign().unwrap(),
            Reason::MissingClaim("events"),
        ),
        (
            "events without the member",
            logout_token(i)
                .claim("events", json!({"other": {}}))
                .sign()
                .unwrap(),
            Reason::BadClaim("events"),
        ),
        (
            "the member not an object",
            logout_token(i)
                .claim("events", json!({ BACKCHANNEL_LOGOUT_EVENT: true }))
                .sign()
                .unwrap(),
            Reason::BadClaim("events"),
        ),
        (
            "an access token",
            i.token()
                .audience(CLIENT)
                .expires_in(120)
                .claim("events", json!({ BACKCHANNEL_LOGOUT_EVENT: {} }))
                .claim("sid", "s-1")
                .sign()
                .unwrap(),
            Reason::BadType,
        ),
        (
            "an ID token",
            logout_token(i)
                .header("typ", "JWT")
                .claim("nonce", "n")
                .sign()
                .unwrap(),
            Reason::BadClaim("nonce"),
        ),
        (
            "an ID token without a nonce",
            logout_token(i)
                .header("typ", "JWT")
                .without_claim("events")
                .sign()
                .unwrap(),
            Reason::MissingClaim("events"),
        ),
        (
            "another kind of JWT",
            logout_token(i)
                .header("typ", "secevent+jwt")
                .sign()
                .unwrap(),
            Reason::BadType,
        ),
        (
            "another client",
            logout_token(i).audience("other-app").sign().unwrap(),
            Reason::BadAudience,
        ),
        (
            "long-lived",
            logout_token(i).expires_in(3600).sign().unwrap(),
            Reason::LifetimeTooLong,
        ),
        (
            "neither sid nor sub",
            logout_token(i)
                .without_claim("sid")
                .without_claim("sub")
                .sign()
                .unwrap(),
            Reason::MissingClaim("sid"),
        ),
        (
            "no jti",
            logout_token(i).without_claim("jti").sign().unwrap(),
            Reason::MissingClaim("jti"),
        ),
        (
            "no iat",
            logout_token(i).without_claim("iat").sign().unwrap(),
            Reason::MissingClaim("iat"),
        ),
        (
            "expired",
            logout_token(i).expires_in(-120).sign().unwrap(),
            Reason::Expired,
        ),
    ];
    for (what, token, reason) in cases {
        assert_eq!(refused(&s, &token).await, reason, "{what}");
    }
    for (content_type, body) in [
        (Some("application/json"), form("a.b.c")),
        (FORM, b"token=a.b.c".to_vec()),
        (FORM, b"logout_token=a&logout_token=b".to_vec()),
    ] {
        let answer = s.logout.respond(content_type, &body).await;
        assert_eq!(answer.status, 400);
        assert_eq!(answer.body, br#"{"error":"invalid_request"}"#);
    }
    assert!(s.revocations.is_empty(), "nothing was revoked");
}

#[tokio::test]
async fn a_bad_lifetime_bound_is_refused_at_build() {
    let issuer = TestIssuer::new().unwrap();
    let revocations = Revocations::builder().start().await.unwrap();
    for lifetime in [0, 3601] {
        let built = BackChannelLogout::builder(issuer.issuer(), CLIENT, revocations.clone())
            .key_source(issuer.static_jwks().unwrap())
            .max_lifetime(std::time::Duration::from_secs(lifetime))
            .build();
        assert!(built.is_err(), "{lifetime}");
    }
    let no_keys = BackChannelLogout::builder(issuer.issuer(), CLIENT, revocations).build();
    assert!(no_keys.is_err());
}
