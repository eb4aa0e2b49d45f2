//! `htu` (RFC 9449 §4.2): the HTTP URI a proof was made for, compared with the effective request
//! URI after RFC 3986 §6.2.2-6.2.3 normalisation, without query and fragment (§4.3 step 9).
//!
//! Both sides go through [`normalize`], so `HTTPS://API.example.com:443/a/./b/%7euser` and
//! `https://api.example.com/a/b/~user` are one URI, while anything that is not an absolute
//! `http`/`https` URI without userinfo is no URI at all (and the proof is refused).

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::request::EffectiveUri;
use crate::request::origin::normalize_authority;

/// The longest `htu` read (2 KiB): beyond any path a server routes, and it bounds the work an
/// attacker can ask of the normaliser per proof.
pub const MAX_HTU_LEN: usize = 2048;

/// The normal form of an absolute `http`/`https` URI without its query and fragment: lowercase
/// scheme and host, no default port, an empty path as `/`, percent-encodings in upper case with
/// unreserved characters decoded, dot segments removed. `None` when it is not such a URI.
pub fn normalize(uri: &str) -> Option<String> {
    if uri.len() > MAX_HTU_LEN || !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        "https"
    } else if scheme.eq_ignore_ascii_case("http") {
        "http"
    } else {
        return None;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    // Userinfo has no place in an HTTP request target (RFC 9110 §4.2.4).
    if authority.contains('@') {
        return None;
    }
    let authority = normalize_authority(scheme, authority)?;
    let path = decode_unreserved(path)?;
    Some(format!(
        "{scheme}://{authority}{}",
        remove_dot_segments(&path)
    ))
}

/// The URI a request's proofs must name: the effective request URI, normalised only when a
/// claim is spelled otherwise. A claim spelled exactly as the request was addressed (what
/// clients send) is the same URI without normalising either side.
pub(crate) struct Target {
    text: String,
    normal: OnceLock<Option<String>>,
}

impl Target {
    /// The target of a request addressed to `uri`; `None` when it does not normalise (a path
    /// with a broken percent-encoding, say).
    pub(crate) fn new(uri: &EffectiveUri) -> Option<Self> {
        let target = Self {
            text: uri.to_string(),
            normal: OnceLock::new(),
        };
        // An effective URI has a valid scheme and authority by construction, so only an overlong
        // or percent-encoded path can keep it from normalising: only then is it checked now.
        let plain = target.text.len() <= MAX_HTU_LEN
            && target
                .text
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'%');
        (plain || target.normal().is_some()).then_some(target)
    }

    fn normal(&self) -> Option<&str> {
        self.normal.get_or_init(|| normalize(&self.text)).as_deref()
    }

    /// Whether `claim` names this URI (RFC 9449 §4.3 step 9).
    pub(crate) fn matches(&self, claim: &str) -> bool {
        claim == self.text || normalize(claim).is_some_and(|c| Some(c.as_str()) == self.normal())
    }
}

/// Upper-cases every percent-encoding and decodes those of unreserved characters (§6.2.2.1-2);
/// a `%` not followed by two hex digits makes the URI invalid. A path without `%` (nearly all
/// of them) is returned as it is.
fn decode_unreserved(path: &str) -> Option<Cow<'_, str>> {
    if !path.contains('%') {
        return Some(Cow::Borrowed(path));
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len() + 1);
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let hi = hex(*bytes.get(i + 1)?)?;
        let lo = hex(*bytes.get(i + 2)?)?;
        let decoded = (hi << 4) | lo;
        if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(decoded));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER.get(usize::from(hi)).copied()?));
            out.push(char::from(HEX_UPPER.get(usize::from(lo)).copied()?));
        }
        i += 3;
    }
    Some(Cow::Owned(out))
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 §5.2.4 on an absolute path (or the empty path, which becomes `/`, §6.2.3). A path
/// where no segment starts with `.` has no dot segment and is returned as it is.
fn remove_dot_segments(path: &str) -> Cow<'_, str> {
    if path.starts_with('/') && !path.contains("/.") {
        return Cow::Borrowed(path);
    }
    let mut segments: Vec<&str> = Vec::new();
    let mut rest = path.strip_prefix('/').unwrap_or(path);
    loop {
        let (segment, tail) = match rest.split_once('/') {
            Some((segment, tail)) => (segment, Some(tail)),
            None => (rest, None),
        };
        match segment {
            "." => {
                if tail.is_none() {
                    segments.push("");
                }
            }
            ".." => {
                segments.pop();
                if tail.is_none() {
                    segments.push("");
                }
            }
            _ => segments.push(segment),
        }
        match tail {
            Some(tail) => rest = tail,
            None => break,
        }
    }
    Cow::Owned(format!("/{}", segments.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_spellings_normalise_alike() {
        let want = Some("https://api.example.com/a/b/~user".to_owned());
        for spelling in [
            "https://api.example.com/a/b/~user",
            "HTTPS://API.Example.COM:443/a/b/~user",
            "https://api.example.com/a/./b/%7euser",
            "https://api.example.com/a/x/../b/%7Euser?q=1#frag",
            "https://api.example.com:/a/b/~user",
        ] {
            assert_eq!(normalize(spelling), want, "{spelling}");
        }
        assert_eq!(
            normalize("http://a.example").as_deref(),
            Some("http://a.example/")
        );
        assert_eq!(
            normalize("http://a.example:8080/%2f%3a").as_deref(),
            Some("http://a.example:8080/%2F%3A")
        );
        assert_eq!(
            normalize("http://[::1]:80/x/..").as_deref(),
            Some("http://[::1]/")
        );
        assert_eq!(
            normalize("http://a/b/c/./../../g").as_deref(),
            Some("http://a/g")
        );
    }

    #[test]
    fn different_uris_stay_different() {
        let base = normalize("https://api.example.com/a");
        for other in [
            "http://api.example.com/a",
            "https://api.example.com:8443/a",
            "https://api.example.org/a",
            "https://api.example.com/a/",
            "https://api.example.com/A",
            "https://api.example.com/%2Fa",
        ] {
            assert_ne!(normalize(other), base, "{other}");
        }
    }

    #[test]
    fn non_http_uris_are_refused() {
        for bad in [
            "",
            "/a",
            "api.example.com/a",
            "ftp://api.example.com/a",
            "https://user@api.example.com/a",
            "https://api.example.com/a b",
            "https://api.example.com/%G0",
            "https://api.example.com/%4",
            "https://api.example.com/\u{e9}",
            "https:///a",
            "https://api.example.com:99999/",
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
        assert_eq!(
            normalize(&format!("https://a/{}", "x".repeat(MAX_HTU_LEN))),
            None
        );
    }

    #[test]
    fn normalising_is_idempotent() {
        for uri in [
            "HTTPS://A:443/./%7e/../b/%2f?x",
            "http://a/..",
            "http://a/b/%2e%2e/c",
        ] {
            let once = normalize(uri).expect("valid");
            assert_eq!(normalize(&once).as_deref(), Some(once.as_str()), "{uri}");
        }
    }
}
