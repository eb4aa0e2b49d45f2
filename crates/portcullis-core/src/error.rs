//! Errors, grouped by what the caller does about them.
//!
//! [`AuthError`] is a request rejection: 400, 401, 403 or 503 (see [`Challenge`](crate::Challenge)).
//! [`ConfigError`] is a start-up mistake (no issuer, an empty algorithm list, a short HMAC secret):
//! it comes from `build()` and never from a request.
//!
//! Every rejection carries a [`Reason`], a stable machine-readable code for logs and metrics.
//! Reasons are for operators; clients only ever see the terse RFC 6750 error.

use std::fmt;
use std::time::Duration;

/// Why a request was rejected: a stable code (see [`Reason::code`]) plus the claim or header it
/// concerns where that helps an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// No credential was presented.
    MissingCredential,
    /// The request carried the credential in a malformed or ambiguous way.
    MalformedRequest,
    /// The URI the client addressed cannot be determined: no authority, or a malformed `Host`
    /// or forwarding header from a trusted proxy.
    BadRequestUri,
    /// The token is larger than the configured cap.
    TokenTooLarge,
    /// Not three dot-separated segments, or an empty segment.
    Malformed,
    /// A segment is not strict unpadded base64url.
    BadBase64,
    /// The header or claims are not a JSON object, or not valid JSON.
    BadJson,
    /// The header or claims repeat a member name.
    DuplicateMember,
    /// `alg` is `none` in some spelling.
    AlgNone,
    /// `alg` is not on the allow-list (or has no configured key type, e.g. HMAC without a secret).
    AlgNotAllowed,
    /// `crit` lists an extension this verifier does not understand.
    CritUnsupported,
    /// `typ` is not acceptable under the configured profile.
    BadType,
    /// A header member has the wrong JSON type.
    BadHeader,
    /// No key with the token's `kid` (or, without `kid`, no compatible key).
    UnknownKey,
    /// The token has no `kid` and several keys could match.
    AmbiguousKey,
    /// The key named by `kid` cannot be used with the token's `alg`.
    KeyMismatch,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past (beyond leeway).
    Expired,
    /// `nbf` is in the future (beyond leeway).
    NotYetValid,
    /// `iat` is in the future (beyond leeway).
    IssuedInFuture,
    /// A required claim is absent.
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an impossible value.
    BadClaim(&'static str),
    /// `iss` is not the configured issuer.
    BadIssuer,
    /// `aud` contains none of the configured audiences.
    BadAudience,
    /// The claims do not deserialize into the caller's claims type.
    ClaimsType,
    /// The token is valid but does not meet the route's requirement.
    InsufficientScope,
    /// No usable key set: the key source failed past its outage bound.
    KeysUnavailable,
    /// An opaque token is not active (unknown, expired or revoked) according to its issuer.
    Inactive,
    /// An opaque token could not be checked: its issuer did not answer.
    IntrospectionUnavailable,
    /// The token is bound to a key or certificate (`cnf`, RFC 7800) whose possession this
    /// request did not prove: a DPoP-bound token presented as Bearer, a certificate-bound token
    /// without the certificate check, or a confirmation method portcullis does not verify.
    UnverifiedConfirmation,
    /// The proof of possession names another key than the token's `cnf`, or the token is bound
    /// to no key at all.
    ConfirmationMismatch,
    /// A DPoP proof broke the named rule (`form`, `size`, `header`, `typ`, `alg`, `jwk`,
    /// `signature`, `claims`, `jti`, `htm`, `htu`, `iat`, `ath`, `count` for a missing or
    /// repeated `DPoP` header).
    BadDpopProof(&'static str),
    /// The DPoP proof was used before (its key and `jti` are in the replay store).
    DpopReplayed,
    /// The replay store could not answer, so no DPoP proof can be accepted.
    ReplayStoreUnavailable,
    /// A bearer token where the policy requires DPoP.
    DpopRequired,
    /// A DPoP proof with a token whose issuer does not do DPoP.
    DpopNotAllowed,
    /// Server nonces are on and the DPoP proof has no `nonce`.
    DpopNonceMissing,
    /// The proof's `nonce` was not minted by a key this server holds (or is malformed, or
    /// dated ahead of this server's clock).
    DpopNonceInvalid,
    /// The proof's `nonce` is older than the nonce lifetime.
    DpopNonceExpired,
    /// The token, its session, or every token of its subject or client issued by then, was
    /// revoked.
    Revoked,
    /// `iat` is older than the verifier's maximum token age.
    TokenTooOld,
    /// The token lives longer (`exp - iat`) than revocations are remembered, or has no `exp`:
    /// a revocation of it could be forgotten while it is still valid.
    LifetimeTooLong,
    /// A single-use token (a back-channel logout token's `jti`) was used before.
    TokenReplayed,
    /// The revocation mirror has not been confirmed by its store within its bound, so no token
    /// can be shown not to be revoked.
    RevocationsUnavailable,
}

impl Reason {
    /// The stable code: lowercase, `snake_case`, never changes meaning between versions.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::MissingCredential => "missing_credential",
            Reason::MalformedRequest => "malformed_request",
            Reason::BadRequestUri => "bad_request_uri",
            Reason::TokenTooLarge => "token_too_large",
            Reason::Malformed => "malformed",
            Reason::BadBase64 => "bad_base64",
            Reason::BadJson => "bad_json",
            Reason::DuplicateMember => "duplicate_member",
            Reason::AlgNone => "alg_none",
            Reason::AlgNotAllowed => "alg_not_allowed",
            Reason::CritUnsupported => "crit_unsupported",
            Reason::BadType => "bad_typ",
            Reason::BadHeader => "bad_header",
            Reason::UnknownKey => "unknown_key",
            Reason::AmbiguousKey => "ambiguous_key",
            Reason::KeyMismatch => "key_mismatch",
            Reason::BadSignature => "bad_signature",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::IssuedInFuture => "issued_in_future",
            Reason::MissingClaim(_) => "missing_claim",
            Reason::BadClaim(_) => "bad_claim",
            Reason::BadIssuer => "bad_issuer",
            Reason::BadAudience => "bad_audience",
            Reason::ClaimsType => "claims_type",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::KeysUnavailable => "keys_unavailable",
            Reason::Inactive => "inactive",
            Reason::IntrospectionUnavailable => "introspection_unavailable",
            Reason::UnverifiedConfirmation => "unverified_confirmation",
            Reason::ConfirmationMismatch => "confirmation_mismatch",
            Reason::BadDpopProof(_) => "bad_dpop_proof",
            Reason::DpopReplayed => "dpop_replayed",
            Reason::ReplayStoreUnavailable => "replay_store_unavailable",
            Reason::DpopRequired => "dpop_required",
            Reason::DpopNotAllowed => "dpop_not_allowed",
            Reason::DpopNonceMissing => "dpop_nonce_missing",
            Reason::DpopNonceInvalid => "dpop_nonce_invalid",
            Reason::DpopNonceExpired => "dpop_nonce_expired",
            Reason::Revoked => "revoked",
            Reason::TokenTooOld => "token_too_old",
            Reason::LifetimeTooLong => "lifetime_too_long",
            Reason::TokenReplayed => "token_replayed",
            Reason::RevocationsUnavailable => "revocations_unavailable",
        }
    }

    /// The claim or header member this reason is about, if any.
    pub const fn subject(self) -> Option<&'static str> {
        match self {
            Reason::MissingClaim(name) | Reason::BadClaim(name) | Reason::BadDpopProof(name) => {
                Some(name)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.subject() {
            Some(name) => write!(f, "{}: {name}", self.code()),
            None => f.write_str(self.code()),
        }
    }
}

/// A rejected request, grouped by what the caller does: answer 400, 401, 403, or 503 and retry.
///
/// Turn it into a response with [`Challenge::from_error`](crate::Challenge::from_error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential at all: 401 with a bare `Bearer` challenge (RFC 6750 §3.1).
    #[error("missing credential")]
    MissingCredential,
    /// The request is malformed (two credentials, a broken `Authorization` header): 400.
    #[error("invalid request: {0}")]
    InvalidRequest(Reason),
    /// The token is not acceptable (signature, expiry, issuer, audience, key, format): 401.
    #[error("invalid token: {0}")]
    InvalidToken(Reason),
    /// The DPoP proof is missing, malformed, stale, for another request, or replayed: 401 with
    /// `error="invalid_dpop_proof"` (RFC 9449 §7.1).
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(Reason),
    /// The DPoP proof is good but lacks the server's current nonce: 401 with
    /// `error="use_dpop_nonce"` and the nonce in `DPoP-Nonce` (RFC 9449 §9).
    #[error("use DPoP nonce: {0}")]
    UseDpopNonce(Reason),
    /// The token is valid but lacks what the route requires: 403.
    #[error("insufficient scope")]
    InsufficientScope {
        /// Scopes that would satisfy the requirement, for the challenge's `scope` attribute.
        scopes: Vec<String>,
    },
    /// Verification could not be completed (no usable keys): 503 with `Retry-After`.
    #[error("unavailable: {reason}")]
    Unavailable {
        /// Why the verifier could not decide.
        reason: Reason,
        /// When the client may retry.
        retry_after: Duration,
    },
}

impl AuthError {
    /// The stable reason code behind this error.
    pub fn reason(&self) -> Reason {
        match self {
            AuthError::MissingCredential => Reason::MissingCredential,
            AuthError::InvalidRequest(r)
            | AuthError::InvalidToken(r)
            | AuthError::InvalidDpopProof(r)
            | AuthError::UseDpopNonce(r) => *r,
            AuthError::InsufficientScope { .. } => Reason::InsufficientScope,
            AuthError::Unavailable { reason, .. } => *reason,
        }
    }

    /// The HTTP status this error maps to (RFC 6750 §3.1).
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingCredential
            | AuthError::InvalidToken(_)
            | AuthError::InvalidDpopProof(_)
            | AuthError::UseDpopNonce(_) => 401,
            AuthError::InvalidRequest(_) => 400,
            AuthError::InsufficientScope { .. } => 403,
            AuthError::Unavailable { .. } => 503,
        }
    }
}

/// A configuration mistake found by a builder: fix the configuration, do not retry.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No issuer was configured; every access token must be bound to one.
    #[error("no issuer configured: call `issuer(..)`")]
    MissingIssuer,
    /// No audience was configured; tokens for other APIs would be accepted.
    #[error("no audience configured: call `audience(..)`")]
    MissingAudience,
    /// Neither a key source nor a shared secret was configured.
    #[error("no key source configured: call `key_source(..)`")]
    MissingKeySource,
    /// The algorithm allow-list is empty.
    #[error("the algorithm allow-list is empty")]
    NoAlgorithms,
    /// An algorithm is not available with the compiled crypto backend.
    #[error("algorithm not supported by this crypto backend: {0}")]
    UnsupportedAlgorithm(&'static str),
    /// An HMAC algorithm is allowed but no shared secret was configured, or the reverse.
    #[error("HMAC algorithms need a shared secret, and a shared secret needs an HMAC algorithm")]
    HmacWithoutSecret,
    /// The shared secret is shorter than the hash output (RFC 7518 §3.2).
    #[error("shared secret too short: {alg} needs at least {min} bytes")]
    SecretTooShort {
        /// The HMAC algorithm.
        alg: &'static str,
        /// Minimum length in bytes.
        min: usize,
    },
    /// A value is out of its documented range.
    #[error("invalid value for {name}: {why}")]
    InvalidValue {
        /// The builder option.
        name: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A key set document could not be used at all.
    #[error("invalid key set: {0}")]
    InvalidKeySet(String),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
}

/// Why a [`KeySource`](crate::KeySource) could not produce keys.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum KeySourceError {
    /// No usable key set exists (fetch failed and nothing fresh enough is cached): 503.
    #[error("key set unavailable: {detail}")]
    Unavailable {
        /// What failed, for the audit log.
        detail: String,
        /// When a retry may succeed.
        retry_after: Duration,
    },
}
