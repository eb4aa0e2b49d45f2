//! The aws-lc-rs backend: `ParsedPublicKey` holds the key in aws-lc's internal form, so a verify
//! call does no parsing.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};

use super::{PublicKeyMaterial, rsa_public_key_der};
use crate::token::Algorithm;
use crate::token::alg::Curve;

const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

fn rsa_params(alg: Algorithm) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

pub(super) enum PublicKey {
    /// One parsed key per RSA algorithm the JWK allows, indexed like `RSA_ALGS`.
    Rsa(Box<[Option<ParsedPublicKey>; 6]>),
    Single(ParsedPublicKey),
}

impl PublicKey {
    pub(super) fn new(
        material: &PublicKeyMaterial<'_>,
        only: Option<Algorithm>,
    ) -> Result<Self, &'static str> {
        match material {
            PublicKeyMaterial::Rsa { n, e } => {
                let der = rsa_public_key_der(n, e);
                let mut parsed: [Option<ParsedPublicKey>; 6] = Default::default();
                for (slot, alg) in parsed.iter_mut().zip(RSA_ALGS) {
                    if only.is_some_and(|o| o != alg) {
                        continue;
                    }
                    let params = rsa_params(alg).ok_or("rsa algorithm")?;
                    *slot = Some(
                        ParsedPublicKey::new(params, &der)
                            .map_err(|_| "rsa key rejected by aws-lc")?,
                    );
                }
                Ok(PublicKey::Rsa(Box::new(parsed)))
            }
            PublicKeyMaterial::Ec { curve, point } => {
                let alg: &'static dyn VerificationAlgorithm = match curve {
                    Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
                    Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
                    Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
                };
                ParsedPublicKey::new(alg, point)
                    .map(PublicKey::Single)
                    .map_err(|_| "ec point not on its curve")
            }
            PublicKeyMaterial::Ed25519 { x } => ParsedPublicKey::new(&signature::ED25519, x)
                .map(PublicKey::Single)
                .map_err(|_| "invalid ed25519 key"),
        }
    }

    pub(super) fn verify(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> bool {
        let key = match self {
            PublicKey::Rsa(keys) => {
                let idx = RSA_ALGS.iter().position(|a| *a == alg);
                match idx.and_then(|i| keys.get(i)).and_then(Option::as_ref) {
                    Some(key) => key,
                    None => return false,
                }
            }
            PublicKey::Single(key) => key,
        };
        key.verify_sig(message, sig).is_ok()
    }
}

pub(super) struct HmacKey(hmac::Key);

impl HmacKey {
    pub(super) fn new(alg: Algorithm, secret: &[u8]) -> Option<Self> {
        let algorithm = match alg {
            Algorithm::HS256 => hmac::HMAC_SHA256,
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            _ => return None,
        };
        Some(Self(hmac::Key::new(algorithm, secret)))
    }

    pub(super) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.0, message, tag).is_ok()
    }

    #[cfg(feature = "fuzzing")]
    pub(super) fn sign(&self, message: &[u8]) -> Vec<u8> {
        hmac::sign(&self.0, message).as_ref().to_vec()
    }
}

#[cfg(feature = "client")]
pub(super) enum PrivateKey {
    Rsa(signature::RsaKeyPair),
    P256(signature::EcdsaKeyPair),
    Ed25519(signature::Ed25519KeyPair),
}

#[cfg(feature = "client")]
impl PrivateKey {
    pub(super) fn from_pkcs8_der(der: &[u8], alg: Algorithm) -> Result<Self, &'static str> {
        match alg {
            Algorithm::RS256 => {
                let key = signature::RsaKeyPair::from_pkcs8(der)
                    .map_err(|_| "not a PKCS#8 RSA private key")?;
                if key.public_modulus_len() < 256 {
                    return Err("RSA keys must have at least 2048 bits");
                }
                Ok(Self::Rsa(key))
            }
            Algorithm::ES256 => signature::EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                der,
            )
            .map(Self::P256)
            .map_err(|_| "not a PKCS#8 P-256 private key"),
            Algorithm::EdDSA => signature::Ed25519KeyPair::from_pkcs8(der)
                .map(Self::Ed25519)
                .map_err(|_| "not a PKCS#8 Ed25519 private key"),
            _ => Err("only RS256, ES256 and EdDSA private keys are supported"),
        }
    }

    pub(super) fn generate(alg: Algorithm) -> Result<Self, &'static str> {
        match alg {
            Algorithm::ES256 => {
                signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map(Self::P256)
                    .map_err(|_| "P-256 key generation failed")
            }
            Algorithm::EdDSA => signature::Ed25519KeyPair::generate()
                .map(Self::Ed25519)
                .map_err(|_| "Ed25519 key generation failed"),
            _ => Err("only ES256 and EdDSA keys are generated"),
        }
    }

    pub(super) fn public_key(&self) -> super::PublicKeyBytes {
        use signature::KeyPair as _;
        match self {
            Self::Rsa(_) => super::PublicKeyBytes::Rsa,
            Self::P256(key) => super::PublicKeyBytes::P256(key.public_key().as_ref().to_vec()),
            Self::Ed25519(key) => {
                super::PublicKeyBytes::Ed25519(key.public_key().as_ref().to_vec())
            }
        }
    }

    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, &'static str> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self {
            Self::Rsa(key) => {
                let mut out = vec![0; key.public_modulus_len()];
                key.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut out)
                    .map_err(|_| "RSA signing failed")?;
                Ok(out)
            }
            Self::P256(key) => key
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed"),
            Self::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
        }
    }
}

/// SHA-256 of `data`.
pub(super) fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// AES-256-GCM under one key; the IV is random and travels in front of the ciphertext.
pub(super) struct SealingKey(aws_lc_rs::aead::LessSafeKey);

impl SealingKey {
    pub(super) fn new(secret: &[u8; 32]) -> Option<Self> {
        aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, secret)
            .ok()
            .map(|key| Self(aws_lc_rs::aead::LessSafeKey::new(key)))
    }

    pub(super) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
        let mut iv = [0; super::IV_LEN];
        fill_random(&mut iv)?;
        let mut out = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                aws_lc_rs::aead::Nonce::assume_unique_for_key(iv),
                aws_lc_rs::aead::Aad::from(aad),
                &mut out,
            )
            .ok()?;
        let mut sealed = iv.to_vec();
        sealed.append(&mut out);
        Some(sealed)
    }

    pub(super) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (iv, body) = sealed.split_at_checked(super::IV_LEN)?;
        let iv = aws_lc_rs::aead::Nonce::try_assume_unique_for_key(iv).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .0
            .open_in_place(iv, aws_lc_rs::aead::Aad::from(aad), &mut body)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Fills `out` from the system's CSPRNG.
pub(super) fn fill_random(out: &mut [u8]) -> Option<()> {
    use aws_lc_rs::rand::SecureRandom as _;
    aws_lc_rs::rand::SystemRandom::new().fill(out).ok()
}
