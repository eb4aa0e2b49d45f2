//! Registered claims (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8693 §4.2): read in the one scan of the
//! claims, with their types checked. A wrongly typed registered claim is an error, never coerced.

use crate::error::Reason;
use crate::json::{Tape, ValueRef};

/// A JWT NumericDate in whole seconds since the epoch.
pub type NumericDate = u64;

/// 9999-12-31T23:59:59Z. A date beyond it is a bug or an attack, never a real expiry.
pub const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// A string from the claims text: a span of it when the JSON had no escapes (no allocation on
/// the request path), an owned copy otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Text {
    Span { start: u32, end: u32 },
    Owned(Box<str>),
}

impl Text {
    fn new(s: &str, base: &str) -> Self {
        // Pointer arithmetic on addresses only (no dereference): is `s` a slice of `base`?
        let (start, base_start) = (s.as_ptr() as usize, base.as_ptr() as usize);
        match (start.checked_sub(base_start), u32::try_from(base.len())) {
            (Some(offset), Ok(_)) if offset + s.len() <= base.len() => Text::Span {
                start: offset as u32,
                end: (offset + s.len()) as u32,
            },
            _ => Text::Owned(s.into()),
        }
    }

    /// Heap bytes of an owned copy (a span has none).
    fn heap_size(&self) -> usize {
        match self {
            Text::Span { .. } => 0,
            Text::Owned(s) => s.len(),
        }
    }

    /// The string, given the claims text it was read from.
    pub(crate) fn resolve<'a>(&'a self, base: &'a str) -> &'a str {
        match self {
            Text::Span { start, end } => {
                base.get(*start as usize..*end as usize).unwrap_or_default()
            }
            Text::Owned(s) => s,
        }
    }
}

/// `aud`: one string (the common case, no allocation) or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Audiences {
    One(Text),
    Many(Vec<Text>),
}

impl Audiences {
    pub(crate) fn as_slice(&self) -> &[Text] {
        match self {
            Audiences::One(one) => std::slice::from_ref(one),
            Audiences::Many(many) => many,
        }
    }
}

/// The registered claims of one token, typed; strings refer to the claims text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Registered {
    pub(crate) iss: Option<Text>,
    pub(crate) sub: Option<Text>,
    pub(crate) jti: Option<Text>,
    pub(crate) client_id: Option<Text>,
    /// `sid`, the OpenID session (OpenID Connect Front- and Back-Channel Logout).
    pub(crate) sid: Option<Text>,
    /// `None` when absent.
    pub(crate) aud: Option<Audiences>,
    pub(crate) exp: Option<NumericDate>,
    pub(crate) nbf: Option<NumericDate>,
    pub(crate) iat: Option<NumericDate>,
    pub(crate) scope: Scopes,
    /// `cnf`: what the token is bound to.
    pub(crate) cnf: Cnf,
    /// The first of the caller's required claims that is absent or null.
    pub(crate) missing_required: Option<&'static str>,
}

/// The token's confirmation claim (`cnf`, RFC 7800 §3.1): the key or certificate the token is
/// bound to. A bound token is worth nothing without the proof of possession, so one whose
/// confirmation is not verified on a request must be refused (RFC 9449 §7.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Cnf {
    /// No `cnf`: a bearer token.
    #[default]
    None,
    /// `cnf.jkt` (RFC 9449 §6.1): the RFC 7638 SHA-256 thumbprint of a DPoP key.
    Jkt(Text),
    /// `cnf.x5t#S256` (RFC 8705 §3.1): the SHA-256 thumbprint of a client certificate.
    CertificateThumbprint(Text),
    /// Anything else (`jwk`, `jku`, `kid`, several methods at once, a value that is not an
    /// object of one string): bound to something portcullis cannot verify, so never accepted.
    Unsupported,
}

impl Cnf {
    fn from_value(value: ValueRef<'_, '_>, base: &str) -> Self {
        let Some(mut members) = value.object_members() else {
            return Cnf::Unsupported;
        };
        let (Some((name, value)), None) = (members.next(), members.next()) else {
            return Cnf::Unsupported;
        };
        match (name, value.as_str()) {
            ("jkt", Some(jkt)) => Cnf::Jkt(Text::new(jkt, base)),
            ("x5t#S256", Some(x5t)) => Cnf::CertificateThumbprint(Text::new(x5t, base)),
            _ => Cnf::Unsupported,
        }
    }

    fn heap_size(&self) -> usize {
        match self {
            Cnf::Jkt(t) | Cnf::CertificateThumbprint(t) => t.heap_size(),
            Cnf::None | Cnf::Unsupported => 0,
        }
    }
}

/// Granted scopes in the shape the token used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Scopes {
    #[default]
    Absent,
    /// Space-delimited (RFC 6749 §3.3).
    Text(Text),
    /// An array; non-string members were dropped, never coerced.
    List(Vec<Text>),
    /// Present with a type that carries no scopes (a number, an object).
    Unusable,
}

impl Scopes {
    /// The scope tokens, by the one reading rule used everywhere.
    pub(crate) fn iter<'a>(&'a self, base: &'a str) -> impl Iterator<Item = &'a str> {
        let (text, list): (Option<&str>, &[Text]) = match self {
            Scopes::Text(s) => (Some(s.resolve(base)), &[]),
            Scopes::List(items) => (None, items),
            Scopes::Absent | Scopes::Unusable => (None, &[]),
        };
        text.into_iter()
            .flat_map(|s| s.split(' ').filter(|s| !s.is_empty()))
            .chain(list.iter().map(move |s| s.resolve(base)))
    }

    fn from_value(value: ValueRef<'_, '_>, base: &str) -> Self {
        if let Some(s) = value.as_str() {
            Scopes::Text(Text::new(s, base))
        } else if let Some(items) = value.as_array() {
            Scopes::List(items.flatten().map(|s| Text::new(s, base)).collect())
        } else {
            Scopes::Unusable
        }
    }
}

impl Registered {
    /// Heap bytes held beyond the struct itself (owned strings and lists).
    pub(crate) fn heap_size(&self) -> usize {
        let text = |t: &Option<Text>| t.as_ref().map_or(0, Text::heap_size);
        let list =
            |l: &[Text]| std::mem::size_of_val(l) + l.iter().map(Text::heap_size).sum::<usize>();
        let aud = match &self.aud {
            Some(Audiences::Many(many)) => list(many),
            Some(Audiences::One(one)) => one.heap_size(),
            None => 0,
        };
        let scope = match &self.scope {
            Scopes::Text(t) => t.heap_size(),
            Scopes::List(l) => list(l),
            Scopes::Absent | Scopes::Unusable => 0,
        };
        text(&self.iss)
            + text(&self.sub)
            + text(&self.jti)
            + text(&self.client_id)
            + text(&self.sid)
            + aud
            + scope
            + self.cnf.heap_size()
    }

    /// Reads the registered claims from the parsed claims object `claims` of the text `base`.
    /// `scope` wins over `scp` (Azure AD's name) when both exist. `required` names claims that
    /// must be present and not null; the first one missing is recorded in `missing_required`
    /// (the policy decides when to act on it).
    pub(crate) fn read(
        claims: &Tape<'_>,
        base: &str,
        required: &[&'static str],
    ) -> Result<Self, Reason> {
        let mut r = Registered::default();
        let mut scp = Scopes::Absent;
        let mut present = vec![false; required.len()];
        for (name, value) in claims.members() {
            if !value.is_null() {
                for (flag, _) in present
                    .iter_mut()
                    .zip(required)
                    .filter(|(_, req)| **req == name)
                {
                    *flag = true;
                }
            }
            // Byte patterns: matched by length and then byte by byte, where string patterns
            // would call `memcmp` once per arm of the same length (ten arms are three bytes).
            match name.as_bytes() {
                b"iss" => r.iss = Some(string(value, base, "iss")?),
                b"sub" => r.sub = Some(string(value, base, "sub")?),
                b"jti" => r.jti = Some(string(value, base, "jti")?),
                b"client_id" => r.client_id = Some(string(value, base, "client_id")?),
                b"sid" => r.sid = Some(string(value, base, "sid")?),
                b"aud" => r.aud = Some(audiences(value, base)?),
                b"exp" => r.exp = Some(numeric_date(value, "exp")?),
                b"nbf" => r.nbf = Some(numeric_date(value, "nbf")?),
                b"iat" => r.iat = Some(numeric_date(value, "iat")?),
                b"scope" => r.scope = Scopes::from_value(value, base),
                b"scp" => scp = Scopes::from_value(value, base),
                b"cnf" => r.cnf = Cnf::from_value(value, base),
                _ => {}
            }
        }
        if r.scope == Scopes::Absent {
            r.scope = scp;
        }
        r.missing_required = required
            .iter()
            .zip(&present)
            .find(|(_, seen)| !**seen)
            .map(|(name, _)| *name);
        Ok(r)
    }
}

fn string(value: ValueRef<'_, '_>, base: &str, name: &'static str) -> Result<Text, Reason> {
    value
        .as_str()
        .map(|s| Text::new(s, base))
        .ok_or(Reason::BadClaim(name))
}

/// `aud`: a string or an array of strings (RFC 7519 §4.1.3). One non-string member makes the
/// whole claim invalid rather than being skipped.
fn audiences(value: ValueRef<'_, '_>, base: &str) -> Result<Audiences, Reason> {
    if let Some(s) = value.as_str() {
        return Ok(Audiences::One(Text::new(s, base)));
    }
    value
        .as_array()
        .ok_or(Reason::BadClaim("aud"))?
        .map(|item| {
            item.map(|s| Text::new(s, base))
                .ok_or(Reason::BadClaim("aud"))
        })
        .collect::<Result<_, _>>()
        .map(Audiences::Many)
}

/// A NumericDate: a JSON number (integer or fraction, truncated), not negative, not beyond
/// [`MAX_NUMERIC_DATE`].
fn numeric_date(value: ValueRef<'_, '_>, name: &'static str) -> Result<NumericDate, Reason> {
    let secs = match value.as_number() {
        Some((Some(u), _)) => u,
        Some((None, f)) if f.is_finite() && f >= 0.0 && f <= MAX_NUMERIC_DATE as f64 => {
            f.trunc() as u64
        }
        _ => return Err(Reason::BadClaim(name)),
    };
    if secs > MAX_NUMERIC_DATE {
        return Err(Reason::BadClaim(name));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Registered, Reason> {
        Registered::read(&Tape::parse(json)?, json, &[])
    }

    #[test]
    fn required_claims() {
        let required = ["a", "b", "c"];
        let text = r#"{"a":1,"b":null}"#;
        let r = Registered::read(&Tape::parse(text).unwrap(), text, &required).unwrap();
        assert_eq!(r.missing_required, Some("b"));
        let text = r#"{"a":1,"b":[],"c":{}}"#;
        let r = Registered::read(&Tape::parse(text).unwrap(), text, &required).unwrap();
        assert_eq!(r.missing_required, None);
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(read(r#"{"exp":10}"#).unwrap().exp, Some(10));
        assert_eq!(read(r#"{"exp":10.9}"#).unwrap().exp, Some(10));
        assert_eq!(read(r#"{"exp":-0.0}"#).unwrap().exp, Some(0));
        assert_eq!(read("{}").unwrap().exp, None);
        for bad in [
            r#""10""#,
            "-1",
            "1e300",
            "253402300800",
            "true",
            "-0.5",
            "null",
            "[1]",
        ] {
            assert_eq!(
                read(&format!(r#"{{"nbf":{bad}}}"#)),
                Err(Reason::BadClaim("nbf")),
                "{bad}"
            );
        }
    }

    #[test]
    fn audience_shapes() {
        let aud = |json: &str| {
            read(json).map(|r| {
                r.aud.map(|a| {
                    a.as_slice()
                        .iter()
                        .map(|s| s.resolve(json).to_string())
                        .collect::<Vec<_>>()
                })
            })
        };
        assert_eq!(aud(r#"{"aud":"a"}"#), Ok(Some(vec!["a".into()])));
        assert_eq!(
            aud(r#"{"aud":["a","b"]}"#),
            Ok(Some(vec!["a".into(), "b".into()]))
        );
        assert_eq!(aud(r#"{"aud":[]}"#), Ok(Some(vec![])));
        assert_eq!(aud("{}"), Ok(None));
        assert_eq!(aud(r#"{"aud":["a",1]}"#), Err(Reason::BadClaim("aud")));
        assert_eq!(aud(r#"{"aud":{"a":1}}"#), Err(Reason::BadClaim("aud")));
    }

    #[test]
    fn string_claims_are_typed() {
        let plain = r#"{"sub":"ab"}"#;
        let sub = read(plain).unwrap().sub.unwrap();
        assert_eq!(
            (&sub, sub.resolve(plain)),
            (&Text::Span { start: 8, end: 10 }, "ab")
        );
        assert_eq!(
            read(r#"{"sub":"a\u0062"}"#).unwrap().sub,
            Some(Text::Owned("ab".into())),
            "escaped strings are copied"
        );
        for name in ["iss", "sub", "jti", "client_id", "sid"] {
            let err = read(&format!(r#"{{"{name}":1}}"#)).unwrap_err();
            assert_eq!(err.code(), "bad_claim");
            assert_eq!(err.subject(), Some(name));
        }
    }

    #[test]
    fn scope_shapes() {
        let scopes = |json: &str| {
            read(json)
                .unwrap()
                .scope
                .iter(json)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(scopes(r#"{"scope":"a  b"}"#), ["a", "b"]);
        assert_eq!(scopes(r#"{"scope":["a", 1, "b"]}"#), ["a", "b"]);
        assert_eq!(scopes(r#"{"scp":"a"}"#), ["a"]);
        assert_eq!(scopes(r#"{"scp":["a"]}"#), ["a"]);
        assert_eq!(scopes(r#"{"scp":["b"],"scope":"a"}"#), ["a"]);
        assert!(
            scopes(r#"{"scope": 5, "scp": "a"}"#).is_empty(),
            "a present but unusable scope does not fall back"
        );
        assert!(scopes("{}").is_empty());
    }
}
