//! Splitting a compact JWS and decoding its segments.

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
    let mut out = Vec::new();
    decode_into(segment, &mut out)?;
    Ok(out)
}

/// Not a base64url character (the table's other entries are 6-bit values).
const INVALID: u8 = 0xFF;

/// Each byte's 6-bit value in the base64url alphabet (RFC 4648 §5), or [`INVALID`].
// Built at compile time: an index out of bounds here fails the build, never a request.
#[allow(clippy::indexing_slicing)]
static ALPHABET: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i];
        table[c as usize] = i as u8;
        i += 1;
    }
    table
};

fn sextet(c: u8) -> u8 {
    ALPHABET.get(usize::from(c)).copied().unwrap_or(INVALID)
}

/// The same rules, into a caller's buffer (the signature path avoids an allocation); `out` is
/// cleared first. Our own decoder rather than the `base64` crate's: on the request path it
/// decodes every claims set, and a table lookup per character with one validity check per
/// segment is twice as fast; `fuzz_targets/base64url.rs` holds it to the crate's strict
/// `URL_SAFE_NO_PAD` on every input.
pub(crate) fn decode_into(segment: &str, out: &mut Vec<u8>) -> Result<(), Reason> {
    let (quads, rest) = segment.as_bytes().as_chunks::<4>();
    out.clear();
    // Room for the last group's bytes too: no reallocation at the end.
    out.reserve(quads.len() * 3 + 2);
    out.resize(quads.len() * 3, 0);
    // Any invalid character sets the high bits of `seen`: checked once, after the loop.
    let mut seen = 0u8;
    for (quad, bytes) in quads.iter().zip(out.as_chunks_mut::<3>().0) {
        let [a, b, c, d] = quad.map(sextet);
        seen |= a | b | c | d;
        let v = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        *bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
    }
    // A last group of two or three characters carries one or two bytes; its unused low bits
    // must be zero, or two spellings would decode alike.
    match *rest {
        [] => {}
        [a, b] => {
            let [a, b] = [a, b].map(sextet);
            seen |= a | b;
            if b & 0x0F != 0 {
                return Err(Reason::BadBase64);
            }
            out.push(a << 2 | b >> 4);
        }
        [a, b, c] => {
            let [a, b, c] = [a, b, c].map(sextet);
            seen |= a | b | c;
            if c & 0x03 != 0 {
                return Err(Reason::BadBase64);
            }
            out.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2]);
        }
        _ => return Err(Reason::BadBase64),
    }
    if seen & 0xC0 != 0 {
        return Err(Reason::BadBase64);
    }
    Ok(())
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
        // Longer strings: mostly valid characters (so most decode and the bytes are compared),
        // a quarter with one invalid character at any position.
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
            let len = next(70);
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
        }
        assert!(decoded > 5_000, "{decoded} of 20 000 decoded");
    }

    #[test]
    fn base64_is_strict() {
        assert_eq!(decode("eyJ9").unwrap(), b"{\"}");
        for bad in ["eyJ9=", "ey J9", "ey+9", "ey/9", "eyJ9\n", "e", "eyK"] {
            assert_eq!(decode(bad).unwrap_err(), Reason::BadBase64, "{bad:?}");
        }
    }
}
