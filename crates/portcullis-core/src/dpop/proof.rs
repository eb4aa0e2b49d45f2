//! One DPoP proof (RFC 9449 §4.2) checked against the request it came with (§4.3), every rule
//! failing closed. The replay check is not here: it runs last, in the authenticator, once the
//! access token has been verified too, so a proof that fails anything never records its `jti`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;

use serde_json::Value;

use super::htu;
use super::thumbprint::jkt;
use crate::error::Reason;
use crate::json::{Tape, ValueRef, parse_object};
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

/// The most header bytes the proof-key cache holds (1 MiB): a client reuses one key, so a few
/// thousand distinct keys cover any real fleet of callers, and a flood of new keys costs its
/// sender a signature each while only churning this cache.
pub const PROOF_KEY_CACHE_BYTES: u64 = 1024 * 1024;

/// What a cache entry weighs beyond its header text (the parsed key, the thumbprint, moka's
/// bookkeeping).
const PROOF_KEY_OVERHEAD: u32 = 256;

/// A proof that passed every rule except the replay check.
#[derive(Debug, Clone)]
pub(crate) struct CheckedProof {
    /// The RFC 7638 thumbprint of the proof key: what `cnf.jkt` must name.
    pub(crate) jkt: Arc<str>,
    pub(crate) jti: String,
    /// The `nonce` claim, checked by the policy when server nonces are on.
    pub(crate) nonce: Option<String>,
    /// Whether the response should carry a fresh `DPoP-Nonce`.
    pub(crate) renew_nonce: bool,
    /// The decoded `ath`: checked once the access token is known, against its digest.
    ath: Vec<u8>,
}

impl CheckedProof {
    /// `ath` = the SHA-256 of the access token presented with the proof (§4.3 step 12).
    pub(crate) fn check_ath(&self, token_digest: &[u8; 32]) -> Result<(), Reason> {
        if self.ath.as_slice() == token_digest {
            Ok(())
        } else {
            Err(bad("ath"))
        }
    }
}

/// What a proof's protected header says, parsed once per distinct header: a client signs every
/// proof under the same header (its key does not change), so the key is decoded and validated
/// and its thumbprint computed once, not per request.
pub(crate) struct ProofKey {
    alg: Algorithm,
    jwk: jwk::Jwk,
    jkt: Arc<str>,
}

/// Parsed proof headers by their exact base64url text. The entry depends on those bytes alone
/// (not on any policy), and only headers whose proof verified are stored.
#[derive(Clone)]
pub(crate) struct ProofKeys(
    moka::sync::Cache<Box<str>, Arc<ProofKey>, foldhash::fast::RandomState>,
);

impl Default for ProofKeys {
    fn default() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(PROOF_KEY_CACHE_BYTES)
                .weigher(weigh)
                .build_with_hasher(foldhash::fast::RandomState::default()),
        )
    }
}

/// A cache entry's weight: its header's length plus the fixed overhead.
#[allow(clippy::borrowed_box)] // the signature moka's weigher has for `Box<str>` keys
fn weigh(header: &Box<str>, _: &Arc<ProofKey>) -> u32 {
    u32::try_from(header.len())
        .unwrap_or(u32::MAX)
        .saturating_add(PROOF_KEY_OVERHEAD)
}

/// What a proof is checked against.
pub(crate) struct Expected<'a> {
    /// The request method, as sent (`htm` is compared case-sensitively: methods are).
    pub(crate) method: &'a str,
    /// The effective request URI.
    pub(crate) htu: &'a htu::Target,
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
pub(crate) fn check(
    proof: &str,
    expected: &Expected<'_>,
    keys: &ProofKeys,
) -> Result<CheckedProof, Reason> {
    let parts = compact::split(proof, MAX_PROOF_LEN).map_err(|r| match r {
        Reason::TokenTooLarge => bad("size"),
        _ => bad("form"),
    })?;
    let cached = keys.0.get(parts.header);
    let key = match &cached {
        Some(key) => Arc::clone(key),
        None => Arc::new(header_key(parts.header)?),
    };
    if !expected.algorithms.contains(key.alg) {
        return Err(bad("alg"));
    }
    let signature = compact::decode(parts.signature).map_err(|_| bad("signature"))?;
    if !key
        .jwk
        .key
        .verify(key.alg, parts.signing_input.as_bytes(), &signature)
    {
        return Err(bad("signature"));
    }
    if cached.is_none() {
        keys.0.insert(parts.header.into(), Arc::clone(&key));
    }
    let claims = compact::decode(parts.claims).map_err(|_| bad("claims"))?;
    let claims = std::str::from_utf8(&claims).map_err(|_| bad("claims"))?;
    let tape = Tape::parse(claims).map_err(|_| bad("claims"))?;
    let (jti, nonce, ath) = claims_match(&tape, expected)?;
    Ok(CheckedProof {
        jkt: Arc::clone(&key.jkt),
        jti,
        nonce,
        renew_nonce: false,
        ath,
    })
}

/// `typ`, `alg` and the embedded public key (§4.3 steps 4-7), with the key's thumbprint; the
/// allow-list is the caller's to apply.
fn header_key(segment: &str) -> Result<ProofKey, Reason> {
    let header = compact::decode(segment)
        .ok()
        .and_then(|bytes| parse_object(&bytes).ok())
        .ok_or(bad("header"))?;
    match header.get("typ").and_then(Value::as_str) {
        Some(typ) if typ.eq_ignore_ascii_case("dpop+jwt") => {}
        _ => return Err(bad("typ")),
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Algorithm::from_name)
        .filter(|a| !a.is_hmac())
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
    Ok(ProofKey {
        alg,
        jwk: key,
        jkt: jkt.into(),
    })
}

/// A string claim, or the rule it breaks.
fn text<'t>(value: Option<ValueRef<'t, '_>>, name: &'static str) -> Result<&'t str, Reason> {
    value.and_then(|v| v.as_str()).ok_or(bad(name))
}

/// `jti`, `htm`, `htu`, `iat` and the form of `ath` (§4.3 steps 8-11), read from the claims in
/// one pass; the `jti`, the `nonce` and the decoded `ath` on success.
fn claims_match(
    claims: &Tape<'_>,
    expected: &Expected<'_>,
) -> Result<(String, Option<String>, Vec<u8>), Reason> {
    let (mut jti, mut htm, mut htu, mut iat, mut ath, mut nonce) =
        (None, None, None, None, None, None);
    for (name, value) in claims.members() {
        let slot = match name {
            "jti" => &mut jti,
            "htm" => &mut htm,
            "htu" => &mut htu,
            "iat" => &mut iat,
            "ath" => &mut ath,
            "nonce" => &mut nonce,
            _ => continue,
        };
        *slot = Some(value);
    }
    let jti = text(jti, "jti")?;
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(bad("jti"));
    }
    if text(htm, "htm")? != expected.method {
        return Err(bad("htm"));
    }
    if !expected.htu.matches(text(htu, "htu")?) {
        return Err(bad("htu"));
    }
    let iat = iat
        .and_then(|v| v.as_number())
        .and_then(|(whole, f)| match whole {
            Some(secs) => Some(secs),
            None => (f.is_finite() && f >= 0.0).then_some(f as u64),
        })
        .ok_or(bad("iat"))?;
    let oldest = expected.now.saturating_sub(expected.max_age);
    let latest = expected.now.saturating_add(expected.leeway);
    if iat < oldest || iat > latest {
        return Err(bad("iat"));
    }
    // Decoded here, compared with the token's digest once the token is verified (its digest
    // is then computed once per token, not once per request).
    let ath = URL_SAFE_NO_PAD
        .decode(text(ath, "ath")?)
        .ok()
        .filter(|a| a.len() == 32)
        .ok_or(bad("ath"))?;
    let nonce = match nonce {
        None => None,
        Some(v) => Some(v.as_str().ok_or(bad("nonce"))?.to_owned()),
    };
    Ok((jti.to_owned(), nonce, ath))
}
