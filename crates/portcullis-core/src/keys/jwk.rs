//! One JSON Web Key (RFC 7517) turned into a validated verifying key, or refused with a reason.
//!
//! Refusals here are what stop weak or hostile keys from ever verifying anything: symmetric keys
//! in a key set, RSA moduli under 2048 bits, even or tiny RSA exponents (the e = 1 signature
//! forgery class), EC points off their curve, and keys marked for encryption.

use serde_json::{Map, Value};

use crate::crypto::{PublicKeyMaterial, VerifyingKey};
use crate::token::Algorithm;
use crate::token::alg::{Curve, Family};
use crate::token::compact;

/// Smallest RSA modulus accepted, in bits (RFC 8725 §3.5, NIST SP 800-131A).
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits: bigger keys only cost CPU per request (a DoS lever).
pub(crate) const MAX_RSA_BITS: usize = 8192;
// A signature segment is decoded into a buffer of `compact::MAX_SIGNATURE_BYTES`: the largest
// key's signatures must fit.
const _: () = assert!(MAX_RSA_BITS / 8 <= compact::MAX_SIGNATURE_BYTES);

/// A usable verification key from a key set.
#[derive(Debug)]
pub(crate) struct Jwk {
    pub(crate) kid: Option<String>,
    /// The `alg` the JWK pins, if any: then no other algorithm may use it.
    pub(crate) alg: Option<Algorithm>,
    pub(crate) key: VerifyingKey,
}

impl Jwk {
    /// Whether a token signed with `alg` may be checked with this key.
    pub(crate) fn accepts(&self, alg: Algorithm) -> bool {
        alg.family() == self.key.family() && self.alg.is_none_or(|a| a == alg)
    }
}

/// Parses one JWK object, refusing it with a short reason for the audit log.
pub(crate) fn parse(map: &Map<String, Value>) -> Result<Jwk, &'static str> {
    let kid = match map.get("kid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("kid is not a string"),
    };
    match map.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(Value::String(_)) => return Err("not a signing key (use)"),
        Some(_) => return Err("use is not a string"),
    }
    if let Some(ops) = map.get("key_ops") {
        let Value::Array(ops) = ops else {
            return Err("key_ops is not an array");
        };
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return Err("key_ops does not allow verify");
        }
    }
    let alg = match map.get("alg") {
        None => None,
        Some(Value::String(name)) => Some(Algorithm::from_name(name).ok_or("unsupported alg")?),
        Some(_) => return Err("alg is not a string"),
    };
    let kty = match map.get("kty") {
        Some(Value::String(kty)) => kty.as_str(),
        _ => return Err("missing kty"),
    };

    let n_bytes;
    let e_bytes;
    let point;
    let x_bytes;
    let material = match kty {
        "RSA" => {
            n_bytes = b64_member(map, "n")?;
            e_bytes = b64_member(map, "e")?;
            let n = strip_leading_zeros(&n_bytes);
            let e = strip_leading_zeros(&e_bytes);
            let bits = bit_len(n);
            if bits < MIN_RSA_BITS {
                return Err("rsa modulus under 2048 bits");
            }
            if bits > MAX_RSA_BITS {
                return Err("rsa modulus over 8192 bits");
            }
            check_rsa_exponent(e)?;
            if has_roca_fingerprint(n) {
                return Err("rsa key has the ROCA fingerprint (CVE-2017-15361)");
            }
            PublicKeyMaterial::Rsa { n, e }
        }
        "EC" => {
            let curve = match map.get("crv") {
                Some(Value::String(crv)) => Curve::from_name(crv).ok_or("unsupported curve")?,
                _ => return Err("missing crv"),
            };
            let x = b64_member(map, "x")?;
            let y = b64_member(map, "y")?;
            let len = curve.coordinate_len();
            if x.len() != len || y.len() != len {
                return Err("ec coordinate has the wrong length");
            }
            let mut p = Vec::with_capacity(1 + 2 * len);
            p.push(0x04);
            p.extend_from_slice(&x);
            p.extend_from_slice(&y);
            point = p;
            PublicKeyMaterial::Ec {
                curve,
                point: &point,
            }
        }
        "OKP" => {
            match map.get("crv") {
                Some(Value::String(crv)) if crv == "Ed25519" => {}
                Some(Value::String(_)) => return Err("unsupported curve"),
                _ => return Err("missing crv"),
            }
            x_bytes = b64_member(map, "x")?;
            if x_bytes.len() != 32 {
                return Err("ed25519 key is not 32 bytes");
            }
            PublicKeyMaterial::Ed25519 { x: &x_bytes }
        }
        "oct" => return Err("symmetric keys are never taken from a key set"),
        _ => return Err("unsupported kty"),
    };

    let family = match &material {
        PublicKeyMaterial::Rsa { .. } => Family::Rsa,
        PublicKeyMaterial::Ec { curve, .. } => Family::Ec(*curve),
        PublicKeyMaterial::Ed25519 { .. } => Family::Ed25519,
    };
    if let Some(alg) = alg
        && alg.family() != family
    {
        return Err("alg does not match the key type");
    }
    let key = VerifyingKey::new(&material, alg)?;
    Ok(Jwk { kid, alg, key })
}

fn b64_member(map: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, &'static str> {
    match map.get(name) {
        Some(Value::String(s)) => {
            compact::decode(s).map_err(|_| "key member is not strict base64url")
        }
        _ => Err("missing key member"),
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    bytes.get(skip..).unwrap_or_default()
}

fn bit_len(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(top) => be.len() * 8 - top.leading_zeros() as usize,
    }
}

/// Odd and at least 3: e = 1 makes every signature trivially forgeable, an even e is not an RSA
/// key at all. Capped at 2^32 - 1, the largest exponent real keys and aws-lc use.
fn check_rsa_exponent(e: &[u8]) -> Result<(), &'static str> {
    if e.len() > 4 {
        return Err("rsa exponent too large");
    }
    let value = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    if value < 3 || value % 2 == 0 {
        return Err("rsa exponent is even or below 3");
    }
    Ok(())
}

/// The primes 3..=167: every ROCA modulus (Infineon RSALib, CVE-2017-15361) is
/// `k * M + (65537^a mod M)` with `M` a primorial that includes all of them.
const ROCA_PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

/// Whether `n mod p` lies in the subgroup generated by 65537 for every prime above: true for every
/// ROCA key, and for a random modulus with probability far below 2^-100. Such keys' private
/// halves can be computed from the public key, so a signature under one proves nothing.
fn has_roca_fingerprint(n: &[u8]) -> bool {
    ROCA_PRIMES.iter().all(|&p| {
        let residue = n
            .iter()
            .fold(0u32, |acc, b| (acc * 256 + u32::from(*b)) % p);
        let g = 65537 % p;
        let mut x = 1;
        // The subgroup has at most p - 1 elements: walking it is bounded.
        for _ in 0..p {
            if x == residue {
                return true;
            }
            x = x * g % p;
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponent_rules() {
        assert!(check_rsa_exponent(&[1, 0, 1]).is_ok());
        assert!(check_rsa_exponent(&[3]).is_ok());
        for bad in [&[][..], &[1], &[2], &[4], &[1, 0, 0], &[1, 0, 0, 0, 1]] {
            assert!(check_rsa_exponent(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
        assert_eq!(strip_leading_zeros(&[0, 0, 5]), &[5]);
    }
}
