//! Entry points for the fuzz targets (`fuzz/`) and for the corpus replay test that runs them on
//! stable. Not an API: hidden, behind the `fuzzing` feature. Each function feeds one parser that
//! sees untrusted input and checks invariants beyond "no panic" with `assert!` (a failed
//! invariant is a fuzzer crash).

// Panicking is how a fuzz target reports a broken invariant; this module is test tooling.
#![allow(clippy::panic)]

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use serde_json::Value;

use crate::authz::Requirement;
use crate::challenge::{Challenge, ChallengeOptions};
use crate::clock::ManualClock;
use crate::credential::{BearerRules, RequestParts};
use crate::crypto::HmacKey;
use crate::keys::{KeySet, StaticJwks};
use crate::token::{Algorithm, Header, TypPolicy};
use crate::verifier::{TrustedIssuer, Verifier};

mod json_oracle;
mod structured;

/// The fixed time of the fuzz verifier (2027-01-15).
pub const NOW: u64 = 1_800_000_000;
/// Issuer of the fixed key set.
pub const ISSUER: &str = "https://issuer.fuzz/";
/// Audience of the fixed verifier.
pub const AUDIENCE: &str = "https://api.fuzz";

/// A second issuer, trusted with an HS256 secret: structure-aware inputs can sign validly with it
/// in a microsecond, so they reach the claims checks that follow the signature.
pub const HMAC_ISSUER: &str = "https://hmac.fuzz/";
const HMAC_SECRET: &[u8; 32] = b"portcullis-fuzz-hs256-secret-32b";

/// A fixed JWKS with every key family (the same one the seed tokens are signed with).
pub const JWKS: &str = include_str!("../../../../fuzz/keys/jwks.json");

fn poll_now<F: Future>(f: F) -> Option<F::Output> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let keys = StaticJwks::from_json(JWKS).unwrap_or_else(|e| panic!("fuzz JWKS: {e}"));
        Verifier::builder()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .clock(ManualClock::new(NOW))
            .key_source(keys)
            .trust(
                TrustedIssuer::new(HMAC_ISSUER)
                    .audience(AUDIENCE)
                    .shared_secret(
                        Algorithm::HS256,
                        secrecy::SecretBox::new(Box::<[u8]>::from(&HMAC_SECRET[..])),
                    ),
            )
            .build()
            .unwrap_or_else(|e| panic!("fuzz verifier: {e}"))
    })
}

/// A compact token through the full `Verifier::verify`. Invariants: a token that verifies has
/// `exp` after now minus leeway and round-trips to the same claims; its twin with one signature
/// bit flipped never verifies; every rejection renders a valid challenge.
pub fn verify(data: &[u8]) {
    if let Ok(token) = std::str::from_utf8(data) {
        check_token(token);
    }
}

/// [`verify`]'s invariants for one token; whether it was accepted.
fn check_token(token: &str) -> bool {
    let Some(outcome) = poll_now(verifier().verify::<Value>(token)) else {
        panic!("a static key source never waits");
    };
    match outcome {
        Ok(verified) => {
            let exp = verified.expires_at().unwrap_or(0);
            assert!(exp.saturating_add(60) > NOW, "accepted an expired token");
            let again: Value = verified
                .typed::<Value>()
                .map(|v| v.into_claims())
                .unwrap_or(Value::Null);
            assert_eq!(&again, verified.claims(), "claims do not round-trip");
            assert!([ISSUER, HMAC_ISSUER].contains(&verified.issuer()));
            if let Some((input, signature)) = token.rsplit_once('.') {
                let mut twin = signature.as_bytes().to_vec();
                if let Some(first) = twin.first_mut() {
                    *first = if *first == b'A' { b'B' } else { b'A' };
                }
                let twin = format!("{input}.{}", String::from_utf8_lossy(&twin));
                let twin_outcome = poll_now(verifier().verify::<Value>(&twin));
                assert!(
                    !matches!(twin_outcome, Some(Ok(_))),
                    "a token with an altered signature verified"
                );
            }
            true
        }
        Err(error) => {
            let c = Challenge::from_error(&error, &ChallengeOptions::default());
            if let Some(header) = c.www_authenticate {
                assert!(
                    header
                        .bytes()
                        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)),
                    "invalid header value"
                );
            }
            false
        }
    }
}

/// A token assembled from structured parts (`arbitrary`): JSON members the parsers care about,
/// times near the fixed clock, and a valid HS256 signature when asked, so inputs get past
/// base64 and the signature to the claims checks. Invariants: [`verify`]'s, plus nothing is
/// accepted unless it carries the real HS256 signature of its signing input.
pub fn verify_structured(data: &[u8]) {
    let Ok(shape) = arbitrary::Unstructured::new(data).arbitrary::<structured::Shape>() else {
        return;
    };
    let (token, signed) = shape.assemble(|input| {
        HmacKey::new(Algorithm::HS256, HMAC_SECRET)
            .map(|key| key.sign(input))
            .unwrap_or_default()
    });
    if check_token(&token) {
        assert!(signed, "accepted a token without the issuer's signature");
    }
}

/// An OIDC / RFC 8414 metadata document, after an optional first line naming the expected
/// issuer. Invariant: what the strict reader accepts, serde_json reads the same way (the issuer
/// named, the same `jwks_uri`).
pub fn discovery(data: &[u8]) {
    let mut lines = data.splitn(2, |b| *b == b'\n');
    let (issuer, document) = match (lines.next(), lines.next()) {
        (Some(first), Some(rest)) => match std::str::from_utf8(first) {
            Ok(issuer) => (issuer, rest),
            Err(_) => return,
        },
        _ => (ISSUER, data),
    };
    if let Ok(uri) = crate::keys::metadata::endpoint(document, issuer, "jwks_uri") {
        let doc: Value = serde_json::from_slice(document)
            .unwrap_or_else(|e| panic!("accepted what serde_json refuses: {e}"));
        assert_eq!(doc.get("issuer").and_then(Value::as_str), Some(issuer));
        assert_eq!(doc.get("jwks_uri").and_then(Value::as_str), Some(&*uri));
    }
}

/// Any text through the strict JSON scanner behind every header and claims set, held to
/// `serde_json` driving the same events (`json_oracle`). Invariants: both accept exactly the
/// same objects with the same events (floats bit for bit: both round correctly), and a text the oracle refuses for a repeated member name is refused
/// for that reason.
pub fn json_scan(data: &[u8]) {
    use crate::error::Reason;
    use crate::json::{Event, Tape};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let same = |a: &Event<'_>, b: &Event<'_>| match (a, b) {
        (Event::F64(x), Event::F64(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    };
    match (Tape::parse(text), json_oracle::parse(text)) {
        (Ok(tape), Ok(expected)) => {
            let events = tape.events();
            assert!(
                events.len() == expected.len()
                    && events.iter().zip(&expected).all(|(a, b)| same(a, b)),
                "scanner and serde_json disagree on {text:?}: {events:?} vs {expected:?}"
            );
        }
        (Ok(tape), Err(duplicate)) => panic!(
            "scanner accepted what serde_json refuses (duplicate: {duplicate}): {text:?} -> {:?}",
            tape.events()
        ),
        (Err(reason), Ok(expected)) => assert!(
            reason == Reason::BadJson && !matches!(expected.first(), Some(Event::Map { .. })),
            "scanner refused ({reason:?}) what serde_json accepts: {text:?}"
        ),
        (Err(reason), Err(duplicate)) => assert_eq!(
            reason == Reason::DuplicateMember,
            duplicate,
            "scanner and serde_json refuse {text:?} for different reasons"
        ),
    }
}

/// Any text through the strict base64url decoders every token segment goes through (SIMD, from
/// `base64-simd`), held to the `base64` crate's `URL_SAFE_NO_PAD` (strict: canonical trailing
/// bits, no padding). Invariant: the same bytes, or an error from both; the signature decoder
/// agrees up to its bound and refuses only past it.
pub fn base64url(data: &[u8]) {
    use base64::Engine as _;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = crate::token::compact::decode(text).ok();
    let reference = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok();
    assert_eq!(ours, reference, "base64url decoders disagree on {text:?}");
    let mut buf = crate::token::compact::signature_buf();
    match crate::token::compact::decode_signature(text, &mut buf) {
        Ok(bytes) => assert_eq!(Some(bytes), reference.as_deref(), "{text:?}"),
        Err(crate::error::Reason::BadSignature) => assert!(
            text.len() > (crate::token::compact::MAX_SIGNATURE_BYTES * 4).div_ceil(3),
            "signature bound on {text:?}"
        ),
        Err(_) => assert_eq!(reference, None, "{text:?}"),
    }
}

/// A JOSE header object.
pub fn header(data: &[u8]) {
    let _ = Header::from_json(data, TypPolicy::AccessTokenOrJwt);
    let _ = Header::from_json(data, TypPolicy::RequireAtJwt);
}

/// A JWK Set document. Invariant: a set never holds more than `MAX_KEYS` keys.
pub fn jwks(data: &[u8]) {
    if let Ok(set) = KeySet::from_jwks_json(data) {
        assert!(set.len() <= crate::keys::MAX_KEYS);
    }
}

/// A requirement configuration document. Invariant: what loads serializes and loads back to the
/// same configuration.
pub fn requirement_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(requirement) = Requirement::from_json(text) {
        let json = requirement
            .to_json()
            .unwrap_or_else(|e| panic!("loaded but not serializable: {e}"));
        let again =
            Requirement::from_json(&json.to_string()).unwrap_or_else(|e| panic!("round trip: {e}"));
        assert_eq!(again.to_json().ok(), Some(json));
    }
}

/// The first line is a requirement configuration, the rest a claims object; evaluated against a
/// verified token carrying those claims is too slow for a fuzzer, so this checks the evaluation
/// directly. Invariants: `not` inverts; `any_of([r])` and `all_of([r])` equal `r`.
pub fn requirement_eval(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (config, claims) = text.split_once('\n').unwrap_or((text, "{}"));
    let (Ok(requirement), Ok(Value::Object(claims))) = (
        Requirement::from_json(config),
        serde_json::from_str::<Value>(claims),
    ) else {
        return;
    };
    let subject = Claims(Arc::new(claims));
    let holds = |r: &Requirement| r.holds(&subject);
    let r = holds(&requirement);
    assert_eq!(holds(&crate::authz::not(requirement.clone())), !r);
    assert_eq!(holds(&crate::authz::any_of([requirement.clone()])), r);
    assert_eq!(holds(&crate::authz::all_of([requirement.clone()])), r);
    let _ = requirement.scope_hint();
}

struct Claims(Arc<serde_json::Map<String, Value>>);

impl crate::authz::requirement::Subject for Claims {
    fn has_scope(&self, scope: &str) -> bool {
        let claim = self.0.get("scope").or_else(|| self.0.get("scp"));
        match claim {
            Some(Value::String(s)) => s.split(' ').any(|s| s == scope),
            Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(scope)),
            _ => false,
        }
    }

    fn claims(&self) -> &serde_json::Map<String, Value> {
        &self.0
    }
}

/// An HTTP request's credential sources: lines are `Authorization` values, a `?` line is the
/// query, a `cookie:` line a Cookie header. Invariant: an extracted token is a non-empty
/// token68 that appears in the input.
pub fn credential(data: &[u8]) {
    let mut authorization = Vec::new();
    let mut cookies = Vec::new();
    let mut query = None;
    for line in data.split(|b| *b == b'\n') {
        if let Some(q) = line.strip_prefix(b"?") {
            query = std::str::from_utf8(q).ok();
        } else if let Some(c) = line.strip_prefix(b"cookie:") {
            cookies.push(c);
        } else {
            authorization.push(line);
        }
    }
    let parts = RequestParts {
        authorization: &authorization,
        query,
        cookies: &cookies,
    };
    for rules in [
        BearerRules::default(),
        BearerRules::default().allow_query().cookie("session"),
    ] {
        if let Ok(Some(token)) = rules.extract(&parts) {
            assert!(!token.is_empty() && !token.contains(' '));
            assert!(data.windows(token.len()).any(|w| w == token.as_bytes()));
        }
    }
}

/// A token endpoint's answer, read as a token response and as an error response. Invariant:
/// what is accepted is what serde_json reads: the same `access_token`, a Bearer `token_type`.
pub fn token_response(data: &[u8]) {
    let _ = crate::oauth_response::error_answer(data);
    if let Ok(answer) = crate::oauth_response::token_answer(data, false) {
        let doc: Value = serde_json::from_slice(data)
            .unwrap_or_else(|e| panic!("accepted what serde_json refuses: {e}"));
        assert_eq!(
            doc.get("access_token").and_then(Value::as_str),
            Some(&*answer.access_token)
        );
        assert!(!answer.access_token.is_empty());
        assert!(
            doc.get("token_type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
        );
    }
}

/// A protected resource's metadata document (for a fixed resource) and a `WWW-Authenticate`
/// value, read as a client discovering the resource reads them. Invariants: an accepted
/// document is one serde_json reads with exactly that `resource` and the same non-empty
/// `authorization_servers`; a pointer found in the text is no longer than the text.
pub fn resource_metadata(data: &[u8]) {
    const RESOURCE: &str = "https://api.example.com/mcp";
    if let Ok(answer) = crate::oauth_response::resource_answer(data, RESOURCE) {
        let doc: Value = serde_json::from_slice(data)
            .unwrap_or_else(|e| panic!("accepted what serde_json refuses: {e}"));
        assert_eq!(doc.get("resource").and_then(Value::as_str), Some(RESOURCE));
        let servers: Vec<&str> = doc
            .get("authorization_servers")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert!(!answer.authorization_servers.is_empty());
        assert_eq!(answer.authorization_servers, servers);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(pointer) = crate::challenge::metadata_pointer(text)
    {
        assert!(pointer.len() <= text.len());
    }
}

/// An introspection answer. Invariant: "active" only when serde_json reads `active: true` and
/// a Bearer `token_type` (or none, when not required) or a DPoP one with a `cnf.jkt` string; and
/// requiring the type never makes more answers active.
pub fn introspection_response(data: &[u8]) {
    use crate::oauth_response::{Introspected, introspection_answer};
    let strict = matches!(
        introspection_answer(data, true),
        Ok(Introspected::Active(_))
    );
    let lenient = matches!(
        introspection_answer(data, false),
        Ok(Introspected::Active(_))
    );
    assert!(!strict || lenient, "requiring token_type accepted more");
    if lenient {
        let doc: Value = serde_json::from_slice(data)
            .unwrap_or_else(|e| panic!("accepted what serde_json refuses: {e}"));
        assert_eq!(doc.get("active"), Some(&Value::Bool(true)));
        match doc.get("token_type") {
            Some(Value::String(t)) if t.eq_ignore_ascii_case("dpop") => {
                assert!(
                    doc.get("cnf")
                        .and_then(|c| c.get("jkt"))
                        .is_some_and(Value::is_string),
                    "a DPoP token without cnf.jkt"
                );
            }
            Some(Value::String(t)) => assert!(t.eq_ignore_ascii_case("bearer")),
            Some(_) => panic!("a non-string token_type was accepted"),
            None => assert!(!strict, "no token_type accepted under the strict rule"),
        }
    }
}

/// The access token and URI the fuzzed DPoP proofs are checked against.
const DPOP_TOKEN: &str = "fuzz-access-token";
const DPOP_HTU: &str = "https://api.fuzz/resource";

/// A DPoP proof checked against a fixed request. The first byte picks the shape: even, the rest
/// is the proof text; odd, the rest is a claims set signed here with a fixed Ed25519 key (so
/// mutations reach the claim rules past the signature). Invariants: a rejection names a proof
/// rule; an accepted proof names its key by a 43-character thumbprint, carries a bounded `jti`,
/// and is refused for any other method, URI or access token.
pub fn dpop_proof(data: &[u8]) {
    use crate::dpop::{DpopPolicy, MAX_JTI_LEN};
    use crate::error::{AuthError, Reason};
    let Some((shape, rest)) = data.split_first() else {
        return;
    };
    let proof = if shape % 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        signed_proof(&String::from_utf8_lossy(rest))
    };
    let policy = DpopPolicy::default();
    let check = |method: &str, htu: &str| {
        let (scheme, rest) = htu.split_once("://").unwrap_or_default();
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let scheme = if scheme == "https" { "https" } else { "http" };
        let target = crate::request::EffectiveUri::from_parts(scheme, authority, path)
            .as_ref()
            .and_then(crate::dpop::htu::Target::new);
        let target = target.unwrap_or_else(|| unreachable!("the fixed URIs normalise"));
        policy.check(&proof, method, &target, NOW)
    };
    let digest = |token: &str| crate::crypto::sha256(token.as_bytes());
    match check("GET", DPOP_HTU) {
        Ok(accepted) if accepted.check_ath(&digest(DPOP_TOKEN)).is_ok() => {
            assert_eq!(accepted.jkt.len(), 43);
            assert!(!accepted.jti.is_empty() && accepted.jti.len() <= MAX_JTI_LEN);
            assert!(check("POST", DPOP_HTU).is_err());
            assert!(check("GET", "https://api.fuzz/other").is_err());
            assert!(check("GET", "http://api.fuzz/resource").is_err());
            assert!(accepted.check_ath(&digest("another-token")).is_err());
        }
        Ok(_) => {}
        Err(error) => assert!(
            matches!(error, AuthError::InvalidDpopProof(Reason::BadDpopProof(_))),
            "not a proof rule: {error}"
        ),
    }
}

/// `claims` as a proof signed by a fixed Ed25519 key (deterministic signatures).
fn signed_proof(claims: &str) -> String {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    static KEY: OnceLock<Option<Ed25519KeyPair>> = OnceLock::new();
    let Some(key) = KEY.get_or_init(|| Ed25519KeyPair::from_seed_unchecked(&[7; 32]).ok()) else {
        return String::new();
    };
    let jwk = serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(key.public_key().as_ref()),
    });
    let header = serde_json::json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).as_ref());
    format!("{input}.{signature}")
}

/// A DPoP server nonce checked. Invariants: arbitrary text is refused as invalid (never
/// accepted, never a panic); a nonce minted here opens as current, and any one-byte change to
/// it (other than in the base64url padding bits) is refused.
pub fn dpop_nonce(data: &[u8]) {
    use crate::dpop::{DpopNonces, NonceKey};
    use crate::error::Reason;
    static NONCES: OnceLock<Option<DpopNonces>> = OnceLock::new();
    let Some(nonces) = NONCES.get_or_init(|| NonceKey::new(1, &[7; 32]).ok().map(DpopNonces::new))
    else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    assert_eq!(
        nonces.check(&text, NOW, 5),
        Err(Reason::DpopNonceInvalid),
        "accepted arbitrary text"
    );
    let Some(nonce) = nonces.current(NOW) else {
        return;
    };
    assert_eq!(
        nonces.check(&nonce, NOW, 5),
        Ok(crate::dpop::nonce::NonceCheck::Current)
    );
    let mut bytes = nonce.as_bytes().to_vec();
    let (Some(&at), Some(&flip)) = (data.first(), data.get(1)) else {
        return;
    };
    // The last character carries padding bits; every other one is significant.
    let index = usize::from(at) % (bytes.len() - 1);
    if let Some(b) = bytes.get_mut(index) {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let replacement = alphabet.get(usize::from(flip) % alphabet.len()).copied();
        match replacement {
            Some(r) if r != *b => *b = r,
            _ => return,
        }
    }
    let altered = String::from_utf8_lossy(&bytes);
    assert!(
        nonces.check(&altered, NOW, 5).is_err(),
        "altered nonce accepted"
    );
}

/// An `htu` normalised. Invariants: the normal form is an `http`/`https` URI without query or
/// fragment, normalising it again changes nothing, and it is no longer than the input plus the
/// `/` an empty path gains.
pub fn htu(data: &[u8]) {
    let Ok(uri) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(normal) = crate::dpop::htu::normalize(uri) {
        assert!(normal.starts_with("https://") || normal.starts_with("http://"));
        assert!(!normal.contains(['?', '#']));
        assert!(normal.len() <= uri.len() + 1, "{uri:?} grew to {normal:?}");
        assert_eq!(
            crate::dpop::htu::normalize(&normal).as_deref(),
            Some(normal.as_str()),
            "not idempotent"
        );
    }
}

/// A revocation announcement (or member) from a store: parsing never panics, what parses is
/// within the bounds every revocation keeps, and printing it again gives the same text (one
/// spelling per revocation, so a store's set never holds two of one).
pub fn revocation_wire(data: &[u8]) {
    use crate::revocation::{MAX_ISSUER_LEN, MAX_VALUE_LEN, Revocation};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(revocation) = Revocation::from_announcement(text) {
        assert!(!revocation.issuer().is_empty() && revocation.issuer().len() <= MAX_ISSUER_LEN);
        assert!(!revocation.value().is_empty() && revocation.value().len() <= MAX_VALUE_LEN);
        assert_eq!(
            revocation.to_announcement().as_deref(),
            Some(text),
            "not canonical"
        );
    }
    if let Ok(revocation) = Revocation::from_member(text, NOW) {
        assert_eq!(revocation.to_member(), text, "not canonical");
        assert_eq!(revocation.expiry(), Some(NOW));
    }
}

/// A back-channel logout request body: the form reader never panics and finds a non-empty token
/// no longer than the body; the whole receiver (against the fixed JWKS) never accepts what it
/// was sent, since nothing here is signed by the issuer.
pub fn logout_form(data: &[u8]) {
    use crate::logout::BackChannelLogout;
    use crate::revocation::Revocations;
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    if let Ok(token) = crate::logout::logout_token(FORM, data) {
        assert!(!token.is_empty() && token.len() <= data.len());
    }
    static RECEIVER: OnceLock<Option<(BackChannelLogout, Revocations)>> = OnceLock::new();
    let Some((receiver, revocations)) = RECEIVER.get_or_init(|| {
        let revocations = poll_now(Revocations::builder().start())?.ok()?;
        let keys = StaticJwks::from_json(JWKS).ok()?;
        let receiver = BackChannelLogout::builder(ISSUER, AUDIENCE, revocations.clone())
            .key_source(keys)
            .clock(ManualClock::new(NOW))
            .build()
            .ok()?;
        Some((receiver, revocations))
    }) else {
        return;
    };
    if let Some(answer) = poll_now(receiver.respond(FORM, data)) {
        assert_eq!(answer.status, 400, "an unsigned logout was not refused");
    }
    assert!(revocations.is_empty(), "a fuzz input revoked something");
}
