//! The client's side of DPoP (RFC 9449): a [`DpopKey`] that signs a fresh proof for every
//! request, to the authorization server (token requests) and to resource servers (through the
//! outbound middleware), and remembers the nonce each server last asked for.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::TokenError;
use super::auth::pkcs8_pem;
use crate::crypto::{PublicKeyBytes, SigningKey, fill_random, sha256};
use crate::dpop::thumbprint::jkt;
use crate::error::ConfigError;
use crate::token::Algorithm;

/// How many servers' nonces a key remembers (64): one per authorization and resource server a
/// client talks to. Past that the memory is cleared, which costs each server one
/// `use_dpop_nonce` round trip, never a wrong proof.
pub const MAX_REMEMBERED_NONCES: usize = 64;

/// The longest server nonce a key keeps (512 bytes): RFC 9449 sets no bound, real servers send
/// under 100 characters, and a longer one is ignored rather than echoed in every proof.
pub const MAX_CLIENT_NONCE_LEN: usize = 512;

/// A DPoP key: ES256 (P-256) or EdDSA (Ed25519), generated or loaded from PKCS#8. Cheap to
/// clone (clones share the key and its nonces). `Debug` shows the algorithm and thumbprint only.
///
/// ```
/// use portcullis_core::Algorithm;
/// use portcullis_core::client::DpopKey;
///
/// let key = DpopKey::generate(Algorithm::ES256)?;
/// let proof = key.proof("GET", "https://api.example.com/users?page=2", Some("the-token"))?;
/// assert_eq!(proof.split('.').count(), 3);
/// assert_eq!(key.thumbprint().len(), 43);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct DpopKey {
    inner: Arc<Inner>,
}

struct Inner {
    alg: Algorithm,
    key: SigningKey,
    /// The encoded protected header, the same for every proof.
    header: String,
    jkt: String,
    /// Each server's latest nonce, by origin (`scheme://host:port`).
    nonces: Mutex<HashMap<String, String>>,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.inner.alg)
            .field("thumbprint", &self.inner.jkt)
            .finish_non_exhaustive()
    }
}

fn invalid(why: &'static str) -> ConfigError {
    ConfigError::InvalidValue {
        name: "dpop key",
        why,
    }
}

impl DpopKey {
    /// A new random key for `alg`: [`Algorithm::ES256`] or [`Algorithm::EdDSA`].
    pub fn generate(alg: Algorithm) -> Result<Self, ConfigError> {
        Self::only(alg)?;
        Self::new(alg, SigningKey::generate(alg).map_err(invalid)?)
    }

    /// A PKCS#8 DER private key for `alg` (ES256 or EdDSA): a key kept across restarts, so that
    /// tokens bound to it stay usable.
    pub fn from_pkcs8_der(der: &[u8], alg: Algorithm) -> Result<Self, ConfigError> {
        Self::only(alg)?;
        Self::new(alg, SigningKey::from_pkcs8_der(der, alg).map_err(invalid)?)
    }

    /// A PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`) for `alg`.
    pub fn from_pkcs8_pem(pem: &str, alg: Algorithm) -> Result<Self, ConfigError> {
        Self::from_pkcs8_der(&pkcs8_pem(pem).map_err(invalid)?, alg)
    }

    fn only(alg: Algorithm) -> Result<(), ConfigError> {
        match alg {
            Algorithm::ES256 | Algorithm::EdDSA => Ok(()),
            _ => Err(invalid("DPoP keys are ES256 or EdDSA")),
        }
    }

    fn new(alg: Algorithm, key: SigningKey) -> Result<Self, ConfigError> {
        let jwk = match key.public_key() {
            PublicKeyBytes::P256(point) => {
                let (x, y) = point
                    .get(1..)
                    .filter(|xy| point.first() == Some(&4) && xy.len() == 64)
                    .map(|xy| xy.split_at(32))
                    .ok_or(invalid("not an uncompressed P-256 point"))?;
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(x),
                    "y": URL_SAFE_NO_PAD.encode(y),
                })
            }
            PublicKeyBytes::Ed25519(x) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(x),
            }),
            PublicKeyBytes::Rsa => return Err(invalid("DPoP keys are ES256 or EdDSA")),
        };
        let Value::Object(jwk) = jwk else {
            return Err(invalid("not a JWK"));
        };
        let jkt = jkt(&jwk).ok_or(invalid("no thumbprint"))?;
        let header = json!({"typ": "dpop+jwt", "alg": alg.name(), "jwk": jwk});
        Ok(Self {
            inner: Arc::new(Inner {
                alg,
                key,
                header: URL_SAFE_NO_PAD.encode(header.to_string()),
                jkt,
                nonces: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The algorithm proofs are signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.alg
    }

    /// The key's RFC 7638 thumbprint: what a token bound to it carries as `cnf.jkt`, and what
    /// an authorization request's `dpop_jkt` names (RFC 9449 §10).
    pub fn thumbprint(&self) -> &str {
        &self.inner.jkt
    }

    /// A fresh proof for one request: `htm` = `method`, `htu` = `url` without query and
    /// fragment, `iat` now, a random `jti`, `ath` when the request carries `access_token`, and
    /// the nonce the server last asked for, if any.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<String, TokenError> {
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut jti = [0u8; 16];
        fill_random(&mut jti).ok_or_else(|| TokenError::unavailable("no randomness"))?;
        let mut claims = Map::new();
        claims.insert("jti".into(), URL_SAFE_NO_PAD.encode(jti).into());
        claims.insert("htm".into(), method.into());
        claims.insert("htu".into(), htu.into());
        claims.insert("iat".into(), iat.into());
        if let Some(token) = access_token {
            claims.insert(
                "ath".into(),
                URL_SAFE_NO_PAD.encode(sha256(token.as_bytes())).into(),
            );
        }
        if let Some(nonce) = origin(url).and_then(|o| self.nonces().get(&o).cloned()) {
            claims.insert("nonce".into(), nonce.into());
        }
        let input = format!(
            "{}.{}",
            self.inner.header,
            URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
        );
        let signature =
            self.inner.key.sign(input.as_bytes()).map_err(|why| {
                TokenError::unavailable(format!("DPoP proof signing failed: {why}"))
            })?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// Keeps the nonce a server sent (`DPoP-Nonce`) for the next proofs to `url`'s origin (the
    /// token flows and the outbound middleware do this themselves). Returns whether it differs
    /// from the one kept before: only then is a `use_dpop_nonce` retry worth it. A nonce that is
    /// empty, longer than [`MAX_CLIENT_NONCE_LEN`] or not visible ASCII is ignored.
    pub fn remember_nonce(&self, url: &str, nonce: &str) -> bool {
        let usable = !nonce.is_empty()
            && nonce.len() <= MAX_CLIENT_NONCE_LEN
            && nonce
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        let Some(origin) = origin(url).filter(|_| usable) else {
            return false;
        };
        let mut nonces = self.nonces();
        if nonces.get(&origin).map(String::as_str) == Some(nonce) {
            return false;
        }
        if nonces.len() >= MAX_REMEMBERED_NONCES && !nonces.contains_key(&origin) {
            nonces.clear();
        }
        nonces.insert(origin, nonce.to_owned());
        true
    }

    fn nonces(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.inner.nonces.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `scheme://authority` of an absolute URL, lowercased: nonces are per server.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_kept_per_server_and_bounded() {
        let key = DpopKey::generate(Algorithm::EdDSA).unwrap();
        assert!(key.remember_nonce("https://AS.example/token", "n-1"));
        assert!(
            !key.remember_nonce("https://as.example/other", "n-1"),
            "same nonce"
        );
        assert!(!key.remember_nonce("https://as.example/token", "bad\"nonce"));
        assert!(!key.remember_nonce("https://as.example/token", ""));
        assert!(!key.remember_nonce("relative/url", "n-2"));
        assert_eq!(
            key.nonces().get("https://as.example").map(String::as_str),
            Some("n-1")
        );
        for i in 0..MAX_REMEMBERED_NONCES + 1 {
            key.remember_nonce(&format!("https://rs{i}.example/"), "n");
        }
        assert!(key.nonces().len() <= MAX_REMEMBERED_NONCES);
    }

    #[test]
    fn only_es256_and_eddsa() {
        assert!(DpopKey::generate(Algorithm::RS256).is_err());
        assert!(DpopKey::generate(Algorithm::ES384).is_err());
        assert!(DpopKey::from_pkcs8_pem("not pem", Algorithm::ES256).is_err());
        let key = DpopKey::generate(Algorithm::ES256).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.thumbprint()) && !debug.contains("nonces"));
    }
}
