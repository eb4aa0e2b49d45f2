//! Splitting a compact JWS and decoding its segments.

use std::mem::MaybeUninit;

use base64_simd::{Out, URL_SAFE_NO_PAD};

use crate::error::Reason;

/// The three segments of a compact JWS, still encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compact<'a> {
    pub(crate) header: &'a str,
    pub(crate) claims: &'a str,
    pub(crate) signature: &'a str,
    /// `header '.' claims`: the bytes the signature covers.
    pub(crate) signing_input: &'a str,
}

/// Splits `token` into exactly three non-empty segments, after the size cap.
///
/// The cap is checked first so an oversized token costs one length comparison.
pub(crate) fn split(token: &str, max_len: usize) -> Result<Compact<'_>, Reason> {
    if token.len() > max_len {
        return Err(Reason::TokenTooLarge);
    }
    // SIMD search for the dots: `str::split` took 75 ns on a 845-byte token, this 30 ns.
    let mut dots = memchr::memchr_iter(b'.', token.as_bytes());
    let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
        return Err(Reason::Malformed);
    };
    let (Some(header), Some(claims), Some(signature), Some(signing_input)) = (
        token.get(..first),
        token.get(first + 1..second),
        token.get(second + 1..),
        token.get(..second),
    ) else {
        return Err(Reason::Malformed);
    };
    if header.is_empty() || claims.is_empty() || signature.is_empty() {
        return Err(Reason::Malformed);
    }
    Ok(Compact {
        header,
        claims,
        signature,
        signing_input,
    })
}

/// The longest signature any accepted key makes, in bytes: 1 024, RSA at the 8 192-bit modulus
/// bound (`keys::jwk::MAX_RSA_BITS`, which asserts it fits). ES512's is 132, HMAC-SHA512's 64.
/// A longer signature segment is refused before it is decoded.
pub(crate) const MAX_SIGNATURE_BYTES: usize = 1024;

/// Room for one decoded signature, on the stack: the request path allocates nothing for it, and
/// it is left uninitialised because the decoder writes every byte it returns.
pub(crate) type SignatureBuf = [MaybeUninit<u8>; MAX_SIGNATURE_BYTES];

/// An empty [`SignatureBuf`].
pub(crate) const fn signature_buf() -> SignatureBuf {
    [MaybeUninit::uninit(); MAX_SIGNATURE_BYTES]
}

/// Strict base64url: the URL-safe alphabet only, no padding, no whitespace, and canonical trailing
/// bits (so a segment has exactly one accepted spelling). SIMD where the CPU has it.
pub(crate) fn decode(segment: &str) -> Result<Vec<u8>, Reason> {
    URL_SAFE_NO_PAD
        .decode_to_vec(segment)
        .map_err(|_| Reason::BadBase64)
}

/// The same rules for a signature segment, into `buf`. Longer than [`MAX_SIGNATURE_BYTES`] is
/// [`Reason::BadSignature`]: no accepted key makes such a signature.
pub(crate) fn decode_signature<'b>(
    segment: &str,
    buf: &'b mut SignatureBuf,
) -> Result<&'b [u8], Reason> {
    let len = URL_SAFE_NO_PAD
        .decoded_length(segment.as_bytes())
        .map_err(|_| Reason::BadBase64)?;
    let out = buf.get_mut(..len).ok_or(Reason::BadSignature)?;
    // `decode` panics on a buffer shorter than the decoded length; `out` is exactly that long.
    match URL_SAFE_NO_PAD.decode(segment.as_bytes(), Out::from_uninit_slice(out)) {
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(Reason::BadBase64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_segments() {
        let c = split("a.b.c", 100).unwrap();
        assert_eq!((c.header, c.claims, c.signature), ("a", "b", "c"));
        assert_eq!(c.signing_input, "a.b");
    }

    #[test]
    fn rejects_wrong_shapes() {
        for bad in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "a..c",
            ".b.c",
            "a.b.",
            "a.b.c.d.e",
        ] {
            assert_eq!(split(bad, 100).unwrap_err(), Reason::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn size_cap_comes_first() {
        assert_eq!(split("x", 0).unwrap_err(), Reason::TokenTooLarge);
        assert!(split("a.b.c", 5).is_ok());
        assert_eq!(split("a.b.cd", 5).unwrap_err(), Reason::TokenTooLarge);
    }

    /// Every string of up to five characters over an alphabet that mixes valid characters (with
    /// different trailing bits) and invalid ones decodes exactly as the `base64` crate's strict
    /// `URL_SAFE_NO_PAD` does.
    #[test]
    fn base64_agrees_with_the_base64_crate() {
        use base64::Engine as _;
        let alphabet = [
            'A', 'B', 'Q', 'g', 'w', '_', '-', '=', '+', ' ', '/', '\u{e9}',
        ];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = texts
                .iter()
                .filter(|t| t.chars().count() == texts.last().map_or(0, |l| l.chars().count()))
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(longer);
        }
        assert!(texts.len() > 200_000);
        for text in &texts {
            let reference = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .ok();
            assert_eq!(decode(text).ok(), reference, "{text:?}");
        }
        // Longer strings, past the SIMD decoder's block sizes and their tails: mostly valid
        // characters (so most decode and the bytes are compared), a quarter with one invalid
        // character at any position. The signature decoder must agree up to its bound.
        let valid = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut decoded = 0;
        for _ in 0..20_000 {
            let len = next(1500);
            let mut text: Vec<u8> = (0..len).map(|_| valid[next(64)]).collect();
            if len > 0 && next(4) == 0 {
                text[next(len)] = b"=+/ .\x00\xff"[next(7)];
            }
            let text = String::from_utf8_lossy(&text).into_owned();
            let reference = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&text)
                .ok();
            decoded += usize::from(reference.is_some());
            assert_eq!(decode(&text).ok(), reference, "{text:?}");
            let mut buf = signature_buf();
            match decode_signature(&text, &mut buf) {
                Ok(bytes) => assert_eq!(Some(bytes), reference.as_deref(), "{text:?}"),
                Err(Reason::BadSignature) => {
                    assert!(
                        text.len() > (MAX_SIGNATURE_BYTES * 4).div_ceil(3),
                        "{text:?}"
                    )
                }
                Err(_) => assert_eq!(reference, None, "{text:?}"),
            }
        }
        assert!(decoded > 4_000, "{decoded} of 20 000 decoded");
    }

    #[test]
    fn signature_bound() {
        use base64::Engine as _;
        let encode =
            |n: usize| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(vec![7u8; n]);
        let mut buf = signature_buf();
        let longest = encode(MAX_SIGNATURE_BYTES);
        assert_eq!(
            decode_signature(&longest, &mut buf).map(<[u8]>::len),
            Ok(MAX_SIGNATURE_BYTES)
        );
        assert_eq!(
            decode_signature(&encode(MAX_SIGNATURE_BYTES + 1), &mut buf),
            Err(Reason::BadSignature)
        );
        assert_eq!(decode_signature("e", &mut buf), Err(Reason::BadBase64));
        assert_eq!(decode_signature("", &mut buf), Ok(&[][..]));
    }

    #[test]
    fn base64_is_strict() {
        assert_eq!(decode("eyJ9").unwrap(), b"{\"}");
        for bad in ["eyJ9=", "ey J9", "ey+9", "ey/9", "eyJ9\n", "e", "eyK"] {
            assert_eq!(decode(bad).unwrap_err(), Reason::BadBase64, "{bad:?}");
        }
    }
}
