//! [`Principal`]: who made a request and how they proved it, whatever the kind of credential.
//! Requirements are checked against it, so `require(scope("read:users"))` reads the same for
//! every kind of caller.

use std::fmt;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Map, Value};

use crate::authz::requirement::Subject;
use crate::authz::{DEFAULT_PERMISSIONS_CLAIM, DEFAULT_ROLES_CLAIM, Requirement};
use crate::error::AuthError;
use crate::verifier::Verified;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A signed JWT access token, presented as a bearer token.
    BearerJwt,
    /// An opaque access token, vouched for by its issuer's introspection endpoint (RFC 7662).
    Introspected,
    /// A DPoP-bound JWT access token with a valid proof of possession (RFC 9449).
    DpopJwt,
    /// A DPoP-bound opaque access token (its introspection names the key, RFC 9449 §6.2) with a
    /// valid proof of possession.
    DpopIntrospected,
}

impl AuthMethod {
    /// A stable lowercase name, for logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            AuthMethod::BearerJwt => "bearer_jwt",
            AuthMethod::Introspected => "introspected",
            AuthMethod::DpopJwt => "dpop_jwt",
            AuthMethod::DpopIntrospected => "dpop_introspected",
        }
    }
}

/// What the credential was bound to, beyond its holder presenting it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Binding {
    /// A bearer credential: whoever holds it may use it.
    None,
    /// Bound to the DPoP key of this RFC 7638 SHA-256 thumbprint (`cnf.jkt`), whose
    /// possession the request proved.
    DpopKey {
        /// The base64url thumbprint.
        jkt: String,
    },
}

/// The authenticated caller of one request. Cheap to clone (the verified claims are shared).
#[derive(Clone)]
pub struct Principal {
    method: AuthMethod,
    binding: Binding,
    token: Verified<IgnoredAny>,
}

impl fmt::Debug for Principal {
    // The claims are left out: they may hold personal data. The token itself is never held.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("method", &self.method)
            .field("issuer", &self.issuer())
            .field("subject", &self.subject())
            .field("client_id", &self.client_id())
            .field("binding", &self.binding)
            .finish_non_exhaustive()
    }
}

impl Principal {
    pub(crate) fn from_token(token: Verified<IgnoredAny>) -> Self {
        let method = if token.is_opaque() {
            AuthMethod::Introspected
        } else {
            AuthMethod::BearerJwt
        };
        Self {
            method,
            binding: Binding::None,
            token,
        }
    }

    /// A token presented with a valid DPoP proof by the key of thumbprint `jkt`.
    pub(crate) fn from_dpop(token: Verified<IgnoredAny>, jkt: String) -> Self {
        let method = if token.is_opaque() {
            AuthMethod::DpopIntrospected
        } else {
            AuthMethod::DpopJwt
        };
        Self {
            method,
            binding: Binding::DpopKey { jkt },
            token,
        }
    }

    /// How the caller authenticated.
    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// What the credential was bound to.
    pub fn binding(&self) -> &Binding {
        &self.binding
    }

    /// The issuer that vouched for the caller.
    pub fn issuer(&self) -> &str {
        self.token.issuer()
    }

    /// `sub`, if the credential names one.
    pub fn subject(&self) -> Option<&str> {
        self.token.subject()
    }

    /// The OAuth client the credential was issued to (`client_id`, RFC 9068 §2.2).
    pub fn client_id(&self) -> Option<&str> {
        self.token.client_id()
    }

    /// The granted scopes (`scope` string or array, else `scp`).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.token.scopes()
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.token.has_scope(scope)
    }

    /// The granted permissions: the strings of the `permissions` array (Auth0 RBAC).
    pub fn permissions(&self) -> impl Iterator<Item = &str> {
        self.strings(DEFAULT_PERMISSIONS_CLAIM)
    }

    /// The caller's roles: the strings of the `roles` claim (an array, or one string).
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.strings(DEFAULT_ROLES_CLAIM)
    }

    /// Every claim as parsed JSON (built on first use).
    pub fn claims(&self) -> &Map<String, Value> {
        self.token.raw_claims()
    }

    /// The claims as `C`.
    pub fn typed<C: DeserializeOwned>(&self) -> Result<Verified<C>, AuthError> {
        self.token.typed()
    }

    /// The verified token behind this principal (registered claims, `kid`, `alg`).
    pub fn token(&self) -> &Verified<IgnoredAny> {
        &self.token
    }

    /// Whether the principal meets `requirement` (no audit event: see
    /// [`RequestState::require`](crate::state::RequestState::require) for the audited check).
    pub fn satisfies(&self, requirement: &Requirement) -> bool {
        requirement.holds(self)
    }

    fn strings(&self, claim: &str) -> impl Iterator<Item = &str> {
        let items = match self.claims().get(claim) {
            Some(Value::Array(items)) => &items[..],
            Some(one @ Value::String(_)) => std::slice::from_ref(one),
            _ => &[],
        };
        items.iter().filter_map(Value::as_str)
    }
}

impl Subject for Principal {
    fn has_scope(&self, scope: &str) -> bool {
        Principal::has_scope(self, scope)
    }

    fn claims(&self) -> &Map<String, Value> {
        Principal::claims(self)
    }
}
