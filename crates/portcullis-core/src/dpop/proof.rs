//! One DPoP proof (RFC 9449 §4.2) checked against the request it came with (§4.3), every rule
//! failing closed. The replay check is not here: it runs last, in the authenticator, once the
//! access token has been verified too, so a proof that fails anything never records its `jti`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::htu;
use super::thumbprint::jkt;
use crate::crypto::sha256;
use crate::error::Reason;
use crate::json::parse_object;
use crate::keys::jwk;
use crate::token::alg::AlgorithmSet;
use crate::token::{Algorithm, compact};

/// The longest proof read (8 KiB): a proof carries its public key, and an RSA-8192 key plus
/// its signature fit with room to spare; anything longer is refused before decoding.
pub const MAX_PROOF_LEN: usize = 8192;

/// The longest `jti` accepted (256 bytes): far above a UUID or 32 random bytes in base64url,
/// and a bound on what a client makes the server hash per proof.
pub const MAX_JTI_LEN: usize = 256;

/// JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1): a
/// proof's key must be public (RFC 9449 §4.2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof that passed every rule except the replay check.
#[derive(Debug, Clone)]
pub(crate) struct CheckedProof {
    /// The RFC 7638 thumbprint of the proof key: what `cnf.jkt` must name.
    pub(crate) jkt: String,
    pub(crate) jti: String,
    /// The `nonce` claim, checked by the policy when server nonces are on.
    pub(crate) nonce: Option<String>,
    /// Whether the response should carry a fresh `DPoP-Nonce`.
    pub(crate) renew_nonce: bool,
}

/// What a proof is checked against.
pub(crate) struct Expected<'a> {
    /// The request method, as sent (`htm` is compared case-sensitively: methods are).
    pub(crate) method: &'a str,
    /// The effective request URI in [`htu::normalize`]d form.
    pub(crate) htu: &'a str,
    /// The access token presented with the proof (`ath` is its SHA-256).
    pub(crate) access_token: &'a str,
    /// Now, in seconds since the epoch.
    pub(crate) now: u64,
    /// Oldest accepted `iat`, in seconds before `now`.
    pub(crate) max_age: u64,
    /// Latest accepted `iat`, in seconds after `now` (client clock skew).
    pub(crate) leeway: u64,
    pub(crate) algorithms: AlgorithmSet,
}

fn bad(rule: &'static str) -> Reason {
    Reason::BadDpopProof(rule)
}

/// Checks `proof` against `expected`; the reason names the first rule it broke.
pub(crate) fn check(proof: &str, expected: &Expected<'_>) -> Result<CheckedProof, Reason> {
    let parts = compact::split(proof, MAX_PROOF_LEN).map_err(|r| match r {
        Reason::TokenTooLarge => bad("size"),
        _ => bad("form"),
    })?;
    let header = compact::decode(parts.header)
        .ok()
        .and_then(|bytes| parse_object(&bytes).ok())
        .ok_or(bad("header"))?;
    let (alg, key, jkt) = header_key(&header, expected.algorithms)?;
    let signature = compact::decode(parts.signature).map_err(|_| bad("signature"))?;
    if !key
        .key
        .verify(alg, parts.signing_input.as_bytes(), &signature)
    {
        return Err(bad("signature"));
    }
    let claims = compact::decode(parts.claims)
        .ok()
        .and_then(|bytes| parse_object(&bytes).ok())
        .ok_or(bad("claims"))?;
    let jti = claims_match(&claims, expected)?;
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) => Some(nonce.clone()),
        Some(_) => return Err(bad("nonce")),
    };
    Ok(CheckedProof {
        jkt,
        jti: jti.to_owned(),
        nonce,
        renew_nonce: false,
    })
}

/// `typ`, `alg` and the embedded public key (§4.3 steps 4-7), with the key's thumbprint.
fn header_key(
    header: &Map<String, Value>,
    algorithms: AlgorithmSet,
) -> Result<(Algorithm, jwk::Jwk, String), Reason> {
    match header.get("typ").and_then(Value::as_str) {
        Some(typ) if typ.eq_ignore_ascii_case("dpop+jwt") => {}
        _ => return Err(bad("typ")),
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Algorithm::from_name)
        .filter(|a| !a.is_hmac() && algorithms.contains(*a))
        .ok_or(bad("alg"))?;
    // No extension is understood, and a key found by reference would let the proof choose
    // where its key comes from.
    if ["crit", "jku", "x5u", "x5c"]
        .iter()
        .any(|name| header.contains_key(*name))
    {
        return Err(bad("header"));
    }
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(bad("jwk"))?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(bad("jwk"));
    }
    let key = jwk::parse(jwk).map_err(|_| bad("jwk"))?;
    if !key.accepts(alg) {
        return Err(bad("alg"));
    }
    let jkt = jkt(jwk).ok_or(bad("jwk"))?;
    Ok((alg, key, jkt))
}

/// `jti`, `htm`, `htu`, `iat` and `ath` (§4.3 steps 8-12); the `jti` on success.
fn claims_match<'c>(
    claims: &'c Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<&'c str, Reason> {
    let text = |name: &'static str| claims.get(name).and_then(Value::as_str).ok_or(bad(name));
    let jti = text("jti")?;
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(bad("jti"));
    }
    if text("htm")? != expected.method {
        return Err(bad("htm"));
    }
    if htu::normalize(text("htu")?).as_deref() != Some(expected.htu) {
        return Err(bad("htu"));
    }
    let iat = claims
        .get("iat")
        .and_then(|v| match v.as_u64() {
            Some(secs) => Some(secs),
            None => v
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64),
        })
        .ok_or(bad("iat"))?;
    let oldest = expected.now.saturating_sub(expected.max_age);
    let latest = expected.now.saturating_add(expected.leeway);
    if iat < oldest || iat > latest {
        return Err(bad("iat"));
    }
    let ath = URL_SAFE_NO_PAD.encode(sha256(expected.access_token.as_bytes()));
    if text("ath")? != ath {
        return Err(bad("ath"));
    }
    Ok(jti)
}
