//! Registered claims (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8693 §4.2): read in the one scan of the
//! claims, with their types checked. A wrongly typed registered claim is an error, never coerced.

use std::borrow::Cow;

use super::json::{self, Member};
use crate::error::Reason;

/// A JWT NumericDate in whole seconds since the epoch.
pub type NumericDate = u64;

/// 9999-12-31T23:59:59Z. A date beyond it is a bug or an attack, never a real expiry.
pub const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// The registered claims of one token, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Registered {
    pub(crate) iss: Option<Box<str>>,
    pub(crate) sub: Option<Box<str>>,
    pub(crate) jti: Option<Box<str>>,
    pub(crate) client_id: Option<Box<str>>,
    /// `None` when absent; a string `aud` is a one-element list.
    pub(crate) aud: Option<Vec<Box<str>>>,
    pub(crate) exp: Option<NumericDate>,
    pub(crate) nbf: Option<NumericDate>,
    pub(crate) iat: Option<NumericDate>,
    pub(crate) scope: Scopes,
    /// The first of the caller's required claims that is absent or null.
    pub(crate) missing_required: Option<&'static str>,
}

/// Granted scopes in the shape the token used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Scopes {
    #[default]
    Absent,
    /// Space-delimited (RFC 6749 §3.3).
    Text(Box<str>),
    /// An array; non-string members were dropped, never coerced.
    List(Vec<Box<str>>),
    /// Present with a type that carries no scopes (a number, an object).
    Unusable,
}

impl Scopes {
    /// The scope tokens, by the one reading rule used everywhere.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        let (text, list): (Option<&str>, &[Box<str>]) = match self {
            Scopes::Text(s) => (Some(s), &[]),
            Scopes::List(items) => (None, items),
            Scopes::Absent | Scopes::Unusable => (None, &[]),
        };
        text.into_iter()
            .flat_map(|s| s.split(' ').filter(|s| !s.is_empty()))
            .chain(list.iter().map(|s| &**s))
    }

    fn from_member(member: Member<'_>) -> Self {
        match member {
            Member::Str(s) => Scopes::Text(s.into()),
            Member::Array { strings, .. } => {
                Scopes::List(strings.into_iter().map(Into::into).collect())
            }
            _ => Scopes::Unusable,
        }
    }
}

impl Registered {
    /// Reads the claims object: checks it is one JSON object without duplicate members, and
    /// picks out the registered claims. `scope` wins over `scp` (Azure AD's name) when both exist.
    /// `required` names claims that must be present and not null; the first one missing is
    /// recorded in `missing_required` (the policy decides when to act on it).
    pub(crate) fn read(claims: &[u8], required: &[&'static str]) -> Result<Self, Reason> {
        let mut r = Registered::default();
        let mut scp = Scopes::Absent;
        let mut present = vec![false; required.len()];
        json::scan_object(claims, |name, member| {
            if !matches!(member, Member::Null) {
                for (flag, _) in present
                    .iter_mut()
                    .zip(required)
                    .filter(|(_, req)| **req == name)
                {
                    *flag = true;
                }
            }
            match name {
                "iss" => r.iss = Some(string(member, "iss")?),
                "sub" => r.sub = Some(string(member, "sub")?),
                "jti" => r.jti = Some(string(member, "jti")?),
                "client_id" => r.client_id = Some(string(member, "client_id")?),
                "aud" => r.aud = Some(audiences(member)?),
                "exp" => r.exp = Some(numeric_date(member, "exp")?),
                "nbf" => r.nbf = Some(numeric_date(member, "nbf")?),
                "iat" => r.iat = Some(numeric_date(member, "iat")?),
                "scope" => r.scope = Scopes::from_member(member),
                "scp" => scp = Scopes::from_member(member),
                _ => {}
            }
            Ok(())
        })?;
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

fn string(member: Member<'_>, name: &'static str) -> Result<Box<str>, Reason> {
    match member {
        Member::Str(s) => Ok(s.into()),
        _ => Err(Reason::BadClaim(name)),
    }
}

/// `aud`: a string or an array of strings (RFC 7519 §4.1.3). One non-string member makes the
/// whole claim invalid rather than being skipped.
fn audiences(member: Member<'_>) -> Result<Vec<Box<str>>, Reason> {
    match member {
        Member::Str(s) => Ok(vec![s.into()]),
        Member::Array {
            strings,
            all_strings: true,
        } => Ok(strings.into_iter().map(Cow::into).collect()),
        _ => Err(Reason::BadClaim("aud")),
    }
}

/// A NumericDate: a JSON number (integer or fraction, truncated), not negative, not beyond
/// [`MAX_NUMERIC_DATE`].
fn numeric_date(member: Member<'_>, name: &'static str) -> Result<NumericDate, Reason> {
    let Member::Num(n) = member else {
        return Err(Reason::BadClaim(name));
    };
    let secs = match (n.as_u64(), n.as_f64()) {
        (Some(u), _) => u,
        (None, Some(f)) if f.is_finite() && f >= 0.0 && f <= MAX_NUMERIC_DATE as f64 => {
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
        Registered::read(json.as_bytes(), &[])
    }

    #[test]
    fn required_claims() {
        let r = Registered::read(br#"{"a":1,"b":null}"#, &["a", "b", "c"]).unwrap();
        assert_eq!(r.missing_required, Some("b"));
        let r = Registered::read(br#"{"a":1,"b":[],"c":{}}"#, &["a", "b", "c"]).unwrap();
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
                r.aud
                    .map(|a| a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
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
        assert_eq!(
            read(r#"{"sub":"a\u0062"}"#).unwrap().sub.as_deref(),
            Some("ab")
        );
        for name in ["iss", "sub", "jti", "client_id"] {
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
                .iter()
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
