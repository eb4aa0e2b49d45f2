//! The JOSE header and its policy: `alg`, `crit`, `typ`.
//!
//! `jku`, `x5u`, `jwk` and `x5c` are never read: a token must not choose the key that verifies it.

use super::Algorithm;
use crate::error::Reason;
use crate::json::{Tape, ValueRef};

/// What a token's `typ` header may say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TypPolicy {
    /// Accept an absent `typ`, `JWT` or `at+jwt` (with or without `application/`, any case).
    /// Any other type (`dpop+jwt`, `logout+jwt`, `secevent+jwt`, ...) names a different kind of
    /// JWT and is rejected, so a token minted for another purpose is never taken for an access
    /// token (RFC 8725 §3.11).
    #[default]
    AccessTokenOrJwt,
    /// Require the RFC 9068 access-token profile: `at+jwt` or `application/at+jwt`, any case.
    RequireAtJwt,
    /// An OpenID back-channel logout token: `logout+jwt` (any case, `application/` optional),
    /// the generic `JWT`, or no `typ`. `JWT` is what providers sent before explicit typing
    /// (Keycloak before 25, authentik before 2025.12) and says no more than an absent `typ`;
    /// what tells an ID token from a logout token is then the `events` member and the absent
    /// `nonce` (§4.1), which the receiver requires. `at+jwt` and every other type are refused.
    LogoutToken,
    /// An OpenID Connect ID token: no `typ`, or the generic `JWT` (OpenID Connect Core names no
    /// type of its own). `at+jwt`, `logout+jwt` and every other type are refused, so an access
    /// or logout token is never taken for an ID token.
    IdToken,
}

impl TypPolicy {
    fn accepts(self, typ: Option<&str>) -> bool {
        let media = typ.map(|t| {
            // RFC 7515 §4.1.9: "application/" may be omitted; media types are case-insensitive.
            let t = t.trim();
            match t.get(..12) {
                Some(prefix) if prefix.eq_ignore_ascii_case("application/") => {
                    t.get(12..).unwrap_or("")
                }
                _ => t,
            }
        });
        let at_jwt = media.is_some_and(|m| m.eq_ignore_ascii_case("at+jwt"));
        match self {
            TypPolicy::RequireAtJwt => at_jwt,
            TypPolicy::LogoutToken => media.is_none_or(|m| {
                m.eq_ignore_ascii_case("logout+jwt") || m.eq_ignore_ascii_case("jwt")
            }),
            TypPolicy::IdToken => media.is_none_or(|m| m.eq_ignore_ascii_case("jwt")),
            TypPolicy::AccessTokenOrJwt => {
                media.is_none_or(|m| at_jwt || m.eq_ignore_ascii_case("jwt"))
            }
        }
    }
}

/// The header members portcullis acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// The signature algorithm.
    pub alg: Algorithm,
    /// The key id, if present.
    pub kid: Option<String>,
    /// The declared type, if present.
    pub typ: Option<String>,
}

impl Header {
    /// Reads and checks a header: a JSON object without duplicate members whose `alg` names a
    /// known algorithm (never `none`); `kid` and `typ` are strings; `crit` lists only understood
    /// extensions (none are, so any `crit` rejects); `zip` is refused (JWS has no compression);
    /// and `typ` satisfies `typ_policy`.
    pub fn from_json(bytes: &[u8], typ_policy: TypPolicy) -> Result<Self, Reason> {
        let text = std::str::from_utf8(bytes).map_err(|_| Reason::BadJson)?;
        let tape = Tape::parse(text)?;
        let mut alg = None;
        let mut crit = None;
        let mut zip = false;
        let mut kid = None;
        let mut typ = None;
        for (name, value) in tape.members() {
            match name {
                "alg" => alg = Some(value),
                "crit" => crit = Some(value),
                "zip" => zip = true,
                "kid" => kid = Some(value),
                "typ" => typ = Some(value),
                _ => {}
            }
        }
        let alg = match alg.map(|v| v.as_str()) {
            Some(Some(name)) => match Algorithm::from_name(name) {
                Some(alg) => alg,
                None if name.trim().eq_ignore_ascii_case("none") => return Err(Reason::AlgNone),
                None => return Err(Reason::AlgNotAllowed),
            },
            Some(None) => return Err(Reason::BadHeader),
            None => return Err(Reason::AlgNotAllowed),
        };
        if let Some(crit) = crit {
            // A well-formed `crit` (a non-empty list of names) names extensions we do not
            // implement; anything else is a malformed header. Both reject.
            let mut names = crit.as_array().ok_or(Reason::BadHeader)?.peekable();
            let well_formed = names.peek().is_some() && names.all(|n| n.is_some());
            return Err(if well_formed {
                Reason::CritUnsupported
            } else {
                Reason::BadHeader
            });
        }
        if zip {
            return Err(Reason::BadHeader);
        }
        let kid = optional_string(kid)?;
        let typ = optional_string(typ)?;
        if !typ_policy.accepts(typ.as_deref()) {
            return Err(Reason::BadType);
        }
        Ok(Header { alg, kid, typ })
    }
}

fn optional_string(value: Option<ValueRef<'_, '_>>) -> Result<Option<String>, Reason> {
    match value {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(|s| Some(s.to_owned()))
            .ok_or(Reason::BadHeader),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn header(v: Value, policy: TypPolicy) -> Result<Header, Reason> {
        Header::from_json(v.to_string().as_bytes(), policy)
    }

    #[test]
    fn alg_none_in_any_spelling() {
        for none in ["none", "None", "NONE", "nOnE", " none"] {
            let r = header(json!({"alg": none}), TypPolicy::default());
            assert_eq!(r.unwrap_err(), Reason::AlgNone, "{none}");
        }
    }

    #[test]
    fn alg_names_are_case_sensitive_and_known() {
        assert_eq!(
            header(json!({"alg":"rs256"}), TypPolicy::default()).unwrap_err(),
            Reason::AlgNotAllowed
        );
        assert_eq!(
            header(json!({"alg":"RS1"}), TypPolicy::default()).unwrap_err(),
            Reason::AlgNotAllowed
        );
        assert_eq!(
            header(json!({}), TypPolicy::default()).unwrap_err(),
            Reason::AlgNotAllowed
        );
        assert_eq!(
            header(json!({"alg":1}), TypPolicy::default()).unwrap_err(),
            Reason::BadHeader
        );
        assert_eq!(
            header(json!({"alg":"RS256"}), TypPolicy::default())
                .unwrap()
                .alg,
            Algorithm::RS256
        );
    }

    #[test]
    fn crit_always_rejects() {
        assert_eq!(
            header(json!({"alg":"RS256","crit":["exp"]}), TypPolicy::default()).unwrap_err(),
            Reason::CritUnsupported
        );
        assert_eq!(
            header(json!({"alg":"RS256","crit":[]}), TypPolicy::default()).unwrap_err(),
            Reason::BadHeader
        );
        assert_eq!(
            header(json!({"alg":"RS256","crit":"b64"}), TypPolicy::default()).unwrap_err(),
            Reason::BadHeader
        );
    }

    #[test]
    fn typ_policies() {
        let ok_default = [
            None,
            Some("JWT"),
            Some("jwt"),
            Some("application/jwt"),
            Some("at+jwt"),
            Some("Application/AT+JWT"),
        ];
        for typ in ok_default {
            assert!(TypPolicy::AccessTokenOrJwt.accepts(typ), "{typ:?}");
        }
        for typ in [
            Some("dpop+jwt"),
            Some("JOSE"),
            Some("application/logout+jwt"),
            Some(""),
        ] {
            assert!(!TypPolicy::AccessTokenOrJwt.accepts(typ), "{typ:?}");
        }
        for typ in [
            Some("at+jwt"),
            Some("AT+JWT"),
            Some("application/at+jwt"),
            Some("APPLICATION/at+JWT"),
        ] {
            assert!(TypPolicy::RequireAtJwt.accepts(typ), "{typ:?}");
        }
        for typ in [None, Some("JWT"), Some("application/jwt"), Some("at+jwt2")] {
            assert!(!TypPolicy::RequireAtJwt.accepts(typ), "{typ:?}");
        }
        for typ in [
            None,
            Some("logout+jwt"),
            Some("Application/Logout+JWT"),
            Some("JWT"),
            Some("application/jwt"),
        ] {
            assert!(TypPolicy::LogoutToken.accepts(typ), "{typ:?}");
        }
        for typ in [None, Some("JWT"), Some("application/JWT")] {
            assert!(TypPolicy::IdToken.accepts(typ), "{typ:?}");
        }
        for typ in [
            Some("at+jwt"),
            Some("logout+jwt"),
            Some("dpop+jwt"),
            Some(""),
        ] {
            assert!(!TypPolicy::IdToken.accepts(typ), "{typ:?}");
        }
        for typ in [
            Some("at+jwt"),
            Some("application/at+jwt"),
            Some("logout+jwt2"),
            Some("dpop+jwt"),
            Some("secevent+jwt"),
            Some(""),
        ] {
            assert!(!TypPolicy::LogoutToken.accepts(typ), "{typ:?}");
        }
    }

    #[test]
    fn key_hints_are_ignored_and_types_checked() {
        let h = header(json!({"alg":"ES256","kid":"k","jku":"https://evil","x5u":"https://evil","jwk":{},"x5c":[]}), TypPolicy::default()).unwrap();
        assert_eq!(h.kid.as_deref(), Some("k"));
        assert_eq!(
            header(json!({"alg":"ES256","kid":7}), TypPolicy::default()).unwrap_err(),
            Reason::BadHeader
        );
        assert_eq!(
            header(json!({"alg":"ES256","zip":"DEF"}), TypPolicy::default()).unwrap_err(),
            Reason::BadHeader
        );
    }
}
