//! Authorization: requirements that read like policy, checked on every request after the token
//! is verified.
//!
//! ```
//! use portcullis_core::authz::{all_of, any_of, claim_eq, role_at, scope};
//!
//! // read:users, for tenant acme, unless... no: admins of the realm may too.
//! let policy = any_of([
//!     all_of([scope("read:users"), claim_eq("tenant", "acme")]),
//!     role_at("realm_access.roles", "admin"),
//! ]);
//! # let _ = policy;
//! ```
//!
//! Deny by default: a requirement on a claim that is absent, or of the wrong type, fails (it
//! never panics); an empty `any_of` never passes; non-string array members are ignored, never
//! coerced. A failed check is [`AuthError::InsufficientScope`](crate::AuthError) (403) whose
//! `scopes` list what would satisfy the requirement, for the RFC 6750 `scope` attribute.
//!
//! Requirements also load from configuration (JSON, TOML, ...) through serde:
//! `{ all = [ { scope = "read:users" }, { claim_eq = { path = "tenant", value = "acme" } } ] }`.

mod config;
mod path;
pub(crate) mod requirement;

pub use config::RequirementError;
pub use path::ClaimPath;
pub use requirement::{
    Requirement, all_of, any_of, claim_eq, claim_includes, claim_matches, not, permission,
    permission_in, role, role_at, scope, scopes_all, scopes_any,
};

/// Where [`role`] looks by default: a top-level `roles` array (Azure AD, many custom issuers).
pub const DEFAULT_ROLES_CLAIM: &str = "roles";
/// Where [`permission`] looks by default: Auth0's `permissions` array.
pub const DEFAULT_PERMISSIONS_CLAIM: &str = "permissions";
