//! Signature verification over keys parsed once, behind one small interface so the rest of the
//! crate never names a crypto library.
//!
//! The backend is chosen at compile time: aws-lc-rs when its feature is on (it wins if both are),
//! otherwise RustCrypto. Keys are parsed and validated (size, exponent, point on curve) when a
//! key set is loaded; a request only runs the verify primitive.

#[cfg(feature = "aws-lc-rs")]
mod aws_lc;
#[cfg(feature = "aws-lc-rs")]
use aws_lc as backend;

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
mod rust_crypto;
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
use rust_crypto as backend;

use std::fmt;

use crate::token::Algorithm;
use crate::token::alg::{Curve, Family};

/// Public key material decoded from a JWK, before validation.
pub(crate) enum PublicKeyMaterial<'a> {
    /// Big-endian modulus and exponent without leading zeros.
    Rsa { n: &'a [u8], e: &'a [u8] },
    /// Uncompressed SEC1 point: `04 || x || y`.
    Ec { curve: Curve, point: &'a [u8] },
    /// The 32-byte Ed25519 public key.
    Ed25519 { x: &'a [u8] },
}

/// A validated public key, ready to verify.
pub(crate) struct VerifyingKey {
    family: Family,
    key: backend::PublicKey,
}

impl VerifyingKey {
    /// Parses and validates the key. `only` restricts an RSA key to one algorithm when the JWK
    /// names it (so we parse only what can be used).
    pub(crate) fn new(
        material: &PublicKeyMaterial<'_>,
        only: Option<Algorithm>,
    ) -> Result<Self, &'static str> {
        let family = match material {
            PublicKeyMaterial::Rsa { .. } => Family::Rsa,
            PublicKeyMaterial::Ec { curve, .. } => Family::Ec(*curve),
            PublicKeyMaterial::Ed25519 { .. } => Family::Ed25519,
        };
        let key = backend::PublicKey::new(material, only)?;
        Ok(Self { family, key })
    }

    pub(crate) fn family(&self) -> Family {
        self.family
    }

    /// Whether `signature` over `message` verifies under `alg`. `alg` must be of this key's family.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        alg.family() == self.family && self.key.verify(alg, message, signature)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

/// An HMAC key for one algorithm. Comparison is constant-time inside the backend.
pub(crate) struct HmacKey {
    alg: Algorithm,
    key: backend::HmacKey,
}

impl HmacKey {
    pub(crate) fn new(alg: Algorithm, secret: &[u8]) -> Option<Self> {
        backend::HmacKey::new(alg, secret).map(|key| Self { alg, key })
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        self.alg
    }

    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], tag: &[u8]) -> bool {
        alg == self.alg && self.key.verify(message, tag)
    }

    /// The tag of `message`: lets the fuzz targets build validly signed tokens cheaply.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message)
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKey")
            .field("alg", &self.alg)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A private key for the client's own signatures (`private_key_jwt` assertions, DPoP proofs):
/// RS256, ES256 or EdDSA.
#[cfg(feature = "client")]
pub(crate) struct SigningKey {
    key: backend::PrivateKey,
}

/// The public half of a [`SigningKey`], as a JWK needs it.
#[cfg(feature = "client")]
pub(crate) enum PublicKeyBytes {
    /// Not exported: RSA keys sign assertions only, whose public key is registered elsewhere.
    Rsa,
    /// The uncompressed SEC1 point `04 || x || y`.
    P256(Vec<u8>),
    /// The 32-byte public key.
    Ed25519(Vec<u8>),
}

#[cfg(feature = "client")]
impl SigningKey {
    /// Parses a PKCS#8 DER private key for `alg`.
    pub(crate) fn from_pkcs8_der(der: &[u8], alg: Algorithm) -> Result<Self, &'static str> {
        backend::PrivateKey::from_pkcs8_der(der, alg).map(|key| Self { key })
    }

    /// A new random key for `alg` (ES256 or EdDSA).
    pub(crate) fn generate(alg: Algorithm) -> Result<Self, &'static str> {
        backend::PrivateKey::generate(alg).map(|key| Self { key })
    }

    pub(crate) fn public_key(&self) -> PublicKeyBytes {
        self.key.public_key()
    }

    /// The JWS signature of `message` (for ES256, the fixed-length `r || s` form).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, &'static str> {
        self.key.sign(message)
    }
}

/// The AES-GCM IV length (96 bits, the size GCM is specified for).
const IV_LEN: usize = 12;

/// An AES-256-GCM key that seals small values (DPoP server nonces) under a random IV.
pub(crate) struct SealingKey(backend::SealingKey);

impl SealingKey {
    pub(crate) fn new(secret: &[u8; 32]) -> Option<Self> {
        backend::SealingKey::new(secret).map(Self)
    }

    /// `iv || ciphertext || tag`, authenticating `aad` too; `None` only if the system has no
    /// randomness.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
        self.0.seal(aad, plaintext)
    }

    /// The plaintext, or `None` when `sealed` was not sealed by this key with this `aad`.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        self.0.open(aad, sealed)
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

/// Fills `out` from the operating system's CSPRNG; `None` when it has none.
pub(crate) fn fill_random(out: &mut [u8]) -> Option<()> {
    backend::fill_random(out)
}

/// SHA-256 of `data` (DPoP's `ath` and RFC 7638 key thumbprints).
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    backend::sha256(data)
}

/// Encodes `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
pub(crate) fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn push_len(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            let significant = bytes.get(skip..).unwrap_or_default();
            out.push(0x80 | significant.len() as u8);
            out.extend_from_slice(significant);
        }
    }
    fn push_uint(out: &mut Vec<u8>, v: &[u8]) {
        let pad = v.first().is_none_or(|b| b & 0x80 != 0);
        out.push(0x02);
        push_len(out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    push_uint(&mut body, n);
    push_uint(&mut body, e);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(0x30);
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}
