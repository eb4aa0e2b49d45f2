use serde_json::{Map, Value};

use super::Dates;
use crate::token::{Algorithm, Header, claims};

/// A token that passed every check: the caller's typed claims plus typed access to the
/// registered claims and the header's `kid`/`alg`.
///
/// It holds the parsed claims, never the token itself.
#[derive(Debug, Clone)]
pub struct Verified<C> {
    claims: C,
    raw: Map<String, Value>,
    header: Header,
    dates: Dates,
}

impl<C> Verified<C> {
    pub(crate) fn new(claims: C, raw: Map<String, Value>, header: Header, dates: Dates) -> Self {
        Self {
            claims,
            raw,
            header,
            dates,
        }
    }

    /// The claims as the caller's type.
    pub fn claims(&self) -> &C {
        &self.claims
    }

    /// The claims as the caller's type, by value.
    pub fn into_claims(self) -> C {
        self.claims
    }

    /// Every claim as parsed JSON (for requirements on arbitrary claim paths).
    pub fn raw_claims(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// `iss`: always present and equal to the configured issuer.
    pub fn issuer(&self) -> &str {
        self.str_claim("iss").unwrap_or_default()
    }

    /// `sub`, if present.
    pub fn subject(&self) -> Option<&str> {
        self.str_claim("sub")
    }

    /// `aud`, as a list (a string `aud` is a one-element list).
    pub fn audiences(&self) -> Vec<&str> {
        claims::audiences(&self.raw).unwrap_or_default()
    }

    /// `exp` in seconds since the epoch (present unless expiry was made optional).
    pub fn expires_at(&self) -> Option<u64> {
        self.dates.exp
    }

    /// `nbf`, if present.
    pub fn not_before(&self) -> Option<u64> {
        self.dates.nbf
    }

    /// `iat`, if present.
    pub fn issued_at(&self) -> Option<u64> {
        self.dates.iat
    }

    /// `jti`, if present.
    pub fn jwt_id(&self) -> Option<&str> {
        self.str_claim("jti")
    }

    /// `client_id` (RFC 9068 §2.2), if present.
    pub fn client_id(&self) -> Option<&str> {
        self.str_claim("client_id")
    }

    /// The granted scopes: `scope` (space-delimited string or array), else `scp`.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        claims::scopes(&self.raw)
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// The header's `kid`, if present.
    pub fn kid(&self) -> Option<&str> {
        self.header.kid.as_deref()
    }

    /// The algorithm the signature was verified with.
    pub fn alg(&self) -> Algorithm {
        self.header.alg
    }

    /// The header's `typ`, if present.
    pub fn typ(&self) -> Option<&str> {
        self.header.typ.as_deref()
    }

    fn str_claim(&self, name: &str) -> Option<&str> {
        self.raw.get(name).and_then(Value::as_str)
    }
}
