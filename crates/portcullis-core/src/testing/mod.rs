//! The test kit (feature `testing`): an issuer with real keys that mints any token, well-formed
//! or deliberately broken, and can serve its JWKS and OIDC discovery on a loopback port.
//!
//! Signing uses aws-lc-rs whatever backend verifies, so a test of the `rust-crypto` backend checks
//! it against an independent implementation.
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use portcullis_core::{testing::TestIssuer, Algorithm};
//!
//! let issuer = TestIssuer::new()?;
//! let good = issuer.token().alg(Algorithm::ES256).scope("read:users").sign()?;
//! let expired = issuer.token().expires_in(-3600).sign()?;
//! let unsigned = issuer.token().header("alg", "none").sign()?;
//! # let _ = (good, expired, unsigned);
//! # Ok(())
//! # }
//! ```

mod dpop;
mod server;

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use aws_lc_rs::{hmac, rsa::KeySize};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

pub use dpop::{DpopKey, ProofBuilder};

/// A request's headers as a list of `(lowercase name, value)` pairs: the
/// [`Headers`](crate::request::Headers) an adapter would hand core, for driving an
/// [`Authenticator`](crate::authenticator::Authenticator) without a framework.
#[derive(Clone, Default)]
#[allow(clippy::exhaustive_structs)] // a newtype over its list: built with `HeaderList(vec![..])`
pub struct HeaderList(pub Vec<(&'static str, String)>);

impl fmt::Debug for HeaderList {
    // Names only: the values carry tokens and proofs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}

impl crate::request::Headers for HeaderList {
    fn each_value<'s>(
        &'s self,
        name: &str,
        each: &mut dyn FnMut(&'s [u8]) -> std::ops::ControlFlow<()>,
    ) {
        // Break only stops the walk: there is nothing to report.
        let _ = self
            .0
            .iter()
            .filter(|(n, _)| *n == name)
            .try_for_each(|(_, v)| each(v.as_bytes()));
    }
}
pub use server::{JwksMode, TestServer};

use crate::clock::{Clock, SystemClock};
use crate::keys::StaticJwks;
use crate::token::Algorithm;
use crate::verifier::{Verifier, VerifierBuilder};

/// The issuer used when none is given.
pub const DEFAULT_ISSUER: &str = "https://issuer.portcullis.test/";
/// The audience used when none is given.
pub const DEFAULT_AUDIENCE: &str = "https://api.portcullis.test";
/// Key ids of the generated keys.
pub const KID_RSA: &str = "rsa-2048";
/// Key id of the P-256 key.
pub const KID_P256: &str = "ec-p256";
/// Key id of the P-384 key.
pub const KID_P384: &str = "ec-p384";
/// Key id of the P-521 key.
pub const KID_P521: &str = "ec-p521";
/// Key id of the Ed25519 key.
pub const KID_ED25519: &str = "ed25519";

/// Something in the test kit failed (key generation, signing, a socket).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestKitError {
    /// aws-lc-rs refused an operation.
    #[error("crypto operation failed: {0}")]
    Crypto(&'static str),
    /// A token was built with an algorithm the kit has no key for (HMAC without a secret).
    #[error("no signing key for {0}")]
    NoKey(&'static str),
    /// JSON encoding failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A socket failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

struct Keys {
    rsa: RsaKeyPair,
    p256: EcdsaKeyPair,
    p384: EcdsaKeyPair,
    p521: EcdsaKeyPair,
    ed25519: Ed25519KeyPair,
}

/// A token issuer for tests. Cheap to clone; clones share keys.
#[derive(Clone)]
pub struct TestIssuer {
    keys: Arc<Keys>,
    issuer: String,
    audience: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestIssuer {
    /// Generates fresh RSA-2048, P-256, P-384, P-521 and Ed25519 keys, with the default issuer
    /// and audience.
    pub fn new() -> Result<Self, TestKitError> {
        let keys = Keys {
            rsa: RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| TestKitError::Crypto("rsa keygen"))?,
            p256: EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| TestKitError::Crypto("p256 keygen"))?,
            p384: EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING)
                .map_err(|_| TestKitError::Crypto("p384 keygen"))?,
            p521: EcdsaKeyPair::generate(&signature::ECDSA_P521_SHA512_FIXED_SIGNING)
                .map_err(|_| TestKitError::Crypto("p521 keygen"))?,
            ed25519: Ed25519KeyPair::generate()
                .map_err(|_| TestKitError::Crypto("ed25519 keygen"))?,
        };
        Ok(Self {
            keys: Arc::new(keys),
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            clock: Arc::new(SystemClock),
        })
    }

    /// The same keys under another issuer identifier.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// The same keys with another default audience.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// The clock used for default `iat`/`exp` (share it with the verifier under test).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The issuer identifier put in `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The default `aud`.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The public JWK Set as JSON: every key, with `kid`, `use: "sig"` and (for EC/OKP) `alg`.
    /// The RSA key has no `alg`, so it serves RS* and PS* tokens.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.rsa_jwk(), self.ec_jwk(&self.keys.p256, "P-256", KID_P256, "ES256"),
            self.ec_jwk(&self.keys.p384, "P-384", KID_P384, "ES384"),
            self.ec_jwk(&self.keys.p521, "P-521", KID_P521, "ES512"), self.ed_jwk()] })
    }

    /// The RSA public key as a JWK (handy for building odd key sets in tests).
    pub fn rsa_jwk(&self) -> Value {
        let public = self.keys.rsa.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        json!({"kty": "RSA", "kid": KID_RSA, "use": "sig", "n": b64(&n), "e": b64(&e)})
    }

    fn ec_jwk(&self, key: &EcdsaKeyPair, crv: &str, kid: &str, alg: &str) -> Value {
        let point = key.public_key().as_ref();
        let len = (point.len() - 1) / 2;
        let (x, y) = point.get(1..).unwrap_or_default().split_at(len);
        json!({"kty": "EC", "kid": kid, "use": "sig", "alg": alg, "crv": crv, "x": b64(x), "y": b64(y)})
    }

    fn ed_jwk(&self) -> Value {
        let x = self.keys.ed25519.public_key().as_ref();
        json!({"kty": "OKP", "kid": KID_ED25519, "use": "sig", "alg": "EdDSA", "crv": "Ed25519", "x": b64(x)})
    }

    /// The JWK Set as a [`StaticJwks`] key source.
    pub fn static_jwks(&self) -> Result<StaticJwks, crate::ConfigError> {
        StaticJwks::from_json(self.jwks().to_string())
    }

    /// A verifier builder for this issuer: its issuer, audience, key set and clock. Add policy
    /// options and call `build()`.
    pub fn verifier(&self) -> Result<VerifierBuilder, crate::ConfigError> {
        Ok(Verifier::builder()
            .issuer(self.issuer.clone())
            .audience(self.audience.clone())
            .clock(Arc::clone(&self.clock))
            .key_source(self.static_jwks()?))
    }

    /// Starts a token: RS256, `kid` of the matching key, `typ: at+jwt`, and claims `iss`, `aud`,
    /// `sub = "test-user"`, `iat = now`, `exp = now + 600`, `jti`.
    pub fn token(&self) -> TokenBuilder<'_> {
        let now = self.clock.now();
        let mut claims = Map::new();
        claims.insert("iss".into(), self.issuer.clone().into());
        claims.insert("aud".into(), self.audience.clone().into());
        claims.insert("sub".into(), "test-user".into());
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), (now + 600).into());
        claims.insert("jti".into(), format!("jti-{now}-{}", next_serial()).into());
        TokenBuilder {
            issuer: self,
            now,
            alg: Algorithm::RS256,
            kid: KidChoice::Default,
            header: Map::new(),
            claims,
            secret: None,
            raw_header: None,
            raw_claims: None,
            signature: None,
        }
    }

    fn sign(
        &self,
        alg: Algorithm,
        secret: Option<&[u8]>,
        message: &[u8],
    ) -> Result<Vec<u8>, TestKitError> {
        let rng = SystemRandom::new();
        let rsa = |enc: &'static dyn signature::RsaEncoding| -> Result<Vec<u8>, TestKitError> {
            let mut sig = vec![0; self.keys.rsa.public_modulus_len()];
            self.keys
                .rsa
                .sign(enc, &rng, message, &mut sig)
                .map_err(|_| TestKitError::Crypto("rsa sign"))?;
            Ok(sig)
        };
        let ec = |key: &EcdsaKeyPair| -> Result<Vec<u8>, TestKitError> {
            Ok(key
                .sign(&rng, message)
                .map_err(|_| TestKitError::Crypto("ecdsa sign"))?
                .as_ref()
                .to_vec())
        };
        let mac = |algorithm: hmac::Algorithm| -> Result<Vec<u8>, TestKitError> {
            let secret = secret.ok_or(TestKitError::NoKey(alg.name()))?;
            Ok(hmac::sign(&hmac::Key::new(algorithm, secret), message)
                .as_ref()
                .to_vec())
        };
        match alg {
            Algorithm::RS256 => rsa(&signature::RSA_PKCS1_SHA256),
            Algorithm::RS384 => rsa(&signature::RSA_PKCS1_SHA384),
            Algorithm::RS512 => rsa(&signature::RSA_PKCS1_SHA512),
            Algorithm::PS256 => rsa(&signature::RSA_PSS_SHA256),
            Algorithm::PS384 => rsa(&signature::RSA_PSS_SHA384),
            Algorithm::PS512 => rsa(&signature::RSA_PSS_SHA512),
            Algorithm::ES256 => ec(&self.keys.p256),
            Algorithm::ES384 => ec(&self.keys.p384),
            Algorithm::ES512 => ec(&self.keys.p521),
            Algorithm::EdDSA => Ok(self.keys.ed25519.sign(message).as_ref().to_vec()),
            Algorithm::HS256 => mac(hmac::HMAC_SHA256),
            Algorithm::HS384 => mac(hmac::HMAC_SHA384),
            Algorithm::HS512 => mac(hmac::HMAC_SHA512),
        }
    }
}

fn next_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

fn default_kid(alg: Algorithm) -> Option<&'static str> {
    Some(match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => KID_RSA,
        Algorithm::ES256 => KID_P256,
        Algorithm::ES384 => KID_P384,
        Algorithm::ES512 => KID_P521,
        Algorithm::EdDSA => KID_ED25519,
        _ => return None,
    })
}

enum KidChoice {
    Default,
    Absent,
    Custom(String),
}

/// Builds one token. Header and claim setters overwrite; a JSON `null` removes a member.
#[must_use]
pub struct TokenBuilder<'a> {
    issuer: &'a TestIssuer,
    now: u64,
    alg: Algorithm,
    kid: KidChoice,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    secret: Option<Vec<u8>>,
    raw_header: Option<String>,
    raw_claims: Option<String>,
    signature: Option<String>,
}

impl fmt::Debug for TokenBuilder<'_> {
    // Keys and the HMAC secret are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("alg", &self.alg)
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl TokenBuilder<'_> {
    /// Signs with `alg` (and the matching generated key; HMAC needs [`hmac_secret`](Self::hmac_secret)).
    pub fn alg(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// Sets `kid` (instead of the signing key's own).
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = KidChoice::Custom(kid.into());
        self
    }

    /// Leaves `kid` out of the header.
    pub fn without_kid(mut self) -> Self {
        self.kid = KidChoice::Absent;
        self
    }

    /// Sets a header member, overriding the generated one (`header("alg", "none")`). The
    /// signature still uses the key chosen by [`alg`](Self::alg).
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.into(), value.into());
        self
    }

    /// Sets a claim (`Value::Null` removes it).
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        if value.is_null() {
            self.claims.remove(name);
        } else {
            self.claims.insert(name.into(), value);
        }
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets `sub`.
    pub fn subject(self, sub: &str) -> Self {
        self.claim("sub", sub)
    }

    /// Sets `scope` (space-delimited).
    pub fn scope(self, scope: &str) -> Self {
        self.claim("scope", scope)
    }

    /// Sets `aud`.
    pub fn audience(self, aud: impl Into<Value>) -> Self {
        self.claim("aud", aud)
    }

    /// Sets `iss`.
    pub fn issuer(self, iss: &str) -> Self {
        self.claim("iss", iss)
    }

    /// Sets `exp` to now + `secs` (negative for an expired token).
    pub fn expires_in(self, secs: i64) -> Self {
        let exp = self.now.saturating_add_signed(secs);
        self.claim("exp", exp)
    }

    /// The HMAC secret for HS* algorithms.
    pub fn hmac_secret(mut self, secret: &[u8]) -> Self {
        self.secret = Some(secret.to_vec());
        self
    }

    /// Uses this exact text as the header JSON (for duplicate members, bad JSON, ...).
    pub fn raw_header_json(mut self, json: impl Into<String>) -> Self {
        self.raw_header = Some(json.into());
        self
    }

    /// Uses this exact text as the claims JSON.
    pub fn raw_claims_json(mut self, json: impl Into<String>) -> Self {
        self.raw_claims = Some(json.into());
        self
    }

    /// Uses this exact text as the signature segment instead of signing.
    pub fn raw_signature(mut self, segment: impl Into<String>) -> Self {
        self.signature = Some(segment.into());
        self
    }

    /// Encodes and signs the token.
    pub fn sign(self) -> Result<String, TestKitError> {
        let header_json = match self.raw_header {
            Some(raw) => raw,
            None => {
                let mut header = Map::new();
                header.insert("alg".into(), self.alg.name().into());
                header.insert("typ".into(), "at+jwt".into());
                match &self.kid {
                    KidChoice::Default => {
                        if let Some(kid) = default_kid(self.alg) {
                            header.insert("kid".into(), kid.into());
                        }
                    }
                    KidChoice::Absent => {}
                    KidChoice::Custom(kid) => {
                        header.insert("kid".into(), kid.clone().into());
                    }
                }
                for (name, value) in self.header {
                    if value.is_null() {
                        header.remove(&name);
                    } else {
                        header.insert(name, value);
                    }
                }
                serde_json::to_string(&header)?
            }
        };
        let claims_json = match self.raw_claims {
            Some(raw) => raw,
            None => serde_json::to_string(&self.claims)?,
        };
        let signing_input = format!(
            "{}.{}",
            b64(header_json.as_bytes()),
            b64(claims_json.as_bytes())
        );
        let signature = match self.signature {
            Some(raw) => raw,
            None => b64(&self.issuer.sign(
                self.alg,
                self.secret.as_deref(),
                signing_input.as_bytes(),
            )?),
        };
        Ok(format!("{signing_input}.{signature}"))
    }
}
