//! Splitting a compact JWS and decoding its segments.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reason::Malformed);
    };
    if header.is_empty() || claims.is_empty() || signature.is_empty() {
        return Err(Reason::Malformed);
    }
    let signing_input = token
        .get(..header.len() + 1 + claims.len())
        .ok_or(Reason::Malformed)?;
    Ok(Compact {
        header,
        claims,
        signature,
        signing_input,
    })
}

/// Strict base64url: the URL-safe alphabet only, no padding, no whitespace, and canonical trailing
/// bits (so a segment has exactly one accepted spelling).
pub(crate) fn decode(segment: &str) -> Result<Vec<u8>, Reason> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Reason::BadBase64)
}

/// The same rules, into a caller's buffer (the signature path avoids an allocation).
pub(crate) fn decode_into(segment: &str, out: &mut Vec<u8>) -> Result<(), Reason> {
    URL_SAFE_NO_PAD
        .decode_vec(segment, out)
        .map_err(|_| Reason::BadBase64)
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

    #[test]
    fn base64_is_strict() {
        assert_eq!(decode("eyJ9").unwrap(), b"{\"}");
        for bad in ["eyJ9=", "ey J9", "ey+9", "ey/9", "eyJ9\n", "e", "eyK"] {
            assert_eq!(decode(bad).unwrap_err(), Reason::BadBase64, "{bad:?}");
        }
    }
}
