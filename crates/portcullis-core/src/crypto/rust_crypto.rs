//! The RustCrypto backend: keys are decoded and validated once into the crates' key types.

use hmac::Mac as _;
use p256::ecdsa::signature::Verifier as _;
use rsa::{BigUint, Pkcs1v15Sign, Pss, RsaPublicKey};
use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::PublicKeyMaterial;
use crate::token::Algorithm;
use crate::token::alg::Curve;

pub(super) enum PublicKey {
    Rsa {
        key: RsaPublicKey,
        only: Option<Algorithm>,
    },
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    pub(super) fn new(
        material: &PublicKeyMaterial<'_>,
        only: Option<Algorithm>,
    ) -> Result<Self, &'static str> {
        match material {
            PublicKeyMaterial::Rsa { n, e } => {
                let key = RsaPublicKey::new_with_max_size(
                    BigUint::from_bytes_be(n),
                    BigUint::from_bytes_be(e),
                    8192,
                )
                .map_err(|_| "rsa key rejected")?;
                Ok(PublicKey::Rsa { key, only })
            }
            PublicKeyMaterial::Ec {
                curve: Curve::P256,
                point,
            } => p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map(PublicKey::P256)
                .map_err(|_| "ec point not on its curve"),
            PublicKeyMaterial::Ec {
                curve: Curve::P384,
                point,
            } => p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map(PublicKey::P384)
                .map_err(|_| "ec point not on its curve"),
            PublicKeyMaterial::Ec {
                curve: Curve::P521, ..
            } => Err("P-521 needs the aws-lc-rs backend"),
            PublicKeyMaterial::Ed25519 { x } => {
                let bytes: &[u8; 32] = (*x).try_into().map_err(|_| "invalid ed25519 key")?;
                ed25519_dalek::VerifyingKey::from_bytes(bytes)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| "invalid ed25519 key")
            }
        }
    }

    pub(super) fn verify(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::Rsa { key, only } => {
                if only.is_some_and(|o| o != alg) {
                    return false;
                }
                let ok = match alg {
                    Algorithm::RS256 => {
                        key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message), sig)
                    }
                    Algorithm::RS384 => {
                        key.verify(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(message), sig)
                    }
                    Algorithm::RS512 => {
                        key.verify(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(message), sig)
                    }
                    Algorithm::PS256 => {
                        key.verify(Pss::new::<Sha256>(), &Sha256::digest(message), sig)
                    }
                    Algorithm::PS384 => {
                        key.verify(Pss::new::<Sha384>(), &Sha384::digest(message), sig)
                    }
                    Algorithm::PS512 => {
                        key.verify(Pss::new::<Sha512>(), &Sha512::digest(message), sig)
                    }
                    _ => return false,
                };
                ok.is_ok()
            }
            PublicKey::P256(key) => p256::ecdsa::Signature::from_slice(sig)
                .is_ok_and(|s| key.verify(message, &s).is_ok()),
            PublicKey::P384(key) => p384::ecdsa::Signature::from_slice(sig)
                .is_ok_and(|s| key.verify(message, &s).is_ok()),
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| key.verify_strict(message, &s).is_ok()),
        }
    }
}

pub(super) enum HmacKey {
    S256(hmac::Hmac<Sha256>),
    S384(hmac::Hmac<Sha384>),
    S512(hmac::Hmac<Sha512>),
}

impl HmacKey {
    pub(super) fn new(alg: Algorithm, secret: &[u8]) -> Option<Self> {
        match alg {
            Algorithm::HS256 => hmac::Hmac::new_from_slice(secret).ok().map(HmacKey::S256),
            Algorithm::HS384 => hmac::Hmac::new_from_slice(secret).ok().map(HmacKey::S384),
            Algorithm::HS512 => hmac::Hmac::new_from_slice(secret).ok().map(HmacKey::S512),
            _ => None,
        }
    }

    pub(super) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        match self {
            HmacKey::S256(mac) => mac.clone().chain_update(message).verify_slice(tag).is_ok(),
            HmacKey::S384(mac) => mac.clone().chain_update(message).verify_slice(tag).is_ok(),
            HmacKey::S512(mac) => mac.clone().chain_update(message).verify_slice(tag).is_ok(),
        }
    }

    #[cfg(feature = "fuzzing")]
    pub(super) fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            HmacKey::S256(mac) => mac
                .clone()
                .chain_update(message)
                .finalize()
                .into_bytes()
                .to_vec(),
            HmacKey::S384(mac) => mac
                .clone()
                .chain_update(message)
                .finalize()
                .into_bytes()
                .to_vec(),
            HmacKey::S512(mac) => mac
                .clone()
                .chain_update(message)
                .finalize()
                .into_bytes()
                .to_vec(),
        }
    }
}

#[cfg(feature = "client")]
#[allow(clippy::large_enum_variant)] // one per client, boxed by its owner
pub(super) enum PrivateKey {
    Rsa(rsa::RsaPrivateKey),
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

#[cfg(feature = "client")]
impl PrivateKey {
    pub(super) fn from_pkcs8_der(der: &[u8], alg: Algorithm) -> Result<Self, &'static str> {
        use rsa::pkcs8::DecodePrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        match alg {
            Algorithm::RS256 => {
                let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
                    .map_err(|_| "not a PKCS#8 RSA private key")?;
                if key.size() < 256 {
                    return Err("RSA keys must have at least 2048 bits");
                }
                Ok(Self::Rsa(key))
            }
            Algorithm::ES256 => p256::ecdsa::SigningKey::from_pkcs8_der(der)
                .map(Self::P256)
                .map_err(|_| "not a PKCS#8 P-256 private key"),
            Algorithm::EdDSA => ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(Self::Ed25519)
                .map_err(|_| "not a PKCS#8 Ed25519 private key"),
            _ => Err("only RS256, ES256 and EdDSA private keys are supported"),
        }
    }

    pub(super) fn generate(alg: Algorithm) -> Result<Self, &'static str> {
        // A random P-256 scalar is out of range with probability ~2^-32: a few tries suffice.
        const TRIES: usize = 8;
        let mut seed = [0u8; 32];
        match alg {
            Algorithm::ES256 => {
                for _ in 0..TRIES {
                    fill_random(&mut seed).ok_or("no randomness")?;
                    if let Ok(key) = p256::ecdsa::SigningKey::from_bytes(&seed.into()) {
                        return Ok(Self::P256(key));
                    }
                }
                Err("P-256 key generation failed")
            }
            Algorithm::EdDSA => {
                fill_random(&mut seed).ok_or("no randomness")?;
                Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)))
            }
            _ => Err("only ES256 and EdDSA keys are generated"),
        }
    }

    pub(super) fn public_key(&self) -> super::PublicKeyBytes {
        match self {
            Self::Rsa(_) => super::PublicKeyBytes::Rsa,
            Self::P256(key) => super::PublicKeyBytes::P256(
                key.verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec(),
            ),
            Self::Ed25519(key) => {
                super::PublicKeyBytes::Ed25519(key.verifying_key().to_bytes().to_vec())
            }
        }
    }

    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, &'static str> {
        match self {
            Self::Rsa(key) => key
                .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
                .map_err(|_| "RSA signing failed"),
            Self::P256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = key.sign(message);
                Ok(signature.to_bytes().to_vec())
            }
            Self::Ed25519(key) => {
                use ed25519_dalek::Signer as _;
                Ok(key.sign(message).to_bytes().to_vec())
            }
        }
    }
}

/// SHA-256 of `data`.
pub(super) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// AES-256-GCM under one key; the IV is random and travels in front of the ciphertext.
pub(super) struct SealingKey(aes_gcm::Aes256Gcm);

impl SealingKey {
    pub(super) fn new(secret: &[u8; 32]) -> Option<Self> {
        use aes_gcm::KeyInit as _;
        aes_gcm::Aes256Gcm::new_from_slice(secret).ok().map(Self)
    }

    pub(super) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
        use aes_gcm::aead::{Aead as _, Payload};
        let mut iv = [0; super::IV_LEN];
        fill_random(&mut iv)?;
        let mut body = self
            .0
            .encrypt(
                &iv.into(),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .ok()?;
        let mut sealed = iv.to_vec();
        sealed.append(&mut body);
        Some(sealed)
    }

    pub(super) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        use aes_gcm::aead::{Aead as _, Payload};
        let (iv, body) = sealed.split_at_checked(super::IV_LEN)?;
        let iv: [u8; super::IV_LEN] = iv.try_into().ok()?;
        self.0.decrypt(&iv.into(), Payload { msg: body, aad }).ok()
    }
}

/// Fills `out` from the system's CSPRNG.
pub(super) fn fill_random(out: &mut [u8]) -> Option<()> {
    getrandom::fill(out).ok()
}
