//! A DPoP client's key for tests: mints proofs (RFC 9449 §4.2), well-formed or deliberately
//! broken, and names its thumbprint for the `cnf.jkt` of the tokens bound to it.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use serde_json::{Map, Value, json};

use super::{TestKitError, b64, next_serial};
use crate::clock::{Clock, SystemClock};
use crate::token::Algorithm;

enum Pair {
    Ec(EcdsaKeyPair, &'static str),
    Ed(Ed25519KeyPair),
}

/// A DPoP key pair: ES256, ES384 or EdDSA. Cheap to clone; clones share the key.
#[derive(Clone)]
pub struct DpopKey {
    alg: Algorithm,
    pair: Arc<Pair>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A fresh key for `alg` (ES256, ES384 or EdDSA), dating proofs by the system clock.
    pub fn generate(alg: Algorithm) -> Result<Self, TestKitError> {
        let ec = |curve: &'static signature::EcdsaSigningAlgorithm, name| {
            EcdsaKeyPair::generate(curve)
                .map(|pair| Pair::Ec(pair, name))
                .map_err(|_| TestKitError::Crypto("ecdsa keygen"))
        };
        let pair = match alg {
            Algorithm::ES256 => ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, "P-256")?,
            Algorithm::ES384 => ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, "P-384")?,
            Algorithm::EdDSA => Pair::Ed(
                Ed25519KeyPair::generate().map_err(|_| TestKitError::Crypto("ed25519 keygen"))?,
            ),
            other => return Err(TestKitError::NoKey(other.name())),
        };
        Ok(Self {
            alg,
            pair: Arc::new(pair),
            clock: Arc::new(SystemClock),
        })
    }

    /// Dates proofs by `clock`.
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> Value {
        match &*self.pair {
            Pair::Ec(pair, crv) => {
                let point = pair.public_key().as_ref();
                let len = point.len().saturating_sub(1) / 2;
                let (x, y) = point.get(1..).unwrap_or_default().split_at(len);
                json!({"kty": "EC", "crv": crv, "x": b64(x), "y": b64(y)})
            }
            Pair::Ed(pair) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())})
            }
        }
    }

    /// The RFC 7638 thumbprint of the public key: the `cnf.jkt` of tokens bound to it.
    pub fn thumbprint(&self) -> String {
        // Required members in lexicographic order; every value is base64url or a curve name,
        // so no JSON escaping is needed.
        let jwk = self.public_jwk();
        let member = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
        let canonical = match &*self.pair {
            Pair::Ec(..) => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                member("crv"),
                member("x"),
                member("y")
            ),
            Pair::Ed(_) => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, member("x")),
        };
        b64(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// Starts a proof for `method` and `uri`: `typ: dpop+jwt`, this key's `alg` and `jwk`, a
    /// fresh `jti`, `iat` = now; add the access token with
    /// [`access_token`](ProofBuilder::access_token).
    pub fn proof(&self, method: &str, uri: &str) -> ProofBuilder<'_> {
        let mut header = Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert("alg".into(), self.alg.name().into());
        header.insert("jwk".into(), self.public_jwk());
        let mut claims = Map::new();
        claims.insert("jti".into(), format!("proof-{}", next_serial()).into());
        claims.insert("htm".into(), method.into());
        claims.insert("htu".into(), uri.into());
        claims.insert("iat".into(), self.clock.now().into());
        ProofBuilder {
            key: self,
            header,
            claims,
            signature: None,
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TestKitError> {
        match &*self.pair {
            Pair::Ec(pair, _) => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(|_| TestKitError::Crypto("ecdsa sign"))?
                .as_ref()
                .to_vec()),
            Pair::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// Builds one proof. Setters overwrite; a JSON `null` removes a member.
#[must_use]
pub struct ProofBuilder<'a> {
    key: &'a DpopKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signature: Option<String>,
}

impl fmt::Debug for ProofBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofBuilder")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

fn set(map: &mut Map<String, Value>, name: &str, value: Value) {
    if value.is_null() {
        map.remove(name);
    } else {
        map.insert(name.to_owned(), value);
    }
}

impl ProofBuilder<'_> {
    /// Binds the proof to `token` (`ath` = its base64url SHA-256).
    pub fn access_token(mut self, token: &str) -> Self {
        let ath = b64(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        self.claims.insert("ath".into(), ath.into());
        self
    }

    /// Sets a header member.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        set(&mut self.header, name, value.into());
        self
    }

    /// Sets a claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        set(&mut self.claims, name, value.into());
        self
    }

    /// Replaces the signature segment (base64url text, used as is).
    pub fn raw_signature(mut self, segment: impl Into<String>) -> Self {
        self.signature = Some(segment.into());
        self
    }

    /// Encodes and signs the proof.
    pub fn sign(self) -> Result<String, TestKitError> {
        let input = format!(
            "{}.{}",
            b64(serde_json::to_string(&self.header)?.as_bytes()),
            b64(serde_json::to_string(&self.claims)?.as_bytes())
        );
        let signature = match self.signature {
            Some(raw) => raw,
            None => b64(&self.key.sign(input.as_bytes())?),
        };
        Ok(format!("{input}.{signature}"))
    }
}
