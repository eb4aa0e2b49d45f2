use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::audit;
use crate::authz::Requirement;
use crate::authz::requirement::Subject;
use crate::dpop::DpopMode;
use crate::error::{AuthError, Reason};
use crate::json;
use crate::request::context::RequestContext;
use crate::token::claims::{Cnf, Registered, Text};
use crate::token::{Algorithm, Header};

/// How a token was presented, which decides what its confirmation (`cnf`) must match.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Presentation<'a> {
    /// As a bearer token: it must carry no confirmation (RFC 9449 §7.2: a bound token presented
    /// as Bearer is a stolen token as far as anyone can tell).
    Bearer,
    /// With a valid DPoP proof by the key of this RFC 7638 thumbprint: `cnf.jkt` must name it.
    Dpop { jkt: &'a str },
}

/// A token that passed every check: the caller's typed claims plus typed access to the
/// registered claims and the header's `kid`/`alg`.
///
/// It holds the decoded claims, never the token itself (so never the signature).
#[derive(Clone)]
pub struct Verified<C> {
    claims: C,
    core: Arc<Core>,
}

/// What a verification established, independent of the caller's claims type: shared between
/// the typed views of one token and, through the verified-token cache, between requests.
pub(crate) struct Core {
    registered: Registered,
    /// `None` for an opaque token (resolved by introspection, not a signature).
    header: Option<Arc<Header>>,
    json: String,
    tree: OnceLock<Map<String, Value>>,
    /// The DPoP mode of the issuer that vouched for the token, when it has its own (a cached
    /// core is reused only under the same issuer configuration).
    dpop: Option<DpopMode>,
    /// The token's SHA-256, what a DPoP proof's `ath` names: computed on first use and then
    /// shared through the verified-token cache (a core belongs to exactly one token text).
    digest: OnceLock<[u8; 32]>,
}

impl Core {
    pub(crate) fn new(
        registered: Registered,
        header: Option<Arc<Header>>,
        json: String,
        dpop: Option<DpopMode>,
    ) -> Self {
        Self {
            registered,
            header,
            json,
            tree: OnceLock::new(),
            dpop,
            digest: OnceLock::new(),
        }
    }

    pub(crate) fn registered(&self) -> &Registered {
        &self.registered
    }

    /// The claims text, for typing them again on a cache hit.
    pub(crate) fn json(&self) -> &str {
        &self.json
    }

    /// Heap bytes held, for the cache's memory bound (an estimate: allocator overhead aside).
    pub(crate) fn heap_size(&self) -> usize {
        self.json.len()
            + self.header.as_ref().map_or(0, |h| {
                h.kid.as_ref().map_or(0, String::len) + h.typ.as_ref().map_or(0, String::len)
            })
            + self.registered.heap_size()
    }
}

impl<C: fmt::Debug> fmt::Debug for Verified<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("claims", &self.claims)
            .field("kid", &self.kid())
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

impl<C> Verified<C> {
    pub(crate) fn new(claims: C, core: Arc<Core>) -> Self {
        Self { claims, core }
    }

    /// The SHA-256 of `token`, which must be the text this was verified from.
    pub(crate) fn digest(&self, token: &str) -> [u8; 32] {
        *self
            .core
            .digest
            .get_or_init(|| crate::crypto::sha256(token.as_bytes()))
    }

    /// The claims as the caller's type.
    pub fn claims(&self) -> &C {
        &self.claims
    }

    /// The claims as the caller's type, by value.
    pub fn into_claims(self) -> C {
        self.claims
    }

    /// Every claim as parsed JSON, for requirements on arbitrary claim paths. Built on first use
    /// (the request path never builds it unless asked).
    pub fn raw_claims(&self) -> &Map<String, Value> {
        // The bytes already passed the same strict parser, so the fallback is unreachable.
        let core = &*self.core;
        core.tree
            .get_or_init(|| json::parse_object(core.json.as_bytes()).unwrap_or_default())
    }

    /// `iss`: always present and equal to the configured issuer.
    pub fn issuer(&self) -> &str {
        self.text(&self.core.registered.iss).unwrap_or_default()
    }

    /// `sub`, if present.
    pub fn subject(&self) -> Option<&str> {
        self.text(&self.core.registered.sub)
    }

    /// `aud`, as a list (a string `aud` is a one-element list).
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        let auds = self
            .core
            .registered
            .aud
            .as_ref()
            .map_or(&[][..], |a| a.as_slice());
        auds.iter().map(|a| a.resolve(&self.core.json))
    }

    /// `exp` in seconds since the epoch (present unless expiry was made optional).
    pub fn expires_at(&self) -> Option<u64> {
        self.core.registered.exp
    }

    /// `nbf`, if present.
    pub fn not_before(&self) -> Option<u64> {
        self.core.registered.nbf
    }

    /// `iat`, if present.
    pub fn issued_at(&self) -> Option<u64> {
        self.core.registered.iat
    }

    /// `jti`, if present.
    pub fn jwt_id(&self) -> Option<&str> {
        self.text(&self.core.registered.jti)
    }

    /// `client_id` (RFC 9068 §2.2), if present.
    pub fn client_id(&self) -> Option<&str> {
        self.text(&self.core.registered.client_id)
    }

    /// `sid`, the OpenID session the token belongs to, if present.
    pub fn session_id(&self) -> Option<&str> {
        self.text(&self.core.registered.sid)
    }

    /// The granted scopes: `scope` (space-delimited string or array), else `scp`. Non-string
    /// array members are ignored, never coerced.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.core.registered.scope.iter(&self.core.json)
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// The header's `kid`, if present.
    pub fn kid(&self) -> Option<&str> {
        self.core.header.as_ref().and_then(|h| h.kid.as_deref())
    }

    /// The algorithm the signature was verified with; `None` for an opaque token, which was
    /// vouched for by its issuer (introspection) rather than a signature.
    pub fn alg(&self) -> Option<Algorithm> {
        self.core.header.as_ref().map(|h| h.alg)
    }

    /// The header's `typ`, if present.
    pub fn typ(&self) -> Option<&str> {
        self.core.header.as_ref().and_then(|h| h.typ.as_deref())
    }

    /// Whether this was an opaque token resolved through an [`OpaqueTokens`](super::OpaqueTokens)
    /// source rather than a signed JWT.
    pub fn is_opaque(&self) -> bool {
        self.core.header.is_none()
    }

    /// The same token with its claims as another type, parsed from the already verified claims
    /// (adapters verify once, then each handler picks its own claims type).
    pub fn typed<T: serde::de::DeserializeOwned>(&self) -> Result<Verified<T>, AuthError> {
        self.typed_for(None)
    }

    pub(crate) fn typed_for<T: serde::de::DeserializeOwned>(
        &self,
        request: Option<&RequestContext>,
    ) -> Result<Verified<T>, AuthError> {
        let claims = serde_json::from_str(&self.core.json).map_err(|_| {
            // The token was accepted (and logged so); record why this use of it is not.
            audit::claims_mismatch(self.issuer(), self.subject(), request);
            AuthError::InvalidToken(crate::error::Reason::ClaimsType)
        })?;
        Ok(Verified {
            claims,
            core: Arc::clone(&self.core),
        })
    }

    /// Checks a route's requirement. A failure is [`AuthError::InsufficientScope`] (403) listing
    /// the scopes that would satisfy it, and an audit event naming the requirement.
    pub fn check(&self, requirement: &Requirement) -> Result<(), AuthError> {
        check(self, self, requirement, None)
    }

    /// Whether the way the token was presented suits its issuer's DPoP mode (`default` when the
    /// issuer has none) and satisfies its confirmation.
    pub(crate) fn confirm(
        &self,
        presentation: Presentation<'_>,
        default: DpopMode,
    ) -> Result<(), Reason> {
        match (self.core.dpop.unwrap_or(default), presentation) {
            (DpopMode::Required, Presentation::Bearer) => return Err(Reason::DpopRequired),
            (DpopMode::Disabled, Presentation::Dpop { .. }) => {
                return Err(Reason::DpopNotAllowed);
            }
            _ => {}
        }
        let json = &self.core.json;
        match (&self.core.registered.cnf, presentation) {
            (Cnf::None, Presentation::Bearer) => Ok(()),
            (Cnf::Jkt(bound), Presentation::Dpop { jkt }) if bound.resolve(json) == jkt => Ok(()),
            // A proof by another key, or a proof with a token bound to no key at all (the DPoP
            // scheme promises a bound token, RFC 9449 §7.1).
            (Cnf::Jkt(_) | Cnf::None, Presentation::Dpop { .. }) => {
                Err(Reason::ConfirmationMismatch)
            }
            (Cnf::Jkt(_) | Cnf::CertificateThumbprint(_) | Cnf::Unsupported, _) => {
                Err(Reason::UnverifiedConfirmation)
            }
        }
    }

    fn text<'a>(&'a self, field: &'a Option<Text>) -> Option<&'a str> {
        field.as_ref().map(|t| t.resolve(&self.core.json))
    }
}

/// `requirement` against `subject`, the token behind it naming the caller in the audit event.
pub(crate) fn check<C>(
    subject: &dyn Subject,
    token: &Verified<C>,
    requirement: &Requirement,
    request: Option<&RequestContext>,
) -> Result<(), AuthError> {
    if requirement.holds(subject) {
        return Ok(());
    }
    audit::denied(
        Some((token.issuer(), token.subject())),
        requirement,
        Reason::InsufficientScope,
        request,
    );
    metrics::counter!("portcullis_authz_denied_total").increment(1);
    Err(AuthError::InsufficientScope {
        scopes: requirement.scope_hint(),
    })
}

impl<C> Subject for Verified<C> {
    fn has_scope(&self, scope: &str) -> bool {
        Verified::has_scope(self, scope)
    }

    fn claims(&self) -> &Map<String, Value> {
        self.raw_claims()
    }
}
